package expr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Intrinsic is a compiled intrinsic function call such as
// "States.Format('Hello {}', $.name)". Arguments are string literals in
// single quotes (escapes \' \{ \} \\), numbers, true, false, null, paths
// ("$...", "$$...", "$name...") and nested intrinsic calls.
type Intrinsic struct {
	src  string
	call *call
}

type argKind uint8

const (
	argLiteral argKind = iota
	argPath
	argCall
)

type arg struct {
	kind argKind
	lit  any
	// holes are the byte offsets in lit (a string literal) of unescaped "{}"
	// placeholders, for States.Format.
	holes []int
	path  *Path
	call  *call
}

type call struct {
	name string // without "States."
	fn   *intrinsicFunc
	args []arg
}

// String returns the expression as written.
func (f *Intrinsic) String() string { return f.src }

// IsIntrinsic reports whether s looks like an intrinsic function call
// (starts with "States." and an identifier followed by "(").
func IsIntrinsic(s string) bool {
	s = strings.TrimLeft(s, " ")
	if !strings.HasPrefix(s, "States.") {
		return false
	}
	i := len("States.")
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i > len("States.") && i < len(s) && s[i] == '('
}

func isIdentChar(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// MustCompileIntrinsic is CompileIntrinsic that panics on error.
func MustCompileIntrinsic(s string) *Intrinsic {
	f, err := CompileIntrinsic(s)
	if err != nil {
		panic(err)
	}
	return f
}

// CompileIntrinsic compiles an intrinsic function call. Unknown functions,
// a wrong number of arguments and literal arguments of the wrong type are
// compile errors naming the offset.
func CompileIntrinsic(s string) (*Intrinsic, error) {
	p := &intrinsicParser{src: s}
	p.skipSpaces()
	c, err := p.parseCall()
	if err != nil {
		return nil, err
	}
	p.skipSpaces()
	if p.pos != len(s) {
		return nil, p.errf("unexpected %q after the function call", s[p.pos:])
	}
	return &Intrinsic{src: s, call: c}, nil
}

type intrinsicParser struct {
	src   string
	pos   int
	depth int // calls open around the current position
}

// maxIntrinsicNesting is how deep Step Functions lets intrinsic calls nest.
const maxIntrinsicNesting = 10

func (p *intrinsicParser) errf(format string, args ...any) error {
	return &CompileError{Expr: p.src, Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *intrinsicParser) skipSpaces() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func (p *intrinsicParser) parseCall() (*call, error) {
	s := p.src
	start := p.pos
	if !strings.HasPrefix(s[p.pos:], "States.") {
		return nil, p.errf("expected an intrinsic function (States.Name(...))")
	}
	p.pos += len("States.")
	nameStart := p.pos
	for p.pos < len(s) && isIdentChar(s[p.pos]) {
		p.pos++
	}
	name := s[nameStart:p.pos]
	if p.depth == maxIntrinsicNesting {
		p.pos = start
		return nil, p.errf("intrinsic functions nest at most %d deep", maxIntrinsicNesting)
	}
	p.depth++
	defer func() { p.depth-- }()
	fn := intrinsicFuncs[name]
	if fn == nil {
		p.pos = start
		return nil, p.errf("unknown intrinsic function States.%s", name)
	}
	if p.pos >= len(s) || s[p.pos] != '(' {
		return nil, p.errf("expected '(' after States.%s", name)
	}
	p.pos++
	c := &call{name: name, fn: fn}
	p.skipSpaces()
	if p.pos < len(s) && s[p.pos] == ')' {
		p.pos++
	} else {
		for {
			p.skipSpaces()
			a, err := p.parseArg()
			if err != nil {
				return nil, err
			}
			c.args = append(c.args, a)
			p.skipSpaces()
			if p.pos >= len(s) {
				return nil, p.errf("unterminated call to States.%s: expected ',' or ')'", name)
			}
			if s[p.pos] == ',' {
				p.pos++
				continue
			}
			if s[p.pos] == ')' {
				p.pos++
				break
			}
			return nil, p.errf("expected ',' or ')' in the arguments of States.%s, found %q", name, s[p.pos])
		}
	}
	n := len(c.args)
	if n < fn.minArgs || (fn.maxArgs >= 0 && n > fn.maxArgs) {
		p.pos = start
		return nil, p.errf("States.%s takes %s, got %d", name, fn.arity(), n)
	}
	return c, nil
}

func (p *intrinsicParser) parseArg() (arg, error) {
	s := p.src
	if p.pos >= len(s) {
		return arg{}, p.errf("expected an argument")
	}
	switch c := s[p.pos]; {
	case c == '\'':
		return p.parseString()
	case c == '$':
		start := p.pos
		pp := &pathParser{src: s, pos: p.pos}
		path, err := pp.parseEmbedded()
		if err != nil {
			return arg{}, err
		}
		p.pos = pp.pos
		path.src = s[start:p.pos]
		return arg{kind: argPath, path: path}, nil
	case c == 'S':
		sub, err := p.parseCall()
		if err != nil {
			return arg{}, err
		}
		return arg{kind: argCall, call: sub}, nil
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(s) && strings.IndexByte("0123456789.eE+-", s[p.pos]) >= 0 {
			p.pos++
		}
		lit := s[start:p.pos]
		if _, err := strconv.ParseFloat(lit, 64); err != nil {
			p.pos = start
			return arg{}, p.errf("invalid number %q", lit)
		}
		return arg{kind: argLiteral, lit: normalizeNumber(lit)}, nil
	default:
		for _, w := range []struct {
			word string
			v    any
		}{{"true", true}, {"false", false}, {"null", nil}} {
			if strings.HasPrefix(s[p.pos:], w.word) && (p.pos+len(w.word) == len(s) || !isIdentChar(s[p.pos+len(w.word)])) {
				p.pos += len(w.word)
				return arg{kind: argLiteral, lit: w.v}, nil
			}
		}
	}
	return arg{}, p.errf("unexpected %q: expected a 'string', a number, true, false, null, a path or an intrinsic function", s[p.pos])
}

// parseString reads a single-quoted literal. \' \\ \{ \} are escapes; an
// unescaped "{}" is recorded as a States.Format placeholder.
func (p *intrinsicParser) parseString() (arg, error) {
	s := p.src
	start := p.pos
	p.pos++
	var b strings.Builder
	var holes []int
	for p.pos < len(s) {
		c := s[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(s) && strings.IndexByte(`'\{}`, s[p.pos+1]) >= 0:
			b.WriteByte(s[p.pos+1])
			p.pos += 2
		case c == '\'':
			p.pos++
			return arg{kind: argLiteral, lit: b.String(), holes: holes}, nil
		case c == '{' && p.pos+1 < len(s) && s[p.pos+1] == '}':
			holes = append(holes, b.Len())
			b.WriteString("{}")
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	p.pos = start
	return arg{}, p.errf("unterminated string literal")
}

// parseEmbedded parses a path that ends where the enclosing expression's
// syntax continues (',' ')' or a space).
func (p *pathParser) parseEmbedded() (*Path, error) {
	s := p.src
	start := p.pos
	path := &Path{definite: true}
	p.pos++
	switch {
	case p.pos < len(s) && s[p.pos] == '$':
		path.root = RootContext
		p.pos++
	case p.pos < len(s) && isVarStart(s[p.pos]):
		path.root = RootVariable
		i := p.pos
		for i < len(s) && isVarChar(s[i]) {
			i++
		}
		path.varName = s[p.pos:i]
		p.pos = i
	}
	segs, fn, err := p.parseSegments(true)
	if err != nil {
		return nil, err
	}
	path.segs, path.fn = segs, fn
	path.src = s[start:p.pos]
	var jb strings.Builder
	jb.WriteByte('$')
	for i := range segs {
		if !segs[i].definite() {
			path.definite = false
		}
		jb.WriteString(segs[i].jaywayText)
	}
	path.jayway = jb.String()
	return path, nil
}

// normalizeNumber turns a numeric literal into a JSON number, writing
// integers canonically ("-0" is 0).
func normalizeNumber(lit string) any {
	if i, err := strconv.ParseInt(lit, 10, 64); err == nil {
		return Int(i)
	}
	return json.Number(lit)
}

// Eval evaluates the call. Failures are *Error: States.IntrinsicFailure
// for invalid arguments, States.Runtime for a path argument that selects
// nothing; the cause reads "The function '<the expression>' had the
// following error: ...", as in Step Functions.
func (f *Intrinsic) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	v, err := f.call.eval(env)
	if err != nil {
		if e, ok := err.(*Error); ok {
			// Step Functions names the whole expression as written.
			return nil, &Error{Name: e.Name, Err: e.Err, Cause: "The function '" + f.src + "' had the following error: " + e.Cause}
		}
		return nil, err
	}
	return v, nil
}

func (c *call) eval(env *Env) (any, error) {
	var buf [4]any
	vals := buf[:0]
	for i := range c.args {
		v, err := c.args[i].eval(env)
		if err != nil {
			return nil, err
		}
		vals = append(vals, v)
	}
	return c.fn.impl(callCtx{call: c, env: env}, vals)
}

func (a *arg) eval(env *Env) (any, error) {
	switch a.kind {
	case argPath:
		v, err := a.path.Eval(env)
		if err != nil {
			if e, ok := err.(*Error); ok && e.Err == ErrPathNotFound {
				if e.jayway != "" && !strings.HasPrefix(e.jayway, "No results for path") && !strings.HasPrefix(e.jayway, "Missing property in path") {
					// A type mismatch on the way: Step Functions reports the
					// JSONPath evaluator's own message.
					return nil, &Error{Name: ErrNameRuntime, Err: ErrPathNotFound, Cause: e.jayway}
				}
				doc := env.Input
				switch a.path.root {
				case RootContext:
					doc = env.Context
				case RootVariable:
					doc = env.Vars[a.path.varName]
				}
				return nil, &Error{Name: ErrNameRuntime, Err: ErrPathNotFound,
					Cause: "The JsonPath argument for the field '" + a.path.src + "' could not be found in the input '" + MarshalString(doc) + "'"}
			}
			return nil, err
		}
		return v, nil
	case argCall:
		return a.call.eval(env)
	}
	return a.lit, nil
}

type callCtx struct {
	call *call
	env  *Env
}

// fail returns a States.IntrinsicFailure error for the current function.
func (c callCtx) fail(format string, args ...any) error {
	return &Error{Name: ErrNameIntrinsicFailure, Cause: "Invalid arguments in States." + c.call.name + ": " + fmt.Sprintf(format, args...)}
}
