package asl

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"
)

// TestStateRequest runs one state in isolation, as Step Functions'
// TestState API does.
type TestStateRequest struct {
	// Definition is one state (an object with "Type"), or a whole machine
	// with StateName naming the state to run.
	Definition []byte
	StateName  string
	Input      any
	// Context is the context object's base, to which the state's State
	// fields are added; ContextVerbatim uses it exactly as given.
	// Variables are the variables in scope.
	Context         map[string]any
	ContextVerbatim bool
	Variables       map[string]any
	// Mock stands in for the state's task (Task) or its children
	// (Parallel, Map): a result or an error.
	Mock *TestStateMock
	// RetrierRetryCount is how many retries the matching retrier has
	// already made.
	RetrierRetryCount int
	// MapIterationFailureCount is how many iterations of a mocked Map
	// failed; it counts against the Map's tolerated failure threshold.
	MapIterationFailureCount int
	// MapItemReaderData stands in for the object a Map's ItemReader reads.
	MapItemReaderData []byte
	// Now is the time the state is entered (default: the wall clock).
	Now time.Time
}

// TestStateMock is a mocked result or error.
type TestStateMock struct {
	Result    any
	HasResult bool
	Error     string
	Cause     string
}

// TestStateResult is what running one state produced.
type TestStateResult struct {
	// Status is SUCCEEDED, FAILED, CAUGHT_ERROR (a Catch took the error)
	// or RETRIABLE (a Retry would run the state again).
	Status string `json:"status"`
	Output any    `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
	Cause  string `json:"cause,omitempty"`
	// NextState is the state that would run next ("" at the end).
	NextState string `json:"nextState,omitempty"`
	// Inspection holds the state's input, its effective input
	// (afterInputPath, JSONPath) and the variables after the state.
	Inspection map[string]any `json:"inspectionData,omitempty"`
}

// singleStateName names a state given on its own.
const singleStateName = "StateName"

// TestState runs one state with mocked effects and reports how it ended.
// Waits end at once; Parallel and Map children without a mock run in
// memory under a virtual clock with opts (task handler, item reader).
func TestState(ctx context.Context, req TestStateRequest, opts RunOptions) (*TestStateResult, error) {
	v, err := decodeDefinition(req.Definition)
	if err != nil {
		return nil, err
	}
	def, ok := v.(map[string]any)
	if !ok {
		return nil, ValidationErrors{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}}
	}
	name := req.StateName
	popts := ParseOptions{}
	if _, single := def["Type"]; single {
		if name == "" {
			name = singleStateName
		}
		def = map[string]any{"StartAt": name, "States": map[string]any{name: def}}
		popts.singleState = true
	} else if name == "" {
		if s, ok := def["StartAt"].(string); ok {
			name = s
		}
	}
	m, err := ParseValue(def, popts)
	if err != nil {
		return nil, err
	}
	var g *graph
	for _, cand := range m.graphs {
		if _, ok := cand.states[name]; ok {
			g = cand
			break
		}
	}
	if g == nil {
		return nil, fmt.Errorf("asl: no state named %q in the definition", name)
	}
	now := req.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	input := req.Input
	if input == nil {
		input = map[string]any{}
	}
	f := &Frame{Graph: g.id, State: name, Input: input, Vars: copyVars(req.Variables), EventID: 1}
	s := g.states[name]
	entries := 0
	sc := StepContext{Now: now, Context: req.Context, TaskToken: "landfall-test-state-token", stopAtNext: &entries,
		verbatimContext: req.ContextVerbatim}
	res := &TestStateResult{Inspection: map[string]any{"input": input}}
	if s.ql == JSONPath {
		e := m.newEval(f, s, &sc)
		if eff, serr := e.effectiveInput(); serr == nil {
			res.Inspection["afterInputPath"] = eff
		}
	}
	errored := false
	out := m.Advance(f, sc)
	for {
		if out.caught {
			errored = true
			res.Error, res.Cause = out.caughtErr.name, stripStatePrefix(out.caughtErr.cause)
		}
		switch out.Kind {
		case kindNext:
			res.Status, res.Output, res.NextState = "SUCCEEDED", f.Input, f.State
			if errored {
				res.Status = "CAUGHT_ERROR"
			}
			return finishTestState(res, f), nil
		case KindSucceeded:
			res.Status, res.Output = "SUCCEEDED", out.Output
			if errored {
				res.Status = "CAUGHT_ERROR"
			}
			return finishTestState(res, f), nil
		case KindFailed:
			// TestState has no history, so causes carry no event id prefix.
			res.Status, res.Error, res.Cause = "FAILED", out.Error, stripStatePrefix(out.Cause)
			return finishTestState(res, f), nil
		case KindRetry:
			res.Status, res.Error, res.Cause = "RETRIABLE", out.Error, out.Cause
			return finishTestState(res, f), nil
		case KindWait:
			out = m.ResumeWait(f, sc)
		case KindTask:
			switch mock := req.Mock; {
			case mock == nil:
				return nil, fmt.Errorf("asl: state %q is a Task: TestState needs a mock result or error", name)
			case mock.HasResult:
				out = m.CompleteTask(f, mock.Result, sc)
			default:
				errored = true
				if req.RetrierRetryCount > 0 {
					f.Attempts = make([]int, len(s.retry))
					for i := range f.Attempts {
						f.Attempts[i] = req.RetrierRetryCount
					}
				}
				out = m.FailTask(f, mock.Error, mock.Cause, sc)
			}
		case KindParallel, KindMap:
			out, err = testChildren(ctx, m, f, out, req, sc, opts)
			if err != nil {
				return nil, err
			}
			if req.Mock != nil && !req.Mock.HasResult {
				errored = true
			}
		case KindItemRead:
			if req.Mock != nil && !req.Mock.HasResult {
				errored = true
				out = m.failPending(f, req.Mock.Error, req.Mock.Cause, sc)
				continue
			}
			if req.MapItemReaderData != nil {
				out = m.CompleteItemRead(f, bytes.NewReader(req.MapItemReaderData), sc)
				continue
			}
			if opts.ItemReader == nil {
				out = m.FailItemRead(f, "TestState has no item reader for "+out.Read.Resource, sc)
				continue
			}
			rc, err := opts.ItemReader.OpenItems(ctx, out.Read)
			if err != nil {
				out = m.FailItemRead(f, err.Error(), sc)
				continue
			}
			out = m.CompleteItemRead(f, rc, sc)
			rc.Close()
		case KindResultWrite:
			out = m.FailResultWrite(f, "TestState does not write Map results", sc)
		default:
			return nil, fmt.Errorf("asl: unexpected outcome %q", out.Kind)
		}
	}
}

// testChildren completes a Parallel or Map from the mock, or by running
// its children in memory.
func testChildren(ctx context.Context, m *Machine, f *Frame, out Outcome, req TestStateRequest, sc StepContext, opts RunOptions) (Outcome, error) {
	if mock := req.Mock; mock != nil {
		if !mock.HasResult {
			if out.Kind == KindParallel {
				return m.FailParallel(f, mock.Error, mock.Cause, sc), nil
			}
			return m.FailMap(f, mock.Error, mock.Cause, sc), nil
		}
		results, ok := mock.Result.([]any)
		if !ok {
			return Outcome{}, fmt.Errorf("asl: the mock result of a %s state must be an array", out.Kind)
		}
		if out.Kind == KindParallel {
			return m.CompleteParallel(f, results, sc), nil
		}
		failed := 0
		if mc := out.Map; mc.ToleratedFailureCount >= 0 || mc.ToleratedFailurePercentage >= 0 {
			failed = req.MapIterationFailureCount
		}
		return m.CompleteMap(f, results, failed, sc), nil
	}
	if opts.Clock == nil {
		opts.Clock = NewVirtualClock(sc.Now)
	}
	r := &runner{m: m, opts: opts, ctxObj: sc.Context}
	if out.Kind == KindParallel {
		outputs, failure, err := r.children(ctx, out.Branches, 0, opts.Clock, func(i int) string { return fmt.Sprintf("%s[%d]", f.State, i) })
		if err != nil {
			return Outcome{}, err
		}
		if failure != nil {
			return m.FailParallel(f, failure.Error, failure.Cause, sc), nil
		}
		return m.CompleteParallel(f, outputs, sc), nil
	}
	mc := out.Map
	frames := make([]*Frame, len(mc.Items))
	for i, item := range mc.Items {
		frames[i] = m.NewItemFrame(f, i, item)
	}
	results, failure, failed, err := r.mapChildren(ctx, frames, mc.MaxConcurrency, mc.Distributed, opts.Clock, func(i int) string { return fmt.Sprintf("%s[%d]", f.State, i) })
	if err != nil {
		return Outcome{}, err
	}
	if failure != nil && !mc.Distributed {
		return m.FailMap(f, failure.Error, failure.Cause, sc), nil
	}
	return m.CompleteMap(f, results, failed, sc), nil
}

// stripStatePrefix removes "An error occurred while executing the state
// 'X' (entered at the event id #N). " from a cause.
func stripStatePrefix(cause string) string {
	const head = "An error occurred while executing the state '"
	if !strings.HasPrefix(cause, head) {
		return cause
	}
	if i := strings.Index(cause, "). "); i >= 0 {
		return cause[i+3:]
	}
	return cause
}

func finishTestState(res *TestStateResult, f *Frame) *TestStateResult {
	if len(f.Vars) > 0 {
		res.Inspection["variables"] = f.Vars
	}
	return res
}
