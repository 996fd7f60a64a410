package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// LoopDefinition is a Pass→Choice loop of n passes: it counts $.n up to n
// and succeeds. Without a history cap one execution of it enters 2n
// states.
func LoopDefinition(n int) string {
	return fmt.Sprintf(`{"StartAt": "Inc", "States": {
  "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
  "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": %d, "Next": "Inc"}], "Default": "Done"},
  "Done": {"Type": "Succeed"}}}`, n)
}

// taskLoop loops through a Task and a Choice state until $.stop, which
// the input never has.
const taskLoop = `{"StartAt": "Work", "States": {
  "Work": {"Type": "Task", "Resource": "test:fn:echo", "Next": "Again"},
  "Again": {"Type": "Choice", "Choices": [{"Variable": "$.stop", "IsPresent": true, "Next": "Done"}], "Default": "Work"},
  "Done": {"Type": "Succeed"}}}`

// parallelLoop runs the loop in a Parallel branch, caught by States.ALL:
// the history cap ends the execution all the same.
const parallelLoop = `{"StartAt": "Fan", "States": {
  "Fan": {"Type": "Parallel", "Branches": [
    {"StartAt": "Inc", "States": {
      "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
      "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 1000000, "Next": "Inc"}], "Default": "Done"},
      "Done": {"Type": "Succeed"}}}],
    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": true},
  "Caught": {"Type": "Pass", "End": true}}}`

// wideMap runs every item of $.items at once through two Pass states.
const wideMap = `{"StartAt": "Each", "States": {
  "Each": {"Type": "Map", "ItemsPath": "$.items", "End": true,
    "ItemProcessor": {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "End": true}}}}}}`

// RunLimits checks the engine's limits on databases made by open: the
// history cap, the execution timeout cap and a tenant's concurrent
// executions.
func RunLimits(t *testing.T, open Open) {
	ctx := context.Background()

	t.Run("HistoryCap", func(t *testing.T) {
		t.Parallel()
		const limit = 300
		cfg := Config(open(t), Resources())
		cfg.HistoryEvents = limit
		e := StartEngine(t, cfg)
		items := make([]int, 5000)
		wide, _ := json.Marshal(map[string]any{"n": 0, "items": items})
		for _, tc := range []struct{ name, def, input string }{
			{"pass-choice", LoopDefinition(1000000), `{"n": 0}`},
			{"task", taskLoop, `{"n": 0}`},
			{"parallel", parallelLoop, `{"n": 0}`},
			// 5,000 iterations at once would write 20,000 events in one
			// transition; they stop at the cap instead.
			{"map", wideMap, string(wide)},
		} {
			sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: tc.name, Definition: tc.def})
			if err != nil {
				t.Fatal(err)
			}
			x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(tc.input)})
			if err != nil {
				t.Fatal(err)
			}
			got := Wait(t, e, x.ARN, 60*time.Second)
			h, _, err := e.History(ctx, x.ARN, workflow.HistoryParams{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != workflow.StatusFailed || got.Error != "States.Runtime" || !strings.Contains(got.Cause, fmt.Sprint(limit)) {
				t.Fatalf("%s: %s %s: %s", tc.name, got.Status, got.Error, got.Cause)
			}
			if len(h) > limit || len(h) < limit-10 {
				t.Fatalf("%s: %d events, want at most the cap %d and close to it", tc.name, len(h), limit)
			}
			CheckHistory(t, h)
			last := h[len(h)-1]
			if last.Type != "ExecutionFailed" || !strings.Contains(string(last.Details), "history cap") {
				t.Fatalf("%s: last event %s %s", tc.name, last.Type, last.Details)
			}
			// Nothing more is written after the end.
			time.Sleep(200 * time.Millisecond)
			if h2, _, _ := e.History(ctx, x.ARN, workflow.HistoryParams{Limit: 1000}); len(h2) != len(h) {
				t.Fatalf("%s: history grew from %d to %d events after the end", tc.name, len(h), len(h2))
			}
			if _, err := e.RedriveExecution(ctx, x.ARN); !errors.Is(err, errcode.FailedPrecond) {
				t.Fatalf("%s: redrive past the cap: %v", tc.name, err)
			}
		}
		// A loop that ends below the cap is not touched: 100 passes are
		// 2 + 4·100 + … events; 60 passes fit in 300.
		sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "short", Definition: LoopDefinition(60)})
		if err != nil {
			t.Fatal(err)
		}
		x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(`{"n": 0}`)})
		if err != nil {
			t.Fatal(err)
		}
		if got := Wait(t, e, x.ARN, 30*time.Second); got.Status != workflow.StatusSucceeded || string(got.Output) != `{"n":60}` {
			t.Fatalf("short loop: %s %s %s %s", got.Status, got.Output, got.Error, got.Cause)
		}
	})

	t.Run("ExecutionTimeoutCap", func(t *testing.T) {
		t.Parallel()
		cfg := Config(open(t), Resources())
		cfg.ExecutionTimeout = time.Second
		e := StartEngine(t, cfg)
		for _, def := range []string{
			`{"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 60, "End": true}}}`,
			`{"TimeoutSeconds": 3600, "StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 60, "End": true}}}`,
		} {
			sm, err := e.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: "long", Definition: def})
			if err != nil {
				t.Fatal(err)
			}
			x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, TimeoutSeconds: 7200})
			if err != nil {
				t.Fatal(err)
			}
			if got := Wait(t, e, x.ARN, 30*time.Second); got.Status != workflow.StatusTimedOut {
				t.Fatalf("status %s, want TIMED_OUT by the 1s cap", got.Status)
			}
		}
	})

	t.Run("ConcurrentExecutions", func(t *testing.T) {
		t.Parallel()
		cfg := Config(open(t), Resources())
		cfg.ConcurrentExecutions = 2
		e := StartEngine(t, cfg)
		sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "long",
			Definition: `{"StartAt": "Long", "States": {"Long": {"Type": "Wait", "Seconds": 600, "End": true}}}`})
		if err != nil {
			t.Fatal(err)
		}
		start := func(name, tenant string) (*workflow.Execution, error) {
			return e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Tenant: tenant})
		}
		a1, err := start("a1", "acme")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := start("a2", "acme"); err != nil {
			t.Fatal(err)
		}
		if _, err := start("a3", "acme"); !errors.Is(err, errcode.ResourceExhausted) || !strings.Contains(err.Error(), "acme") {
			t.Fatalf("third acme execution: %v, want ResourceExhausted", err)
		}
		// Starting a running execution again by name is not a new one.
		if again, err := start("a2", "acme"); err != nil || again.Name != "a2" {
			t.Fatalf("restart by name at the limit: %v", err)
		}
		for i := range 3 {
			if _, err := start(fmt.Sprintf("g%d", i), "globex"); i < 2 && err != nil || i == 2 && !errors.Is(err, errcode.ResourceExhausted) {
				t.Fatalf("globex %d: %v", i, err)
			}
		}
		for i := range 3 {
			if _, err := start(fmt.Sprintf("installation%d", i), ""); err != nil {
				t.Fatalf("installation work is not capped: %v", err)
			}
		}
		if _, err := e.StopExecution(ctx, a1.ARN, "", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := start("a3", "acme"); err != nil {
			t.Fatalf("after a stop: %v", err)
		}
		// Redriving counts as starting.
		if _, err := e.RedriveExecution(ctx, a1.ARN); !errors.Is(err, errcode.ResourceExhausted) {
			t.Fatalf("redrive at the limit: %v", err)
		}
	})
}
