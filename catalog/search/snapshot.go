package search

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/landfall/landfall/catalog"
)

// A tenant's approximate vector index is stored in the catalog once built
// (catalog.VectorIndexStore), so that after a restart the engine reads it
// back, a few megabytes per part in cluster order, instead of reading
// every vector row and clustering again. The layout, little-endian:
//
//	part 0 (header): "LFIVF1" nonce:u64 added:i64 removed:i64 dim:u32
//	  rows:u32 k1:u32 k2:u32 parts:u32 perPart:u32
//	  top:f32[k1·dim] leaf:f32[k1·k2·dim] off:u32[k1·k2+1]
//	  media:u32 count, then per item u16 length and bytes
//	  recent:u32 count, then i64 entry ids
//	part i ≥ 1: nonce:u64 rows:u32 ids:i64[rows] media:u32[rows]
//	  vectors:f32[rows·dim]
//
// The header is written last and every part carries its nonce: a snapshot
// whose writing stopped halfway does not match its header and is ignored.
// The snapshot records the vector stamp it was built at; vectors written
// since are read from the catalog as for any extension, and a snapshot
// older than a removal is used until the rebuild it starts ends.
const snapshotMagic = "LFIVF1"

// snapshotRows is the rows per part (6 MiB at 384 dimensions).
const snapshotRows = 4096

var errSnapshot = errors.New("vector index snapshot does not match its header")

type snapWriter struct{ b []byte }

func (w *snapWriter) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *snapWriter) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *snapWriter) f32s(v []float32) {
	for _, x := range v {
		w.u32(math.Float32bits(x))
	}
}

type snapReader struct {
	b   []byte
	err bool
}

func (r *snapReader) take(n int) []byte {
	if r.err || n < 0 || len(r.b) < n {
		r.err = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *snapReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *snapReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// f32s appends n floats to dst.
func (r *snapReader) f32s(dst []float32, n int) []float32 {
	b := r.take(4 * n)
	if b == nil {
		return dst
	}
	for i := 0; i < n; i++ {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return dst
}

// saveSnapshot stores f (which has an approximate index) for the tenant
// and model: the parts, then the header.
func saveSnapshot(ctx context.Context, st catalog.VectorIndexStore, tenant, model string, f *flat) error {
	x := f.ivf
	if x == nil || f.dim == 0 {
		return nil
	}
	nonce := rand.Uint64()
	n := x.n
	parts := (n + snapshotRows - 1) / snapshotRows
	mediaIdx := map[string]uint32{}
	var media []string
	for _, m := range f.media[:n] {
		if _, ok := mediaIdx[m]; !ok {
			mediaIdx[m] = uint32(len(media))
			media = append(media, m)
		}
	}
	for p := 0; p < parts; p++ {
		from, to := p*snapshotRows, min((p+1)*snapshotRows, n)
		w := &snapWriter{b: make([]byte, 0, 12+(to-from)*(12+4*f.dim))}
		w.u64(nonce)
		w.u32(uint32(to - from))
		for _, id := range f.ids[from:to] {
			w.u64(uint64(id))
		}
		for _, m := range f.media[from:to] {
			w.u32(mediaIdx[m])
		}
		w.f32s(f.vecs[from*f.dim : to*f.dim])
		if err := st.SearchVectorIndexPut(ctx, &catalog.SearchVectorIndexPutParams{TenantID: tenant, Model: model, Part: p + 1, Data: w.b}); err != nil {
			return err
		}
	}
	w := &snapWriter{}
	w.b = append(w.b, snapshotMagic...)
	w.u64(nonce)
	w.u64(uint64(f.stamp.Added))
	w.u64(uint64(f.stamp.Removed))
	for _, v := range []int{f.dim, n, x.k1, x.k2, parts, snapshotRows} {
		w.u32(uint32(v))
	}
	w.f32s(x.top)
	w.f32s(x.leaf)
	for _, o := range x.off {
		w.u32(uint32(o))
	}
	w.u32(uint32(len(media)))
	for _, m := range media {
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(len(m)))
		w.b = append(w.b, m...)
	}
	w.u32(uint32(len(f.recent)))
	for id := range f.recent {
		w.u64(uint64(id))
	}
	return st.SearchVectorIndexPut(ctx, &catalog.SearchVectorIndexPutParams{TenantID: tenant, Model: model, Part: 0, Data: w.b, Parts: parts + 1})
}

// loadSnapshot reads the tenant's stored index for model into a flat
// copy with room for capRows rows; nil when there is none or it does not
// hold together.
func loadSnapshot(ctx context.Context, st catalog.VectorIndexStore, tenant, model string) (*flat, error) {
	start := time.Now()
	h, err := st.SearchVectorIndexGet(ctx, tenant, model, 0)
	if err != nil || h == nil {
		return nil, err
	}
	r := &snapReader{b: h}
	if string(r.take(len(snapshotMagic))) != snapshotMagic {
		return nil, nil
	}
	nonce := r.u64()
	f := &flat{stamp: catalog.SearchVectorsStamp{Added: int64(r.u64()), Removed: int64(r.u64())}}
	dim, n, k1, k2, parts, per := int(r.u32()), int(r.u32()), int(r.u32()), int(r.u32()), int(r.u32()), int(r.u32())
	if r.err || dim <= 0 || dim > 1<<16 || n <= 0 || k1 <= 0 || k2 <= 0 || k1*k2*dim > len(h)/4 || per <= 0 || parts != (n+per-1)/per {
		return nil, nil
	}
	x := &ivf{k1: k1, k2: k2, n: n}
	x.top = r.f32s(nil, k1*dim)
	x.leaf = r.f32s(nil, k1*k2*dim)
	x.off = make([]int, k1*k2+1)
	for i := range x.off {
		x.off[i] = int(r.u32())
		if i > 0 && x.off[i] < x.off[i-1] {
			r.err = true
		}
	}
	if r.err || x.off[0] != 0 || x.off[k1*k2] != n {
		return nil, nil
	}
	nm := int(r.u32())
	if nm > len(r.b)/2 {
		return nil, nil
	}
	media := make([]string, nm)
	for i := range media {
		l := r.take(2)
		if l == nil {
			return nil, nil
		}
		media[i] = string(r.take(int(binary.LittleEndian.Uint16(l))))
	}
	if nr := int(r.u32()); nr > 0 && nr <= len(r.b)/8 {
		f.recent = make(map[int64]bool, nr)
		for i := 0; i < nr; i++ {
			f.recent[int64(r.u64())] = true
		}
	}
	if r.err {
		return nil, nil
	}
	capRows := n + headroom(n)
	f.dim, f.ivf = dim, x
	f.ids = make([]int64, n, capRows)
	f.media = make([]string, n, capRows)
	f.vecs = make([]float32, n*dim, capRows*dim)
	// The parts are read and decoded by one worker per CPU, each into
	// its own rows.
	part := func(p int) error {
		b, err := st.SearchVectorIndexGet(ctx, tenant, model, p)
		if err != nil {
			return err
		}
		pr := &snapReader{b: b}
		rows, from := 0, (p-1)*per
		if b != nil && pr.u64() == nonce {
			rows = int(pr.u32())
		}
		if rows != min(per, n-from) {
			return errSnapshot
		}
		idb, mb, vb := pr.take(8*rows), pr.take(4*rows), pr.take(4*rows*dim)
		if pr.err || len(pr.b) != 0 {
			return errSnapshot
		}
		for i := 0; i < rows; i++ {
			f.ids[from+i] = int64(binary.LittleEndian.Uint64(idb[8*i:]))
			m := binary.LittleEndian.Uint32(mb[4*i:])
			if int(m) >= len(media) {
				return errSnapshot
			}
			f.media[from+i] = media[m]
		}
		vs := f.vecs[from*dim : (from+rows)*dim]
		for i := range vs {
			vs[i] = math.Float32frombits(binary.LittleEndian.Uint32(vb[4*i:]))
		}
		return nil
	}
	next := make(chan int)
	errs := make(chan error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := 0; w < cap(errs); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first error
			for p := range next {
				if first == nil {
					first = part(p)
				}
			}
			errs <- first
		}()
	}
	for p := 1; p <= parts; p++ {
		next <- p
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return nil, err
		}
	}
	f.built = time.Since(start)
	f.snapshot = true
	return f, nil
}
