package asl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// TaskHandler runs Task states for the in-memory runner.
type TaskHandler interface {
	RunTask(ctx context.Context, req *TaskRequest) (any, error)
}

// TaskHandlerFunc adapts a function to TaskHandler.
type TaskHandlerFunc func(ctx context.Context, req *TaskRequest) (any, error)

// RunTask calls f.
func (f TaskHandlerFunc) RunTask(ctx context.Context, req *TaskRequest) (any, error) {
	return f(ctx, req)
}

// TaskRequest is one task invocation.
type TaskRequest struct {
	TaskCall
	// Attempt is 0 for the first try, n for the n-th retry.
	Attempt int
	// Token is the task token ($$.Task.Token).
	Token string
	// Clock is the execution's clock: a handler that takes time sleeps on
	// it, so under a virtual clock timeouts fire without real waiting.
	Clock Clock
	// Heartbeat reports that the task is alive (HeartbeatSeconds).
	Heartbeat func()
}

// TaskError fails a task with an ASL error name.
type TaskError struct {
	Name  string
	Cause string
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// ItemReader opens the bucket object a Map's ItemReader names.
type ItemReader interface {
	OpenItems(ctx context.Context, read *ItemRead) (io.ReadCloser, error)
}

// ResultWriter writes a distributed Map's results to a bucket and returns
// the details the Map outputs (typically {"Bucket", "Key"} of the
// manifest).
type ResultWriter interface {
	WriteResults(ctx context.Context, w *ResultWrite) (any, error)
}

// Clock is the time source of an execution.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep sleeps for real.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// VirtualClock is a clock that advances only when slept on: a Wait of an
// hour takes no real time. Each Parallel branch and Map iteration runs on
// a fork that starts at its parent's time; the parent then moves to the
// latest child's time.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a virtual clock at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now returns the virtual time.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the virtual time by d at once.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.mu.Lock()
		c.now = c.now.Add(d)
		c.mu.Unlock()
	}
	return nil
}

// Set moves the virtual time to t.
func (c *VirtualClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

func fork(c Clock) Clock {
	if v, ok := c.(*VirtualClock); ok {
		return NewVirtualClock(v.Now())
	}
	return c
}

func join(c Clock, children []Clock) {
	v, ok := c.(*VirtualClock)
	if !ok {
		return
	}
	latest := v.Now()
	for _, ch := range children {
		if t := ch.Now(); t.After(latest) {
			latest = t
		}
	}
	v.Set(latest)
}

// RunOptions configure Run.
type RunOptions struct {
	// Tasks runs Task states. Without it a Task fails with
	// States.TaskFailed naming the missing handler.
	Tasks TaskHandler
	// Clock defaults to a virtual clock starting now.
	Clock Clock
	// ItemReader serves Map ItemReader objects.
	ItemReader ItemReader
	// ResultWriter stores the results of Maps with a ResultWriter.
	ResultWriter ResultWriter
	// MaxConcurrency caps concurrently running branches and iterations in
	// each Parallel or Map (0: as the state allows).
	MaxConcurrency int
	// Context is the context object's base (Execution, StateMachine, ...).
	// When nil a minimal one is made.
	Context map[string]any
	// Trace is called for each state entered and exited.
	Trace func(TraceEvent)
	// Random is the jitter source (see StepContext.Random).
	Random func() float64
	// ReloadFrames marshals every frame to JSON and reads it back before
	// each step, as a durable engine that resumes on another machine
	// would. It proves frames are self-contained; it costs time.
	ReloadFrames bool
}

// TraceEvent is one state entered or exited during Run.
type TraceEvent struct {
	Time time.Time `json:"time"`
	// Path locates the thread: "" for the top level, "Parallel[1]" for a
	// branch, "Map[3]" for an iteration, nested with "/".
	Path   string `json:"path,omitempty"`
	State  string `json:"state"`
	Type   string `json:"type"`
	Event  string `json:"event"` // "entered", "exited" or "retry"
	Input  any    `json:"input,omitempty"`
	Output any    `json:"output,omitempty"`
	// For "retry": the error retried, the attempt about to run and the
	// delay before it.
	Error   string        `json:"error,omitempty"`
	Cause   string        `json:"cause,omitempty"`
	Attempt int           `json:"attempt,omitempty"`
	Delay   time.Duration `json:"delay,omitempty"`
}

// Result is the end of an execution.
type Result struct {
	Status string `json:"status"` // SUCCEEDED or FAILED
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// Run executes m in memory on input through the step API. The returned
// error is only for a cancelled ctx; failures of the execution are in
// Result.
func Run(ctx context.Context, m *Machine, input any, opts RunOptions) (*Result, error) {
	if jsonSizeExceeds(input, MaxPayloadBytes) {
		return nil, fmt.Errorf("asl: the execution input is larger than the %d-byte limit", MaxPayloadBytes)
	}
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(time.Now().UTC().Truncate(time.Millisecond))
	}
	r := &runner{m: m, opts: opts}
	r.ctxObj = opts.Context
	if r.ctxObj == nil {
		start := opts.Clock.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		r.ctxObj = map[string]any{
			"Execution": map[string]any{
				"Id":           "arn:aws:states:local:000000000000:execution:landfall:run",
				"Name":         "run",
				"Input":        input,
				"StartTime":    start,
				"RedriveCount": json.Number("0"),
				"RoleArn":      "arn:aws:iam::000000000000:role/landfall",
			},
			"StateMachine": map[string]any{
				"Id":   "arn:aws:states:local:000000000000:stateMachine:landfall",
				"Name": "landfall",
			},
		}
	}
	start := opts.Clock.Now()
	if m.TimeoutSeconds > 0 {
		r.deadline = start.Add(time.Duration(m.TimeoutSeconds) * time.Second)
		if _, virtual := opts.Clock.(*VirtualClock); !virtual {
			// On the wall clock the execution is cut at its deadline even
			// inside a long task or wait.
			var cancel context.CancelCauseFunc
			ctx, cancel = context.WithCancelCause(ctx)
			defer cancel(nil)
			t := time.AfterFunc(time.Until(r.deadline), func() { cancel(errExecutionTimeout) })
			defer t.Stop()
		}
	}
	out, err := r.frame(ctx, m.NewFrame(input), opts.Clock, "")
	if err != nil {
		if errors.Is(err, errExecutionTimeout) || errors.Is(context.Cause(ctx), errExecutionTimeout) {
			return &Result{Status: "FAILED", Error: ErrTimeout, Cause: "The execution timed out"}, nil
		}
		return nil, err
	}
	if out.Kind == KindSucceeded {
		return &Result{Status: "SUCCEEDED", Output: out.Output}, nil
	}
	return &Result{Status: "FAILED", Error: out.Error, Cause: out.Cause}, nil
}

var (
	errExecutionTimeout = errors.New("execution timed out")
	errHeartbeatLate    = errors.New("heartbeat overdue")
)

type runner struct {
	m        *Machine
	opts     RunOptions
	ctxObj   map[string]any
	tokens   atomic.Int64
	traceMu  sync.Mutex
	deadline time.Time
}

func (r *runner) step(clock Clock) StepContext {
	return StepContext{
		Now:       clock.Now(),
		Context:   r.ctxObj,
		TaskToken: fmt.Sprintf("landfall-task-token-%d", r.tokens.Add(1)),
		Random:    r.opts.Random,
	}
}

func (r *runner) trace(out *Outcome, at time.Time, path string) {
	if r.opts.Trace == nil {
		return
	}
	r.traceMu.Lock()
	defer r.traceMu.Unlock()
	for _, e := range out.Entered {
		if !e.Resumed {
			r.opts.Trace(TraceEvent{Time: at, Path: path, State: e.Name, Type: e.Type, Event: "entered", Input: e.Input})
		}
		if e.Exited {
			r.opts.Trace(TraceEvent{Time: at, Path: path, State: e.Name, Type: e.Type, Event: "exited", Output: e.Output})
		}
	}
}

func (r *runner) traceRetry(f *Frame, out *Outcome, at time.Time, path string) {
	if r.opts.Trace == nil {
		return
	}
	s := r.m.current(f)
	typ := ""
	if s != nil {
		typ = s.typ
	}
	r.traceMu.Lock()
	defer r.traceMu.Unlock()
	r.opts.Trace(TraceEvent{Time: at, Path: path, State: f.State, Type: typ, Event: "retry",
		Error: out.Error, Cause: out.Cause, Attempt: out.Attempt, Delay: out.Delay})
}

// reload replaces f with its JSON round trip when ReloadFrames is set.
func (r *runner) reload(f *Frame) {
	if !r.opts.ReloadFrames {
		return
	}
	b, err := json.Marshal(f)
	if err != nil {
		panic(fmt.Sprintf("asl: frame does not marshal: %v", err))
	}
	g, err := UnmarshalFrame(b)
	if err != nil {
		panic(fmt.Sprintf("asl: frame does not unmarshal: %v", err))
	}
	*f = *g
}

// frame runs one thread until it ends.
func (r *runner) frame(ctx context.Context, f *Frame, clock Clock, path string) (Outcome, error) {
	r.reload(f)
	out := r.m.Advance(f, r.step(clock))
	for {
		r.reload(f)
		r.trace(&out, clock.Now(), path)
		if err := ctx.Err(); err != nil {
			return out, err
		}
		if !r.deadline.IsZero() && clock.Now().After(r.deadline) {
			return out, errExecutionTimeout
		}
		switch out.Kind {
		case KindSucceeded, KindFailed:
			return out, nil
		case KindTask:
			res, terr := r.runTask(ctx, f, out.Task, clock)
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			if terr != nil {
				out = r.m.FailTask(f, terr.Name, terr.Cause, r.step(clock))
			} else {
				out = r.m.CompleteTask(f, res, r.step(clock))
			}
		case KindWait:
			if err := clock.Sleep(ctx, out.Until.Sub(clock.Now())); err != nil {
				return out, err
			}
			out = r.m.ResumeWait(f, r.step(clock))
		case KindRetry:
			r.traceRetry(f, &out, clock.Now(), path)
			if err := clock.Sleep(ctx, out.Delay); err != nil {
				return out, err
			}
			out = r.m.Advance(f, r.step(clock))
		case KindParallel:
			outputs, failure, err := r.children(ctx, out.Branches, 0, clock, func(i int) string {
				return fmt.Sprintf("%s/%s[%d]", path, f.State, i)
			})
			if err != nil {
				return out, err
			}
			if failure != nil {
				out = r.m.FailParallel(f, failure.Error, failure.Cause, r.step(clock))
			} else {
				out = r.m.CompleteParallel(f, outputs, r.step(clock))
			}
		case KindItemRead:
			out = r.readItems(ctx, f, out.Read, clock)
		case KindResultWrite:
			if r.opts.ResultWriter == nil {
				out = r.m.FailResultWrite(f, "no result writer is configured to write to "+out.Write.Resource, r.step(clock))
				break
			}
			details, err := r.opts.ResultWriter.WriteResults(ctx, out.Write)
			if err != nil {
				out = r.m.FailResultWrite(f, err.Error(), r.step(clock))
			} else {
				out = r.m.CompleteResultWrite(f, details, r.step(clock))
			}
		case KindMap:
			mc := out.Map
			frames := make([]*Frame, len(mc.Items))
			for i, item := range mc.Items {
				frames[i] = r.m.NewItemFrame(f, i, item)
			}
			limit := mc.MaxConcurrency
			results, failure, failed, err := r.mapChildren(ctx, frames, limit, mc.Distributed, clock, func(i int) string {
				return fmt.Sprintf("%s/%s[%d]", path, f.State, i)
			})
			if err != nil {
				return out, err
			}
			if failure != nil && !mc.Distributed {
				out = r.m.FailMap(f, failure.Error, failure.Cause, r.step(clock))
			} else {
				out = r.m.CompleteMap(f, results, failed, r.step(clock))
			}
		default:
			return out, fmt.Errorf("asl: unexpected outcome kind %q", out.Kind)
		}
	}
}

func (r *runner) readItems(ctx context.Context, f *Frame, read *ItemRead, clock Clock) Outcome {
	if r.opts.ItemReader == nil {
		return r.m.FailItemRead(f, "no item reader is configured to read "+read.Resource, r.step(clock))
	}
	rc, err := r.opts.ItemReader.OpenItems(ctx, read)
	if err != nil {
		var te *TaskError
		if errors.As(err, &te) {
			return r.m.FailItemRead(f, te.Cause, r.step(clock))
		}
		return r.m.FailItemRead(f, err.Error(), r.step(clock))
	}
	defer rc.Close()
	return r.m.CompleteItemRead(f, rc, r.step(clock))
}

// children runs frames concurrently (at most limit at a time) and returns
// their outputs in order, or the failure that ended first.
func (r *runner) children(ctx context.Context, frames []*Frame, limit int, clock Clock, name func(int) string) ([]any, *Outcome, error) {
	outs, errs, clocks := r.runAll(ctx, frames, limit, clock, name)
	join(clock, clocks)
	outputs := make([]any, len(frames))
	var failure *Outcome
	var failedAt time.Time
	for i := range frames {
		if errs[i] != nil {
			return nil, nil, errs[i]
		}
		if outs[i].Kind == KindFailed {
			if failure == nil || clocks[i].Now().Before(failedAt) {
				o := outs[i]
				failure, failedAt = &o, clocks[i].Now()
			}
			continue
		}
		outputs[i] = outs[i].Output
	}
	return outputs, failure, nil
}

func (r *runner) mapChildren(ctx context.Context, frames []*Frame, limit int, tolerant bool, clock Clock, name func(int) string) ([]any, *Outcome, int, error) {
	outs, errs, clocks := r.runAll(ctx, frames, limit, clock, name)
	join(clock, clocks)
	results := make([]any, len(frames))
	var failure *Outcome
	var failedAt time.Time
	failed := 0
	for i := range frames {
		if errs[i] != nil {
			return nil, nil, 0, errs[i]
		}
		if outs[i].Kind == KindFailed {
			failed++
			if failure == nil || clocks[i].Now().Before(failedAt) {
				o := outs[i]
				failure, failedAt = &o, clocks[i].Now()
			}
			if tolerant {
				results[i] = ItemFailure{Error: outs[i].Error, Cause: outs[i].Cause}
			}
			continue
		}
		results[i] = outs[i].Output
	}
	return results, failure, failed, nil
}

func (r *runner) runAll(ctx context.Context, frames []*Frame, limit int, clock Clock, name func(int) string) ([]Outcome, []error, []Clock) {
	n := len(frames)
	outs := make([]Outcome, n)
	errs := make([]error, n)
	clocks := make([]Clock, n)
	if r.opts.MaxConcurrency > 0 && (limit == 0 || r.opts.MaxConcurrency < limit) {
		limit = r.opts.MaxConcurrency
	}
	if limit <= 0 || limit > n {
		limit = n
	}
	if n == 0 {
		return outs, errs, clocks
	}
	if v, virtual := clock.(*VirtualClock); virtual && limit < n {
		// A pool of limit slots in virtual time: each item starts, in
		// order, on the slot that frees up first. Items run one after
		// another, so the schedule is deterministic.
		slots := make([]time.Time, limit)
		for j := range slots {
			slots[j] = v.Now()
		}
		for i := range frames {
			j := 0
			for k := range slots {
				if slots[k].Before(slots[j]) {
					j = k
				}
			}
			clocks[i] = NewVirtualClock(slots[j])
			outs[i], errs[i] = r.frame(ctx, frames[i], clocks[i], name(i))
			slots[j] = clocks[i].Now()
		}
		return outs, errs, clocks
	}
	// Otherwise a pool of limit goroutines.
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range frames {
		clocks[i] = fork(clock)
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			outs[i], errs[i] = r.frame(ctx, frames[i], clocks[i], name(i))
		}(i)
	}
	wg.Wait()
	return outs, errs, clocks
}

// runTask invokes the handler, enforcing TimeoutSeconds and
// HeartbeatSeconds on the execution's clock.
func (r *runner) runTask(ctx context.Context, f *Frame, call *TaskCall, clock Clock) (any, *TaskError) {
	if r.opts.Tasks == nil {
		return nil, &TaskError{Name: ErrTaskFailed, Cause: fmt.Sprintf("no task handler is configured to run resource %s", call.Resource)}
	}
	attempt := 0
	for _, a := range f.Attempts {
		attempt += a
	}
	start := clock.Now()
	var mu sync.Mutex
	lastBeat, maxGap := start, time.Duration(0)
	token := call.TaskToken
	if token == "" {
		token = fmt.Sprintf("landfall-task-token-%d", r.tokens.Add(1))
	}
	req := &TaskRequest{TaskCall: *call, Attempt: attempt, Clock: clock, Token: token}
	req.Heartbeat = func() {
		mu.Lock()
		defer mu.Unlock()
		now := clock.Now()
		if g := now.Sub(lastBeat); g > maxGap {
			maxGap = g
		}
		lastBeat = now
	}
	tctx := ctx
	_, virtual := clock.(*VirtualClock)
	if call.TimeoutSeconds > 0 && !virtual {
		var cancel context.CancelFunc
		tctx, cancel = context.WithTimeout(ctx, time.Duration(call.TimeoutSeconds)*time.Second)
		defer cancel()
	}
	if call.HeartbeatSeconds > 0 && !virtual {
		// On the wall clock a silent task is stopped as soon as its
		// heartbeat is overdue, not when it finally returns.
		var cancel context.CancelCauseFunc
		tctx, cancel = context.WithCancelCause(tctx)
		defer cancel(nil)
		hb := time.Duration(call.HeartbeatSeconds) * time.Second
		done := make(chan struct{})
		defer close(done)
		go func() {
			tick := time.NewTicker(max(hb/8, 10*time.Millisecond))
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tctx.Done():
					return
				case <-tick.C:
					mu.Lock()
					late := clock.Now().Sub(lastBeat) > hb
					mu.Unlock()
					if late {
						cancel(errHeartbeatLate)
						return
					}
				}
			}
		}()
	}
	res, err := r.opts.Tasks.RunTask(tctx, req)
	if context.Cause(tctx) == errHeartbeatLate {
		return nil, &TaskError{Name: ErrHeartbeatTimeout}
	}
	end := clock.Now()
	timeout := time.Duration(call.TimeoutSeconds) * time.Second
	if call.TimeoutSeconds > 0 && (end.Sub(start) > timeout || (err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil)) {
		if v, ok := clock.(*VirtualClock); ok {
			v.Set(start.Add(timeout))
		}
		return nil, &TaskError{Name: ErrTimeout}
	}
	if call.HeartbeatSeconds > 0 {
		mu.Lock()
		gap := end.Sub(lastBeat)
		if maxGap > gap {
			gap = maxGap
		}
		mu.Unlock()
		if gap > time.Duration(call.HeartbeatSeconds)*time.Second {
			return nil, &TaskError{Name: ErrHeartbeatTimeout}
		}
	}
	if err != nil {
		var te *TaskError
		if errors.As(err, &te) {
			return nil, te
		}
		return nil, &TaskError{Name: ErrTaskFailed, Cause: err.Error()}
	}
	return res, nil
}
