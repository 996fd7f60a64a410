package workflow_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// steadyLoad starts rounds of short executions at a steady rate and
// returns the engine's storage after each round.
func steadyLoad(tb testing.TB, e *workflow.Engine, rounds, perRound int, every time.Duration) []workflow.StorageStats {
	tb.Helper()
	ctx := context.Background()
	sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "steady",
		Definition: `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"test:fn:echo","Next":"B"},"B":{"Type":"Pass","Result":{"padding":"` + fmt.Sprintf("%0400d", 0) + `"},"End":true}}}`})
	if err != nil {
		tb.Fatal(err)
	}
	var out []workflow.StorageStats
	n := 0
	for r := range rounds {
		start := time.Now()
		var last string
		for range perRound {
			x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: fmt.Sprintf("x-%06d", n), Input: []byte(`{"k":1}`)})
			if err != nil {
				tb.Fatal(err)
			}
			n++
			last = x.ARN
		}
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := e.WaitExecution(wctx, last); err != nil {
			tb.Fatalf("round %d: %v", r, err)
		}
		cancel()
		st, err := e.Storage(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, st)
		time.Sleep(every - time.Since(start))
	}
	return out
}

// TestRetentionSteadyState: under a steady load, executions older than
// the retention are removed, and the database stops growing.
func TestRetentionSteadyState(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("retention test runs a steady load for about 15 seconds")
	}
	for name, db := range map[string]func(testing.TB) string{"sqlite": workflowtest.SQLite, "postgres": workflowtest.Postgres} {
		t.Run(name, func(t *testing.T) {
			cfg := workflowtest.Config(db(t), workflowtest.Resources())
			cfg.Retention, cfg.RetentionInterval = 2*time.Second, 200*time.Millisecond
			e := workflowtest.StartEngine(t, cfg)
			stats := steadyLoad(t, e, 30, 20, 500*time.Millisecond)
			end := stats[len(stats)-1]
			for i, s := range stats {
				t.Logf("round %2d: %4d executions, %5d history events, %8d bytes", i, s.Executions, s.HistoryEvents, s.Bytes)
			}
			// Steady state: the largest size of the last ten rounds is no
			// larger than that of rounds 10 to 19 (give or take a sweep's
			// timing).
			peak := func(from, to int) int64 {
				var m int64
				for _, s := range stats[from:to] {
					m = max(m, s.Bytes)
				}
				return m
			}
			warm, late := peak(10, 20), peak(20, 30)
			// 20 executions every 0.5 s kept for 2 s (+ a sweep interval):
			// about 100 at any time, never all 600 started.
			if end.Executions > 200 {
				t.Fatalf("%d executions kept at the end, want about 100 (retention 2 s)", end.Executions)
			}
			if float64(late) > 1.2*float64(warm) {
				t.Fatalf("the database grew from at most %d bytes (rounds 10-19) to %d (rounds 20-29) under a steady load", warm, late)
			}
		})
	}
}

// TestRetentionNegativeKeeps: a negative retention keeps everything.
func TestRetentionNegativeKeeps(t *testing.T) {
	t.Parallel()
	cfg := workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources())
	cfg.Retention = -1
	e := workflowtest.StartEngine(t, cfg)
	steadyLoad(t, e, 1, 5, 0)
	if n, err := e.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("sweep with retention off: %d %v", n, err)
	}
}
