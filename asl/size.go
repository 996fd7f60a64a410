package asl

import (
	"encoding/json"
	"unicode/utf8"
)

// jsonSize returns the compact JSON length of v, or limit+1 when it is
// longer than limit (the walk stops there).
func jsonSize(v any, limit int) int {
	n := 0
	if !addJSONSize(v, &n, limit) {
		return limit + 1
	}
	return n
}

// jsonSizeExceeds reports whether v, written as compact JSON, is longer
// than limit bytes. It walks v without allocating and stops as soon as
// the limit is passed.
func jsonSizeExceeds(v any, limit int) bool {
	n := 0
	return !addJSONSize(v, &n, limit)
}

// addJSONSize adds v's JSON length to *n; it returns false once *n passes
// limit.
func addJSONSize(v any, n *int, limit int) bool {
	switch t := v.(type) {
	case nil:
		*n += 4
	case bool:
		if t {
			*n += 4
		} else {
			*n += 5
		}
	case json.Number:
		*n += len(t)
	case string:
		*n += stringJSONSize(t)
	case map[string]any:
		*n += 2
		first := true
		for k, x := range t {
			if !first {
				*n++
			}
			first = false
			*n += stringJSONSize(k) + 1
			if *n > limit || !addJSONSize(x, n, limit) {
				return false
			}
		}
	case []any:
		*n += 2
		for i, x := range t {
			if i > 0 {
				*n++
			}
			if *n > limit || !addJSONSize(x, n, limit) {
				return false
			}
		}
	default:
		// Other numeric kinds (float64, int) from JSONata results.
		*n += 24
	}
	return *n <= limit
}

// stringJSONSize is the length of s as a JSON string literal (without
// HTML escaping, as Step Functions writes it).
func stringJSONSize(s string) int {
	size := 2
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
				size += 2
			case c < 0x20:
				size += 6
			default:
				size++
			}
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			size += 6 // written as \ufffd
		} else if r == '\u2028' || r == '\u2029' {
			size += 6
		} else {
			size += w
		}
		i += w
	}
	return size
}
