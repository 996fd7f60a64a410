package config

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader("data: /tmp/lf\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "sqlite:///tmp/lf/landfall.db" || c.Blob != "file:///tmp/lf/bucket" || c.Role != "all" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Provider("transcribe") != "local" {
		t.Fatal("default provider is not local")
	}
}

func TestParseFields(t *testing.T) {
	c, err := Parse(strings.NewReader(`{"data":"/d","uploads":{"abort_after":"2h"},"analysers":{"summarise":"openai"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Uploads.AbortAfter.Duration != 2*time.Hour || c.Provider("summarise") != "openai" {
		t.Fatalf("%+v", c)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"data: /d\nbogus: 1\n", `unknown field "bogus"`},
		{"openai:\n  base_url: x\n  modle: y\n", `unknown field "modle"`},
		{"role: boss\n", "/role: must be all, api or worker"},
		{"analysers:\n  transcribe: magic\n", `/analysers/transcribe: unknown provider "magic"`},
		{"uploads:\n  abort_after: soon\n", `invalid duration "soon"`},
		{"analysers:\n  transcibe: local\n", `/analysers/transcibe: unknown analyser task "transcibe" (known tasks: classify, diarise, embed, faces, labels, language, media, moderate, ocr, summarise, transcribe)`},
		{"analysers:\n  a/b: local\n", `/analysers/a~1b: unknown analyser task "a/b"`},
		{"workers: -3\n", "/workers: must be between 0 (the default, 4) and 1024, not -3"},
		{"workers: 5000\n", "/workers: must be between 0 (the default, 4) and 1024, not 5000"},
		{"uploads:\n  max_bytes: -1\n", "/uploads/max_bytes: must not be negative"},
		{"uploads:\n  abort_after: -1h\n", "/uploads/abort_after: must not be negative"},
		{"openai:\n  max_tokens: -5\n", "/openai/max_tokens: must not be negative"},
		{"openai:\n  timeout: -1s\n", "/openai/timeout: must not be negative"},
		{"notify:\n  alert_threshold: -1\n", "/notify/alert_threshold: must not be negative"},
		{"notify:\n  alert_window: -1m\n", "/notify/alert_window: must not be negative"},
		{"limits:\n  history_events: -1\n", "/limits/history_events: must not be negative"},
		{"limits:\n  idle_timeout: -2s\n", "/limits/idle_timeout: must not be negative"},
		{"prices:\n  analyser.ocr.tesseract:\n    per_image: -0.5\n", "/prices/analyser.ocr.tesseract/per_image: must be a finite number not below 0, not -0.5"},
		{"prices:\n  x:\n    per_cpu_second: .nan\n", "/prices/x/per_cpu_second: must be a finite number not below 0, not NaN"},
		{"log:\n  level: verbose\n", `/log/level: must be debug, info, warn or error, not "verbose"`},
		{"log:\n  format: xml\n", `/log/format: must be json or text, not "xml"`},
		{"log:\n  sample: 1.5\n", "/log/sample: must be between 0 and 1, not 1.5"},
		{"otlp:\n  sample_ratio: -0.1\n", "/otlp/sample_ratio: must be between 0 and 1, not -0.1"},
		{"tenants:\n  - vocabulary: [a]\n", "/tenants/0/id: required"},
		{"aws:\n  live_vocabulary: my terms\n", `/aws/live_vocabulary: "my terms" is not a Transcribe resource name`},
		{"aws:\n  live_vocabulary_filter: a/b\n", `/aws/live_vocabulary_filter: "a/b" is not a Transcribe resource name`},
		{"aws:\n  live_vocabulary_filter_method: remove\n", "/aws/live_vocabulary_filter_method: set without aws.live_vocabulary_filter"},
		{"aws:\n  live_vocabulary_filter: f\n  live_vocabulary_filter_method: hide\n", `/aws/live_vocabulary_filter_method: unknown method "hide" (want mask, remove or tag)`},
		{"tenants:\n  - id: Acme\n", `/tenants/0/id: tenant id "Acme": want a-z, 0-9`},
		{"tenants:\n  - id: acme\n  - id: beta\n  - id: acme\n", `/tenants/2/id: tenant "acme" is already configured at /tenants/0`},
	} {
		_, err := Parse(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want containing %q", tc.doc, err, tc.want)
		}
	}
}

// TestValidateReportsEverything: every problem is reported, each with the
// Invalid code.
func TestValidateReportsEverything(t *testing.T) {
	t.Parallel()
	_, err := Parse(strings.NewReader("workers: -1\nanalysers:\n  ocr: magic\n  labes: local\nlog:\n  sample: 2\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"/workers:", `/analysers/ocr: unknown provider "magic"`, `/analysers/labes: unknown analyser task`, "/log/sample:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if !errors.Is(err, errcode.Invalid) {
		t.Errorf("error %v has code %s, want Invalid", err, errcode.Of(err))
	}
}

// TestDefaultsValidate: the defaults, and zero values meaning "default",
// pass validation.
func TestDefaultsValidate(t *testing.T) {
	t.Parallel()
	if err := Default(t.TempDir()).Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := Parse(strings.NewReader("workers: 0\nanalysers:\n  transcribe: openai\n  faces: none\n  embed: openai\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Workers != 4 {
		t.Fatalf("workers: 0 gave %d, want the default 4", c.Workers)
	}
}

// TestTasksAreAnalysersTasks: Tasks holds exactly the Task* constants of
// package analyser, read from its source so that a new task cannot be
// missed.
func TestTasksAreAnalysersTasks(t *testing.T) {
	t.Parallel()
	file := filepath.Join(testutil.RepoRoot(t), "analyser", "analyser.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Task") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				v, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, v)
			}
		}
	}
	if len(want) < 10 {
		t.Fatalf("found only %d Task constants in %s: %v", len(want), file, want)
	}
	got := slices.Clone(Tasks)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("config.Tasks = %v, analyser's Task constants = %v", got, want)
	}
}

// TestREADMEExampleParses: the configuration example in README.md is a
// valid configuration.
func TestREADMEExampleParses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Configuration")
	if !ok {
		t.Fatal("README.md has no Configuration section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("README.md's Configuration section has no yaml block")
	}
	doc, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's yaml block is not closed")
	}
	if _, err := Parse(strings.NewReader(doc)); err != nil {
		t.Fatalf("README.md's configuration example: %v", err)
	}
}
