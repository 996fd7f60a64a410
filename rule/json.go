package rule

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds the nesting of patterns, events and rules files so that
// hostile input cannot exhaust the stack.
const maxDepth = 1000

// SyntaxError reports JSON text that is not well formed.
type SyntaxError struct {
	Offset int // byte offset of the problem
	Line   int // 1-based
	Column int // 1-based, in bytes
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at line %d, column %d (offset %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

func syntaxErr(data []byte, off int, format string, args ...any) *SyntaxError {
	if off > len(data) {
		off = len(data)
	}
	line, col := 1, 1
	for _, c := range data[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return &SyntaxError{Offset: off, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

type jkind uint8

const (
	jNull jkind = iota
	jTrue
	jFalse
	jNumber
	jString
	jObject
	jArray
)

func (k jkind) String() string {
	return [...]string{"null", "true", "false", "number", "string", "object", "array"}[k]
}

// jnode is a parsed JSON value that keeps its position, its member order
// (duplicates included) and the exact text of numbers.
type jnode struct {
	kind  jkind
	off   int
	end   int
	str   string // string value, or the literal text of a number
	keys  []string
	vals  []*jnode
	elems []*jnode
}

// get returns the last member named key (JSON's "last one wins").
func (n *jnode) get(key string) *jnode {
	for i := len(n.keys) - 1; i >= 0; i-- {
		if n.keys[i] == key {
			return n.vals[i]
		}
	}
	return nil
}

// parseJSON parses one JSON document (RFC 8259) into a tree.
func parseJSON(data []byte) (*jnode, error) {
	p := &jparser{data: data}
	p.ws()
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(data) {
		return nil, syntaxErr(data, p.i, "unexpected %s after the top-level value", p.describe())
	}
	return n, nil
}

type jparser struct {
	data []byte
	i    int
}

func (p *jparser) describe() string {
	if p.i >= len(p.data) {
		return "end of input"
	}
	r, _ := utf8.DecodeRune(p.data[p.i:])
	return strconv.QuoteRune(r)
}

func (p *jparser) ws() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) value(depth int) (*jnode, error) {
	if depth > maxDepth {
		return nil, syntaxErr(p.data, p.i, "nesting deeper than %d", maxDepth)
	}
	if p.i >= len(p.data) {
		return nil, syntaxErr(p.data, p.i, "unexpected end of input, want a value")
	}
	start := p.i
	switch c := p.data[p.i]; {
	case c == '{':
		n := &jnode{kind: jObject, off: start}
		p.i++
		p.ws()
		if p.i < len(p.data) && p.data[p.i] == '}' {
			p.i++
			n.end = p.i
			return n, nil
		}
		for {
			p.ws()
			if p.i >= len(p.data) || p.data[p.i] != '"' {
				return nil, syntaxErr(p.data, p.i, "unexpected %s, want a member name in quotes", p.describe())
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.data) || p.data[p.i] != ':' {
				return nil, syntaxErr(p.data, p.i, "unexpected %s, want ':' after member name", p.describe())
			}
			p.i++
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, v)
			p.ws()
			if p.i < len(p.data) && p.data[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.data) && p.data[p.i] == '}' {
				p.i++
				n.end = p.i
				return n, nil
			}
			return nil, syntaxErr(p.data, p.i, "unexpected %s, want ',' or '}'", p.describe())
		}
	case c == '[':
		n := &jnode{kind: jArray, off: start}
		p.i++
		p.ws()
		if p.i < len(p.data) && p.data[p.i] == ']' {
			p.i++
			n.end = p.i
			return n, nil
		}
		for {
			p.ws()
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.elems = append(n.elems, v)
			p.ws()
			if p.i < len(p.data) && p.data[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.data) && p.data[p.i] == ']' {
				p.i++
				n.end = p.i
				return n, nil
			}
			return nil, syntaxErr(p.data, p.i, "unexpected %s, want ',' or ']'", p.describe())
		}
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &jnode{kind: jString, off: start, end: p.i, str: s}, nil
	case c == '-' || (c >= '0' && c <= '9'):
		end, ok := scanNumber(p.data, p.i)
		if !ok {
			return nil, syntaxErr(p.data, end, "malformed number")
		}
		p.i = end
		return &jnode{kind: jNumber, off: start, end: end, str: string(p.data[start:end])}, nil
	default:
		for _, lit := range [...]struct {
			s string
			k jkind
		}{{"true", jTrue}, {"false", jFalse}, {"null", jNull}} {
			if strings.HasPrefix(string(p.data[p.i:min(len(p.data), p.i+len(lit.s))]), lit.s) {
				p.i += len(lit.s)
				return &jnode{kind: lit.k, off: start, end: p.i}, nil
			}
		}
		return nil, syntaxErr(p.data, p.i, "unexpected %s, want a value", p.describe())
	}
}

// str parses a string starting at the opening quote.
func (p *jparser) str() (string, error) {
	end, hasEsc, err := scanString(p.data, p.i)
	if err != nil {
		return "", err
	}
	raw := p.data[p.i+1 : end-1]
	p.i = end
	if !hasEsc {
		return string(raw), nil
	}
	return string(unescape(nil, raw)), nil
}

// scanNumber returns the end of the JSON number starting at i and whether
// it is well formed.
func scanNumber(b []byte, i int) (int, bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, false
	}
	if b[i] == '0' {
		i++
	} else if b[i]-'1' < 9 {
		i = digitRun(b, i+1)
	} else {
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		s := i + 1
		if i = digitRun(b, s); i == s {
			return i, false
		}
	}
	if i < len(b) && b[i]|0x20 == 'e' {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		s := i
		if i = digitRun(b, s); i == s {
			return i, false
		}
	}
	return i, true
}

// digitRun returns the offset of the first byte at or after i that is not
// an ASCII digit, testing eight bytes at a time.
func digitRun(b []byte, i int) int {
	for i+8 <= len(b) {
		// x's bytes are below 10 exactly where the eight are digits; adding 0x76
		// sets the high bit of the others below 0x80 (the rest have it
		// already, and only they can carry into the next byte)
		x := binary.LittleEndian.Uint64(b[i:]) ^ 0x30*swarOnes
		if m := (x | (x + 0x76*swarOnes)) & swarHighs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i]-'0' < 10 {
		i++
	}
	return i
}

// plainRun returns the offset of the first byte at or after j that ends
// a run of plain string bytes: a quote, a backslash or a control
// character; len(b) if there is none.
func plainRun(b []byte, j int) int {
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		m := zeroBytes(w^('"'*swarOnes)) | zeroBytes(w^('\\'*swarOnes)) | (w-0x20*swarOnes)&^w&swarHighs
		if m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
		j++
	}
	return j
}

// scanString validates the string whose opening quote is at b[i] and
// returns the offset just past its closing quote and whether it holds
// escapes.
func scanString(b []byte, i int) (end int, hasEsc bool, err error) {
	j := i + 1
	for {
		j = plainRun(b, j)
		if j >= len(b) {
			return 0, false, syntaxErr(b, i, "unterminated string")
		}
		switch c := b[j]; {
		case c == '"':
			return j + 1, hasEsc, nil
		case c == '\\':
			hasEsc = true
			if j+1 >= len(b) {
				return 0, false, syntaxErr(b, j, "unterminated escape")
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if j+6 > len(b) {
					return 0, false, syntaxErr(b, j, "short \\u escape")
				}
				for k := j + 2; k < j+6; k++ {
					if unhex(b[k]) < 0 {
						return 0, false, syntaxErr(b, k, "bad hex digit in \\u escape")
					}
				}
				j += 6
			default:
				return 0, false, syntaxErr(b, j, "invalid escape \\%c", b[j+1])
			}
		default:
			return 0, false, syntaxErr(b, j, "control character 0x%02x in string", c)
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// unescape appends the decoded form of a validated string body to dst.
func unescape(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch raw[i+1] {
		case '"', '\\', '/':
			dst = append(dst, raw[i+1])
			i += 2
		case 'b':
			dst = append(dst, '\b')
			i += 2
		case 'f':
			dst = append(dst, '\f')
			i += 2
		case 'n':
			dst = append(dst, '\n')
			i += 2
		case 'r':
			dst = append(dst, '\r')
			i += 2
		case 't':
			dst = append(dst, '\t')
			i += 2
		case 'u':
			r := rune(hex4(raw[i+2:]))
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					r2 := rune(hex4(raw[i+2:]))
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst
}

func hex4(b []byte) int {
	return unhex(b[0])<<12 | unhex(b[1])<<8 | unhex(b[2])<<4 | unhex(b[3])
}

// appendQuoted appends s as a JSON string literal.
func appendQuoted(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			dst = append(dst, c)
			i++
			continue
		}
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
			i++
			continue
		case '\n':
			dst = append(dst, '\\', 'n')
			i++
			continue
		case '\r':
			dst = append(dst, '\\', 'r')
			i++
			continue
		case '\t':
			dst = append(dst, '\\', 't')
			i++
			continue
		}
		if c < 0x20 {
			dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, `\ufffd`...)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// escapePointerToken escapes one JSON Pointer reference token (RFC 6901).
func escapePointerToken(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}
