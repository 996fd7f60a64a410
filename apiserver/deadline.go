package apiserver

import (
	"errors"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/landfall/landfall/errcode"
)

// BodyReadTimeout bounds how long a request body may stall: every read of
// the body must receive a byte within idle, so an upload that keeps
// flowing may take as long as it needs while one that stops half way ends
// after idle instead of holding its connection open. The deadline is an
// idle-read deadline on the connection (http.ResponseController), re-armed
// before each read and cleared when the body is fully read, so a handler
// that goes on working after reading its body is not cut off.
//
// A body read that times out fails with errcode.Invalid naming the
// timeout; the connection is closed after the response.
func BodyReadTimeout(h http.Handler, idle time.Duration) http.Handler {
	if idle <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			h.ServeHTTP(w, r)
			return
		}
		b := &idleBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: idle}
		r.Body = b
		h.ServeHTTP(w, r)
		if !b.done {
			// The handler answered without reading the whole body; the
			// server reads what is left before reusing the connection, and
			// that read must not wait on a stalled client for ever.
			_ = b.rc.SetReadDeadline(time.Now().Add(idle))
		}
	})
}

// idleBody re-arms the connection's read deadline before each read.
type idleBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
	done bool  // the body was read to its end; the deadline is cleared
	err  error // set when the body stalled
}

// bodyStalled returns the error of a request whose body stalled past its
// read timeout, or nil. A stalled read also cancels the request's context,
// so the handler may report a cancellation; the problem response names
// the stall instead.
func bodyStalled(r *http.Request) error {
	if b, ok := r.Body.(*idleBody); ok {
		return b.err
	}
	return nil
}

func (b *idleBody) Read(p []byte) (int, error) {
	if !b.done {
		// An error means the connection cannot take deadlines (a test
		// recorder); reads then go unbounded as before.
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, os.ErrDeadlineExceeded):
		b.err = errcode.New(errcode.Invalid, "request body: no byte arrived for %s", b.idle)
		return n, b.err
	case !b.done:
		// At the end of the body (or on any other error) the server
		// starts watching the connection for the client going away; that
		// watch must not inherit the body's deadline.
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
