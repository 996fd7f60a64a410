package expr

import (
	"encoding/json"
	"regexp"
	"strings"
)

// filterExpr is a compiled JSONPath filter ([?(...)]), evaluated against
// the current node (@) and the document the path started from ($).
type filterExpr interface {
	match(node, root any) bool
}

type filterOr struct{ a, b filterExpr }

func (f filterOr) match(n, r any) bool { return f.a.match(n, r) || f.b.match(n, r) }

type filterAnd struct{ a, b filterExpr }

func (f filterAnd) match(n, r any) bool { return f.a.match(n, r) && f.b.match(n, r) }

type filterNot struct{ a filterExpr }

func (f filterNot) match(n, r any) bool { return !f.a.match(n, r) }

// filterExists is a bare operand: a relative path that must select
// something, or a literal that must be truthy.
type filterExists struct{ op operand }

func (f filterExists) match(n, root any) bool {
	v, ok := f.op.value(n, root)
	if !ok {
		return false
	}
	if f.op.path == nil {
		b, isBool := v.(bool)
		return !isBool || b
	}
	return true
}

type filterCompare struct {
	op   string
	l, r operand
	re   *regexp.Regexp
}

// operand is a filter operand: a path from @ or $, or a literal.
type operand struct {
	path     *Path // nil for literals
	absolute bool  // the path starts at $, not @
	lit      any
}

func (o operand) value(node, root any) (any, bool) {
	if o.path == nil {
		return o.lit, true
	}
	if o.absolute {
		node = root
	}
	v, err := o.path.Get(node)
	if err != nil {
		return nil, false
	}
	return v, true
}

func (f *filterCompare) match(n, root any) bool {
	l, lok := f.l.value(n, root)
	if f.op == "=~" {
		s, ok := l.(string)
		return lok && ok && f.re.MatchString(s)
	}
	r, rok := f.r.value(n, root)
	if !lok || !rok {
		return f.op == "!=" && lok != rok
	}
	switch f.op {
	case "==":
		return filterEqual(l, r)
	case "!=":
		return !filterEqual(l, r)
	case "<", "<=", ">", ">=":
		c, ok := filterCompareValues(l, r)
		if !ok {
			return false
		}
		switch f.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "in", "nin":
		a, ok := r.([]any)
		if !ok {
			return false
		}
		found := false
		for _, e := range a {
			if filterEqual(l, e) {
				found = true
				break
			}
		}
		return found == (f.op == "in")
	case "contains":
		switch x := l.(type) {
		case string:
			s, ok := r.(string)
			return ok && strings.Contains(x, s)
		case []any:
			for _, e := range x {
				if filterEqual(e, r) {
					return true
				}
			}
		}
		return false
	case "subsetof", "anyof", "noneof":
		la, ok1 := l.([]any)
		ra, ok2 := r.([]any)
		if !ok1 || !ok2 {
			return false
		}
		in := func(v any) bool {
			for _, e := range ra {
				if filterEqual(v, e) {
					return true
				}
			}
			return false
		}
		switch f.op {
		case "subsetof":
			for _, e := range la {
				if !in(e) {
					return false
				}
			}
			return true
		case "anyof":
			for _, e := range la {
				if in(e) {
					return true
				}
			}
			return false
		}
		for _, e := range la {
			if in(e) {
				return false
			}
		}
		return true
	case "size":
		rn, ok := toNumber(r)
		if !ok || !rn.isInt {
			return false
		}
		switch x := l.(type) {
		case string:
			return int64(len([]rune(x))) == rn.i
		case []any:
			return int64(len(x)) == rn.i
		}
		return false
	case "empty":
		want, ok := r.(bool)
		if !ok {
			return false
		}
		switch x := l.(type) {
		case string:
			return (x == "") == want
		case []any:
			return (len(x) == 0) == want
		}
		return false
	}
	return false
}

// filterEqual is Jayway's == : numbers by value, a number equals a string
// holding the same number, other values structurally.
func filterEqual(a, b any) bool {
	if an, ok := toNumber(a); ok {
		if s, ok := b.(string); ok {
			if bn, ok := toNumber(json.Number(s)); ok {
				return compareNumbers(an, bn) == 0
			}
			return false
		}
	}
	if bn, ok := toNumber(b); ok {
		if s, ok := a.(string); ok {
			if an, ok := toNumber(json.Number(s)); ok {
				return compareNumbers(an, bn) == 0
			}
			return false
		}
	}
	return Equal(a, b)
}

func filterCompareValues(a, b any) (int, bool) {
	an, aok := toNumber(a)
	bn, bok := toNumber(b)
	if aok && bok {
		return compareNumbers(an, bn), true
	}
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return strings.Compare(as, bs), true
	}
	return 0, false
}

// Filter grammar:
//   or   := and ('||' and)*
//   and  := not ('&&' not)*
//   not  := '!' not | '(' or ')' | cmp
//   cmp  := operand [op operand]

func (p *pathParser) parseFilterOr() (filterExpr, error) {
	l, err := p.parseFilterAnd()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpaces()
		if !strings.HasPrefix(p.src[p.pos:], "||") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseFilterAnd()
		if err != nil {
			return nil, err
		}
		l = filterOr{l, r}
	}
}

func (p *pathParser) parseFilterAnd() (filterExpr, error) {
	l, err := p.parseFilterNot()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpaces()
		if !strings.HasPrefix(p.src[p.pos:], "&&") {
			return l, nil
		}
		p.pos += 2
		r, err := p.parseFilterNot()
		if err != nil {
			return nil, err
		}
		l = filterAnd{l, r}
	}
}

func (p *pathParser) parseFilterNot() (filterExpr, error) {
	p.skipSpaces()
	if p.pos >= len(p.src) {
		return nil, p.errf("unterminated filter")
	}
	switch p.src[p.pos] {
	case '!':
		if !strings.HasPrefix(p.src[p.pos:], "!=") {
			p.pos++
			f, err := p.parseFilterNot()
			if err != nil {
				return nil, err
			}
			return filterNot{f}, nil
		}
	case '(':
		p.pos++
		f, err := p.parseFilterOr()
		if err != nil {
			return nil, err
		}
		p.skipSpaces()
		if err := p.expect(')'); err != nil {
			return nil, err
		}
		return f, nil
	}
	return p.parseFilterCompare()
}

var filterOps = []string{"==", "!=", "<=", ">=", "=~", "<", ">", " nin ", " in ", " contains ", " subsetof ", " anyof ", " noneof ", " size ", " empty "}

func (p *pathParser) parseFilterCompare() (filterExpr, error) {
	l, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	// Word operators need the space before them; symbols may touch.
	rest := p.src[p.pos:]
	trimmed := strings.TrimLeft(rest, " ")
	op := ""
	for _, o := range filterOps {
		if o[0] == ' ' {
			w := strings.TrimSpace(o)
			if len(trimmed) < len(rest) && strings.HasPrefix(trimmed, w) && len(trimmed) > len(w) && (trimmed[len(w)] == ' ' || trimmed[len(w)] == '[' || trimmed[len(w)] == '\'' || trimmed[len(w)] == '"') {
				op = w
				break
			}
			continue
		}
		if strings.HasPrefix(trimmed, o) {
			op = o
			break
		}
	}
	if op == "" {
		return filterExists{l}, nil
	}
	p.pos += len(rest) - len(trimmed) + len(op)
	p.skipSpaces()
	if op == "=~" {
		re, err := p.parseRegex()
		if err != nil {
			return nil, err
		}
		return &filterCompare{op: op, l: l, re: re}, nil
	}
	r, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	return &filterCompare{op: op, l: l, r: r}, nil
}

func (p *pathParser) parseRegex() (*regexp.Regexp, error) {
	s := p.src
	if p.pos >= len(s) || s[p.pos] != '/' {
		return nil, p.errf("expected a /regex/ after =~")
	}
	p.pos++
	start := p.pos
	for p.pos < len(s) && s[p.pos] != '/' {
		if s[p.pos] == '\\' {
			p.pos++
		}
		p.pos++
	}
	if p.pos >= len(s) {
		return nil, p.errf("unterminated regular expression")
	}
	pat := s[start:p.pos]
	p.pos++
	flags := ""
	for p.pos < len(s) && strings.IndexByte("imsx", s[p.pos]) >= 0 {
		if s[p.pos] != 'x' {
			flags += string(s[p.pos])
		}
		p.pos++
	}
	if flags != "" {
		pat = "(?" + flags + ")" + pat
	}
	// Java's Matcher.matches() matches the whole input.
	re, err := regexp.Compile("^(?:" + pat + ")$")
	if err != nil {
		return nil, p.errf("invalid regular expression: %v", err)
	}
	return re, nil
}

func (p *pathParser) parseOperand() (operand, error) {
	p.skipSpaces()
	s := p.src
	if p.pos >= len(s) {
		return operand{}, p.errf("expected a filter operand")
	}
	switch c := s[p.pos]; {
	case c == '@' || c == '$':
		start := p.pos
		p.pos++
		segs, fn, err := p.parseSegments(true)
		if err != nil {
			return operand{}, err
		}
		path := &Path{src: "$" + s[start+1:p.pos], segs: segs, fn: fn, definite: true}
		var jb strings.Builder
		jb.WriteByte('$')
		for i := range segs {
			if !segs[i].definite() {
				path.definite = false
			}
			jb.WriteString(segs[i].jaywayText)
		}
		path.jayway = jb.String()
		return operand{path: path, absolute: c == '$'}, nil
	case c == '\'' || c == '"':
		str, err := p.readQuoted()
		if err != nil {
			return operand{}, err
		}
		return operand{lit: str}, nil
	case c == '[' || c == '{':
		// A JSON literal: find its end by bracket depth.
		depth, i, inStr := 0, p.pos, byte(0)
		for ; i < len(s); i++ {
			ch := s[i]
			if inStr != 0 {
				if ch == '\\' {
					i++
				} else if ch == inStr {
					inStr = 0
				}
				continue
			}
			switch ch {
			case '"', '\'':
				inStr = ch
			case '[', '{':
				depth++
			case ']', '}':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if i >= len(s) {
			return operand{}, p.errf("unterminated JSON literal in filter")
		}
		text := strings.ReplaceAll(s[p.pos:i+1], "'", "\"")
		v, err := Decode([]byte(text))
		if err != nil {
			return operand{}, p.errf("invalid JSON literal in filter: %v", err)
		}
		p.pos = i + 1
		return operand{lit: v}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(s) && strings.IndexByte("0123456789.eE+-", s[p.pos]) >= 0 {
			p.pos++
		}
		num := json.Number(s[start:p.pos])
		if _, ok := toNumber(num); !ok {
			p.pos = start
			return operand{}, p.errf("invalid number in filter")
		}
		return operand{lit: num}, nil
	default:
		for _, w := range []struct {
			word string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if strings.HasPrefix(s[p.pos:], w.word) {
				p.pos += len(w.word)
				return operand{lit: w.v}, nil
			}
		}
	}
	return operand{}, p.errf("unexpected character %q in filter", s[p.pos])
}
