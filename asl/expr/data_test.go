package expr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dataCase is one line of a testdata/*.jsonl file. Which of the
// expression fields is used depends on the file.
type dataCase struct {
	Name     string          `json:"name"`
	Path     string          `json:"path"`     // paths, setpath
	Expr     string          `json:"expr"`     // intrinsics, jsonata
	Template json.RawMessage `json:"template"` // templates
	Mode     string          `json:"mode"`     // templates: "" (JSONPath) or "jsonata"
	Field    string          `json:"field"`    // templates: the state field for JSONata causes
	Doc      json.RawMessage `json:"doc"`      // paths, setpath
	Value    json.RawMessage `json:"value"`    // setpath
	Input    json.RawMessage `json:"input"`
	Context  json.RawMessage `json:"context"`
	Vars     json.RawMessage `json:"vars"`
	States   json.RawMessage `json:"states"`

	Want         json.RawMessage               `json:"want"`
	WantText     *string                       `json:"want_text"`   // exact JSON text of the result
	WantRegexp   string                        `json:"want_regexp"` // the result is a string matching this
	Error        *struct{ Name, Cause string } `json:"error"`
	ErrorName    string                        `json:"error_name"`    // only the error name is checked
	CompileError string                        `json:"compile_error"` // substring of the compile error
}

func loadData(t *testing.T, file string) []dataCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []dataCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		var c dataCase
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("testdata/%s:%d: %v", file, n, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *dataCase) env(t *testing.T) *Env {
	env := &Env{Input: mustDecode(t, c.Input), Context: mustDecode(t, c.Context)}
	if len(c.Vars) > 0 {
		env.Vars, _ = mustDecode(t, c.Vars).(map[string]any)
	}
	if len(c.States) > 0 {
		env.States, _ = mustDecode(t, c.States).(map[string]any)
	}
	return env
}

// check compares a result (or an evaluation error) with the case.
func (c *dataCase) check(t *testing.T, got any, err error) {
	t.Helper()
	wantErr := c.Error != nil || c.ErrorName != ""
	if err != nil {
		if !wantErr {
			t.Fatalf("unexpected error: %v", err)
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not an *Error: %v", err, err)
		}
		name := c.ErrorName
		if c.Error != nil {
			name = c.Error.Name
		}
		if e.Name != name {
			t.Fatalf("error name = %q (cause %q), want %q", e.Name, e.Cause, name)
		}
		if c.Error != nil && e.Cause != c.Error.Cause {
			t.Fatalf("cause:\n got %s\nwant %s", e.Cause, c.Error.Cause)
		}
		return
	}
	if wantErr {
		t.Fatalf("got %s, want an error", MarshalString(got))
	}
	if len(c.Want) > 0 {
		if want := mustDecode(t, c.Want); !Equal(got, want) {
			t.Fatalf("got %s, want %s", MarshalString(got), MarshalString(want))
		}
	}
	if c.WantText != nil {
		if text := MarshalString(got); text != *c.WantText {
			t.Fatalf("text = %s, want %s", text, *c.WantText)
		}
	}
	if c.WantRegexp != "" {
		s, ok := got.(string)
		if !ok || !regexp.MustCompile(c.WantRegexp).MatchString(s) {
			t.Fatalf("got %s, want a string matching %s", MarshalString(got), c.WantRegexp)
		}
	}
	if len(c.Want) == 0 && c.WantText == nil && c.WantRegexp == "" {
		t.Fatal("the case states no expectation")
	}
}

func (c *dataCase) checkCompile(t *testing.T, err error) bool {
	t.Helper()
	if c.CompileError == "" {
		if err != nil {
			t.Fatalf("compile: %v", err)
		}
		return true
	}
	if err == nil {
		t.Fatalf("compiled, want a compile error containing %q", c.CompileError)
	}
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("compile error %T is not a *CompileError: %v", err, err)
	}
	if !strings.Contains(err.Error(), c.CompileError) {
		t.Fatalf("compile error %q does not contain %q", err.Error(), c.CompileError)
	}
	return false
}

func TestPaths(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "paths.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			p, err := CompilePath(c.Path)
			if !c.checkCompile(t, err) {
				return
			}
			if p.String() != c.Path {
				t.Fatalf("String() = %q, want %q", p.String(), c.Path)
			}
			_, refErr := CompileReferencePath(c.Path)
			if p.IsReference() != (refErr == nil) {
				t.Fatalf("IsReference() = %v but CompileReferencePath: %v", p.IsReference(), refErr)
			}
			got, err := p.Get(mustDecode(t, c.Doc))
			c.check(t, got, err)
			if err != nil && p.Definite() && !errors.Is(err, ErrPathNotFound) {
				t.Fatalf("a definite path's error must wrap ErrPathNotFound: %v", err)
			}
		})
	}
}

func TestSetPath(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "setpath.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			r, err := CompileReferencePath(c.Path)
			if !c.checkCompile(t, err) {
				return
			}
			doc := mustDecode(t, c.Doc)
			before := MarshalString(doc)
			got, err := r.Set(doc, mustDecode(t, c.Value))
			c.check(t, got, err)
			if after := MarshalString(doc); after != before {
				t.Fatalf("Set modified its input: %s became %s", before, after)
			}
			got2, err2 := SetPath(doc, c.Path, mustDecode(t, c.Value))
			if (err == nil) != (err2 == nil) || (err == nil && !Equal(got, got2)) {
				t.Fatalf("SetPath and ReferencePath.Set disagree: %v %v", err, err2)
			}
		})
	}
}

func TestIntrinsics(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "intrinsics.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			f, err := CompileIntrinsic(c.Expr)
			if !c.checkCompile(t, err) {
				return
			}
			if !IsIntrinsic(c.Expr) {
				t.Fatalf("IsIntrinsic(%q) = false", c.Expr)
			}
			got, err := f.Eval(c.env(t))
			c.check(t, got, err)
		})
	}
}

func TestTemplates(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "templates.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			v := mustDecode(t, c.Template)
			var tmpl *Template
			var err error
			if c.Mode == "jsonata" {
				tmpl, err = CompileJSONataTemplateField(v, c.Field)
			} else {
				tmpl, err = CompileTemplate(v)
			}
			if !c.checkCompile(t, err) {
				return
			}
			env := c.env(t)
			got, err := tmpl.Eval(env)
			c.check(t, got, err)
			// Compiled once, evaluated many times: a second run agrees.
			got2, err2 := tmpl.Eval(env)
			if (err == nil) != (err2 == nil) || (err == nil && !Equal(got, got2)) {
				t.Fatalf("second evaluation differs: %s / %v", MarshalString(got2), err2)
			}
		})
	}
}

func TestJSONata(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "jsonata.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			j, err := CompileJSONata(c.Expr)
			if !c.checkCompile(t, err) {
				return
			}
			got, err := j.Eval(c.env(t))
			c.check(t, got, err)
		})
	}
}

// TestJSONataStatesPruning evaluates every JSONata case twice, once with
// $states pruned to what the expression reads and once with all of it, and
// requires the same outcome.
func TestJSONataStatesPruning(t *testing.T) {
	t.Parallel()
	for _, c := range loadData(t, "jsonata.jsonl") {
		t.Run(c.Name, func(t *testing.T) {
			j, err := CompileJSONata(c.Expr)
			if err != nil {
				return
			}
			if c.WantRegexp != "" || strings.Contains(c.Expr, "$random") {
				return // nondeterministic
			}
			env := c.env(t)
			pruned, perr := j.Eval(env)
			full := *j
			full.states = nil
			full.simple = nil
			whole, werr := full.Eval(env)
			if a, ok := pruned.([]any); ok && len(a) == 0 && errors.Is(werr, ErrUndefined) {
				return // the native path answers [] where the engine answers nothing
			}
			if (perr == nil) != (werr == nil) {
				t.Fatalf("pruned error %v, whole error %v", perr, werr)
			}
			if perr == nil && !Equal(pruned, whole) && !strings.Contains(c.Name, "large integers") {
				t.Fatalf("pruned %s, whole %s", MarshalString(pruned), MarshalString(whole))
			}
		})
	}
}
