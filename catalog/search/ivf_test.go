package search

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
)

// clustered returns n unit vectors of dim around k centres, and queries
// drawn the same way. With topics > 0 the centres are themselves drawn
// around that many topics (each centre is its topic plus noise of norm
// 1), as text embeddings cluster by topic and within a topic by
// subject; with topics == 0 the centres are unrelated. Each row is its
// centre plus noise of the given norm, so its cosine to the centre is
// about 1/√(1+noise²).
func clustered(n, dim, k, topics, queries int, noise float64, seed uint64) (*flat, [][]float32) {
	r := newRand(seed)
	unit := func() []float32 {
		v := make([]float32, dim)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		normalise(v)
		return v
	}
	near := func(c []float32, noise float64) []float32 {
		u := unit()
		v := make([]float32, dim)
		for i := range v {
			v[i] = c[i] + float32(noise)*u[i]
		}
		normalise(v)
		return v
	}
	tops := make([][]float32, topics)
	for i := range tops {
		tops[i] = unit()
	}
	centres := make([][]float32, k)
	for i := range centres {
		if topics > 0 {
			centres[i] = near(tops[i%topics], 1)
		} else {
			centres[i] = unit()
		}
	}
	around := func() []float32 { return near(centres[r.IntN(k)], noise) }
	f := &flat{dim: dim}
	for i := 0; i < n; i++ {
		f.ids = append(f.ids, int64(i+1))
		f.media = append(f.media, "m")
		f.vecs = append(f.vecs, around()...)
	}
	var qs [][]float32
	for i := 0; i < queries; i++ {
		qs = append(qs, around())
	}
	return f, qs
}

// recallAt returns the mean share of the exact k nearest that the index
// finds among its k nearest.
func recallAt(exact, approx *flat, qs [][]float32, k int) float64 {
	sum := 0.0
	for _, q := range qs {
		want := map[int64]bool{}
		for _, nb := range exact.Nearest(q, k, nil) {
			want[exact.ids[nb.row]] = true
		}
		got := 0
		for _, nb := range approx.Nearest(q, k, nil) {
			if want[approx.ids[nb.row]] {
				got++
			}
		}
		sum += float64(got) / float64(len(want))
	}
	return sum / float64(len(qs))
}

func copyFlat(f *flat) *flat {
	return &flat{dim: f.dim, ids: append([]int64(nil), f.ids...), media: append([]string(nil), f.media...), vecs: append([]float32(nil), f.vecs...)}
}

// The approximate index finds at least 95% of the exact ten nearest on
// clustered vectors of 384 dimensions, and reorders no row away.
func TestIVFRecall(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, topics int
		noise     float64
		want      float64
	}{{60000, 30, 1.0, 0.95}, {60000, 30, 1.5, 0.95}, {60000, 0, 1.0, 0.8}} {
		exact, qs := clustered(c.n, 384, 600, c.topics, 100, c.noise, 11)
		approx := copyFlat(exact)
		start := time.Now()
		buildIVF(approx, 1, c.n)
		built := time.Since(start)
		if len(approx.ids) != c.n || approx.ivf == nil || approx.ivf.off[len(approx.ivf.off)-1] != c.n {
			t.Fatalf("index holds %d rows, want %d", len(approx.ids), c.n)
		}
		seen := map[int64]bool{}
		for _, id := range approx.ids {
			seen[id] = true
		}
		if len(seen) != c.n {
			t.Fatalf("%d distinct rows after reordering, want %d", len(seen), c.n)
		}
		r := recallAt(exact, approx, qs, 10)
		t.Logf("%d vectors around 600 centres in %d topics, noise %.1f (cosine to centre %.2f): %d×%d leaves, built in %v, recall@10 %.3f",
			c.n, c.topics, c.noise, 1/math.Sqrt(1+c.noise*c.noise), approx.ivf.k1, approx.ivf.k2, built.Round(time.Millisecond), r)
		if r < c.want {
			t.Errorf("recall@10 %.3f, want at least 0.95", r)
		}
	}
}

// memVectors is a VectorIndex of one tenant's vectors in memory.
type memVectors struct {
	catalog.VectorIndex
	delay time.Duration // before each list
	mu    sync.Mutex
	stamp catalog.SearchVectorsStamp
	rows  []catalog.EntryVector
	lists int
}

func (m *memVectors) put(vs ...catalog.EntryVector) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stamp.Added++
	for _, v := range vs {
		v.Seq = m.stamp.Added
		m.rows = append(m.rows, v)
	}
}

func (m *memVectors) remove(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, v := range m.rows {
		if v.EntryID == id {
			m.rows = append(m.rows[:i], m.rows[i+1:]...)
			m.stamp.Removed++
			return
		}
	}
}

func (m *memVectors) SearchVectorsStamp(context.Context, string, string) (catalog.SearchVectorsStamp, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stamp, nil
}

func (m *memVectors) SearchVectorsList(_ context.Context, p *catalog.SearchVectorsListParams) ([]catalog.EntryVector, error) {
	time.Sleep(m.delay)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	var out []catalog.EntryVector
	for _, v := range m.rows {
		if v.EntryID > p.AfterID && v.Seq > p.AfterSeq && len(out) < p.Limit {
			out = append(out, v)
		}
	}
	return out, nil
}

// The cached copy takes in added vectors by reading only them, and is
// rebuilt (in the background) when vectors are removed.
func TestVectorCacheUpdates(t *testing.T) {
	t.Parallel()
	src, _ := clustered(ExactMaxRows+5000, 16, 40, 4, 0, 1, 3)
	m := &memVectors{}
	add := func(from, to int) {
		var vs []catalog.EntryVector
		for i := from; i < to; i++ {
			vs = append(vs, catalog.EntryVector{EntryID: src.ids[i], MediaID: "m", Vec: src.vecs[i*16 : (i+1)*16]})
		}
		m.put(vs...)
	}
	add(0, 1000)
	var c vectorCache
	ctx := context.Background()
	get := func() *flat {
		t.Helper()
		// Past the recheck interval.
		for _, e := range c.m {
			e.mu.Lock()
			e.checked = time.Time{}
			e.mu.Unlock()
		}
		f, err := c.get(ctx, m, "acme", "model")
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if f := get(); len(f.ids) != 1000 || f.ivf != nil {
		t.Fatalf("first load: %d rows (ivf %v), want 1000 exact", len(f.ids), f.ivf != nil)
	}
	add(1000, 1500)
	lists := m.lists
	if f := get(); len(f.ids) != 1500 {
		t.Fatalf("after adding: %d rows, want 1500", len(f.ids))
	}
	if m.lists-lists > 2 {
		t.Fatalf("adding 500 vectors read %d pages", m.lists-lists)
	}
	m.remove(src.ids[3])
	f := get() // starts the rebuild, answers from the current copy
	deadline := time.Now().Add(10 * time.Second)
	for len(f.ids) != 1499 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		f = get()
	}
	if len(f.ids) != 1499 {
		t.Fatalf("after removing: %d rows, want 1499", len(f.ids))
	}
	// Past ExactMaxRows the copy is rebuilt with the approximate index.
	add(1500, len(src.ids))
	f = get()
	for f.ivf == nil && time.Now().Before(deadline.Add(20*time.Second)) {
		time.Sleep(10 * time.Millisecond)
		f = get()
	}
	if f.ivf == nil || len(f.ids) != len(src.ids)-1 {
		t.Fatalf("after growing: %d rows, ivf %v; want %d indexed", len(f.ids), f.ivf != nil, len(src.ids)-1)
	}
}

// A first read slower than VectorWait does not hold searches up: they get
// no copy (and answer by their words) until it ends.
func TestVectorCacheFirstReadInBackground(t *testing.T) {
	t.Parallel()
	src, _ := clustered(100, 8, 4, 0, 0, 1, 5)
	wait := 200 * time.Millisecond
	m := &memVectors{delay: 4 * wait}
	var vs []catalog.EntryVector
	for i := range src.ids {
		vs = append(vs, catalog.EntryVector{EntryID: src.ids[i], MediaID: "m", Vec: src.vecs[i*8 : (i+1)*8]})
	}
	m.put(vs...)
	c := vectorCache{wait: wait}
	start := time.Now()
	f, err := c.get(context.Background(), m, "acme", "model")
	if err != nil || f != nil {
		t.Fatalf("first search: copy %v, err %v; want none yet", f != nil, err)
	}
	if d := time.Since(start); d > 3*wait {
		t.Fatalf("first search waited %v", d)
	}
	for f == nil && time.Since(start) < 20*wait {
		time.Sleep(wait / 4)
		if f, err = c.get(context.Background(), m, "acme", "model"); err != nil {
			t.Fatal(err)
		}
	}
	if f == nil || len(f.ids) != 100 {
		t.Fatalf("after the read: copy %v", f != nil)
	}
}
