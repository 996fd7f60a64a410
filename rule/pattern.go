package rule

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// PatternError reports an invalid event pattern: where it is (a JSON
// Pointer into the pattern and a byte offset) and what is wrong. Messages
// follow EventBridge's wording.
type PatternError struct {
	Pointer string // JSON Pointer (RFC 6901) to the offending value; "" is the whole pattern
	Offset  int    // byte offset of that value in the pattern text
	Message string
}

func (e *PatternError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(root)"
	}
	return fmt.Sprintf("%s: %s", p, e.Message)
}

// Pattern is a compiled event pattern.
type Pattern struct {
	src  string
	subs []subRule
}

// String returns the pattern's source text.
func (p *Pattern) String() string { return p.src }

// subRule is one conjunction of field conditions; a pattern with $or
// expands into several.
type subRule struct {
	fields []fieldCond // sorted by path
}

// fieldCond is the condition on one flattened path: any of its matchers.
type fieldCond struct {
	path string
	ms   []*matcher
}

type matchKind uint8

const (
	mExact matchKind = iota
	mPrefix
	mSuffix
	mFold
	mPrefixFold
	mSuffixFold
	mWildcard
	mNumeric
	mCIDR
	mIP // an IP address literal: equal to any spelling of the address
	mExists
	mAbsent
	mButValues   // anything-but strings or numbers
	mButPrefix   // anything-but {prefix}
	mButSuffix   // anything-but {suffix}
	mButFold     // anything-but {equals-ignore-case}
	mButWildcard // anything-but {wildcard}
)

// matcher is one value condition.
type matcher struct {
	kind matchKind
	key  string // exact: value key; prefix/suffix: text (folded for *Fold)
	set  map[string]bool
	strs []string // anything-but prefix/suffix lists (folded for mButFold)
	wild []*wildcard
	// numeric
	lo, hi         float64
	loOpen, hiOpen bool
	ip             ipRange
	sig            string
}

// ParsePattern compiles an event pattern written in EventBridge's pattern
// language. Numbers keep their literal text. An invalid pattern yields a
// *PatternError (or a *SyntaxError for text that is not JSON).
func ParsePattern(text []byte) (*Pattern, error) {
	root, err := parseJSON(text)
	if err != nil {
		return nil, err
	}
	return compilePattern(root, string(text))
}

// MustParsePattern is ParsePattern for patterns known to be valid; it
// panics on error.
func MustParsePattern(text string) *Pattern {
	p, err := ParsePattern([]byte(text))
	if err != nil {
		panic(err)
	}
	return p
}

func compilePattern(root *jnode, src string) (*Pattern, error) {
	c := &compiler{}
	if root.kind != jObject {
		return nil, &PatternError{Offset: root.off, Message: "Filter is not an object"}
	}
	if err := c.object(root, nil, "", false); err != nil {
		return nil, err
	}
	p := &Pattern{src: src}
	for _, r := range c.rules {
		var sr subRule
		for path, ms := range r {
			sr.fields = append(sr.fields, fieldCond{path: path, ms: ms})
		}
		sort.Slice(sr.fields, func(i, j int) bool { return sr.fields[i].path < sr.fields[j].path })
		p.subs = append(p.subs, sr)
	}
	return p, nil
}

// MaxCombinations bounds how many alternatives a pattern's $or branches
// may expand to (the product of the branch counts of nested and sibling
// $or arrays), as EventBridge bounds rule complexity.
const MaxCombinations = 1000

type compiler struct {
	rules []map[string][]*matcher
}

func perr(n *jnode, ptr, format string, args ...any) error {
	return &PatternError{Pointer: ptr, Offset: n.off, Message: fmt.Sprintf(format, args...)}
}

// reservedInOr are names that cannot be field names inside $or.
var reservedInOr = map[string]bool{
	"exactly": true, "equals-ignore-case": true, "prefix": true, "suffix": true, "anything-but": true,
	"exists": true, "wildcard": true, "numeric": true, "cidr": true,
	"=": true, "<": true, "<=": true, ">": true, ">=": true,
	"regex": true, "not-wildcard": true, "not-equals-ignore-case": true,
	"date-after": true, "date-on-or-after": true, "date-before": true, "date-on-or-before": true, "in-date-range": true,
	"ip-address-in-range": true, "ip-address-not-in-range": true,
}

func (c *compiler) object(n *jnode, path []string, ptr string, inOr bool) error {
	if len(n.keys) == 0 {
		return perr(n, ptr, "Empty objects are not allowed")
	}
	for i, k := range n.keys {
		v := n.vals[i]
		p := ptr + "/" + escapePointerToken(k)
		if k == "$or" {
			if err := c.or(v, path, p); err != nil {
				return err
			}
			continue
		}
		if inOr && reservedInOr[k] {
			return perr(v, p, "%s is Ruler reserved fieldName which cannot be used inside $or.", k)
		}
		switch v.kind {
		case jObject:
			if err := c.object(v, append(path[:len(path):len(path)], k), p, inOr); err != nil {
				return err
			}
		case jArray:
			if err := c.values(v, strings.Join(append(path[:len(path):len(path)], k), "."), p); err != nil {
				return err
			}
		default:
			return perr(v, p, "%q must be an object or an array", k)
		}
	}
	return nil
}

func copyRules(rs []map[string][]*matcher) []map[string][]*matcher {
	out := make([]map[string][]*matcher, len(rs))
	for i, r := range rs {
		m := make(map[string][]*matcher, len(r))
		for k, v := range r {
			m[k] = v
		}
		out[i] = m
	}
	return out
}

func (c *compiler) or(v *jnode, path []string, ptr string) error {
	current := copyRules(c.rules)
	if v.kind != jArray {
		return perr(v, ptr, "It must be an Array followed with $or.")
	}
	var all []map[string][]*matcher
	for i, e := range v.elems {
		if e.kind != jObject {
			return perr(e, fmt.Sprintf("%s/%d", ptr, i), "Only JSON object is allowed in array of $or relationship.")
		}
		c.rules = copyRules(current)
		if len(c.rules) == 0 {
			c.rules = append(c.rules, map[string][]*matcher{})
		}
		if err := c.object(e, path, fmt.Sprintf("%s/%d", ptr, i), true); err != nil {
			return err
		}
		all = append(all, c.rules...)
		if len(all) > MaxCombinations {
			return perr(v, ptr, "Rule is too complex: its $or branches expand to more than %d combinations", MaxCombinations)
		}
	}
	if len(v.elems) < 2 {
		return perr(v, ptr, "There must have at least 2 Objects in $or relationship.")
	}
	c.rules = all
	return nil
}

func (c *compiler) values(v *jnode, name, ptr string) error {
	var ms []*matcher
	for i, e := range v.elems {
		p := fmt.Sprintf("%s/%d", ptr, i)
		switch e.kind {
		case jObject:
			m, err := matchExpression(e, p)
			if err != nil {
				return err
			}
			ms = append(ms, m)
		case jString:
			if looksLikeIPv4(e.str) || looksLikeIPv6(e.str) {
				if a, v4, ok := parseIP(e.str); ok {
					ms = append(ms, &matcher{kind: mIP, ip: ipRange{lo: a, hi: a, v4: v4}})
					continue
				}
			}
			ms = append(ms, &matcher{kind: mExact, key: stringKey(e.str)})
		case jNumber:
			ms = append(ms, &matcher{kind: mExact, key: numberKey(e.str)})
		case jTrue:
			ms = append(ms, &matcher{kind: mExact, key: string(tagTrue)})
		case jFalse:
			ms = append(ms, &matcher{kind: mExact, key: string(tagFalse)})
		case jNull:
			ms = append(ms, &matcher{kind: mExact, key: string(tagNull)})
		default:
			return perr(e, p, "Match value must be String, number, true, false, or null")
		}
	}
	if len(ms) == 0 {
		return perr(v, ptr, "Empty arrays are not allowed")
	}
	ms = canonMatchers(ms)
	if len(c.rules) == 0 {
		c.rules = append(c.rules, map[string][]*matcher{})
	}
	for _, r := range c.rules {
		r[name] = ms
	}
	return nil
}

// canonMatchers computes signatures and removes duplicates.
func canonMatchers(ms []*matcher) []*matcher {
	seen := map[string]bool{}
	out := ms[:0]
	for _, m := range ms {
		m.sig = m.signature()
		if seen[m.sig] {
			continue
		}
		seen[m.sig] = true
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sig < out[j].sig })
	return out
}

func (m *matcher) signature() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", m.kind)
	switch m.kind {
	case mExact, mPrefix, mSuffix, mFold, mPrefixFold, mSuffixFold:
		b.WriteString(m.key)
	case mWildcard:
		b.WriteString(m.wild[0].src)
	case mNumeric:
		fmt.Fprintf(&b, "%v%x,%x%v", m.loOpen, math.Float64bits(m.lo), math.Float64bits(m.hi), m.hiOpen)
	case mCIDR, mIP:
		fmt.Fprintf(&b, "%v%x-%x", m.ip.v4, m.ip.lo, m.ip.hi)
	case mButValues:
		keys := make([]string, 0, len(m.set))
		for k := range m.set {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%q,", k)
		}
	case mButPrefix, mButSuffix, mButFold:
		s := append([]string(nil), m.strs...)
		sort.Strings(s)
		for _, k := range s {
			fmt.Fprintf(&b, "%q,", k)
		}
	case mButWildcard:
		var s []string
		for _, w := range m.wild {
			s = append(s, w.src)
		}
		sort.Strings(s)
		for _, k := range s {
			fmt.Fprintf(&b, "%q,", k)
		}
	}
	return b.String()
}

// matchExpression compiles one {operator: argument} object.
func matchExpression(n *jnode, ptr string) (*matcher, error) {
	if len(n.keys) == 0 {
		return nil, perr(n, ptr, "Match expression name not found")
	}
	name, v := n.keys[0], n.vals[0]
	p := ptr + "/" + escapePointerToken(name)
	oneKey := func(m *matcher, msg string) (*matcher, error) {
		if len(n.keys) > 1 {
			return nil, perr(n.vals[1], ptr+"/"+escapePointerToken(n.keys[1]), "%s", msg)
		}
		return m, nil
	}
	const onlyOne = "Only one key allowed in match expression"
	switch name {
	case "prefix", "suffix":
		kind, foldKind := mPrefix, mPrefixFold
		if name == "suffix" {
			kind, foldKind = mSuffix, mSuffixFold
		}
		if v.kind == jObject {
			title := strings.ToUpper(name[:1]) + name[1:]
			if len(v.keys) == 0 {
				return nil, perr(v, p, "%s expression name not found", title)
			}
			if v.keys[0] != "equals-ignore-case" {
				return nil, perr(v.vals[0], p+"/"+escapePointerToken(v.keys[0]), "Unsupported %s pattern: %s", name, v.keys[0])
			}
			a := v.vals[0]
			if a.kind != jString {
				return nil, perr(a, p+"/equals-ignore-case", "equals-ignore-case match pattern must be a string")
			}
			if len(v.keys) > 1 {
				return nil, perr(v.vals[1], p+"/"+escapePointerToken(v.keys[1]), onlyOne)
			}
			return oneKey(&matcher{kind: foldKind, key: fold(a.str)}, onlyOne)
		}
		if v.kind != jString {
			return nil, perr(v, p, "%s match pattern must be a string", name)
		}
		return oneKey(&matcher{kind: kind, key: v.str}, onlyOne)
	case "equals-ignore-case":
		if v.kind != jString {
			return nil, perr(v, p, "equals-ignore-case match pattern must be a string")
		}
		return oneKey(&matcher{kind: mFold, key: fold(v.str)}, onlyOne)
	case "wildcard":
		if v.kind != jString {
			return nil, perr(v, p, "wildcard match pattern must be a string")
		}
		w, err := parseWildcard(v.str)
		if err != nil {
			return nil, perr(v, p, "%s", err.Error())
		}
		return oneKey(&matcher{kind: mWildcard, wild: []*wildcard{w}}, onlyOne)
	case "exists":
		var m *matcher
		switch v.kind {
		case jTrue:
			m = &matcher{kind: mExists}
		case jFalse:
			m = &matcher{kind: mAbsent}
		default:
			return nil, perr(v, p, "exists match pattern must be either true or false.")
		}
		return oneKey(m, onlyOne)
	case "cidr":
		if v.kind != jString {
			return nil, perr(v, p, "prefix match pattern must be a string")
		}
		r, err := parseCIDR(v.str)
		if err != nil {
			return nil, perr(v, p, "%s", err.Error())
		}
		return oneKey(&matcher{kind: mCIDR, ip: r}, onlyOne)
	case "numeric":
		if v.kind != jArray {
			return nil, perr(v, p, "Value of numeric must be an array.")
		}
		m, err := numericExpression(v, p)
		if err != nil {
			return nil, err
		}
		return oneKey(m, "Too many elements in numeric expression")
	case "anything-but":
		m, err := anythingBut(v, p)
		if err != nil {
			return nil, err
		}
		return oneKey(m, "Too many elements in numeric expression")
	default:
		return nil, perr(v, p, "Unrecognized match type %s", name)
	}
}

func numericValue(n *jnode, ptr string) (float64, error) {
	f, _ := parseNumber([]byte(n.str))
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, perr(n, ptr, "Value %s is out of range: numbers must be finite doubles", n.str)
	}
	if f == 0 {
		if _, zero := sigDigits([]byte(n.str)); !zero {
			return 0, perr(n, ptr, "Value %s is out of range: it is too small for a double", n.str)
		}
	}
	return f, nil
}

func numericExpression(arr *jnode, ptr string) (*matcher, error) {
	el := arr.elems
	at := func(i int) (*jnode, string) {
		if i < len(el) {
			return el[i], fmt.Sprintf("%s/%d", ptr, i)
		}
		return arr, ptr
	}
	text := func(i int) string {
		if i < len(el) {
			if el[i].kind == jString || el[i].kind == jNumber {
				return el[i].str
			}
			return el[i].kind.String()
		}
		return "]"
	}
	n0, p0 := at(0)
	if len(el) == 0 || el[0].kind != jString {
		return nil, perr(n0, p0, "Invalid member in numeric match: %s", text(0))
	}
	op := el[0].str
	n1, p1 := at(1)
	isNum := len(el) > 1 && el[1].kind == jNumber
	m := &matcher{kind: mNumeric, lo: math.Inf(-1), hi: math.Inf(1)}
	switch op {
	case "=", ">=", ">", "<=", "<":
	default:
		return nil, perr(n0, p0, "Unrecognized numeric range operator: %s", op)
	}
	if !isNum {
		what := op
		if op == "=" {
			what = "equals"
		}
		return nil, perr(n1, p1, "Value of %s must be numeric", what)
	}
	f, err := numericValue(n1, p1)
	if err != nil {
		return nil, err
	}
	tooMany := func(i int) error {
		n, p := at(i)
		return perr(n, p, "Too many elements in numeric expression")
	}
	switch op {
	case "=":
		if len(el) > 2 {
			return nil, tooMany(2)
		}
		m.lo, m.hi = f, f
		return m, nil
	case "<=", "<":
		if len(el) > 2 {
			return nil, tooMany(2)
		}
		m.hi, m.hiOpen = f, op == "<"
		return m, nil
	}
	m.lo, m.loOpen = f, op == ">"
	if len(el) == 2 {
		return m, nil
	}
	n2, p2 := at(2)
	if el[2].kind != jString {
		return nil, perr(n2, p2, "Bad value in numeric range: %s", text(2))
	}
	op2 := el[2].str
	if op2 != "<" && op2 != "<=" {
		return nil, perr(n2, p2, "Bad numeric range operator: %s", op2)
	}
	n3, p3 := at(3)
	if len(el) < 4 || el[3].kind != jNumber {
		return nil, perr(n3, p3, "Value of %s must be numeric", op2)
	}
	top, err := numericValue(n3, p3)
	if err != nil {
		return nil, err
	}
	if len(el) > 4 {
		n4, p4 := at(4)
		return nil, perr(n4, p4, "Too many terms in numeric range expression")
	}
	if !(m.lo < top) {
		return nil, perr(arr, ptr, "Bottom must be less than top")
	}
	m.hi, m.hiOpen = top, op2 == "<"
	return m, nil
}

func anythingBut(v *jnode, ptr string) (*matcher, error) {
	kind := mButValues
	arg, argPtr := v, ptr
	if v.kind == jObject {
		if len(v.keys) == 0 {
			return nil, perr(v, ptr, "Anything-But expression name not found")
		}
		op := v.keys[0]
		argPtr = ptr + "/" + escapePointerToken(op)
		switch op {
		case "equals-ignore-case":
			kind = mButFold
		case "prefix":
			kind = mButPrefix
		case "suffix":
			kind = mButSuffix
		case "wildcard":
			kind = mButWildcard
		default:
			return nil, perr(v.vals[0], argPtr, "Unsupported anything-but pattern: %s", op)
		}
		arg = v.vals[0]
	}
	switch arg.kind {
	case jArray, jString, jNumber:
	default:
		return nil, perr(arg, argPtr, "Value of anything-but must be an array or single string/number value.")
	}
	elems := []*jnode{arg}
	list := arg.kind == jArray
	if list {
		elems = arg.elems
	}
	m := &matcher{kind: kind}
	if kind == mButValues {
		hasNum, hasStr := false, false
		m.set = map[string]bool{}
		for i, e := range elems {
			p := argPtr
			if list {
				p = fmt.Sprintf("%s/%d", argPtr, i)
			}
			switch e.kind {
			case jString:
				hasStr = true
				m.set[stringKey(e.str)] = true
			case jNumber:
				hasNum = true
				m.set[numberKey(e.str)] = true
			default:
				if list {
					return nil, perr(e, p, "Inside anything but list, start|null|boolean is not supported.")
				}
				return nil, perr(e, p, "Inside anything-but list, start|null|boolean is not supported.")
			}
		}
		if hasNum == hasStr {
			return nil, perr(arg, argPtr, "Inside anything but list, either all values are number or string, mixed type is not supported")
		}
	} else {
		for i, e := range elems {
			p := argPtr
			if list {
				p = fmt.Sprintf("%s/%d", argPtr, i)
			}
			if e.kind != jString {
				switch kind {
				case mButFold:
					return nil, perr(e, p, "Inside anything-but/equals-ignore-case list, number|start|null|boolean is not supported.")
				case mButWildcard:
					return nil, perr(e, p, "wildcard match pattern must be a string")
				default:
					return nil, perr(e, p, "prefix/suffix match pattern must be a string")
				}
			}
			switch kind {
			case mButPrefix, mButSuffix:
				if e.str == "" {
					return nil, perr(e, p, "Null prefix/suffix not allowed")
				}
				m.strs = append(m.strs, e.str)
			case mButFold:
				m.strs = append(m.strs, fold(e.str))
			case mButWildcard:
				w, err := parseWildcard(e.str)
				if err != nil {
					return nil, perr(e, p, "%s", err.Error())
				}
				m.wild = append(m.wild, w)
			}
		}
		if kind == mButFold {
			m.set = map[string]bool{}
			for _, s := range m.strs {
				m.set[s] = true
			}
		}
	}
	if v.kind == jObject && len(v.keys) > 1 {
		return nil, perr(v.vals[1], ptr+"/"+escapePointerToken(v.keys[1]), "Too many elements in numeric expression")
	}
	return m, nil
}

// awsError is an error whose text is EventBridge's own message, kept word
// for word (and so capitalised).
type awsError string

func (e awsError) Error() string { return string(e) }

func awsErrorf(format string, args ...any) error { return awsError(fmt.Sprintf(format, args...)) }
