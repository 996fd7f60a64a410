package workflow

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// panicky is the asl program with a bug in completeTask.
type panicky struct{ program }

func (panicky) completeTask(json.RawMessage, json.RawMessage, stepContext) (json.RawMessage, outcome, error) {
	panic("interpreter bug")
}

// A panic inside a transition fails that execution with States.Runtime;
// the worker lives on and runs the next execution.
func TestPanicFailsExecution(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	res := NewResources()
	fns := NewFunctions("fn:")
	fns.Add("echo", func(_ context.Context, inv Invocation) (json.RawMessage, error) { return inv.Input, nil })
	res.Register("fn:", fns)
	compile := func(def []byte) (program, error) {
		p, err := compileASL(def)
		if err != nil || !strings.Contains(string(def), "Buggy") {
			return p, err
		}
		return panicky{p}, nil
	}
	e, err := Open(ctx, Config{DB: "sqlite://" + filepath.Join(t.TempDir(), "wf.db"), Resources: res, compile: compile, Lease: 2 * time.Second, ReapInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(ctx)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	run := func(name, def string) *Execution {
		sm, err := e.CreateStateMachine(ctx, CreateStateMachineParams{Name: name, Definition: def})
		if err != nil {
			t.Fatal(err)
		}
		x, err := e.StartExecution(ctx, StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		got, err := e.WaitExecution(wctx, x.ARN)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := run("buggy", `{"Comment": "Buggy", "StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "End": true}}}`)
	if got.Status != StatusFailed || got.Error != "States.Runtime" || !strings.Contains(got.Cause, "interpreter bug") {
		t.Fatalf("buggy: %s %s %s", got.Status, got.Error, got.Cause)
	}
	got = run("fine", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "fn:echo", "End": true}}}`)
	if got.Status != StatusSucceeded || string(got.Output) != `{"a":1}` {
		t.Fatalf("fine: %s %s", got.Status, got.Output)
	}
}
