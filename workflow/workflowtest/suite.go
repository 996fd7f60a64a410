package workflowtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// bundle is what one suite test works with.
type bundle struct {
	t   *testing.T
	e   *workflow.Engine
	res *workflow.Resources
	ctx context.Context
}

func (b *bundle) create(name, def string) *workflow.StateMachine {
	b.t.Helper()
	sm, err := b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: name, Definition: def})
	if err != nil {
		b.t.Fatalf("create %s: %v", name, err)
	}
	return sm
}

func (b *bundle) start(sm *workflow.StateMachine, name, input string) *workflow.Execution {
	b.t.Helper()
	x, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: json.RawMessage(input)})
	if err != nil {
		b.t.Fatalf("start %s: %v", name, err)
	}
	return x
}

func (b *bundle) run(sm *workflow.StateMachine, name, input string) (*workflow.Execution, []workflow.HistoryEvent) {
	b.t.Helper()
	x := b.start(sm, name, input)
	got := Wait(b.t, b.e, x.ARN, 30*time.Second)
	return got, b.history(x.ARN)
}

func (b *bundle) history(arn string) []workflow.HistoryEvent {
	b.t.Helper()
	h, _, err := b.e.History(b.ctx, arn, workflow.HistoryParams{})
	if err != nil {
		b.t.Fatal(err)
	}
	return h
}

func expectStatus(t *testing.T, x *workflow.Execution, h []workflow.HistoryEvent, status string) {
	t.Helper()
	if x.Status != status {
		t.Fatalf("status %s (%s: %s), want %s; history:\n%s", x.Status, x.Error, x.Cause, status, FormatHistory(h))
	}
}

// Run runs the driver suite against databases made by open.
func Run(t *testing.T, open Open) {
	setup := func(t *testing.T) *bundle {
		t.Helper()
		res := Resources()
		return &bundle{t: t, e: StartEngine(t, Config(open(t), res)), res: res, ctx: context.Background()}
	}

	t.Run("Pipeline20", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got, h := b.run(b.create("pipeline20", Definition(t, "pipeline20")), "one", `{"wait": 0}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
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

	t.Run("RetryAndCatch", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got, h := b.run(b.create("retry", Definition(t, "retry_catch")), "one", `{}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		want := `{"error":{"Cause":"test input is corrupt","Error":"Media.Corrupt"},"flaky":{"attempt":1}}`
		if string(got.Output) != want {
			t.Fatalf("output %s, want %s", got.Output, want)
		}
		counts := CheckHistory(t, h)
		if counts["TaskFailed"] != 2 || counts["TaskSucceeded"] != 1 || counts["TaskScheduled"] != 3 {
			t.Fatalf("counts %v; history:\n%s", counts, FormatHistory(h))
		}
	})

	t.Run("WaitForTaskToken", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		tokens := make(chan string, 4)
		fns := workflow.NewFunctions("test:cb:")
		fns.Add("notify", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			var in struct{ Token string }
			if err := json.Unmarshal(inv.Input, &in); err != nil || in.Token != inv.TaskToken {
				return nil, fmt.Errorf("input %s does not carry the task token", inv.Input)
			}
			tokens <- inv.TaskToken
			return nil, nil
		})
		b.res.Register("test:cb:", fns)
		sm := b.create("callback", Definition(t, "callback"))

		ok := b.start(sm, "ok", `{"job": 1}`)
		token := <-tokens
		if err := b.e.SendTaskHeartbeat(b.ctx, token); err != nil {
			t.Fatalf("heartbeat: %v", err)
		}
		if err := b.e.SendTaskSuccess(b.ctx, token, json.RawMessage(`{"approved": true}`)); err != nil {
			t.Fatalf("success: %v", err)
		}
		got := Wait(t, b.e, ok.ARN, 10*time.Second)
		expectStatus(t, got, b.history(ok.ARN), workflow.StatusSucceeded)
		if string(got.Output) != `{"job":1,"reply":{"approved":true}}` {
			t.Fatalf("output %s", got.Output)
		}
		if err := b.e.SendTaskSuccess(b.ctx, token, json.RawMessage(`{}`)); !errors.Is(err, workflow.ErrTaskTimedOut) {
			t.Fatalf("second success: %v, want ErrTaskTimedOut", err)
		}
		if err := b.e.SendTaskSuccess(b.ctx, "no-such-token", json.RawMessage(`{}`)); !errors.Is(err, workflow.ErrTaskDoesNotExist) {
			t.Fatalf("unknown token: %v, want ErrTaskDoesNotExist", err)
		}
		// The refused second success can tell the first one took.
		if done, err := b.e.TaskSucceeded(b.ctx, token); err != nil || !done {
			t.Fatalf("TaskSucceeded after success = %v, %v", done, err)
		}
		if _, err := b.e.TaskSucceeded(b.ctx, "no-such-token"); !errors.Is(err, workflow.ErrTaskDoesNotExist) {
			t.Fatalf("TaskSucceeded of an unknown token: %v, want ErrTaskDoesNotExist", err)
		}

		bad := b.start(sm, "bad", `{"job": 2}`)
		token = <-tokens
		if err := b.e.SendTaskSuccess(b.ctx, token, json.RawMessage(`{not json`)); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("invalid output: %v, want Invalid", err)
		}
		if done, err := b.e.TaskSucceeded(b.ctx, token); err != nil || done {
			t.Fatalf("TaskSucceeded while waiting = %v, %v", done, err)
		}
		if err := b.e.SendTaskFailure(b.ctx, token, "Review.Rejected", "a reviewer said no"); err != nil {
			t.Fatal(err)
		}
		if done, err := b.e.TaskSucceeded(b.ctx, token); err != nil || done {
			t.Fatalf("TaskSucceeded after failure = %v, %v", done, err)
		}
		got = Wait(t, b.e, bad.ARN, 10*time.Second)
		if got.Status != workflow.StatusFailed || got.Error != "Review.Rejected" || got.Cause != "a reviewer said no" {
			t.Fatalf("got %s %s %s", got.Status, got.Error, got.Cause)
		}
	})

	t.Run("Activity", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		act, err := b.e.CreateActivity(b.ctx, "suite-work")
		if err != nil {
			t.Fatal(err)
		}
		sm := b.create("activity", Definition(t, "activity"))
		// Nothing queued yet: a short poll comes back empty.
		task, err := b.e.GetActivityTask(b.ctx, act.ARN, "w1", 100*time.Millisecond)
		if err != nil || task.Token != "" {
			t.Fatalf("empty poll: %+v %v", task, err)
		}
		x := b.start(sm, "served", `{"n": 7}`)
		task, err = b.e.GetActivityTask(b.ctx, act.ARN, "w1", 10*time.Second)
		if err != nil || task.Token == "" {
			t.Fatalf("poll: %+v %v", task, err)
		}
		if string(task.Input) != `{"n":7}` {
			t.Fatalf("activity input %s", task.Input)
		}
		time.Sleep(1500 * time.Millisecond)
		if err := b.e.SendTaskHeartbeat(b.ctx, task.Token); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2000 * time.Millisecond) // past HeartbeatSeconds from the start, not from the heartbeat
		if err := b.e.SendTaskSuccess(b.ctx, task.Token, json.RawMessage(`"done"`)); err != nil {
			t.Fatal(err)
		}
		got := Wait(t, b.e, x.ARN, 10*time.Second)
		h := b.history(x.ARN)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		counts := CheckHistory(t, h)
		if counts["ActivityScheduled"] != 1 || counts["ActivityStarted"] != 1 || counts["ActivitySucceeded"] != 1 {
			t.Fatalf("counts %v", counts)
		}

		// A worker that takes the task and goes silent times out.
		y := b.start(sm, "abandoned", `{"n": 8}`)
		task, err = b.e.GetActivityTask(b.ctx, "suite-work", "w2", 10*time.Second)
		if err != nil || task.Token == "" {
			t.Fatalf("poll: %+v %v", task, err)
		}
		got = Wait(t, b.e, y.ARN, 15*time.Second)
		expectStatus(t, got, b.history(y.ARN), workflow.StatusSucceeded)
		if !strings.Contains(string(got.Output), `"Error":"States.HeartbeatTimeout"`) {
			t.Fatalf("output %s", got.Output)
		}
		if err := b.e.SendTaskSuccess(b.ctx, task.Token, json.RawMessage(`"late"`)); !errors.Is(err, workflow.ErrTaskTimedOut) {
			t.Fatalf("late success: %v, want ErrTaskTimedOut", err)
		}
		if _, err := b.e.GetActivityTask(b.ctx, "no-such-activity", "w", time.Millisecond); !errors.Is(err, errcode.NotFound) {
			t.Fatalf("unknown activity: %v", err)
		}
	})

	t.Run("TaskTimeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got, h := b.run(b.create("timeout", Definition(t, "timeout")), "slow", `{"ms": 5000}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if got.Error != "States.Timeout" {
			t.Fatalf("error %s %s", got.Error, got.Cause)
		}
		if CheckHistory(t, h)["TaskTimedOut"] != 1 {
			t.Fatalf("history:\n%s", FormatHistory(h))
		}
	})

	t.Run("ExecutionTimeout", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		got, h := b.run(b.create("exectimeout", Definition(t, "exec_timeout")), "long", `{}`)
		expectStatus(t, got, h, workflow.StatusTimedOut)
		if h[len(h)-1].Type != "ExecutionTimedOut" {
			t.Fatalf("history:\n%s", FormatHistory(h))
		}
	})

	t.Run("StopDiscardsLateResult", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var finished atomic.Bool
		release := make(chan struct{})
		fns := workflow.NewFunctions("test:block:")
		fns.Add("wait", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			<-release
			finished.Store(true)
			return json.RawMessage(`{"late": true}`), nil
		})
		b.res.Register("test:block:", fns)
		sm := b.create("stop", `{"StartAt": "Block", "States": {"Block": {"Type": "Task", "Resource": "test:block:wait", "End": true}}}`)
		x := b.start(sm, "stopped", `{}`)
		deadline := time.Now().Add(10 * time.Second)
		for CheckTypes(b.history(x.ARN))["TaskStarted"] == 0 {
			if time.Now().After(deadline) {
				t.Fatal("task did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
		got, err := b.e.StopExecution(b.ctx, x.ARN, "User.Stop", "stopped by the test")
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != workflow.StatusAborted || got.Error != "User.Stop" {
			t.Fatalf("stop: %+v", got)
		}
		before := len(b.history(x.ARN))
		close(release)
		for !finished.Load() {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		h := b.history(x.ARN)
		if len(h) != before || h[len(h)-1].Type != "ExecutionAborted" {
			t.Fatalf("history changed after stop:\n%s", FormatHistory(h))
		}
		if _, err := b.e.StopExecution(b.ctx, x.ARN, "", ""); !errors.Is(err, errcode.FailedPrecond) {
			t.Fatalf("second stop: %v", err)
		}
	})

	t.Run("StartIsIdempotentByName", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sm := b.create("idem", `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`)
		x1, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "same", Input: json.RawMessage(`{"a":1}`), CorrelationID: "media-1"})
		if err != nil {
			t.Fatal(err)
		}
		x2, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "same", Input: json.RawMessage(`{"a":1}`)})
		if err != nil || x2.ARN != x1.ARN || !x2.StartDate.Equal(x1.StartDate) {
			t.Fatalf("restart: %+v %v", x2, err)
		}
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "same", Input: json.RawMessage(`{"a":2}`)}); !errors.Is(err, errcode.AlreadyExists) {
			t.Fatalf("different input: %v", err)
		}
		got := Wait(t, b.e, x1.ARN, 10*time.Second)
		if got.CorrelationID != "media-1" || got.Status != workflow.StatusSucceeded {
			t.Fatalf("describe: %+v", got)
		}
		if len(b.history(x1.ARN)) != 4 {
			t.Fatalf("history:\n%s", FormatHistory(b.history(x1.ARN)))
		}
	})

	t.Run("PutStateMachine", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		v1 := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}}`
		v2 := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 2, "End": true}}}`
		sm := b.create("put", v1)
		if _, err := b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "put", Definition: v2}); !errors.Is(err, errcode.AlreadyExists) {
			t.Fatalf("create with another definition: %v", err)
		}
		again, err := b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "put", Definition: v1})
		if err != nil || again.ARN != sm.ARN || again.Revision != 1 {
			t.Fatalf("create with the same definition: %+v %v", again, err)
		}
		put, err := b.e.PutStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "put", Definition: v2})
		if err != nil || put.Revision != 2 || put.Definition != v2 {
			t.Fatalf("put: %+v %v", put, err)
		}
		got, h := b.run(sm, "after-put", `{}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != "2" {
			t.Fatalf("output %s", got.Output)
		}
	})

	t.Run("MapMaxConcurrency", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var mu sync.Mutex
		running, peak := 0, 0
		fns := workflow.NewFunctions("test:slow:")
		fns.Add("item", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			mu.Lock()
			running++
			peak = max(peak, running)
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			running--
			mu.Unlock()
			return inv.Input, nil
		})
		b.res.Register("test:slow:", fns)
		sm := b.create("bounded", `{"StartAt": "M", "States": {"M": {"Type": "Map", "MaxConcurrency": 2, "End": true,
			"ItemProcessor": {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:slow:item", "End": true}}}}}}`)
		got, h := b.run(sm, "six", `[1, 2, 3, 4, 5, 6]`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `[1,2,3,4,5,6]` {
			t.Fatalf("output %s", got.Output)
		}
		mu.Lock()
		defer mu.Unlock()
		if peak != 2 {
			t.Fatalf("%d iterations ran at once, want MaxConcurrency 2", peak)
		}
	})

	t.Run("WorkerHandoff", func(t *testing.T) {
		t.Parallel()
		db := open(t)
		started := make(chan string, 1)
		resA := workflow.NewResources()
		fa := workflow.NewFunctions("test:hand:")
		fa.Add("off", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			started <- inv.IdempotencyKey
			<-ctx.Done() // the worker goes away mid-task
			return nil, ctx.Err()
		})
		resA.Register("test:hand:", fa)
		a, err := workflow.Open(context.Background(), Config(db, resA))
		if err != nil {
			t.Fatal(err)
		}
		if err := a.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		sm, err := a.CreateStateMachine(context.Background(), workflow.CreateStateMachineParams{Name: "handoff",
			Definition: `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:hand:off", "End": true}}}`})
		if err != nil {
			t.Fatal(err)
		}
		x, err := a.StartExecution(context.Background(), workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "moved", Input: json.RawMessage(`{"v": 1}`)})
		if err != nil {
			t.Fatal(err)
		}
		keyA := <-started
		var keyB atomic.Value
		resB := workflow.NewResources()
		fb := workflow.NewFunctions("test:hand:")
		fb.Add("off", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			keyB.Store(inv.IdempotencyKey)
			return json.RawMessage(`{"by": "b"}`), nil
		})
		resB.Register("test:hand:", fb)
		bEngine := StartEngine(t, Config(db, resB))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.Close(ctx); err != nil {
			t.Fatal(err)
		}
		got := Wait(t, bEngine, x.ARN, 20*time.Second)
		h, _, _ := bEngine.History(context.Background(), x.ARN, workflow.HistoryParams{})
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `{"by":"b"}` {
			t.Fatalf("output %s", got.Output)
		}
		if k, _ := keyB.Load().(string); k != keyA || k == "" {
			t.Fatalf("idempotency key %q on the second delivery, %q on the first", k, keyA)
		}
		counts := CheckHistory(t, h)
		if counts["TaskScheduled"] != 1 || counts["TaskStarted"] != 1 || counts["TaskSucceeded"] != 1 {
			t.Fatalf("history:\n%s", FormatHistory(h))
		}
	})

	t.Run("BadInput", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		_, err := b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "invalid", Definition: Definition(t, "invalid")})
		if !errors.Is(err, errcode.Invalid) {
			t.Fatalf("invalid definition: %v", err)
		}
		ve := workflow.DefinitionErrors(err)
		pointers := map[string]bool{}
		for _, v := range ve {
			pointers[v.Pointer] = true
		}
		for _, p := range []string{"/StartAt", "/States/A/Next", "/States/B"} {
			if !pointers[p] {
				t.Errorf("no error located at %s; got %v", p, ve)
			}
		}
		_, err = b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "express", Type: "EXPRESS",
			Definition: `{"StartAt": "Notify", "States": {"Notify": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken", "End": true}}}`})
		if ve := workflow.DefinitionErrors(err); len(ve) != 1 || ve[0].Pointer != "/States/Notify/Resource" {
			t.Fatalf("express with .waitForTaskToken: %v", err)
		}
		sm := b.create("missing", Definition(t, "missing_path"))
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: json.RawMessage(`{"media": `)}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("invalid JSON input: %v", err)
		}
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "has space"}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("invalid name: %v", err)
		}
		if _, err := b.e.StartExecution(b.ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN + "x"}); !errors.Is(err, errcode.NotFound) {
			t.Fatalf("unknown machine: %v", err)
		}
		got, h := b.run(sm, "no-media", `{"other": 1}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if got.Error != "States.Runtime" || !strings.Contains(got.Cause, "$.media.id") {
			t.Fatalf("error %s: %s", got.Error, got.Cause)
		}
		// The engine goes on with the next execution.
		got, h = b.run(sm, "with-media", `{"media": {"id": "m1"}}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `"m1"` {
			t.Fatalf("output %s", got.Output)
		}
	})

	t.Run("UnknownResource", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		// A resource nothing serves is refused when the machine is
		// created, naming the state and its pointer.
		def := `{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "nowhere:fn", "End": true}}}]}}}`
		_, err := b.e.CreateStateMachine(b.ctx, workflow.CreateStateMachineParams{Name: "unknown", Definition: def})
		ve := workflow.DefinitionErrors(err)
		if errcode.Of(err) != errcode.Invalid || len(ve) != 1 || ve[0].Pointer != "/States/P/Branches/0/States/T/Resource" || !strings.Contains(ve[0].Message, `state "T"`) {
			t.Fatalf("create with an unserved resource: %v", err)
		}
		if err := b.e.ValidateDefinition(def, ""); len(workflow.DefinitionErrors(err)) != 1 {
			t.Fatalf("validate an unserved resource: %v", err)
		}
		sm := b.create("served", `{"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "test:fn:echo", "End": true}}}`)
		if err := b.e.ValidateDefinition(sm.Definition, ""); err != nil {
			t.Fatalf("validate a served resource: %v", err)
		}
	})

	t.Run("MapTolerance", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sm := b.create("tolerated", Definition(t, "tolerated"))
		got, h := b.run(sm, "one-bad", `{"items": [1, 0, 2]}`)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `[1,{"Cause":"zero","Error":"Test.Bad"},2]` {
			t.Fatalf("output %s", got.Output)
		}
		got, h = b.run(sm, "two-bad", `{"items": [0, 0, 2]}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if got.Error != "States.ExceedToleratedFailureThreshold" {
			t.Fatalf("error %s", got.Error)
		}
	})

	t.Run("Redrive", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		var open atomic.Bool
		var mu sync.Mutex
		calls := map[string]int{}
		fns := workflow.NewFunctions("test:gate:")
		fns.Add("open", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			mu.Lock()
			calls[inv.StatePath+string(inv.Input)]++
			mu.Unlock()
			if string(inv.Input) == "0" && !open.Load() {
				return nil, &workflow.TaskError{Name: "Test.Closed", Cause: "the gate is closed"}
			}
			return inv.Input, nil
		})
		b.res.Register("test:gate:", fns)
		sm := b.create("redrive", Definition(t, "redrive"))
		got, h := b.run(sm, "gated", `{"items": [1, 0, 2]}`)
		expectStatus(t, got, h, workflow.StatusFailed)
		if _, err := b.e.RedriveExecution(b.ctx, sm.ARN); !errors.Is(err, errcode.NotFound) {
			t.Fatalf("redrive of a machine ARN: %v", err)
		}
		open.Store(true)
		x, err := b.e.RedriveExecution(b.ctx, got.ARN)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != workflow.StatusRunning || x.RedriveCount != 1 {
			t.Fatalf("after redrive: %+v", x)
		}
		got = Wait(t, b.e, got.ARN, 10*time.Second)
		h = b.history(got.ARN)
		expectStatus(t, got, h, workflow.StatusSucceeded)
		if string(got.Output) != `{"last":true}` {
			t.Fatalf("output %s", got.Output)
		}
		counts := CheckTypes(h)
		if counts["ExecutionRedriven"] != 1 || counts["ExecutionFailed"] != 1 || counts["ExecutionStarted"] != 1 {
			t.Fatalf("counts %v\n%s", counts, FormatHistory(h))
		}
		mu.Lock()
		defer mu.Unlock()
		for key, n := range calls {
			want := 1
			if strings.HasSuffix(key, "0") {
				want = 2 // the failed iteration ran again; the others did not
			}
			if n != want {
				t.Errorf("%s ran %d times, want %d", key, n, want)
			}
		}
		if _, err := b.e.RedriveExecution(b.ctx, got.ARN); !errors.Is(err, errcode.FailedPrecond) {
			t.Fatalf("redrive of a succeeded execution: %v", err)
		}
	})

	t.Run("ListAndPage", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		sm := b.create("list", `{"StartAt": "C", "States": {"C": {"Type": "Choice", "Choices": [{"Variable": "$.ok", "BooleanEquals": true, "Next": "Y"}], "Default": "N"},
			"Y": {"Type": "Succeed"}, "N": {"Type": "Fail", "Error": "No"}}}`)
		for i := 0; i < 7; i++ {
			x := b.start(sm, fmt.Sprintf("x%d", i), fmt.Sprintf(`{"ok": %v}`, i%2 == 0))
			Wait(t, b.e, x.ARN, 10*time.Second)
		}
		var all []workflow.Execution
		token := ""
		for {
			page, next, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{StateMachineARN: sm.ARN, Limit: 3, NextToken: token})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			token = next
		}
		if len(all) != 7 || all[0].Name != "x6" || all[6].Name != "x0" {
			t.Fatalf("paged list: %d, first %s", len(all), all[0].Name)
		}
		failed, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{Status: workflow.StatusFailed})
		if err != nil || len(failed) != 3 {
			t.Fatalf("failed: %d %v", len(failed), err)
		}
		recent, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{StartedAfter: all[2].StartDate})
		if err != nil || len(recent) != 3 {
			t.Fatalf("recent: %d %v", len(recent), err)
		}
		if _, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{Status: "DONE"}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("bad status: %v", err)
		}
		if _, _, err := b.e.ListExecutions(b.ctx, workflow.ListExecutionsParams{NextToken: "!!"}); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("bad token: %v", err)
		}
		h, next, err := b.e.History(b.ctx, all[0].ARN, workflow.HistoryParams{Limit: 2, Reverse: true})
		if err != nil || len(h) != 2 || h[0].Type != "ExecutionSucceeded" || next == "" {
			t.Fatalf("reverse history: %v %v", h, err)
		}
		h2, _, err := b.e.History(b.ctx, all[0].ARN, workflow.HistoryParams{Limit: 2, Reverse: true, NextToken: next})
		if err != nil || len(h2) != 2 || h2[0].ID != h[1].ID-1 {
			t.Fatalf("reverse history page 2: %v %v", h2, err)
		}
	})

	runTenant(t, setup)
	runHygiene(t, setup)
	runParallelFailure(t, setup)
}

// CheckTypes counts events by type.
func CheckTypes(h []workflow.HistoryEvent) map[string]int {
	m := map[string]int{}
	for _, ev := range h {
		m[ev.Type]++
	}
	return m
}

// RunConcurrentStarts starts one execution name from many goroutines at
// once: every call returns the same execution.
func RunConcurrentStarts(t *testing.T, open Open) {
	e := StartEngine(t, Config(open(t), Resources()))
	ctx := context.Background()
	sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "race", Definition: `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 1, "End": true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	arns := make([]string, 8)
	errs := make([]error, 8)
	for i := range arns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "once", Input: json.RawMessage(`{}`)})
			if err == nil {
				arns[i] = x.ARN
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range arns {
		if errs[i] != nil || arns[i] != arns[0] {
			t.Fatalf("start %d: %v %s", i, errs[i], arns[i])
		}
	}
	xs, _, err := e.ListExecutions(ctx, workflow.ListExecutionsParams{StateMachineARN: sm.ARN})
	if err != nil || len(xs) != 1 {
		t.Fatalf("%d executions, want 1 (%v)", len(xs), err)
	}
}
