package asl

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/landfall/landfall/asl/expr"
)

// ---- Parallel ----

func (m *Machine) execParallel(e *evalCtx, out *Outcome) bool {
	s := e.s
	in, err := e.stateArguments()
	if err != nil {
		return m.handleError(e, err, out)
	}
	e.f.EventID++ // ParallelStateStarted
	e.f.Phase = "parallel"
	e.f.Pending = &Pending{Effective: in}
	out.Kind = KindParallel
	out.Branches = m.branchFrames(e.f, s, in)
	return true
}

// stateArguments computes the effective input a Parallel or Map state
// hands on: InputPath then Parameters (JSONPath) or Arguments (JSONata).
func (e *evalCtx) stateArguments() (any, *stateError) {
	s := e.s
	if s.ql == JSONata {
		if s.arguments != nil {
			return e.evalJSONata(s.arguments, nil)
		}
		return e.f.Input, nil
	}
	eff, err := e.effectiveInput()
	if err != nil {
		return nil, err
	}
	if s.parameters != nil {
		return e.evalTemplate(s.parameters, eff)
	}
	return eff, nil
}

func (m *Machine) branchFrames(f *Frame, s *state, in any) []*Frame {
	frames := make([]*Frame, len(s.branches))
	for i, g := range s.branches {
		frames[i] = &Frame{Graph: g.id, State: g.startAt, Input: in, Vars: copyVars(f.Vars), EventID: f.EventID}
	}
	return frames
}

// CompleteParallel records the outputs of every branch, in branch order,
// and continues.
func (m *Machine) CompleteParallel(f *Frame, outputs []any, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "parallel" || s == nil {
		return m.misuse(f, "CompleteParallel", "parallel", &out)
	}
	f.EventID++ // ParallelStateSucceeded
	e := m.newEval(f, s, &sc)
	result := make([]any, len(outputs))
	copy(result, outputs)
	if err := m.completeResult(e, result, &out); err != nil {
		m.handleError(e, err, &out)
	}
	m.continueAfter(f, &sc, &out)
	return out
}

// FailParallel records that a branch failed with errName and cause; Retry
// and Catch of the Parallel state apply.
func (m *Machine) FailParallel(f *Frame, errName, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "parallel" || s == nil {
		return m.misuse(f, "FailParallel", "parallel", &out)
	}
	f.EventID++ // ParallelStateFailed
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: errName, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// ---- Map ----

func (m *Machine) execMap(e *evalCtx, out *Outcome) bool {
	s := e.s
	ms := s.mapSpec
	var eff any
	var err *stateError
	if s.ql == JSONata {
		eff = e.f.Input
	} else {
		eff, err = e.effectiveInput()
		if err != nil {
			return m.handleError(e, err, out)
		}
	}
	mc, err := e.mapSettings(eff)
	if err != nil {
		return m.handleError(e, err, out)
	}
	if ms.reader != nil {
		read, err := e.itemRead(eff)
		if err != nil {
			return m.handleError(e, err, out)
		}
		e.f.Phase = "itemread"
		e.f.Pending = &Pending{Read: read, Map: mc, Effective: eff}
		out.Kind, out.Read = KindItemRead, read
		return true
	}
	var items any
	switch {
	case s.ql == JSONata && ms.items != nil:
		items, err = e.evalJSONata(ms.items, nil)
		if err != nil {
			return m.handleError(e, err, out)
		}
		if _, ok := items.([]any); !ok {
			return m.handleError(e, &stateError{name: ErrQueryEvaluationError, prefixed: true,
				cause: fmt.Sprintf("The JSONata expression '%s' specified for the field 'Items' returned an unexpected result type. Expected 'array', but was '%s' for value: %s", jsonataSource(ms.itemsSrc), expr.TypeName(items), expr.MarshalString(items))}, out)
		}
	case ms.itemsPath != nil:
		items, err = ms.itemsPath.eval(e.with(eff))
		if err != nil {
			return m.handleError(e, err, out)
		}
	default:
		items = eff
	}
	arr, ok := items.([]any)
	if !ok {
		if s.ql == JSONata {
			return m.handleError(e, &stateError{name: ErrQueryEvaluationError, prefixed: true,
				cause: "Map state input must be an array but was: " + expr.MarshalString(items)}, out)
		}
		src := "$"
		if ms.itemsPath != nil {
			// Step Functions names a context path with one "$" here.
			src = strings.Replace(ms.itemsPath.src, "$$", "$", 1)
		}
		return m.handleError(e, &stateError{name: ErrRuntime, prefixed: true,
			cause: fmt.Sprintf("Reference path \"%s\" must point to array.", src)}, out)
	}
	return m.startMap(e, eff, arr, mc, out)
}

// mapSettings evaluates MaxConcurrency and the tolerated failure settings.
func (e *evalCtx) mapSettings(eff any) (*MapCall, *stateError) {
	ms := e.s.mapSpec
	mc := &MapCall{ToleratedFailureCount: -1, ToleratedFailurePercentage: -1, Distributed: ms.mode == "DISTRIBUTED"}
	if vs := ms.maxConcurrency; vs != nil {
		v, err := e.mapInt(vs, eff)
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, runtimeErr("MaxConcurrency cannot be negative.")
		}
		mc.MaxConcurrency = v
	}
	if vs := ms.toleratedCount; vs != nil {
		v, err := e.mapInt(vs, eff)
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, runtimeErr("ToleratedFailureCount cannot be negative.")
		}
		mc.ToleratedFailureCount = v
	}
	if vs := ms.toleratedPercent; vs != nil {
		v, err := e.evalValue(vs, eff)
		if err != nil {
			return nil, err
		}
		f, ok := toFloat(v)
		if str, isStr := v.(string); isStr && vs.path != nil {
			n, err := strconv.ParseFloat(strings.TrimSpace(str), 64)
			f, ok = n, err == nil
		}
		if !ok {
			if vs.path != nil {
				return nil, runtimeErr("The %s field refers to value \"%s\" which is not a valid float: %s", vs.field, valueText(v), vs.path.src)
			}
			return nil, jsonataTypeErr(vs, "number", v)
		}
		if f < 0 || f > 100 {
			return nil, runtimeErr("ToleratedFailurePercentage must be between 0 and 100.")
		}
		mc.ToleratedFailurePercentage = f
	}
	if w := ms.writer; w != nil {
		var params any
		if w.params != nil {
			var err *stateError
			if e.s.ql == JSONata {
				params, err = e.evalJSONata(w.params, nil)
			} else {
				params, err = e.evalTemplate(w.params, eff)
			}
			if err != nil {
				return nil, err
			}
		}
		mc.ResultWriter = &ResultWriterSpec{Resource: w.resource, Parameters: params, WriterConfig: w.config}
	}
	return mc, nil
}

// valueText prints a value the way Step Functions quotes it in causes
// about non-integer settings: strings bare, everything else as JSON.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return expr.MarshalString(v)
}

func jsonataTypeErr(vs *valueSpec, want string, v any) *stateError {
	return &stateError{name: ErrQueryEvaluationError, prefixed: true,
		cause: fmt.Sprintf("The JSONata expression '%s' specified for the field '%s' returned an unexpected result type. Expected '%s', but was '%s' for value: %s", jsonataSource(vs.src), vs.field, want, expr.TypeName(v), expr.MarshalString(v))}
}

func (e *evalCtx) mapInt(vs *valueSpec, eff any) (int, *stateError) {
	if vs.path == nil && vs.jsonata == nil {
		return vs.fixed, nil
	}
	v, err := e.evalValue(vs, eff)
	if err != nil {
		return 0, err
	}
	i, ok := toInt(v)
	if str, isStr := v.(string); isStr && vs.path != nil {
		// Step Functions reads a numeric string through a Path.
		n, err := strconv.ParseInt(strings.TrimSpace(str), 10, 64)
		i, ok = n, err == nil
	}
	if !ok || i > math.MaxInt32 {
		if vs.path != nil {
			return 0, runtimeErr("The %s field refers to value \"%s\" which is not a valid integer: %s", vs.field, valueText(v), vs.path.src)
		}
		return 0, jsonataTypeErr(vs, "integer", v)
	}
	return int(i), nil
}

func (e *evalCtx) itemRead(eff any) (*ItemRead, *stateError) {
	r := e.s.mapSpec.reader
	read := &ItemRead{Resource: r.resource, InputType: r.inputType, CSVHeaderLocation: r.csvHeaderLocation, CSVHeaders: r.csvHeaders}
	if read.InputType == "" {
		read.InputType = "JSON"
	}
	if r.csvDelimiter != 0 {
		read.CSVDelimiter = string(r.csvDelimiter)
	}
	if r.params != nil {
		var err *stateError
		if e.s.ql == JSONata {
			read.Parameters, err = e.evalJSONata(r.params, nil)
		} else {
			read.Parameters, err = e.evalTemplate(r.params, eff)
		}
		if err != nil {
			return nil, err
		}
	}
	if r.maxItems != nil {
		v, err := e.mapInt(r.maxItems, eff)
		if err != nil {
			return nil, err
		}
		if v < 0 {
			return nil, &stateError{name: ErrItemReaderFailed, cause: "field MaxItems must be positive"}
		}
		read.MaxItems = v
	}
	return read, nil
}

// CompleteItemRead parses the object the ItemReader named (JSON, JSONL or
// CSV, read from r) and continues with the Map's items.
func (m *Machine) CompleteItemRead(f *Frame, r io.Reader, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "itemread" || s == nil || f.Pending == nil || f.Pending.Read == nil {
		return m.misuse(f, "CompleteItemRead", "itemread", &out)
	}
	e := m.newEval(f, s, &sc)
	items, err := ReadItems(f.Pending.Read, r)
	if err != nil {
		m.handleError(e, &stateError{name: ErrItemReaderFailed, cause: err.Error()}, &out)
		m.continueAfter(f, &sc, &out)
		return out
	}
	p := f.Pending
	f.Phase = ""
	if m.startMap(e, p.Effective, items, p.Map, &out) {
		return out
	}
	m.continueAfter(f, &sc, &out)
	return out
}

// failPending fails whatever the frame waits for with errName; Retry and
// Catch apply (TestState's mocked errors).
func (m *Machine) failPending(f *Frame, errName, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if s == nil || f.Phase == "" || f.Phase == "done" {
		return m.misuse(f, "failPending", "a waiting phase", &out)
	}
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: errName, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// FailItemRead records that the caller could not read the ItemReader's
// object; the Map fails with States.ItemReaderFailed unless caught.
func (m *Machine) FailItemRead(f *Frame, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "itemread" || s == nil {
		return m.misuse(f, "FailItemRead", "itemread", &out)
	}
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: ErrItemReaderFailed, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// startMap applies ItemSelector and ItemBatcher and asks the caller to run
// the items.
func (m *Machine) startMap(e *evalCtx, eff any, items []any, mc *MapCall, out *Outcome) bool {
	ms := e.s.mapSpec
	sel := make([]any, len(items))
	for i, item := range items {
		if ms.itemSelector == nil {
			sel[i] = item
			continue
		}
		ctx := make(map[string]any, len(e.ctx)+1)
		for k, v := range e.ctx {
			ctx[k] = v
		}
		ctx["Map"] = map[string]any{"Item": map[string]any{"Index": expr.Int(int64(i)), "Value": item}}
		env := e.env
		env.Context = ctx
		env.Input = eff
		if e.s.ql == JSONata {
			env.Input = e.f.Input
		}
		v, err := ms.itemSelector.Eval(&env)
		if err != nil {
			return m.handleError(e, fromExprErr(err), out)
		}
		sel[i] = v
	}
	if ms.batcher != nil {
		batched, err := e.batch(eff, sel)
		if err != nil {
			return m.handleError(e, err, out)
		}
		sel = batched
		mc.Batched = true
	}
	mc.Items = sel
	e.f.EventID++ // MapStateStarted
	e.f.Phase = "map"
	e.f.Pending = &Pending{Map: mc, Effective: eff}
	out.Kind, out.Map = KindMap, mc
	return true
}

// batch groups items as ItemBatcher says: {"Items": [...], "BatchInput": ...}.
func (e *evalCtx) batch(eff any, items []any) ([]any, *stateError) {
	b := e.s.mapSpec.batcher
	maxItems, maxBytes := 0, 0
	if b.maxItems != nil {
		v, err := e.mapInt(b.maxItems, eff)
		if err != nil {
			return nil, err
		}
		maxItems = v
	}
	if b.maxBytes != nil {
		v, err := e.mapInt(b.maxBytes, eff)
		if err != nil {
			return nil, err
		}
		maxBytes = v
	}
	var batchInput any
	if b.batchInput != nil {
		var err *stateError
		if e.s.ql == JSONata {
			batchInput, err = e.evalJSONata(b.batchInput, nil)
		} else {
			batchInput, err = e.evalTemplate(b.batchInput, eff)
		}
		if err != nil {
			return nil, err
		}
	}
	var out []any
	var cur []any
	size := 0
	flush := func() {
		if len(cur) == 0 {
			return
		}
		bm := map[string]any{"Items": cur}
		if batchInput != nil {
			bm["BatchInput"] = batchInput
		}
		out = append(out, bm)
		cur, size = nil, 0
	}
	for _, it := range items {
		n := len(expr.MarshalString(it))
		if len(cur) > 0 && ((maxItems > 0 && len(cur) >= maxItems) || (maxBytes > 0 && size+n > maxBytes)) {
			flush()
		}
		cur = append(cur, it)
		size += n
	}
	flush()
	if out == nil {
		out = []any{}
	}
	return out, nil
}

// ItemFailure stands for a failed iteration in the results given to
// CompleteMap (distributed Maps with a tolerated failure threshold).
type ItemFailure struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// ResultWrite asks the caller to write a distributed Map's results to a
// bucket (ResultWriter), then call CompleteResultWrite with the details
// of what was written (Bucket and Key of the manifest) or
// FailResultWrite.
type ResultWrite struct {
	Resource string `json:"resource"`
	// Parameters are the evaluated ResultWriter Parameters/Arguments
	// (Bucket, Prefix).
	Parameters   any `json:"parameters"`
	WriterConfig any `json:"writerConfig,omitempty"`
	// MapRunID names this Map run (unique within the execution).
	MapRunID string `json:"mapRunId"`
	// Succeeded and Failed are one record per iteration:
	// {"Index", "Input", "Output", "Status": "SUCCEEDED"} or
	// {"Index", "Input", "Error", "Cause", "Status": "FAILED"}.
	Succeeded []any `json:"succeeded"`
	Failed    []any `json:"failed"`
}

// CompleteMap records the results of every iteration (in item order) and
// how many failed; a failed iteration's result may be an ItemFailure.
// Past the tolerated failure threshold the Map fails with
// States.ExceedToleratedFailureThreshold. With a ResultWriter the outcome
// is KindResultWrite.
func (m *Machine) CompleteMap(f *Frame, results []any, failed int, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "map" || s == nil || f.Pending == nil || f.Pending.Map == nil {
		return m.misuse(f, "CompleteMap", "map", &out)
	}
	e := m.newEval(f, s, &sc)
	if !f.Pending.Map.Tolerates(failed, f.Pending.Map.count()) {
		f.EventID++ // MapStateFailed
		m.handleError(e, &stateError{name: ErrExceedToleratedFailureThreshold,
			cause: "The specified tolerated failure threshold was exceeded"}, &out)
		m.continueAfter(f, &sc, &out)
		return out
	}
	result := make([]any, len(results))
	var write *ResultWrite
	if f.Pending.Map.ResultWriter != nil {
		rw := f.Pending.Map.ResultWriter
		id := fmt.Sprintf("%s-%d", s.name, f.StateEventID)
		if arn := f.Pending.Map.RunARN; arn != "" {
			id = arn[strings.LastIndexByte(arn, ':')+1:]
		}
		write = &ResultWrite{Resource: rw.Resource, Parameters: rw.Parameters, WriterConfig: rw.WriterConfig,
			MapRunID: id, Succeeded: []any{}, Failed: []any{}}
	}
	for i, r := range results {
		var input any
		if i < len(f.Pending.Map.Items) {
			input = f.Pending.Map.Items[i]
		}
		switch fail := r.(type) {
		case ItemFailure:
			result[i] = map[string]any{"Error": fail.Error, "Cause": fail.Cause}
			if write != nil {
				write.Failed = append(write.Failed, map[string]any{"Index": expr.Int(int64(i)), "Input": input,
					"Error": fail.Error, "Cause": fail.Cause, "Status": "FAILED"})
			}
		case *ItemFailure:
			result[i] = map[string]any{"Error": fail.Error, "Cause": fail.Cause}
			if write != nil {
				write.Failed = append(write.Failed, map[string]any{"Index": expr.Int(int64(i)), "Input": input,
					"Error": fail.Error, "Cause": fail.Cause, "Status": "FAILED"})
			}
		default:
			result[i] = r
			if write != nil {
				write.Succeeded = append(write.Succeeded, map[string]any{"Index": expr.Int(int64(i)), "Input": input,
					"Output": r, "Status": "SUCCEEDED"})
			}
		}
	}
	if write != nil {
		f.Phase = "resultwrite"
		f.Pending.Write = write
		out.Kind, out.Write = KindResultWrite, write
		return out
	}
	f.EventID++ // MapStateSucceeded
	if err := m.completeResult(e, result, &out); err != nil {
		m.handleError(e, err, &out)
	}
	m.continueAfter(f, &sc, &out)
	return out
}

// CompleteResultWrite records that the Map's results were written;
// details (typically the manifest's Bucket and Key) become the Map's
// ResultWriterDetails.
func (m *Machine) CompleteResultWrite(f *Frame, details any, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "resultwrite" || s == nil || f.Pending == nil || f.Pending.Write == nil {
		return m.misuse(f, "CompleteResultWrite", "resultwrite", &out)
	}
	f.EventID++ // MapStateSucceeded
	e := m.newEval(f, s, &sc)
	arn := "arn:aws:states:local:000000000000:mapRun:" + f.Pending.Write.MapRunID
	if ex, ok := sc.Context["Execution"].(map[string]any); ok {
		if id, ok := ex["Id"].(string); ok && id != "" {
			arn = id + "/mapRun/" + f.Pending.Write.MapRunID
		}
	}
	if f.Pending.Map != nil && f.Pending.Map.RunARN != "" {
		arn = f.Pending.Map.RunARN
	}
	result := map[string]any{"MapRunArn": arn, "ResultWriterDetails": details}
	if err := m.completeResult(e, result, &out); err != nil {
		m.handleError(e, err, &out)
	}
	m.continueAfter(f, &sc, &out)
	return out
}

// FailResultWrite records that the results could not be written: the Map
// fails with States.ResultWriterFailed unless caught.
func (m *Machine) FailResultWrite(f *Frame, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "resultwrite" || s == nil {
		return m.misuse(f, "FailResultWrite", "resultwrite", &out)
	}
	f.EventID++ // MapStateFailed
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: ErrResultWriterFailed, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// FailMap records that an iteration failed with errName and cause; Retry
// and Catch of the Map state apply.
func (m *Machine) FailMap(f *Frame, errName, cause string, sc StepContext) Outcome {
	var out Outcome
	s := m.current(f)
	if f.Phase != "map" || s == nil {
		return m.misuse(f, "FailMap", "map", &out)
	}
	f.EventID++ // MapStateFailed
	e := m.newEval(f, s, &sc)
	m.handleError(e, &stateError{name: errName, cause: cause}, &out)
	m.continueAfter(f, &sc, &out)
	return out
}

// ResultFile is one object a ResultWriter stores.
type ResultFile struct {
	Key  string
	Body []byte
}

// Files lays out the objects of a result write as Step Functions does:
// PREFIX/MAP_RUN_ID/SUCCEEDED_0.json and FAILED_0.json (JSON arrays of
// records) and PREFIX/MAP_RUN_ID/manifest.json listing them. It returns the
// bucket, the files (manifest last) and the details the Map outputs:
// {"Bucket": bucket, "Key": manifest key}.
func (w *ResultWrite) Files() (bucket string, files []ResultFile, details any, err error) {
	p, _ := w.Parameters.(map[string]any)
	bucket, _ = p["Bucket"].(string)
	if bucket == "" {
		return "", nil, nil, fmt.Errorf("the ResultWriter needs a Bucket parameter, got %s", expr.MarshalString(w.Parameters))
	}
	prefix, _ := p["Prefix"].(string)
	base := w.MapRunID
	if prefix != "" {
		base = strings.TrimSuffix(prefix, "/") + "/" + base
	}
	cfg, _ := w.WriterConfig.(map[string]any)
	transformation, _ := cfg["Transformation"].(string)
	jsonl := cfg["OutputType"] == "JSONL"
	succeeded := w.Succeeded
	switch transformation {
	case "COMPACT", "FLATTEN":
		// Only the iterations' outputs; FLATTEN spreads array outputs.
		succeeded = nil
		for _, r := range w.Succeeded {
			out := r.(map[string]any)["Output"]
			if arr, ok := out.([]any); ok && transformation == "FLATTEN" {
				succeeded = append(succeeded, arr...)
			} else {
				succeeded = append(succeeded, out)
			}
		}
	}
	ext := ".json"
	if jsonl {
		ext = ".jsonl"
	}
	result := map[string]any{}
	for _, set := range []struct {
		name    string
		records []any
	}{{"SUCCEEDED", succeeded}, {"FAILED", w.Failed}} {
		if len(set.records) == 0 {
			result[set.name] = []any{}
			continue
		}
		var body []byte
		if jsonl {
			for _, rec := range set.records {
				line, err := expr.Marshal(rec)
				if err != nil {
					return "", nil, nil, err
				}
				body = append(append(body, line...), '\n')
			}
		} else {
			var err error
			if body, err = expr.Marshal(set.records); err != nil {
				return "", nil, nil, err
			}
		}
		key := base + "/" + set.name + "_0" + ext
		files = append(files, ResultFile{Key: key, Body: body})
		result[set.name] = []any{map[string]any{"Key": key, "Size": expr.Int(int64(len(body)))}}
	}
	result["PENDING"] = []any{}
	manifestKey := base + "/manifest.json"
	manifest, err := expr.Marshal(map[string]any{"DestinationBucket": bucket, "MapRunId": w.MapRunID, "ResultFiles": result})
	if err != nil {
		return "", nil, nil, err
	}
	files = append(files, ResultFile{Key: manifestKey, Body: manifest})
	return bucket, files, map[string]any{"Bucket": bucket, "Key": manifestKey}, nil
}
