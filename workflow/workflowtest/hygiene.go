package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// runHygiene feeds every entry point of the engine identifiers with NUL
// bytes, control characters and invalid UTF-8: each answer is Invalid and
// names the field, never a database driver's error.
func runHygiene(t *testing.T, setup func(t *testing.T) *bundle) {
	t.Run("InputHygiene", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		e, ctx := b.e, b.ctx
		def := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`
		sm := b.create("clean", def)
		x := b.start(sm, "clean", `{}`)
		Wait(t, e, x.ARN, 10*time.Second)
		badDef := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "` + "\xff" + `", "End": true}}}`
		const activity = "arn:aws:states:local:000000000000:activity:"
		for _, bad := range []string{"a\x00b", "a\xffb", "\xc3", "a\x01b"} {
			checks := []struct {
				field string
				call  func() error
			}{
				{"state machine name", func() error {
					_, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: bad, Definition: def})
					return err
				}},
				{"definition", func() error {
					_, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "d", Definition: badDef})
					return err
				}},
				{"roleArn", func() error {
					_, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "r", Definition: def, RoleARN: bad})
					return err
				}},
				{"state machine", func() error { _, err := e.DescribeStateMachine(ctx, bad); return err }},
				{"state machine", func() error { _, err := e.DescribeStateMachine(ctx, sm.ARN+bad); return err }},
				{"state machine ARN", func() error { _, err := e.UpdateStateMachine(ctx, sm.ARN+bad, def, ""); return err }},
				{"definition", func() error { _, err := e.UpdateStateMachine(ctx, sm.ARN, badDef, ""); return err }},
				{"state machine ARN", func() error { return e.DeleteStateMachine(ctx, sm.ARN+bad) }},
				{"state machine", func() error {
					_, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN + bad})
					return err
				}},
				{"execution name", func() error {
					_, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: bad})
					return err
				}},
				{"execution input", func() error {
					_, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(`"` + bad + `"`)})
					return err
				}},
				{"correlation id", func() error {
					_, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, CorrelationID: bad})
					return err
				}},
				{"tenant", func() error {
					_, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Tenant: bad})
					return err
				}},
				{"execution ARN", func() error { _, err := e.DescribeExecution(ctx, x.ARN+bad); return err }},
				{"execution ARN", func() error {
					wctx, cancel := context.WithTimeout(ctx, time.Second)
					defer cancel()
					_, err := e.WaitExecution(wctx, x.ARN+bad)
					return err
				}},
				{"state machine ARN", func() error {
					_, _, err := e.ListExecutions(ctx, workflow.ListExecutionsParams{StateMachineARN: bad})
					return err
				}},
				{"correlation id", func() error {
					_, _, err := e.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: bad})
					return err
				}},
				{"tenant", func() error {
					_, _, err := e.ListExecutions(ctx, workflow.ListExecutionsParams{Tenant: bad})
					return err
				}},
				{"nextToken", func() error {
					_, _, err := e.ListExecutions(ctx, workflow.ListExecutionsParams{NextToken: bad})
					return err
				}},
				{"execution ARN", func() error { _, err := e.StopExecution(ctx, x.ARN+bad, "", ""); return err }},
				{"error", func() error { _, err := e.StopExecution(ctx, x.ARN, bad, ""); return err }},
				{"execution ARN", func() error { _, _, err := e.History(ctx, x.ARN+bad, workflow.HistoryParams{}); return err }},
				{"execution ARN", func() error { _, err := e.RedriveExecution(ctx, x.ARN+bad); return err }},
				{"task token", func() error { return e.SendTaskSuccess(ctx, "tok"+bad, json.RawMessage(`{}`)) }},
				{"task output", func() error { return e.SendTaskSuccess(ctx, "tok", json.RawMessage(`"`+bad+`"`)) }},
				{"task token", func() error { return e.SendTaskFailure(ctx, "tok"+bad, "E", "c") }},
				{"error", func() error { return e.SendTaskFailure(ctx, "tok", "E"+bad, "c") }},
				{"task token", func() error { return e.SendTaskHeartbeat(ctx, "tok"+bad) }},
				{"task token", func() error { _, err := e.TaskTenant(ctx, "tok"+bad); return err }},
				{"activity name", func() error { _, err := e.CreateActivity(ctx, bad); return err }},
				{"activity ARN", func() error { return e.DeleteActivity(ctx, activity+bad) }},
				{"activity", func() error { _, err := e.GetActivityTask(ctx, activity+bad, "w", time.Millisecond); return err }},
				{"workerName", func() error { _, err := e.GetActivityTask(ctx, activity+"a", bad, time.Millisecond); return err }},
			}
			for _, c := range checks {
				err := c.call()
				if !errors.Is(err, errcode.Invalid) || !strings.Contains(errcode.MessageOf(err), c.field) {
					t.Errorf("%s %q: %v, want Invalid naming %s", c.field, bad, err, c.field)
				}
				if err != nil && (strings.Contains(err.Error(), "SQLSTATE") || strings.Contains(err.Error(), "sqlite")) {
					t.Errorf("%s %q: a driver's error reached the caller: %v", c.field, bad, err)
				}
			}
		}
		// The engine still works after all that.
		y := b.start(sm, "after", `{"ok": "ü"}`)
		if got := Wait(t, e, y.ARN, 10*time.Second); got.Status != workflow.StatusSucceeded || string(got.Output) != `{"ok":"ü"}` {
			t.Fatalf("after: %+v", got)
		}
	})

	t.Run("InvokerTextIsStoredSafely", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		fns := workflow.NewFunctions("test:dirty:")
		fns.Add("fail", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			return nil, &workflow.TaskError{Name: "Dirty.\x00Error\xff", Cause: "cause with \x00 and \xfe"}
		})
		fns.Add("output", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			return json.RawMessage("\"\xff\""), nil
		})
		b.res.Register("test:dirty:", fns)
		for _, name := range []string{"fail", "output"} {
			sm := b.create("dirty-"+name, `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:dirty:`+name+`", "End": true}}}`)
			got, h := b.run(sm, name, `{}`)
			expectStatus(t, got, h, workflow.StatusFailed)
			CheckHistory(t, h)
			if strings.ContainsRune(got.Error+got.Cause, 0) {
				t.Fatalf("%s: NUL stored: %q %q", name, got.Error, got.Cause)
			}
		}
	})
}
