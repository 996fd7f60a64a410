package search_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/postgres"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/searchtest"
	"github.com/landfall/landfall/catalog/search/wordnet"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/types"
)

type opener func(t *testing.T) catalog.Store

func openSQLite(t *testing.T) catalog.Store {
	st, err := catalog.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func openPostgres(t *testing.T) catalog.Store {
	st, err := catalog.Open(context.Background(), testutil.PostgresSchemaURL(t, "search_test"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func drivers(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, openSQLite) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); testutil.PostgresURL(t); fn(t, openPostgres) })
}

// words makes timed words, one per second from start, for speaker.
func words(start float64, speaker, text string) []types.Word {
	var out []types.Word
	for _, w := range strings.Fields(text) {
		out = append(out, types.Word{Text: w, Start: start, End: start + 0.8, Confidence: 0.9, Speaker: speaker})
		start++
	}
	return out
}

func segmented(parts ...[]types.Word) *types.Transcript {
	tr := &types.Transcript{}
	for _, p := range parts {
		s := types.Segment{ID: len(tr.Segments), FirstWord: len(tr.Words), WordCount: len(p), Start: p[0].Start, End: p[len(p)-1].End, Speaker: p[0].Speaker}
		var ws []string
		for _, w := range p {
			ws = append(ws, w.Text)
		}
		s.Text = strings.Join(ws, " ")
		tr.Words = append(tr.Words, p...)
		tr.Segments = append(tr.Segments, s)
		tr.Duration = p[len(p)-1].End
	}
	return tr
}

type fixture struct {
	st      catalog.Store
	idx     catalog.SearchIndex
	lecture string
	talk    string
	other   string
}

func setup(t *testing.T, open opener) *fixture {
	ctx := context.Background()
	st := open(t)
	for _, id := range []string{"acme", "globex"} {
		if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	f := &fixture{st: st, idx: st.(catalog.SearchIndex)}
	add := func(tenant, name string, kind types.Kind, tr *types.Transcript, ins *types.Insights) string {
		m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: tenant, BucketKey: "incoming/" + tenant + "/" + name, Filename: name, Kind: kind, Status: types.StatusProcessing})
		if err != nil {
			t.Fatal(err)
		}
		m, err = st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Insights: ins, Status: types.StatusSucceeded, Duration: tr.Duration})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: tenant, MediaID: m.ID,
			Entries: search.Entries(m, tr), Version: search.IndexVersion}); err != nil {
			t.Fatal(err)
		}
		return m.ID
	}
	f.lecture = add("acme", "quarterly-review.mp4", types.KindVideo, segmented(
		words(0, "spk_0", "Welcome everyone to the quarterly review."),
		words(10, "spk_1", "Thank you. I am david mellor from the finance team."),
		words(20, "spk_0", "Our doctor said the numbers look healthy."),
		words(30, "spk_1", "We bought a new car for the sales people."),
	), &types.Insights{
		Summary:  "A quarterly review of the finance numbers.",
		Chapters: []types.Chapter{{Title: "Welcome", StartSeconds: 0}, {Title: "Finance numbers", StartSeconds: 10}},
		Topics:   []string{"customer churn"},
		Entities: types.Entities{People: []string{"David Miller"}, Organisations: []string{"Northwind Labs"}},
		OCR:      []types.OCRText{{Text: "Customer churn fell 4%", First: 42, Last: 48, Confidence: 95}, {Text: "Professor Ada Lovelace", First: 50, Last: 55}},
		Labels:   []types.Label{{Name: "Car", Confidence: 90, Timestamps: []float64{31, 35}}},
	})
	f.talk = add("acme", "interview.mp3", types.KindAudio, segmented(
		words(0, "spk_0", "The automobile industry is changing fast."),
		words(8, "spk_1", "Electric motors replace engines."),
	), &types.Insights{Summary: "An interview about the automobile industry."})
	f.other = add("globex", "secret.mp4", types.KindVideo, segmented(words(0, "spk_0", "Customer churn and the car plans of david miller.")),
		&types.Insights{Entities: types.Entities{People: []string{"David Miller"}}})
	return f
}

func find(t *testing.T, e *search.Engine, tenant, q string) *search.Result {
	t.Helper()
	res, err := e.Search(context.Background(), &search.Params{TenantID: tenant, Query: q, Facets: true})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

func top(t *testing.T, res *search.Result) *search.Hit {
	t.Helper()
	if len(res.Groups) == 0 {
		t.Fatalf("%s: no results", res.Query)
	}
	return res.Groups[0].Hits[0]
}

func TestSearchMoments(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, open opener) {
		f := setup(t, open)
		lex := search.New(f.idx, search.Options{})
		all := search.New(f.idx, search.Options{Phonetic: true, Fuzzy: true})
		// On-screen text, with the time it was seen.
		h := top(t, find(t, lex, "acme", "churn"))
		if h.MediaID != f.lecture || (h.Field != catalog.FieldOCR && h.Field != catalog.FieldTopic) || h.Start != 42 {
			t.Fatalf("churn: %+v", h)
		}
		h = top(t, find(t, lex, "acme", "professor"))
		if h.Field != catalog.FieldOCR || h.Start != 50 || h.End != 55 || !strings.Contains(h.Snippet, "«Professor»") {
			t.Fatalf("professor: %+v", h)
		}
		// A spoken word: the hit starts at the word, not the segment.
		h = top(t, find(t, lex, "acme", "doctor"))
		if h.Field != catalog.FieldTranscript || h.Start != 21 || h.End != 21.8 || h.EntryStart != 20 || h.Speaker != "spk_0" {
			t.Fatalf("doctor: %+v", h)
		}
		if h.Filename != "quarterly-review.mp4" || !strings.Contains(h.Snippet, "«doctor»") || h.Match != search.MatchExact {
			t.Fatalf("doctor: %+v", h)
		}
		// The entity, by name, at the time the recogniser's version is said.
		res := find(t, lex, "acme", `"David Miller"`)
		h = top(t, res)
		if h.Field != catalog.FieldEntity || h.Value != "person" || h.Start != 14 || h.End != 15.8 {
			t.Fatalf("David Miller: %+v", h)
		}
		// Phonetic: the spoken words themselves.
		if r := find(t, lex, "acme", "miller field:transcript"); len(r.Groups) != 0 {
			t.Fatalf("lexical miller in speech: %+v", r.Groups[0].Hits[0])
		}
		h = top(t, find(t, all, "acme", "miller field:transcript"))
		if h.Start != 15 || h.Match != search.MatchPhonetic || !strings.Contains(h.Snippet, "«mellor»") {
			t.Fatalf("phonetic miller: %+v", h)
		}
		// Edit distance: a misspelt query.
		h = top(t, find(t, all, "acme", "automobil"))
		if h.MediaID != f.talk || h.Start != 1 {
			t.Fatalf("fuzzy automobil: %+v", h)
		}
		// Exact beats phonetic: "mellor" as typed ranks its exact match.
		h = top(t, find(t, all, "acme", "mellor"))
		if h.Match != search.MatchExact {
			t.Fatalf("mellor: %+v", h)
		}
		// Filters, exclusion, facets, grouping.
		r := find(t, lex, "acme", "car")
		if len(r.Groups) != 1 || r.Groups[0].MediaID != f.lecture || r.Groups[0].Total < 2 {
			t.Fatalf("car groups: %+v", r.Groups)
		}
		if fc := r.Facets["label"]; len(fc) != 1 || fc[0].Value != "Car" || fc[0].Count != 1 {
			t.Fatalf("label facet: %+v", r.Facets)
		}
		if r := find(t, lex, "acme", "car field:label"); top(t, r).Field != catalog.FieldLabel || top(t, r).Start != 31 {
			t.Fatalf("car in labels: %+v", top(t, r))
		}
		if r := find(t, lex, "acme", "car speaker:\"Speaker 2\""); top(t, r).Start != 34 {
			t.Fatalf("speaker filter: %+v", top(t, r))
		}
		if r := find(t, lex, "acme", "car speaker:spk_0"); len(r.Groups) != 0 {
			t.Fatalf("speaker filter kept another speaker: %+v", top(t, r))
		}
		if r := find(t, lex, "acme", "industry -automobile"); len(r.Groups) != 0 {
			t.Fatalf("exclusion: %+v", r.Groups)
		}
		if r := find(t, lex, "acme", "industry kind:video"); len(r.Groups) != 0 {
			t.Fatalf("kind filter: %+v", r.Groups)
		}
		if r := find(t, lex, "acme", "label:car"); len(r.Groups) != 1 || top(t, r).Field != catalog.FieldLabel {
			t.Fatalf("label only: %+v", r.Groups)
		}
		if r := find(t, lex, "acme", "numbers label:car"); len(r.Groups) != 1 || r.Groups[0].MediaID != f.lecture {
			t.Fatalf("label filter: %+v", r.Groups)
		}
		if r := find(t, lex, "acme", "industry label:car"); len(r.Groups) != 0 {
			t.Fatalf("label filter kept an item without the label: %+v", r.Groups)
		}
		res2, err := lex.Search(context.Background(), &search.Params{TenantID: "acme", Query: "automobile", MediaID: f.lecture})
		if err != nil || len(res2.Groups) != 0 {
			t.Fatalf("within one file: %+v %v", res2, err)
		}
		// Tenants see only their own entries.
		for _, q := range []string{"churn", "miller", "secret", "car"} {
			for _, g := range find(t, all, "acme", q).Groups {
				if g.MediaID == f.other {
					t.Fatalf("%s: acme sees globex's %s", q, g.MediaID)
				}
			}
		}
		if g := find(t, all, "globex", "automobile").Groups; len(g) != 0 {
			t.Fatalf("globex sees acme: %+v", g)
		}
		// Bad input names what is wrong.
		for q, want := range map[string]string{"kind:sound x": "kind", "field:nope x": "field", "after:yesterday x": "after", "speaker: x": "speaker"} {
			_, err := lex.Search(context.Background(), &search.Params{TenantID: "acme", Query: q})
			if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), want) {
				t.Errorf("%q: %v", q, err)
			}
		}
		// Deleting the item removes its entries.
		if _, err := f.st.MediaDelete(context.Background(), &catalog.MediaDeleteParams{ID: f.talk, TenantID: "acme"}); err != nil {
			t.Fatal(err)
		}
		if r := find(t, all, "acme", "automobile"); len(r.Groups) != 0 {
			t.Fatalf("deleted item still found: %+v", r.Groups)
		}
	})
}

func TestSearchSynonyms(t *testing.T) {
	t.Parallel()
	db, err := wordnet.Open(wordnet.DefaultDir)
	if err != nil {
		t.Fatalf("%v (scripts/setup installs wordnet-base)", err)
	}
	defer db.Close()
	drivers(t, func(t *testing.T, open opener) {
		f := setup(t, open)
		lex := search.New(f.idx, search.Options{})
		syn := search.New(f.idx, search.Options{Expander: &search.WordNet{DB: db}})
		if r := find(t, lex, "acme", "physician"); len(r.Groups) != 0 {
			t.Fatalf("lexical physician: %+v", r.Groups)
		}
		h := top(t, find(t, syn, "acme", "physician"))
		if h.MediaID != f.lecture || h.Start != 21 || h.Match != search.MatchSynonym || !strings.Contains(h.Snippet, "«doctor»") {
			t.Fatalf("physician: %+v", h)
		}
		// The word as typed outranks its synonyms: "automobile" is said in
		// the interview; "car" only in the lecture.
		r := find(t, syn, "acme", "automobile")
		if len(r.Groups) != 2 || r.Groups[0].MediaID != f.talk || r.Groups[1].MediaID != f.lecture {
			t.Fatalf("automobile: %+v", r.Groups)
		}
		if r.Groups[0].Hits[0].Match != search.MatchExact || r.Groups[1].Hits[0].Match != search.MatchSynonym {
			t.Fatalf("automobile matches: %+v %+v", r.Groups[0].Hits[0], r.Groups[1].Hits[0])
		}
	})
}

func TestSearchVectors(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, open opener) {
		ctx := context.Background()
		f := setup(t, open)
		emb := &searchtest.Concepts{}
		vi := f.st.(catalog.VectorIndex)
		for tenant, ids := range map[string][]string{"acme": {f.lecture, f.talk}, "globex": {f.other}} {
			for _, id := range ids {
				if n, err := search.EmbedMedia(ctx, vi, emb, tenant, id); err != nil || n == 0 {
					t.Fatalf("embed %s: %d %v", id, n, err)
				}
			}
		}
		lex := search.New(f.idx, search.Options{})
		hyb := search.New(f.idx, search.Options{Embedder: emb})
		// "vehicle" is said nowhere: only its meaning finds the car.
		if r := find(t, lex, "acme", "vehicle"); len(r.Groups) != 0 {
			t.Fatalf("lexical vehicle: %+v", r.Groups)
		}
		r := find(t, hyb, "acme", "vehicle")
		if !r.Vectors || len(r.Groups) == 0 {
			t.Fatalf("hybrid vehicle: %+v", r)
		}
		got := map[string]bool{}
		for _, g := range r.Groups {
			if g.MediaID == f.other {
				t.Fatalf("acme's vector search found globex's item")
			}
			got[g.MediaID] = true
			if g.Hits[0].Match != search.MatchVector {
				t.Fatalf("vector hit: %+v", g.Hits[0])
			}
		}
		if !got[f.lecture] || !got[f.talk] {
			t.Fatalf("vehicle: want the lecture's car and the interview's automobile: %+v", r.Groups)
		}
		// Both rankings agree on "car": the fused list keeps the lexical
		// hit's word times.
		h := top(t, find(t, hyb, "acme", "car speaker:spk_1"))
		if h.Start != 34 || h.Match != search.MatchExact {
			t.Fatalf("hybrid car: %+v", h)
		}
		// Filters hold for vector hits.
		if r := find(t, hyb, "acme", "vehicle kind:audio"); len(r.Groups) != 1 || r.Groups[0].MediaID != f.talk {
			t.Fatalf("vector kind filter: %+v", r.Groups)
		}
		// Replacing an item's entries drops its vectors.
		m, _ := f.st.MediaGet(ctx, &catalog.MediaGetParams{ID: f.talk, TenantID: "acme"})
		if err := f.idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: "acme", MediaID: f.talk, Entries: search.Entries(m, nil), Version: search.IndexVersion}); err != nil {
			t.Fatal(err)
		}
		pend, err := vi.SearchEmbedPending(ctx, &catalog.SearchEmbedPendingParams{TenantID: "acme", Model: emb.Model()})
		if err != nil || len(pend) != 1 || pend[0].ID != f.talk {
			t.Fatalf("pending after reindex: %v %v", pend, err)
		}
		// Bad vectors are refused, naming the element.
		err = vi.SearchVectorsPut(ctx, &catalog.SearchVectorsPutParams{TenantID: "acme", MediaID: f.lecture, Model: "m",
			Vectors: []catalog.EntryVector{{EntryID: 1, Vec: []float32{1, 2}}, {EntryID: 2, Vec: []float32{1}}}})
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "vectors[1]") {
			t.Fatalf("ragged vectors: %v", err)
		}
		err = vi.SearchVectorsPut(ctx, &catalog.SearchVectorsPutParams{TenantID: "globex", MediaID: f.lecture, Model: "m",
			Vectors: []catalog.EntryVector{{EntryID: 1, Vec: []float32{1}}}})
		if errcode.Of(err) != errcode.NotFound {
			t.Fatalf("another tenant's item: %v", err)
		}
	})
}

func TestFuse(t *testing.T) {
	t.Parallel()
	// Reciprocal rank fusion: an entry ranked well in both lists beats one
	// ranked first in only one.
	a, b, c := search.HitOfEntry(1), search.HitOfEntry(2), search.HitOfEntry(3)
	out := search.Fuse([]*search.Hit{a, b}, []*search.Hit{c, b}, 1)
	if out[0] != b || len(out) != 3 {
		t.Fatalf("fused order: %v", []float64{out[0].Score, out[1].Score, out[2].Score})
	}
}
