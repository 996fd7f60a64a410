package search

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// The approximate index is an inverted file (IVF) with a two-level
// quantiser: the vectors are clustered by spherical k-means into about
// √n leaves (k1 top clusters, each split into k2 leaves), and each leaf's
// vectors are stored contiguously, so a query reads a few long runs of
// memory rather than a graph's scattered nodes. A query compares itself
// with every leaf's centroid and scans exactly (as the flat copy does)
// the most similar leaves until it has read IVFScanFraction of the rows
// (at least IVFMinScan). The top level serves the build: a row is
// compared with the leaves of its IVFAssignBeam most similar top clusters
// only.
//
// Why IVF and not HNSW: it holds one copy of the vectors and no graph
// (HNSW adds 2·M neighbour ids per vector, about 128 bytes at M = 16), it
// builds in a few passes over the vectors (a million 384-dimension
// vectors in seconds, where an HNSW insert costs hundreds of distance
// computations each), its scan is the same cache-friendly loop as the
// exact one, and a tenant's index is rebuilt from the catalog's stored
// vectors in the time it takes to read them. Its recall depends on the
// data having clusters, which embeddings of text do; TestIVFRecall
// measures it against the exact scan.

// ExactMaxRows is the number of rows up to which a tenant's vectors are
// scanned exactly: the scan then costs a few milliseconds and an index
// would only lose neighbours.
const ExactMaxRows = 30000

// Tuning of the approximate index.
const (
	// IVFAssignBeam is how many top clusters' leaves a row is compared
	// with when the index is built.
	IVFAssignBeam = 3
	// IVFScanFraction is the share of the rows a query scans, in the
	// leaves nearest to it; IVFMinScan the least it scans.
	IVFScanFraction = 1.0 / 32
	IVFMinScan      = 8192
	// ivfIters is the number of k-means iterations per level.
	ivfIters = 8
	// ivfSamplePer is how many sample vectors per centroid k-means trains
	// on.
	ivfSamplePer = 64
)

// ivf is the quantiser of an approximate index over the first n rows of a
// flat copy, whose rows are stored leaf by leaf: leaf l holds rows
// off[l]..off[l+1].
type ivf struct {
	k1, k2 int
	top    []float32 // k1 centroids
	leaf   []float32 // k1·k2 centroids; leaf t·k2+j belongs to top cluster t
	off    []int     // len k1·k2+1
	n      int       // rows covered; rows from n on are scanned exactly
	// scan is the rows a query reads (0: IVFScanFraction of n, at least
	// IVFMinScan).
	scan int
}

// ivfShape returns the number of top clusters and of leaves per top
// cluster for n rows: about √n leaves of about √n rows.
func ivfShape(n int) (int, int) {
	leaves := int(math.Sqrt(float64(n)))
	k1 := max(1, int(math.Ceil(math.Sqrt(float64(leaves)))))
	k2 := max(1, (leaves+k1-1)/k1)
	return k1, k2
}

// buildIVF clusters f's rows and reorders them leaf by leaf (f's ids,
// media and vecs are replaced by reordered copies with room for capRows
// rows). seed fixes the sampling, so a build is reproducible.
func buildIVF(f *flat, seed uint64, capRows int) {
	n := len(f.ids)
	if n == 0 || f.dim == 0 {
		return
	}
	dim := f.dim
	r := rand.New(rand.NewPCG(seed, 0x1f))
	k1, k2 := ivfShape(n)
	all := make([]int32, n)
	for i := range all {
		all[i] = int32(i)
	}
	top := kmeans(f.vecs, dim, sample(r, all, k1*ivfSamplePer), k1, r)
	k1 = len(top) / dim
	topOf := assign(f.vecs, dim, sample(r, all, k1*k2*ivfSamplePer), top)
	members := make([][]int32, k1)
	for i, t := range topOf {
		members[t] = append(members[t], all[i])
	}
	leafC := make([]float32, 0, k1*k2*dim)
	for t := 0; t < k1; t++ {
		c := kmeans(f.vecs, dim, sample(r, members[t], k2*ivfSamplePer), k2, r)
		got := len(c) / dim
		for len(c) < k2*dim {
			// Fewer members than leaves: the spare leaves repeat the first
			// centroid and stay empty (rows go to the first equal one).
			if got == 0 {
				c = append(c, top[t*dim:(t+1)*dim]...)
			} else {
				c = append(c, c[:dim]...)
			}
		}
		leafC = append(leafC, c...)
		members[t] = nil
	}
	// Each row goes to its most similar leaf under its IVFAssignBeam most
	// similar top clusters: a row near the border of two top clusters
	// lands where a query near it looks.
	x := &ivf{k1: k1, k2: k2, top: top, leaf: leafC, n: n}
	leafOf := x.assignLeaves(f.vecs, dim, n)
	// Reorder the rows leaf by leaf (a counting sort).
	L := k1 * k2
	off := make([]int, L+1)
	for _, l := range leafOf {
		off[l+1]++
	}
	for l := 0; l < L; l++ {
		off[l+1] += off[l]
	}
	pos := append([]int(nil), off[:L]...)
	capRows = max(capRows, n)
	ids := make([]int64, n, capRows)
	media := make([]string, n, capRows)
	vecs := make([]float32, n*dim, capRows*dim)
	for row, l := range leafOf {
		p := pos[l]
		pos[l]++
		ids[p], media[p] = f.ids[row], f.media[row]
		copy(vecs[p*dim:(p+1)*dim], f.vecs[row*dim:(row+1)*dim])
	}
	f.ids, f.media, f.vecs = ids, media, vecs
	x.off = off
	f.ivf = x
}

// sample returns up to k of rows, drawn without replacement.
func sample(r *rand.Rand, rows []int32, k int) []int32 {
	if len(rows) <= k {
		return rows
	}
	out := append([]int32(nil), rows...)
	for i := 0; i < k; i++ {
		j := i + r.IntN(len(out)-i)
		out[i], out[j] = out[j], out[i]
	}
	return out[:k]
}

// kmeans is spherical k-means (cosine) over the given rows of vecs,
// starting from k distinct sample rows. It returns the unit centroids, k
// of them or fewer when there are fewer rows.
func kmeans(vecs []float32, dim int, rows []int32, k int, r *rand.Rand) []float32 {
	if len(rows) == 0 {
		return nil
	}
	k = min(k, len(rows))
	init := sample(r, append([]int32(nil), rows...), k)
	c := make([]float32, k*dim)
	for i, row := range init {
		copy(c[i*dim:(i+1)*dim], vecs[int(row)*dim:(int(row)+1)*dim])
	}
	sum := make([]float64, k*dim)
	cnt := make([]int, k)
	for it := 0; it < ivfIters; it++ {
		of := assign(vecs, dim, rows, c)
		clear(sum)
		clear(cnt)
		for i, row := range rows {
			j := int(of[i])
			cnt[j]++
			v := vecs[int(row)*dim : (int(row)+1)*dim]
			s := sum[j*dim : (j+1)*dim]
			for d, x := range v {
				s[d] += float64(x)
			}
		}
		for j := 0; j < k; j++ {
			if cnt[j] == 0 {
				// An empty cluster restarts at a random row.
				row := int(rows[r.IntN(len(rows))])
				copy(c[j*dim:(j+1)*dim], vecs[row*dim:(row+1)*dim])
				continue
			}
			var norm float64
			for _, x := range sum[j*dim : (j+1)*dim] {
				norm += x * x
			}
			if norm == 0 {
				continue
			}
			inv := 1 / math.Sqrt(norm)
			for d := 0; d < dim; d++ {
				c[j*dim+d] = float32(sum[j*dim+d] * inv)
			}
		}
	}
	return c
}

// assign returns, for each of rows, the index of the most similar
// centroid, using every CPU.
func assign(vecs []float32, dim int, rows []int32, cents []float32) []int32 {
	out := make([]int32, len(rows))
	k := len(cents) / dim
	parts := runtime.GOMAXPROCS(0)
	if len(rows)*k < 1<<16 {
		parts = 1
	}
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			for i := from; i < to; i++ {
				row := int(rows[i])
				v := vecs[row*dim : (row+1)*dim]
				best, bs := 0, float32(-3)
				for j := 0; j < k; j++ {
					if s := dot(v, cents[j*dim:(j+1)*dim]); s > bs {
						best, bs = j, s
					}
				}
				out[i] = int32(best)
			}
		}(p*len(rows)/parts, (p+1)*len(rows)/parts)
	}
	wg.Wait()
	return out
}

// assignLeaves returns the leaf of each of the first n rows of vecs: the
// most similar leaf under the row's IVFAssignBeam most similar top
// clusters, using every CPU.
func (x *ivf) assignLeaves(vecs []float32, dim, n int) []int32 {
	out := make([]int32, n)
	beam := min(IVFAssignBeam, x.k1)
	parts := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		wg.Add(1)
		go func(from, to int) {
			defer wg.Done()
			bt := make([]int, beam)
			bs := make([]float32, beam)
			for row := from; row < to; row++ {
				v := vecs[row*dim : (row+1)*dim]
				for i := range bs {
					bt[i], bs[i] = -1, -3
				}
				for t := 0; t < x.k1; t++ {
					s := dot(v, x.top[t*dim:(t+1)*dim])
					if s <= bs[beam-1] {
						continue
					}
					i := beam - 1
					for i > 0 && bs[i-1] < s {
						bt[i], bs[i] = bt[i-1], bs[i-1]
						i--
					}
					bt[i], bs[i] = t, s
				}
				best, bsim := 0, float32(-3)
				for _, t := range bt {
					if t < 0 {
						continue
					}
					for j := 0; j < x.k2; j++ {
						l := t*x.k2 + j
						if s := dot(v, x.leaf[l*dim:(l+1)*dim]); s > bsim {
							best, bsim = l, s
						}
					}
				}
				out[row] = int32(best)
			}
		}(p*n/parts, (p+1)*n/parts)
	}
	wg.Wait()
	return out
}

// probe returns the row ranges a query scans: the leaves most similar to
// q, best first, until they hold the scan budget of rows. Every leaf
// centroid is compared (about √n of them: a fraction of a millisecond);
// the top level only speeds up the build.
func (x *ivf) probe(q []float32, dim int) [][2]int {
	type cs struct {
		i   int
		sim float32
	}
	leaves := make([]cs, 0, x.k1*x.k2)
	for l := 0; l < x.k1*x.k2; l++ {
		if x.off[l+1] == x.off[l] {
			continue
		}
		leaves = append(leaves, cs{l, dot(q, x.leaf[l*dim:(l+1)*dim])})
	}
	sort.Slice(leaves, func(i, j int) bool { return leaves[i].sim > leaves[j].sim })
	budget := x.scan
	if budget == 0 {
		budget = max(IVFMinScan, int(float64(x.n)*IVFScanFraction))
	}
	var out [][2]int
	for _, l := range leaves {
		if budget <= 0 {
			break
		}
		a, b := x.off[l.i], x.off[l.i+1]
		out = append(out, [2]int{a, b})
		budget -= b - a
	}
	return out
}

// memBytes is the quantiser's size.
func (x *ivf) memBytes() int {
	return 4*(len(x.top)+len(x.leaf)) + 8*len(x.off)
}
