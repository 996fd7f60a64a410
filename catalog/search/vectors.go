package search

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// Embedder turns texts into vectors (an OpenAI-compatible /v1/embeddings
// server, Amazon Bedrock). Model names the model, so vectors of another
// model are never compared.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Model() string
}

// QueryEmbedder is an Embedder whose model embeds a search query
// differently from the documents searched (Cohere's input_type); a
// search embeds its query with EmbedQuery when the Embedder has it.
type QueryEmbedder interface {
	EmbedQuery(ctx context.Context, text string) ([]float32, error)
}

// TokenCounter is an Embedder that also reports the tokens a request
// spent, for the usage ledger.
type TokenCounter interface {
	EmbedCounted(ctx context.Context, texts []string) ([][]float32, int, error)
}

// RRFK is the rank constant of reciprocal rank fusion: a hit at rank r (1
// is best) in a list of weight w adds w/(RRFK+r). 60 is the value of
// Cormack, Clarke and Büttcher's paper; it keeps one list's top hit from
// swamping agreement between lists.
const RRFK = 60

// VectorK is how many nearest entries the vector ranking contributes.
const VectorK = 50

// MinVectorSimilarity drops vector neighbours less similar than this
// (cosine): with no lexical match at all, unrelated entries would
// otherwise fill the results.
const MinVectorSimilarity = 0.3

// Fuse merges the lexical hits (best first) with the vector hits (best
// first) by weighted reciprocal rank: the lexical list has weight 1, the
// vector list vectorWeight. A moment in both lists (same entry) is listed
// once, keeping the lexical hit's matched words and times. Scores become
// the fused scores.
func Fuse(lexical, vector []*Hit, vectorWeight float64) []*Hit {
	type acc struct {
		h     *Hit
		score float64
	}
	byEntry := map[int64]*acc{}
	var order []*acc
	add := func(list []*Hit, w float64) {
		for r, h := range list {
			a := byEntry[h.entryID]
			if a == nil {
				a = &acc{h: h}
				byEntry[h.entryID] = a
				order = append(order, a)
			}
			a.score += w / float64(RRFK+r+1)
		}
	}
	add(lexical, 1)
	add(vector, vectorWeight)
	sort.SliceStable(order, func(i, j int) bool { return order[i].score > order[j].score })
	out := make([]*Hit, len(order))
	for i, a := range order {
		a.h.Score = a.score
		out[i] = a.h
	}
	return out
}

// Fields that are embedded: text with meaning (not labels or file names,
// which the lexical index matches).
var EmbedFields = []string{catalog.FieldTranscript, catalog.FieldOCR, catalog.FieldChapter, catalog.FieldSummary, catalog.FieldTopic}

// EmbedBatch is how many entries go to the embedder in one request.
const EmbedBatch = 64

// EmbedMedia computes and stores the vectors of one media item's entries
// with emb, replacing earlier ones. It returns how many entries it
// embedded.
func EmbedMedia(ctx context.Context, vi catalog.VectorIndex, emb Embedder, tenant, mediaID string) (int, error) {
	n, _, err := EmbedMediaCounted(ctx, vi, emb, tenant, mediaID)
	return n, err
}

// EmbedMediaCounted is EmbedMedia that also returns the tokens spent
// (when emb is a TokenCounter).
func EmbedMediaCounted(ctx context.Context, vi catalog.VectorIndex, emb Embedder, tenant, mediaID string) (int, int, error) {
	entries, err := vi.SearchEntries(ctx, &catalog.SearchEntriesParams{TenantID: tenant, MediaID: mediaID, Fields: EmbedFields})
	if err != nil {
		return 0, 0, err
	}
	tokens := 0
	var vecs []catalog.EntryVector
	for i := 0; i < len(entries); i += EmbedBatch {
		batch := entries[i:min(i+EmbedBatch, len(entries))]
		texts := make([]string, len(batch))
		for k, e := range batch {
			texts[k] = e.Body
		}
		var out [][]float32
		if tc, ok := emb.(TokenCounter); ok {
			var n int
			out, n, err = tc.EmbedCounted(ctx, texts)
			tokens += n
		} else {
			out, err = emb.Embed(ctx, texts)
		}
		if err != nil {
			return 0, tokens, err
		}
		if len(out) != len(batch) {
			return 0, tokens, errcode.New(errcode.Unknown, "embeddings: %d vectors for %d texts", len(out), len(batch))
		}
		for k, v := range out {
			if !normalise(v) {
				continue // a zero vector says nothing
			}
			vecs = append(vecs, catalog.EntryVector{EntryID: batch[k].ID, MediaID: mediaID, Vec: v})
		}
	}
	return len(vecs), tokens, vi.SearchVectorsPut(ctx, &catalog.SearchVectorsPutParams{TenantID: tenant, MediaID: mediaID, Model: emb.Model(), Vectors: vecs})
}

// normalise scales v to unit length in place; false for a zero vector.
func normalise(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 || math.IsNaN(s) || math.IsInf(s, 0) {
		return false
	}
	n := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= n
	}
	return true
}

// flat is one tenant's vectors of one model in one contiguous float32
// slice (row i at [i*dim, (i+1)*dim)): a scan reads memory in order, which
// the CPU prefetches. Above ExactMaxRows rows it carries an approximate
// index (ivf) and its rows are stored leaf by leaf. A flat is not changed
// once a search can see it: rows added later go into a new flat that
// shares its arrays (appending within their spare capacity).
type flat struct {
	// stamp is the catalog's stamp read before the copy was made or last
	// extended: the copy holds every vector stored up to stamp.Added.
	stamp catalog.SearchVectorsStamp
	// recent are entries read with a Seq above stamp.Added (written while
	// the copy was being read), so the next extension skips them.
	recent map[int64]bool
	dim    int
	ids    []int64
	media  []string
	vecs   []float32
	// ivf, when set, is the approximate index over the first ivf.n rows
	// (stored leaf by leaf); rows after them were added since and are
	// scanned exactly.
	ivf   *ivf
	built time.Duration // how long the copy took to read and index
	// snapshot says the index was read from its stored snapshot rather
	// than built from the vectors.
	snapshot bool
}

// MemBytes is the memory the copy holds: vectors, ids and the index.
func (f *flat) MemBytes() int {
	n := 4*cap(f.vecs) + 8*cap(f.ids) + 16*cap(f.media)
	if f.ivf != nil {
		n += f.ivf.memBytes()
	}
	return n
}

// vectorCache holds the vector copy per tenant and model. A tenant's copy
// holds only that tenant's vectors (it is read with the tenant's id), so
// no search can reach another tenant's rows.
type vectorCache struct {
	mu   sync.Mutex
	m    map[[2]string]*cacheEntry
	wait time.Duration // VectorWait when zero
}

type cacheEntry struct {
	mu       sync.Mutex // held while the copy is checked or extended
	f        *flat
	checked  time.Time
	loading  bool          // a rebuild runs in the background
	first    chan struct{} // closed when the first read ends
	firstErr error         // how the last first read failed
}

// VectorRecheck is how often a tenant's cached vectors are compared with
// the catalog: new vectors count in searches within this time (removed
// ones within the time a rebuild takes; until then their entries are
// dropped when read, as they no longer exist).
const VectorRecheck = time.Second

// vectorPage is how many vectors one read of the catalog returns.
const vectorPage = 20000

func (c *vectorCache) get(ctx context.Context, vi catalog.VectorIndex, tenant, model string) (*flat, error) {
	key := [2]string{tenant, model}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[[2]string]*cacheEntry{}
	}
	e := c.m[key]
	if e == nil {
		e = &cacheEntry{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	f := e.f
	if f != nil && time.Since(e.checked) < VectorRecheck {
		return f, nil
	}
	stamp, err := vi.SearchVectorsStamp(ctx, tenant, model)
	if err != nil {
		return nil, err
	}
	if f != nil && stamp == f.stamp {
		e.checked = time.Now()
		return f, nil
	}
	if f != nil && stamp.Removed == f.stamp.Removed && !e.loading {
		nf, err := f.extend(ctx, vi, tenant, model, stamp)
		if err != nil {
			return nil, err
		}
		if nf != nil {
			e.f, e.checked = nf, time.Now()
			return nf, nil
		}
	}
	if f != nil {
		// Vectors were removed, or more were added than the copy has room
		// for: rebuild it while searches use the current one.
		if !e.loading {
			e.loading = true
			go func() {
				nf, err := loadFlat(context.WithoutCancel(ctx), vi, tenant, model, false)
				e.mu.Lock()
				defer e.mu.Unlock()
				e.loading = false
				if err == nil {
					e.f, e.checked = nf, time.Now()
				}
			}()
		}
		e.checked = time.Now()
		return f, nil
	}
	// The first read: in the background, so that a large tenant's first
	// searches (reading a million vectors takes a minute) are answered
	// by their words alone meanwhile (nil: the result says no vector
	// ranking was fused in).
	if e.first == nil {
		done := make(chan struct{})
		e.first, e.loading = done, true
		go func() {
			nf, err := loadFlat(context.WithoutCancel(ctx), vi, tenant, model, true)
			e.mu.Lock()
			defer e.mu.Unlock()
			e.loading, e.first, e.firstErr = false, nil, err
			if err == nil {
				e.f, e.checked = nf, time.Now()
			}
			close(done)
		}()
	}
	done := e.first
	e.mu.Unlock()
	defer e.mu.Lock()
	wait := c.wait
	if wait == 0 {
		wait = VectorWait
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.f == nil {
		return nil, e.firstErr
	}
	return e.f, nil
}

// VectorWait is how long a search waits for a tenant's vectors to be
// read for the first time before it answers without them.
const VectorWait = 3 * time.Second

// headroom is the spare capacity a copy of n rows keeps for rows added
// before the next rebuild (which also bounds the rows scanned exactly
// beside the approximate index).
func headroom(n int) int { return n/16 + 4096 }

// loadFlat reads a tenant's vectors of one model and indexes them. With
// useSnapshot, a stored index (see snapshot.go) is read instead when
// there is one, and extended with the vectors written since; a stored
// index older than a removal is used too, and the caller's next check
// rebuilds it in the background. An index built here is stored for the
// next start.
func loadFlat(ctx context.Context, vi catalog.VectorIndex, tenant, model string, useSnapshot bool) (*flat, error) {
	start := time.Now()
	stamp, err := vi.SearchVectorsStamp(ctx, tenant, model)
	if err != nil {
		return nil, err
	}
	snaps, _ := vi.(catalog.VectorIndexStore)
	if useSnapshot && snaps != nil {
		f, err := loadSnapshot(ctx, snaps, tenant, model)
		if err != nil && !errors.Is(err, errSnapshot) {
			return nil, err
		}
		if f != nil && f.stamp.Added <= stamp.Added {
			// Extended to the current writes; the stamp keeps the
			// snapshot's removals, so a removal since is seen.
			nf, err := f.extend(ctx, vi, tenant, model, catalog.SearchVectorsStamp{Added: stamp.Added, Removed: f.stamp.Removed})
			if err != nil {
				return nil, err
			}
			if nf != nil {
				nf.built = time.Since(start)
				return nf, nil
			}
		}
	}
	f := &flat{stamp: stamp}
	if err := f.read(ctx, vi, &catalog.SearchVectorsListParams{TenantID: tenant, Model: model}); err != nil {
		return nil, err
	}
	n := len(f.ids)
	if n > ExactMaxRows {
		buildIVF(f, uint64(n), n+headroom(n))
		if snaps != nil {
			// Stored in the background: searches use the copy meanwhile,
			// and a failure only costs the next start a rebuild.
			go func() {
				if err := saveSnapshot(context.WithoutCancel(ctx), snaps, tenant, model, f); err != nil {
					slog.Warn("search: storing the vector index", "tenant", tenant, "model", model, "err", err)
				}
			}()
		}
	} else if cap(f.ids) < n+headroom(n) {
		f.ids = append(make([]int64, 0, n+headroom(n)), f.ids...)
		f.media = append(make([]string, 0, n+headroom(n)), f.media...)
		f.vecs = append(make([]float32, 0, (n+headroom(n))*f.dim), f.vecs...)
	}
	f.built = time.Since(start)
	return f, nil
}

// read appends the vectors p lists (all pages) to f, skipping those of
// f.recent and noting in it those written after f.stamp.
func (f *flat) read(ctx context.Context, vi catalog.VectorIndex, p *catalog.SearchVectorsListParams) error {
	skip := f.recent
	f.recent = nil
	p.Limit = vectorPage
	for {
		page, err := vi.SearchVectorsList(ctx, p)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		for _, v := range page {
			if f.dim == 0 {
				f.dim = len(v.Vec)
			}
			if len(v.Vec) != f.dim || skip[v.EntryID] {
				continue
			}
			if v.Seq > f.stamp.Added {
				if f.recent == nil {
					f.recent = map[int64]bool{}
				}
				f.recent[v.EntryID] = true
			}
			f.ids = append(f.ids, v.EntryID)
			f.media = append(f.media, v.MediaID)
			f.vecs = append(f.vecs, v.Vec...)
		}
		p.AfterID = page[len(page)-1].EntryID
	}
}

// extend returns a copy of f with the vectors written after f.stamp, or
// nil when they do not fit in f's spare capacity (the caller rebuilds).
func (f *flat) extend(ctx context.Context, vi catalog.VectorIndex, tenant, model string, stamp catalog.SearchVectorsStamp) (*flat, error) {
	nf := *f
	nf.stamp = stamp
	if err := nf.read(ctx, vi, &catalog.SearchVectorsListParams{TenantID: tenant, Model: model, AfterSeq: f.stamp.Added}); err != nil {
		return nil, err
	}
	if cap(nf.ids) != cap(f.ids) || (f.ivf == nil && len(nf.ids) > ExactMaxRows) {
		// The copy outgrew its room (searches holding f are unaffected:
		// the arrays were copied), or needs an approximate index now.
		return nil, nil
	}
	return &nf, nil
}

type neighbour struct {
	row int
	sim float32
}

// parallelRows is the number of rows to scan from which Nearest splits
// the scan across the CPUs.
const parallelRows = 20000

// Nearest returns the k rows of f most similar (dot product of unit
// vectors: cosine) to q, best first, skipping rows keep rejects. Without
// an approximate index every row is scanned; with one, the rows of the
// leaves nearest q and the rows added since it was built. Large scans are
// split in one part per CPU, whose best rows are merged.
func (f *flat) Nearest(q []float32, k int, keep func(row int) bool) []neighbour {
	if f.dim == 0 || len(q) != f.dim {
		return nil
	}
	n := len(f.ids)
	var ranges [][2]int
	if f.ivf != nil {
		ranges = f.ivf.probe(q, f.dim)
		if f.ivf.n < n {
			ranges = append(ranges, [2]int{f.ivf.n, n})
		}
	} else {
		ranges = [][2]int{{0, n}}
	}
	total := 0
	for _, r := range ranges {
		total += r[1] - r[0]
	}
	parts := runtime.GOMAXPROCS(0)
	if total < parallelRows || parts < 2 {
		var best []neighbour
		for _, r := range ranges {
			best = mergeBest(best, f.nearestIn(q, k, keep, r[0], r[1]), k)
		}
		return best
	}
	// Cut the ranges into parts of about total/parts rows each.
	per := (total + parts - 1) / parts
	var split [][][2]int
	var cur [][2]int
	left := per
	for _, r := range ranges {
		for a := r[0]; a < r[1]; {
			b := min(r[1], a+left)
			cur = append(cur, [2]int{a, b})
			left -= b - a
			a = b
			if left == 0 {
				split, cur, left = append(split, cur), nil, per
			}
		}
	}
	if len(cur) > 0 {
		split = append(split, cur)
	}
	res := make([][]neighbour, len(split))
	var wg sync.WaitGroup
	for p, rs := range split {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var best []neighbour
			for _, r := range rs {
				best = mergeBest(best, f.nearestIn(q, k, keep, r[0], r[1]), k)
			}
			res[p] = best
		}()
	}
	wg.Wait()
	var all []neighbour
	for _, r := range res {
		all = mergeBest(all, r, k)
	}
	return all
}

// mergeBest merges two best-first lists, keeping the k best (ties by row).
func mergeBest(a, b []neighbour, k int) []neighbour {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	all := append(append(make([]neighbour, 0, len(a)+len(b)), a...), b...)
	sort.Slice(all, func(i, j int) bool {
		if all[i].sim != all[j].sim {
			return all[i].sim > all[j].sim
		}
		return all[i].row < all[j].row
	})
	if len(all) > k {
		all = all[:k]
	}
	return all
}

func (f *flat) nearestIn(q []float32, k int, keep func(row int) bool, from, to int) []neighbour {
	best := make([]neighbour, 0, k+1)
	minSim := float32(-2)
	for r := from; r < to; r++ {
		row := f.vecs[r*f.dim : (r+1)*f.dim]
		s := dot(q, row)
		if len(best) == k && s <= minSim {
			continue
		}
		if keep != nil && !keep(r) {
			continue
		}
		// Insert in order (k is small).
		i := len(best)
		best = append(best, neighbour{})
		for i > 0 && best[i-1].sim < s {
			best[i] = best[i-1]
			i--
		}
		best[i] = neighbour{r, s}
		if len(best) > k {
			best = best[:k]
		}
		if len(best) == k {
			minSim = best[k-1].sim
		}
	}
	return best
}

// dot is the inner product, unrolled by four.
func dot(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}

// vectorHits ranks the tenant's embedded entries by similarity to the
// query's text. It returns nil when the tenant has no vectors of the
// embedder's model.
func (e *Engine) vectorHits(ctx context.Context, tenant, text string, f Filters, keep map[string]bool) ([]*Hit, error) {
	vi, ok := e.idx.(catalog.VectorIndex)
	if !ok {
		return nil, errcode.New(errcode.NotImplemented, "search: this catalog stores no vectors")
	}
	fl, err := e.vectors.get(ctx, vi, tenant, e.opt.Embedder.Model())
	if err != nil {
		return nil, err
	}
	if fl == nil || len(fl.ids) == 0 {
		return nil, nil
	}
	// The query's words without its syntax.
	words := catalog.SplitWords(text)
	if len(words) == 0 {
		return nil, nil
	}
	var qv [][]float32
	if qe, ok := e.opt.Embedder.(QueryEmbedder); ok {
		v, err := qe.EmbedQuery(ctx, strings.Join(words, " "))
		if err != nil {
			return nil, err
		}
		qv = [][]float32{v}
	} else if qv, err = e.opt.Embedder.Embed(ctx, []string{strings.Join(words, " ")}); err != nil {
		return nil, err
	}
	if len(qv) != 1 || !normalise(qv[0]) {
		return nil, nil
	}
	nb := fl.Nearest(qv[0], VectorK, func(r int) bool {
		m := fl.media[r]
		return (f.MediaID == "" || m == f.MediaID) && (keep == nil || keep[m])
	})
	var ids []int64
	sim := map[int64]float32{}
	for _, n := range nb {
		if n.sim < MinVectorSimilarity {
			break
		}
		ids = append(ids, fl.ids[n.row])
		sim[fl.ids[n.row]] = n.sim
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cands, err := vi.SearchEntries(ctx, &catalog.SearchEntriesParams{TenantID: tenant, IDs: ids})
	if err != nil {
		return nil, err
	}
	var out []*Hit
	for _, c := range cands {
		if !passes(c, f) {
			continue
		}
		h := &Hit{MediaID: c.MediaID, Filename: c.Filename, Kind: c.Kind, Field: c.Field, Source: c.Field, Value: c.Value, Speaker: c.Speaker,
			Start: c.Start, End: c.End, EntryStart: c.Start, EntryEnd: c.End, Match: MatchVector, Score: float64(sim[c.ID]),
			entryID: c.ID, created: c.CreatedAt}
		h.Snippet = leading(c.Body, 24)
		out = append(out, h)
	}
	sortHits(out)
	return out, nil
}

// passes applies the filters the vector ranking cannot apply in the scan.
func passes(c *catalog.SearchCandidate, f Filters) bool {
	if len(f.Fields) > 0 {
		ok := false
		for _, x := range f.Fields {
			ok = ok || x == c.Field
		}
		if !ok {
			return false
		}
	}
	switch {
	case f.Speaker != "" && c.Speaker != f.Speaker,
		f.Kind != "" && c.Kind != f.Kind,
		!f.Since.IsZero() && c.CreatedAt.Before(f.Since),
		!f.Until.IsZero() && !c.CreatedAt.Before(f.Until),
		f.File != "" && !strings.Contains(strings.ToLower(c.Filename), f.File):
		return false
	}
	return true
}

func leading(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return strings.Join(f, " ")
	}
	return strings.Join(f[:n], " ") + " …"
}
