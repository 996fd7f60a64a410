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
