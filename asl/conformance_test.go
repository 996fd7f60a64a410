package asl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/asltest"
	"github.com/landfall/landfall/internal/testutil"
)

var updateKnown = flag.Bool("update-known", false, "rewrite testdata/known_failures.txt from this run")

type execCase struct {
	Name          string         `json:"name"`
	QueryLanguage string         `json:"query_language"`
	ExecutionType string         `json:"execution_type"`
	Definition    any            `json:"definition"`
	Input         any            `json:"input"`
	Expected      map[string]any `json:"expected"`
	Mocks         any            `json:"mocks"`
	S3Objects     []struct {
		Bucket, Key, Body string
	} `json:"s3_objects"`
}

// TestConformanceExecutions runs every recorded execution of the shared
// suite and compares outputs, errors and causes with what AWS produced.
func TestConformanceExecutions(t *testing.T) {
	t.Run("memory", func(t *testing.T) { conformanceExecutions(t, false) })
	// The same cases with every frame reloaded from JSON before each step,
	// as the durable engine resumes them.
	t.Run("reloaded", func(t *testing.T) { conformanceExecutions(t, true) })
}

func conformanceExecutions(t *testing.T, reload bool) {
	dir := testutil.ConformanceDir(t, "asl")
	files, err := filepath.Glob(filepath.Join(dir, "executions", "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no execution files in %s: %v", dir, err)
	}
	sort.Strings(files)
	known := readKnown(t)
	var failedNames []string
	total, passed, eventIDOnly := 0, 0, 0
	var unexpected, fixed []string
	for _, file := range files {
		fp, fpass := 0, 0
		for _, c := range readCases(t, file) {
			total++
			fp++
			ok, why, idOnly := runCase(c, reload)
			if ok {
				passed++
				fpass++
				if idOnly {
					eventIDOnly++
					t.Logf("passes only without the event id: %s", c.Name)
				}
				if known[c.Name] {
					fixed = append(fixed, c.Name)
				}
				continue
			}
			failedNames = append(failedNames, c.Name)
			if !known[c.Name] {
				unexpected = append(unexpected, c.Name+": "+why)
			}
			if testing.Verbose() {
				t.Logf("FAIL %s: %s", c.Name, why)
			}
		}
		t.Logf("%-28s %4d/%4d", filepath.Base(file), fpass, fp)
	}
	t.Logf("executions: %d/%d passed (%.1f%%); %d pass only after removing the cause's event id", passed, total, 100*float64(passed)/float64(total), eventIDOnly)
	sort.Strings(failedNames)
	for _, n := range failedNames {
		t.Logf("failing: %s", n)
	}
	if *updateKnown && !reload {
		writeKnown(t, failedNames)
		return
	}
	for _, u := range unexpected {
		t.Errorf("unexpected failure (not in testdata/known_failures.txt): %s", u)
	}
	for _, f := range fixed {
		t.Errorf("listed in testdata/known_failures.txt but passes now (remove it): %s", f)
	}
	if float64(passed) < 0.97*float64(total) {
		t.Errorf("pass rate %.1f%% is below 97%%", 100*float64(passed)/float64(total))
	}
}

func readCases(t *testing.T, file string) []execCase {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []execCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var c execCase
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

func readKnown(t *testing.T) map[string]bool {
	known := map[string]bool{}
	b, err := os.ReadFile(filepath.Join("testdata", "known_failures.txt"))
	if err != nil {
		if os.IsNotExist(err) {
			return known
		}
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			known[line] = true
		}
	}
	return known
}

func writeKnown(t *testing.T, names []string) {
	var b strings.Builder
	b.WriteString("# Conformance execution cases that fail today, one name a line.\n")
	b.WriteString("# This list may only shrink: TestConformanceExecutions fails when a listed case passes\n")
	b.WriteString("# or an unlisted one fails. Regenerate with: go test ./asl -run Conformance -update-known\n")
	for _, n := range names {
		b.WriteString(n)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(filepath.Join("testdata", "known_failures.txt"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCase runs one case; idOnly reports a pass that needed the event id
// removed from the cause.
func runCase(c execCase, reload bool) (ok bool, why string, idOnly bool) {
	defer func() {
		if r := recover(); r != nil {
			ok, why = false, fmt.Sprintf("panic: %v", r)
		}
	}()
	m, err := asl.ParseValue(c.Definition, asl.ParseOptions{Express: c.ExecutionType == "EXPRESS"})
	if err != nil {
		return false, "parse: " + err.Error(), false
	}
	opts := asl.RunOptions{
		Clock:        asl.NewVirtualClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)),
		ReloadFrames: reload,
	}
	if c.ExecutionType == "EXPRESS" {
		// Express executions have no redrive count in their context.
		opts.Context = map[string]any{
			"Execution": map[string]any{
				"Id": "arn:aws:states:local:000000000000:express:landfall:run:run", "Name": "run",
				"Input": c.Input, "StartTime": "2024-01-02T03:04:05.000Z",
				"RoleArn": "arn:aws:iam::000000000000:role/landfall",
			},
			"StateMachine": map[string]any{"Id": "arn:aws:states:local:000000000000:stateMachine:landfall", "Name": "landfall"},
		}
	}
	if c.Mocks != nil {
		raw, _ := json.Marshal(c.Mocks)
		mocks, err := asltest.ParseMocks(raw)
		if err != nil {
			return false, err.Error(), false
		}
		opts.Tasks = mocks
	}
	if len(c.S3Objects) > 0 {
		b := &asltest.Bucket{}
		for _, o := range c.S3Objects {
			b.Put(o.Bucket, o.Key, o.Body)
		}
		opts.ItemReader = b
	}
	input := c.Input
	if input == nil {
		input = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := asl.Run(ctx, m, input, opts)
	if err != nil {
		return false, "run: " + err.Error(), false
	}
	return asltest.CheckExpected(c.Expected, asltest.Outcome{Status: res.Status, Error: res.Error, Cause: res.Cause, Output: res.Output})
}

type validationCase struct {
	Name           string         `json:"name"`
	API            string         `json:"api"`
	StateMachine   string         `json:"state_machine_type"`
	Definition     any            `json:"definition"`
	DefinitionText *string        `json:"definition_text"`
	Expected       map[string]any `json:"expected"`
}

// TestConformanceValidation checks that definitions AWS rejects are
// rejected with the same message and location, and the rest accepted.
func TestConformanceValidation(t *testing.T) {
	dir := testutil.ConformanceDir(t, "asl")
	f, err := os.Open(filepath.Join(dir, "validation", "validation.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n, pass := 0, 0
	for sc.Scan() {
		var c validationCase
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		n++
		var text []byte
		if c.DefinitionText != nil {
			text = []byte(*c.DefinitionText)
		} else if c.Definition == nil {
			text = []byte("{}")
		} else {
			text, _ = json.Marshal(c.Definition)
		}
		_, perr := asl.Parse(text, asl.ParseOptions{Express: c.StateMachine == "EXPRESS"})
		if why := checkValidation(c, perr); why != "" {
			t.Errorf("%s: %s", c.Name, why)
			continue
		}
		pass++
	}
	t.Logf("validation: %d/%d passed", pass, n)
}

func checkValidation(c validationCase, perr error) string {
	var verrs asl.ValidationErrors
	if perr != nil {
		var ok bool
		verrs, ok = perr.(asl.ValidationErrors)
		if !ok {
			return fmt.Sprintf("Parse returned %T, want asl.ValidationErrors", perr)
		}
	}
	has := func(code, loc, msg string) bool {
		for _, e := range verrs {
			l := e.Pointer
			if l == "" {
				l = "/"
			}
			if (code == "" || e.Code == code) && (loc == "" || l == loc) && (msg == "" || strings.TrimSpace(e.Message) == strings.TrimSpace(msg)) {
				return true
			}
		}
		return false
	}
	if c.API == "CreateStateMachine" {
		msg, _ := c.Expected["message"].(string)
		re := regexp.MustCompile(`^Invalid State Machine Definition: '([A-Z_]+): (.*) at (/\S*)'$`)
		mm := re.FindStringSubmatch(msg)
		if mm == nil {
			return "cannot read expected message " + msg
		}
		if !has(mm[1], mm[3], mm[2]) {
			return fmt.Sprintf("want %s at %s: %q, got %v", mm[1], mm[3], mm[2], verrs)
		}
		return ""
	}
	result, _ := c.Expected["result"].(string)
	if result == "OK" {
		if perr != nil {
			return "want OK, got " + perr.Error()
		}
		return ""
	}
	if perr == nil {
		return "want FAIL, got OK"
	}
	diags, _ := c.Expected["diagnostics"].([]any)
	for _, d := range diags {
		dm, _ := d.(map[string]any)
		code, _ := dm["code"].(string)
		loc, _ := dm["location"].(string)
		msg, _ := dm["message"].(string)
		if code == asl.CodeInvalidJSON {
			// The location and message are Jackson's parser texts; the
			// code is what matters.
			loc, msg = "", ""
		}
		if !has(code, loc, msg) {
			return fmt.Sprintf("want %s at %q: %q, got %v", code, loc, msg, verrs)
		}
	}
	return ""
}
