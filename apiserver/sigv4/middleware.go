package sigv4

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/landfall/landfall/identity"
)

// DefaultMaxBody bounds the body Handler reads before verifying it: the
// Step Functions protocol handler's own bound, so no request it would
// accept is refused here first.
const DefaultMaxBody = 2 << 20

// Handler authenticates signed requests for Next: it reads the body
// (bounded), verifies the signature, and calls Next with the principal in
// the request's context (identity.NewContext) and the body readable again.
// Refusals are written in the AWS JSON protocol's error shape.
type Handler struct {
	Verifier
	Next http.Handler
	// Unsigned serves requests that carry no signature (Present is false),
	// e.g. ones with a Bearer key the server checks itself. When nil they
	// are refused with MissingAuthenticationTokenException.
	Unsigned http.Handler
	// MaxBody bounds a request body (DefaultMaxBody when 0).
	MaxBody int64
	// Now is the clock signatures are checked against (time.Now when nil).
	Now func() time.Time
	// Log records errors that are not the client's (a failing key lookup).
	Log *slog.Logger
}

// Middleware returns a Handler that verifies every request to next against
// lookup and refuses unsigned ones.
func Middleware(lookup Lookup, next http.Handler) http.Handler {
	return &Handler{Verifier: Verifier{Lookup: lookup}, Next: next}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.Unsigned != nil && !Present(r) {
		h.Unsigned.ServeHTTP(w, r)
		return
	}
	max := h.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	body, err := ReadBody(r, max)
	var p identity.Principal
	if err == nil {
		p, err = h.Verify(r, body, now())
	}
	if err != nil {
		if log := h.Log; log != nil && !errors.As(err, new(*Error)) {
			log.Error("request signature check failed", "path", r.URL.Path, "err", err)
		}
		WriteError(w, err)
		return
	}
	r = r.WithContext(identity.NewContext(r.Context(), p))
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	h.Next.ServeHTTP(w, r)
}

// ReadBody reads r's whole body, at most max bytes: a longer body is an
// *Error (413, ValidationException), so a caller never holds more.
func ReadBody(r *http.Request, max int64) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > max {
		return nil, newError(CodeRequestTooLarge, "request body is %d bytes, more than %d", r.ContentLength, max)
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("sigv4: read request body: %w", err)
	}
	if int64(len(b)) > max {
		return nil, newError(CodeRequestTooLarge, "request body is more than %d bytes", max)
	}
	return b, nil
}

// WriteError answers a refused request in the AWS JSON protocol's error
// shape ({"__type", "message"}, X-Amzn-Errortype). An error that is not an
// *Error is answered 500 InternalFailure without its text.
func WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: "InternalFailure", Status: http.StatusInternalServerError, Message: "internal error checking the request signature"}
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}
