package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type statesCase struct {
	Name           string   `json:"name"`
	Args           []string `json:"args"`
	Stdin          string   `json:"stdin"`
	Code           int      `json:"code"`
	Stdout         *string  `json:"stdout"`
	StdoutContains []string `json:"stdoutContains"`
	StderrContains []string `json:"stderrContains"`
}

// TestStatesCommands runs the cases of testdata/states/cases.json in
// process, from that folder.
func TestStatesCommands(t *testing.T) {
	dir := filepath.Join("testdata", "states")
	b, err := os.ReadFile(filepath.Join(dir, "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []statesCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("cases.json: %v", err)
	}
	t.Chdir(dir)
	for _, c := range cases {
		code, stdout, stderr := run(t, c.Stdin, c.Args...)
		if code != c.Code {
			t.Errorf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", c.Name, code, c.Code, stdout, stderr)
			continue
		}
		if c.Stdout != nil && stdout != *c.Stdout {
			t.Errorf("%s: stdout\n%q\nwant\n%q", c.Name, stdout, *c.Stdout)
		}
		for _, s := range c.StdoutContains {
			if !strings.Contains(stdout, s) {
				t.Errorf("%s: stdout lacks %q:\n%s", c.Name, s, stdout)
			}
		}
		for _, s := range c.StderrContains {
			if !strings.Contains(stderr, s) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.Name, s, stderr)
			}
		}
	}
}

// TestStatesRunWritesResults runs a Map with a ResultWriter against a
// temporary folder and reads back the manifest it wrote.
func TestStatesRunWritesResults(t *testing.T) {
	dir := t.TempDir()
	def, err := filepath.Abs(filepath.Join("testdata", "states", "mapwrite.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "states", "run", def, "--input", `[1,2]`, "--items-dir", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, stdout, stderr)
	}
	var res struct {
		Status string
		Output struct {
			ResultWriterDetails struct{ Bucket, Key string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	d := res.Output.ResultWriterDetails
	if res.Status != "SUCCEEDED" || d.Bucket != "results" || !strings.HasPrefix(d.Key, "runs/") {
		t.Fatalf("result %s", stdout)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, d.Bucket, filepath.FromSlash(d.Key)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), `"SUCCEEDED":[{"Key":"runs/`) {
		t.Fatalf("manifest %s", manifest)
	}
}
