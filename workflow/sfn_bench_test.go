package workflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// passMap is distributedMap with iterations that run no Task: a Choice,
// then a Pass, or a Fail for a bad item.
const passMap = `{"StartAt": "Fan", "States": {"Fan": {"Type": "Map",
	"ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSONL"}, "Parameters": {"Bucket": "b", "Key": "items.jsonl"}},
	"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "Check", "States": {
		"Check": {"Type": "Choice", "Choices": [{"Variable": "$.bad", "BooleanEquals": true, "Next": "Bad"}], "Default": "Good"},
		"Good": {"Type": "Pass", "Parameters": {"double.$": "States.MathAdd($.i, $.i)"}, "End": true},
		"Bad": {"Type": "Fail", "Error": "Item.Bad", "Cause": "a bad item"}}},
	"MaxConcurrency": 200, "ToleratedFailurePercentage": 5,
	"ResultWriter": {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b", "Prefix": "out"}},
	"End": true}}}`

// BenchmarkDistributedMap runs distributed Maps over JSON lines read from
// the bucket (3% of them failing, tolerated; results written back) and
// reports items/s: iterations of in-memory states over 1,000 and 10,000
// items, and iterations that each run a Task over 10,000 items. Run with
// -benchtime=1x or a few x.
func BenchmarkDistributedMap(b *testing.B) {
	for _, c := range []struct {
		name, def string
		items     int
	}{{"pass-1000", passMap, 1000}, {"pass-10000", passMap, 10000}, {"task-10000", distributedMap, 10000}} {
		b.Run(c.name, func(b *testing.B) {
			benchDBs(b, func(b *testing.B, open workflowtest.Open) {
				mio := &memMapIO{objects: map[string][]byte{}}
				cfg := workflowtest.Config(open(b), workflowtest.Resources())
				cfg.MapIO = mio
				e := workflowtest.StartEngine(b, cfg)
				lines := jsonLines(c.items, 3)
				var total time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					x, took := runMap(b, e, mio, c.def, fmt.Sprintf("bench-%d", i), lines)
					if x.Status != workflow.StatusSucceeded {
						b.Fatalf("%s %s %s", x.Status, x.Error, x.Cause)
					}
					total += took
				}
				b.ReportMetric(float64(c.items*b.N)/total.Seconds(), "items/s")
			})
		})
	}
}

// BenchmarkRetentionSteadyState runs 20 short executions every 0.5 s for
// 15 s with a 2 s retention and reports the database's size in its steady
// state (the largest of the last ten rounds) and the executions kept.
func BenchmarkRetentionSteadyState(b *testing.B) {
	benchDBs(b, func(b *testing.B, open workflowtest.Open) {
		cfg := workflowtest.Config(open(b), workflowtest.Resources())
		cfg.Retention, cfg.RetentionInterval = 2*time.Second, 200*time.Millisecond
		e := workflowtest.StartEngine(b, cfg)
		b.ResetTimer()
		stats := steadyLoad(b, e, 30, 20, 500*time.Millisecond)
		var peak, kept int64
		for _, s := range stats[20:] {
			peak, kept = max(peak, s.Bytes), max(kept, s.Executions)
		}
		b.ReportMetric(float64(peak), "steady-bytes")
		b.ReportMetric(float64(kept), "kept-executions")
		b.ReportMetric(float64(20*30), "started-executions")
	})
}
