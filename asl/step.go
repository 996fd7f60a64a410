package asl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"time"

	"github.com/landfall/landfall/asl/expr"
)

// MaxPayloadBytes is the largest state input, output or task result
// (256 KiB); a larger one fails with States.DataLimitExceeded.
const MaxPayloadBytes = 256 * 1024

// maxStepsPerAdvance bounds how many in-memory states one Advance runs, so
// a Pass/Choice loop without a Wait or Task cannot spin forever.
const maxStepsPerAdvance = 1_000_000

// Frame is the position of one thread of execution: the top level, one
// Parallel branch or one Map iteration. It is plain data (JSON-marshalable)
// so a durable engine can store it and resume on any machine; the Machine
// that made it interprets it.
type Frame struct {
	// Graph is the JSON pointer of the block of states the frame runs:
	// "" for the top level, "/States/P/Branches/0" for a branch,
	// "/States/M/ItemProcessor" for a Map iteration.
	Graph string `json:"graph"`
	// State is the current state's name.
	State string `json:"state"`
	// Input is the current state's raw input.
	Input any `json:"input"`
	// Vars are the variables in scope.
	Vars map[string]any `json:"vars,omitempty"`
	// Phase says where inside the current state the frame waits:
	// "" (not entered yet), "task", "wait", "retry", "parallel",
	// "itemread", "map", "resultwrite", or "done".
	Phase string `json:"phase,omitempty"`
	// Attempts counts retries per Retry entry of the current state.
	Attempts []int `json:"attempts,omitempty"`
	// EnteredTime is when the current state was entered.
	EnteredTime time.Time `json:"enteredTime"`
	// EventID numbers history events as Step Functions does; causes of
	// runtime errors quote the id at which the state was entered.
	EventID      int `json:"eventId"`
	StateEventID int `json:"stateEventId"`
	// InputSize is an upper bound of Input's JSON length (0: unknown). It
	// lets most states check the 256 KiB limit without measuring their
	// whole output.
	InputSize int `json:"inputSize,omitempty"`
	// Pending holds what a state computed before it waited: the task's
	// effective input, the Map's items and settings, the Wait's end.
	Pending *Pending `json:"pending,omitempty"`

	// Status is "", "SUCCEEDED" or "FAILED" once the frame has ended.
	Status string `json:"status,omitempty"`
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
}

// UnmarshalFrame reads a frame marshalled with encoding/json, keeping
// numbers as json.Number as the value model requires.
func UnmarshalFrame(b []byte) (*Frame, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var f Frame
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("asl: reading a frame: %w", err)
	}
	return &f, nil
}

// Pending is what a state that waits for an effect carries across calls.
type Pending struct {
	Until     time.Time    `json:"until,omitzero"`
	Task      *TaskCall    `json:"task,omitempty"`
	Map       *MapCall     `json:"map,omitempty"`
	Read      *ItemRead    `json:"read,omitempty"`
	Write     *ResultWrite `json:"write,omitempty"`
	Effective any          `json:"effective,omitempty"` // effective input (after InputPath)
}

// StepContext is what the caller supplies to every step.
type StepContext struct {
	// Now is the current time (a virtual clock in tests).
	Now time.Time
	// Context is the context object ($$ / $states.context): Execution,
	// StateMachine, ... The interpreter adds State (Name, EnteredTime,
	// RetryCount), Task.Token and Map.Item.
	Context map[string]any
	// TaskToken is the token of the task about to be scheduled, for
	// $$.Task.Token in .waitForTaskToken integrations.
	TaskToken string
	// MaxStates, when positive, bounds the states one step enters: after
	// that many, the step ends with KindYield before entering the next one,
	// and Advance continues from there. A durable engine commits each step,
	// so a long loop of Pass and Choice states never grows one step's
	// events and memory without bound. Zero keeps the default budget, past
	// which the frame fails as stuck in a loop.
	MaxStates int
	// Random returns a number in [0, 1) for FULL jitter. When nil, the
	// jitter is derived from a hash of the state and attempt, so steps stay
	// deterministic.
	Random func() float64

	// stopAtNext makes a step end before entering a second state
	// (TestState runs one state).
	stopAtNext *int
	// verbatimContext uses Context as given, without State (TestState
	// with a caller's context object).
	verbatimContext bool
}

// Kind is what an Outcome asks of the caller.
type Kind string

// Outcome kinds.
const (
	KindTask        Kind = "Task"        // run Outcome.Task, then CompleteTask or FailTask
	KindWait        Kind = "Wait"        // wait until Outcome.Until, then ResumeWait
	KindRetry       Kind = "Retry"       // wait Outcome.Delay, then Advance (the state runs again)
	KindParallel    Kind = "Parallel"    // run Outcome.Branches, then CompleteParallel or FailParallel
	KindItemRead    Kind = "ItemRead"    // read Outcome.Read, then CompleteItemRead or FailItemRead
	KindMap         Kind = "Map"         // run Outcome.Map's items, then CompleteMap or FailMap
	KindResultWrite Kind = "ResultWrite" // write Outcome.Write, then CompleteResultWrite or FailResultWrite
	KindSucceeded   Kind = "Succeeded"   // the frame ended with Outcome.Output
	KindFailed      Kind = "Failed"      // the frame ended with Outcome.Error and Outcome.Cause
	KindYield       Kind = "Yield"       // StepContext.MaxStates states ran; Advance again to go on
)

// Outcome is the result of a step.
type Outcome struct {
	Kind     Kind
	Task     *TaskCall
	Until    time.Time
	Delay    time.Duration
	Attempt  int // the retry attempt about to run (1 for the first retry)
	Branches []*Frame
	Read     *ItemRead
	Map      *MapCall
	Write    *ResultWrite
	Output   any
	// Error and Cause are the failure of a KindFailed frame, or the error
	// a KindRetry retries.
	Error string
	Cause string
	// Entered lists the states entered during the step, in order.
	Entered []EnteredState

	caught    bool       // a catcher handled an error during the step (TestState)
	caughtErr stateError // the error it handled
}

// kindNext ends a TestState step before the next state.
const kindNext Kind = "next"

// EnteredState records one state entered during a step.
type EnteredState struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Input any    `json:"input"`
	// Output is set when the state also exited during the step.
	Output any  `json:"output,omitempty"`
	Exited bool `json:"exited"`
	// Resumed marks a record that only carries the exit of a state
	// entered in an earlier step (a Task, Wait, Parallel or Map).
	Resumed bool `json:"resumed,omitempty"`
}

// TaskCall is a task the caller must run.
type TaskCall struct {
	State    string  `json:"state"`
	Resource string  `json:"resource"`
	Pattern  Pattern `json:"pattern"`
	// Input is the effective Parameters / Arguments.
	Input            any `json:"input"`
	TimeoutSeconds   int `json:"timeoutSeconds,omitempty"`
	HeartbeatSeconds int `json:"heartbeatSeconds,omitempty"`
	Credentials      any `json:"credentials,omitempty"`
	// TaskToken is the StepContext.TaskToken the state saw
	// ($$.Task.Token), for .waitForTaskToken integrations.
	TaskToken string `json:"taskToken,omitempty"`
}

// ItemRead asks the caller to fetch a Map's items from a bucket object.
type ItemRead struct {
	Resource string `json:"resource"`
	// Parameters are the evaluated ItemReader Parameters/Arguments
	// (Bucket, Key, ...).
	Parameters        any      `json:"parameters"`
	InputType         string   `json:"inputType"`
	CSVHeaderLocation string   `json:"csvHeaderLocation,omitempty"`
	CSVHeaders        []string `json:"csvHeaders,omitempty"`
	CSVDelimiter      string   `json:"csvDelimiter,omitempty"`
	MaxItems          int      `json:"maxItems,omitempty"`
}

// MapCall is a Map state's work: one child frame per item.
type MapCall struct {
	Items          []any `json:"items"`
	MaxConcurrency int   `json:"maxConcurrency"` // 0 = unbounded
	// ToleratedFailureCount and ToleratedFailurePercentage (distributed
	// Map); -1 and -1 when unset (no failure tolerated).
	ToleratedFailureCount      int     `json:"toleratedFailureCount"`
	ToleratedFailurePercentage float64 `json:"toleratedFailurePercentage"`
	Distributed                bool    `json:"distributed"`
	// ResultWriter is set when the Map writes its results to a bucket.
	ResultWriter *ResultWriterSpec `json:"resultWriter,omitempty"`
	// Total and RunARN are set by a caller that keeps a distributed
	// Map's items outside the frame (Items is then empty until it hands
	// them back to CompleteMap): the item count and the map run's ARN,
	// which the Map outputs as MapRunArn.
	Total  int    `json:"total,omitempty"`
	RunARN string `json:"runArn,omitempty"`
	// Batched is set when an ItemBatcher grouped the items: each of Items
	// is then {"Items": [...], "BatchInput": ...}.
	Batched bool `json:"batched,omitempty"`
}

// count is the number of items of the Map.
func (mc *MapCall) count() int {
	return max(len(mc.Items), mc.Total)
}

// ResultWriterSpec is a Map's evaluated ResultWriter.
type ResultWriterSpec struct {
	Resource     string `json:"resource"`
	Parameters   any    `json:"parameters"`
	WriterConfig any    `json:"writerConfig,omitempty"`
}

// Tolerates reports whether failed failures among total items stay within
// the tolerated failure threshold.
func (mc *MapCall) Tolerates(failed, total int) bool {
	if failed == 0 {
		return true
	}
	ok := false
	if mc.ToleratedFailureCount >= 0 && failed <= mc.ToleratedFailureCount {
		ok = true
	}
	if mc.ToleratedFailurePercentage >= 0 && total > 0 && float64(failed)*100/float64(total) <= mc.ToleratedFailurePercentage {
		ok = true
	}
	return ok
}

// stateError is an error raised while running a state.
type stateError struct {
	name, cause string
	// prefixed errors get Step Functions' "An error occurred while
	// executing the state ..." prefix.
	prefixed bool
}

func runtimeErr(format string, args ...any) *stateError {
	return &stateError{name: ErrRuntime, cause: fmt.Sprintf(format, args...), prefixed: true}
}

// NewFrame returns the frame of a new execution with input.
func (m *Machine) NewFrame(input any) *Frame {
	return &Frame{Graph: m.root.id, State: m.root.startAt, Input: input, EventID: 1}
}

// NewItemFrame returns the frame of Map iteration index over item, a
// child of parent (which must be waiting in its Map state).
func (m *Machine) NewItemFrame(parent *Frame, index int, item any) *Frame {
	s := m.current(parent)
	if s == nil || s.mapSpec == nil || s.mapSpec.processor == nil {
		return &Frame{Status: "FAILED", Error: ErrRuntime, Cause: "NewItemFrame: the parent frame is not in a Map state"}
	}
	g := s.mapSpec.processor
	// The iteration starts after MapIterationStarted in the history.
	f := &Frame{Graph: g.id, State: g.startAt, Input: item, EventID: parent.EventID + 1}
	if s.mapSpec.mode != "DISTRIBUTED" {
		f.Vars = copyVars(parent.Vars)
	}
	return f
}

func copyVars(v map[string]any) map[string]any {
	if len(v) == 0 {
		return nil
	}
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = x
	}
	return out
}

func (m *Machine) current(f *Frame) *state {
	g := m.graphs[f.Graph]
	if g == nil {
		return nil
	}
	return g.states[f.State]
}

// evalCtx is the environment of one state's evaluation.
type evalCtx struct {
	m       *Machine
	f       *Frame
	s       *state
	sc      *StepContext
	ctx     map[string]any
	env     expr.Env
	scratch expr.Env
}

func (m *Machine) newEval(f *Frame, s *state, sc *StepContext) *evalCtx {
	return m.resetEval(&evalCtx{}, f, s, sc)
}

// resetEval prepares e for state s. The context object is built only for
// states whose definition mentions it ($$ or $states).
func (m *Machine) resetEval(e *evalCtx, f *Frame, s *state, sc *StepContext) *evalCtx {
	*e = evalCtx{m: m, f: f, s: s, sc: sc}
	e.env = expr.Env{Input: f.Input, Vars: f.Vars}
	if !s.usesContext {
		return e
	}
	if sc.verbatimContext {
		e.ctx = sc.Context
		e.env.Context = sc.Context
		return e
	}
	ctx := make(map[string]any, len(sc.Context)+3)
	for k, v := range sc.Context {
		ctx[k] = v
	}
	st := map[string]any{
		"Name":        s.name,
		"EnteredTime": f.EnteredTime.UTC().Format("2006-01-02T15:04:05.000Z"),
	}
	if s.typ == TypeTask || s.typ == TypeParallel || s.typ == TypeMap {
		retries := 0
		for _, a := range f.Attempts {
			retries += a
		}
		st["RetryCount"] = expr.Int(int64(retries))
	}
	ctx["State"] = st
	if sc.TaskToken != "" && s.pattern == WaitForTaskToken {
		ctx["Task"] = map[string]any{"Token": sc.TaskToken}
	}
	e.ctx = ctx
	e.env.Context = ctx
	return e
}

// with returns an environment whose input ($ or $states.input) is in. It
// reuses one scratch environment: use it for one evaluation at a time.
func (e *evalCtx) with(in any) *expr.Env {
	e.scratch = e.env
	e.scratch.Input = in
	return &e.scratch
}

// jsonataEnv is the environment of JSONata fields; result and errorOutput
// are set when the state has them.
func (e *evalCtx) jsonataEnv(states map[string]any) *expr.Env {
	e.scratch = e.env
	e.scratch.Input = e.f.Input
	e.scratch.States = states
	return &e.scratch
}

func (e *evalCtx) evalTemplate(t evaluator, in any) (any, *stateError) {
	v, err := t.Eval(e.with(in))
	if err != nil {
		return nil, fromExprErr(err)
	}
	return v, nil
}

func (e *evalCtx) evalJSONata(t evaluator, states map[string]any) (any, *stateError) {
	v, err := t.Eval(e.jsonataEnv(states))
	if err != nil {
		return nil, fromExprErr(err)
	}
	return v, nil
}

// Advance runs the frame's in-memory states until an effect is needed or
// the frame ends.
func (m *Machine) Advance(f *Frame, sc StepContext) Outcome {
	var out Outcome
	m.run(f, &sc, &out)
	return out
}

// advanceBounded is Advance with a smaller step budget (fuzzing).
func (m *Machine) advanceBounded(f *Frame, sc StepContext, limit int) Outcome {
	var out Outcome
	m.runN(f, &sc, &out, limit)
	return out
}

// run is the interpreter loop.
func (m *Machine) run(f *Frame, sc *StepContext, out *Outcome) {
	m.runN(f, sc, out, maxStepsPerAdvance)
}

func (m *Machine) runN(f *Frame, sc *StepContext, out *Outcome, limit int) {
	var e evalCtx
	yield := sc.MaxStates > 0 && sc.MaxStates < limit
	if yield {
		limit = sc.MaxStates
	}
	for steps := 0; steps < limit; steps++ {
		if f.Status != "" {
			m.finish(f, out)
			return
		}
		if sc.stopAtNext != nil && f.Phase == "" {
			if *sc.stopAtNext > 0 {
				out.Kind = kindNext
				return
			}
			*sc.stopAtNext++
		}
		s := m.current(f)
		if s == nil {
			m.failFrame(f, &stateError{name: ErrRuntime, cause: fmt.Sprintf("frame points at unknown state %q in block %q", f.State, f.Graph)}, nil)
			continue
		}
		switch f.Phase {
		case "":
			f.EventID++
			f.StateEventID = f.EventID
			f.EnteredTime = sc.Now
			f.Attempts = nil
			out.Entered = append(out.Entered, EnteredState{Name: s.name, Type: s.typ, Input: f.Input})
		case "retry":
			f.Phase = ""
		default:
			out.Kind = ""
			m.pendingOutcome(f, s, out)
			return
		}
		if done := m.execute(m.resetEval(&e, f, s, sc), out); done {
			return
		}
	}
	if yield {
		if f.Status != "" {
			m.finish(f, out)
			return
		}
		out.Kind = KindYield
		return
	}
	m.failFrame(f, &stateError{name: ErrRuntime, cause: fmt.Sprintf("more than %d states ran without a Task or Wait; the execution is stuck in a loop", limit)}, nil)
	m.finish(f, out)
}

// pendingOutcome repeats the outcome of a frame already waiting.
func (m *Machine) pendingOutcome(f *Frame, s *state, out *Outcome) {
	p := f.Pending
	if p == nil {
		m.failFrame(f, &stateError{name: ErrRuntime, cause: fmt.Sprintf("frame in phase %q has nothing pending", f.Phase)}, nil)
		m.finish(f, out)
		return
	}
	switch f.Phase {
	case "task":
		out.Kind, out.Task = KindTask, p.Task
	case "wait":
		out.Kind, out.Until = KindWait, p.Until
	case "itemread":
		out.Kind, out.Read = KindItemRead, p.Read
	case "map":
		out.Kind, out.Map = KindMap, p.Map
	case "resultwrite":
		out.Kind, out.Write = KindResultWrite, p.Write
	case "parallel":
		out.Kind = KindParallel
		out.Branches = m.branchFrames(f, s, p.Effective)
	}
}

func (m *Machine) finish(f *Frame, out *Outcome) {
	if f.Status == "SUCCEEDED" {
		out.Kind, out.Output = KindSucceeded, f.Output
	} else {
		out.Kind, out.Error, out.Cause = KindFailed, f.Error, f.Cause
	}
}

// failFrame ends the frame with an error.
func (m *Machine) failFrame(f *Frame, err *stateError, s *state) {
	f.Status = "FAILED"
	f.Error = err.name
	f.Cause = err.cause
	if err.prefixed && s != nil {
		f.Cause = fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", s.name, f.StateEventID, err.cause)
	}
	f.Phase = "done"
	f.Pending = nil
}

// execute runs state s from its start. It returns true when the step must
// return to the caller (out is filled).
func (m *Machine) execute(e *evalCtx, out *Outcome) bool {
	switch e.s.typ {
	case TypePass:
		m.execPass(e, out)
	case TypeChoice:
		m.execChoice(e, out)
	case TypeSucceed:
		m.execSucceed(e, out)
	case TypeFail:
		m.execFail(e, out)
	case TypeWait:
		return m.execWait(e, out)
	case TypeTask:
		return m.execTask(e, out)
	case TypeParallel:
		return m.execParallel(e, out)
	case TypeMap:
		return m.execMap(e, out)
	}
	return false
}

// effectiveInput applies InputPath (JSONPath states).
func (e *evalCtx) effectiveInput() (any, *stateError) {
	if e.s.ql == JSONata || e.s.inputPath == nil {
		return e.f.Input, nil
	}
	return e.s.inputPath.eval(e.with(e.f.Input))
}

// transition moves the frame to the next state with output, applying the
// variable assignments, or ends it.
// bound is an upper bound of the output's JSON length, or -1 when
// unknown; the output is measured exactly only when the bound does not
// already prove it fits.
func (m *Machine) transition(e *evalCtx, next string, output any, assigns map[string]any, out *Outcome, bound int) *stateError {
	f, s := e.f, e.s
	if bound < 0 || bound > MaxPayloadBytes {
		bound = jsonSize(output, MaxPayloadBytes)
		if bound > MaxPayloadBytes {
			return &stateError{name: ErrDataLimitExceeded,
				cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.name)}
		}
	}
	if len(assigns) > 0 {
		vars := make(map[string]any, len(f.Vars)+len(assigns))
		for k, v := range f.Vars {
			vars[k] = v
		}
		for k, v := range assigns {
			vars[k] = v
		}
		f.Vars = vars
	}
	if n := len(out.Entered); n > 0 && out.Entered[n-1].Name == s.name && !out.Entered[n-1].Exited {
		out.Entered[n-1].Output = output
		out.Entered[n-1].Exited = true
	} else {
		out.Entered = append(out.Entered, EnteredState{Name: s.name, Type: s.typ, Output: output, Exited: true, Resumed: true})
	}
	f.EventID++ // StateExited
	f.Pending = nil
	f.Attempts = nil
	if next == "" {
		f.Status = "SUCCEEDED"
		f.Output = output
		f.Phase = "done"
		return nil
	}
	f.State = next
	f.Input = output
	f.InputSize = bound
	f.Phase = ""
	return nil
}

// evalAssign evaluates an Assign block. In JSONPath states "$" is in; in
// JSONata states the $states fields are states.
func (e *evalCtx) evalAssign(a *assignSpec, in any, states map[string]any) (map[string]any, *stateError) {
	if a == nil {
		return nil, nil
	}
	var v any
	var err *stateError
	if e.s.ql == JSONata {
		v, err = e.evalJSONata(a.t, states)
	} else {
		v, err = e.evalTemplate(a.t, in)
	}
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// finishJSONPath applies ResultPath and OutputPath to result, evaluates
// Assign (whose "$" is assignIn) and transitions.
// resultSize is the JSON length of result when the caller knows it, or -1.
func (m *Machine) finishJSONPath(e *evalCtx, result, assignIn any, resultSize int, rp *resultPathSpec, assign *assignSpec, next string, out *Outcome) *stateError {
	combined, err := applyResultPath(e.f.Input, rp, result)
	if err != nil {
		return err
	}
	output := combined
	if e.s.outputPath != nil {
		output, err = e.s.outputPath.eval(e.with(combined))
		if err != nil {
			return err
		}
	}
	assigns, err := e.evalAssign(assign, assignIn, nil)
	if err != nil {
		return err
	}
	// An upper bound of the output's size: the result, the input, or
	// both joined along the ResultPath. OutputPath only selects from it,
	// unless it reads the context object or a variable.
	if resultSize < 0 && (rp == nil || !rp.discard) {
		resultSize = jsonSize(result, MaxPayloadBytes)
	}
	var bound int
	switch {
	case rp == nil:
		bound = resultSize
	case rp.discard:
		bound = e.inputSize()
	default:
		bound = e.inputSize() + resultSize + 4*len(rp.src) + 8
	}
	if op := e.s.outputPath; op != nil && (op.null || op.p.Root() != expr.RootInput) {
		bound = -1
	}
	return m.transition(e, next, output, assigns, out, bound)
}

// effSize is the size bound of the effective input: the input's when
// there is no InputPath, else unknown (-1).
func (e *evalCtx) effSize() int {
	if e.s.inputPath == nil {
		return e.inputSize()
	}
	return -1
}

// inputSize returns an upper bound of the frame's input JSON length,
// measuring it once when unknown.
func (e *evalCtx) inputSize() int {
	if e.f.InputSize <= 0 {
		e.f.InputSize = jsonSize(e.f.Input, MaxPayloadBytes)
	}
	return e.f.InputSize
}

func applyResultPath(input any, rp *resultPathSpec, result any) (any, *stateError) {
	if rp == nil {
		return result, nil
	}
	if rp.discard {
		return input, nil
	}
	v, err := rp.ref.Set(input, result)
	if err != nil {
		return nil, fromExprErr(err)
	}
	return v, nil
}

// finishJSONata evaluates Output (default: defaultOut) and Assign, then
// transitions.
func (m *Machine) finishJSONata(e *evalCtx, output evaluator, assign *assignSpec, states map[string]any, defaultOut any, next string, out *Outcome) *stateError {
	result := defaultOut
	if output != nil {
		v, err := e.evalJSONata(output, states)
		if err != nil {
			return err
		}
		result = v
	}
	assigns, err := e.evalAssign(assign, nil, states)
	if err != nil {
		return err
	}
	return m.transition(e, next, result, assigns, out, -1)
}

func (m *Machine) execPass(e *evalCtx, out *Outcome) {
	s := e.s
	if s.ql == JSONata {
		if err := m.finishJSONata(e, s.output, s.assign, nil, e.f.Input, s.next, out); err != nil {
			m.failFrame(e.f, err, s)
		}
		return
	}
	eff, err := e.effectiveInput()
	if err != nil {
		m.failFrame(e.f, err, s)
		return
	}
	result := eff
	resultSize := -1
	if s.inputPath == nil {
		resultSize = e.inputSize()
	}
	switch {
	case s.resultTooLarge:
		m.failFrame(e.f, &stateError{name: ErrDataLimitExceeded,
			cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", s.name)}, s)
		return
	case s.hasResult:
		result, resultSize = s.result, s.resultSize
	case s.parameters != nil:
		result, resultSize = nil, -1
		result, err = e.evalTemplate(s.parameters, eff)
		if err != nil {
			m.failFrame(e.f, err, s)
			return
		}
	}
	if err := m.finishJSONPath(e, result, result, resultSize, s.resultPath, s.assign, s.next, out); err != nil {
		m.failFrame(e.f, err, s)
	}
}

func (m *Machine) execSucceed(e *evalCtx, out *Outcome) {
	s := e.s
	if s.ql == JSONata {
		if err := m.finishJSONata(e, s.output, nil, nil, e.f.Input, "", out); err != nil {
			m.failFrame(e.f, err, s)
		}
		return
	}
	eff, err := e.effectiveInput()
	if err != nil {
		m.failFrame(e.f, err, s)
		return
	}
	if err := m.finishJSONPath(e, eff, eff, e.effSize(), nil, nil, "", out); err != nil {
		m.failFrame(e.f, err, s)
	}
}

func (m *Machine) execFail(e *evalCtx, out *Outcome) {
	s := e.s
	fs := s.failSpec
	var name, cause string
	for i, vs := range []*valueSpec{fs.errorV, fs.causeV} {
		if vs == nil {
			continue
		}
		v, err := e.evalValue(vs, e.f.Input)
		if err != nil {
			m.failFrame(e.f, err, s)
			return
		}
		str, ok := v.(string)
		if !ok {
			if vs.isStr {
				str = vs.fixedStr
			} else {
				m.failFrame(e.f, runtimeErr("The %s field must resolve to a string, not %s: %s", vs.field, expr.TypeName(v), expr.MarshalString(v)), s)
				return
			}
		}
		if i == 0 {
			name = str
		} else {
			cause = str
		}
	}
	e.f.Status = "FAILED"
	e.f.Error, e.f.Cause = name, cause
	e.f.Phase = "done"
}

// evalValue evaluates a valueSpec against in ("$").
func (e *evalCtx) evalValue(vs *valueSpec, in any) (any, *stateError) {
	switch {
	case vs.jsonata != nil:
		return e.evalJSONata(vs.jsonata, nil)
	case vs.intrinsic != nil:
		return e.evalTemplate(vs.intrinsic, in)
	case vs.path != nil:
		return vs.path.eval(e.with(in))
	case vs.isStr:
		return vs.fixedStr, nil
	case vs.isFloat:
		return expr.Float(vs.fixedFloat), nil
	case vs.isTime:
		return vs.fixedTime.Format(time.RFC3339Nano), nil
	}
	return expr.Int(int64(vs.fixed)), nil
}

func (m *Machine) execChoice(e *evalCtx, out *Outcome) {
	s := e.s
	eff, err := e.effectiveInput()
	if err != nil {
		m.failFrame(e.f, err, s)
		return
	}
	next := ""
	var matched *choiceRule
	for _, r := range s.choices {
		var ok bool
		if s.ql == JSONata {
			ok, err = e.condition(r)
		} else {
			ok, err = r.eval(e.with(eff))
		}
		if err != nil {
			m.failFrame(e.f, err, s)
			return
		}
		if ok {
			matched, next = r, r.next
			break
		}
	}
	if matched == nil {
		if s.defaultNext == "" {
			m.failFrame(e.f, &stateError{name: ErrNoChoiceMatched, prefixed: true,
				cause: "No choice rule matched the input and the Choice state has no Default."}, s)
			return
		}
		next = s.defaultNext
	}
	assign, output := s.assign, s.output
	if matched != nil {
		if matched.assign != nil {
			assign = matched.assign
		}
		if matched.output != nil {
			output = matched.output
		}
	}
	if s.ql == JSONata {
		err = m.finishJSONata(e, output, assign, nil, e.f.Input, next, out)
	} else {
		err = m.finishJSONPath(e, eff, eff, e.effSize(), nil, assign, next, out)
	}
	if err != nil {
		m.failFrame(e.f, err, s)
	}
}

// condition evaluates a JSONata choice rule's Condition.
func (e *evalCtx) condition(r *choiceRule) (bool, *stateError) {
	v, err := e.evalJSONata(r.condition, nil)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, &stateError{name: ErrQueryEvaluationError, prefixed: true,
			cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Condition' returned an unexpected result type. Expected 'boolean', but was '%s' for value: %s", jsonataSource(r.condSrc), expr.TypeName(v), expr.MarshalString(v))}
	}
	return b, nil
}

func (m *Machine) execWait(e *evalCtx, out *Outcome) bool {
	s := e.s
	eff, err := e.effectiveInput()
	if err != nil {
		m.failFrame(e.f, err, s)
		return false
	}
	until, err := e.waitUntil(eff)
	if err != nil {
		m.failFrame(e.f, err, s)
		return false
	}
	if !until.After(e.sc.Now) {
		m.finishWait(e, eff, out)
		return false
	}
	e.f.Phase = "wait"
	e.f.Pending = &Pending{Until: until, Effective: eff}
	out.Kind, out.Until = KindWait, until
	return true
}

func (e *evalCtx) waitUntil(eff any) (time.Time, *stateError) {
	w := e.s.wait
	start := e.f.EnteredTime
	if w.seconds != nil {
		vs := w.seconds
		if vs.path == nil && vs.jsonata == nil {
			return start.Add(time.Duration(vs.fixed) * time.Second), nil
		}
		v, err := e.evalValue(vs, eff)
		if err != nil {
			if vs.path != nil && err.name == ErrRuntime {
				return time.Time{}, runtimeErr("The SecondsPath parameter does not reference an input value: %s", vs.path.src)
			}
			return time.Time{}, err
		}
		if !expr.IsNumber(v) {
			if vs.path != nil {
				return time.Time{}, runtimeErr("The SecondsPath parameter cannot be parsed as a long value: %s == %s", vs.path.src, expr.MarshalString(v))
			}
			return time.Time{}, &stateError{name: ErrQueryEvaluationError, prefixed: true,
				cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was '%s' for value: %s", jsonataSource(vs.src), expr.TypeName(v), expr.MarshalString(v))}
		}
		i, isInt := toInt(v)
		if !isInt {
			if vs.path != nil {
				return time.Time{}, runtimeErr("The SecondsPath parameter cannot be parsed as a long value: %s == %s", vs.path.src, expr.MarshalString(v))
			}
			return time.Time{}, &stateError{name: ErrQueryEvaluationError, prefixed: true,
				cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Seconds' returned an unexpected result type. Expected 'integer', but was 'number' for value: %s", jsonataSource(vs.src), expr.MarshalString(v))}
		}
		if i < 0 {
			if vs.path != nil {
				return time.Time{}, runtimeErr("The SecondsPath parameter references a negative value: %s == %d", vs.path.src, i)
			}
			return time.Time{}, &stateError{name: ErrQueryEvaluationError, prefixed: true,
				cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Seconds' returned a negative value: %d", jsonataSource(vs.src), i)}
		}
		return start.Add(time.Duration(i) * time.Second), nil
	}
	vs := w.timestamp
	if vs.isTime {
		return vs.fixedTime, nil
	}
	v, err := e.evalValue(vs, eff)
	if err != nil {
		if vs.path != nil && err.name == ErrRuntime {
			return time.Time{}, runtimeErr("The TimestampPath parameter does not reference an input value: %s", vs.path.src)
		}
		return time.Time{}, err
	}
	str, ok := v.(string)
	var t time.Time
	if ok {
		t, ok = parseTimestamp(str)
	}
	if !ok {
		if vs.path != nil {
			return time.Time{}, runtimeErr("The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: %s == %s", vs.path.src, expr.MarshalString(v))
		}
		return time.Time{}, &stateError{name: ErrQueryEvaluationError, prefixed: true,
			cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Timestamp' returned an unexpected result type. Expected 'timestamp', but was '%s' for value: %s", jsonataSource(vs.src), expr.TypeName(v), expr.MarshalString(v))}
	}
	return t, nil
}

func (m *Machine) finishWait(e *evalCtx, eff any, out *Outcome) {
	s := e.s
	var err *stateError
	if s.ql == JSONata {
		err = m.finishJSONata(e, s.output, s.assign, nil, e.f.Input, s.next, out)
	} else {
		err = m.finishJSONPath(e, eff, eff, e.effSize(), nil, s.assign, s.next, out)
	}
	if err != nil {
		m.failFrame(e.f, err, s)
	}
}

// ResumeWait continues a frame whose Wait has elapsed.
func (m *Machine) ResumeWait(f *Frame, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "wait" || s == nil || f.Pending == nil {
		return m.misuse(f, "ResumeWait", "wait", &out)
	}
	e := m.newEval(f, s, &sc)
	m.finishWait(e, f.Pending.Effective, &out)
	m.run(f, &sc, &out)
	return out
}

func (m *Machine) misuse(f *Frame, fn, phase string, out *Outcome) Outcome {
	m.failFrame(f, &stateError{name: ErrRuntime, cause: fmt.Sprintf("%s called on a frame in phase %q at state %q, want phase %q", fn, f.Phase, f.State, phase)}, nil)
	m.finish(f, out)
	return *out
}

// ---- Task ----

func (m *Machine) execTask(e *evalCtx, out *Outcome) bool {
	s := e.s
	call := &TaskCall{State: s.name, Resource: s.resource, Pattern: s.pattern}
	if s.pattern == WaitForTaskToken {
		call.TaskToken = e.sc.TaskToken
	}
	var eff any
	var err *stateError
	if s.ql == JSONata {
		eff = e.f.Input
		call.Input = eff
		if s.arguments != nil {
			call.Input, err = e.evalJSONata(s.arguments, nil)
		}
	} else {
		eff, err = e.effectiveInput()
		call.Input = eff
		if err == nil && s.parameters != nil {
			call.Input, err = e.evalTemplate(s.parameters, eff)
		}
	}
	if err == nil && s.credentials != nil {
		if s.ql == JSONata {
			call.Credentials, err = e.evalJSONata(s.credentials, nil)
		} else {
			call.Credentials, err = e.evalTemplate(s.credentials, eff)
		}
	}
	if err == nil {
		call.TimeoutSeconds, err = e.secondsValue(s.timeout, eff)
	}
	if err == nil {
		call.HeartbeatSeconds, err = e.secondsValue(s.heartbeat, eff)
	}
	if err != nil {
		return m.handleError(e, err, out)
	}
	e.f.EventID += 2 // TaskScheduled, TaskStarted
	e.f.Phase = "task"
	e.f.Pending = &Pending{Task: call, Effective: eff}
	out.Kind, out.Task = KindTask, call
	return true
}

func (e *evalCtx) secondsValue(vs *valueSpec, eff any) (int, *stateError) {
	if vs == nil {
		return 0, nil
	}
	if vs.path == nil && vs.jsonata == nil {
		return vs.fixed, nil
	}
	v, err := e.evalValue(vs, eff)
	if err != nil {
		return 0, err
	}
	i, ok := toInt(v)
	if !ok || i <= 0 {
		if vs.path != nil {
			return 0, runtimeErr("The %s field refers to value %s which is not a valid positive integer: %s", vs.field, expr.MarshalString(v), vs.path.src)
		}
		return 0, &stateError{name: ErrQueryEvaluationError, prefixed: true,
			cause: fmt.Sprintf("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected 'integer', but was '%s' for value: %s", jsonataSource(vs.src), vs.field, expr.TypeName(v), expr.MarshalString(v))}
	}
	return int(i), nil
}

// CompleteTask records the result of the frame's pending task and
// continues.
func (m *Machine) CompleteTask(f *Frame, result any, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "task" || s == nil || f.Pending == nil {
		return m.misuse(f, "CompleteTask", "task", &out)
	}
	f.EventID++ // TaskSucceeded
	e := m.newEval(f, s, &sc)
	if err := checkSize(result, taskLabel(s)); err != nil {
		m.handleError(e, err, &out)
		m.continueAfter(f, &sc, &out)
		return out
	}
	if err := m.completeResult(e, result, &out); err != nil {
		m.handleError(e, err, &out)
	}
	m.continueAfter(f, &sc, &out)
	return out
}

// continueAfter keeps running unless the step already produced an outcome.
func (m *Machine) continueAfter(f *Frame, sc *StepContext, out *Outcome) {
	if out.Kind != "" && out.Kind != KindSucceeded && out.Kind != KindFailed {
		return
	}
	out.Kind = ""
	m.run(f, sc, out)
}

// taskLabel names a task in a States.DataLimitExceeded cause as Step
// Functions does: the Lambda ARN, or the service of an integration.
func taskLabel(s *state) string {
	if rest, ok := strings.CutPrefix(s.resource, "arn:aws:states:::"); ok {
		if i := strings.IndexAny(rest, ":."); i >= 0 {
			return rest[:i]
		}
		return rest
	}
	if s.resource != "" {
		return s.resource
	}
	return s.name
}

func checkSize(v any, stateName string) *stateError {
	if jsonSizeExceeds(v, MaxPayloadBytes) {
		return &stateError{name: ErrDataLimitExceeded,
			cause: fmt.Sprintf("The state/task '%s' returned a result with a size exceeding the maximum number of bytes service limit.", stateName)}
	}
	return nil
}

// completeResult applies ResultSelector/ResultPath/OutputPath (JSONPath)
// or Output (JSONata) and Assign to a Task, Parallel or Map result.
func (m *Machine) completeResult(e *evalCtx, result any, out *Outcome) *stateError {
	s := e.s
	if s.ql == JSONata {
		states := map[string]any{"result": result}
		return m.finishJSONata(e, s.output, s.assign, states, result, s.next, out)
	}
	if s.resultSelector != nil {
		v, err := e.evalTemplate(s.resultSelector, result)
		if err != nil {
			return err
		}
		result = v
	}
	return m.finishJSONPath(e, result, result, -1, s.resultPath, s.assign, s.next, out)
}

// FailTask records the failure of the frame's pending task: a matching
// Retry yields KindRetry, a matching Catch continues at its Next, and
// otherwise the frame fails.
func (m *Machine) FailTask(f *Frame, errName, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "task" || s == nil {
		return m.misuse(f, "FailTask", "task", &out)
	}
	f.EventID++ // TaskFailed
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: errName, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// handleError applies Retry and Catch to an error raised in a Task,
// Parallel or Map state. It returns true when out holds a Retry.
func (m *Machine) handleError(e *evalCtx, serr *stateError, out *Outcome) bool {
	f, s := e.f, e.s
	name := serr.name
	if !isRuntimeFatal(name) {
		for i, r := range s.retry {
			if !matchesAny(r.errorEquals, name) {
				continue
			}
			if len(f.Attempts) < len(s.retry) {
				a := make([]int, len(s.retry))
				copy(a, f.Attempts)
				f.Attempts = a
			}
			if f.Attempts[i] >= r.maxAttempts {
				break
			}
			delay := retryDelay(r, f.Attempts[i], e.sc, s.name)
			f.Attempts[i]++
			f.Phase = "retry"
			f.Pending = nil
			out.Kind, out.Delay, out.Attempt = KindRetry, delay, f.Attempts[i]
			out.Error, out.Cause = name, serr.cause
			return true
		}
		for _, c := range s.catch {
			if !matchesAny(c.errorEquals, name) {
				continue
			}
			out.caught, out.caughtErr = true, stateError{name: name, cause: serr.cause}
			cause := serr.cause
			if serr.prefixed {
				cause = fmt.Sprintf("An error occurred while executing the state '%s' (entered at the event id #%d). %s", s.name, f.StateEventID, serr.cause)
			}
			errOut := map[string]any{"Error": name, "Cause": cause}
			var err *stateError
			if s.ql == JSONata {
				err = m.finishJSONata(e, c.output, c.assign, map[string]any{"errorOutput": errOut}, errOut, c.next, out)
			} else {
				rp := c.resultPath
				if rp == nil {
					rp = &resultPathSpec{src: "$"}
				}
				var combined any
				combined, err = applyCatchResultPath(f.Input, rp, errOut)
				if err == nil {
					var assigns map[string]any
					assigns, err = e.evalAssign(c.assign, errOut, nil)
					if err == nil {
						err = m.transition(e, c.next, combined, assigns, out, -1)
					}
				}
			}
			if err != nil {
				m.failFrame(f, err, s)
			}
			return false
		}
	}
	m.failFrame(f, serr, s)
	return false
}

func applyCatchResultPath(input any, rp *resultPathSpec, errOut any) (any, *stateError) {
	if rp.ref == nil && !rp.discard {
		return errOut, nil
	}
	return applyResultPath(input, rp, errOut)
}

func matchesAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if errorMatches(p, name) {
			return true
		}
	}
	return false
}

// retryDelay is the wait before retry attempt n+1 (n counts retries done).
func retryDelay(r retrier, n int, sc *StepContext, stateName string) time.Duration {
	secs := float64(r.intervalSeconds) * math.Pow(r.backoffRate, float64(n))
	if r.maxDelaySeconds > 0 && secs > float64(r.maxDelaySeconds) {
		secs = float64(r.maxDelaySeconds)
	}
	if r.jitterFull {
		var u float64
		if sc.Random != nil {
			u = sc.Random()
		} else {
			h := fnv.New64a()
			fmt.Fprintf(h, "%s/%d/%d", stateName, n, sc.Now.UnixNano())
			u = float64(h.Sum64()>>11) / float64(1<<53)
		}
		secs *= u
	}
	return time.Duration(secs * float64(time.Second))
}
