package workflowtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/asltest"
	"github.com/landfall/landfall/asl/expr"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/workflow"
)

// ConformanceCase is one execution case: a recorded AWS execution of
// ../shared/conformance/asl/executions or one of the project's own
// asl/testdata/cases. Only the outcome is compared on the engine (output,
// or error and cause); the own cases' timings need a virtual clock.
type ConformanceCase struct {
	Name          string         `json:"name"`
	ExecutionType string         `json:"execution_type"`
	Definition    any            `json:"definition"`
	Input         any            `json:"input"`
	Expected      map[string]any `json:"expected"`
	Mocks         any            `json:"mocks"`
	S3Objects     []struct {
		Bucket, Key, Body string
	} `json:"s3_objects"`
	// Objects are the own cases' bucket objects (same shape).
	Objects []struct {
		Bucket, Key, Body string
	} `json:"objects"`
	// ElapsedSeconds is an own case's virtual duration.
	ElapsedSeconds *float64 `json:"elapsedSeconds"`
}

// maxRealSeconds bounds the virtual duration of a case the engine runs in
// real time.
const maxRealSeconds = 40

// skipReason says why a case cannot run on the engine ("" when it can):
// reading Map items from a bucket needs S3, which the engine does not
// reach; a case whose virtual run lasts hours needs a virtual clock.
func (c *ConformanceCase) skipReason() string {
	if len(c.S3Objects) > 0 || len(c.Objects) > 0 {
		return "reads Map items from S3"
	}
	if c.ElapsedSeconds != nil && *c.ElapsedSeconds > maxRealSeconds {
		return fmt.Sprintf("runs %gs of virtual time", *c.ElapsedSeconds)
	}
	return ""
}

func decodeLine(b []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	return dec.Decode(v)
}

// requireConformance reports whether a missing conformance suite must
// fail the test: under CI, or with LANDFALL_REQUIRE_CONFORMANCE=1.
func requireConformance() bool {
	return os.Getenv("CI") != "" || os.Getenv(testutil.RequireConformanceEnv) == "1"
}

// RecordedCases reads every recorded execution of the shared ASL
// conformance suite. A missing suite skips the test, or fails it under CI
// (CI set) or with LANDFALL_REQUIRE_CONFORMANCE=1.
func RecordedCases(tb testing.TB) []ConformanceCase {
	tb.Helper()
	base := os.Getenv("LANDFALL_CONFORMANCE_DIR")
	if base == "" {
		base = filepath.Join(testutil.RepoRoot(tb), "..", "shared", "conformance")
	}
	dir := filepath.Join(base, "asl", "executions")
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		if requireConformance() {
			tb.Fatalf("no recorded executions in %s (%v), and CI requires the conformance suite (set LANDFALL_CONFORMANCE_DIR to the folder holding asl/)", dir, err)
		}
		tb.Skipf("conformance suite not found at %s", dir)
	}
	sort.Strings(files)
	var out []ConformanceCase
	for _, file := range files {
		f, err := os.Open(file)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var c ConformanceCase
			if err := decodeLine(sc.Bytes(), &c); err != nil {
				f.Close()
				tb.Fatalf("%s: %v", file, err)
			}
			out = append(out, c)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// OwnCases reads the project's own cases, asl/testdata/cases/*.json.
func OwnCases(tb testing.TB) []ConformanceCase {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(testutil.RepoRoot(tb), "asl", "testdata", "cases", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no asl/testdata/cases: %v", err)
	}
	sort.Strings(files)
	var out []ConformanceCase
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var cs []ConformanceCase
		if err := decodeLine(b, &cs); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		for i := range cs {
			cs[i].Name = strings.TrimSuffix(filepath.Base(file), ".json") + "/" + cs[i].Name
		}
		out = append(out, cs...)
	}
	return out
}

// caseResult is an execution's outcome.
type caseResult struct {
	status, errName, cause string
	output                 any
	err                    string // the run could not happen (parse, start, wait)
}

// compare checks a result against the case's expectation; idOnly is a
// pass that needed the cause's event id removed.
func (c *ConformanceCase) compare(r caseResult) (ok bool, why string, idOnly bool) {
	if r.err != "" {
		return false, r.err, false
	}
	return asltest.CheckExpected(c.Expected, asltest.Outcome{Status: r.status, Error: r.errName, Cause: r.cause, Output: r.output})
}

func (c *ConformanceCase) mocks() (*asltest.Mocks, error) {
	if c.Mocks == nil {
		return nil, nil
	}
	raw, _ := json.Marshal(c.Mocks)
	return asltest.ParseMocks(raw)
}

// runMemory runs the case on the in-memory runner under a virtual clock.
func (c *ConformanceCase) runMemory() (r caseResult) {
	defer func() {
		if v := recover(); v != nil {
			r = caseResult{err: fmt.Sprintf("panic: %v", v)}
		}
	}()
	m, err := asl.ParseValue(c.Definition, asl.ParseOptions{Express: c.ExecutionType == "EXPRESS"})
	if err != nil {
		return caseResult{err: "parse: " + err.Error()}
	}
	opts := asl.RunOptions{Clock: asl.NewVirtualClock(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC))}
	mocks, err := c.mocks()
	if err != nil {
		return caseResult{err: err.Error()}
	}
	if mocks != nil {
		opts.Tasks = mocks
	}
	input := c.Input
	if input == nil {
		input = map[string]any{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := asl.Run(ctx, m, input, opts)
	if err != nil {
		return caseResult{err: "run: " + err.Error()}
	}
	return caseResult{status: res.Status, output: res.Output, errName: res.Error, cause: res.Cause}
}

// mockInvoker serves the Lambda tasks of every running case with that
// case's mocks, sleeping in real time where a mock takes time.
type mockInvoker struct {
	byExec sync.Map // execution ARN → *asltest.Mocks
	// e settles .waitForTaskToken tasks with the mock's result, as the
	// service the task called would.
	e *workflow.Engine
}

func (mi *mockInvoker) Invoke(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	v, ok := mi.byExec.Load(inv.ExecutionARN)
	if !ok {
		return nil, &workflow.TaskError{Name: "States.TaskFailed", Cause: "the case has no mock for " + inv.Resource}
	}
	input, err := expr.Decode(inv.Input)
	if err != nil {
		return nil, err
	}
	resource := inv.Resource
	if inv.TaskToken != "" {
		resource += ".waitForTaskToken"
	}
	req := &asl.TaskRequest{TaskCall: asl.TaskCall{Resource: resource, Input: input}, Attempt: inv.Attempt, Token: inv.TaskToken,
		Clock: asl.RealClock{}, Heartbeat: func() {
			if inv.Heartbeat != nil {
				_ = inv.Heartbeat(ctx)
			}
		}}
	out, err := v.(*asltest.Mocks).RunTask(ctx, req)
	if inv.TaskToken != "" && err == nil {
		// The callback comes after the task was handed over.
		b, merr := expr.Marshal(out)
		if merr != nil {
			return nil, merr
		}
		go func() { _ = mi.e.SendTaskSuccess(context.Background(), inv.TaskToken, b) }()
		return nil, nil
	}
	var te *asl.TaskError
	if errors.As(err, &te) {
		return nil, &workflow.TaskError{Name: te.Name, Cause: te.Cause}
	}
	if err != nil {
		return nil, err
	}
	b, err := expr.Marshal(out)
	return b, err
}

// conformanceReport is what a run found.
type conformanceReport struct {
	total, skipped                       int
	enginePass, memoryPass, engineIDOnly int
	engineOnlyFails                      map[string]string // pass in memory, fail on the engine
	bothFail                             []string
	engineOnlyPasses                     []string
	skips                                map[string]int
}

// runCases runs every case on the engine opened at db (all at once; the
// engine runs them concurrently) and in memory, and compares both.
func runCases(t *testing.T, db string, cases []ConformanceCase) conformanceReport {
	mi := &mockInvoker{}
	res := workflow.NewResources()
	// Every resource goes to the case's mocks, as in the in-memory runs.
	res.Register("", mi)
	cfg := Config(db, res)
	cfg.Workers = 64
	e := StartEngine(t, cfg)
	mi.e = e
	ctx := context.Background()
	rep := conformanceReport{engineOnlyFails: map[string]string{}, skips: map[string]int{}}
	type running struct {
		c      *ConformanceCase
		arn    string
		result caseResult
	}
	runs := make([]*running, 0, len(cases))
	for i := range cases {
		c := &cases[i]
		rep.total++
		if why := c.skipReason(); why != "" {
			rep.skipped++
			rep.skips[why]++
			continue
		}
		r := &running{c: c}
		runs = append(runs, r)
		def, err := json.Marshal(c.Definition)
		if err != nil {
			r.result.err = err.Error()
			continue
		}
		typ := "STANDARD"
		if c.ExecutionType == "EXPRESS" {
			typ = "EXPRESS"
		}
		sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: fmt.Sprintf("case%04d", i), Definition: string(def), Type: typ})
		if err != nil {
			r.result.err = "create: " + err.Error()
			continue
		}
		input := c.Input
		if input == nil {
			input = map[string]any{}
		}
		in, _ := expr.Marshal(input)
		mocks, err := c.mocks()
		if err != nil {
			r.result.err = err.Error()
			continue
		}
		name := fmt.Sprintf("run%04d", i)
		arn := fmt.Sprintf("arn:aws:states:local:000000000000:execution:%s:%s", sm.Name, name)
		if mocks != nil {
			mi.byExec.Store(arn, mocks)
		}
		x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: in})
		if err != nil {
			r.result.err = "start: " + err.Error()
			continue
		}
		r.arn = x.ARN
	}
	deadline, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range runs {
		if r.arn == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, err := e.WaitExecution(deadline, r.arn)
			if err != nil {
				r.result.err = "wait: " + err.Error()
				return
			}
			r.result = caseResult{status: x.Status, errName: x.Error, cause: x.Cause}
			if len(x.Output) > 0 {
				if r.result.output, err = expr.Decode(x.Output); err != nil {
					r.result.err = "output: " + err.Error()
				}
			}
		}()
	}
	wg.Wait()
	for _, r := range runs {
		engOK, why, idOnly := r.c.compare(r.result)
		memOK, _, _ := r.c.compare(r.c.runMemory())
		if engOK {
			rep.enginePass++
			if idOnly {
				rep.engineIDOnly++
			}
		}
		if memOK {
			rep.memoryPass++
		}
		switch {
		case memOK && !engOK:
			rep.engineOnlyFails[r.c.Name] = why
		case !memOK && !engOK:
			rep.bothFail = append(rep.bothFail, r.c.Name)
		case !memOK && engOK:
			rep.engineOnlyPasses = append(rep.engineOnlyPasses, r.c.Name)
		}
	}
	return rep
}

// readExemptions reads the cases that pass in memory but are known to
// fail on the engine, one name a line, each after a comment saying why.
func readExemptions(t *testing.T, file string) map[string]bool {
	b, err := os.ReadFile(file)
	if err != nil {
		if os.IsNotExist(err) {
			return map[string]bool{}
		}
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out[line] = true
		}
	}
	return out
}

// RunConformance runs the recorded AWS executions of the shared suite and
// the project's own asl/testdata/cases on the durable engine (databases
// from open) and on the in-memory runner, and logs both pass counts. A
// case that passes in memory but fails on the engine fails the test
// unless exemptFile lists it; a listed case that passes on the engine
// fails the test too (remove it from the list).
func RunConformance(t *testing.T, open Open, exemptFile string) {
	exempt := readExemptions(t, exemptFile)
	for _, suite := range []struct {
		name  string
		cases func(testing.TB) []ConformanceCase
	}{
		{"recorded", RecordedCases},
		{"own", OwnCases},
	} {
		t.Run(suite.name, func(t *testing.T) {
			t.Parallel()
			cases := suite.cases(t)
			rep := runCases(t, open(t), cases)
			ran := rep.total - rep.skipped
			t.Logf("engine: %d/%d %s executions pass (%d only without the cause's event id); in memory: %d/%d",
				rep.enginePass, ran, suite.name, rep.engineIDOnly, rep.memoryPass, ran)
			for why, n := range rep.skips {
				t.Logf("not run on the engine: %d cases that %s", n, why)
			}
			for _, n := range rep.bothFail {
				t.Logf("fails on the engine and in memory (an interpreter gap, not the engine's): %s", n)
			}
			for _, n := range rep.engineOnlyPasses {
				t.Logf("passes on the engine only: %s", n)
			}
			names := make([]string, 0, len(rep.engineOnlyFails))
			for n := range rep.engineOnlyFails {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if !exempt[n] {
					t.Errorf("passes in memory but fails on the engine (fix it, or list it in %s with the reason): %s: %s", exemptFile, n, rep.engineOnlyFails[n])
				}
			}
			for _, c := range cases {
				if _, failing := rep.engineOnlyFails[c.Name]; exempt[c.Name] && !failing {
					t.Errorf("listed in %s but no longer fails on the engine only (remove it): %s", exemptFile, c.Name)
				}
			}
		})
	}
}
