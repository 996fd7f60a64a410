package asl_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/asltest"
	"github.com/landfall/landfall/asl/expr"
	"github.com/landfall/landfall/internal/testutil"
)

type testStateCase struct {
	Name    string `json:"name"`
	Request struct {
		Definition         any            `json:"definition"`
		StateName          string         `json:"stateName"`
		Input              any            `json:"input"`
		Context            map[string]any `json:"context"`
		Variables          map[string]any `json:"variables"`
		Mock               map[string]any `json:"mock"`
		StateConfiguration map[string]any `json:"stateConfiguration"`
	} `json:"request"`
	Expected map[string]any `json:"expected_response"`
}

// TestConformanceTestState runs the shared suite's TestState cases
// through asl.TestState: status, output, error, cause and next state must
// match, and the inspection data asl reports (input, afterInputPath,
// variables) must equal AWS's where AWS reports it.
func TestConformanceTestState(t *testing.T) {
	dir := testutil.ConformanceDir(t, "asl")
	f, err := os.Open(filepath.Join(dir, "test_state", "test_state.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	known := readKnownFile(t, "known_failures_test_state.txt")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	total, passed := 0, 0
	var failing, unexpected, fixed []string
	for sc.Scan() {
		var c testStateCase
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.UseNumber()
		if err := dec.Decode(&c); err != nil {
			t.Fatal(err)
		}
		total++
		why := runTestStateCase(c)
		if why == "" {
			passed++
			if known[c.Name] {
				fixed = append(fixed, c.Name)
			}
			continue
		}
		failing = append(failing, c.Name)
		if !known[c.Name] {
			unexpected = append(unexpected, c.Name+": "+why)
		}
		if testing.Verbose() {
			t.Logf("FAIL %s: %s", c.Name, why)
		}
	}
	t.Logf("test_state: %d/%d passed", passed, total)
	sort.Strings(failing)
	if *updateKnown {
		writeKnownFile(t, "known_failures_test_state.txt", "TestState conformance cases", failing)
		return
	}
	for _, u := range unexpected {
		t.Errorf("unexpected failure (not in testdata/known_failures_test_state.txt): %s", u)
	}
	for _, n := range fixed {
		t.Errorf("listed in testdata/known_failures_test_state.txt but passes now (remove it): %s", n)
	}
}

func runTestStateCase(c testStateCase) (why string) {
	defer func() {
		if r := recover(); r != nil {
			why = fmt.Sprintf("panic: %v", r)
		}
	}()
	def, _ := json.Marshal(c.Request.Definition)
	req := asl.TestStateRequest{Definition: def, StateName: c.Request.StateName, Input: c.Request.Input,
		Context: c.Request.Context, Variables: c.Request.Variables, Now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}
	req.ContextVerbatim = req.Context != nil
	if req.Context == nil {
		req.Context = map[string]any{
			"Execution": map[string]any{"Id": "arn:aws:states:local:000000000000:execution:test:run", "Name": "run",
				"Input": c.Request.Input, "StartTime": "2024-01-02T03:04:05.000Z", "RoleArn": "arn:aws:iam::000000000000:role/test"},
			"StateMachine": map[string]any{"Id": "arn:aws:states:local:000000000000:stateMachine:test", "Name": "test"},
		}
	}
	if m := c.Request.Mock; m != nil {
		mock := &asl.TestStateMock{}
		if r, ok := m["result"].(string); ok {
			v, err := expr.Decode([]byte(r))
			if err != nil {
				return "mock result: " + err.Error()
			}
			mock.Result, mock.HasResult = v, true
		}
		if eo, ok := m["errorOutput"].(map[string]any); ok {
			mock.Error, _ = eo["error"].(string)
			mock.Cause, _ = eo["cause"].(string)
		}
		req.Mock = mock
	}
	if n, ok := c.Request.StateConfiguration["retrierRetryCount"].(json.Number); ok {
		i, _ := n.Int64()
		req.RetrierRetryCount = int(i)
	}
	if n, ok := c.Request.StateConfiguration["mapIterationFailureCount"].(json.Number); ok {
		i, _ := n.Int64()
		req.MapIterationFailureCount = int(i)
	}
	if d, ok := c.Request.StateConfiguration["mapItemReaderData"].(string); ok {
		req.MapItemReaderData = []byte(d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := asl.TestState(ctx, req, asl.RunOptions{})
	if err != nil {
		return "TestState: " + err.Error()
	}
	exp := c.Expected
	if s, _ := exp["status"].(string); res.Status != s {
		return fmt.Sprintf("status %s (%s: %s), want %s", res.Status, res.Error, res.Cause, s)
	}
	if want, ok := exp["output"]; ok {
		got := res.Output
		if up, _ := exp["unchecked_paths"].([]any); len(up) > 0 {
			got, want = asltest.DeepCopy(got), asltest.DeepCopy(want)
			for _, p := range up {
				ps, _ := p.(string)
				if rest, ok := strings.CutPrefix(ps, "/output"); ok {
					got, want = asltest.BlankAt(got, rest), asltest.BlankAt(want, rest)
				}
			}
		}
		if !equalMasked(got, want) {
			return fmt.Sprintf("output %s, want %s", asltest.Short(got), asltest.Short(want))
		}
	}
	if e, _ := exp["error"].(string); res.Error != e {
		return fmt.Sprintf("error %q, want %q", res.Error, e)
	}
	if ca, ok := exp["cause"].(string); ok && res.Cause != ca && asltest.EventIDRe.ReplaceAllString(res.Cause, "") != asltest.EventIDRe.ReplaceAllString(ca, "") {
		return fmt.Sprintf("cause %q, want %q", res.Cause, ca)
	}
	if n, _ := exp["nextState"].(string); res.NextState != n {
		return fmt.Sprintf("next state %q, want %q", res.NextState, n)
	}
	if insp, ok := exp["inspectionData"].(map[string]any); ok {
		for _, k := range []string{"input", "afterInputPath", "variables"} {
			want, ok := insp[k]
			if !ok {
				continue
			}
			if got := res.Inspection[k]; !expr.Equal(got, want) {
				return fmt.Sprintf("inspectionData.%s %s, want %s", k, asltest.Short(got), asltest.Short(want))
			}
		}
	}
	return ""
}

// equalMasked is expr.Equal where the recording's mask "date" (an
// ISO-8601 timestamp replaced by the snapshot tool) matches any timestamp.
func equalMasked(got, want any) bool {
	if w, ok := want.(string); ok && w == "date" {
		g, ok := got.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, g)
		return err == nil
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !equalMasked(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !equalMasked(g[i], w[i]) {
				return false
			}
		}
		return true
	}
	return expr.Equal(got, want)
}

func readKnownFile(t *testing.T, name string) map[string]bool {
	known := map[string]bool{}
	b, err := os.ReadFile(filepath.Join("testdata", name))
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

func writeKnownFile(t *testing.T, name, what string, names []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s that fail today, one name a line. This list may only shrink:\n", what)
	b.WriteString("# the test fails when a listed case passes or an unlisted one fails.\n")
	b.WriteString("# Regenerate with: go test ./asl -run Conformance -update-known\n")
	for _, n := range names {
		b.WriteString(n + "\n")
	}
	if err := os.WriteFile(filepath.Join("testdata", name), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
