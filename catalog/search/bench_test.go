package search_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/types"
)

// benchSegments is the size of the benchmark corpus: transcript segments
// of 12 words over benchItems media items.
const (
	benchSegments = 100_000
	benchItems    = 1_000
	benchDim      = 384
)

// benchVocab is a Zipf-distributed vocabulary: a few words are very
// common, most are rare, as in speech.
var benchVocab = func() []string {
	r := rand.New(rand.NewPCG(1, 2))
	syll := []string{"ka", "lo", "mi", "ran", "te", "sor", "vel", "qui", "dan", "mo", "pe", "lis", "tor", "na", "ber", "gu"}
	seen := map[string]bool{}
	var out []string
	for len(out) < 20000 {
		var b strings.Builder
		for n := 2 + r.IntN(3); n > 0; n-- {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}()

type benchFixture struct {
	st      catalog.Store
	build   time.Duration
	queries []string
}

// randomEmbedder gives each text a deterministic pseudo-random unit
// vector: the cost of the vector search does not depend on meaning.
type randomEmbedder struct{}

func (randomEmbedder) Model() string { return "bench-random" }
func (randomEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		var seed uint64
		for _, c := range t {
			seed = seed*131 + uint64(c)
		}
		r := rand.New(rand.NewPCG(seed, 7))
		v := make([]float32, benchDim)
		for k := range v {
			v[k] = float32(r.NormFloat64())
		}
		out[i] = v
	}
	return out, nil
}

var (
	benchDir  string
	benchOnce = map[string]*sync.Once{"sqlite": {}, "postgres": {}}
	benchFix  = map[string]*benchFixture{}
	benchErr  = map[string]error{}
)

func benchSetup(b *testing.B, driver string) *benchFixture {
	benchOnce[driver].Do(func() {
		var st catalog.Store
		var err error
		switch driver {
		case "sqlite":
			// The SQLite corpus is kept between runs (its build takes a
			// minute); the file records how long the build took.
			db := filepath.Join(benchDir, "bench-v1.db")
			if b, err := os.ReadFile(db + ".built"); err == nil {
				if st, err = catalog.Open(context.Background(), "sqlite://"+db); err == nil {
					secs, _ := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
					benchFix[driver] = &benchFixture{st: st, build: time.Duration(secs * float64(time.Second)), queries: benchQueries()}
					return
				}
			}
			os.Remove(db)
			st, err = catalog.Open(context.Background(), "sqlite://"+db)
			if err == nil {
				defer func() {
					if f := benchFix[driver]; f != nil {
						os.WriteFile(db+".built", []byte(strconv.FormatFloat(f.build.Seconds(), 'f', 2, 64)), 0o644)
					}
				}()
			}
		case "postgres":
			// The schema outlives the benchmark's first b.Run; it is
			// dropped when the process's first benchmark ends.
			st, err = catalog.Open(context.Background(), testutil.PostgresSchemaURL(b, "search_bench"))
		}
		if err != nil {
			benchErr[driver] = err
			return
		}
		benchFix[driver], benchErr[driver] = buildBench(st)
	})
	if benchErr[driver] != nil {
		b.Fatal(benchErr[driver])
	}
	return benchFix[driver]
}

func buildBench(st catalog.Store) (*benchFixture, error) {
	ctx := context.Background()
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		return nil, err
	}
	idx := st.(catalog.SearchIndex)
	vi := st.(catalog.VectorIndex)
	r := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(benchVocab)-1))
	start := time.Now()
	per := benchSegments / benchItems
	emb := randomEmbedder{}
	for i := 0; i < benchItems; i++ {
		m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: fmt.Sprintf("incoming/acme/%d.mp3", i),
			Filename: fmt.Sprintf("talk-%04d.mp3", i), Kind: types.KindAudio, Status: types.StatusProcessing})
		if err != nil {
			return nil, err
		}
		tr := &types.Transcript{}
		at := 0.0
		for s := 0; s < per; s++ {
			seg := types.Segment{ID: s, FirstWord: len(tr.Words), WordCount: 12, Start: at, Speaker: fmt.Sprintf("spk_%d", s%2)}
			var ws []string
			for k := 0; k < 12; k++ {
				w := benchVocab[zipf.Uint64()]
				ws = append(ws, w)
				tr.Words = append(tr.Words, types.Word{Text: w, Start: at, End: at + 0.4, Speaker: seg.Speaker})
				at += 0.5
			}
			seg.End, seg.Text = at, strings.Join(ws, " ")
			tr.Segments = append(tr.Segments, seg)
		}
		tr.Duration = at
		m.Status = types.StatusSucceeded
		m.Duration = at
		if err := idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: "acme", MediaID: m.ID, Entries: search.Entries(m, tr), Version: search.IndexVersion}); err != nil {
			return nil, err
		}
		if _, err := search.EmbedMedia(ctx, vi, emb, "acme", m.ID); err != nil {
			return nil, err
		}
	}
	return &benchFixture{st: st, build: time.Since(start), queries: benchQueries()}, nil
}

// benchQueries are one or two words, from common to rare.
func benchQueries() []string {
	r := rand.New(rand.NewPCG(5, 6))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(benchVocab)-1))
	var out []string
	for i := 0; i < 200; i++ {
		q := benchVocab[zipf.Uint64()]
		if i%2 == 1 {
			q += " " + benchVocab[r.IntN(2000)]
		}
		out = append(out, q)
	}
	return out
}

// BenchmarkSearch100k measures queries over 100,000 transcript segments
// (1,000 items, 12 words each, Zipf vocabulary of 20,000 words, 384-dim
// vectors): lexical only, with sound and spelling matching, and hybrid
// (+ exact vector scan fused by RRF). It reports the p95 latency, the
// index build time (entries and vectors) and the flat vector copy's size.
//
//	go test -run XXX -bench Search100k -benchtime 200x ./catalog/search/
func BenchmarkSearch100k(b *testing.B) {
	benchDir = filepath.Join(os.TempDir(), "landfall-search-bench")
	if err := os.MkdirAll(benchDir, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			if driver == "postgres" {
				testutil.PostgresURL(b)
			}
			fx := benchSetup(b, driver)
			for _, c := range []struct {
				name string
				opt  search.Options
			}{
				{"lexical", search.Options{}},
				{"phonetic", search.Options{Phonetic: true, Fuzzy: true}},
				{"hybrid", search.Options{Phonetic: true, Fuzzy: true, Embedder: randomEmbedder{}}},
			} {
				b.Run(c.name, func(b *testing.B) {
					eng := search.New(fx.st.(catalog.SearchIndex), c.opt)
					ctx := context.Background()
					// Warm the vector copy outside the timing.
					if _, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: fx.queries[0]}); err != nil {
						b.Fatal(err)
					}
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					lat := make([]time.Duration, 0, b.N)
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						s := time.Now()
						if _, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: fx.queries[i%len(fx.queries)]}); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(s))
					}
					b.StopTimer()
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
					sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
					b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
					b.ReportMetric(fx.build.Seconds(), "build-s")
					b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
				})
			}
		})
	}
}

// cpuTime is the process's CPU time (user and system): on a machine
// shared with other work, wall-clock latency measures the queue for the
// CPU as much as the query; CPU time per query does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
