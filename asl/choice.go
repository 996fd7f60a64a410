package asl

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/asl/expr"
)

type opKind int

const (
	opString opKind = iota
	opNumeric
	opBoolean
	opTimestamp
	opMatches
	opIs
)

type opInfo struct {
	kind opKind
	cmp  string // "eq", "lt", "gt", "le", "ge"; for opIs the type name
	path bool
}

var operators = map[string]opInfo{}

func init() {
	cmps := map[string]string{"Equals": "eq", "LessThan": "lt", "GreaterThan": "gt", "LessThanEquals": "le", "GreaterThanEquals": "ge"}
	for prefix, kind := range map[string]opKind{"String": opString, "Numeric": opNumeric, "Timestamp": opTimestamp} {
		for suffix, c := range cmps {
			operators[prefix+suffix] = opInfo{kind: kind, cmp: c}
			operators[prefix+suffix+"Path"] = opInfo{kind: kind, cmp: c, path: true}
		}
	}
	operators["BooleanEquals"] = opInfo{kind: opBoolean, cmp: "eq"}
	operators["BooleanEqualsPath"] = opInfo{kind: opBoolean, cmp: "eq", path: true}
	operators["StringMatches"] = opInfo{kind: opMatches}
	for _, t := range []string{"IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"} {
		operators[t] = opInfo{kind: opIs, cmp: t}
	}
}

// choiceRule is one rule of a Choice state (top-level rules carry Next).
type choiceRule struct {
	ptr  string
	next string
	// combinators
	and, or []*choiceRule
	not     *choiceRule
	// comparison
	variable *pathSpec
	opName   string
	op       opInfo
	operand  any       // literal operand
	opPath   *pathSpec // *Path operand
	opTime   time.Time
	opNum    *big.Float
	pattern  string
	glob     globPattern
	opFloat  float64 // opNum as a float64, for the fast comparison
	// JSONata
	condition evaluator
	condSrc   string
	output    evaluator
	assign    *assignSpec
}

func (p *parser) choice(o *obj, s *state) {
	arr, ok := o.array("Choices")
	if !ok {
		if !o.has("Choices") {
			o.err("", "These fields are required: [Choices]")
		}
	} else if len(arr) == 0 {
		o.err("Choices", "must contain at least one rule")
	}
	for i, e := range arr {
		ptr := fmt.Sprintf("%s/%d", o.at("Choices"), i)
		m, ok := e.(map[string]any)
		if !ok {
			p.errs.add(ptr, "must be an object")
			continue
		}
		r := p.choiceRule(m, ptr, s, true)
		if r != nil {
			s.choices = append(s.choices, r)
		}
	}
	if d, ok := o.str("Default"); ok {
		s.defaultNext = d
	}
}

func (p *parser) choiceRule(m map[string]any, ptr string, s *state, top bool) *choiceRule {
	o := p.obj(m, ptr)
	r := &choiceRule{ptr: ptr}
	allowed := []string{"Comment"}
	if top {
		allowed = append(allowed, "Next", "Assign")
		if next, ok := o.str("Next"); ok {
			r.next = next
		} else if !o.has("Next") {
			o.err("", "These fields are required: [Next]")
		}
		if v, ok := m["Assign"]; ok {
			r.assign = p.assign(o, "Assign", v, s.ql)
		}
	} else if o.has("Next") {
		o.err("Next", "a nested choice rule may not have Next")
		allowed = append(allowed, "Next")
	}
	if s.ql == JSONata {
		allowed = append(allowed, "Condition")
		if top {
			allowed = append(allowed, "Output")
			if v, ok := m["Output"]; ok {
				r.output = p.jsonata(o, "Output", v)
			}
		}
		switch v := m["Condition"].(type) {
		case string:
			if !isJSONataString(v) {
				o.err("Condition", "must be a JSONata expression {%% ... %%}")
			} else {
				r.condition = p.jsonata(o, "Condition", v)
				r.condSrc = v
			}
		case bool:
			r.condition = p.jsonata(o, "Condition", v)
			r.condSrc = fmt.Sprint(v)
		case nil:
			if !o.has("Condition") {
				o.err("", "These fields are required: [Condition]")
			} else {
				o.err("Condition", "must be a JSONata expression")
			}
		default:
			o.err("Condition", "must be a JSONata expression, not %s", expr.TypeName(v))
		}
		o.allow(allowed...)
		return r
	}
	if o.has("Condition") {
		o.err("Condition", "field \"Condition\" is not supported when QueryLanguage is JSONPath")
	}
	var ops []string
	for k := range m {
		if _, ok := operators[k]; ok {
			ops = append(ops, k)
		}
	}
	sort.Strings(ops)
	n := len(ops)
	for _, c := range []string{"And", "Or", "Not"} {
		if o.has(c) {
			n++
		}
	}
	if n != 1 {
		if n == 0 {
			o.err("", "a choice rule needs one comparison operator or one of And, Or, Not")
		} else {
			o.err("", "a choice rule may have only one comparison operator or combinator")
		}
		o.allow(append(allowed, append(ops, "Variable", "And", "Or", "Not")...)...)
		return r
	}
	switch {
	case o.has("And") || o.has("Or"):
		name := "And"
		if o.has("Or") {
			name = "Or"
		}
		allowed = append(allowed, name)
		arr, ok := o.array(name)
		if ok && len(arr) == 0 {
			o.err(name, "must contain at least one rule")
		}
		for i, e := range arr {
			cptr := fmt.Sprintf("%s/%d", o.at(name), i)
			cm, ok := e.(map[string]any)
			if !ok {
				p.errs.add(cptr, "must be an object")
				continue
			}
			if c := p.choiceRule(cm, cptr, s, false); c != nil {
				if name == "And" {
					r.and = append(r.and, c)
				} else {
					r.or = append(r.or, c)
				}
			}
		}
	case o.has("Not"):
		allowed = append(allowed, "Not")
		if cm, ok := o.object("Not"); ok {
			r.not = p.choiceRule(cm, o.at("Not"), s, false)
		}
	default:
		op := ops[0]
		allowed = append(allowed, "Variable", op)
		r.opName, r.op = op, operators[op]
		r.variable = p.path(o, "Variable")
		if !o.has("Variable") {
			o.err("", "These fields are required: [Variable]")
		}
		p.operand(o, r)
	}
	o.allow(allowed...)
	return r
}

func (p *parser) operand(o *obj, r *choiceRule) {
	name := r.opName
	v := o.m[name]
	if r.op.path {
		r.opPath = p.path(o, name)
		return
	}
	switch r.op.kind {
	case opString, opMatches:
		s, ok := v.(string)
		if !ok {
			o.err(name, "must be a string, not %s", expr.TypeName(v))
			return
		}
		r.operand = s
		r.pattern = s
		if r.op.kind == opMatches {
			r.glob = compileGlob(s)
		}
	case opNumeric:
		n, ok := v.(json.Number)
		if !ok {
			o.err(name, "must be a number, not %s", expr.TypeName(v))
			return
		}
		f, _, err := big.ParseFloat(string(n), 10, 200, big.ToNearestEven)
		if err != nil {
			o.err(name, "must be a number, not %s", n)
			return
		}
		r.opNum = f
		r.opFloat, _ = f.Float64()
	case opBoolean, opIs:
		b, ok := v.(bool)
		if !ok {
			o.err(name, "must be a boolean, not %s", expr.TypeName(v))
			return
		}
		r.operand = b
	case opTimestamp:
		s, ok := v.(string)
		if !ok {
			o.err(name, "must be a timestamp string, not %s", expr.TypeName(v))
			return
		}
		t, ok := parseTimestamp(s)
		if !ok {
			o.err(name, "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z, not %q", s)
			return
		}
		r.opTime = t
	}
}

// parseTimestamp parses the timestamps the States Language accepts
// (RFC 3339 with an upper-case T and an offset or Z).
func parseTimestamp(s string) (time.Time, bool) {
	if len(s) < 20 || s[10] != 'T' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// eval evaluates a JSONPath choice rule.
func (r *choiceRule) eval(env *expr.Env) (bool, *stateError) {
	switch {
	case r.and != nil:
		for _, c := range r.and {
			ok, err := c.eval(env)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case r.or != nil:
		for _, c := range r.or {
			ok, err := c.eval(env)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case r.not != nil:
		ok, err := r.not.eval(env)
		return !ok && err == nil, err
	}
	if r.variable == nil {
		return false, nil
	}
	v, found, err := r.variable.get(env)
	if err != nil {
		return false, err
	}
	if r.op.kind == opIs && r.op.cmp == "IsPresent" {
		return found == r.operand.(bool), nil
	}
	if !found {
		return false, runtimeErr("Invalid path '%s': The choice state's condition path references an invalid value.", r.variable.src)
	}
	if r.op.kind == opIs {
		want := r.operand.(bool)
		var is bool
		switch r.op.cmp {
		case "IsNull":
			is = v == nil
		case "IsNumeric":
			is = expr.IsNumber(v)
		case "IsString":
			_, is = v.(string)
		case "IsBoolean":
			_, is = v.(bool)
		case "IsTimestamp":
			s, ok := v.(string)
			if ok {
				_, is = parseTimestamp(s)
			}
		}
		return is == want, nil
	}
	operand := r.operand
	opTime, opNum, opFloat := r.opTime, r.opNum, r.opFloat
	if r.op.path {
		ov, found, err := r.opPath.get(env)
		if err != nil {
			return false, err
		}
		if !found {
			return false, runtimeErr("Invalid path '%s': The choice state's condition path references an invalid value.", r.opPath.src)
		}
		switch r.op.kind {
		case opString, opBoolean:
			operand = ov
		case opNumeric:
			n, ok := asNumber(ov)
			if !ok {
				return false, nil
			}
			f, _, err := big.ParseFloat(string(n), 10, 200, big.ToNearestEven)
			if err != nil {
				return false, nil
			}
			opNum = f
			opFloat, _ = f.Float64()
		case opTimestamp:
			s, ok := ov.(string)
			if !ok {
				return false, nil
			}
			t, ok := parseTimestamp(s)
			if !ok {
				return false, nil
			}
			opTime = t
		}
	}
	switch r.op.kind {
	case opString:
		a, ok1 := v.(string)
		b, ok2 := operand.(string)
		if !ok1 || !ok2 {
			return false, nil
		}
		return cmpResult(strings.Compare(a, b), r.op.cmp), nil
	case opMatches:
		a, ok := v.(string)
		if !ok {
			return false, nil
		}
		return r.glob.match(a), nil
	case opNumeric:
		n, ok := asNumber(v)
		if !ok || opNum == nil {
			return false, nil
		}
		// float64 decides unless the two round to the same float, in
		// which case the exact decimal values are compared.
		if x, err := strconv.ParseFloat(string(n), 64); err == nil && x != opFloat {
			c := -1
			if x > opFloat {
				c = 1
			}
			return cmpResult(c, r.op.cmp), nil
		}
		f, _, err := big.ParseFloat(string(n), 10, 200, big.ToNearestEven)
		if err != nil {
			return false, nil
		}
		return cmpResult(f.Cmp(opNum), r.op.cmp), nil
	case opBoolean:
		a, ok1 := v.(bool)
		b, ok2 := operand.(bool)
		return ok1 && ok2 && a == b, nil
	case opTimestamp:
		s, ok := v.(string)
		if !ok {
			return false, nil
		}
		t, ok := parseTimestamp(s)
		if !ok {
			return false, nil
		}
		return cmpResult(t.Compare(opTime), r.op.cmp), nil
	}
	return false, nil
}

// asNumber returns a JSON number of any Go numeric type as json.Number.
func asNumber(v any) (json.Number, bool) {
	if n, ok := v.(json.Number); ok {
		return n, true
	}
	if f, ok := toFloat(v); ok {
		return expr.Float(f), true
	}
	return "", false
}

func cmpResult(c int, op string) bool {
	switch op {
	case "eq":
		return c == 0
	case "lt":
		return c < 0
	case "gt":
		return c > 0
	case "le":
		return c <= 0
	case "ge":
		return c >= 0
	}
	return false
}

// globPattern is a compiled StringMatches pattern: literal segments
// separated by '*' wildcards.
type globPattern struct {
	segs        []string // literal runs, escapes resolved
	leadingStar bool     // the pattern starts with '*'
	trailStar   bool     // the pattern ends with '*'
}

// compileGlob reads a StringMatches pattern: '*' matches any run of
// characters, '\*' a literal star and '\\' a literal backslash.
func compileGlob(pattern string) globPattern {
	var g globPattern
	var cur strings.Builder
	stars := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			i++
			cur.WriteByte(pattern[i])
		case c == '*':
			if i == 0 {
				g.leadingStar = true
			}
			if i == len(pattern)-1 {
				g.trailStar = true
			}
			g.segs = append(g.segs, cur.String())
			cur.Reset()
			stars++
		default:
			cur.WriteByte(c)
		}
	}
	g.segs = append(g.segs, cur.String())
	return g
}

// match reports whether s matches the pattern. Segments are matched
// leftmost-first, which is exact for patterns whose only wildcard is '*'.
func (g *globPattern) match(s string) bool {
	if len(g.segs) == 1 {
		return s == g.segs[0]
	}
	first, last := g.segs[0], g.segs[len(g.segs)-1]
	if !strings.HasPrefix(s, first) {
		return false
	}
	s = s[len(first):]
	if len(s) < len(last) || !strings.HasSuffix(s, last) {
		return false
	}
	s = s[:len(s)-len(last)]
	for _, seg := range g.segs[1 : len(g.segs)-1] {
		i := strings.Index(s, seg)
		if i < 0 {
			return false
		}
		s = s[i+len(seg):]
	}
	return true
}

// wildcardMatch matches s against a StringMatches pattern.
func wildcardMatch(pattern, s string) bool {
	g := compileGlob(pattern)
	return g.match(s)
}
