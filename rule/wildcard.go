package rule

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// wildcard is a compiled wildcard pattern: literal pieces separated by
// stars. "*" matches any run of characters, including none; "\*" is a
// literal star and "\\" a literal backslash.
type wildcard struct {
	src    string
	pieces []string // literal pieces between stars
	lead   bool     // starts with a star
	trail  bool     // ends with a star
}

// parseWildcard compiles a wildcard pattern and rejects what EventBridge
// rejects: consecutive stars and any other backslash escape. Positions in
// messages count from 1, as EventBridge reports them.
func parseWildcard(s string) (*wildcard, error) {
	w := &wildcard{src: s}
	var cur []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			if i+1 < len(s) && s[i+1] == '*' {
				return nil, awsErrorf("Consecutive wildcard characters at pos %d", i+1)
			}
			if i == 0 {
				w.lead = true
			} else {
				w.pieces = append(w.pieces, string(cur))
			}
			cur = cur[:0]
			if i == len(s)-1 {
				w.trail = true
			}
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '\\') {
				cur = append(cur, s[i+1])
				i++
				continue
			}
			return nil, awsErrorf("Invalid escape character at pos %d", i+1)
		default:
			cur = append(cur, c)
		}
	}
	if !w.trail {
		w.pieces = append(w.pieces, string(cur))
	}
	return w, nil
}

// literalPrefix is the text every match starts with.
func (w *wildcard) literalPrefix() string {
	if w.lead || len(w.pieces) == 0 {
		return ""
	}
	return w.pieces[0]
}

func (w *wildcard) match(s string) bool {
	p := w.pieces
	if len(p) == 0 {
		return w.lead || w.trail || s == ""
	}
	if !w.lead {
		if !strings.HasPrefix(s, p[0]) {
			return false
		}
		s = s[len(p[0]):]
		p = p[1:]
		if len(p) == 0 {
			return w.trail || s == ""
		}
	}
	var last string
	if !w.trail {
		last = p[len(p)-1]
		p = p[:len(p)-1]
	}
	for _, piece := range p {
		i := strings.Index(s, piece)
		if i < 0 {
			return false
		}
		s = s[i+len(piece):]
	}
	if !w.trail {
		return strings.HasSuffix(s, last)
	}
	return true
}

// fold maps a string to the form equals-ignore-case compares: each
// character lowercased.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return string(appendFold(nil, s))
		}
	}
	return s
}

func appendFold(dst []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, c)
		} else {
			dst = utf8.AppendRune(dst, unicode.ToLower(r))
		}
		i += size
	}
	return dst
}

func reverseString(s string) string {
	b := make([]byte, len(s))
	for i := 0; i < len(s); i++ {
		b[len(s)-1-i] = s[i]
	}
	return string(b)
}
