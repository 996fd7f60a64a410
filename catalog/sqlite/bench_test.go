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
	"syscall"
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

// latency collects per-operation wall and CPU durations. CPU time is the
// process's user+system time across the call, which stays meaningful when
// other work shares the machine's cores.
type latency struct {
	wall, cpu []time.Duration
	t0        time.Time
	c0        time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (l *latency) start() { l.t0, l.c0 = time.Now(), cpuTime() }

func (l *latency) stop() {
	l.wall = append(l.wall, time.Since(l.t0))
	l.cpu = append(l.cpu, cpuTime()-l.c0)
}

// report records p50 and p95 of wall time and CPU time per operation.
func (l *latency) report(b *testing.B) {
	at := func(d []time.Duration, p float64) float64 {
		if len(d) == 0 {
			return 0
		}
		d = slices.Clone(d)
		slices.Sort(d)
		i := int(math.Ceil(p*float64(len(d)))) - 1
		return float64(d[max(i, 0)].Microseconds()) / 1000
	}
	b.ReportMetric(at(l.wall, 0.50), "p50-ms")
	b.ReportMetric(at(l.wall, 0.95), "p95-ms")
	b.ReportMetric(at(l.cpu, 0.50), "p50-cpu-ms")
	b.ReportMetric(at(l.cpu, 0.95), "p95-cpu-ms")
}

// BenchmarkSearch100k runs user queries over 100,000 transcript chunks,
// one sub-benchmark per query shape: words of middling frequency (the
// typical search), several words, phrases and prefixes of words of any
// frequency (heavier), and the ten most frequent words (the worst case,
// matching most chunks).
func BenchmarkSearch100k(b *testing.B) {
	fix := searchDB(b)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	v := fix.vocab
	mid := func() string { return v.words[50+r.IntN(5000)] }
	shapes := []struct {
		name string
		gen  func() string
	}{
		{"word", mid},
		{"two-words", func() string { return mid() + " " + mid() }},
		{"three-words", func() string { return mid() + " " + v.word() + " " + mid() }},
		{"or", func() string { return mid() + " OR " + mid() }},
		{"phrase", func() string { return `"` + v.word() + " " + v.word() + `"` }},
		{"prefix", func() string { return mid()[:4] + "*" }},
		{"common-word", func() string { return v.words[r.IntN(10)] }},
	}
	for _, sh := range shapes {
		queries := make([]string, 256)
		for i := range queries {
			queries[i] = sh.gen()
		}
		b.Run(sh.name, func(b *testing.B) {
			var lat latency
			hits := 0
			for i := 0; b.Loop(); i++ {
				lat.start()
				h, err := fix.st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: queries[i%len(queries)]})
				lat.stop()
				if err != nil {
					b.Fatal(err)
				}
				hits += len(h)
			}
			lat.report(b)
			b.ReportMetric(float64(hits)/float64(len(lat.wall)), "hits/op")
			b.ReportMetric(float64(fix.chunks), "chunks")
		})
	}
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
	var lat latency
	rows := 0
	for i := 0; b.Loop(); i++ {
		lat.start()
		page, err := st.MediaList(ctx, &catalog.MediaListParams{TenantID: fmt.Sprintf("t%02d", i%20), Kind: types.KindVideo, Since: since})
		lat.stop()
		if err != nil {
			b.Fatal(err)
		}
		rows += len(page.Media)
	}
	lat.report(b)
	b.ReportMetric(float64(rows)/float64(len(lat.wall)), "rows/op")
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
