package rule

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const fuzzMax = 4096

func seedCases(f *testing.F) []matchCase {
	data, err := os.ReadFile(filepath.Join("testdata", "match_cases.json"))
	if err != nil {
		f.Fatal(err)
	}
	var cases []matchCase
	if err := json.Unmarshal(data, &cases); err != nil {
		f.Fatal(err)
	}
	return cases
}

// FuzzParsePattern checks that compiling never panics and that an accepted
// pattern keeps its text and can be matched.
func FuzzParsePattern(f *testing.F) {
	for _, c := range seedCases(f) {
		f.Add([]byte(c.Pattern))
	}
	f.Add([]byte(`{"a":[{"numeric":[">",0,"<=",5]}],"$or":[{"b":[1]},{"c":[{"wildcard":"x\\*y*"}]}]}`))
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > fuzzMax {
			return
		}
		p, err := ParsePattern(text)
		if err != nil {
			if p != nil {
				t.Fatal("pattern returned with an error")
			}
			return
		}
		if p.String() != string(text) {
			t.Fatal("pattern text not kept")
		}
		if _, err := p.Matches([]byte(`{}`)); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzMatch cross-checks the automaton against the reference evaluator,
// for each of two patterns alone and for both in one rule set, and checks
// that the event reader and the tree parser agree on what is valid JSON.
func FuzzMatch(f *testing.F) {
	cases := seedCases(f)
	for i, c := range cases {
		other := cases[(i*7+3)%len(cases)]
		f.Add([]byte(c.Pattern), []byte(other.Pattern), []byte(c.Event))
		f.Add([]byte(c.Pattern), []byte(c.Pattern), []byte(other.Event))
	}
	f.Fuzz(func(t *testing.T, p1, p2, event []byte) {
		if len(p1)+len(p2)+len(event) > fuzzMax {
			return
		}
		pa, err1 := ParsePattern(p1)
		pb, err2 := ParsePattern(p2)
		if err1 != nil || err2 != nil {
			return
		}
		s := NewRuleSet()
		s.AddPattern("a", pa)
		s.AddPattern("b", pb)
		_, _ = s.AppendMatchesValid(nil, event) // any text: must not panic
		got, err := s.Match(event)
		if errors.Is(err, ErrEventTooComplex) {
			return
		}
		root, perr := parseJSON(event)
		if perr != nil || root.kind != jObject {
			if err == nil {
				t.Fatalf("event %q accepted by the matcher but not by the parser (%v)", event, perr)
			}
			return
		}
		if err != nil {
			t.Fatalf("event %q rejected by the matcher: %v", event, err)
		}
		var want []string
		if refMatchesTree(pa, root) {
			want = append(want, "a")
		}
		if refMatchesTree(pb, root) {
			want = append(want, "b")
		}
		if !slices.Equal(got, want) {
			t.Fatalf("patterns %s | %s\nevent %s\nrule set matched %v, reference %v", p1, p2, event, got, want)
		}
		if uniquePaths(root) {
			valid, err := s.AppendMatchesValid(nil, event)
			if err != nil || !slices.Equal(valid, want) {
				t.Fatalf("patterns %s | %s\nevent %s\nmatching as valid JSON gave %v, %v; reference %v", p1, p2, event, valid, err, want)
			}
		}
		for _, x := range []struct {
			p    *Pattern
			name string
		}{{pa, "a"}, {pb, "b"}} {
			ok, err := x.p.Matches(event)
			if err != nil || ok != slices.Contains(want, x.name) {
				t.Fatalf("pattern %s alone: %v, %v; reference %v", x.p, ok, err, want)
			}
		}
	})
}

// FuzzRulesFile checks that loading never panics and that a loaded file's
// rules compile.
func FuzzRulesFile(f *testing.F) {
	for _, name := range []string{"rules_valid.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`[{"name":"r","event_pattern":{"a":["b"]},"targets":[{"id":"t","type":"webhook","url":"http://127.0.0.1/x","input_transformer":{"input_paths_map":{"k":"$.a"},"input_template":"{\"k\": <k>}"}}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > fuzzMax {
			return
		}
		specs, err := ParseRulesFile(data)
		if err != nil {
			return
		}
		for _, s := range specs {
			if s.Pattern == nil {
				t.Fatalf("rule %q has no compiled pattern", s.Name)
			}
			for _, tg := range s.Targets {
				if _, err := tg.TargetInput([]byte(`{"a":"b"}`), TransformContext{RuleName: s.Name}); err != nil && tg.InputTransformer == nil {
					t.Fatalf("target %q: %v", tg.ID, err)
				}
			}
		}
	})
}

// FuzzInputTransformer checks that JSONPaths and templates never panic,
// and that a JSON template's output is JSON.
func FuzzInputTransformer(f *testing.F) {
	var cases []struct {
		Paths    map[string]string `json:"paths"`
		Template string            `json:"template"`
	}
	data, err := os.ReadFile(filepath.Join("testdata", "transform_cases.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		f.Fatal(err)
	}
	event := `{"id":"e-1","detail":{"bucket":{"name":"media"},"object":{"key":"a\"b","size":2048.0},"tags":[{"k":"x"}]}}`
	for _, c := range cases {
		for k, p := range c.Paths {
			f.Add(k, p, c.Template, event)
		}
		f.Add("k", "$.detail", c.Template, event)
	}
	f.Fuzz(func(t *testing.T, name, path, template, event string) {
		if len(name)+len(path)+len(template)+len(event) > fuzzMax {
			return
		}
		tr := &InputTransformer{InputPathsMap: map[string]string{name: path}, InputTemplate: template}
		out, err := tr.Apply([]byte(event), TransformContext{RuleName: "r"})
		if err != nil {
			return
		}
		if tr.IsJSON() {
			if _, err := parseJSON(out); err != nil {
				t.Fatalf("template %q gave invalid JSON %q: %v", template, out, err)
			}
		}
	})
}

// uniquePaths reports whether no field path is given twice outside arrays
// (by a repeated member name or a dotted alias), the condition under which
// AppendMatchesValid promises Match's answer.
func uniquePaths(root *jnode) bool {
	seen := map[string]bool{}
	var walk func(n *jnode, path string) bool
	walk = func(n *jnode, path string) bool {
		if path != "" {
			if seen[path] {
				return false
			}
			seen[path] = true
		}
		if n.kind != jObject {
			return true
		}
		for i, k := range n.keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if !walk(n.vals[i], p) {
				return false
			}
		}
		return true
	}
	return walk(root, "")
}
