package catalogtest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/types"
)

// BenchOpener opens the benchmark fixture database called name. It returns
// reused=true when the database already holds the complete fixture from an
// earlier run (see MarkDone); otherwise it is empty. The store stays open
// until the process ends.
type BenchOpener func(b *testing.B, name string) (st catalog.Store, reused bool, markDone func())

var (
	fixMu    sync.Mutex
	fixtures = map[string]any{}
)

// fixture builds (once per process and name) or reuses a fixture.
func fixture[T any](b *testing.B, open BenchOpener, name string, build func(st catalog.Store, reused bool) (T, error)) T {
	b.Helper()
	fixMu.Lock()
	defer fixMu.Unlock()
	if f, ok := fixtures[name]; ok {
		return f.(T)
	}
	st, reused, done := open(b, name)
	f, err := build(st, reused)
	if err != nil {
		b.Fatalf("fixture %s: %v", name, err)
	}
	if !reused {
		done()
	}
	fixtures[name] = f
	return f
}

// Vocab is a synthetic vocabulary whose words occur with Zipf frequencies,
// as words do in speech.
type Vocab struct {
	Words []string // most frequent first
	zipf  *rand.Zipf
}

// NewVocab makes n distinct words from r.
func NewVocab(r *rand.Rand, n int) *Vocab {
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "be", "do", "fu", "ga", "he", "ji", "po", "ze"}
	seen := map[string]bool{}
	v := &Vocab{}
	for len(v.Words) < n {
		var sb strings.Builder
		for range 2 + r.IntN(3) {
			sb.WriteString(syll[r.IntN(len(syll))])
		}
		if w := sb.String(); !seen[w] {
			seen[w] = true
			v.Words = append(v.Words, w)
		}
	}
	v.zipf = rand.NewZipf(r, 1.07, 2, uint64(n-1))
	return v
}

// Word draws a word.
func (v *Vocab) Word() string { return v.Words[v.zipf.Uint64()] }

// Transcript makes a timed transcript of sentences of 8–16 words.
func (v *Vocab) Transcript(r *rand.Rand, sentences int) *types.Transcript {
	tr := &types.Transcript{}
	t := 0.0
	for range sentences {
		n := 8 + r.IntN(9)
		for i := range n {
			w := v.Word()
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

// Latency collects per-operation wall and CPU durations. CPU time is the
// process's user+system time across the call, which stays meaningful when
// other work shares the machine's cores.
type Latency struct {
	wall, cpu []time.Duration
	t0        time.Time
	c0        time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Start starts timing one operation.
func (l *Latency) Start() { l.t0, l.c0 = time.Now(), cpuTime() }

// Stop ends timing one operation.
func (l *Latency) Stop() {
	l.wall = append(l.wall, time.Since(l.t0))
	l.cpu = append(l.cpu, cpuTime()-l.c0)
}

// Report records p50 and p95 of wall time and CPU time per operation.
func (l *Latency) Report(b *testing.B) {
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

// benchNow anchors the fixtures' times so a reused fixture answers the
// same queries.
var benchNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type searchFixture struct {
	st     catalog.Store
	vocab  *Vocab
	chunks int
}

// searchFixture holds 100,000 transcript chunks in tenant acme (2,000
// media items of 150 sentences, 3 sentences a chunk) and 10,000 in
// tenant globex, of the same vocabulary.
func buildSearch(st catalog.Store, reused bool) (*searchFixture, error) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	fix := &searchFixture{st: st, vocab: NewVocab(r, 20000)}
	if reused {
		fix.chunks = 100000
		return fix, nil
	}
	for _, tenant := range []string{"acme", "globex"} {
		if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: tenant}); err != nil {
			return nil, err
		}
	}
	add := func(tenant string, media int) error {
		for range media {
			m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: tenant, BucketKey: "k", Status: types.StatusProcessing})
			if err != nil {
				return err
			}
			tr := fix.vocab.Transcript(r, 150)
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
		return nil, err
	}
	return fix, add("globex", 200)
}

// buildList holds 100,000 media rows over 20 tenants and 30 days.
func buildList(st catalog.Store, reused bool) (catalog.Store, error) {
	if reused {
		return st, nil
	}
	ctx := context.Background()
	for i := range 20 {
		if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: fmt.Sprintf("t%02d", i)}); err != nil {
			return nil, err
		}
	}
	kinds := []types.Kind{types.KindVideo, types.KindAudio, types.KindImage}
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 100000 {
		_, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: fmt.Sprintf("t%02d", i%20), BucketKey: "incoming/x",
			Kind: kinds[r.IntN(3)], CreatedAt: benchNow.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))})
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

// Benchmark runs the catalog benchmarks on a driver:
//
//	Search100k/<shape>  user queries over 100,000 transcript chunks, one
//	                    sub-benchmark per query shape: words of middling
//	                    frequency (the typical search), several words, OR,
//	                    phrases and prefixes (heavier), and the ten most
//	                    frequent words (the worst case, matching most chunks)
//	MediaList24h        all videos of one tenant created in the last 24
//	                    hours, first page of 50, over 100,000 rows
//	MediaCreate         insert throughput: one media row and its Object
//	                    Created outbox event per transaction
//
// Latencies are reported as p50/p95 of wall and CPU time per operation.
func Benchmark(b *testing.B, open BenchOpener) {
	b.Run("Search100k", func(b *testing.B) {
		fix := fixture(b, open, "search", buildSearch)
		ctx := context.Background()
		r := rand.New(rand.NewPCG(3, 4))
		v := fix.vocab
		mid := func() string { return v.Words[50+r.IntN(5000)] }
		shapes := []struct {
			name string
			gen  func() string
		}{
			{"word", mid},
			{"two-words", func() string { return mid() + " " + mid() }},
			{"three-words", func() string { return mid() + " " + v.Word() + " " + mid() }},
			{"or", func() string { return mid() + " OR " + mid() }},
			{"phrase", func() string { return `"` + v.Word() + " " + v.Word() + `"` }},
			{"prefix", func() string { return mid()[:4] + "*" }},
			{"common-word", func() string { return v.Words[r.IntN(10)] }},
		}
		for _, sh := range shapes {
			queries := make([]string, 256)
			for i := range queries {
				queries[i] = sh.gen()
			}
			b.Run(sh.name, func(b *testing.B) {
				var lat Latency
				hits := 0
				for i := 0; b.Loop(); i++ {
					lat.Start()
					h, err := fix.st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: queries[i%len(queries)]})
					lat.Stop()
					if err != nil {
						b.Fatal(err)
					}
					hits += len(h)
				}
				lat.Report(b)
				b.ReportMetric(float64(hits)/float64(len(lat.wall)), "hits/op")
				b.ReportMetric(float64(fix.chunks), "chunks")
			})
		}
	})
	b.Run("MediaList24h", func(b *testing.B) {
		st := fixture(b, open, "list", buildList)
		ctx := context.Background()
		since := benchNow.Add(-24 * time.Hour)
		var lat Latency
		rows := 0
		for i := 0; b.Loop(); i++ {
			lat.Start()
			page, err := st.MediaList(ctx, &catalog.MediaListParams{TenantID: fmt.Sprintf("t%02d", i%20), Kind: types.KindVideo, Since: since})
			lat.Stop()
			if err != nil {
				b.Fatal(err)
			}
			rows += len(page.Media)
		}
		lat.Report(b)
		b.ReportMetric(float64(rows)/float64(len(lat.wall)), "rows/op")
	})
	b.Run("MediaCreate", func(b *testing.B) {
		ctx := context.Background()
		st, _, _ := open(b, fmt.Sprintf("create%d", time.Now().UnixNano()))
		tenant := fmt.Sprintf("c%d", time.Now().UnixNano()%1e9)
		if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: tenant}); err != nil {
			b.Fatal(err)
		}
		payload := []byte(`{"source":"landfall.blob","detail-type":"Object Created","detail":{"bucket":{"name":"media"},"object":{"key":"incoming/a.mp4","size":1234}}}`)
		start := time.Now()
		n := 0
		for i := 0; b.Loop(); i++ {
			_, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: tenant, BucketKey: "incoming/a.mp4", Size: 1234,
				Events: []catalog.OutboxEvent{{ID: fmt.Sprintf("%s-ev-%d", tenant, i), Payload: payload}}})
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
	})
}
