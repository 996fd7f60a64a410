package rule

import (
	"strings"
	"testing"
)

// A reference evaluator: a direct, slow reading of the matching rules used
// to cross-check the automaton (in tests and fuzzing). It flattens every
// leaf, then searches each sub-rule's conditions in path order with
// backtracking, enforcing array consistency.

type refField struct {
	path string
	val  *jnode
	mem  []arrEntry
}

func refFlatten(root *jnode) []refField {
	var out []refField
	var arrays int32
	var walk func(n *jnode, path string, root bool, mem []arrEntry)
	walk = func(n *jnode, path string, root bool, mem []arrEntry) {
		switch n.kind {
		case jObject:
			for i, k := range n.keys {
				p := k
				if !root {
					p = path + "." + k
				}
				walk(n.vals[i], p, false, mem)
			}
		case jArray:
			id := arrays
			arrays++
			for i, e := range n.elems {
				if e.kind == jObject || e.kind == jArray {
					walk(e, path, false, append(mem[:len(mem):len(mem)], arrEntry{id, int32(i)}))
				} else {
					walk(e, path, false, mem)
				}
			}
		default:
			out = append(out, refField{path: path, val: n, mem: mem})
		}
	}
	walk(root, "", true, nil)
	return out
}

func refConsistent(so []arrEntry, f []arrEntry) ([]arrEntry, bool) {
	out := so
	for _, e := range f {
		found := false
		for _, s := range so {
			if s.arr == e.arr {
				if s.idx != e.idx {
					return nil, false
				}
				found = true
			}
		}
		if !found {
			out = append(out[:len(out):len(out)], e)
		}
	}
	return out, true
}

func refKey(n *jnode) string {
	switch n.kind {
	case jString:
		return stringKey(n.str)
	case jNumber:
		return numberKey(n.str)
	case jTrue:
		return string(tagTrue)
	case jFalse:
		return string(tagFalse)
	}
	return string(tagNull)
}

func refAccepts(m *matcher, v *jnode) bool {
	isStr := v.kind == jString
	switch m.kind {
	case mExact:
		return refKey(v) == m.key
	case mPrefix:
		return isStr && strings.HasPrefix(v.str, m.key)
	case mSuffix:
		return isStr && strings.HasSuffix(v.str, m.key)
	case mFold:
		return isStr && fold(v.str) == m.key
	case mPrefixFold:
		return isStr && strings.HasPrefix(fold(v.str), m.key)
	case mSuffixFold:
		return isStr && strings.HasSuffix(fold(v.str), m.key)
	case mWildcard:
		return isStr && m.wild[0].match(v.str)
	case mExists:
		return true
	case mAbsent:
		return false
	case mNumeric:
		if v.kind != jNumber {
			return false
		}
		_, f, ok := appendNumberKey(nil, []byte(v.str))
		if !ok {
			return false
		}
		return !(f < m.lo || (m.loOpen && f == m.lo) || f > m.hi || (m.hiOpen && f == m.hi))
	case mCIDR, mIP:
		if !isStr {
			return false
		}
		a, v4, ok := parseIP(v.str)
		return ok && m.ip.contains(a, v4)
	case mButValues:
		return !m.set[refKey(v)]
	case mButPrefix:
		for _, s := range m.strs {
			if isStr && strings.HasPrefix(v.str, s) {
				return false
			}
		}
		return true
	case mButSuffix:
		for _, s := range m.strs {
			if isStr && strings.HasSuffix(v.str, s) {
				return false
			}
		}
		return true
	case mButFold:
		return !(isStr && m.set[fold(v.str)])
	case mButWildcard:
		for _, w := range m.wild {
			if isStr && w.match(v.str) {
				return false
			}
		}
		return true
	}
	return false
}

func refSubRule(conds []fieldCond, fields []refField, mem []arrEntry) bool {
	if len(conds) == 0 {
		return true
	}
	c := conds[0]
	for _, m := range c.ms {
		if m.kind != mAbsent {
			continue
		}
		present := false
		for _, f := range fields {
			if f.path == c.path {
				if _, ok := refConsistent(mem, f.mem); ok {
					present = true
					break
				}
			}
		}
		if !present && refSubRule(conds[1:], fields, mem) {
			return true
		}
	}
	for _, f := range fields {
		if f.path != c.path {
			continue
		}
		nm, ok := refConsistent(mem, f.mem)
		if !ok {
			continue
		}
		for _, m := range c.ms {
			if refAccepts(m, f.val) && refSubRule(conds[1:], fields, nm) {
				return true
			}
		}
	}
	return false
}

func refMatchesTree(p *Pattern, root *jnode) bool {
	fields := refFlatten(root)
	for _, sr := range p.subs {
		if refSubRule(sr.fields, fields, nil) {
			return true
		}
	}
	return false
}

func refMatches(t testing.TB, p *Pattern, event []byte) bool {
	t.Helper()
	root, err := parseJSON(event)
	if err != nil {
		t.Fatalf("reference: event: %v", err)
	}
	return refMatchesTree(p, root)
}
