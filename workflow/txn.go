package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Frame statuses.
const (
	frameReady     = "ready"     // advance it
	frameTask      = "task"      // waiting for task task_token
	frameWait      = "wait"      // a Wait state or a Retry delay until wake_us
	frameChildren  = "children"  // a Parallel or Map state waiting for child frames
	frameSucceeded = "succeeded" // ended; output set
	frameFailed    = "failed"    // ended; error and cause set
	frameCanceled  = "canceled"  // abandoned: a sibling failed or the execution stopped
)

// Task row statuses and kinds.
const (
	taskScheduled = "scheduled" // waiting for a worker (or an activity poller)
	taskRunning   = "running"   // a worker (or activity poller) holds it
	taskWaiting   = "waiting"   // .waitForTaskToken: invoked, waiting for SendTask*
	taskSucceeded = "succeeded"
	taskFailed    = "failed"
	taskTimedOut  = "timed_out"
	taskCanceled  = "canceled"

	kindInvoke   = "invoke"
	kindCallback = "callback"
	kindActivity = "activity"
)

type execRow struct {
	arn, smARN, name, status, input, definition, correlationID string
	tenant, parentToken                                        string
	startUS, timeoutUS, nextEvent                              int64
	redriveCount                                               int
	origNextEvent                                              int64

	output       *string
	errName      string
	cause        string
	stopUS       int64
	finished     bool
	redriveUS    int64
	setRedrive   bool
	statusChange bool
}

const execCols = `arn, sm_arn, name, status, input, definition, correlation_id, tenant, start_us, timeout_us, next_event, redrive_count, error, cause, parent_token`

func scanExec(r row) (*execRow, error) {
	x := &execRow{}
	var errName, cause *string
	err := r.Scan(&x.arn, &x.smARN, &x.name, &x.status, &x.input, &x.definition, &x.correlationID, &x.tenant, &x.startUS, &x.timeoutUS, &x.nextEvent, &x.redriveCount,
		&errName, &cause, &x.parentToken)
	x.origNextEvent = x.nextEvent
	x.errName, x.cause = deref(errName), deref(cause)
	return x, err
}

type frameRow struct {
	id, execARN, parentID, path, status string
	idx                                 int
	gen                                 int64
	version                             int64
	frame                               json.RawMessage
	taskToken                           string
	wakeUS                              int64
	pending, nextChild, total, maxChild int
	failedChildren                      int
	childSpec                           string
	output                              *string
	errName, cause                      *string
	lastEvent                           int64
	checkpoint                          json.RawMessage
	checkpointKind                      string

	isNew, dirty bool
	// read and readCheckpoint are frame and checkpoint as read: an update
	// that leaves them as they were does not write them again (a Map
	// frame is rewritten at every iteration's end).
	read, readCheckpoint json.RawMessage
}

const frameCols = `id, execution_arn, parent_id, idx, gen, path, status, version, frame, task_token, wake_us, pending, next_child, total_children, max_children, failed_children, child_spec, output, error, cause, last_event, checkpoint, checkpoint_kind`

func scanFrame(r row) (*frameRow, error) {
	f := &frameRow{}
	var frame, checkpoint string
	err := r.Scan(&f.id, &f.execARN, &f.parentID, &f.idx, &f.gen, &f.path, &f.status, &f.version, &frame, &f.taskToken, &f.wakeUS,
		&f.pending, &f.nextChild, &f.total, &f.maxChild, &f.failedChildren, &f.childSpec, &f.output, &f.errName, &f.cause, &f.lastEvent,
		&checkpoint, &f.checkpointKind)
	f.frame, f.checkpoint = json.RawMessage(frame), json.RawMessage(checkpoint)
	f.read, f.readCheckpoint = f.frame, f.checkpoint
	return f, err
}

func (f *frameRow) spec() childSpec {
	var spec childSpec
	_ = json.Unmarshal([]byte(f.childSpec), &spec)
	return spec
}

// childSpec is how a frame in status children completes.
type childSpec struct {
	Kind             string  `json:"k"` // parallel | map
	State            string  `json:"s"`
	Gen              int64   `json:"g"`  // the gen of the children
	ToleratedCount   int     `json:"tc"` // -1: not set
	ToleratedPercent float64 `json:"tp"` // -1: not set
	// Distributed marks a DISTRIBUTED-mode Map: its iterations are quiet.
	Distributed bool `json:"d,omitempty"`
	// Run is a distributed Map's map run: its items are rows of
	// wf_map_items, and Tmpl is the frame of an iteration with a null
	// input (see program.detachMapItems).
	Run  string          `json:"r,omitempty"`
	Tmpl json.RawMessage `json:"t,omitempty"`
}

type taskRow struct {
	token, execARN, frameID, stateName, statePath string
	attempt                                       int
	kind, resource, activity                      string
	input                                         json.RawMessage
	status, owner                                 string
	dispatch, heartbeatSeconds                    int
	timeoutUS, heartbeatUS, createdUS             int64

	// pattern is "sync" for .sync tasks (their resource is stored
	// without the suffix), else "".
	pattern string
}

const taskCols = `token, execution_arn, frame_id, state_name, state_path, attempt, kind, resource, activity, input, status, owner, dispatch, heartbeat_seconds, timeout_us, heartbeat_us, created_us, pattern`

func scanTask(r row) (*taskRow, error) {
	k := &taskRow{}
	var input string
	err := r.Scan(&k.token, &k.execARN, &k.frameID, &k.stateName, &k.statePath, &k.attempt, &k.kind, &k.resource, &k.activity, &input,
		&k.status, &k.owner, &k.dispatch, &k.heartbeatSeconds, &k.timeoutUS, &k.heartbeatUS, &k.createdUS, &k.pattern)
	k.input = json.RawMessage(input)
	return k, err
}

type eventRow struct {
	id, prev int64
	typ      string
	ts       int64
	details  []byte
}

// taskRun is a task this process invokes after the transaction that
// claimed it commits.
type taskRun struct {
	token, execARN, frameID string
	tenant                  string
	kind, resource, pattern string
	statePath               string
	attempt, dispatch       int
	key                     string
	input                   json.RawMessage
	timeout                 time.Duration

	// snap is the execution row and the task's frame as the transition
	// that claimed the task committed them, when the completion may be
	// written without reading them again (see transitionSnap).
	snap *txnSnapshot
}

// txnSnapshot is what a transition needs to start without its first
// round trip: the execution row and a top-level frame, as committed.
type txnSnapshot struct {
	exec  execRow
	frame frameRow
}

// snapshot returns the state the transition leaves, once committed, for
// the completion of the task it claimed: only for a task of the
// top-level frame (a frame with no parent, so no other frame's state is
// read), run by this process, and on PostgreSQL, where it saves a round
// trip.
func (t *txn) snapshot() *txnSnapshot {
	if t.inline == nil || t.inline.kind != kindInvoke || t.exec.finished || len(t.cancelled) > 0 {
		return nil
	}
	if _, ok := t.tx.(*pgTx); !ok {
		return nil
	}
	f := t.frames[t.inline.frameID]
	if f == nil || f.parentID != "" {
		return nil
	}
	snap := &txnSnapshot{exec: *t.exec, frame: *f}
	x := &snap.exec
	x.origNextEvent, x.statusChange, x.setRedrive = x.nextEvent, false, false
	fr := &snap.frame
	if f.isNew || f.dirty {
		fr.version = f.nextVersion()
	}
	fr.isNew, fr.dirty = false, false
	fr.read, fr.readCheckpoint = fr.frame, fr.checkpoint
	return snap
}

// errOptimisticRead stops a transition started from a snapshot that needs
// to read the database: it is run again the ordinary way.
var errOptimisticRead = errors.New("workflow: transition from a snapshot needs a read")

// snapTx is the transaction of a transition started from a snapshot until
// it is written: nothing is read (a read would not be under the
// execution's lock), so reads send the transition back to the ordinary
// way.
type snapTx struct{ dbtx }

func (snapTx) exec(context.Context, string, ...any) (int64, error) { return 0, errOptimisticRead }
func (snapTx) query(context.Context, string, ...any) (rows, error) { return nil, errOptimisticRead }
func (snapTx) queryRow(context.Context, string, ...any) row        { return errRow{errOptimisticRead} }
func (snapTx) execBatch(context.Context, []stmt) ([]int64, error)  { return nil, errOptimisticRead }
func (snapTx) runningSteps(context.Context) ([]*rivertype.JobRow, error) {
	return nil, errOptimisticRead
}
func (snapTx) promoteDueSteps(context.Context, time.Time) (int, error) { return 0, errOptimisticRead }
func (snapTx) queryRows(context.Context, []stmt, []func(row) error) error {
	return errOptimisticRead
}

// txn is one transition: everything it changes is written by flush in the
// same SQL transaction.
type txn struct {
	e    *Engine
	ctx  context.Context
	tx   dbtx
	now  time.Time
	exec *execRow
	prog program

	frames    map[string]*frameRow
	order     []*frameRow
	newTasks  []*taskRow
	events    []eventRow
	jobs      []river.InsertManyParams
	cancelled []string // path prefixes of the open frames to cancel ("" is every frame)
	// fences are statements that must each change a row for the
	// transition to stand (a task attempt still held by this worker).
	fences []stmt
	job    *river.Job[stepArgs]

	canInline bool
	inline    *taskRun
	activity  bool // a new activity task was queued

	// fromSnap: the transition started from a snapshot, without locking
	// the execution row; flush then writes the execution row first, on
	// condition that it is as the snapshot saw it, and real is the
	// transaction (tx refuses reads).
	fromSnap bool
	real     dbtx

	// runItems are the items of the map runs this transition started;
	// mapRuns are the writes to map runs and their items.
	runItems map[string][]json.RawMessage
	mapRuns  []stmt
	// iterations counts the distributed Map iterations this transition
	// started and drove (see driveIteration).
	iterations int
}

// transition runs f as one transition of execution execARN: it locks the
// execution row, lets f change frames, tasks and history, and commits it
// all at once, together with the River jobs it enqueued and the
// completion of job (when not nil). errStale from f or from a
// compare-and-swap abandons the transition and is returned.
func (e *Engine) transition(ctx context.Context, execARN string, job *river.Job[stepArgs], canInline bool, f func(t *txn) error) (*taskRun, error) {
	return e.transitionOn(ctx, execARN, "", job, canInline, f)
}

// transitionOn is transition that also reads frame prefetch with the
// execution row.
func (e *Engine) transitionOn(ctx context.Context, execARN, prefetch string, job *river.Job[stepArgs], canInline bool, f func(t *txn) error) (*taskRun, error) {
	return e.transitionFrom(ctx, execARN, prefetch, nil, job, canInline, f)
}

// transitionSnap is transitionOn for the completion of a task this
// process claimed: when the claiming transition left a snapshot, the
// transition starts from it instead of reading the execution row and
// frame, and its writes go out with BEGIN and COMMIT in one round trip,
// the execution row's first, on condition that it is unchanged since the
// snapshot (status and next event id; every transition that changes an
// execution adds events) and the frame's by its version, as always. When
// that condition fails, or the transition needs to read anything, it is
// run again the ordinary way.
func (e *Engine) transitionSnap(ctx context.Context, run *taskRun, f func(t *txn) error) (*taskRun, error) {
	snap := run.snap
	run.snap = nil
	if snap != nil {
		next, err := e.transitionFrom(ctx, run.execARN, run.frameID, snap, nil, true, f)
		if !errors.Is(err, errStale) && !errors.Is(err, errOptimisticRead) {
			return next, err
		}
	}
	return e.transitionFrom(ctx, run.execARN, run.frameID, nil, nil, true, f)
}

func (e *Engine) transitionFrom(ctx context.Context, execARN, prefetch string, snap *txnSnapshot, job *river.Job[stepArgs], canInline bool, f func(t *txn) error) (*taskRun, error) {
	var run *taskRun
	var done, activity bool
	err := e.withTx(ctx, func(tx dbtx) error {
		t := &txn{e: e, ctx: ctx, tx: tx, now: e.now().UTC(), frames: map[string]*frameRow{}, job: job, canInline: canInline && e.cfg.Role != RoleAPI}
		if snap != nil {
			x, fr := snap.exec, snap.frame
			t.exec, t.frames[fr.id] = &x, &fr
			t.fromSnap, t.real, t.tx = true, tx, snapTx{tx}
			var err error
			if t.prog, err = e.progs.get(x.definition, e.compile); err != nil {
				return fmt.Errorf("execution %s: definition: %w", x.arn, err)
			}
			if err := safely(func() error { return f(t) }); err != nil {
				return err
			}
			t.tx = tx
			if err := t.flush(); err != nil {
				return err
			}
			run, done, activity = t.inline, t.exec.finished, t.activity
			if run != nil {
				run.snap = t.snapshot()
			}
			return nil
		}
		var x *execRow
		stmts := []stmt{e.st.ExecutionLockStmt(&executionGetParams{ARN: execARN})}
		scans := []func(row) error{func(r row) (err error) { x, err = scanExec(r); return err }}
		if prefetch != "" {
			// The frame the transition is about, and its parent, which
			// its end changes, come in the same round trip (the
			// execution row's lock already covers them).
			scan := func(r row) error {
				f, err := scanFrame(r)
				if errors.Is(err, errNoRows) {
					return nil
				}
				if err == nil {
					t.frames[f.id] = f
				}
				return err
			}
			stmts = append(stmts, e.st.FrameGetStmt(&frameGetParams{ID: prefetch}), e.st.FrameParentGetStmt(&frameGetParams{ID: prefetch}))
			scans = append(scans, scan, scan)
		}
		err := tx.queryRows(ctx, stmts, scans)
		if errors.Is(err, errNoRows) {
			return errStale
		}
		if err != nil {
			return err
		}
		for id, f := range t.frames {
			if f.execARN != execARN {
				delete(t.frames, id)
			}
		}
		t.exec = x
		if t.prog, err = e.progs.get(x.definition, e.compile); err != nil {
			return fmt.Errorf("execution %s: definition: %w", x.arn, err)
		}
		if err := safely(func() error { return f(t) }); err != nil {
			return err
		}
		if err := t.flush(); err != nil {
			return err
		}
		run, done, activity = t.inline, t.exec.finished, t.activity
		if run != nil {
			run.snap = t.snapshot()
		}
		return nil
	})
	var pe *panicError
	if errors.As(err, &pe) {
		// A bug in the interpreter or the engine must not crash the worker
		// nor leave the execution running forever: it fails, with the
		// panic as its cause.
		e.log.Error("workflow: transition panicked; failing the execution", "execution", execARN, "panic", pe.v)
		_, ferr := e.transition(ctx, execARN, nil, false, func(t *txn) error {
			if t.exec.status != StatusRunning {
				return errStale
			}
			t.endExecution(StatusFailed, "ExecutionFailed", "States.Runtime", fmt.Sprintf("internal error in the workflow engine: %v", pe.v))
			return nil
		})
		if ferr != nil && !errors.Is(ferr, errStale) {
			return nil, errors.Join(err, ferr)
		}
		return nil, errStale
	}
	if err != nil {
		return nil, err
	}
	if done {
		e.notifyDone(execARN)
	}
	if activity {
		e.notifyActivity()
	}
	return run, nil
}

// statesPerStep bounds the states one interpreter step enters: a longer
// run of Pass and Choice states goes on in the next transition, so no
// transition holds more than a few hundred events in memory.
const statesPerStep = 100

func (t *txn) sc() stepContext {
	x := t.exec
	// Two events a state: the step stops where the history cap would,
	// and flush fails the execution there.
	budget := statesPerStep
	if room := (int64(t.e.cfg.HistoryEvents) - x.nextEvent) / 2; room < int64(budget) {
		budget = int(max(room, 1))
	}
	return stepContext{IO: &mapIO{ctx: t.ctx, tenant: x.tenant, io: t.e.cfg.MapIO}, Now: t.now, TaskToken: randomID(24), MaxStates: budget, Execution: executionContext{
		ID: x.arn, Name: x.name, StartTime: fromMicros(x.startUS), Input: json.RawMessage(x.input),
		RedriveCount: x.redriveCount, StateMachineID: x.smARN, StateMachineName: smNameOf(x.smARN),
	}}
}

func smNameOf(arn string) string {
	if i := strings.LastIndexByte(arn, ':'); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

func (t *txn) loadFrame(id string) (*frameRow, error) {
	if f, ok := t.frames[id]; ok {
		return f, nil
	}
	get := t.e.st.FrameGetStmt(&frameGetParams{ID: id})
	f, err := scanFrame(t.tx.queryRow(t.ctx, get.q, get.args...))
	if err != nil {
		return nil, err
	}
	if f.execARN != t.exec.arn {
		return nil, errStale
	}
	t.frames[id] = f
	return f, nil
}

func (t *txn) touch(f *frameRow) {
	if !f.dirty && !f.isNew {
		f.dirty = true
		t.order = append(t.order, f)
	}
}

// nextVersion is the version f will have once this transition commits.
func (f *frameRow) nextVersion() int64 {
	if f.isNew {
		return 1
	}
	return f.version + 1
}

func (t *txn) newFrame(parent *frameRow, idx int, frame json.RawMessage) *frameRow {
	f := &frameRow{id: randomID(10), execARN: t.exec.arn, idx: idx, status: frameReady, frame: frame, isNew: true}
	if parent != nil {
		spec := parent.spec()
		f.parentID, f.gen = parent.id, spec.Gen
		if spec.Distributed {
			f.path = parent.path + "/" + spec.State + "{" + strconv.Itoa(idx) + "}"
		} else {
			f.path = parent.path + "/" + spec.State + "[" + strconv.Itoa(idx) + "]"
		}
		f.lastEvent = parent.lastEvent
	}
	t.frames[f.id] = f
	t.order = append(t.order, f)
	return f
}

// event appends a history event caused by frame f (nil: the execution).
func (t *txn) event(f *frameRow, typ string, details any) int64 {
	if f != nil && f.quiet() {
		// An iteration of a distributed Map: Step Functions records its
		// events in the map run's child execution, not here, so that a
		// Map over many thousand items fits the execution's history. The
		// number returned only tells generations of children apart.
		t.touch(f)
		return -1 - rand.Int64N(1<<62)
	}
	x := t.exec
	id := x.nextEvent
	x.nextEvent++
	var prev int64
	if f != nil {
		prev = f.lastEvent
		f.lastEvent = id
		t.touch(f)
	} else {
		prev = id - 1
	}
	var b []byte
	if details != nil {
		b, _ = json.Marshal(details)
	}
	t.events = append(t.events, eventRow{id: id, prev: prev, typ: typ, ts: micros(t.now), details: b})
	return id
}

// stepJob enqueues a step of frame f at time at (zero: now).
func (t *txn) stepJob(f *frameRow, at time.Time) {
	opts := &river.InsertOpts{}
	if at.After(t.now) {
		// River schedules by the process clock; the engine's may be offset
		// from it, so the job is due after the same span.
		opts.ScheduledAt = time.Now().Add(at.Sub(t.now))
	}
	t.jobs = append(t.jobs, river.InsertManyParams{
		Args:       stepArgs{Exec: t.exec.arn, Frame: f.id, Version: f.nextVersion()},
		InsertOpts: opts,
	})
}

// flush writes the transition: the frames (compare-and-swap on their
// versions), cancellations, tasks, history and execution row in one
// batch, then the River jobs and the completion of the job being worked.
func (t *txn) flush() error {
	t.capHistory()
	ctx, tx := t.ctx, t.tx
	now := micros(t.now)
	batch := append([]stmt(nil), t.fences...)
	var cas []int // indexes in batch of statements that must touch a row
	for i := range t.fences {
		cas = append(cas, i)
	}
	st := t.e.st
	for _, f := range t.order {
		if f.isNew {
			batch = append(batch, st.FrameInsertStmt(&frameWriteParams{F: f, UpdatedUS: now}))
			continue
		}
		cas = append(cas, len(batch))
		batch = append(batch, st.FrameUpdateStmt(&frameWriteParams{F: f, UpdatedUS: now}))
	}
	batch = append(batch, t.mapRuns...)
	for _, prefix := range t.cancelled {
		batch = append(batch, st.FrameCancelStmt(&frameCancelParams{ExecutionARN: t.exec.arn, Prefix: prefix, UpdatedUS: now}))
		batch = append(batch, st.MapRunAbortStmt(&mapRunAbortParams{ExecutionARN: t.exec.arn, Prefix: prefix, StopUS: now}))
	}
	if len(t.cancelled) > 0 {
		batch = append(batch, st.TaskCancelStmt(&taskCancelParams{ExecutionARN: t.exec.arn}))
		// The .sync children of the cancelled tasks are stopped after
		// this commits.
		t.jobs = append(t.jobs, river.InsertManyParams{Args: stopChildrenArgs{Exec: t.exec.arn}})
	}
	if x := t.exec; x.finished && x.parentToken != "" {
		// The .sync task that started this execution goes on.
		t.jobs = append(t.jobs, river.InsertManyParams{Args: syncDoneArgs{Token: x.parentToken, Child: x.arn}})
	}
	for _, k := range t.newTasks {
		batch = append(batch, st.TaskInsertStmt(&taskInsertParams{T: k}))
	}
	batch = append(batch, st.HistoryInsertStmts(&historyInsertParams{ExecutionARN: t.exec.arn, Events: t.events})...)
	x := t.exec
	if x.nextEvent != x.origNextEvent || x.statusChange || x.setRedrive || t.fromSnap {
		up := &executionUpdateParams{ARN: x.arn, NextEvent: x.nextEvent, Status: x.status,
			Ended: x.statusChange, Output: x.output, Error: x.errName, Cause: x.cause, StopUS: x.stopUS,
			Redriven: x.setRedrive, RedriveCount: x.redriveCount, RedriveUS: x.redriveUS, TimeoutUS: x.timeoutUS}
		if t.fromSnap {
			// First, so the execution row is locked before any other
			// row, as the ordinary way does; and only if no transition
			// came in between.
			up.IfNextEvent, up.IfRunning = &x.origNextEvent, true
			batch = append([]stmt{st.ExecutionUpdateStmt(up)}, batch...)
			for i := range cas {
				cas[i]++
			}
			cas = append(cas, 0)
		} else {
			batch = append(batch, st.ExecutionUpdateStmt(up))
		}
	}
	if pt, ok := tx.(*pgTx); ok && len(t.jobs) == 0 && t.job == nil {
		// Nothing for River: the writes and the commit go in one round
		// trip (with other workers' transitions, when this one has read
		// nothing: see pgGroup).
		pt.groupKey = t.exec.arn
		err := pt.commitBatch(ctx, batch, cas)
		if errors.Is(err, errCASMissed) {
			return errStale
		}
		if err != nil {
			return fmt.Errorf("write transition: %w", err)
		}
		return nil
	}
	counts, err := tx.execBatch(ctx, batch)
	if err != nil {
		return fmt.Errorf("write transition: %w", err)
	}
	for _, i := range cas {
		if counts[i] == 0 {
			return errStale
		}
	}
	if err := tx.insertJobs(ctx, t.jobs); err != nil {
		return fmt.Errorf("enqueue: %w", err)
	}
	if t.job != nil {
		if err := tx.completeJob(ctx, t.job); err != nil {
			return fmt.Errorf("complete job %d: %w", t.job.ID, err)
		}
	}
	return nil
}

// HistoryCapCause is the start of the cause of an execution failed for
// reaching the history cap.
const HistoryCapCause = "the execution reached the history cap of"

// capHistory enforces the history cap before a transition is written:
// when its events would take the history past the cap (only the event
// ending the execution may be the cap's last), the events past it are
// dropped with the work they started, and the execution fails with
// States.Runtime in the last event the cap allows.
func (t *txn) capHistory() {
	limit := int64(t.e.cfg.HistoryEvents)
	x := t.exec
	if limit <= 0 || x.nextEvent-1 <= limit-1 {
		return
	}
	if x.nextEvent-1 == limit && len(t.events) > 0 && isTerminal(t.events[len(t.events)-1].typ) {
		return
	}
	keep := 0
	for keep < len(t.events) && t.events[keep].id <= limit-1 && !isTerminal(t.events[keep].typ) {
		keep++
	}
	t.events = t.events[:keep]
	// A running execution's history ends below the cap, so the event
	// ending it still fits.
	x.nextEvent = x.origNextEvent
	if keep > 0 {
		x.nextEvent = t.events[keep-1].id + 1
	}
	t.newTasks, t.jobs, t.inline, t.activity = nil, nil, nil, false
	x.output = nil
	t.endExecution(StatusFailed, "ExecutionFailed", "States.Runtime",
		fmt.Sprintf("%s %d events; the execution stopped and writes no further events", HistoryCapCause, limit))
}

// overCap reports whether the transition's events already pass the
// history cap: work that would only add events is not started, and flush
// fails the execution.
func (t *txn) overCap() bool {
	return t.exec.nextEvent-1 > int64(t.e.cfg.HistoryEvents)
}

func isTerminal(typ string) bool {
	switch typ {
	case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut":
		return true
	}
	return false
}

// likePrefix is a LIKE pattern matching strings that start with p.
func likePrefix(p string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(p) + "%"
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ---- driving frames ----

// maxInMemorySteps bounds the effects resolved without leaving the
// transaction (Waits already due, zero Retry delays).
const maxInMemorySteps = 1000

// drive advances f until it stops at an effect, and records the effect.
func (t *txn) drive(f *frameRow) error {
	nf, out, err := t.prog.advance(f.frame, t.sc())
	return t.apply(f, nf, out, err)
}

// applyFailure is apply for the outcome of an effect's failure: the
// frame keeps its checkpoint for redrive only when that failure is what
// ended it.
func (t *txn) applyFailure(f *frameRow, nf json.RawMessage, out outcome, err error) error {
	cp, kind := f.checkpoint, f.checkpointKind
	if err == nil && out.kind != outFailed {
		cp, kind = nil, ""
	}
	f.checkpoint, f.checkpointKind = nil, ""
	if err := t.apply(f, nf, out, err); err != nil {
		return err
	}
	if f.status == frameFailed && f.checkpointKind == "" {
		f.checkpoint, f.checkpointKind = cp, kind
	}
	return nil
}

// apply records the outcome of a step of f: its history events and its
// effect. Effects already due (a Wait in the past, a Retry without delay)
// are resumed at once.
func (t *txn) apply(f *frameRow, nf json.RawMessage, out outcome, err error) error {
	t.touch(f)
	f.status = frameReady
	for steps := 0; ; steps++ {
		if err != nil {
			return t.finishFrame(f, nil, true, "States.Runtime", err.Error())
		}
		if steps > maxInMemorySteps {
			return t.finishFrame(f, nil, true, "States.Runtime", fmt.Sprintf("more than %d immediate Wait or Retry resumptions in one transition", maxInMemorySteps))
		}
		f.frame = nf
		for _, ev := range out.events {
			t.event(f, ev.Type, ev.Details)
		}
		switch out.kind {
		case outTask:
			return t.scheduleTask(f, out)
		case outWait, outRetry:
			if !out.until.After(t.now) {
				nf, out, err = t.prog.resume(f.frame, t.sc())
				continue
			}
			f.status = frameWait
			f.wakeUS = micros(out.until)
			t.stepJob(f, out.until)
			return nil
		case outParallel:
			return t.startParallel(f, out)
		case outMap:
			return t.startMap(f, out)
		case outYield:
			// The frame stays ready and goes on in a transition of its own.
			t.stepJob(f, time.Time{})
			return nil
		case outSucceeded:
			return t.finishFrame(f, out.output, false, "", "")
		case outFailed:
			return t.finishFrame(f, nil, true, out.errName, out.cause)
		default:
			return fmt.Errorf("interpreter returned unknown outcome %d", out.kind)
		}
	}
}

func resourceType(resource string) (string, string) {
	if rest, ok := strings.CutPrefix(resource, "arn:aws:states:::"); ok {
		if i := strings.IndexByte(rest, ':'); i > 0 {
			return rest[:i], rest[i+1:]
		}
	}
	if strings.HasPrefix(resource, "arn:aws:") {
		parts := strings.SplitN(resource, ":", 4)
		if len(parts) == 4 {
			return parts[2], resource
		}
	}
	return "landfall", resource
}

func (t *txn) scheduleTask(f *frameRow, out outcome) error {
	tc := out.task
	k := &taskRow{
		token: tc.Token, execARN: t.exec.arn, frameID: f.id, stateName: out.stateName,
		statePath: f.path + "/" + out.stateName, attempt: tc.Attempt, kind: kindInvoke, resource: tc.Resource,
		input: tc.Input, status: taskScheduled, heartbeatSeconds: tc.HeartbeatSeconds,
		heartbeatUS: micros(t.now), createdUS: micros(t.now),
	}
	f.checkpoint, f.checkpointKind = f.frame, "task"
	if tc.TimeoutSeconds > 0 {
		k.timeoutUS = micros(t.now.Add(time.Duration(tc.TimeoutSeconds) * time.Second))
	}
	rtype, rname := resourceType(tc.Resource)
	if name, ok := activityName(tc.Resource); ok && tc.Pattern == "" {
		k.kind, k.activity = kindActivity, name
		t.event(f, "ActivityScheduled", map[string]any{"resource": tc.Resource, "input": string(tc.Input),
			"timeoutInSeconds": nonZero(tc.TimeoutSeconds), "heartbeatInSeconds": nonZero(tc.HeartbeatSeconds)})
		t.activity = true
	} else {
		if tc.Pattern == "waitForTaskToken" {
			k.kind = kindCallback
		}
		if tc.Pattern == "sync" {
			k.pattern = "sync"
		}
		if tc.Pattern != "" {
			rname += "." + tc.Pattern
		}
		t.event(f, "TaskScheduled", map[string]any{"resourceType": rtype, "resource": rname, "region": t.e.cfg.Region,
			"parameters": string(tc.Input), "timeoutInSeconds": nonZero(tc.TimeoutSeconds), "heartbeatInSeconds": nonZero(tc.HeartbeatSeconds)})
		if t.canInline && t.inline == nil {
			t.claim(f, k)
		} else {
			t.stepJob(f, time.Time{})
		}
	}
	f.status = frameTask
	f.taskToken = k.token
	t.newTasks = append(t.newTasks, k)
	return nil
}

// claim marks task k as run by this process after commit.
func (t *txn) claim(f *frameRow, k *taskRow) {
	k.status, k.owner = taskRunning, t.e.workerID
	k.dispatch++
	k.heartbeatUS = micros(t.now)
	if k.dispatch == 1 {
		// A delivery repeated after a worker died is the same attempt:
		// it was already recorded as started.
		rtype, rname := resourceType(k.resource)
		t.event(f, "TaskStarted", map[string]any{"resourceType": rtype, "resource": rname})
	}
	var timeout time.Duration
	if k.timeoutUS > 0 {
		timeout = time.Duration(k.timeoutUS-micros(t.now)) * time.Microsecond
		if timeout <= 0 {
			timeout = time.Millisecond
		}
	}
	t.inline = &taskRun{
		token: k.token, execARN: k.execARN, tenant: t.exec.tenant, frameID: k.frameID, kind: k.kind, resource: k.resource, pattern: k.pattern,
		statePath: k.statePath, attempt: k.attempt, dispatch: k.dispatch, input: k.input, timeout: timeout,
		key: fmt.Sprintf("%s%s#%d@%s", k.execARN, k.statePath, k.attempt, k.token[:12]),
	}
}

func nonZero(n int) any {
	if n == 0 {
		return nil
	}
	return n
}

func (t *txn) startParallel(f *frameRow, out outcome) error {
	gen := t.event(f, "ParallelStateStarted", nil)
	f.checkpoint, f.checkpointKind = f.frame, "children"
	spec, _ := json.Marshal(childSpec{Kind: "parallel", State: out.stateName, Gen: gen})
	f.status, f.childSpec = frameChildren, string(spec)
	f.total, f.nextChild, f.pending, f.failedChildren = len(out.branches), len(out.branches), len(out.branches), 0
	if len(out.branches) == 0 {
		return t.completeChildren(f)
	}
	children := make([]*frameRow, len(out.branches))
	for i, b := range out.branches {
		children[i] = t.newFrame(f, i, b)
	}
	for _, c := range children {
		if f.status != frameChildren || t.overCap() {
			break // a branch failed the state already (the rest are cancelled), or the history is full
		}
		if err := t.drive(c); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) startMap(f *frameRow, out outcome) error {
	gen := t.event(f, "MapStateStarted", map[string]any{"length": out.mapItems})
	f.checkpoint, f.checkpointKind = f.frame, "children"
	cs := childSpec{Kind: "map", State: out.stateName, Gen: gen, ToleratedCount: out.toleratedCount, ToleratedPercent: out.toleratedPercent,
		Distributed: out.distributed}
	if out.distributed {
		if err := t.startMapRun(f, &cs, out); err != nil {
			return err
		}
		f.checkpoint = f.frame
	}
	spec, _ := json.Marshal(cs)
	f.status, f.childSpec = frameChildren, string(spec)
	f.total, f.maxChild, f.failedChildren = out.mapItems, out.maxConcurrency, 0
	n := out.mapItems
	if out.maxConcurrency > 0 && n > out.maxConcurrency {
		n = out.maxConcurrency
	}
	f.nextChild, f.pending = 0, 0
	if out.mapItems == 0 {
		return t.completeChildren(f)
	}
	if out.distributed {
		return t.fillMap(f)
	}
	var started []*frameRow
	for i := 0; i < n && !t.overCap(); i++ {
		c, err := t.newItem(f, i)
		if err != nil {
			return err
		}
		started = append(started, c)
	}
	for _, c := range started {
		if f.status != frameChildren || t.overCap() {
			break
		}
		if err := t.drive(c); err != nil {
			return err
		}
	}
	return nil
}

// iterationsPerTransition bounds the iterations of a distributed Map that
// one transition starts: the rest start in later transitions (a fill job
// of the Map frame), so that a Map whose iterations run no Task neither
// holds the database's write lock for its whole run nor recurses once per
// item.
const iterationsPerTransition = 64

// fillJobVersion marks the step job of a distributed Map frame that
// starts further iterations: it runs whatever the frame's version, as
// iterations ending change it.
const fillJobVersion = -1

// fillMap starts iterations of the distributed Map frame f while it has
// items left and room under its concurrency, up to
// iterationsPerTransition in this transition; a fill job goes on after.
func (t *txn) fillMap(f *frameRow) error {
	for f.status == frameChildren && f.nextChild < f.total && (f.maxChild == 0 || f.pending < f.maxChild) && !t.overCap() {
		if t.iterations >= iterationsPerTransition {
			t.jobs = append(t.jobs, river.InsertManyParams{Args: stepArgs{Exec: t.exec.arn, Frame: f.id, Version: fillJobVersion}, InsertOpts: &river.InsertOpts{}})
			return nil
		}
		t.iterations++
		c, err := t.newItem(f, f.nextChild)
		if err != nil {
			return err
		}
		if err := t.drive(c); err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) newItem(parent *frameRow, i int) (*frameRow, error) {
	var spec childSpec
	_ = json.Unmarshal([]byte(parent.childSpec), &spec)
	var frame json.RawMessage
	var err error
	if spec.Run != "" {
		var item json.RawMessage
		if item, err = t.mapItem(spec.Run, i, parent.total); err == nil {
			frame, err = t.prog.itemFrame(spec.Tmpl, item)
		}
	} else {
		frame, err = t.prog.newItemFrame(parent.frame, i)
	}
	if err != nil {
		return nil, err
	}
	parent.nextChild = i + 1
	parent.pending++
	if !spec.Distributed {
		t.event(parent, "MapIterationStarted", map[string]any{"name": spec.State, "index": i})
	}
	return t.newFrame(parent, i, frame), nil
}

// finishFrame ends frame f with an output or an error and lets its parent
// (or the execution) go on.
//
// A frame may fail without an error name (a Fail state with neither
// Error nor Cause), so failed says which it is.
func (t *txn) finishFrame(f *frameRow, output json.RawMessage, failed bool, errName, cause string) error {
	t.touch(f)
	if failed {
		f.status, f.errName, f.cause = frameFailed, &errName, &cause
	} else {
		s := string(output)
		f.status, f.output = frameSucceeded, &s
	}
	if f.parentID == "" {
		return t.finishExecution(f, output, failed, errName, cause)
	}
	parent, err := t.loadFrame(f.parentID)
	if err != nil {
		return err
	}
	if parent.status != frameChildren {
		return nil // the parent already failed or was cancelled
	}
	t.touch(parent)
	parent.pending--
	var spec childSpec
	_ = json.Unmarshal([]byte(parent.childSpec), &spec)
	if spec.Kind == "parallel" {
		if failed {
			t.event(parent, "ParallelStateFailed", nil)
			t.cancelChildren(parent)
			nf, out, err := t.prog.failParallel(parent.frame, errName, cause, t.sc())
			return t.applyFailure(parent, nf, out, err)
		}
	} else {
		if failed {
			parent.failedChildren++
			if !spec.Distributed {
				t.event(parent, "MapIterationFailed", map[string]any{"name": spec.State, "index": f.idx})
			}
			if !tolerated(spec, parent.failedChildren, parent.total) {
				t.mapRunEnd(spec.Run, mapRunFailed)
				t.event(parent, "MapStateFailed", nil)
				t.cancelChildren(parent)
				name, why := errName, cause
				if spec.ToleratedCount >= 0 || spec.ToleratedPercent >= 0 {
					name, why = "States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded"
				}
				nf, out, err := t.prog.failMap(parent.frame, name, why, t.sc())
				return t.applyFailure(parent, nf, out, err)
			}
		} else if !spec.Distributed {
			t.event(parent, "MapIterationSucceeded", map[string]any{"name": spec.State, "index": f.idx})
		}
		if spec.Distributed {
			if err := t.fillMap(parent); err != nil {
				return err
			}
		} else if parent.nextChild < parent.total {
			c, err := t.newItem(parent, parent.nextChild)
			if err != nil {
				return err
			}
			if err := t.drive(c); err != nil {
				return err
			}
		}
	}
	if parent.status == frameChildren && parent.pending == 0 && parent.nextChild >= parent.total {
		return t.completeChildren(parent)
	}
	return nil
}

func tolerated(spec childSpec, failed, total int) bool {
	if failed == 0 {
		return true
	}
	if spec.ToleratedCount >= 0 && failed <= spec.ToleratedCount {
		return true
	}
	return spec.ToleratedPercent >= 0 && total > 0 && float64(failed)*100/float64(total) <= spec.ToleratedPercent
}

func (t *txn) cancelChildren(parent *frameRow) {
	parent.status = frameReady
	for _, f := range t.frames {
		if strings.HasPrefix(f.path, parent.path+"/") && (f.status == frameReady || f.status == frameTask || f.status == frameWait || f.status == frameChildren) {
			t.touch(f)
			f.status = frameCanceled
		}
	}
	t.cancelled = append(t.cancelled, parent.path+"/")
}

// completeChildren gathers the outputs of a Parallel or Map frame's
// children and resumes it.
func (t *txn) completeChildren(parent *frameRow) error {
	var spec childSpec
	_ = json.Unmarshal([]byte(parent.childSpec), &spec)
	outputs := make([]json.RawMessage, parent.total)
	failed := make([]bool, parent.total) // the iterations that failed (tolerated)
	if parent.total > 0 {
		children, err := t.e.st.FrameListChildOutputs(t.ctx, t.tx, &frameListChildrenParams{ParentID: parent.id, Gen: spec.Gen})
		if err != nil {
			return err
		}
		for _, c := range children {
			if c.idx >= 0 && c.idx < len(outputs) {
				outputs[c.idx] = childOutput(c.status, c.output, c.errName, c.cause)
				failed[c.idx] = c.status != frameSucceeded
			}
		}
		for _, f := range t.frames {
			if f.parentID == parent.id && f.gen == spec.Gen && f.idx < len(outputs) {
				outputs[f.idx] = childOutput(f.status, f.output, f.errName, f.cause)
				failed[f.idx] = f.status != frameSucceeded
			}
		}
	}
	if spec.Kind == "parallel" {
		t.event(parent, "ParallelStateSucceeded", nil)
		parent.checkpoint, parent.checkpointKind = nil, ""
		nf, out, err := t.prog.completeParallel(parent.frame, outputs, t.sc())
		return t.apply(parent, nf, out, err)
	}
	var items []json.RawMessage
	if spec.Run != "" {
		var err error
		if items, err = t.mapRunItems(spec.Run, parent.total); err != nil {
			return err
		}
		t.mapRunEnd(spec.Run, mapRunSucceeded)
	}
	t.event(parent, "MapStateSucceeded", nil)
	parent.checkpoint, parent.checkpointKind = nil, ""
	nf, out, err := t.prog.completeMap(parent.frame, items, outputs, failed, parent.failedChildren, t.sc())
	return t.apply(parent, nf, out, err)
}

func childOutput(status string, out, errName, cause *string) json.RawMessage {
	if status == frameSucceeded && out != nil {
		return json.RawMessage(*out)
	}
	m := map[string]string{}
	if errName != nil {
		m["Error"] = *errName
	}
	if cause != nil {
		m["Cause"] = *cause
	}
	b, _ := json.Marshal(m)
	return b
}

func (t *txn) finishExecution(f *frameRow, output json.RawMessage, failed bool, errName, cause string) error {
	x := t.exec
	x.statusChange, x.finished, x.stopUS = true, true, micros(t.now)
	if failed {
		x.status, x.errName, x.cause = StatusFailed, errName, cause
		t.event(f, "ExecutionFailed", map[string]any{"error": errName, "cause": cause})
		return nil
	}
	s := string(output)
	x.status, x.output = StatusSucceeded, &s
	t.event(f, "ExecutionSucceeded", map[string]any{"output": s})
	return nil
}

// endExecution stops a running execution from outside the interpreter
// (StopExecution, the execution timeout): every open frame and task is
// cancelled.
func (t *txn) endExecution(status, typ, errName, cause string) {
	x := t.exec
	x.status, x.errName, x.cause = status, errName, cause
	x.statusChange, x.finished, x.stopUS = true, true, micros(t.now)
	t.event(nil, typ, map[string]any{"error": errName, "cause": cause})
	t.cancelled = append(t.cancelled, "")
}

// panicError is a panic recovered from a transition.
type panicError struct{ v any }

func (p *panicError) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// safely runs f, turning a panic into a *panicError.
func safely(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{v}
		}
	}()
	return f()
}
