package search

import (
	"context"
	"time"
)

// HitOfEntry makes a hit of entry id for tests of the fusion.
func HitOfEntry(id int64) *Hit { return &Hit{entryID: id} }

// NewFlat builds a flat vector copy of n random unit rows of dim.
func NewFlat(n, dim int, seed uint64) (*flat, [][]float32) {
	f := &flat{dim: dim}
	r := newRand(seed)
	for i := 0; i < n; i++ {
		v := make([]float32, dim)
		for k := range v {
			v[k] = float32(r.NormFloat64())
		}
		normalise(v)
		f.ids = append(f.ids, int64(i+1))
		f.media = append(f.media, "m")
		f.vecs = append(f.vecs, v...)
	}
	var qs [][]float32
	for i := 0; i < 16; i++ {
		v := make([]float32, dim)
		for k := range v {
			v[k] = float32(r.NormFloat64())
		}
		normalise(v)
		qs = append(qs, v)
	}
	return f, qs
}

// NearestIDs runs Nearest and returns the entry ids found.
func NearestIDs(f *flat, q []float32, k int) []int64 {
	var out []int64
	for _, n := range f.Nearest(q, k, nil) {
		out = append(out, f.ids[n.row])
	}
	return out
}

// NearestIDsSerial scans in one part (the reference for the parallel scan).
func NearestIDsSerial(f *flat, q []float32, k int) []int64 {
	var out []int64
	for _, n := range f.nearestIn(q, k, nil, 0, len(f.ids)) {
		out = append(out, f.ids[n.row])
	}
	return out
}

// VectorStats describes an engine's copy of a tenant's vectors: rows,
// bytes held, how long it took to read and index, and whether it has the
// approximate index.
func VectorStats(e *Engine, tenant, model string) (rows, bytes int, built time.Duration, approx bool) {
	e.vectors.mu.Lock()
	c := e.vectors.m[[2]string{tenant, model}]
	e.vectors.mu.Unlock()
	if c == nil || c.f == nil {
		return 0, 0, 0, false
	}
	return len(c.f.ids), c.f.MemBytes(), c.f.built, c.f.ivf != nil
}

// VectorRecall is the mean share of the exact k nearest rows that the
// engine's index returns for the queries' vectors.
func VectorRecall(ctx context.Context, e *Engine, tenant string, queries []string, k int) (float64, error) {
	e.vectors.mu.Lock()
	c := e.vectors.m[[2]string{tenant, e.opt.Embedder.Model()}]
	e.vectors.mu.Unlock()
	if c == nil || c.f == nil {
		return 0, nil
	}
	exact := *c.f
	exact.ivf = nil
	qv, err := e.opt.Embedder.Embed(ctx, queries)
	if err != nil {
		return 0, err
	}
	for _, q := range qv {
		normalise(q)
	}
	return recallAt(&exact, c.f, qv, k), nil
}

// SetVectorScan sets the rows a query of the engine's approximate index
// reads (0: the default).
func SetVectorScan(e *Engine, tenant, model string, rows int) bool {
	e.vectors.mu.Lock()
	c := e.vectors.m[[2]string{tenant, model}]
	e.vectors.mu.Unlock()
	if c == nil || c.f == nil || c.f.ivf == nil {
		return false
	}
	c.f.ivf.scan = rows
	return true
}

// VectorFromSnapshot says whether the engine's copy of the tenant's
// vectors was read from the stored index.
func VectorFromSnapshot(e *Engine, tenant, model string) bool {
	e.vectors.mu.Lock()
	c := e.vectors.m[[2]string{tenant, model}]
	e.vectors.mu.Unlock()
	return c != nil && c.f != nil && c.f.snapshot
}
