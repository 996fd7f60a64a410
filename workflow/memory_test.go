package workflow_test

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// peakHeap samples the live heap while f runs and returns the largest
// growth over the heap before it, in bytes.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak {
				peak = ms.HeapAlloc - base
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	return peak
}

// runLoopToCap runs one execution of a Pass→Choice loop of a million
// passes on an engine with the default history cap and returns it with
// its history length.
func runLoopToCap(tb testing.TB, e *workflow.Engine, name string) (*workflow.Execution, int) {
	ctx := context.Background()
	sm, err := e.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: "loop", Definition: workflowtest.LoopDefinition(1000000)})
	if err != nil {
		tb.Fatal(err)
	}
	x, err := e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: json.RawMessage(`{"n": 0}`)})
	if err != nil {
		tb.Fatal(err)
	}
	got := workflowtest.Wait(tb, e, x.ARN, 5*time.Minute)
	h, _, err := e.History(ctx, x.ARN, workflow.HistoryParams{Reverse: true, Limit: 1})
	if err != nil || len(h) != 1 {
		tb.Fatalf("history: %v %v", h, err)
	}
	return got, int(h[0].ID)
}

// TestLoopStopsAtHistoryCap: a Pass→Choice loop of a million passes (two
// million states) fails with States.Runtime at the default cap of 25,000
// events, and the engine's heap stays small while it runs: each
// transition enters at most a hundred states.
func TestLoopStopsAtHistoryCap(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 25,000 history events")
	}
	t.Parallel()
	e := workflowtest.StartEngine(t, workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources()))
	var got *workflow.Execution
	var events int
	peak := peakHeap(func() { got, events = runLoopToCap(t, e, "million") })
	t.Logf("loop to the history cap: %d events, peak heap growth %.1f MiB", events, float64(peak)/(1<<20))
	if got.Status != workflow.StatusFailed || got.Error != "States.Runtime" || !strings.Contains(got.Cause, "25000") {
		t.Fatalf("execution: %s %s %s", got.Status, got.Error, got.Cause)
	}
	if events > workflow.DefaultHistoryEvents || events < workflow.DefaultHistoryEvents-10 {
		t.Fatalf("%d events, want the cap %d", events, workflow.DefaultHistoryEvents)
	}
	// Before the cap one execution of this loop held its whole run in
	// memory (2 GB); bounded steps keep it to a few MiB.
	if peak > 64<<20 {
		t.Fatalf("peak heap growth %.1f MiB while the loop ran; want at most 64 MiB", float64(peak)/(1<<20))
	}
}

// BenchmarkLoopToHistoryCap reports the time and the peak heap growth of
// running the million-pass loop into the history cap.
func BenchmarkLoopToHistoryCap(b *testing.B) {
	benchDBs(b, func(b *testing.B, open workflowtest.Open) {
		e := workflowtest.StartEngine(b, workflowtest.Config(open(b), workflowtest.Resources()))
		var peak uint64
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			p := peakHeap(func() { runLoopToCap(b, e, "") })
			peak = max(peak, p)
		}
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		b.ReportMetric(float64(workflow.DefaultHistoryEvents*b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
