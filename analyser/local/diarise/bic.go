package diarise

import (
	"math"
)

// stats are a segment's or cluster's sufficient statistics for a
// full-covariance Gaussian: frame count, sum and sum of outer products.
type stats struct {
	n   float64
	sum []float64
	sq  []float64 // d×d, row major
}

func newStats(d int) *stats { return &stats{sum: make([]float64, d), sq: make([]float64, d*d)} }

func (s *stats) add(x []float32) {
	d := len(s.sum)
	s.n++
	for i := 0; i < d; i++ {
		xi := float64(x[i])
		s.sum[i] += xi
		row := s.sq[i*d:]
		for j := 0; j <= i; j++ {
			row[j] += xi * float64(x[j])
		}
	}
}

func (s *stats) merged(o *stats) *stats {
	m := &stats{n: s.n + o.n, sum: make([]float64, len(s.sum)), sq: make([]float64, len(s.sq))}
	for i := range m.sum {
		m.sum[i] = s.sum[i] + o.sum[i]
	}
	for i := range m.sq {
		m.sq[i] = s.sq[i] + o.sq[i]
	}
	return m
}

// logDet is log |Σ| of the maximum-likelihood covariance, with a small
// ridge so short segments (fewer frames than parameters) stay defined.
func (s *stats) logDet(ridge float64) float64 {
	d := len(s.sum)
	c := make([]float64, d*d)
	for i := 0; i < d; i++ {
		mi := s.sum[i] / s.n
		for j := 0; j <= i; j++ {
			v := s.sq[i*d+j]/s.n - mi*s.sum[j]/s.n
			c[i*d+j] = v
		}
		c[i*d+i] += ridge
	}
	// Cholesky on the lower triangle.
	var ld float64
	for j := 0; j < d; j++ {
		sum := c[j*d+j]
		for k := 0; k < j; k++ {
			sum -= c[j*d+k] * c[j*d+k]
		}
		if sum <= 1e-300 {
			sum = 1e-300
		}
		l := math.Sqrt(sum)
		c[j*d+j] = l
		ld += 2 * math.Log(l)
		for i := j + 1; i < d; i++ {
			v := c[i*d+j]
			for k := 0; k < j; k++ {
				v -= c[i*d+k] * c[j*d+k]
			}
			c[i*d+j] = v / l
		}
	}
	return ld
}

// Cluster is agglomerative clustering by the Bayesian information
// criterion over full-covariance Gaussians.
type Cluster struct {
	Lambda      float64 // penalty weight, 1.0 classically
	Ridge       float64 // covariance ridge
	MinSpeakers int     // stop merging at this many clusters (≥ 1)
	MaxSpeakers int     // keep merging past ΔBIC ≥ 0 while above this (0: no limit)
	// Cap bounds the frames a ΔBIC comparison counts (0: no bound). The
	// likelihood term of BIC grows with the frame count and its penalty
	// only with the log, so clusters of one voice saying different things
	// stop merging once they hold minutes of speech; past Cap frames the
	// counts are scaled down, which makes the test a per-frame divergence
	// threshold of λ·P(Cap)/Cap.
	Cap float64

	trace func(k int, delta float64) // tests: called before each merge
}

// deltaBIC is the BIC gain of modelling a and b with one Gaussian rather
// than two: negative means merging is better.
func (c Cluster) deltaBIC(a, b *stats, ldA, ldB float64) (float64, float64) {
	m := a.merged(b)
	ldM := m.logDet(c.Ridge)
	d := float64(len(a.sum))
	n, scale := m.n, 1.0
	if c.Cap > 0 && n > c.Cap {
		n, scale = c.Cap, c.Cap/m.n
	}
	p := 0.5 * (d + d*(d+1)/2) * math.Log(n)
	return scale*0.5*(m.n*ldM-a.n*ldA-b.n*ldB) - c.Lambda*p, ldM
}

// Run clusters the segments' statistics and returns each segment's
// cluster index (0..k-1, in order of first appearance).
//
// The closest pair (lowest ΔBIC) is merged until one cluster is left (or
// MinSpeakers), recording each merge's ΔBIC. Greedy merging is not
// monotonic: a merge may cost more than later ones. So the cut is made
// below the final run of costly merges: the number of clusters is the
// largest k such that every merge from k clusters down was positive —
// merging different voices only gets costlier — bounded by MinSpeakers
// and MaxSpeakers.
func (c Cluster) Run(segs []*stats) []int {
	n := len(segs)
	if n == 0 {
		return nil
	}
	minK := max(1, c.MinSpeakers)
	cl := make([]*stats, n)
	ld := make([]float64, n)
	alive := make([]bool, n)
	for i, s := range segs {
		cl[i] = s
		ld[i] = s.logDet(c.Ridge)
		alive[i] = true
	}
	// Pairwise ΔBIC, kept in a matrix and updated after each merge.
	dist := make([][]float64, n)
	for i := range dist {
		dist[i] = make([]float64, n)
		for j := 0; j < i; j++ {
			dist[i][j], _ = c.deltaBIC(cl[i], cl[j], ld[i], ld[j])
		}
	}
	type merge struct {
		from, into int
		delta      float64
	}
	var history []merge
	for k := n; k > minK; k-- {
		bi, bj := -1, -1
		best := math.Inf(1)
		for i := 0; i < n; i++ {
			if !alive[i] {
				continue
			}
			for j := 0; j < i; j++ {
				if alive[j] && dist[i][j] < best {
					best, bi, bj = dist[i][j], i, j
				}
			}
		}
		if bi < 0 {
			break
		}
		if c.trace != nil {
			c.trace(k, best)
		}
		history = append(history, merge{bi, bj, best})
		cl[bj] = cl[bj].merged(cl[bi])
		ld[bj] = cl[bj].logDet(c.Ridge)
		alive[bi] = false
		for o := 0; o < n; o++ {
			if !alive[o] || o == bj {
				continue
			}
			v, _ := c.deltaBIC(cl[bj], cl[o], ld[bj], ld[o])
			if o < bj {
				dist[bj][o] = v
			} else {
				dist[o][bj] = v
			}
		}
	}
	// history[i] took n-i clusters to n-i-1. Keep merges until the final
	// run of positive ones.
	keep := len(history)
	for keep > 0 && history[keep-1].delta >= 0 {
		keep--
	}
	if c.MaxSpeakers > 0 {
		keep = max(keep, min(len(history), n-c.MaxSpeakers))
	}
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for _, m := range history[:keep] {
		parent[find(m.from)] = find(m.into)
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = find(i)
	}
	return renumber(labels)
}

// BlockSize bounds the segments one agglomerative pass holds: its time
// grows with the cube of the count and its memory with the square.
var BlockSize = 300

// RunLarge clusters any number of segments. Up to BlockSize it is Run.
// Beyond, neighbouring segments are first merged left to right while
// ΔBIC says they are one speaker (speaker-change detection), then each
// block of BlockSize segments is clustered on its own and the clusters
// of all blocks are clustered together, recursively.
func (c Cluster) RunLarge(segs []*stats) []int {
	if len(segs) <= BlockSize {
		return c.Run(segs)
	}
	// Speaker-change detection: grow a run while the next segment fits it.
	group := make([]int, len(segs))
	var runs []*stats
	cur := segs[0]
	curLD := cur.logDet(c.Ridge)
	for i := 1; i < len(segs); i++ {
		ld := segs[i].logDet(c.Ridge)
		if d, mld := c.deltaBIC(cur, segs[i], curLD, ld); d < 0 {
			cur, curLD = cur.merged(segs[i]), mld
		} else {
			runs = append(runs, cur)
			cur, curLD = segs[i], ld
		}
		group[i] = len(runs)
	}
	runs = append(runs, cur)
	if len(runs) < max(1, c.MinSpeakers) {
		runs, group = segs, identity(len(segs))
	}
	// Blocks clustered alone, by BIC only.
	free := c
	free.MinSpeakers, free.MaxSpeakers = 1, 0
	var pooled []*stats
	runCluster := make([]int, len(runs))
	for b := 0; b < len(runs); b += BlockSize {
		block := runs[b:min(len(runs), b+BlockSize)]
		labels := free.Run(block)
		base := len(pooled)
		k := 0
		for _, l := range labels {
			k = max(k, l+1)
		}
		for i := 0; i < k; i++ {
			pooled = append(pooled, nil)
		}
		for i, l := range labels {
			if pooled[base+l] == nil {
				pooled[base+l] = block[i]
			} else {
				pooled[base+l] = pooled[base+l].merged(block[i])
			}
			runCluster[b+i] = base + l
		}
	}
	var final []int
	if len(pooled) < len(runs) {
		final = c.RunLarge(pooled)
	} else {
		final = c.Run(pooled) // no block merged anything: finish in one pass
	}
	out := make([]int, len(segs))
	for i := range segs {
		out[i] = final[runCluster[group[i]]]
	}
	return renumber(out)
}

func identity(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// renumber relabels clusters 0, 1, … in order of first appearance.
func renumber(labels []int) []int {
	m := map[int]int{}
	out := make([]int, len(labels))
	for i, l := range labels {
		if _, ok := m[l]; !ok {
			m[l] = len(m)
		}
		out[i] = m[l]
	}
	return out
}

// gaussian is a full-covariance Gaussian fitted to stats.
type gaussian struct {
	mean   []float64
	inv    []float64 // inverse covariance, d×d
	logDet float64
}

// cov returns the ML covariance (full, symmetric) plus the ridge.
func (s *stats) cov(ridge float64) []float64 {
	d := len(s.sum)
	c := make([]float64, d*d)
	for i := 0; i < d; i++ {
		for j := 0; j <= i; j++ {
			v := s.sq[i*d+j]/s.n - s.sum[i]/s.n*s.sum[j]/s.n
			c[i*d+j], c[j*d+i] = v, v
		}
		c[i*d+i] += ridge
	}
	return c
}

func (s *stats) gaussian(ridge float64) gaussian {
	d := len(s.sum)
	g := gaussian{mean: make([]float64, d), logDet: s.logDet(ridge)}
	for i := range g.mean {
		g.mean[i] = s.sum[i] / s.n
	}
	// Gauss-Jordan inversion with partial pivoting.
	a := s.cov(ridge)
	inv := make([]float64, d*d)
	for i := 0; i < d; i++ {
		inv[i*d+i] = 1
	}
	for col := 0; col < d; col++ {
		p := col
		for r := col + 1; r < d; r++ {
			if math.Abs(a[r*d+col]) > math.Abs(a[p*d+col]) {
				p = r
			}
		}
		for k := 0; k < d; k++ {
			a[col*d+k], a[p*d+k] = a[p*d+k], a[col*d+k]
			inv[col*d+k], inv[p*d+k] = inv[p*d+k], inv[col*d+k]
		}
		piv := a[col*d+col]
		if math.Abs(piv) < 1e-300 {
			piv = 1e-300
		}
		for k := 0; k < d; k++ {
			a[col*d+k] /= piv
			inv[col*d+k] /= piv
		}
		for r := 0; r < d; r++ {
			if r == col {
				continue
			}
			f := a[r*d+col]
			if f == 0 {
				continue
			}
			for k := 0; k < d; k++ {
				a[r*d+k] -= f * a[col*d+k]
				inv[r*d+k] -= f * inv[col*d+k]
			}
		}
	}
	g.inv = inv
	return g
}

// logLik is the log-likelihood of the frames summarised by p under g,
// without the constant -n·d/2·log 2π: from p's sums alone,
// Σ(x-μ)ᵀA(x-μ) = tr(A·Σxxᵀ) - 2μᵀA·Σx + n·μᵀAμ.
func (g gaussian) logLik(p *stats) float64 {
	d := len(g.mean)
	var tr, cross, quad float64
	for i := 0; i < d; i++ {
		var am float64 // (Aμ)_i
		for j := 0; j < d; j++ {
			sij := p.sq[max(i, j)*d+min(i, j)]
			tr += g.inv[i*d+j] * sij
			am += g.inv[i*d+j] * g.mean[j]
		}
		cross += am * p.sum[i]
		quad += am * g.mean[i]
	}
	return -0.5 * (tr - 2*cross + p.n*quad + p.n*g.logDet)
}
