package workflow_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// BenchmarkDistributedMap runs distributed Maps over 1,000 JSON lines
// read from the bucket (5% of them failing, tolerated) and reports
// items/s. Run with -benchtime=1x or a few x.
func BenchmarkDistributedMap(b *testing.B) {
	benchDBs(b, func(b *testing.B, open workflowtest.Open) {
		mio := &memMapIO{objects: map[string][]byte{}}
		cfg := workflowtest.Config(open(b), workflowtest.Resources())
		cfg.MapIO = mio
		e := workflowtest.StartEngine(b, cfg)
		lines := jsonLines(1000, 20)
		var total time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			x, took := runDistributed(b, e, mio, fmt.Sprintf("bench-%d", i), lines)
			if x.Status != workflow.StatusSucceeded {
				b.Fatalf("%s %s %s", x.Status, x.Error, x.Cause)
			}
			total += took
		}
		b.ReportMetric(float64(1000*b.N)/total.Seconds(), "items/s")
	})
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
