// Package apiserver is Landfall's HTTP API: media records and their
// exports, search, failures, uploads, rules and events, usage, the OpenAPI
// document and metrics, with the workflow and Step Functions APIs mounted
// beside them. It is the only place errors become HTTP statuses: handlers
// return errors carrying errcode codes, and WriteProblem renders them as
// RFC 9457 problem details with a stable code.
//
// Every route is registered with an Access class (Server.Routes lists
// them): the access layer authenticates the request (API key, signed URL,
// Signature Version 4 on the Step Functions endpoint, or the anonymous
// principal of an open installation), settles the tenant it acts for,
// checks the class, applies the per-key rate limits, and puts the
// identity.Principal in the request's context for every handler and mount.
package apiserver

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Problem is an RFC 9457 problem details document with Landfall's stable
// error code; the type lives in package types so that clients read it
// without linking the server.
type Problem = types.Problem

// StatusOf maps an error code to an HTTP status.
func StatusOf(c errcode.Code) int {
	switch c {
	case errcode.Invalid:
		return http.StatusBadRequest
	case errcode.Unauthenticated:
		return http.StatusUnauthorized
	case errcode.PermissionDenied:
		return http.StatusForbidden
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.AlreadyExists, errcode.FailedPrecond:
		return http.StatusConflict
	case errcode.ResourceExhausted:
		return http.StatusTooManyRequests
	case errcode.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errcode.NotImplemented:
		return http.StatusNotImplemented
	case errcode.Unavailable, errcode.ProviderNotConfigured:
		return http.StatusServiceUnavailable
	case errcode.DeadlineExceeded:
		return http.StatusGatewayTimeout
	case errcode.Canceled:
		return 499 // client closed request
	case errcode.ProviderThrottled, errcode.RateLimited:
		return http.StatusTooManyRequests
	case errcode.ProviderTransient, errcode.ProviderFailed, errcode.ProviderBadOutput:
		return http.StatusBadGateway
	}
	if strings.HasPrefix(string(c), "Media.") {
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// ProblemOf builds the problem document for err.
func ProblemOf(r *http.Request, err error) Problem {
	if stall := bodyStalled(r); stall != nil {
		err = stall
	}
	code := errcode.Of(err)
	status := StatusOf(code)
	detail := errcode.MessageOf(err)
	if status == http.StatusInternalServerError {
		// Internal errors are logged with their detail; clients get a
		// generic text and the request id to quote.
		detail = "internal error; quote request id " + r.Header.Get(headerRequestID)
		code = errcode.Unknown
	}
	return Problem{
		Type:     "https://landfall.dev/problems/" + slug(string(code)),
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.EscapedPath(), // never a raw NUL or broken UTF-8
		Code:     string(code),
	}
}

func slug(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			if i > 0 && s[i-1] != '.' {
				b.WriteByte('-')
			}
			b.WriteRune(r + 'a' - 'A')
		case r == '.':
			b.WriteByte('-')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteProblem writes err as application/problem+json.
func WriteProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := ProblemOf(r, err)
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="landfall"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// writeJSON writes v as JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decodeJSON reads a JSON request body strictly into v, bounded by max
// bytes; errors name the problem.
func decodeJSON(r *http.Request, max int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errcode.New(errcode.TooLarge, "request body is larger than %d bytes", max)
		}
		if errcode.Of(err) != errcode.Unknown {
			return err
		}
		return errcode.New(errcode.Invalid, "request body: %v", err)
	}
	// Strings with NUL or bytes that are not UTF-8 are refused by their
	// JSON pointer before anything stores them.
	if err := CheckJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errcode.New(errcode.Invalid, "request body: %v", err)
	}
	return nil
}
