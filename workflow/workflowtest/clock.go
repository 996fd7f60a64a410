package workflowtest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// RunClock checks that the engine reads time from Config.Now only: with
// a clock thirty days behind the process's, start, event and stop times
// are the engine's, a Wait lasts its own span, and execution timeouts
// fire by the engine's clock.
func RunClock(t *testing.T, open Open) {
	t.Run("InjectedClock", func(t *testing.T) {
		t.Parallel()
		const offset = -30 * 24 * time.Hour
		cfg := Config(open(t), Resources())
		cfg.Now = func() time.Time { return time.Now().Add(offset) }
		e := StartEngine(t, cfg)
		ctx := context.Background()
		sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "wait",
			Definition: `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}`})
		if err != nil {
			t.Fatal(err)
		}
		near := func(what string, got time.Time) {
			t.Helper()
			if d := got.Sub(time.Now().Add(offset)); d > 10*time.Second || d < -10*time.Second {
				t.Fatalf("%s %v is not on the engine's clock (%v off)", what, got, d)
			}
		}
		near("creation date", sm.CreatedAt)
		began := time.Now()
		x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(`{"a": 1}`)})
		if err != nil {
			t.Fatal(err)
		}
		near("start date", x.StartDate)
		got := Wait(t, e, x.ARN, 20*time.Second)
		if got.Status != workflow.StatusSucceeded || got.StopDate == nil {
			t.Fatalf("execution: %+v", got)
		}
		near("stop date", *got.StopDate)
		if took := time.Since(began); took < time.Second {
			t.Fatalf("a one-second Wait ended after %v", took)
		}
		if span := got.StopDate.Sub(got.StartDate); span < time.Second || span > 15*time.Second {
			t.Fatalf("the execution spans %v of the engine's clock, want about a second", span)
		}
		for _, ev := range CheckHistoryEvents(t, e, x.ARN) {
			near(ev.Type, ev.Timestamp)
		}

		timed, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "timeout", Definition: Definition(t, "exec_timeout")})
		if err != nil {
			t.Fatal(err)
		}
		y, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: timed.ARN})
		if err != nil {
			t.Fatal(err)
		}
		if got := Wait(t, e, y.ARN, 20*time.Second); got.Status != workflow.StatusTimedOut {
			t.Fatalf("timeout by the engine's clock: %s", got.Status)
		}
	})
}

// CheckHistoryEvents returns an execution's whole history, checked with
// CheckHistory.
func CheckHistoryEvents(tb testing.TB, e *workflow.Engine, arn string) []workflow.HistoryEvent {
	tb.Helper()
	h, _, err := e.History(context.Background(), arn, workflow.HistoryParams{})
	if err != nil {
		tb.Fatal(err)
	}
	CheckHistory(tb, h)
	return h
}
