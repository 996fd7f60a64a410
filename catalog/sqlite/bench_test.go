package sqlite_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/types"
)

var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchPath names a fixture database. With LANDFALL_BENCH_KEEP=dir the
// fixtures are kept in dir and reused by later runs.
func benchPath(b *testing.B, name string) (path string, reuse bool) {
	b.Helper()
	if keep := os.Getenv("LANDFALL_BENCH_KEEP"); keep != "" {
		path = filepath.Join(keep, name)
		_, err := os.Stat(path + ".done")
		return path, err == nil
	}
	if benchDir == "" {
		d, err := os.MkdirTemp("", "landfall-catalog-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
	}
	return filepath.Join(benchDir, name), false
}

func markDone(path string) { _ = os.WriteFile(path+".done", nil, 0o644) }

// vocab is a synthetic vocabulary whose words occur with Zipf frequencies,
// as words do in speech.
type vocab struct {
	words []string
	zipf  *rand.Zipf
}

func newVocab(r *rand.Rand, n int) *vocab {
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "be", "do", "fu", "ga", "he", "ji", "po", "ze"}
	seen := map[string]bool{}
	v := &vocab{}
	for len(v.words) < n {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			v.words = append(v.words, w)
		}
	}
	v.zipf = rand.NewZipf(r, 1.07, 2, uint64(n-1))
	return v
}

func (v *vocab) word() string { return v.words[v.zipf.Uint64()] }

// transcript makes a timed transcript of n sentences of 8–16 words.
func (v *vocab) transcript(r *rand.Rand, sentences int) *types.Transcript {
	tr := &types.Transcript{}
	t := 0.0
	for range sentences {
		n := 8 + r.IntN(9)
		for i := range n {
			w := v.word()
			if i == n-1 {
				w += "."
			}
			tr.Words = append(tr.Words, types.Word{Text: w, Start: t, End: t + 0.3, Confidence: 0.9})
			t += 0.4
		}
	}
	tr.Duration = t
	return tr
}

type searchFixture struct {
	st     catalog.Store
	vocab  *vocab
	chunks int
}

var (
	searchOnce sync.Once
	searchFix  *searchFixture
	searchErr  error
)

// searchDB builds, once per process, a catalog holding 100,000 transcript
// chunks (2,000 media items of 150 sentences, 3 sentences a chunk) in one
// tenant, plus a second tenant's 10,000 chunks of the same vocabulary.
func searchDB(b *testing.B) *searchFixture {
	searchOnce.Do(func() {
		ctx := context.Background()
		path, reuse := benchPath(b, "search.db")
		st, err := catalog.Open(ctx, "sqlite://"+path)
		if err != nil {
			searchErr = err
			return
		}
		r := rand.New(rand.NewPCG(1, 2))
		v := newVocab(r, 20000)
		fix := &searchFixture{st: st, vocab: v, chunks: 100000}
		if reuse {
			searchFix = fix
			return
		}
		fix.chunks = 0
		for _, tenant := range []string{"acme", "globex"} {
			if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: tenant}); err != nil {
				searchErr = err
				return
			}
		}
		add := func(tenant string, media int) error {
			for range media {
				m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: tenant, BucketKey: "k", Status: types.StatusProcessing})
				if err != nil {
					return err
				}
				tr := v.transcript(r, 150)
				if _, err := st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Transcript: tr}); err != nil {
					return err
				}
				if tenant == "acme" {
					fix.chunks += len(catalog.ChunkTranscript(tr, catalog.ChunkOptions{}))
				}
			}
			return nil
		}
		if err := add("acme", 2000); err != nil {
			searchErr = err
			return
		}
		if err := add("globex", 200); err != nil {
			searchErr = err
			return
		}
		markDone(path)
		searchFix = fix
	})
	if searchErr != nil {
		b.Fatal(searchErr)
	}
	return searchFix
}

// reportLatency records p50, p95 and p99 of per-operation durations.
func reportLatency(b *testing.B, d []time.Duration) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return float64(d[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.95), "p95-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// BenchmarkSearch100k runs typical user queries (one to three words of
// middling frequency, phrases, prefixes) over 100,000 transcript chunks.
func BenchmarkSearch100k(b *testing.B) {
	fix := searchDB(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	mid := func() string { return fix.vocab.words[50+r.IntN(5000)] }
	queries := make([]string, 512)
	for i := range queries {
		switch i % 5 {
		case 0:
			queries[i] = mid()
		case 1:
			queries[i] = mid() + " " + mid()
		case 2:
			queries[i] = mid() + " " + fix.vocab.word() + " " + mid()
		case 3:
			queries[i] = `"` + fix.vocab.word() + " " + fix.vocab.word() + `"`
		case 4:
			queries[i] = mid()[:4] + "*"
		}
	}
	durs := make([]time.Duration, 0, b.N)
	hits := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		h, err := fix.st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: queries[i%len(queries)]})
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		hits += len(h)
	}
	b.StopTimer()
	reportLatency(b, durs)
	b.ReportMetric(float64(hits)/float64(len(durs)), "hits/op")
	b.ReportMetric(float64(fix.chunks), "chunks")
}

// BenchmarkSearch100kCommonWord is the worst case: a query for one of the
// ten most frequent words, matching a large share of all chunks.
func BenchmarkSearch100kCommonWord(b *testing.B) {
	fix := searchDB(b)
	ctx := context.Background()
	durs := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		_, err := fix.st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: fix.vocab.words[i%10]})
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportLatency(b, durs)
}

var (
	listOnce sync.Once
	listSt   catalog.Store
	listErr  error
)

// listDB holds 100,000 media rows over 20 tenants and 30 days.
func listDB(b *testing.B) catalog.Store {
	listOnce.Do(func() {
		ctx := context.Background()
		now := time.Now()
		path, reuse := benchPath(b, "list.db")
		st, err := catalog.Open(ctx, "sqlite://"+path, catalog.WithClock(func() time.Time { return now }))
		if err != nil {
			listErr = err
			return
		}
		listSt = st
		if reuse {
			return
		}
		for i := range 20 {
			if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: fmt.Sprintf("t%02d", i)}); err != nil {
				listErr = err
				return
			}
		}
		kinds := []types.Kind{types.KindVideo, types.KindAudio, types.KindImage}
		r := rand.New(rand.NewPCG(5, 6))
		for i := range 100000 {
			_, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: fmt.Sprintf("t%02d", i%20), BucketKey: "incoming/x",
				Kind: kinds[r.IntN(3)], CreatedAt: now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))})
			if err != nil {
				listErr = err
				return
			}
		}
		markDone(path)
	})
	if listErr != nil {
		b.Fatal(listErr)
	}
	return listSt
}

// BenchmarkMediaList24h is "all videos of tenant T in the last 24 hours",
// first page of 50, over 100,000 rows.
func BenchmarkMediaList24h(b *testing.B) {
	st := listDB(b)
	ctx := context.Background()
	since := time.Now().Add(-24 * time.Hour)
	durs := make([]time.Duration, 0, b.N)
	rows := 0
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		page, err := st.MediaList(ctx, &catalog.MediaListParams{TenantID: fmt.Sprintf("t%02d", i%20), Kind: types.KindVideo, Since: since})
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		rows += len(page.Media)
	}
	b.StopTimer()
	reportLatency(b, durs)
	b.ReportMetric(float64(rows)/float64(len(durs)), "rows/op")
}

// BenchmarkMediaCreate measures insert throughput: one media row and its
// Object Created event per transaction.
func BenchmarkMediaCreate(b *testing.B) {
	ctx := context.Background()
	st, err := catalog.Open(ctx, "sqlite://"+filepath.Join(b.TempDir(), "create.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		b.Fatal(err)
	}
	payload := []byte(`{"source":"landfall.blob","detail-type":"Object Created","detail":{"bucket":{"name":"media"},"object":{"key":"incoming/acme/a.mp4","size":1234}}}`)
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		_, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp4", Size: 1234,
			Events: []catalog.OutboxEvent{{ID: fmt.Sprintf("ev-%d", i), Payload: payload}}})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "rows/s")
}
