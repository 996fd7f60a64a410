package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/ocr"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/openai"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/searchtest"
	"github.com/landfall/landfall/catalog/search/wordnet"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// relevanceSet is testdata/search_relevance.json: the media to generate
// and the queries with their expected item and moment.
type relevanceSet struct {
	Dialogues []struct {
		Name          string          `json:"name"`
		People        []string        `json:"people"`
		Organisations []string        `json:"organisations"`
		Places        []string        `json:"places"`
		Topics        []string        `json:"topics"`
		Turns         []mediagen.Turn `json:"turns"`
	} `json:"dialogues"`
	Slides []struct {
		Name          string   `json:"name"`
		Text          string   `json:"text"`
		Labels        []string `json:"labels"`
		People        []string `json:"people"`
		Organisations []string `json:"organisations"`
		Topics        []string `json:"topics"`
	} `json:"slides"`
	Queries []struct {
		Q    string `json:"q"`
		Item string `json:"item"`
		Turn *int   `json:"turn"`
		Kind string `json:"kind"`
	} `json:"queries"`
}

// embedClient adapts the OpenAI-compatible client to search.Embedder.
type embedClient struct{ c *openai.Client }

func (e embedClient) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	v, _, err := e.c.Embed(ctx, texts)
	return v, err
}
func (e embedClient) Model() string { return "openai:concepts" }

// TestQualitySearch generates the relevance set's media, analyses them
// with the local recogniser (generic model: it mishears names) and OCR,
// indexes them, and measures recall@1, recall@5 and MRR (by file) and the
// time offset of the hit for four rankings: words as typed, + sound and
// spelling, + WordNet, + vectors (the test embedding model served on
// loopback as an OpenAI-compatible endpoint).
func TestQualitySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("quality measurement: not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	b, err := os.ReadFile("testdata/search_relevance.json")
	if err != nil {
		t.Fatal(err)
	}
	var set relevanceSet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("testdata/search_relevance.json: %v", err)
	}
	if len(set.Queries) < 60 {
		t.Fatalf("the relevance set has %d queries; it needs at least 60", len(set.Queries))
	}
	dir := t.TempDir()
	st, err := catalog.Open(ctx, "sqlite://"+filepath.Join(dir, "catalog.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	idx := st.(catalog.SearchIndex)
	add := func(name string, kind types.Kind, dur float64, tr *types.Transcript, ins *types.Insights) string {
		m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/" + name, Filename: name, Kind: kind, Status: types.StatusProcessing})
		if err != nil {
			t.Fatal(err)
		}
		m, err = st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusSucceeded, Insights: ins, Duration: dur})
		if err != nil {
			t.Fatal(err)
		}
		if err := idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: "acme", MediaID: m.ID, Entries: search.Entries(m, tr), Version: search.IndexVersion}); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}

	// Speech: synthesised, then transcribed with the generic model, as a
	// recording without custom vocabulary would be.
	timings := map[string][]mediagen.TurnTiming{}
	ids := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, len(set.Dialogues))
	heard := map[string]string{}
	for _, d := range set.Dialogues {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wav := filepath.Join(dir, d.Name)
			tt, err := mediagen.Dialogue(ctx, wav, d.Turns, 0.5, 0.8)
			if err != nil {
				errs <- fmt.Errorf("%s: %w", d.Name, err)
				return
			}
			wd := filepath.Join(dir, d.Name+".work")
			os.MkdirAll(wd, 0o755)
			out, err := (&speech.Analyser{}).Transcribe(ctx, &analyser.Env{Workdir: wd}, &analyser.Input{MediaID: d.Name, Path: wav})
			if err != nil {
				errs <- fmt.Errorf("%s: transcribe: %w", d.Name, err)
				return
			}
			ins := &types.Insights{Entities: types.Entities{People: d.People, Organisations: d.Organisations, Places: d.Places}, Topics: d.Topics}
			mu.Lock()
			defer mu.Unlock()
			timings[d.Name] = tt
			heard[d.Name] = out.Text
			ids[d.Name] = add(d.Name, types.KindAudio, out.Duration, &out.Transcript, ins)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Slides: drawn, then read by tesseract.
	reader, err := ocr.NewReader(ocr.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range set.Slides {
		png := filepath.Join(dir, s.Name)
		if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Width: 1280, Height: 720, Text: s.Text, FontSize: 64}); err != nil {
			t.Fatal(err)
		}
		res, err := reader.ReadFrames(ctx, []ocr.Frame{{Path: png}}, "", nil)
		if err != nil {
			t.Fatalf("%s: ocr: %v", s.Name, err)
		}
		var labels []types.Label
		for _, l := range s.Labels {
			labels = append(labels, types.Label{Name: l, Confidence: 90, Timestamps: []float64{0}})
		}
		heard[s.Name] = res.Text
		ids[s.Name] = add(s.Name, types.KindImage, 0, nil, &types.Insights{OCR: res.Texts, Labels: labels, Topics: s.Topics,
			Entities: types.Entities{People: s.People, Organisations: s.Organisations}})
	}
	names := map[string]string{}
	for n, id := range ids {
		names[id] = n
	}

	// Vectors from the test model on loopback.
	srv := httptest.NewServer(searchtest.Handler())
	defer srv.Close()
	oc, err := openai.New(openai.Config{BaseURL: srv.URL + "/v1", EmbeddingModel: "concepts"})
	if err != nil {
		t.Fatal(err)
	}
	emb := embedClient{oc}
	for _, id := range ids {
		if _, err := search.EmbedMedia(ctx, st.(catalog.VectorIndex), emb, "acme", id); err != nil {
			t.Fatal(err)
		}
	}
	wn, err := wordnet.Open(wordnet.DefaultDir)
	if err != nil {
		t.Fatalf("%v (scripts/setup installs wordnet-base)", err)
	}
	defer wn.Close()
	expander := &search.WordNet{DB: wn}
	configs := []struct {
		name string
		opt  search.Options
	}{
		{"lexical", search.Options{}},
		{"+ phonetic, edit distance", search.Options{Phonetic: true, Fuzzy: true}},
		{"+ synonyms (WordNet)", search.Options{Phonetic: true, Fuzzy: true, Expander: expander}},
		{"+ vectors (RRF)", search.Options{Phonetic: true, Fuzzy: true, Expander: expander, Embedder: emb}},
	}
	kinds := []string{}
	seenKind := map[string]bool{}
	for _, q := range set.Queries {
		if !seenKind[q.Kind] {
			seenKind[q.Kind] = true
			kinds = append(kinds, q.Kind)
		}
	}
	t.Logf("| ranking (%d queries over %d files) | recall@1 | recall@5 | MRR | hit within the expected turn | median offset of the hit |", len(set.Queries), len(ids))
	t.Logf("|---|---|---|---|---|---|")
	var last map[string][]string
	for _, c := range configs {
		eng := search.New(idx, c.opt)
		var r1, r5, mrr float64
		var offsets []float64
		within, timed := 0, 0
		byKind := map[string][2]float64{}
		misses := map[string][]string{}
		var lat []time.Duration
		for _, q := range set.Queries {
			start := time.Now()
			res, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: q.Q, Limit: 10})
			lat = append(lat, time.Since(start))
			if err != nil {
				t.Fatalf("%s: %q: %v", c.name, q.Q, err)
			}
			rank := 0
			var hit *search.Hit
			for i, g := range res.Groups {
				if names[g.MediaID] == q.Item {
					rank = i + 1
					hit = g.Hits[0]
					break
				}
			}
			k := byKind[q.Kind]
			if rank == 1 {
				r1++
				k[0]++
			}
			if rank >= 1 && rank <= 5 {
				r5++
				mrr += 1 / float64(rank)
			} else if rank > 5 {
				mrr += 1 / float64(rank)
			}
			k[1]++
			byKind[q.Kind] = k
			if rank != 1 {
				misses[q.Kind] = append(misses[q.Kind], fmt.Sprintf("%q→%d", q.Q, rank))
			}
			if hit != nil && q.Turn != nil {
				tt := timings[q.Item][*q.Turn]
				timed++
				if hit.Start >= tt.Start-0.5 && hit.Start <= tt.End+0.5 {
					within++
				}
				offsets = append(offsets, math.Abs(hit.Start-tt.Start))
			}
		}
		n := float64(len(set.Queries))
		sort.Float64s(offsets)
		med := math.NaN()
		if len(offsets) > 0 {
			med = offsets[len(offsets)/2]
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		t.Logf("| %s | %.2f | %.2f | %.3f | %d/%d | %.1f s |", c.name, r1/n, r5/n, mrr/n, within, timed, med)
		var parts []string
		for _, kd := range kinds {
			parts = append(parts, fmt.Sprintf("%s %.0f/%.0f", kd, byKind[kd][0], byKind[kd][1]))
		}
		t.Logf("%s: top-1 by kind: %s; p95 query %s", c.name, strings.Join(parts, ", "), lat[len(lat)*95/100].Round(time.Microsecond))
		last = misses
	}
	for _, kd := range kinds {
		if len(last[kd]) > 0 {
			t.Logf("not first with every matcher (%s): %s", kd, strings.Join(last[kd], " "))
		}
	}
	for _, n := range []string{"board-meeting.wav", "harbour-podcast.wav"} {
		t.Logf("the recogniser heard (%s): %s", n, heard[n])
	}
}
