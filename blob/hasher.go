package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// hasher computes the SHA-256 of a stream on its own goroutine, behind the
// writer: Write copies the bytes into one of a few fixed buffers and
// returns, so that hashing overlaps the driver's writes and, at Close, the
// driver's flush to disk. Memory stays at hashBufs buffers per writer
// whatever the size written. Streams shorter than one buffer are hashed
// inline, without a goroutine. Large writes are not copied: WriteShared
// hashes the caller's bytes while the caller writes them to the driver.
type hasher struct {
	h         hash.Hash
	cur       []byte
	allocated int
	full      chan hashChunk
	free      chan []byte
	shared    chan struct{} // a shared chunk has been hashed
	done      chan struct{}
	started   bool
	stopped   bool
}

// hashChunk is bytes for the hashing goroutine: one of the hasher's own
// buffers, given back on free, or the caller's, acknowledged on shared.
type hashChunk struct {
	b      []byte
	shared bool
}

const (
	hashBufSize = 256 << 10
	hashBufs    = 4
)

func newHasher() *hasher { return &hasher{h: sha256.New()} }

func (h *hasher) start() {
	h.started = true
	h.full = make(chan hashChunk, hashBufs)
	h.free = make(chan []byte, hashBufs)
	// A writer may have a chunk hashed while the next is read
	// (Writer.ReadFrom): room for both acknowledgements, so the
	// goroutine never waits on the writer.
	h.shared = make(chan struct{}, 2)
	h.done = make(chan struct{})
	go func() {
		defer close(h.done)
		for c := range h.full {
			h.h.Write(c.b)
			if c.shared {
				h.shared <- struct{}{}
			} else {
				h.free <- c.b[:0]
			}
		}
	}()
}

func (h *hasher) buffer() []byte {
	if h.allocated < hashBufs {
		select {
		case b := <-h.free:
			return b
		default:
			h.allocated++
			return make([]byte, 0, hashBufSize)
		}
	}
	return <-h.free
}

// Write adds p to the stream; p is not retained.
func (h *hasher) Write(p []byte) {
	for len(p) > 0 {
		if h.cur == nil {
			if !h.started && h.allocated == 0 {
				h.allocated = 1
				h.cur = make([]byte, 0, hashBufSize)
			} else {
				if !h.started {
					h.start()
				}
				h.cur = h.buffer()
			}
		}
		n := copy(h.cur[len(h.cur):cap(h.cur)], p)
		h.cur = h.cur[:len(h.cur)+n]
		p = p[n:]
		if len(h.cur) == cap(h.cur) {
			if !h.started {
				h.start()
			}
			h.full <- hashChunk{b: h.cur}
			h.cur = nil
		}
	}
}

// sharedMin is the size from which writes are hashed in place.
const sharedMin = 64 << 10

// WriteShared adds p to the stream, hashing it on the goroutine while the
// caller goes on reading p (to write it elsewhere); wait, which must be
// called before p changes, returns once p is hashed. At most two shared
// chunks may be waited for at once, and their waits are called in the
// order the chunks were written.
func (h *hasher) WriteShared(p []byte) (wait func()) {
	if h.stopped || len(p) < sharedMin {
		h.Write(p)
		return func() {}
	}
	if !h.started {
		h.start()
	}
	if len(h.cur) > 0 {
		h.full <- hashChunk{b: h.cur}
		h.cur = nil
	}
	h.full <- hashChunk{b: p, shared: true}
	return func() { <-h.shared }
}

// Sum waits for the goroutine and returns the lower-case hex SHA-256.
func (h *hasher) Sum() string {
	if h.started {
		if len(h.cur) > 0 {
			h.full <- hashChunk{b: h.cur}
		}
		h.cur = nil
		if !h.stopped {
			h.stopped = true
			close(h.full)
		}
		<-h.done
	} else {
		h.h.Write(h.cur)
		h.cur = nil
	}
	return hex.EncodeToString(h.h.Sum(nil))
}

// Stop ends the goroutine without waiting for it.
func (h *hasher) Stop() {
	if h.started && !h.stopped {
		h.stopped = true
		close(h.full)
	}
	h.cur = nil
}
