package rule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestRandomRuleSets builds rule sets of random patterns over a few paths
// and values, so that rules share automaton states, and checks every
// match against the reference evaluator.
func TestRandomRuleSets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	paths := []string{"a", "b.c", "b.d", "e.f.g", "arr.x", "arr.y"}
	strs := []string{"alpha", "Alpha", "beta", "al", "", "10.0.0.7", "ALPHA-beta"}
	nums := []string{"0", "1", "1.5", "-2", "10", "3e1", "100"}
	value := func() string {
		switch r.IntN(4) {
		case 0:
			return fmt.Sprintf("%q", strs[r.IntN(len(strs))])
		case 1:
			return nums[r.IntN(len(nums))]
		case 2:
			return []string{"true", "false", "null"}[r.IntN(3)]
		}
		return fmt.Sprintf("%q", strs[r.IntN(len(strs))])
	}
	matcher := func() string {
		s := strs[r.IntN(len(strs)-1)]
		n := nums[r.IntN(len(nums))]
		switch r.IntN(14) {
		case 0:
			return fmt.Sprintf(`{"prefix":%q}`, s)
		case 1:
			return fmt.Sprintf(`{"suffix":%q}`, s)
		case 2:
			return fmt.Sprintf(`{"equals-ignore-case":%q}`, s)
		case 3:
			return fmt.Sprintf(`{"prefix":{"equals-ignore-case":%q}}`, s)
		case 4:
			return fmt.Sprintf(`{"wildcard":%q}`, "*"+s[:len(s)/2]+"*")
		case 5:
			return fmt.Sprintf(`{"numeric":[">=",%s]}`, n)
		case 6:
			return fmt.Sprintf(`{"numeric":[">",%s,"<=",%s]}`, n, "1000")
		case 7:
			return fmt.Sprintf(`{"anything-but":%q}`, s)
		case 8:
			return fmt.Sprintf(`{"anything-but":[%s]}`, n)
		case 9:
			return `{"exists":true}`
		case 10:
			return `{"exists":false}`
		case 11:
			return `{"cidr":"10.0.0.0/24"}`
		case 12:
			return fmt.Sprintf(`{"anything-but":{"prefix":%q}}`, "al")
		}
		return value()
	}
	pattern := func() string {
		var fields []string
		used := map[string]bool{}
		for k := 1 + r.IntN(3); k > 0; k-- {
			p := paths[r.IntN(len(paths))]
			if used[p] {
				continue
			}
			used[p] = true
			var ms []string
			for j := 1 + r.IntN(2); j > 0; j-- {
				ms = append(ms, matcher())
			}
			fields = append(fields, fmt.Sprintf("%q:[%s]", p, strings.Join(ms, ",")))
		}
		if r.IntN(6) == 0 {
			fields = append(fields, fmt.Sprintf(`"$or":[{"a":[%s]},{"b.c":[%s]}]`, matcher(), matcher()))
		}
		return "{" + strings.Join(fields, ",") + "}"
	}
	event := func() string {
		leaf := func() string {
			if r.IntN(5) == 0 {
				return fmt.Sprintf("[%s,%s]", value(), value())
			}
			return value()
		}
		var parts []string
		if r.IntN(4) > 0 {
			parts = append(parts, `"a":`+leaf())
		}
		parts = append(parts, fmt.Sprintf(`"b":{"c":%s,"d":%s}`, leaf(), leaf()))
		if r.IntN(2) == 0 {
			parts = append(parts, fmt.Sprintf(`"e":{"f":{"g":%s}}`, leaf()))
		}
		var elems []string
		for k := r.IntN(4); k > 0; k-- {
			elems = append(elems, fmt.Sprintf(`{"x":%s,"y":%s}`, value(), value()))
		}
		parts = append(parts, `"arr":[`+strings.Join(elems, ",")+`]`)
		return "{" + strings.Join(parts, ",") + "}"
	}
	checked, matches := 0, 0
	for round := 0; round < 20; round++ {
		s := NewRuleSet()
		pats := map[string]*Pattern{}
		for i := 0; i < 60; i++ {
			text := pattern()
			p, err := ParsePattern([]byte(text))
			if err != nil {
				continue // random numeric bounds may be empty ranges
			}
			name := fmt.Sprintf("r%d", i)
			s.AddPattern(name, p)
			pats[name] = p
		}
		for e := 0; e < 50; e++ {
			ev := []byte(event())
			got, err := s.Match(ev)
			if err != nil {
				t.Fatalf("event %s: %v", ev, err)
			}
			var want []string
			for _, name := range s.Names() {
				if refMatches(t, pats[name], ev) {
					want = append(want, name)
				}
			}
			if !slices.Equal(got, want) {
				for _, name := range s.Names() {
					if slices.Contains(got, name) != slices.Contains(want, name) {
						t.Errorf("rule %s %s", name, pats[name])
					}
				}
				t.Fatalf("event %s\nmatched %v\nreference %v", ev, got, want)
			}
			checked++
			matches += len(got)
		}
	}
	if matches < checked {
		t.Fatalf("only %d matches over %d events: the generator is too strict to test much", matches, checked)
	}
	t.Logf("%d events checked against rule sets of about 60 random rules; %d matches", checked, matches)
}

// TestNumericIndex checks the indexed numeric ranges against a scan.
func TestNumericIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := NewRuleSet()
	pats := map[string]*Pattern{}
	for i := 0; i < 300; i++ {
		lo := r.IntN(50)
		hi := lo + 1 + r.IntN(20)
		ops := [][2]string{{">", "<"}, {">=", "<="}, {">", "<="}, {">=", "<"}}[r.IntN(4)]
		text := fmt.Sprintf(`{"n":[{"numeric":[%q,%d,%q,%d]}]}`, ops[0], lo, ops[1], hi)
		switch i % 10 {
		case 0:
			text = fmt.Sprintf(`{"n":[{"numeric":["<",%d]}]}`, lo)
		case 1:
			text = fmt.Sprintf(`{"n":[{"numeric":["=",%d]}]}`, lo)
		}
		name := fmt.Sprint(i)
		p := MustParsePattern(text)
		s.AddPattern(name, p)
		pats[name] = p
	}
	for v := -2.0; v < 75; v += 0.5 {
		ev := []byte(fmt.Sprintf(`{"n":%v}`, v))
		got, err := s.Match(ev)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, name := range s.Names() {
			if refMatches(t, pats[name], ev) {
				want = append(want, name)
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("n=%v: matched %v, want %v", v, got, want)
		}
	}
	m := s.machine()
	if m.root.trans[0].vm.numIdx == nil {
		t.Fatal("300 ranges on one path were not indexed")
	}
}
