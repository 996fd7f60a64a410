package asl_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/landfall/landfall/asl"
)

type validationFileCase struct {
	Name          string            `json:"name"`
	Definition    any               `json:"definition"`
	Text          *string           `json:"text"`
	Express       bool              `json:"express"`
	Substitutions map[string]string `json:"substitutions"`
	// Errors lists "pointer: message" lines, sorted; a line ending in
	// "*" matches any message at that pointer.
	Errors []string `json:"errors"`
	// Positions maps an error's pointer to "line:column".
	Positions map[string]string `json:"positions"`
}

// TestValidation checks testdata/validation.json: each definition is
// accepted, or rejected with exactly the listed located errors.
func TestValidation(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "validation.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []validationFileCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var text []byte
			if c.Text != nil {
				text = []byte(*c.Text)
			} else {
				text, _ = json.Marshal(c.Definition)
			}
			_, err := asl.Parse(text, asl.ParseOptions{Express: c.Express, Substitutions: c.Substitutions})
			var got []string
			at := map[string]string{}
			if err != nil {
				var verrs asl.ValidationErrors
				if !errors.As(err, &verrs) {
					t.Fatalf("error %T %v, want asl.ValidationErrors", err, err)
				}
				for _, e := range verrs {
					if e.Message == "" {
						t.Errorf("error at %q has no message", e.Pointer)
					}
					got = append(got, e.Error())
					at[e.Pointer] = fmt.Sprintf("%d:%d", e.Line, e.Column)
				}
			}
			for ptr, want := range c.Positions {
				if at[ptr] != want {
					t.Errorf("%s at %s, want %s", ptr, at[ptr], want)
				}
			}
			sort.Strings(got)
			if len(got) != len(c.Errors) {
				t.Fatalf("got %d errors, want %d:\n%s", len(got), len(c.Errors), strings.Join(got, "\n"))
			}
			for i, want := range c.Errors {
				if p, ok := strings.CutSuffix(want, "*"); ok {
					if !strings.HasPrefix(got[i], p) {
						t.Errorf("error %d = %q, want %q…", i, got[i], p)
					}
				} else if got[i] != want {
					t.Errorf("error %d = %q\n          want %q", i, got[i], want)
				}
			}
		})
	}
}
