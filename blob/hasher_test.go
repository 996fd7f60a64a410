package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
)

func TestHasher(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*hashBufs*hashBufSize+12345)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, n := range []int{0, 1, hashBufSize - 1, hashBufSize, hashBufSize + 1, 2 * hashBufSize, len(data)} {
		for _, step := range []int{1 << 20, 1000, hashBufSize, 7} {
			if n > 100_000 && step < 100 {
				continue
			}
			h := newHasher()
			for i, off := 0, 0; off < n; i, off = i+1, off+step {
				chunk := append([]byte(nil), data[off:min(off+step, n)]...)
				if i%3 == 1 {
					// shared: the chunk is scribbled on once hashed
					wait := h.WriteShared(chunk)
					wait()
					clear(chunk)
				} else {
					h.Write(chunk)
				}
			}
			want := sha256.Sum256(data[:n])
			if got := h.Sum(); got != hex.EncodeToString(want[:]) {
				t.Fatalf("n=%d step=%d: %s; want %x", n, step, got, want)
			}
		}
	}
	h := newHasher()
	h.Write(data)
	h.Stop()
	h.Stop()
}

// TestHasherTwoShared: two shared chunks in flight at once (what
// Writer.ReadFrom does), each scribbled on as soon as its wait returns,
// between copied writes of every size.
func TestHasherTwoShared(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, 9*sharedMin+777)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, step := range []int{sharedMin, sharedMin + 1, 3*sharedMin - 5} {
		h := newHasher()
		var pending [2]func()
		var chunks [2][]byte
		slot := 0
		for off := 0; off < len(data); off += step {
			end := min(off+step, len(data))
			if end-off < sharedMin {
				h.Write(data[off:end])
				continue
			}
			if pending[slot] != nil {
				pending[slot]()
				clear(chunks[slot])
			}
			chunks[slot] = append([]byte(nil), data[off:end]...)
			pending[slot] = h.WriteShared(chunks[slot])
			slot ^= 1
		}
		for i := range 2 {
			k := (slot + i) % 2
			if pending[k] != nil {
				pending[k]()
				clear(chunks[k])
			}
		}
		want := sha256.Sum256(data)
		if got := h.Sum(); got != hex.EncodeToString(want[:]) {
			t.Fatalf("step=%d: %s; want %x", step, got, want)
		}
	}
}
