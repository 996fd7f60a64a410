package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// memMapIO serves Map items from, and writes Map results to, objects in
// memory, as the bucket would.
type memMapIO struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key"
}

func (m *memMapIO) OpenItems(_ context.Context, _ string, read *asl.ItemRead) (io.ReadCloser, error) {
	p, _ := read.Parameters.(map[string]any)
	bucket, _ := p["Bucket"].(string)
	key, _ := p["Key"].(string)
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objects[bucket+"/"+key]
	if !ok {
		return nil, fmt.Errorf("no object %s/%s", bucket, key)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memMapIO) WriteResults(_ context.Context, _ string, w *asl.ResultWrite) (any, error) {
	bucket, files, details, err := w.Files()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, f := range files {
		m.objects[bucket+"/"+f.Key] = f.Body
	}
	return details, nil
}

// distributedMap reads JSON lines from b/items.jsonl; each item runs a
// Task, and an item with "bad" runs a Task that fails; 5% of failures
// are tolerated; results go to b/out/.
const distributedMap = `{"StartAt": "Fan", "States": {"Fan": {"Type": "Map",
	"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "b", "Key": "items.jsonl"}},
	"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
		"Check": {"Type": "Choice", "Choices": [{"Variable": "$.bad", "BooleanEquals": true, "Next": "Bad"}], "Default": "Good"},
		"Good": {"Type": "Task", "Resource": "test:fn:square", "Parameters": {"X.$": "$.i"}, "End": true},
		"Bad": {"Type": "Task", "Resource": "test:fn:fail", "End": true}}},
	"MaxConcurrency": 100, "ToleratedFailurePercentage": 5,
	"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "out"}},
	"End": true}}}`

// distItems is the test's Map size.
var distItems = 10000

// jsonLines returns n JSON lines {"i", "bad"}, bad in percent of them
// (spread evenly).
func jsonLines(n, percent int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"i":%d,"bad":%t}`+"\n", i, i*percent/100 != (i+1)*percent/100)
	}
	return b.Bytes()
}

func runDistributed(tb testing.TB, e *workflow.Engine, io *memMapIO, name string, lines []byte) (*workflow.Execution, time.Duration) {
	tb.Helper()
	return runMap(tb, e, io, distributedMap, name, lines)
}

// runMap runs a state machine of definition def over lines in
// b/items.jsonl and waits for it.
func runMap(tb testing.TB, e *workflow.Engine, io *memMapIO, def, name string, lines []byte) (*workflow.Execution, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	io.mu.Lock()
	io.objects["b/items.jsonl"] = lines
	io.mu.Unlock()
	sm, err := e.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: "fan", Definition: def})
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name})
	if err != nil {
		tb.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	x, err = e.WaitExecution(wctx, x.ARN)
	if err != nil {
		tb.Fatal(err)
	}
	return x, time.Since(start)
}

// TestDistributedMap: a distributed Map over 10,000 JSON lines read
// from the bucket, each running a Task, 3% of them failing, within its
// tolerated failure percentage of 5%: its results are written to the
// bucket, its map run counts its items and lists its child executions,
// and its iterations do not fill the execution's history. With 8%
// failing it fails with States.ExceedToleratedFailureThreshold.
func TestDistributedMap(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("distributed Map test runs 10,000 iterations")
	}
	for name, db := range map[string]func(testing.TB) string{"sqlite": workflowtest.SQLite, "postgres": workflowtest.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			mio := &memMapIO{objects: map[string][]byte{}}
			cfg := workflowtest.Config(db(t), workflowtest.Resources())
			cfg.MapIO = mio
			e := workflowtest.StartEngine(t, cfg)
			x, took := runDistributed(t, e, mio, "ten-thousand", jsonLines(distItems, 3))
			if x.Status != workflow.StatusSucceeded {
				t.Fatalf("execution %s: %s %s", x.Status, x.Error, x.Cause)
			}
			t.Logf("%d items in %v (%.0f items/s)", distItems, took, float64(distItems)/took.Seconds())
			bad := distItems * 3 / 100
			var out struct {
				MapRunArn           string
				ResultWriterDetails struct{ Bucket, Key string }
			}
			if err := json.Unmarshal(x.Output, &out); err != nil || out.ResultWriterDetails.Bucket != "b" {
				t.Fatalf("output %s: %v", x.Output, err)
			}
			mio.mu.Lock()
			manifest := mio.objects["b/"+out.ResultWriterDetails.Key]
			var failed, succeeded []json.RawMessage
			for k, v := range mio.objects {
				var part []json.RawMessage
				switch {
				case strings.Contains(k, "/FAILED_"):
					_ = json.Unmarshal(v, &part)
					failed = append(failed, part...)
				case strings.Contains(k, "/SUCCEEDED_"):
					_ = json.Unmarshal(v, &part)
					succeeded = append(succeeded, part...)
				}
			}
			mio.mu.Unlock()
			if len(manifest) == 0 || len(failed) != bad || len(succeeded) != distItems-bad {
				t.Fatalf("results: manifest %q, %d failed, %d succeeded", manifest, len(failed), len(succeeded))
			}
			var last struct {
				Index  int
				Output struct{ Y int }
			}
			if err := json.Unmarshal(succeeded[len(succeeded)-1], &last); err != nil || last.Output.Y != last.Index*last.Index || last.Index < distItems-3 {
				t.Fatalf("last result %s: %v", succeeded[len(succeeded)-1], err)
			}
			h, _, err := e.History(ctx, x.ARN, workflow.HistoryParams{Limit: 1000})
			if err != nil || len(h) > 50 {
				t.Fatalf("history of %d events: %v", len(h), err)
			}

			runs, _, err := e.ListMapRuns(ctx, x.ARN, 0, "")
			if err != nil || len(runs) != 1 || runs[0].ARN != out.MapRunArn {
				t.Fatalf("map runs %+v (output names %s): %v", runs, out.MapRunArn, err)
			}
			run, err := e.DescribeMapRun(ctx, out.MapRunArn)
			if err != nil {
				t.Fatal(err)
			}
			want := workflow.MapRunCounts{Succeeded: distItems - bad, Failed: bad, Total: distItems, ResultsWritten: distItems}
			if run.Status != "SUCCEEDED" || run.Items != want || run.Executions != want || run.MaxConcurrency != 100 || run.ToleratedFailurePercentage != 5 {
				t.Fatalf("map run %+v, want counts %+v", run, want)
			}
			var children, failedChildren int
			for next := ""; ; {
				page, n, err := e.ListMapRunExecutions(ctx, out.MapRunArn, "", 1000, next)
				if err != nil {
					t.Fatal(err)
				}
				children += len(page)
				if next = n; next == "" {
					break
				}
			}
			fails, _, err := e.ListMapRunExecutions(ctx, out.MapRunArn, workflow.StatusFailed, 1000, "")
			if err != nil {
				t.Fatal(err)
			}
			failedChildren = len(fails)
			if children != distItems || failedChildren != bad || fails[0].StopDate == nil {
				t.Fatalf("child executions: %d, %d failed (%+v)", children, failedChildren, fails[0])
			}

			x, _ = runDistributed(t, e, mio, "too-many-bad", jsonLines(2000, 8))
			if x.Status != workflow.StatusFailed || x.Error != "States.ExceedToleratedFailureThreshold" {
				t.Fatalf("8%% failing: %s %s %s", x.Status, x.Error, x.Cause)
			}
			runs, _, err = e.ListMapRuns(ctx, x.ARN, 0, "")
			if err != nil || len(runs) != 1 || runs[0].Status != "FAILED" || runs[0].Items.Failed != 101 || runs[0].Items.Running != 0 {
				t.Fatalf("map run of the failed Map: %+v %v", runs, err)
			}
		})
	}
}

// TestDistributedMapRetention: retention removes an ended execution's
// map runs with it.
func TestDistributedMapRetention(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mio := &memMapIO{objects: map[string][]byte{}}
	cfg := workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources())
	cfg.MapIO = mio
	cfg.Retention, cfg.RetentionInterval = time.Second, time.Hour
	e := workflowtest.StartEngine(t, cfg)
	x, _ := runDistributed(t, e, mio, "kept-a-second", jsonLines(200, 3))
	if x.Status != workflow.StatusSucceeded {
		t.Fatalf("execution %s: %s %s", x.Status, x.Error, x.Cause)
	}
	runs, _, err := e.ListMapRuns(ctx, x.ARN, 0, "")
	if err != nil || len(runs) != 1 {
		t.Fatalf("map runs %+v: %v", runs, err)
	}
	time.Sleep(1100 * time.Millisecond)
	if n, err := e.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep removed %d: %v", n, err)
	}
	if _, err := e.DescribeMapRun(ctx, runs[0].ARN); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("map run after retention: %v", err)
	}
	if _, _, err := e.ListMapRunExecutions(ctx, runs[0].ARN, "", 0, ""); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("child executions after retention: %v", err)
	}
}

// TestDistributedMapRedrive: a distributed Map that failed past its
// tolerated failures is redriven: only its failed iterations run again,
// from the items the map run keeps, and it succeeds.
func TestDistributedMapRedrive(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var healed atomic.Bool
	var runs atomic.Int64
	res := workflowtest.Resources()
	res.Register("test:heals:", workflow.InvokerFunc(func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		runs.Add(1)
		var in struct{ Bad bool }
		_ = json.Unmarshal(inv.Input, &in)
		if in.Bad && !healed.Load() {
			return nil, &workflow.TaskError{Name: "Item.Bad", Cause: "not yet"}
		}
		return inv.Input, nil
	}))
	mio := &memMapIO{objects: map[string][]byte{"b/items.jsonl": jsonLines(300, 10)}}
	cfg := workflowtest.Config(workflowtest.SQLite(t), res)
	cfg.MapIO = mio
	e := workflowtest.StartEngine(t, cfg)
	def := strings.Replace(strings.Replace(distributedMap, "test:fn:square", "test:heals:x", 1), "test:fn:fail", "test:heals:x", 1)
	sm, err := e.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: "heals", Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "redriven"})
	if err != nil {
		t.Fatal(err)
	}
	x = workflowtest.Wait(t, e, x.ARN, time.Minute)
	if x.Status != workflow.StatusFailed || x.Error != "States.ExceedToleratedFailureThreshold" {
		t.Fatalf("10%% failing: %s %s %s", x.Status, x.Error, x.Cause)
	}
	first := runs.Load()
	healed.Store(true)
	if _, err := e.RedriveExecution(ctx, x.ARN); err != nil {
		t.Fatal(err)
	}
	x = workflowtest.Wait(t, e, x.ARN, time.Minute)
	if x.Status != workflow.StatusSucceeded {
		t.Fatalf("redriven: %s %s %s", x.Status, x.Error, x.Cause)
	}
	if again := runs.Load() - first; again >= 300 || first+again < 300 {
		t.Fatalf("%d task runs before the redrive and %d after: the redrive repeated iterations that had succeeded, or skipped some", first, again)
	}
	mr, _, err := e.ListMapRuns(ctx, x.ARN, 0, "")
	if err != nil || len(mr) != 1 || mr[0].Status != "SUCCEEDED" || mr[0].Items.Succeeded != 300 {
		t.Fatalf("map run after the redrive: %+v %v", mr, err)
	}
}
