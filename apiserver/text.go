package apiserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// textProblem describes why v cannot be text: a NUL byte or bytes that are
// not UTF-8. It returns "" for good text.
func textProblem(v string) string {
	if i := strings.IndexByte(v, 0); i >= 0 {
		return fmt.Sprintf("has a NUL byte at byte %d", i)
	}
	if i := catalog.InvalidUTF8At(v); i >= 0 {
		return fmt.Sprintf("is not valid UTF-8 at byte %d", i)
	}
	return ""
}

// CheckText returns errcode.Invalid naming field when v holds a NUL byte
// or is not valid UTF-8. Every id, name, filename and query a request
// carries passes here before it reaches a store.
func CheckText(field, v string) error {
	if p := textProblem(v); p != "" {
		return errcode.New(errcode.Invalid, "%s %s", field, p)
	}
	return nil
}

// checkRequestText checks the request's path values and query parameters.
// pattern is the route that matched ("GET /v1/media/{id}/{export}"), so a
// bad segment is named by its wildcard.
func checkRequestText(r *http.Request, pattern string) error {
	if p := textProblem(r.URL.Path); p != "" {
		// Name the segment: the wildcard of the pattern at its position.
		_, pat, _ := strings.Cut(pattern, " ")
		if pat == "" {
			pat = pattern
		}
		pats := strings.Split(pat, "/")
		for i, seg := range strings.Split(r.URL.Path, "/") {
			p := textProblem(seg)
			if p == "" {
				continue
			}
			field := "path segment " + strconv.Itoa(i)
			if i < len(pats) {
				if name, ok := wildcard(pats[i]); ok {
					field = "path value {" + name + "}"
				}
			}
			if len(pats) > 0 && i >= len(pats)-1 {
				if name, ok := wildcard(pats[len(pats)-1]); ok && strings.HasSuffix(name, "...") {
					field = "path value {" + name + "}"
				}
			}
			return errcode.New(errcode.Invalid, "%s %s", field, p)
		}
	}
	for k, vs := range r.URL.Query() {
		if p := textProblem(k); p != "" {
			return errcode.New(errcode.Invalid, "query parameter name %q %s", k, p)
		}
		for _, v := range vs {
			if err := CheckText(fmt.Sprintf("query parameter %q", k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

// wildcard returns the name of a pattern segment "{name}" or "{name...}".
func wildcard(seg string) (string, bool) {
	if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && seg != "{$}" {
		return seg[1 : len(seg)-1], true
	}
	return "", false
}

// CheckJSONText walks a JSON document and returns errcode.Invalid naming
// the JSON pointer of the first member name or string value that holds a
// NUL (written \u0000) or bytes that are not UTF-8 (which decoding would
// silently replace). A document that is not JSON is left to the decoder
// to report.
func CheckJSONText(body []byte) error {
	bad := catalog.InvalidUTF8At(string(body))
	if bad < 0 && !bytes.Contains(body, []byte(`\u0000`)) {
		return nil
	}
	type frame struct {
		obj     bool
		wantKey bool
		key     string
		idx     int
	}
	var stack []frame
	pointer := func() string {
		var b strings.Builder
		for _, f := range stack {
			b.WriteByte('/')
			if f.obj {
				b.WriteString(strings.ReplaceAll(strings.ReplaceAll(f.key, "~", "~0"), "/", "~1"))
			} else {
				b.WriteString(strconv.Itoa(f.idx))
			}
		}
		if b.Len() == 0 {
			return "/"
		}
		return b.String()
	}
	// valueDone moves the innermost container past a value.
	valueDone := func() {
		if n := len(stack); n > 0 {
			if stack[n-1].obj {
				stack[n-1].wantKey = true
			} else {
				stack[n-1].idx++
			}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // end, or not JSON: the decoder reports it
		}
		end := dec.InputOffset()
		badHere := bad >= 0 && int64(bad) >= start && int64(bad) < end
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{obj: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = t, false
				if badHere || strings.IndexByte(t, 0) >= 0 {
					what := "has a NUL character"
					if badHere {
						what = "is not valid UTF-8"
					}
					stack = stack[:n-1]
					return errcode.New(errcode.Invalid, "request body: %s: member name %q %s", pointer(), t, what)
				}
				continue
			}
			if badHere {
				return errcode.New(errcode.Invalid, "request body: %s: is not valid UTF-8", pointer())
			}
			if i := strings.IndexByte(t, 0); i >= 0 {
				return errcode.New(errcode.Invalid, "request body: %s: has a NUL character (\\u0000) at character %d", pointer(), len([]rune(t[:i])))
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

// screen runs before routing: it sets the headers every response carries
// and refuses path values and query parameters that are not text. It
// reports whether the request goes on.
func (s *Server) screen(w http.ResponseWriter, r *http.Request) bool {
	securityHeaders(w.Header(), r)
	_, pattern := s.mux.Handler(r)
	if err := checkRequestText(r, pattern); err != nil {
		WriteProblem(w, r, err)
		return false
	}
	return true
}
