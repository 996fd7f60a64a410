package workflowtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// Run runs the driver suite against databases made by open.
func Run(t *testing.T, open Open) {
	setup := func(t *testing.T) *workflow.Engine {
		t.Helper()
		return StartEngine(t, Config(open(t), Resources()))
	}
	create := func(t *testing.T, e *workflow.Engine, name, def string) *workflow.StateMachine {
		t.Helper()
		sm, err := e.CreateStateMachine(context.Background(), workflow.CreateStateMachineParams{Name: name, Definition: def})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		return sm
	}
	start := func(t *testing.T, e *workflow.Engine, sm *workflow.StateMachine, name, input string) *workflow.Execution {
		t.Helper()
		x, err := e.StartExecution(context.Background(), workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: json.RawMessage(input)})
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		return x
	}
	history := func(t *testing.T, e *workflow.Engine, arn string) []workflow.HistoryEvent {
		t.Helper()
		h, _, err := e.History(context.Background(), arn, workflow.HistoryParams{})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}

	t.Run("Pipeline20", func(t *testing.T) {
		t.Parallel()
		e := setup(t)
		sm := create(t, e, "pipeline20", Definition(t, "pipeline20"))
		x := start(t, e, sm, "one", `{"wait": 0}`)
		got := Wait(t, e, x.ARN, 30*time.Second)
		h := history(t, e, x.ARN)
		if got.Status != workflow.StatusSucceeded {
			t.Fatalf("status %s %s %s; history:\n%s", got.Status, got.Error, got.Cause, FormatHistory(h))
		}
		if string(got.Output) != Pipeline20Output {
			t.Fatalf("output %s, want %s", got.Output, Pipeline20Output)
		}
		counts := CheckHistory(t, h)
		for typ, n := range Pipeline20Counts {
			if counts[typ] != n {
				t.Errorf("%d %s events, want %d", counts[typ], typ, n)
			}
		}
		if t.Failed() {
			t.Logf("history:\n%s", FormatHistory(h))
		}
	})
}
