package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
)

// fakePath points PATH at a new folder holding an executable stub of each
// named command, so that which commands are installed does not depend on
// the machine.
func fakePath(t *testing.T, commands ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, c := range commands {
		if err := os.WriteFile(filepath.Join(dir, c), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir)
	return dir
}

// TestAnalysersCommands runs the cases in testdata/analysers/cases.json,
// each with PATH holding only the commands the case installs.
func TestAnalysersCommands(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "analysers", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name        string   `json:"name"`
		Installed   []string `json:"installed"`
		Args        []string `json:"args"`
		Code        int      `json:"code"`
		Stdout      []string `json:"stdout"`
		StdoutNot   []string `json:"stdout_not"`
		Stderr      []string `json:"stderr"`
		StderrEmpty bool     `json:"stderr_empty"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("testdata/analysers/cases.json: %v", err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			fakePath(t, c.Installed...)
			code, stdout, stderr := run(t, "", c.Args...)
			if code != c.Code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, c.Code, stdout, stderr)
			}
			for _, want := range c.Stdout {
				if !strings.Contains(stdout, want) {
					t.Errorf("stdout does not contain %q:\n%s", want, stdout)
				}
			}
			for _, not := range c.StdoutNot {
				if strings.Contains(stdout, not) {
					t.Errorf("stdout contains %q:\n%s", not, stdout)
				}
			}
			for _, want := range c.Stderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr does not contain %q:\n%s", want, stderr)
				}
			}
			if c.StderrEmpty && stderr != "" {
				t.Errorf("stderr: %s", stderr)
			}
		})
	}
}

// TestAnalysersJSON checks that --json prints exactly the registry: every
// analyser once, its spec's fields and output schema, and where each
// required command was found.
func TestAnalysersJSON(t *testing.T) {
	dir := fakePath(t, "ffmpeg", "ffprobe")
	code, stdout, stderr := run(t, "", "analysers", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []struct {
		ID       string   `json:"id"`
		Task     string   `json:"task"`
		Provider string   `json:"provider"`
		Summary  string   `json:"summary"`
		Kinds    []string `json:"kinds"`
		Requires []struct {
			Name      string `json:"name"`
			Installed bool   `json:"installed"`
			Path      string `json:"path"`
		} `json:"requires"`
		Ready   bool `json:"ready"`
		Options []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"options"`
		OutputSchema json.RawMessage `json:"output_schema"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%v:\n%s", err, stdout)
	}
	specs := analyser.All()
	if len(specs) < 8 || len(got) != len(specs) {
		t.Fatalf("listed %d analysers, registry has %d (want the 8 local ones at least)", len(got), len(specs))
	}
	for i, s := range specs {
		g := got[i]
		if g.ID != s.ID || g.Task != s.Task || g.Provider != s.Provider || g.Summary != s.Summary {
			t.Errorf("entry %d = %s %s %s %q, want %s %s %s %q", i, g.ID, g.Task, g.Provider, g.Summary, s.ID, s.Task, s.Provider, s.Summary)
		}
		if len(g.Options) != len(s.Options) {
			t.Errorf("%s: %d options listed, spec has %d", s.ID, len(g.Options), len(s.Options))
		}
		for j, o := range s.Options {
			if j < len(g.Options) && (g.Options[j].Name != o.Name || g.Options[j].Type != string(o.Type)) {
				t.Errorf("%s: option %d = %+v, want %s %s", s.ID, j, g.Options[j], o.Name, o.Type)
			}
		}
		if len(g.Kinds) != len(s.Kinds) {
			t.Errorf("%s: kinds %v, want %v", s.ID, g.Kinds, s.Kinds)
		}
		for j, k := range s.Kinds {
			if j < len(g.Kinds) && g.Kinds[j] != string(k) {
				t.Errorf("%s: kinds %v, want %v", s.ID, g.Kinds, s.Kinds)
			}
		}
		ready := true
		if len(g.Requires) != len(s.Requires) {
			t.Fatalf("%s: requires %+v, want %v", s.ID, g.Requires, s.Requires)
		}
		for j, name := range s.Requires {
			r := g.Requires[j]
			fake := name == "ffmpeg" || name == "ffprobe"
			ready = ready && fake
			if r.Name != name || r.Installed != fake || (fake && r.Path != filepath.Join(dir, name)) || (!fake && r.Path != "") {
				t.Errorf("%s: requires[%d] = %+v (PATH holds only ffmpeg and ffprobe)", s.ID, j, r)
			}
		}
		if g.Ready != ready {
			t.Errorf("%s: ready %v, want %v", s.ID, g.Ready, ready)
		}
		var a, b bytes.Buffer
		if err := json.Compact(&a, g.OutputSchema); err != nil {
			t.Errorf("%s: output_schema: %v", s.ID, err)
		}
		if err := json.Compact(&b, s.OutputSchema); err != nil {
			t.Errorf("%s: spec's schema: %v", s.ID, err)
		}
		if a.String() != b.String() || a.Len() == 0 {
			t.Errorf("%s: output_schema differs from the spec's", s.ID)
		}
	}
}

// TestAnalysersSchemaOfEach prints every analyser's schema and compares it
// with the spec's.
func TestAnalysersSchemaOfEach(t *testing.T) {
	t.Parallel()
	for _, s := range analyser.All() {
		code, stdout, stderr := run(t, "", "analysers", "schema", s.ID)
		if code != 0 {
			t.Errorf("%s: exit %d: %s", s.ID, code, stderr)
			continue
		}
		var want bytes.Buffer
		if err := json.Indent(&want, s.OutputSchema, "", "  "); err != nil {
			t.Fatal(err)
		}
		if stdout != want.String()+"\n" {
			t.Errorf("%s: schema printed differs from the spec's:\n%s", s.ID, stdout)
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(stdout), &doc); err != nil || doc["type"] == nil {
			t.Errorf("%s: not a JSON Schema object: %v", s.ID, err)
		}
	}
}
