package rule

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func loadCases(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type matchCase struct {
	Name    string          `json:"name"`
	Pattern json.RawMessage `json:"pattern"`
	Event   json.RawMessage `json:"event"`
	Match   bool            `json:"match"`
}

func TestMatchCases(t *testing.T) {
	var cases []matchCase
	loadCases(t, "match_cases.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			p, err := ParsePattern(c.Pattern)
			if err != nil {
				t.Fatalf("pattern %s: %v", c.Pattern, err)
			}
			got, err := p.Matches(c.Event)
			if err != nil {
				t.Fatalf("event %s: %v", c.Event, err)
			}
			if got != c.Match {
				t.Fatalf("pattern %s\nevent %s\nmatch = %v, want %v", c.Pattern, c.Event, got, c.Match)
			}
			if ref := refMatches(t, p, c.Event); ref != c.Match {
				t.Fatalf("reference evaluator says %v, want %v", ref, c.Match)
			}
			if root, err := parseJSON(c.Event); err == nil && uniquePaths(root) {
				s := NewRuleSet()
				s.AddPattern("p", p)
				valid, err := s.AppendMatchesValid(nil, c.Event)
				if err != nil || (len(valid) == 1) != c.Match {
					t.Fatalf("matching as valid JSON: %v, %v; want match %v", valid, err, c.Match)
				}
			}
		})
	}
}

func TestInvalidPatterns(t *testing.T) {
	var cases []struct {
		Name    string          `json:"name"`
		Pattern json.RawMessage `json:"pattern"`
		Pointer string          `json:"pointer"`
		Message string          `json:"message"`
	}
	loadCases(t, "invalid_patterns.json", &cases)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			_, err := ParsePattern(c.Pattern)
			var pe *PatternError
			if !errors.As(err, &pe) {
				t.Fatalf("pattern %s: error %v, want a *PatternError", c.Pattern, err)
			}
			if pe.Pointer != c.Pointer || pe.Message != c.Message {
				t.Fatalf("got %q %q\nwant %q %q", pe.Pointer, pe.Message, c.Pointer, c.Message)
			}
			if pe.Offset < 0 || pe.Offset >= len(c.Pattern) {
				t.Fatalf("offset %d outside the pattern", pe.Offset)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range []struct{ text, msg string }{
		{``, "unexpected end of input, want a value"},
		{`{"a": [1,]}`, "unexpected ']', want a value"},
		{`{"a": ["x"]} x`, "unexpected 'x' after the top-level value"},
		{`{"a": [01]}`, "unexpected '1', want ',' or ']'"},
		{`{"a": ["\q"]}`, `invalid escape \q`},
		{"{\"a\": [\"\x01\"]}", "control character 0x01 in string"},
		{`{"a": [tru]}`, "unexpected 't', want a value"},
	} {
		_, err := ParsePattern([]byte(c.text))
		var se *SyntaxError
		if !errors.As(err, &se) || se.Msg != c.msg {
			t.Errorf("%q: error %v, want syntax error %q", c.text, err, c.msg)
		}
	}
}
