package sfnapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// bucketItems serves Map items from, and writes Map results to, a
// blob.Bucket (one bucket: the ItemReader's and ResultWriter's Bucket
// parameter is not a second store).
type bucketItems struct{ b *blob.Bucket }

func (m bucketItems) OpenItems(ctx context.Context, _ string, read *asl.ItemRead) (io.ReadCloser, error) {
	p, _ := read.Parameters.(map[string]any)
	key, _ := p["Key"].(string)
	return m.b.NewReader(ctx, key, nil)
}

func (m bucketItems) WriteResults(ctx context.Context, _ string, w *asl.ResultWrite) (any, error) {
	_, files, details, err := w.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if err := m.b.WriteAll(ctx, f.Key, f.Body, nil); err != nil {
			return nil, err
		}
	}
	return details, nil
}

// setupBucket starts an engine whose Maps read items from and write
// results to a bucket in memory, behind the protocol, and returns an SDK
// client signing as an administrator.
func setupBucket(t *testing.T) (*sfn.Client, *blob.Bucket) {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	cfg := workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources())
	cfg.MapIO = bucketItems{b}
	clientAs, _, _ := setupWith(t, cfg)
	return clientAs("admin"), b
}

// waitLong waits up to d for an execution to end.
func waitLong(t *testing.T, c *sfn.Client, arn string, d time.Duration) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(d)
	for {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running after %v", arn, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fanOut is a distributed Map over the JSON lines of items.jsonl: an item
// with "bad" runs a Task that fails, every other squares its "i"; 5% of
// failures are tolerated, at most 100 iterations run at once, and the
// results go to the bucket under out/.
const fanOut = `{"StartAt": "Fan", "States": {"Fan": {"Type": "Map",
	"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "media", "Key.$": "$.key"}},
	"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
		"Check": {"Type": "Choice", "Choices": [{"Variable": "$.bad", "BooleanEquals": true, "Next": "Bad"}], "Default": "Good"},
		"Good": {"Type": "Task", "Resource": "test:fn:square", "Parameters": {"X.$": "$.i"}, "End": true},
		"Bad": {"Type": "Task", "Resource": "test:fn:fail", "End": true}}},
	"MaxConcurrency": 100, "ToleratedFailurePercentage": 5,
	"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "media", "Prefix": "out"}},
	"End": true}}}`

// itemLines returns n JSON lines {"i", "bad"}, bad in percent of them.
func itemLines(n, percent int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"i":%d,"bad":%t}`+"\n", i, i*percent/100 != (i+1)*percent/100)
	}
	return b.Bytes()
}

// TestSDKDistributedMap: the AWS SDK drives a distributed Map over
// 10,000 JSON lines in the bucket, 3% of which fail: the execution
// succeeds within its 5% tolerated failure rate, its map run counts every
// item, ListExecutions lists one child execution per item, and the
// results are in the bucket. With 8% failing the execution fails with
// States.ExceedToleratedFailureThreshold.
func TestSDKDistributedMap(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs 10,000 Map iterations")
	}
	c, b := setupBucket(t)
	ctx := context.Background()
	const n, bad = 10000, 300
	if err := b.WriteAll(ctx, "tenant/items.jsonl", itemLines(n, 3), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteAll(ctx, "tenant/worse.jsonl", itemLines(n, 8), nil); err != nil {
		t.Fatal(err)
	}
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("fan-out"), RoleArn: aws.String(role), Definition: aws.String(fanOut)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"key":"tenant/items.jsonl"}`)})
	if err != nil {
		t.Fatal(err)
	}
	done := waitLong(t, c, aws.ToString(x.ExecutionArn), 5*time.Minute)
	took := time.Since(start)
	if done.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("%s: %s %s", done.Status, aws.ToString(done.Error), aws.ToString(done.Cause))
	}
	t.Logf("%d items in %v (%.0f items/s)", n, took, n/took.Seconds())

	var out struct {
		MapRunArn           string
		ResultWriterDetails struct{ Bucket, Key string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(done.Output)), &out); err != nil {
		t.Fatal(err)
	}
	runs, err := c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: x.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 || aws.ToString(runs.MapRuns[0].MapRunArn) != out.MapRunArn {
		t.Fatalf("map runs %+v (the Map output %s): %v", runs, out.MapRunArn, err)
	}
	run, err := c.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: aws.String(out.MapRunArn)})
	if err != nil {
		t.Fatal(err)
	}
	ic, ec := run.ItemCounts, run.ExecutionCounts
	if run.Status != types.MapRunStatusSucceeded || run.MaxConcurrency != 100 || run.ToleratedFailurePercentage != 5 ||
		ic.Total != n || ic.Succeeded != n-bad || ic.Failed != bad || ic.Pending != 0 || ic.Running != 0 || ic.ResultsWritten != n ||
		ec.Total != n || ec.Failed != bad || run.StopDate == nil {
		t.Fatalf("map run: %s, items %+v, executions %+v", run.Status, *ic, *ec)
	}
	// One child execution per item, paged.
	children, failed := 0, 0
	pages := sfn.NewListExecutionsPaginator(c, &sfn.ListExecutionsInput{MapRunArn: aws.String(out.MapRunArn), MaxResults: 1000})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page.Executions {
			children++
			if x.Status == types.ExecutionStatusFailed {
				failed++
			}
		}
	}
	if children != n || failed != bad {
		t.Fatalf("child executions: %d, %d failed; want %d, %d", children, failed, n, bad)
	}
	manifest, err := b.ReadAll(ctx, out.ResultWriterDetails.Key)
	if err != nil || !strings.Contains(string(manifest), "SUCCEEDED_0.json") {
		t.Fatalf("manifest %s: %v", manifest, err)
	}
	h, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn, MaxResults: 1000})
	if err != nil || len(h.Events) > 20 {
		t.Fatalf("history of the parent: %d events, %v", len(h.Events), err)
	}

	x, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"key":"tenant/worse.jsonl"}`)})
	if err != nil {
		t.Fatal(err)
	}
	done = waitLong(t, c, aws.ToString(x.ExecutionArn), 5*time.Minute)
	if done.Status != types.ExecutionStatusFailed || aws.ToString(done.Error) != "States.ExceedToleratedFailureThreshold" {
		t.Fatalf("8%% failing: %s %s %s", done.Status, aws.ToString(done.Error), aws.ToString(done.Cause))
	}
	runs, err = c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: x.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("map runs: %+v %v", runs, err)
	}
	run, err = c.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil || run.Status != types.MapRunStatusFailed || run.ItemCounts.Failed != n*5/100+1 || run.ItemCounts.Running != 0 {
		t.Fatalf("map run of the failed Map: %+v %v", run, err)
	}
}

// TestSDKItemBatcher: a distributed Map with an ItemBatcher hands each
// child execution a batch of at most MaxItemsPerBatch items with the
// BatchInput; the map run counts items and child executions apart.
func TestSDKItemBatcher(t *testing.T) {
	t.Parallel()
	c, b := setupBucket(t)
	ctx := context.Background()
	var lines bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&lines, `{"x":%d}`+"\n", i)
	}
	if err := b.WriteAll(ctx, "numbers.jsonl", lines.Bytes(), nil); err != nil {
		t.Fatal(err)
	}
	def := `{"StartAt": "Batches", "States": {"Batches": {"Type": "Map",
		"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "media", "Key": "numbers.jsonl"}},
		"ItemBatcher": {"MaxItemsPerBatch": 40, "BatchInput": {"job.$": "$.job"}},
		"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Sum", "States": {
			"Sum": {"Type": "Task", "Resource": "test:fn:sum", "Parameters": {"Xs.$": "$.Items[*].x"}, "ResultPath": "$.total", "Next": "Shape"},
			"Shape": {"Type": "Pass", "Parameters": {"job.$": "$.BatchInput.job", "n.$": "States.ArrayLength($.Items)", "sum.$": "$.total.sum"}, "End": true}}},
		"MaxConcurrency": 10, "End": true}}}`
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("batches"), RoleArn: aws.String(role), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"job":"j-42"}`)})
	if err != nil {
		t.Fatal(err)
	}
	done := waitLong(t, c, aws.ToString(x.ExecutionArn), 2*time.Minute)
	if done.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("%s: %s %s", done.Status, aws.ToString(done.Error), aws.ToString(done.Cause))
	}
	var batches []struct {
		Job    string
		N, Sum int
	}
	if err := json.Unmarshal([]byte(aws.ToString(done.Output)), &batches); err != nil {
		t.Fatalf("output %s: %v", aws.ToString(done.Output), err)
	}
	total := 0
	for i, bt := range batches {
		// Batch i holds items 40i … 40i+39.
		want := 40*40*i + 40*39/2
		if bt.Job != "j-42" || bt.N != 40 || bt.Sum != want {
			t.Fatalf("batch %d: %+v, want 40 items summing to %d", i, bt, want)
		}
		total += bt.N
	}
	if len(batches) != 25 || total != 1000 {
		t.Fatalf("%d batches of %d items", len(batches), total)
	}
	runs, err := c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: x.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("map runs: %+v %v", runs, err)
	}
	run, err := c.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil || run.ItemCounts.Total != 1000 || run.ItemCounts.Succeeded != 1000 || run.ExecutionCounts.Total != 25 || run.ExecutionCounts.Succeeded != 25 {
		t.Fatalf("map run: %+v %+v %v", run.ItemCounts, run.ExecutionCounts, err)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: runs.MapRuns[0].MapRunArn})
	if err != nil || len(list.Executions) != 25 {
		t.Fatalf("child executions: %+v %v", list, err)
	}
}
