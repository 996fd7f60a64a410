package catalog

import (
	"strings"
	"unicode/utf8"
)

// ValidateText checks a free-text value (a filename, a content type, a
// cause, a name) before any database sees it: valid UTF-8, no NUL byte,
// at most max bytes (0: no limit). PostgreSQL refuses NUL and invalid
// UTF-8 outright and SQLite would store them as they are; both are refused
// here, naming the field and the byte offset.
func ValidateText(field, v string, max int) error {
	if i := strings.IndexByte(v, 0); i >= 0 {
		return invalid("catalog: %s: has a NUL byte at byte %d", field, i)
	}
	if i := InvalidUTF8At(v); i >= 0 {
		return invalid("catalog: %s: not valid UTF-8 at byte %d", field, i)
	}
	if max > 0 && len(v) > max {
		return invalid("catalog: %s: longer than %d bytes", field, max)
	}
	return nil
}

// InvalidUTF8At returns the offset of the first byte of s that is not part
// of valid UTF-8, or -1.
func InvalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// TruncateText cuts s to at most max bytes on a character boundary, so a
// long name of multi-byte characters stays valid UTF-8.
func TruncateText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := max
	// Step back over continuation bytes to the start of the character
	// that would be split.
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ValidateJSONText checks encoded JSON for the escape \u0000, which
// PostgreSQL's jsonb refuses; the error names the field and the offset.
func ValidateJSONText(field string, b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return invalid("catalog: %s: has a NUL character (\\u0000) at byte %d", field, i)
		}
		i++ // skip the escaped character
	}
	return nil
}
