package search

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
)

// snapVectors is memVectors with a vector index store.
type snapVectors struct {
	*memVectors
	smu   sync.Mutex
	parts map[int][]byte
}

func (s *snapVectors) SearchVectorIndexPut(_ context.Context, p *catalog.SearchVectorIndexPutParams) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.parts == nil {
		s.parts = map[int][]byte{}
	}
	s.parts[p.Part] = append([]byte(nil), p.Data...)
	if p.Part == 0 {
		for k := range s.parts {
			if p.Parts > 0 && k >= p.Parts {
				delete(s.parts, k)
			}
		}
	}
	return nil
}

func (s *snapVectors) SearchVectorIndexGet(_ context.Context, _, _ string, part int) ([]byte, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.parts[part], nil
}

func (s *snapVectors) header() []byte {
	b, _ := s.SearchVectorIndexGet(context.Background(), "", "", 0)
	return b
}

// A built approximate index is stored; a restarted engine reads it back
// (the same rows, order and clusters, without listing the vectors),
// extends it with the vectors written since, ignores a snapshot whose
// parts do not match its header, and after a removal answers from the
// snapshot while it rebuilds.
func TestVectorIndexSnapshot(t *testing.T) {
	t.Parallel()
	const dim = 16
	src, qs := clustered(ExactMaxRows+5000, dim, 40, 4, 8, 1, 5)
	m := &snapVectors{memVectors: &memVectors{}}
	add := func(from, to int) {
		var vs []catalog.EntryVector
		for i := from; i < to; i++ {
			vs = append(vs, catalog.EntryVector{EntryID: src.ids[i], MediaID: "m" + string(rune('a'+i%7)), Vec: src.vecs[i*dim : (i+1)*dim]})
		}
		m.put(vs...)
	}
	n := len(src.ids) - 100
	add(0, n)
	ctx := context.Background()
	load := func() *flat {
		t.Helper()
		c := vectorCache{wait: time.Minute}
		f, err := c.get(ctx, m, "acme", "model")
		if err != nil || f == nil {
			t.Fatalf("load: %v", err)
		}
		return f
	}
	built := load()
	if built.ivf == nil || built.snapshot {
		t.Fatalf("first load: ivf %v, snapshot %v", built.ivf != nil, built.snapshot)
	}
	deadline := time.Now().Add(20 * time.Second)
	for m.header() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m.header() == nil {
		t.Fatal("the built index was not stored")
	}
	lists := m.lists
	got := load()
	if !got.snapshot || !slices.Equal(got.ids, built.ids) || !slices.Equal(got.media, built.media) || !slices.Equal(got.vecs, built.vecs) ||
		!slices.Equal(got.ivf.off, built.ivf.off) || !slices.Equal(got.ivf.leaf, built.ivf.leaf) || got.stamp != built.stamp {
		t.Fatalf("restart: the stored index differs from the built one (snapshot %v)", got.snapshot)
	}
	if m.lists-lists > 1 {
		t.Fatalf("restart listed %d pages of vectors", m.lists-lists)
	}
	for _, q := range qs {
		a, b := got.Nearest(q, 10, nil), built.Nearest(q, 10, nil)
		if !slices.Equal(a, b) {
			t.Fatalf("nearest differ: %v / %v", a, b)
		}
	}
	// Written since: read from the catalog beside the snapshot.
	add(n, len(src.ids))
	if f := load(); !f.snapshot || len(f.ids) != len(src.ids) {
		t.Fatalf("after adding: snapshot %v, %d rows, want %d", f.snapshot, len(f.ids), len(src.ids))
	}
	// A part from another snapshot: built from the rows again.
	m.smu.Lock()
	saved := m.parts[3]
	bad := append([]byte(nil), saved...)
	bad[0] ^= 1
	m.parts[3] = bad
	m.smu.Unlock()
	if f := load(); f.snapshot || len(f.ids) != len(src.ids) {
		t.Fatalf("mismatched part: snapshot %v, %d rows", f.snapshot, len(f.ids))
	}
	// The rebuild stored a new snapshot; a removal since makes the
	// engine answer from it and rebuild.
	for time.Now().Before(deadline) {
		if f, _ := loadSnapshot(ctx, m, "acme", "model"); f != nil && len(f.ids) == len(src.ids) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.remove(src.ids[10])
	c := vectorCache{wait: time.Minute}
	f, err := c.get(ctx, m, "acme", "model")
	if err != nil || !f.snapshot {
		t.Fatalf("after a removal: %v, snapshot %v", err, f != nil && f.snapshot)
	}
	for (f.snapshot || len(f.ids) != len(src.ids)-1) && time.Now().Before(deadline.Add(20*time.Second)) {
		time.Sleep(20 * time.Millisecond)
		for _, e := range c.m {
			e.mu.Lock()
			e.checked = time.Time{}
			e.mu.Unlock()
		}
		if f, err = c.get(ctx, m, "acme", "model"); err != nil {
			t.Fatal(err)
		}
	}
	if f.snapshot || len(f.ids) != len(src.ids)-1 {
		t.Fatalf("rebuild after a removal: snapshot %v, %d rows", f.snapshot, len(f.ids))
	}
}

// A damaged header is ignored, never trusted.
func FuzzVectorIndexSnapshot(f *testing.F) {
	src, _ := clustered(2000, 8, 10, 2, 0, 1, 7)
	buildIVF(src, 1, 2100)
	m := &snapVectors{memVectors: &memVectors{}}
	if err := saveSnapshot(context.Background(), m, "acme", "model", src); err != nil {
		f.Fatal(err)
	}
	f.Add(m.header())
	f.Fuzz(func(t *testing.T, h []byte) {
		mm := &snapVectors{memVectors: &memVectors{}, parts: map[int][]byte{}}
		m.smu.Lock()
		for k, v := range m.parts {
			mm.parts[k] = v
		}
		m.smu.Unlock()
		mm.parts[0] = h
		got, _ := loadSnapshot(context.Background(), mm, "acme", "model")
		if got == nil {
			return
		}
		x := got.ivf
		if len(got.ids) != x.n || len(got.vecs) != x.n*got.dim || x.off[len(x.off)-1] != x.n || len(x.leaf) != x.k1*x.k2*got.dim {
			t.Fatalf("inconsistent index accepted: %d rows, n %d", len(got.ids), x.n)
		}
		got.Nearest(src.vecs[:got.dim], 5, nil)
	})
}
