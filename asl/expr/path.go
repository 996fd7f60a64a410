package expr

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Root says what a path starts from.
type Root int

// Path roots.
const (
	RootInput    Root = iota // "$": the state's input
	RootContext              // "$$": the context object
	RootVariable             // "$name": a variable
)

// Path is a compiled JSONPath, evaluated with Jayway JSONPath semantics as
// Step Functions does. Definite paths (names and single indexes only)
// select one value; indefinite paths (wildcards, slices, unions, filters,
// "..") select a list, returned as an array.
type Path struct {
	src      string
	root     Root
	varName  string
	segs     []segment
	definite bool
	fn       string // trailing Jayway function (length, sum, ...): selects nothing, as in Step Functions
	jayway   string // Jayway's canonical form, used in causes: $['a'][0]
}

type segKind uint8

const (
	segName     segKind = iota // .a ['a']
	segNames                   // ['a','b']
	segIndex                   // [0] [-1]
	segIndexes                 // [0,1]
	segWildcard                // .* [*]
	segSlice                   // [1:3]
	segFilter                  // [?(...)]
	segScan                    // .. (applies the next segment to every descendant)
)

type segment struct {
	kind       segKind
	name       string
	names      []string
	index      int
	indexes    []int
	from, to   int
	hasFrom    bool
	hasTo      bool
	filter     filterExpr
	jaywayText string
}

// String returns the path as written.
func (p *Path) String() string { return p.src }

// Root returns what the path starts from; VarName the variable's name when
// Root is RootVariable.
func (p *Path) Root() Root { return p.root }

// VarName returns the variable a RootVariable path reads ("" otherwise).
func (p *Path) VarName() string { return p.varName }

// Definite reports whether the path selects at most one value (no
// wildcard, slice, union, filter or "..").
func (p *Path) Definite() bool { return p.definite }

// IsReference reports whether the path is a reference path in the States
// Language's sense: "$" followed by names and array indexes only (no "..",
// "*", slices, unions, filters or functions).
func (p *Path) IsReference() bool { return p.definite && p.fn == "" }

// IsRoot reports whether the path is just its root ("$", "$$", "$name").
func (p *Path) IsRoot() bool { return len(p.segs) == 0 && p.fn == "" }

// MustCompilePath is CompilePath that panics on error, for tests and
// constants.
func MustCompilePath(s string) *Path {
	p, err := CompilePath(s)
	if err != nil {
		panic(err)
	}
	return p
}

// CompilePath compiles a JSONPath: "$" followed by .name, ['name'],
// ["name"], [n], [-n], [a:b], [a:], [:b], [*], .*, ['a','b'], [0,1], ..name,
// ..*, [?(filter)]. A path may start with "$$" (context object) or "$name"
// (a variable). Jayway's trailing functions (.length(), .sum(), ...) are
// accepted, as Step Functions accepts them, but like Step Functions a path
// that uses one selects nothing.
func CompilePath(s string) (*Path, error) {
	p := &pathParser{src: s}
	path, err := p.parse()
	if err != nil {
		return nil, err
	}
	return path, nil
}

type pathParser struct {
	src string
	pos int
}

func (p *pathParser) errf(format string, args ...any) error {
	return &CompileError{Expr: p.src, Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *pathParser) parse() (*Path, error) {
	s := p.src
	if s == "" {
		return nil, &CompileError{Expr: s, Offset: 0, Msg: "empty JSONPath"}
	}
	if s[0] != '$' {
		return nil, p.errf("a JSONPath must start with '$'")
	}
	path := &Path{src: s, definite: true}
	p.pos = 1
	switch {
	case strings.HasPrefix(s, "$$"):
		path.root = RootContext
		p.pos = 2
	case len(s) > 1 && isVarStart(s[1]):
		path.root = RootVariable
		i := 1
		for i < len(s) && isVarChar(s[i]) {
			i++
		}
		path.varName = s[1:i]
		p.pos = i
	}
	segs, fn, err := p.parseSegments(false)
	if err != nil {
		return nil, err
	}
	if p.pos != len(s) {
		return nil, p.errf("unexpected character %q", s[p.pos])
	}
	path.segs = segs
	path.fn = fn
	var jb strings.Builder
	jb.WriteByte('$')
	for i := range segs {
		if !segs[i].definite() {
			path.definite = false
		}
		jb.WriteString(segs[i].jaywayText)
	}
	if fn != "" {
		jb.WriteByte('.')
		jb.WriteString(fn)
		jb.WriteString("()")
	}
	path.jayway = jb.String()
	return path, nil
}

func isVarStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isVarChar(c byte) bool { return isVarStart(c) || c >= '0' && c <= '9' }

func (s *segment) definite() bool { return s.kind == segName || s.kind == segIndex }

var pathFunctions = map[string]bool{
	"length": true, "size": true, "min": true, "max": true, "avg": true, "sum": true,
	"stddev": true, "keys": true, "first": true, "last": true,
}

// parseSegments reads segments until the end of the path or, inside a
// filter (inFilter), a character that cannot continue a path.
func (p *pathParser) parseSegments(inFilter bool) ([]segment, string, error) {
	var segs []segment
	s := p.src
	for p.pos < len(s) {
		c := s[p.pos]
		switch c {
		case '.':
			if strings.HasPrefix(s[p.pos:], "..") {
				p.pos += 2
				segs = append(segs, segment{kind: segScan, jaywayText: ".."})
				if p.pos < len(s) && s[p.pos] == '[' {
					continue
				}
				if p.pos < len(s) && s[p.pos] == '*' {
					p.pos++
					segs = append(segs, segment{kind: segWildcard, jaywayText: "[*]"})
					continue
				}
				name, err := p.readName(inFilter)
				if err != nil {
					return nil, "", err
				}
				segs = append(segs, nameSeg(name))
				continue
			}
			p.pos++
			if p.pos < len(s) && s[p.pos] == '*' {
				p.pos++
				segs = append(segs, segment{kind: segWildcard, jaywayText: "[*]"})
				continue
			}
			start := p.pos
			name, err := p.readName(inFilter)
			if err != nil {
				return nil, "", err
			}
			if p.pos < len(s) && s[p.pos] == '(' {
				if !pathFunctions[name] {
					p.pos = start
					return nil, "", p.errf("unknown JSONPath function %s()", name)
				}
				if !strings.HasPrefix(s[p.pos:], "()") {
					return nil, "", p.errf("JSONPath function %s() takes no arguments", name)
				}
				p.pos += 2
				if p.pos < len(s) && !inFilter {
					return nil, "", p.errf("a JSONPath function must end the path")
				}
				return segs, name, nil
			}
			segs = append(segs, nameSeg(name))
		case '[':
			seg, err := p.parseBracket()
			if err != nil {
				return nil, "", err
			}
			segs = append(segs, seg)
		default:
			if inFilter {
				return segs, "", nil
			}
			return nil, "", p.errf("unexpected character %q", c)
		}
	}
	return segs, "", nil
}

func nameSeg(name string) segment {
	return segment{kind: segName, name: name, jaywayText: "['" + name + "']"}
}

// readName reads a dot-notation property name.
func (p *pathParser) readName(inFilter bool) (string, error) {
	s := p.src
	start := p.pos
	for p.pos < len(s) {
		c := s[p.pos]
		if c == '.' || c == '[' || c == '(' {
			break
		}
		if inFilter && strings.IndexByte(" )=!<>&|,", c) >= 0 {
			break
		}
		if !inFilter && c == ' ' {
			break
		}
		p.pos++
	}
	if p.pos == start {
		return "", p.errf("expected a property name")
	}
	return s[start:p.pos], nil
}

func (p *pathParser) skipSpaces() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *pathParser) parseBracket() (segment, error) {
	s := p.src
	p.pos++ // [
	p.skipSpaces()
	if p.pos >= len(s) {
		return segment{}, p.errf("unterminated '['")
	}
	switch c := s[p.pos]; {
	case c == '*':
		p.pos++
		p.skipSpaces()
		if err := p.expect(']'); err != nil {
			return segment{}, err
		}
		return segment{kind: segWildcard, jaywayText: "[*]"}, nil
	case c == '?':
		p.pos++
		p.skipSpaces()
		if err := p.expect('('); err != nil {
			return segment{}, err
		}
		f, err := p.parseFilterOr()
		if err != nil {
			return segment{}, err
		}
		p.skipSpaces()
		if err := p.expect(')'); err != nil {
			return segment{}, err
		}
		p.skipSpaces()
		if err := p.expect(']'); err != nil {
			return segment{}, err
		}
		return segment{kind: segFilter, filter: f, jaywayText: "[?]"}, nil
	case c == '\'' || c == '"':
		var names []string
		for {
			p.skipSpaces()
			name, err := p.readQuoted()
			if err != nil {
				return segment{}, err
			}
			names = append(names, name)
			p.skipSpaces()
			if p.pos < len(s) && s[p.pos] == ',' {
				p.pos++
				continue
			}
			break
		}
		if err := p.expect(']'); err != nil {
			return segment{}, err
		}
		if len(names) == 1 {
			return nameSeg(names[0]), nil
		}
		parts := make([]string, len(names))
		for i, n := range names {
			parts[i] = "'" + n + "'"
		}
		return segment{kind: segNames, names: names, jaywayText: "[" + strings.Join(parts, ",") + "]"}, nil
	case c == '-' || c == ':' || c >= '0' && c <= '9':
		return p.parseIndexOrSlice()
	default:
		return segment{}, p.errf("unexpected character %q after '['", c)
	}
}

func (p *pathParser) expect(c byte) error {
	if p.pos >= len(p.src) {
		return p.errf("expected %q, found the end of the path", c)
	}
	if p.src[p.pos] != c {
		return p.errf("expected %q, found %q", c, p.src[p.pos])
	}
	p.pos++
	return nil
}

func (p *pathParser) readQuoted() (string, error) {
	s := p.src
	if p.pos >= len(s) || (s[p.pos] != '\'' && s[p.pos] != '"') {
		return "", p.errf("expected a quoted name")
	}
	q := s[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < len(s) {
		c := s[p.pos]
		// Only the delimiter can be escaped; any other backslash is literal,
		// as in Step Functions ($['a\"b'] names the key a\"b).
		if c == '\\' && p.pos+1 < len(s) && s[p.pos+1] == q {
			b.WriteByte(q)
			p.pos += 2
			continue
		}
		if c == q {
			p.pos++
			return b.String(), nil
		}
		b.WriteByte(c)
		p.pos++
	}
	return "", p.errf("unterminated quoted name")
}

func (p *pathParser) readInt() (int, bool, error) {
	s := p.src
	start := p.pos
	if p.pos < len(s) && s[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(s) && s[p.pos] >= '0' && s[p.pos] <= '9' {
		p.pos++
	}
	if p.pos == start {
		return 0, false, nil
	}
	n, err := strconv.Atoi(s[start:p.pos])
	if err != nil {
		p.pos = start
		return 0, false, p.errf("invalid array index")
	}
	return n, true, nil
}

func (p *pathParser) parseIndexOrSlice() (segment, error) {
	s := p.src
	from, hasFrom, err := p.readInt()
	if err != nil {
		return segment{}, err
	}
	p.skipSpaces()
	if p.pos < len(s) && s[p.pos] == ':' {
		p.pos++
		p.skipSpaces()
		to, hasTo, err := p.readInt()
		if err != nil {
			return segment{}, err
		}
		p.skipSpaces()
		if err := p.expect(']'); err != nil {
			return segment{}, err
		}
		seg := segment{kind: segSlice, from: from, hasFrom: hasFrom, to: to, hasTo: hasTo}
		var jb strings.Builder
		jb.WriteByte('[')
		if hasFrom {
			jb.WriteString(strconv.Itoa(from))
		}
		jb.WriteByte(':')
		if hasTo {
			jb.WriteString(strconv.Itoa(to))
		}
		jb.WriteByte(']')
		seg.jaywayText = jb.String()
		return seg, nil
	}
	if !hasFrom {
		return segment{}, p.errf("expected an array index")
	}
	idx := []int{from}
	for p.pos < len(s) && s[p.pos] == ',' {
		p.pos++
		p.skipSpaces()
		n, ok, err := p.readInt()
		if err != nil {
			return segment{}, err
		}
		if !ok {
			return segment{}, p.errf("expected an array index")
		}
		idx = append(idx, n)
		p.skipSpaces()
	}
	if err := p.expect(']'); err != nil {
		return segment{}, err
	}
	if len(idx) == 1 {
		return segment{kind: segIndex, index: from, jaywayText: "[" + strconv.Itoa(from) + "]"}, nil
	}
	parts := make([]string, len(idx))
	for i, n := range idx {
		parts[i] = strconv.Itoa(n)
	}
	return segment{kind: segIndexes, indexes: idx, jaywayText: "[" + strings.Join(parts, ",") + "]"}, nil
}

// notFound is the error of a definite path that selects nothing.
func (p *Path) notFound(msg string) error {
	return &Error{Name: ErrNameRuntime, Cause: "Invalid path '" + p.src + "' : " + msg, Err: ErrPathNotFound, jayway: msg}
}

// Get evaluates the path against doc, which stands for the path's root
// whatever it is ("$", "$$" or "$name"). A definite path returns the
// selected value or an *Error (States.Runtime, wrapping ErrPathNotFound)
// whose cause is Step Functions' "Invalid path '$.x' : No results for
// path: $['x']"; an indefinite path returns an array (possibly empty).
func (p *Path) Get(doc any) (any, error) {
	if p.fn != "" {
		// Step Functions accepts path functions in a definition but its
		// evaluator selects nothing with them.
		return nil, p.notFound("No results for path: " + p.jayway)
	}
	if p.definite {
		v := doc
		for i := range p.segs {
			sg := &p.segs[i]
			leaf := i == len(p.segs)-1
			switch sg.kind {
			case segName:
				m, ok := v.(map[string]any)
				if !ok {
					return nil, p.notFound(p.notObject(i, v))
				}
				nv, ok := m[sg.name]
				if !ok {
					if leaf {
						return nil, p.notFound("No results for path: " + p.jayway)
					}
					return nil, p.notFound("Missing property in path " + p.prefix(i+1))
				}
				v = nv
			case segIndex:
				a, ok := v.([]any)
				if !ok {
					if v == nil {
						return nil, p.notFound("The path " + p.prefix(i) + " is null")
					}
					return nil, p.notFound("Filter: " + sg.jaywayText + " can only be applied to arrays. Current context is: " + MarshalString(v))
				}
				idx := sg.index
				if idx < 0 {
					idx += len(a)
				}
				if idx < 0 || idx >= len(a) {
					err := p.notFound("No results for path: " + p.jayway).(*Error)
					err.indexMiss = true
					return nil, err
				}
				v = a[idx]
			}
		}
		return v, nil
	}
	out := []any{}
	w := walker{root: doc, out: out}
	if err := w.walk(doc, p.segs); err != nil {
		return nil, err
	}
	return w.out, nil
}

// Eval evaluates the path against its root in env: Input for "$",
// Context for "$$", the variable for "$name". An undefined variable is a
// States.Runtime error wrapping ErrPathNotFound.
func (p *Path) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	switch p.root {
	case RootContext:
		return p.Get(env.Context)
	case RootVariable:
		v, ok := env.Vars[p.varName]
		if !ok {
			return nil, &Error{Name: ErrNameRuntime, Cause: "Invalid path '" + p.src + "' : the variable '" + p.varName + "' is not defined", Err: ErrPathNotFound}
		}
		return p.Get(v)
	}
	return p.Get(env.Input)
}

// prefix returns Jayway's form of the first n segments.
func (p *Path) prefix(n int) string {
	var b strings.Builder
	b.WriteByte('$')
	for i := 0; i < n && i < len(p.segs); i++ {
		b.WriteString(p.segs[i].jaywayText)
	}
	return b.String()
}

func (p *Path) notObject(i int, v any) string {
	return fmt.Sprintf("Expected to find an object with property %s in path %s but found '%s'. This is not a json object according to the JsonProvider: 'com.jayway.jsonpath.spi.json.JsonSmartJsonProvider'.",
		p.segs[i].jaywayText, p.prefix(i), javaClass(v))
}

func javaClass(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "java.lang.String"
	case bool:
		return "java.lang.Boolean"
	case []any:
		return "net.minidev.json.JSONArray"
	case map[string]any:
		return "net.minidev.json.JSONObject"
	}
	if n, ok := toNumber(v); ok {
		if n.isInt {
			if n.i >= math.MinInt32 && n.i <= math.MaxInt32 {
				return "java.lang.Integer"
			}
			return "java.lang.Long"
		}
		return "java.lang.Double"
	}
	return fmt.Sprintf("%T", v)
}

// sortedKeys returns m's keys in order. Objects of the value model do not
// keep their key order, so iteration (wildcards, "..") is by sorted key.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// walk appends to out every value segs select from v (indefinite mode:
// missing properties and out-of-range indexes select nothing).
// walker collects the values an indefinite path selects.
type walker struct {
	root any
	out  []any
}

func (w *walker) walk(v any, segs []segment) error {
	if len(segs) == 0 {
		w.out = append(w.out, v)
		return nil
	}
	sg := &segs[0]
	rest := segs[1:]
	switch sg.kind {
	case segName:
		if m, ok := v.(map[string]any); ok {
			if nv, ok := m[sg.name]; ok {
				return w.walk(nv, rest)
			}
		}
	case segNames:
		if m, ok := v.(map[string]any); ok {
			for _, n := range sg.names {
				if nv, ok := m[n]; ok {
					if err := w.walk(nv, rest); err != nil {
						return err
					}
				}
			}
		}
	case segIndex:
		if a, ok := v.([]any); ok {
			idx := sg.index
			if idx < 0 {
				idx += len(a)
			}
			if idx >= 0 && idx < len(a) {
				return w.walk(a[idx], rest)
			}
		}
	case segIndexes:
		if a, ok := v.([]any); ok {
			for _, idx := range sg.indexes {
				if idx < 0 {
					idx += len(a)
				}
				if idx >= 0 && idx < len(a) {
					if err := w.walk(a[idx], rest); err != nil {
						return err
					}
				}
			}
		}
	case segWildcard:
		switch x := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(x) {
				if err := w.walk(x[k], rest); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := w.walk(e, rest); err != nil {
					return err
				}
			}
		}
	case segSlice:
		if a, ok := v.([]any); ok {
			from, to := sliceBounds(sg, len(a))
			for i := from; i < to; i++ {
				if err := w.walk(a[i], rest); err != nil {
					return err
				}
			}
		}
	case segFilter:
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				if sg.filter.match(e, w.root) {
					if err := w.walk(e, rest); err != nil {
						return err
					}
				}
			}
		case map[string]any:
			// Jayway applies a filter on an object to the object itself.
			if sg.filter.match(x, w.root) {
				return w.walk(x, rest)
			}
		}
	case segScan:
		return w.scan(v, rest)
	}
	return nil
}

// scan applies rest to v and to every descendant of v, in document order
// (pre-order, object keys sorted).
func (w *walker) scan(v any, rest []segment) error {
	if len(rest) > 0 && rest[0].kind == segWildcard {
		// "..*" selects every descendant once.
		return w.scanAll(v, rest[1:])
	}
	if err := w.walk(v, rest); err != nil {
		return err
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			switch x[k].(type) {
			case map[string]any, []any:
				if err := w.scan(x[k], rest); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, e := range x {
			switch e.(type) {
			case map[string]any, []any:
				if err := w.scan(e, rest); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *walker) scanAll(v any, rest []segment) error {
	var children []any
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			children = append(children, x[k])
		}
	case []any:
		children = x
	}
	for _, c := range children {
		if err := w.walk(c, rest); err != nil {
			return err
		}
		if err := w.scanAll(c, rest); err != nil {
			return err
		}
	}
	return nil
}

func sliceBounds(sg *segment, n int) (int, int) {
	from, to := 0, n
	if sg.hasFrom {
		from = sg.from
		if from < 0 {
			from += n
		}
	}
	if sg.hasTo {
		to = sg.to
		if to < 0 {
			to += n
		}
	}
	from = max(0, min(from, n))
	to = max(0, min(to, n))
	if to < from {
		to = from
	}
	return from, to
}
