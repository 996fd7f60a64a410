package asl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/expr"
)

func mustParse(t *testing.T, def string) *asl.Machine {
	t.Helper()
	m, err := asl.Parse([]byte(def), asl.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// reload is what a durable engine does between steps.
func reload(t *testing.T, f *asl.Frame) *asl.Frame {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := asl.UnmarshalFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func decode(t *testing.T, s string) any {
	t.Helper()
	v, err := expr.Decode([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

func TestStepTaskRetryCatch(t *testing.T) {
	m := mustParse(t, `{"StartAt":"Prep","States":{
		"Prep":{"Type":"Pass","Result":{"key":"a.mp4"},"Next":"Call"},
		"Call":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","TimeoutSeconds":30,"HeartbeatSeconds":10,
			"Parameters":{"FunctionName":"probe","Payload.$":"$"},
			"Retry":[{"ErrorEquals":["Provider.Throttled"],"IntervalSeconds":2,"MaxAttempts":1}],
			"Catch":[{"ErrorEquals":["States.ALL"],"ResultPath":"$.error","Next":"Failed"}],
			"ResultSelector":{"kind.$":"$.Payload.kind"},"End":true},
		"Failed":{"Type":"Pass","End":true}}}`)
	sc := asl.StepContext{Now: t0}
	f := m.NewFrame(decode(t, `{}`))
	out := m.Advance(f, sc)
	if out.Kind != asl.KindTask {
		t.Fatalf("kind %s, want Task", out.Kind)
	}
	if len(out.Entered) != 2 || out.Entered[0].Name != "Prep" || !out.Entered[0].Exited || out.Entered[1].Name != "Call" || out.Entered[1].Exited {
		t.Fatalf("entered %+v", out.Entered)
	}
	call := out.Task
	if call.Resource != "arn:aws:states:::lambda:invoke" || call.Pattern != asl.RequestResponse || call.TimeoutSeconds != 30 || call.HeartbeatSeconds != 10 {
		t.Fatalf("task call %+v", call)
	}
	if want := decode(t, `{"FunctionName":"probe","Payload":{"key":"a.mp4"}}`); !expr.Equal(call.Input, want) {
		t.Fatalf("task input %s", expr.MarshalString(call.Input))
	}
	// A throttled attempt is retried after 2s.
	f = reload(t, f)
	out = m.FailTask(f, "Provider.Throttled", "429", sc)
	if out.Kind != asl.KindRetry || out.Delay != 2*time.Second || out.Attempt != 1 || out.Error != "Provider.Throttled" {
		t.Fatalf("outcome %+v, want Retry after 2s", out)
	}
	f = reload(t, f)
	out = m.Advance(f, asl.StepContext{Now: t0.Add(2 * time.Second)})
	if out.Kind != asl.KindTask || len(out.Entered) != 0 {
		t.Fatalf("outcome %+v, want the task again without re-entering", out)
	}
	// The retrier is spent: the catcher takes it.
	f = reload(t, f)
	out = m.FailTask(f, "Provider.Throttled", "429 again", sc)
	if out.Kind != asl.KindSucceeded {
		t.Fatalf("outcome %+v, want Succeeded through the catcher", out)
	}
	want := decode(t, `{"key":"a.mp4","error":{"Error":"Provider.Throttled","Cause":"429 again"}}`)
	if !expr.Equal(out.Output, want) {
		t.Fatalf("output %s", expr.MarshalString(out.Output))
	}
	if n := len(out.Entered); n != 2 || !out.Entered[0].Resumed || out.Entered[1].Name != "Failed" {
		t.Fatalf("entered %+v", out.Entered)
	}

	// The same machine, succeeding this time.
	f = m.NewFrame(decode(t, `{}`))
	m.Advance(f, sc)
	out = m.CompleteTask(reload(t, f), decode(t, `{"Payload":{"kind":"video"},"StatusCode":200}`), sc)
	if out.Kind != asl.KindSucceeded || !expr.Equal(out.Output, decode(t, `{"kind":"video"}`)) {
		t.Fatalf("outcome %+v", out)
	}
}

func TestStepMisuseFailsTheFrame(t *testing.T) {
	m := mustParse(t, `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":10,"End":true}}}`)
	f := m.NewFrame(map[string]any{})
	out := m.Advance(f, asl.StepContext{Now: t0})
	if out.Kind != asl.KindWait || !out.Until.Equal(t0.Add(10*time.Second)) {
		t.Fatalf("outcome %+v", out)
	}
	// Advancing again repeats the pending outcome.
	if again := m.Advance(f, asl.StepContext{Now: t0.Add(time.Second)}); again.Kind != asl.KindWait || !again.Until.Equal(out.Until) {
		t.Fatalf("repeat %+v", again)
	}
	bad := m.CompleteTask(reload(t, f), "x", asl.StepContext{Now: t0})
	if bad.Kind != asl.KindFailed || bad.Error != asl.ErrRuntime || !strings.Contains(bad.Cause, `CompleteTask called on a frame in phase "wait"`) {
		t.Fatalf("misuse outcome %+v", bad)
	}
	out = m.ResumeWait(f, asl.StepContext{Now: t0.Add(10 * time.Second)})
	if out.Kind != asl.KindSucceeded {
		t.Fatalf("outcome %+v", out)
	}
}

func TestStepParallelAndMap(t *testing.T) {
	m := mustParse(t, `{"StartAt":"P","States":{
		"P":{"Type":"Parallel","Next":"M","Branches":[
			{"StartAt":"A","States":{"A":{"Type":"Pass","Result":1,"End":true}}},
			{"StartAt":"B","States":{"B":{"Type":"Pass","Result":2,"End":true}}}]},
		"M":{"Type":"Map","MaxConcurrency":3,"ItemSelector":{"v.$":"$$.Map.Item.Value","i.$":"$$.Map.Item.Index"},"End":true,
			"ItemProcessor":{"StartAt":"Double","States":{"Double":{"Type":"Pass","Parameters":{"d.$":"States.MathAdd($.v, $.v)"},"OutputPath":"$.d","End":true}}}}}}`)
	sc := asl.StepContext{Now: t0}
	f := m.NewFrame(map[string]any{})
	out := m.Advance(f, sc)
	if out.Kind != asl.KindParallel || len(out.Branches) != 2 {
		t.Fatalf("outcome %+v", out)
	}
	var outputs []any
	for i, b := range out.Branches {
		if b.Graph != "/States/P/Branches/"+string(rune('0'+i)) {
			t.Fatalf("branch %d graph %q", i, b.Graph)
		}
		bo := m.Advance(reload(t, b), sc)
		if bo.Kind != asl.KindSucceeded {
			t.Fatalf("branch %d: %+v", i, bo)
		}
		outputs = append(outputs, bo.Output)
	}
	f = reload(t, f)
	out = m.CompleteParallel(f, outputs, sc)
	if out.Kind != asl.KindMap || out.Map.MaxConcurrency != 3 || !expr.Equal(out.Map.Items, decode(t, `[{"v":1,"i":0},{"v":2,"i":1}]`)) {
		t.Fatalf("outcome %+v", out)
	}
	var results []any
	for i, item := range out.Map.Items {
		io := m.Advance(m.NewItemFrame(f, i, item), sc)
		results = append(results, io.Output)
	}
	out = m.CompleteMap(f, results, 0, sc)
	if out.Kind != asl.KindSucceeded || !expr.Equal(out.Output, decode(t, `[2,4]`)) {
		t.Fatalf("outcome %+v", out)
	}
}

func TestStepItemRead(t *testing.T) {
	m := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,
		"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV","CSVHeaderLocation":"FIRST_ROW","MaxItems":2},"Parameters":{"Bucket":"b","Key.$":"$.key"}},
		"ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}}}}`)
	sc := asl.StepContext{Now: t0}
	f := m.NewFrame(decode(t, `{"key":"k.csv"}`))
	out := m.Advance(f, sc)
	if out.Kind != asl.KindItemRead || out.Read.InputType != "CSV" || out.Read.MaxItems != 2 || !expr.Equal(out.Read.Parameters, decode(t, `{"Bucket":"b","Key":"k.csv"}`)) {
		t.Fatalf("outcome %+v", out)
	}
	out = m.CompleteItemRead(reload(t, f), strings.NewReader("name,size\na,1\nb,2\nc,3\n"), sc)
	if out.Kind != asl.KindMap || !out.Map.Distributed || !expr.Equal(out.Map.Items, decode(t, `[{"name":"a","size":"1"},{"name":"b","size":"2"}]`)) {
		t.Fatalf("outcome %+v", out)
	}
	if !out.Map.Tolerates(0, 2) || out.Map.Tolerates(1, 2) {
		t.Fatal("with no tolerance set, no failure is tolerated")
	}
}

func TestStepDeterministic(t *testing.T) {
	m := mustParse(t, `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"r","End":true,
		"Retry":[{"ErrorEquals":["E"],"IntervalSeconds":10,"JitterStrategy":"FULL"}]}}}`)
	var delays []time.Duration
	for i := 0; i < 2; i++ {
		f := m.NewFrame(map[string]any{})
		m.Advance(f, asl.StepContext{Now: t0})
		out := m.FailTask(f, "E", "", asl.StepContext{Now: t0})
		if out.Kind != asl.KindRetry || out.Delay < 0 || out.Delay > 10*time.Second {
			t.Fatalf("outcome %+v", out)
		}
		delays = append(delays, out.Delay)
	}
	if delays[0] != delays[1] {
		t.Fatalf("jitter without a random source differs between identical steps: %v", delays)
	}
}

// TestRunTaskTokenMatchesContext checks that a .waitForTaskToken task is
// handed the token its Parameters read from $$.Task.Token, also with
// iterations running concurrently.
func TestRunTaskTokenMatchesContext(t *testing.T) {
	m := mustParse(t, `{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"T","States":{
		"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken","Parameters":{"token.$":"$$.Task.Token"},"End":true}}}}}}`)
	handler := asl.TaskHandlerFunc(func(ctx context.Context, req *asl.TaskRequest) (any, error) {
		in, _ := req.Input.(map[string]any)
		if in["token"] != req.Token || req.Token == "" {
			return nil, &asl.TaskError{Name: "Token.Mismatch", Cause: fmt.Sprintf("%v != %q", in["token"], req.Token)}
		}
		return req.Token, nil
	})
	res, err := asl.Run(context.Background(), m, []any{1, 2, 3, 4, 5, 6, 7, 8}, asl.RunOptions{Tasks: handler})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != "SUCCEEDED" {
		t.Fatalf("%+v", res)
	}
}

// TestResultWriteFiles checks the ResultWriter layout for FLATTEN + JSONL.
func TestResultWriteFiles(t *testing.T) {
	w := &asl.ResultWrite{Parameters: map[string]any{"Bucket": "out", "Prefix": "p/"}, MapRunID: "M-2",
		WriterConfig: map[string]any{"Transformation": "FLATTEN", "OutputType": "JSONL"},
		Succeeded:    []any{map[string]any{"Output": []any{"a", "a"}}, map[string]any{"Output": "b"}}, Failed: []any{}}
	bucket, files, details, err := w.Files()
	if err != nil {
		t.Fatal(err)
	}
	if bucket != "out" || len(files) != 2 || files[0].Key != "p/M-2/SUCCEEDED_0.jsonl" || string(files[0].Body) != "\"a\"\n\"a\"\n\"b\"\n" {
		t.Fatalf("files %q", files)
	}
	if !expr.Equal(details, map[string]any{"Bucket": "out", "Key": "p/M-2/manifest.json"}) {
		t.Fatalf("details %v", details)
	}
}
