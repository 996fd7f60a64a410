package workflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
)

// defaultCompile parses definitions with package asl.
var defaultCompile compileFunc = compileASL

// DefinitionErrors returns the located problems of an invalid definition
// error from CreateStateMachine, or nil.
func DefinitionErrors(err error) asl.ValidationErrors {
	var ve asl.ValidationErrors
	if errors.As(err, &ve) {
		return ve
	}
	return nil
}

func compileASL(def []byte) (program, error) {
	m, err := asl.Parse(def, asl.ParseOptions{})
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "invalid state machine definition")
	}
	return &aslProgram{m: m}, nil
}

// aslProgram drives an asl.Machine over JSON-encoded frames.
type aslProgram struct{ m *asl.Machine }

func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeFrame(b []byte) (*asl.Frame, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var f asl.Frame
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("stored frame: %w", err)
	}
	return &f, nil
}

func encode(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		// The value model only holds JSON values; a failure here is a bug.
		panic(fmt.Sprintf("workflow: encoding a frame: %v", err))
	}
	return b
}

func (p *aslProgram) timeoutSeconds() int { return p.m.TimeoutSeconds }

func (p *aslProgram) newFrame(input json.RawMessage) (json.RawMessage, error) {
	v, err := decodeValue(input)
	if err != nil {
		return nil, err
	}
	return encode(p.m.NewFrame(v)), nil
}

func (p *aslProgram) aslContext(sc stepContext) asl.StepContext {
	x := sc.Execution
	var input any
	if len(x.Input) > 0 {
		input, _ = decodeValue(x.Input)
	}
	return asl.StepContext{
		Now:       sc.Now,
		TaskToken: sc.TaskToken,
		MaxStates: sc.MaxStates,
		Context: map[string]any{
			"Execution": map[string]any{
				"Id": x.ID, "Name": x.Name, "Input": input, "RoleArn": x.RoleArn,
				"StartTime":    x.StartTime.UTC().Format("2006-01-02T15:04:05.000Z"),
				"RedriveCount": json.Number(fmt.Sprint(x.RedriveCount)),
			},
			"StateMachine": map[string]any{"Id": x.StateMachineID, "Name": x.StateMachineName},
		},
	}
}

// step decodes frame, runs op on it and converts the outcome.
func (p *aslProgram) step(frame json.RawMessage, sc stepContext, op func(f *asl.Frame, asc asl.StepContext) asl.Outcome) (json.RawMessage, outcome, error) {
	f, err := decodeFrame(frame)
	if err != nil {
		return nil, outcome{}, err
	}
	asc := p.aslContext(sc)
	o := op(f, asc)
	var events []asl.EnteredState
	for o.Kind == asl.KindItemRead || o.Kind == asl.KindResultWrite {
		// A Map's items are read, and its results written, within the
		// step: the step's outcome is the Map's start or its end.
		events = append(events, o.Entered...)
		if o.Kind == asl.KindItemRead {
			o = sc.IO.readItems(p.m, f, o.Read, asc)
		} else {
			o = sc.IO.writeResults(p.m, f, o.Write, asc)
		}
	}
	o.Entered = append(events, o.Entered...)
	return encode(f), p.convert(f, o, sc), nil
}

func (p *aslProgram) convert(f *asl.Frame, o asl.Outcome, sc stepContext) outcome {
	out := outcome{stateName: f.State}
	for _, es := range o.Entered {
		if !es.Resumed {
			out.events = append(out.events, stateEvent{Type: es.Type + "StateEntered", Details: map[string]any{"name": es.Name, "input": string(encode(es.Input))}})
		}
		if es.Exited {
			out.events = append(out.events, stateEvent{Type: es.Type + "StateExited", Details: map[string]any{"name": es.Name, "output": string(encode(es.Output))}})
		}
	}
	switch o.Kind {
	case asl.KindTask:
		out.kind = outTask
		tc := o.Task
		res, pattern := tc.Resource, ""
		switch tc.Pattern {
		case asl.WaitForTaskToken:
			res, pattern = strings.TrimSuffix(res, ".waitForTaskToken"), "waitForTaskToken"
		case asl.Sync:
			res, pattern = strings.Replace(res, ".sync", "", 1), "sync"
		}
		attempt := 0
		for _, a := range f.Attempts {
			attempt += a
		}
		out.stateName = tc.State
		out.task = taskCall{Resource: res, Pattern: pattern, Input: encode(tc.Input), TimeoutSeconds: tc.TimeoutSeconds,
			HeartbeatSeconds: tc.HeartbeatSeconds, Attempt: attempt, Token: sc.TaskToken}
	case asl.KindWait:
		out.kind, out.until = outWait, o.Until
	case asl.KindRetry:
		out.kind, out.until, out.attempt = outRetry, sc.Now.Add(o.Delay), o.Attempt
		if o.Delay <= 0 {
			out.until = sc.Now
		}
	case asl.KindParallel:
		out.kind = outParallel
		for _, b := range o.Branches {
			out.branches = append(out.branches, encode(b))
		}
	case asl.KindMap:
		out.kind = outMap
		mc := o.Map
		out.mapItems, out.maxConcurrency, out.distributed = len(mc.Items), mc.MaxConcurrency, mc.Distributed
		if mc.Distributed && (out.maxConcurrency <= 0 || out.maxConcurrency > maxDistributedConcurrency) {
			out.maxConcurrency = maxDistributedConcurrency
		}
		out.toleratedCount, out.toleratedPercent = mc.ToleratedFailureCount, mc.ToleratedFailurePercentage
	case asl.KindSucceeded:
		out.kind, out.output = outSucceeded, encode(o.Output)
	case asl.KindFailed:
		out.kind, out.errName, out.cause = outFailed, o.Error, o.Cause
	case asl.KindYield:
		out.kind = outYield
	default:
		out.kind, out.errName, out.cause = outFailed, "States.Runtime", fmt.Sprintf("the interpreter asked for an unknown effect %q", o.Kind)
	}
	return out
}

func (p *aslProgram) advance(frame json.RawMessage, sc stepContext) (json.RawMessage, outcome, error) {
	return p.step(frame, sc, p.m.Advance)
}

func (p *aslProgram) completeTask(frame, result json.RawMessage, sc stepContext) (json.RawMessage, outcome, error) {
	v, err := decodeValue(result)
	if err != nil {
		return p.failTask(frame, "States.Runtime", "the task result is not valid JSON: "+err.Error(), sc)
	}
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome { return p.m.CompleteTask(f, v, asc) })
}

func (p *aslProgram) failTask(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error) {
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome { return p.m.FailTask(f, errName, cause, asc) })
}

func (p *aslProgram) resume(frame json.RawMessage, sc stepContext) (json.RawMessage, outcome, error) {
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome {
		if f.Phase == "wait" {
			return p.m.ResumeWait(f, asc)
		}
		return p.m.Advance(f, asc) // after a Retry delay the state runs again
	})
}

func decodeAll(outputs []json.RawMessage) ([]any, error) {
	vs := make([]any, len(outputs))
	for i, o := range outputs {
		if len(o) == 0 {
			continue
		}
		v, err := decodeValue(o)
		if err != nil {
			return nil, fmt.Errorf("output %d: %w", i, err)
		}
		vs[i] = v
	}
	return vs, nil
}

func (p *aslProgram) completeParallel(frame json.RawMessage, outputs []json.RawMessage, sc stepContext) (json.RawMessage, outcome, error) {
	vs, err := decodeAll(outputs)
	if err != nil {
		return nil, outcome{}, err
	}
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome { return p.m.CompleteParallel(f, vs, asc) })
}

func (p *aslProgram) failParallel(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error) {
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome { return p.m.FailParallel(f, errName, cause, asc) })
}

func (p *aslProgram) completeMap(frame json.RawMessage, items, results []json.RawMessage, failedAt []bool, failed int, sc stepContext) (json.RawMessage, outcome, error) {
	vs, err := decodeAll(results)
	if err != nil {
		return nil, outcome{}, err
	}
	var its []any
	if items != nil {
		if its, err = decodeAll(items); err != nil {
			return nil, outcome{}, fmt.Errorf("map items: %w", err)
		}
	}
	for i, v := range vs {
		if i < len(failedAt) && failedAt[i] {
			m, _ := v.(map[string]any)
			e, _ := m["Error"].(string)
			c, _ := m["Cause"].(string)
			vs[i] = asl.ItemFailure{Error: e, Cause: c}
		}
	}
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome {
		if its != nil && f.Pending != nil && f.Pending.Map != nil {
			f.Pending.Map.Items = its
		}
		return p.m.CompleteMap(f, vs, failed, asc)
	})
}

func (p *aslProgram) failMap(frame json.RawMessage, errName, cause string, sc stepContext) (json.RawMessage, outcome, error) {
	return p.step(frame, sc, func(f *asl.Frame, asc asl.StepContext) asl.Outcome { return p.m.FailMap(f, errName, cause, asc) })
}

func (p *aslProgram) newItemFrame(frame json.RawMessage, i int) (json.RawMessage, error) {
	f, err := decodeFrame(frame)
	if err != nil {
		return nil, err
	}
	if f.Pending == nil || f.Pending.Map == nil || i < 0 || i >= len(f.Pending.Map.Items) {
		return nil, fmt.Errorf("map item %d: the frame is not waiting in a Map state with that many items", i)
	}
	return encode(p.m.NewItemFrame(f, i, f.Pending.Map.Items[i])), nil
}

func (p *aslProgram) detachMapItems(frame json.RawMessage, runARN string) (detached, error) {
	f, err := decodeFrame(frame)
	if err != nil {
		return detached{}, err
	}
	if f.Pending == nil || f.Pending.Map == nil {
		return detached{}, fmt.Errorf("map run %s: the frame is not waiting in a Map state", runARN)
	}
	mc := f.Pending.Map
	d := detached{items: make([]json.RawMessage, len(mc.Items)), sizes: make([]int, len(mc.Items))}
	for i, it := range mc.Items {
		d.items[i], d.sizes[i] = encode(it), 1
		if batch, ok := it.(map[string]any); ok && mc.Batched {
			items, _ := batch["Items"].([]any)
			d.sizes[i] = len(items)
		}
	}
	d.template = encode(p.m.NewItemFrame(f, 0, nil))
	mc.Total, mc.RunARN, mc.Items = len(mc.Items), runARN, nil
	d.frame = encode(f)
	return d, nil
}

func (p *aslProgram) itemFrame(template, item json.RawMessage) (json.RawMessage, error) {
	f, err := decodeFrame(template)
	if err != nil {
		return nil, err
	}
	if f.Input, err = decodeValue(item); err != nil {
		return nil, fmt.Errorf("map item: %w", err)
	}
	return encode(f), nil
}
