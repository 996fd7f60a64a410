package search_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	neturl "net/url"
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

	"github.com/jackc/pgx/v5"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/types"
)

// benchDim is the benchmark's vector size; benchItems the media items
// its transcript segments (12 words each) are spread over.
const (
	benchDim   = 384
	benchItems = 1_000
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

// topicEmbedder gives each text a deterministic vector near one of 600
// centres, themselves drawn around 30 topics (cosine about 0.7 to its
// centre): vectors of text cluster by subject, which the approximate
// index relies on, and a query lands near a centre as a real one would.
type topicEmbedder struct{ centres [][]float32 }

var benchEmbedder = func() topicEmbedder {
	r := rand.New(rand.NewPCG(9, 9))
	unit := func() []float32 {
		v := make([]float32, benchDim)
		var n float64
		for k := range v {
			v[k] = float32(r.NormFloat64())
			n += float64(v[k]) * float64(v[k])
		}
		for k := range v {
			v[k] /= float32(math.Sqrt(n))
		}
		return v
	}
	var topics [][]float32
	for i := 0; i < 30; i++ {
		topics = append(topics, unit())
	}
	var e topicEmbedder
	for i := 0; i < 600; i++ {
		t, u := topics[i%30], unit()
		c := make([]float32, benchDim)
		for k := range c {
			c[k] = t[k] + u[k]
		}
		e.centres = append(e.centres, c)
	}
	return e
}()

func (topicEmbedder) Model() string { return "bench-topics" }
func (e topicEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		var seed uint64
		for _, c := range t {
			seed = seed*131 + uint64(c)
		}
		r := rand.New(rand.NewPCG(seed, 7))
		c := e.centres[r.IntN(len(e.centres))]
		v := make([]float32, benchDim)
		for k := range v {
			v[k] = c[k] + float32(r.NormFloat64())*float32(1.4/math.Sqrt(benchDim))
		}
		out[i] = v
	}
	return out, nil
}

var (
	benchDir  string
	benchMu   sync.Mutex
	benchFix  = map[string]*benchFixture{}
	benchKeep = map[string]bool{}
)

// benchSetup returns the corpus of segments transcript segments on the
// driver, building it once per process. The SQLite corpus is kept in the
// temporary directory between runs, the PostgreSQL one in a schema of
// its own; a file beside them records how long the build took.
func benchSetup(b *testing.B, driver string, segments int) *benchFixture {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := driver + "-" + strconv.Itoa(segments)
	if f := benchFix[key]; f != nil {
		return f
	}
	ctx := context.Background()
	marker := filepath.Join(benchDir, "bench-v2-"+key+".built")
	var url string
	switch driver {
	case "sqlite":
		db := filepath.Join(benchDir, "bench-v2-"+key+".db")
		url = "sqlite://" + db
		if _, err := os.Stat(marker); err != nil {
			for _, x := range []string{"", "-wal", "-shm"} {
				os.Remove(db + x)
			}
		}
	case "postgres":
		base := testutil.PostgresURL(b)
		schema := "search_bench_v2_" + strconv.Itoa(segments)
		u, err := neturl.Parse(base)
		if err != nil {
			b.Fatal(err)
		}
		q := u.Query()
		q.Set("schema", schema)
		u.RawQuery = q.Encode()
		url = u.String()
		if _, err := os.Stat(marker); err != nil {
			conn, err := pgx.Connect(ctx, base)
			if err != nil {
				b.Fatal(err)
			}
			_, err = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(ctx)
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	st, err := catalog.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	if driver == "postgres" {
		// Statistics, as autovacuum gathers them on a live database: a
		// corpus queried right after its bulk load has none, and the
		// planner then guesses a handful of rows per tenant.
		defer func() {
			if _, err := st.(interface{ DB() *sql.DB }).DB().ExecContext(ctx, "ANALYZE cat_entries; ANALYZE cat_media; ANALYZE cat_vectors"); err != nil {
				b.Fatal(err)
			}
		}()
	}
	if raw, err := os.ReadFile(marker); err == nil {
		// Built before: check it holds what the file says.
		stamp, err := st.(catalog.VectorIndex).SearchVectorsStamp(ctx, "acme", benchEmbedder.Model())
		if err == nil && stamp.Added == benchItems {
			secs, _ := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
			f := &benchFixture{st: st, build: time.Duration(secs * float64(time.Second)), queries: benchQueries()}
			benchFix[key] = f
			return f
		}
		b.Fatalf("%s: the corpus does not match %s; remove it", url, marker)
	}
	b.Logf("building %d segments on %s", segments, driver)
	f, err := buildBench(st, segments)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(marker, []byte(strconv.FormatFloat(f.build.Seconds(), 'f', 2, 64)), 0o644); err != nil {
		b.Fatal(err)
	}
	benchFix[key] = f
	return f
}

// buildBench indexes and embeds segments transcript segments through the
// catalog's own write path (one transaction per item for the entries and
// one for the vectors, as the pipeline writes them).
func buildBench(st catalog.Store, segments int) (*benchFixture, error) {
	ctx := context.Background()
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		return nil, err
	}
	idx := st.(catalog.SearchIndex)
	vi := st.(catalog.VectorIndex)
	r := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(benchVocab)-1))
	start := time.Now()
	per := segments / benchItems
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
		if _, err := search.EmbedMedia(ctx, vi, benchEmbedder, "acme", m.ID); err != nil {
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
// vectors) on SQLite and PostgreSQL: words as typed (lexical), with sound
// and spelling matching (phonetic), and hybrid (phonetic + vectors fused
// by RRF). It reports the p95 latency, the CPU time per query, the corpus
// build time (entries and vectors written through the catalog), the time
// to read and index the vectors, the vector copy's size and the recall@10
// of its index against an exact scan.
//
//	go test -run XXX -bench Search100k -benchtime 200x ./catalog/search/
func BenchmarkSearch100k(b *testing.B) { benchSearch(b, 100_000) }

// BenchmarkSearch1M is BenchmarkSearch100k over 1,000,000 segments
// (1,000 items of 1,000 segments). Its first run builds the corpus (kept
// in the temporary directory and in a PostgreSQL schema for later runs).
//
//	go test -run XXX -bench Search1M -benchtime 200x -timeout 2h ./catalog/search/
func BenchmarkSearch1M(b *testing.B) { benchSearch(b, 1_000_000) }

func benchSearch(b *testing.B, segments int) {
	benchDir = filepath.Join(os.TempDir(), "landfall-search-bench")
	if err := os.MkdirAll(benchDir, 0o755); err != nil {
		b.Fatal(err)
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			if driver == "postgres" {
				testutil.PostgresURL(b)
			}
			fx := benchSetup(b, driver, segments)
			for _, c := range []struct {
				name string
				opt  search.Options
			}{
				{"lexical", search.Options{}},
				{"phonetic", search.Options{Phonetic: true, Fuzzy: true}},
				{"hybrid", search.Options{Phonetic: true, Fuzzy: true, Embedder: benchEmbedder}},
			} {
				// One engine for b.Run's calls of the function (with b.N 1,
				// then b.N), so the vectors are read once.
				eng := search.New(fx.st.(catalog.SearchIndex), c.opt)
				b.Run(c.name, func(b *testing.B) {
					ctx := context.Background()
					// Read and index the vectors outside the timing (the
					// first searches start the read and answer without
					// them until it ends).
					for {
						res, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: fx.queries[0]})
						if err != nil {
							b.Fatal(err)
						}
						if c.opt.Embedder == nil || res.Vectors {
							break
						}
						if rows, _, _, _ := search.VectorStats(eng, "acme", c.opt.Embedder.Model()); rows > 0 {
							break
						}
					}
					runtime.GC()
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					lat := make([]time.Duration, 0, b.N)
					cpus := make([]time.Duration, 0, b.N)
					cpu0 := cpuTime()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						s, c := time.Now(), cpuTime()
						if _, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: fx.queries[i%len(fx.queries)]}); err != nil {
							b.Fatal(err)
						}
						lat = append(lat, time.Since(s))
						cpus = append(cpus, cpuTime()-c)
					}
					b.StopTimer()
					b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
					p95 := func(ds []time.Duration) float64 {
						sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
						return float64(ds[len(ds)*95/100].Microseconds()) / 1000
					}
					b.ReportMetric(p95(lat), "p95-ms")
					// The CPU time a query took (the process runs nothing
					// else meanwhile): on a shared machine the wall-clock
					// time also counts the wait for a CPU.
					b.ReportMetric(p95(cpus), "p95-cpu-ms")
					b.ReportMetric(fx.build.Seconds(), "build-s")
					b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
					if c.opt.Embedder != nil {
						rows, bytes, built, approx := search.VectorStats(eng, "acme", c.opt.Embedder.Model())
						b.ReportMetric(float64(rows), "vectors")
						b.ReportMetric(float64(bytes)/(1<<20), "vec-MiB")
						b.ReportMetric(built.Seconds(), "vec-load-s")
						if approx {
							rec, err := search.VectorRecall(ctx, eng, "acme", fx.queries[:50], 10)
							if err != nil {
								b.Fatal(err)
							}
							b.ReportMetric(rec, "recall@10")
							b.ReportMetric(restartLoad(b, fx, c.opt).Seconds(), "vec-restart-s")
						}
					}
				})
			}
		})
	}
}

// restartLoad waits until the engine's built vector index is stored
// (in the background after a build) and returns how long a new engine,
// as after a restart, takes to read it back.
func restartLoad(b *testing.B, fx *benchFixture, opt search.Options) time.Duration {
	ctx := context.Background()
	vs := fx.st.(catalog.VectorIndexStore)
	for deadline := time.Now().Add(20 * time.Minute); ; time.Sleep(time.Second) {
		h, err := vs.SearchVectorIndexGet(ctx, "acme", opt.Embedder.Model(), 0)
		if err != nil {
			b.Fatal(err)
		}
		if h != nil {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("the vector index was not stored")
		}
	}
	eng := search.New(fx.st.(catalog.SearchIndex), opt)
	start := time.Now()
	for {
		res, err := eng.Search(ctx, &search.Params{TenantID: "acme", Query: fx.queries[0]})
		if err != nil {
			b.Fatal(err)
		}
		if res.Vectors {
			break
		}
	}
	if !search.VectorFromSnapshot(eng, "acme", opt.Embedder.Model()) {
		b.Log("the restarted engine rebuilt the index rather than reading it")
	}
	return time.Since(start)
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
