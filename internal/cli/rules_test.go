package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testutil"
)

// TestRulesCommands runs the cases in testdata/rules/cases.json in process,
// from inside testdata/rules so that file arguments are relative to it.
func TestRulesCommands(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "rules", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name   string   `json:"name"`
		Args   []string `json:"args"`
		Stdin  string   `json:"stdin"`
		Code   int      `json:"code"`
		Stdout *string  `json:"stdout"`
		Stderr []string `json:"stderr"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join("testdata", "rules"))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := &Env{Stdin: strings.NewReader(c.Stdin), Stdout: &out, Stderr: &errb}
			code := RunEnv(context.Background(), env, c.Args)
			if code != c.Code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, c.Code, out.String(), errb.String())
			}
			if c.Stdout != nil && out.String() != *c.Stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), *c.Stdout)
			}
			for _, want := range c.Stderr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr does not contain %q:\n%s", want, errb.String())
				}
			}
		})
	}
}

// TestRulesDemo runs the demo that make run shows on the shipped examples.
func TestRulesDemo(t *testing.T) {
	root := testutil.RepoRoot(t)
	rules := filepath.Join(root, "examples", "rules.json")
	events := filepath.Join(root, "examples", "events.jsonl")
	code, _, stderr := run(t, "", "rules", "validate", rules)
	if code != 0 {
		t.Fatalf("validate: code %d: %s", code, stderr)
	}
	code, stdout, stderr := run(t, "", "rules", "match", "--rules", rules, "--events", events)
	if code != 0 {
		t.Fatalf("match: code %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 7 {
		t.Fatalf("want 7 result lines, got %d:\n%s", len(lines), stdout)
	}
	want := [][]string{
		{"media-pipeline", "acme-video-webhook", "office-network-uploads"}, // large acme video from the office
		{"tiny-upload-audit", "office-network-uploads"},                    // 512-byte note
		{"media-pipeline"},                       // podcast
		{"media-pipeline"},                       // png: the thumbnail rule is disabled
		{"media-pipeline", "acme-video-webhook"}, // .MOV in upper case
		{"office-network-uploads"},               // under processed/, not incoming/
		{"media-pipeline"},                       // a copy from the office network
	}
	for i, l := range lines {
		var got matchLine
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.Matched, ",") != strings.Join(want[i], ",") {
			t.Errorf("event %d matched %v, want %v", i+1, got.Matched, want[i])
		}
	}
}
