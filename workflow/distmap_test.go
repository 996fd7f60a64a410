package workflow_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
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

// distributedMap reads JSON lines from b/items.jsonl; an item with "bad"
// fails; 5% of failures are tolerated; results go to b/out/.
const distributedMap = `{"StartAt": "Fan", "States": {"Fan": {"Type": "Map",
	"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "b", "Key": "items.jsonl"}},
	"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
		"Check": {"Type": "Choice", "Choices": [{"Variable": "$.bad", "BooleanEquals": true, "Next": "Bad"}], "Default": "Good"},
		"Good": {"Type": "Pass", "Parameters": {"double.$": "States.MathAdd($.i, $.i)"}, "End": true},
		"Bad": {"Type": "Fail", "Error": "Item.Bad", "Cause": "a bad item"}}},
	"MaxConcurrency": 200, "ToleratedFailurePercentage": 5,
	"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "out"}},
	"End": true}}}`

// distItems is the test's Map size. The engine keeps a Map's items in
// the Map frame, which it rewrites as iterations end, so a Map's cost
// grows with its items squared: 10,000 items take minutes.
var distItems = 1000

func jsonLines(n, badEvery int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"i":%d,"bad":%t}`+"\n", i, badEvery > 0 && i%badEvery == 0)
	}
	return b.Bytes()
}

func runDistributed(tb testing.TB, e *workflow.Engine, io *memMapIO, name string, lines []byte) (*workflow.Execution, time.Duration) {
	tb.Helper()
	ctx := context.Background()
	io.mu.Lock()
	io.objects["b/items.jsonl"] = lines
	io.mu.Unlock()
	sm, err := e.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: "fan", Definition: distributedMap})
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

// TestDistributedMap: a distributed Map over 1,000 JSON lines read from
// the bucket, 5% of them failing, within its tolerated failure
// percentage; its results are written to the bucket; its iterations do
// not fill the execution's history. With 7% failing it fails.
func TestDistributedMap(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("distributed Map test runs 1,000 iterations")
	}
	for name, db := range map[string]func(testing.TB) string{"sqlite": workflowtest.SQLite, "postgres": workflowtest.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			mio := &memMapIO{objects: map[string][]byte{}}
			cfg := workflowtest.Config(db(t), workflowtest.Resources())
			cfg.MapIO = mio
			e := workflowtest.StartEngine(t, cfg)
			x, took := runDistributed(t, e, mio, "ten-thousand", jsonLines(distItems, 20))
			if x.Status != workflow.StatusSucceeded {
				t.Fatalf("execution %s: %s %s", x.Status, x.Error, x.Cause)
			}
			t.Logf("%d items in %v (%.0f items/s)", distItems, took, float64(distItems)/took.Seconds())
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
			if len(manifest) == 0 || len(failed) != distItems/20 || len(succeeded) != distItems-distItems/20 {
				t.Fatalf("results: manifest %q, %d failed, %d succeeded", manifest, len(failed), len(succeeded))
			}
			h, _, err := e.History(context.Background(), x.ARN, workflow.HistoryParams{Limit: 1000})
			if err != nil || len(h) > 50 {
				t.Fatalf("history of %d events: %v", len(h), err)
			}

			x, _ = runDistributed(t, e, mio, "too-many-bad", jsonLines(400, 14))
			if x.Status != workflow.StatusFailed || x.Error != "States.ExceedToleratedFailureThreshold" {
				t.Fatalf("7%% failing: %s %s %s", x.Status, x.Error, x.Cause)
			}
		})
	}
}
