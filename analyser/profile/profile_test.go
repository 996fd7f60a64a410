package profile

import (
	"strings"
	"testing"
)

func TestBuiltins(t *testing.T) {
	want := "lecture moderation podcast support-call"
	if got := strings.Join(Names(), " "); got != want {
		t.Fatalf("built-in profiles %q, want %q", got, want)
	}
	for _, n := range Names() {
		p, _ := Lookup(n)
		if len(p.Fields()) == 0 || p.Title == "" {
			t.Errorf("%s: fields %v title %q", n, p.Fields(), p.Title)
		}
		// Every field null is a valid answer: "not available".
		doc := map[string]string{}
		var parts []string
		for _, f := range p.Fields() {
			doc[f] = "null"
			parts = append(parts, `"`+f+`":null`)
		}
		if err := p.Validate([]byte("{" + strings.Join(parts, ",") + "}")); err != nil {
			t.Errorf("%s: all-null output refused: %v", n, err)
		}
		if err := p.Validate([]byte(`{"unexpected":1}`)); err == nil {
			t.Errorf("%s: an unknown field passed", n)
		}
	}
	if _, err := Find("recipe"); err == nil || !strings.Contains(err.Error(), "lecture, moderation, podcast, support-call") {
		t.Errorf("Find(recipe) = %v", err)
	}
}

func TestParseRejects(t *testing.T) {
	for doc, want := range map[string]string{
		`{"name":"Bad Name","prompt":"p","schema":{}}`:                                                                                          "/name",
		`{"name":"x","prompt":"","schema":{}}`:                                                                                                  "/prompt",
		`{"name":"x","prompt":"p","schema":{"type":"object","properties":{"a":{}}}}`:                                                            "additionalProperties",
		`{"name":"x","prompt":"p","schema":{"type":"object","additionalProperties":false,"properties":{"a":{}}}}`:                               "/schema/required",
		`{"name":"x","prompt":"p","schema":{"type":"object","additionalProperties":false,"required":["a"],"properties":{"a":{"type":"nope"}}}}`: "/schema",
		`{"name":"x","prompt":"p","extra":1}`:                                                                                                   "unknown field",
	} {
		if _, err := Parse([]byte(doc)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error naming %s", doc, err, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"name":"x","title":"X","prompt":"p","schema":{"type":"object","additionalProperties":false,"required":["a"],"properties":{"a":{"type":["string","null"]}}}}`))
	f.Add([]byte(`{"name":"","schema":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		p, err := Parse(b)
		if err != nil {
			return
		}
		_ = p.Validate([]byte(`{}`))
	})
}
