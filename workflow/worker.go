package workflow

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/riverqueue/river"
)

// workStep is the River worker of every transition job.
func (e *Engine) workStep(ctx context.Context, job *river.Job[stepArgs]) error {
	e.fair.active.Add(1)
	defer e.fair.active.Add(-1)
	a := job.Args
	run, err := e.transitionOn(ctx, a.Exec, a.Frame, job, true, func(t *txn) error {
		if t.exec.status != StatusRunning {
			return errStale
		}
		f, err := t.loadFrame(a.Frame)
		if errors.Is(err, errNoRows) {
			return errStale
		}
		if err != nil {
			return err
		}
		if a.Version == fillJobVersion {
			if f.status != frameChildren || !f.spec().Distributed {
				return errStale
			}
			t.touch(f)
			return t.fillMap(f)
		}
		if f.version != a.Version {
			return errStale
		}
		switch f.status {
		case frameReady:
			return t.drive(f)
		case frameWait:
			nf, out, err := t.prog.resume(f.frame, t.sc())
			return t.apply(f, nf, out, err)
		case frameTask:
			k, err := e.st.TaskGet(t.ctx, t.tx, &taskGetParams{Token: f.taskToken})
			if err != nil {
				return err
			}
			if k.status != taskScheduled || k.kind == kindActivity {
				return errStale
			}
			if err := e.st.TaskClaim(t.ctx, t.tx, &taskClaimParams{Token: k.token, Owner: e.workerID, HeartbeatUS: micros(t.now)}); err != nil {
				return err
			}
			t.touch(f) // fences duplicate deliveries of this job
			t.claim(f, k)
			return nil
		}
		return errStale
	})
	if errors.Is(err, errStale) {
		return nil
	}
	if err != nil {
		return err
	}
	e.runLoop(ctx, run)
	return nil
}

// runLoop invokes run and, while the transition after it hands this
// process the next task, keeps going: a chain of tasks in one execution
// costs one transaction per task and no job.
func (e *Engine) runLoop(ctx context.Context, run *taskRun) {
	for run != nil {
		out, ierr := e.invoke(ctx, run)
		if ctx.Err() != nil {
			// Shutting down: the task stays running under this worker,
			// whose lease ends with the process, and is handed on.
			return
		}
		next, err := e.completeRun(ctx, run, out, ierr)
		for attempt := 0; err != nil && !errors.Is(err, errStale) && ctx.Err() == nil; attempt++ {
			e.log.Warn("workflow: recording a task result failed; retrying", "execution", run.execARN, "state", run.statePath, "err", err)
			backoff(ctx, min(attempt+6, 10))
			next, err = e.completeRun(ctx, run, out, ierr)
		}
		run = next
	}
}

func (e *Engine) invoke(ctx context.Context, run *taskRun) (json.RawMessage, error) {
	inv, ok := e.cfg.Resources.Lookup(run.resource)
	if !ok {
		return nil, &TaskError{Name: "States.TaskFailed", Cause: fmt.Sprintf("no invoker is registered for resource %q (registered prefixes: %s)",
			run.resource, strings.Join(e.cfg.Resources.Prefixes(), ", "))}
	}
	ictx := ctx
	if run.timeout > 0 {
		var cancel context.CancelFunc
		ictx, cancel = context.WithTimeout(ctx, run.timeout)
		defer cancel()
	}
	in := Invocation{
		ExecutionARN: run.execARN, Tenant: run.tenant, StatePath: run.statePath, Attempt: run.attempt, IdempotencyKey: run.key,
		Resource: run.resource, Input: run.input, Sync: run.pattern == "sync",
		Heartbeat: func(ctx context.Context) error { return e.heartbeatTask(ctx, run.token, run.dispatch) },
	}
	if run.kind == kindCallback {
		in.TaskToken = run.token
	}
	if run.pattern == "sync" {
		in.syncToken = run.token
	}
	out, err := invokeSafely(ictx, inv, in)
	if err != nil {
		if ictx.Err() == context.DeadlineExceeded && ctx.Err() == nil {
			// Step Functions reports a task past its TimeoutSeconds with
			// no cause.
			return nil, &TaskError{Name: "States.Timeout"}
		}
		return nil, err
	}
	if run.kind == kindCallback {
		return nil, nil
	}
	if len(out) == 0 {
		out = json.RawMessage("null")
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		return nil, &TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("resource %q returned invalid JSON", run.resource)}
	}
	return out, nil
}

func invokeSafely(ctx context.Context, inv Invoker, in Invocation) (out json.RawMessage, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &TaskError{Name: "States.TaskFailed", Cause: fmt.Sprintf("resource %q panicked: %v", in.Resource, r)}
		}
	}()
	return inv.Invoke(ctx, in)
}

// completeRun records the result of an invocation, fenced on the attempt
// still being this worker's, and advances the frame.
func (e *Engine) completeRun(ctx context.Context, run *taskRun, out json.RawMessage, ierr error) (*taskRun, error) {
	return e.transitionSnap(ctx, run, func(t *txn) error {
		if run.kind == kindCallback && ierr == nil || errors.Is(ierr, errParked) {
			// Invoked: the task waits for SendTask* or for its child
			// execution's end, and holds no worker meanwhile.
			return e.st.TaskAwait(t.ctx, t.tx, &taskFenceParams{Token: run.token, Owner: e.workerID, Dispatch: run.dispatch})
		}
		status := taskSucceeded
		if ierr != nil {
			status = taskFailed
		}
		// Fenced: when the attempt timed out, was stopped or was handed to
		// another worker, this changes no row and the transition is
		// abandoned with its result.
		t.fences = append(t.fences, e.st.TaskFinishFence(&taskFenceParams{Token: run.token, Owner: e.workerID, Dispatch: run.dispatch, Status: status}))
		f, err := t.loadFrame(run.frameID)
		if err != nil {
			return err
		}
		if f.status != frameTask || f.taskToken != run.token {
			return errStale
		}
		if ierr != nil {
			name, cause := taskErrorOf(ierr)
			return t.taskFailed(f, run.resource, name, cause)
		}
		return t.taskSucceeded(f, run.resource, out)
	})
}

func (t *txn) taskSucceeded(f *frameRow, resource string, out json.RawMessage) error {
	rtype, rname := resourceType(resource)
	if _, ok := activityName(resource); ok {
		t.event(f, "ActivitySucceeded", map[string]any{"output": string(out)})
	} else {
		t.event(f, "TaskSucceeded", map[string]any{"resourceType": rtype, "resource": rname, "output": string(out)})
	}
	f.taskToken = ""
	f.checkpoint, f.checkpointKind = nil, ""
	nf, o, err := t.prog.completeTask(f.frame, out, t.sc())
	return t.apply(f, nf, o, err)
}

func (t *txn) taskFailed(f *frameRow, resource, name, cause string) error {
	rtype, rname := resourceType(resource)
	typ := "TaskFailed"
	_, activity := activityName(resource)
	switch {
	case activity && (name == "States.Timeout" || name == "States.HeartbeatTimeout"):
		typ = "ActivityTimedOut"
	case activity:
		typ = "ActivityFailed"
	case name == "States.Timeout" || name == "States.HeartbeatTimeout":
		typ = "TaskTimedOut"
	}
	t.event(f, typ, map[string]any{"resourceType": rtype, "resource": rname, "error": name, "cause": cause})
	f.taskToken = ""
	nf, o, err := t.prog.failTask(f.frame, name, cause, t.sc())
	return t.applyFailure(f, nf, o, err)
}

// heartbeatTask records a heartbeat of a running attempt.
func (e *Engine) heartbeatTask(ctx context.Context, token string, dispatch int) error {
	return e.withTx(ctx, func(tx dbtx) error {
		alive, err := e.st.TaskHeartbeat(ctx, tx, &taskHeartbeatParams{Token: token, Dispatch: dispatch, HeartbeatUS: micros(e.now())})
		if err != nil {
			return err
		}
		if !alive {
			return &TaskError{Name: "TaskTimedOut", Cause: "the task is no longer running (timed out, stopped or handed to another worker)"}
		}
		return nil
	})
}

// ---- compiled programs ----

type progCache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List
	items map[[32]byte]*list.Element
}

type progEntry struct {
	key  [32]byte
	prog program
}

func (c *progCache) init(max int) {
	c.max, c.ll, c.items = max, list.New(), map[[32]byte]*list.Element{}
}

func (c *progCache) get(def string, compile compileFunc) (program, error) {
	key := sha256.Sum256([]byte(def))
	c.mu.Lock()
	if el, ok := c.items[key]; ok {
		c.ll.MoveToFront(el)
		c.mu.Unlock()
		return el.Value.(*progEntry).prog, nil
	}
	c.mu.Unlock()
	p, err := compile([]byte(def))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; !ok {
		c.items[key] = c.ll.PushFront(&progEntry{key: key, prog: p})
		for c.ll.Len() > c.max {
			last := c.ll.Back()
			c.ll.Remove(last)
			delete(c.items, last.Value.(*progEntry).key)
		}
	}
	return p, nil
}
