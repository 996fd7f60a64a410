package asl

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary definitions to Parse: it must never panic,
// must return ValidationErrors with well-formed pointers, and a machine it
// accepts must run a few steps without panicking.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("..", "internal", "cli", "testdata", "states", "*.asl.*"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}`))
	f.Add([]byte(`{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringMatches":"x*\\*","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`))
	f.Add([]byte(`{"QueryLanguage":"JSONata","StartAt":"M","States":{"M":{"Type":"Map","Items":"{% [1,2] %}","ItemProcessor":{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}},"End":true}}}`))
	f.Add([]byte("StartAt: A\nStates:\n  A: {Type: Wait, Seconds: 1, End: true}\n"))
	f.Add([]byte(`{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"X","States":{"X":{"Type":"Fail"}}}],"Catch":[{"ErrorEquals":["States.ALL"],"Next":"Y"}],"End":true},"Y":{"Type":"Pass","End":true}}}`))
	ptrRe := regexp.MustCompile(`^(/[^/]*)*$`)
	f.Fuzz(func(t *testing.T, def []byte) {
		if len(def) > 64<<10 {
			return
		}
		m, err := Parse(def, ParseOptions{Substitutions: map[string]string{"X": "x"}})
		if err != nil {
			var verrs ValidationErrors
			if !errors.As(err, &verrs) || len(verrs) == 0 {
				t.Fatalf("Parse error %T %v, want non-empty ValidationErrors", err, err)
			}
			for _, e := range verrs {
				if !ptrRe.MatchString(e.Pointer) || e.Message == "" {
					t.Fatalf("malformed validation error %+v", e)
				}
			}
			return
		}
		// A valid machine takes a bounded walk: a virtual clock, no task
		// handler, and a short context.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		f := m.NewFrame(map[string]any{"a": "x"})
		sc := StepContext{Now: time.Unix(0, 0)}
		for i := 0; i < 20 && ctx.Err() == nil; i++ {
			out := m.advanceBounded(f, sc, 1000)
			switch out.Kind {
			case KindSucceeded, KindFailed:
				return
			case KindTask:
				out = m.FailTask(f, "Fuzz.Failed", "fuzz", sc)
			case KindWait:
				out = m.ResumeWait(f, sc)
			case KindParallel:
				out = m.CompleteParallel(f, make([]any, len(out.Branches)), sc)
			case KindItemRead:
				out = m.CompleteItemRead(f, strings.NewReader("[1,2]"), sc)
			case KindMap:
				out = m.CompleteMap(f, make([]any, len(out.Map.Items)), 0, sc)
			}
			_ = out
		}
	})
}

// FuzzStringMatches checks the StringMatches matcher against a regular
// expression built from the same pattern.
func FuzzStringMatches(f *testing.F) {
	f.Add("incoming/*.mp4", "incoming/a/b.mp4")
	f.Add(`a\*b*`, "a*bc")
	f.Add(`\\*x`, `\yx`)
	f.Add("**a*", "bba")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !utf8.ValidString(pattern) || !utf8.ValidString(s) {
			return // JSON strings are valid UTF-8
		}
		var re strings.Builder
		re.WriteString("^")
		rs := []rune(pattern)
		for i := 0; i < len(rs); i++ {
			switch {
			case rs[i] == '\\' && i+1 < len(rs):
				i++
				re.WriteString(regexp.QuoteMeta(string(rs[i])))
			case rs[i] == '*':
				re.WriteString("(?s:.*)")
			default:
				re.WriteString(regexp.QuoteMeta(string(rs[i])))
			}
		}
		re.WriteString("$")
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := wildcardMatch(pattern, s); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, want %v", pattern, s, got, want)
		}
	})
}

// FuzzReadItems feeds arbitrary objects to the ItemReader parsers.
func FuzzReadItems(f *testing.F) {
	f.Add("JSON", "[1,{\"a\":2}]", 0)
	f.Add("JSONL", "{\"a\":1}\n\n2\n", 1)
	f.Add("CSV", "a,b\n1,2\n3\n", 0)
	f.Add("CSV", "a,a\n1,2\n", 0)
	f.Fuzz(func(t *testing.T, typ, body string, max int) {
		if len(body) > 64<<10 {
			return
		}
		read := &ItemRead{InputType: typ, MaxItems: max % 10}
		items, err := ReadItems(read, strings.NewReader(body))
		if err != nil {
			return
		}
		if read.MaxItems > 0 && len(items) > read.MaxItems {
			t.Fatalf("%d items, MaxItems %d", len(items), read.MaxItems)
		}
	})
}
