package workflowtest

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// parallelFailing has three branches: a slow task, a task that fails with
// Media.Corrupt and a long Wait. %s is the Parallel state's extra fields.
const parallelFailing = `{"StartAt": "P", "States": {
  "P": {"Type": "Parallel", %s "Branches": [
    {"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "test:par:slow", "End": true}}},
    {"StartAt": "Bad", "States": {"Bad": {"Type": "Task", "Resource": "test:fn:fail", "End": true}}},
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}]}%s}}`

// runParallelFailure covers a Parallel branch failing: uncaught it fails
// the execution with the branch's error and abandons the other branches
// (their late results change nothing); caught, the Catch path runs; a
// Retry on the Parallel state reruns every branch; a Fail state without
// an error name still fails.
func runParallelFailure(t *testing.T, setup func(t *testing.T) *bundle) {
	t.Run("ParallelBranchFails", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		release := make(chan struct{})
		var slowDone, slowCalls atomic.Int32
		fns := workflow.NewFunctions("test:par:")
		fns.Add("slow", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			slowCalls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			slowDone.Add(1)
			return json.RawMessage(`"late"`), nil
		})
		b.res.Register("test:par:", fns)

		uncaught := b.create("uncaught", strings.Replace(strings.Replace(parallelFailing, "%s", `"End": true,`, 1), "%s", "", 1))
		got, h := b.run(uncaught, "uncaught", `{}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if got.Error != "Media.Corrupt" || got.Cause != "test input is corrupt" {
			t.Fatalf("error %q %q, want the branch's", got.Error, got.Cause)
		}
		counts := CheckHistory(t, h)
		if counts["ParallelStateStarted"] != 1 || counts["ParallelStateFailed"] != 1 || counts["ParallelStateSucceeded"] != 0 || counts["TaskFailed"] != 1 {
			t.Fatalf("counts %v; history:\n%s", counts, FormatHistory(h))
		}
		close(release)
		deadline := time.Now().Add(10 * time.Second)
		for slowDone.Load() < slowCalls.Load() {
			if time.Now().After(deadline) {
				t.Fatal("the slow branch's task did not return")
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		if h2 := b.history(got.ARN); len(h2) != len(h) {
			t.Fatalf("an abandoned branch wrote after the end:\n%s", FormatHistory(h2))
		}

		caught := b.create("caught", strings.Replace(strings.Replace(parallelFailing, "%s",
			`"Retry": [{"ErrorEquals": ["Media.Corrupt"], "IntervalSeconds": 1, "MaxAttempts": 1}],
			 "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.err", "Next": "Handled"}], "Next": "Handled",`, 1),
			"%s", `, "Handled": {"Type": "Pass", "End": true}`, 1))
		got, h = b.run(caught, "caught", `{"media": "m1"}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `{"err":{"Cause":"test input is corrupt","Error":"Media.Corrupt"},"media":"m1"}` {
			t.Fatalf("output %s", got.Output)
		}
		counts = CheckHistory(t, h)
		if counts["ParallelStateStarted"] != 2 || counts["ParallelStateFailed"] != 2 || counts["TaskFailed"] != 2 || counts["PassStateEntered"] != 1 {
			t.Fatalf("counts %v; history:\n%s", counts, FormatHistory(h))
		}

		nameless := b.create("nameless", `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
			{"StartAt": "F", "States": {"F": {"Type": "Fail"}}},
			{"StartAt": "OK", "States": {"OK": {"Type": "Pass", "End": true}}}]}}}`)
		got, h = b.run(nameless, "nameless", `{}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if got.Error != "" || got.Cause != "" {
			t.Fatalf("a Fail state without Error or Cause: %q %q", got.Error, got.Cause)
		}
	})
}
