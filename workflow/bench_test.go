package workflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// chain returns a definition of n states of the given JSON body, each
// going to the next.
func chain(n int, body string) string {
	var b strings.Builder
	b.WriteString(`{"StartAt": "S0", "States": {`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		end := fmt.Sprintf(`"Next": "S%d"`, i+1)
		if i == n-1 {
			end = `"End": true`
		}
		fmt.Fprintf(&b, `"S%d": {%s, %s}`, i, body, end)
	}
	b.WriteString(`}}`)
	return b.String()
}

func benchDBs(b *testing.B, f func(b *testing.B, open workflowtest.Open)) {
	b.Run("sqlite", func(b *testing.B) { f(b, workflowtest.SQLite) })
	b.Run("postgres", func(b *testing.B) { f(b, workflowtest.Postgres) })
}

// minRounds is how many executions each of runChains' parallel slots
// runs at least: fewer measure the start and the end of the run (slots
// idle while the last executions finish), not the steady rate.
const minRounds = 3

// runChains runs executions of def, parallel at a time, until b.N
// transitions of perExec each are done (and, but for the testing
// package's first probe of one iteration, at least minRounds executions
// per slot), and reports transitions/s (ns/op is per transition actually
// run).
func runChains(b *testing.B, engines []*workflow.Engine, def string, perExec int, parallel int) {
	ctx := context.Background()
	sm, err := engines[0].CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "bench", Definition: def})
	if err != nil {
		b.Fatal(err)
	}
	execs := (b.N + perExec - 1) / perExec
	if b.N > 1 {
		// (b.N is 1 only in the testing package's first probe.)
		execs = max(execs, minRounds*parallel)
	}
	b.ResetTimer()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		e := engines[w%len(engines)]
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(execs) {
					return
				}
				x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: fmt.Sprintf("x%d", i)})
				if err != nil {
					errs <- err
					return
				}
				got, err := e.WaitExecution(ctx, x.ARN)
				if err != nil {
					errs <- fmt.Errorf("%s: %w", x.ARN, err)
					return
				}
				if got.Status != workflow.StatusSucceeded {
					errs <- fmt.Errorf("%s: %s %s", x.ARN, got.Status, got.Cause)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	done := float64(execs * perExec)
	b.ReportMetric(done/elapsed.Seconds(), "transitions/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/done, "ns/op")
}

// BenchmarkPassChain: state transitions per second through chains of 100
// Pass states.
func BenchmarkPassChain(b *testing.B) {
	benchDBs(b, func(b *testing.B, open workflowtest.Open) {
		cfg := workflowtest.Config(open(b), workflowtest.Resources())
		e := workflowtest.StartEngine(b, cfg)
		runChains(b, []*workflow.Engine{e}, chain(100, `"Type": "Pass", "Result": {"ok": true}`), 100, 8)
	})
}

// BenchmarkTaskChain: task completions per second through chains of 20
// Task states, 64 executions at once, on one engine (SQLite has one
// writer) and on four worker engines sharing PostgreSQL. Every
// transition of the chain completes one task (the first starts the
// execution and runs its first task), so transitions/s is task
// completions/s. At least 3 executions per slot run whatever -benchtime
// says (-benchtime 100x would otherwise be 5 executions, one at a time
// per slot, which measures one chain's latency, not throughput).
func BenchmarkTaskChain(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		cfg := workflowtest.Config(workflowtest.SQLite(b), workflowtest.Resources())
		cfg.Workers = 64
		e := workflowtest.StartEngine(b, cfg)
		runChains(b, []*workflow.Engine{e}, chain(20, `"Type": "Task", "Resource": "test:fn:echo"`), 20, 64)
	})
	b.Run("postgres-4workers", func(b *testing.B) {
		db := workflowtest.Postgres(b)
		var es []*workflow.Engine
		for i := 0; i < 4; i++ {
			cfg := workflowtest.Config(db, workflowtest.Resources())
			cfg.Workers = 16
			es = append(es, workflowtest.StartEngine(b, cfg))
		}
		runChains(b, es, chain(20, `"Type": "Task", "Resource": "test:fn:echo"`), 20, 64)
	})
}

// BenchmarkStartToFirstTask: latency from StartExecution to the first
// task's invocation.
func BenchmarkStartToFirstTask(b *testing.B) {
	benchDBs(b, func(b *testing.B, open workflowtest.Open) {
		res := workflowtest.Resources()
		var mu sync.Mutex
		started := map[string]chan struct{}{}
		fns := workflow.NewFunctions("bench:")
		fns.Add("first", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			mu.Lock()
			ch := started[inv.ExecutionARN]
			mu.Unlock()
			if ch != nil {
				close(ch)
			}
			return json.RawMessage(`{}`), nil
		})
		res.Register("bench:", fns)
		e := workflowtest.StartEngine(b, workflowtest.Config(open(b), res))
		ctx := context.Background()
		sm, err := e.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "first", Definition: chain(1, `"Type": "Task", "Resource": "bench:first"`)})
		if err != nil {
			b.Fatal(err)
		}
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			name := fmt.Sprintf("x%d", i)
			arn := strings.Replace(sm.ARN, ":stateMachine:", ":execution:", 1) + ":" + name
			ch := make(chan struct{})
			mu.Lock()
			started[arn] = ch
			mu.Unlock()
			t0 := time.Now()
			if _, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name}); err != nil {
				b.Fatal(err)
			}
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				b.Fatal("first task not invoked within 10s")
			}
			lat = append(lat, time.Since(t0))
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	})
}
