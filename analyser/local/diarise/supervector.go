package diarise

import (
	"math"
	"sort"
)

// Supervector clustering (GMM-UBM, per file): a universal background
// model — a diagonal Gaussian mixture — is fitted by EM to every speech
// frame of the file; each piece's frames MAP-adapt the mixture's means
// (relevance factor R), and the piece becomes the supervector of its
// adapted means' offsets, each scaled by sqrt(weight)/σ (the KL-divergence
// normalisation). Two pieces by one voice move the same components the
// same way, so their supervectors point alike even when the voices'
// average spectra — all a single Gaussian, and so BIC, compares — are
// close. Pieces are clustered agglomeratively by cosine similarity of
// their centred supervectors (average linkage), and the number of speakers
// is where one more cluster stops paying for its parameters (see
// SupervectorConfig.MinGain).

// SupervectorConfig tunes supervector clustering.
type SupervectorConfig struct {
	Components  int     // mixture components (default 16)
	Iterations  int     // EM iterations (default 12)
	Relevance   float64 // MAP relevance factor (default 8)
	MinSpeakers int     // default 1
	MaxSpeakers int     // default 8
	// MinGain is the log-likelihood gain per adapted parameter and log
	// frame that one more speaker must bring (default 0.37: the middle of
	// what the tuning dialogues allow, where splitting one voice gained at
	// most 0.28 and a second voice, similar or not, at least 0.46).
	MinGain float64
}

func (c SupervectorConfig) withDefaults() SupervectorConfig {
	if c.Components <= 0 {
		c.Components = 16
	}
	if c.Iterations <= 0 {
		c.Iterations = 12
	}
	if c.Relevance <= 0 {
		c.Relevance = 8
	}
	if c.MinSpeakers <= 0 {
		c.MinSpeakers = 1
	}
	if c.MaxSpeakers <= 0 {
		c.MaxSpeakers = 8
	}
	if c.MinGain == 0 {
		c.MinGain = 0.37
	}
	return c
}

// maxGainFrames bounds the frames the speaker count is judged on (about
// 40 s of speech).
const maxGainFrames = 4000

// maxUBMFrames bounds the frames the background model is fitted on
// (about 17 minutes of speech).
const maxUBMFrames = 100000

// MaxSupervectorPieces bounds the pieces clustered by supervectors (the
// similarity matrix grows with the square): about two hours of speech in
// 5-second pieces. Longer audio is clustered with BIC blocks.
const MaxSupervectorPieces = 1500

// gmm is a diagonal-covariance Gaussian mixture.
type gmm struct {
	w    []float64   // weights
	mu   [][]float64 // means
	vr   [][]float64 // variances
	lnc  []float64   // log(w) - ½ Σ log(2π σ²)
	dim  int
	comp int
}

func (g *gmm) prepare() {
	g.lnc = make([]float64, g.comp)
	for k := 0; k < g.comp; k++ {
		s := math.Log(math.Max(g.w[k], 1e-12))
		for d := 0; d < g.dim; d++ {
			s -= 0.5 * math.Log(2*math.Pi*g.vr[k][d])
		}
		g.lnc[k] = s
	}
}

// posteriors writes each component's responsibility for x into post and
// returns the frame's log-likelihood.
func (g *gmm) posteriors(x []float64, post []float64) float64 {
	best := math.Inf(-1)
	for k := 0; k < g.comp; k++ {
		s := g.lnc[k]
		for d := 0; d < g.dim; d++ {
			diff := x[d] - g.mu[k][d]
			s -= 0.5 * diff * diff / g.vr[k][d]
		}
		post[k] = s
		best = math.Max(best, s)
	}
	var sum float64
	for k := range post[:g.comp] {
		post[k] = math.Exp(post[k] - best)
		sum += post[k]
	}
	for k := range post[:g.comp] {
		post[k] /= sum
	}
	return best + math.Log(sum)
}

// fitUBM fits a mixture to frames (rows of dim values): deterministic
// initialisation at evenly spaced frames after sorting by the first
// coefficient, then EM with a variance floor.
func fitUBM(frames [][]float64, comp, iters int) *gmm {
	dim := len(frames[0])
	comp = min(comp, max(1, len(frames)/20))
	g := &gmm{dim: dim, comp: comp, w: make([]float64, comp), mu: make([][]float64, comp), vr: make([][]float64, comp)}
	// Global variance, for the floor and the start.
	mean := make([]float64, dim)
	vr := make([]float64, dim)
	for _, x := range frames {
		for d, v := range x {
			mean[d] += v
		}
	}
	for d := range mean {
		mean[d] /= float64(len(frames))
	}
	for _, x := range frames {
		for d, v := range x {
			vr[d] += (v - mean[d]) * (v - mean[d])
		}
	}
	floor := make([]float64, dim)
	for d := range vr {
		vr[d] = math.Max(vr[d]/float64(len(frames)), 1e-6)
		floor[d] = vr[d] * 0.01
	}
	idx := make([]int, len(frames))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return frames[idx[a]][0] < frames[idx[b]][0] })
	for k := 0; k < comp; k++ {
		src := frames[idx[(2*k+1)*len(frames)/(2*comp)]]
		g.mu[k] = append([]float64(nil), src...)
		g.vr[k] = append([]float64(nil), vr...)
		g.w[k] = 1 / float64(comp)
	}
	post := make([]float64, comp)
	n := make([]float64, comp)
	s1 := make([][]float64, comp)
	s2 := make([][]float64, comp)
	for k := range s1 {
		s1[k] = make([]float64, dim)
		s2[k] = make([]float64, dim)
	}
	for it := 0; it < iters; it++ {
		g.prepare()
		for k := 0; k < comp; k++ {
			n[k] = 0
			clear(s1[k])
			clear(s2[k])
		}
		for _, x := range frames {
			g.posteriors(x, post)
			for k, p := range post {
				if p < 1e-6 {
					continue
				}
				n[k] += p
				for d, v := range x {
					s1[k][d] += p * v
					s2[k][d] += p * v * v
				}
			}
		}
		for k := 0; k < comp; k++ {
			if n[k] < 1 {
				// An empty component restarts at a frame far from the others.
				src := frames[idx[(it*7919+k*104729)%len(frames)]]
				g.mu[k] = append(g.mu[k][:0], src...)
				copy(g.vr[k], vr)
				g.w[k] = 1 / float64(len(frames))
				continue
			}
			g.w[k] = n[k] / float64(len(frames))
			for d := 0; d < dim; d++ {
				m := s1[k][d] / n[k]
				g.mu[k][d] = m
				g.vr[k][d] = math.Max(s2[k][d]/n[k]-m*m, floor[d])
			}
		}
	}
	g.prepare()
	return g
}

// supervector MAP-adapts g's means to frames and returns the normalised
// offsets.
func (g *gmm) supervector(frames [][]float64, relevance float64) []float64 {
	mu := g.adaptedMeans(frames, relevance)
	sv := make([]float64, 0, g.comp*g.dim)
	for k := 0; k < g.comp; k++ {
		for d := 0; d < g.dim; d++ {
			sv = append(sv, math.Sqrt(g.w[k])*(mu[k][d]-g.mu[k][d])/math.Sqrt(g.vr[k][d]))
		}
	}
	return sv
}

// adaptedMeans are g's means MAP-adapted to frames with the relevance
// factor: each component moves towards the mean of the frames it
// explains, by as much as it explains them.
func (g *gmm) adaptedMeans(frames [][]float64, relevance float64) [][]float64 {
	post := make([]float64, g.comp)
	n := make([]float64, g.comp)
	s1 := make([][]float64, g.comp)
	for k := range s1 {
		s1[k] = make([]float64, g.dim)
	}
	for _, x := range frames {
		g.posteriors(x, post)
		for k, p := range post {
			n[k] += p
			for d, v := range x {
				s1[k][d] += p * v
			}
		}
	}
	mu := make([][]float64, g.comp)
	for k := 0; k < g.comp; k++ {
		mu[k] = make([]float64, g.dim)
		a := n[k] / (n[k] + relevance)
		for d := 0; d < g.dim; d++ {
			m := g.mu[k][d]
			if n[k] > 0 {
				m = a*s1[k][d]/n[k] + (1-a)*g.mu[k][d]
			}
			mu[k][d] = m
		}
	}
	return mu
}

func cosineSim(a, b []float64) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += a[i] * b[i]
		na += a[i] * a[i]
		nb += b[i] * b[i]
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// clusterSupervectors labels pieces (each a list of frames) with speakers.
// Pieces shorter than minFrames do not shape the clusters; each joins the
// cluster whose mean supervector it is closest to.
func clusterSupervectors(pieces [][][]float64, minFrames int, cfg SupervectorConfig) []int {
	cfg = cfg.withDefaults()
	labels := make([]int, len(pieces))
	var all [][]float64
	for _, p := range pieces {
		all = append(all, p...)
	}
	if len(pieces) < 2 || len(all) < 200 {
		return labels
	}
	normalise(all)
	train := all
	if len(all) > maxUBMFrames {
		// Every k-th frame: the background model needs coverage, not all.
		step := (len(all) + maxUBMFrames - 1) / maxUBMFrames
		train = make([][]float64, 0, maxUBMFrames)
		for i := 0; i < len(all); i += step {
			train = append(train, all[i])
		}
	}
	ubm := fitUBM(train, cfg.Components, cfg.Iterations)
	svs := make([][]float64, len(pieces))
	var long []int
	for i, p := range pieces {
		svs[i] = ubm.supervector(p, cfg.Relevance)
		if len(p) >= minFrames {
			long = append(long, i)
		}
	}
	if len(long) < 2 {
		return labels
	}
	{
		// What every piece shares (the file's average offset from the
		// background model) says nothing about who speaks.
		mean := make([]float64, len(svs[0]))
		for _, sv := range svs {
			for d, v := range sv {
				mean[d] += v
			}
		}
		for _, sv := range svs {
			for d := range sv {
				sv[d] -= mean[d] / float64(len(svs))
			}
		}
	}
	n := len(long)
	sim := make([][]float64, n)
	for i := range sim {
		sim[i] = make([]float64, n)
		for j := range sim[i] {
			sim[i][j] = cosineSim(svs[long[i]], svs[long[j]])
		}
	}
	// Average-linkage agglomeration (Lance–Williams updates of the
	// cluster similarity matrix), recording the partition at every number
	// of clusters.
	size := make([]int, n)
	alive := make([]bool, n)
	owner := identity(n) // piece → cluster index (a surviving row)
	for i := range size {
		size[i], alive[i] = 1, true
	}
	partitions := map[int][]int{n: renumber(append([]int(nil), owner...))}
	for clusters := n; clusters > 1; clusters-- {
		bi, bj, best := -1, -1, math.Inf(-1)
		for i := 0; i < n; i++ {
			if !alive[i] {
				continue
			}
			for j := i + 1; j < n; j++ {
				if alive[j] && sim[i][j] > best {
					bi, bj, best = i, j, sim[i][j]
				}
			}
		}
		for k := 0; k < n; k++ {
			if alive[k] && k != bi && k != bj {
				v := (float64(size[bi])*sim[bi][k] + float64(size[bj])*sim[bj][k]) / float64(size[bi]+size[bj])
				sim[bi][k], sim[k][bi] = v, v
			}
		}
		size[bi] += size[bj]
		alive[bj] = false
		for p := range owner {
			if owner[p] == bj {
				owner[p] = bi
			}
		}
		partitions[clusters-1] = renumber(append([]int(nil), owner...))
	}
	// The number of speakers: cut the dendrogram at k+1 clusters rather
	// than k while the likelihood of the clusters' frames under their own
	// adapted mixtures gains more than MinGain per adapted parameter and
	// log frame (a BIC with the mixture's means as parameters).
	// The comparison uses at most maxGainFrames frames, evenly strided
	// (as BIC caps its counts): the gain of a split grows with the
	// frames while the penalty grows with their logarithm, so without a
	// cap long recordings split one voice into many.
	var total int
	for _, i := range long {
		total += len(pieces[i])
	}
	stride := max(1, (total+maxGainFrames-1)/maxGainFrames)
	nFrames := 0
	for _, i := range long {
		nFrames += (len(pieces[i]) + stride - 1) / stride
	}
	logLik := func(k int) float64 {
		part := partitions[k]
		var ll float64
		for c := 0; c < k; c++ {
			var fr [][]float64
			for j, i := range long {
				if part[j] == c {
					for f := 0; f < len(pieces[i]); f += stride {
						fr = append(fr, pieces[i][f])
					}
				}
			}
			ll += ubm.adaptedLogLik(fr, cfg.Relevance)
		}
		return ll
	}
	partitions[1] = make([]int, n)
	penalty := cfg.MinGain * float64(ubm.comp*ubm.dim) * math.Log(float64(max(nFrames, 2)))
	bestK := 1
	prev := logLik(1)
	for k := 2; k <= min(cfg.MaxSpeakers, n); k++ {
		ll := logLik(k)
		if ll-prev <= penalty && k > cfg.MinSpeakers {
			break
		}
		bestK, prev = k, ll
	}
	if bestK < cfg.MinSpeakers {
		bestK = min(cfg.MinSpeakers, n)
	}
	chosen := partitions[bestK]
	if chosen == nil {
		chosen = make([]int, n)
	}
	// Centroids, for the short pieces.
	cent := make([][]float64, bestK)
	for j, i := range long {
		c := chosen[j]
		if cent[c] == nil {
			cent[c] = make([]float64, len(svs[i]))
		}
		for d, v := range svs[i] {
			cent[c][d] += v
		}
		labels[i] = c
	}
	isLong := map[int]bool{}
	for _, i := range long {
		isLong[i] = true
	}
	for i := range pieces {
		if isLong[i] {
			continue
		}
		best, bs := 0, math.Inf(-1)
		for c, v := range cent {
			if v == nil {
				continue
			}
			if s := cosineSim(svs[i], v); s > bs {
				best, bs = c, s
			}
		}
		labels[i] = best
	}
	return renumber(labels)
}

// normalise gives every coefficient zero mean and unit variance over the
// file (cepstral mean and variance normalisation), so channel and
// loudness differences do not dominate.
func normalise(frames [][]float64) {
	dim := len(frames[0])
	mean := make([]float64, dim)
	sq := make([]float64, dim)
	for _, x := range frames {
		for d, v := range x {
			mean[d] += v
			sq[d] += v * v
		}
	}
	n := float64(len(frames))
	for d := range mean {
		mean[d] /= n
		sq[d] = math.Sqrt(math.Max(sq[d]/n-mean[d]*mean[d], 1e-9))
	}
	for _, x := range frames {
		for d := range x {
			x[d] = (x[d] - mean[d]) / sq[d]
		}
	}
}

// adaptedLogLik is the log-likelihood of frames under g with its means
// MAP-adapted to them.
func (g *gmm) adaptedLogLik(frames [][]float64, relevance float64) float64 {
	if len(frames) == 0 {
		return 0
	}
	a := &gmm{w: g.w, vr: g.vr, dim: g.dim, comp: g.comp, mu: g.adaptedMeans(frames, relevance)}
	a.prepare()
	post := make([]float64, g.comp)
	var ll float64
	for _, x := range frames {
		ll += a.posteriors(x, post)
	}
	return ll
}
