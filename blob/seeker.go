package blob

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// RangeOpener opens a reader of an object from offset to its end.
type RangeOpener func(ctx context.Context, offset int64) (io.ReadCloser, error)

// Opener is the RangeOpener of key in b.
func (b *Bucket) Opener(key string) RangeOpener {
	return func(ctx context.Context, offset int64) (io.ReadCloser, error) {
		return b.NewRangeReader(ctx, key, offset, -1, nil)
	}
}

// Seeker is an io.ReadSeekCloser over an object of a known size, for
// readers that seek (http.ServeContent, a player's range requests): it
// opens a range reader at the offset of the first read after each seek,
// so nothing is read that is not asked for, whatever the driver.
type Seeker struct {
	ctx  context.Context
	open RangeOpener
	size int64
	off  int64
	r    io.ReadCloser
	err  error
}

// NewSeeker returns a Seeker over the size bytes open reads.
func NewSeeker(ctx context.Context, size int64, open RangeOpener) *Seeker {
	return &Seeker{ctx: ctx, open: open, size: size}
}

func (s *Seeker) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if s.r == nil {
		r, err := s.open(s.ctx, s.off)
		if err != nil {
			s.fail(err)
			return 0, err
		}
		s.r = r
	}
	n, err := s.r.Read(p)
	s.off += int64(n)
	if err != nil && err != io.EOF {
		s.fail(err)
	}
	return n, err
}

func (s *Seeker) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// Err is the first error met opening or reading the object.
func (s *Seeker) Err() error { return s.err }

func (s *Seeker) Seek(offset int64, whence int) (int64, error) {
	abs := offset
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		abs = s.off + offset
	case io.SeekEnd:
		abs = s.size + offset
	default:
		return 0, errors.New("blob: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("blob: seek before the start")
	}
	if abs != s.off && s.r != nil {
		s.r.Close()
		s.r = nil
	}
	s.off = abs
	return abs, nil
}

func (s *Seeker) Close() error {
	if s.r != nil {
		return s.r.Close()
	}
	return nil
}

// Loopback serves one object over HTTP, with range requests, on a
// loopback listener at a random path, so a tool that reads URLs (ffmpeg)
// can seek in an object of any driver without a copy on disk.
type Loopback struct {
	// URL is where the object is served until Close.
	URL string
	srv *http.Server

	mu  sync.Mutex
	err error
}

// ServeLoopback starts serving the size bytes open reads, modified at
// mod (zero when unknown), until Close or until ctx ends the reads.
func ServeLoopback(ctx context.Context, size int64, mod time.Time, open RangeOpener) (*Loopback, error) {
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	p := "/" + hex.EncodeToString(secret[:])
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Loopback{URL: "http://" + ln.Addr().String() + p}
	l.srv = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		if q.URL.Path != p {
			http.NotFound(w, q)
			return
		}
		rs := NewSeeker(ctx, size, open)
		defer rs.Close()
		http.ServeContent(w, q, "", mod, rs)
		if err := rs.Err(); err != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = err
			}
			l.mu.Unlock()
		}
	})}
	go l.srv.Serve(ln)
	return l, nil
}

// Err is the first error met reading the object for a request.
func (l *Loopback) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Close stops serving.
func (l *Loopback) Close() error { return l.srv.Close() }
