// Package workflowtest is the driver suite of package workflow: Run
// exercises an engine over one database (SQLite always, PostgreSQL when
// LANDFALL_TEST_POSTGRES_URL is set), each test in its own file or
// schema. It also holds the helpers the crash and scale-out tests share.
package workflowtest

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/workflow"
)

//go:embed testdata/*.json
var testdata embed.FS

// Definition returns a state machine definition from testdata by name
// ("pipeline20" reads testdata/pipeline20.asl.json).
func Definition(tb testing.TB, name string) string {
	tb.Helper()
	b, err := testdata.ReadFile("testdata/" + name + ".asl.json")
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Open returns a new empty database URL for one test.
type Open func(tb testing.TB) string

// SQLite returns a fresh SQLite database URL in the test's temp folder.
func SQLite(tb testing.TB) string {
	return "sqlite://" + filepath.Join(tb.TempDir(), "workflow.db")
}

// Postgres returns the test PostgreSQL URL with a new schema as its
// search_path, dropped when the test ends. It skips the test when
// LANDFALL_TEST_POSTGRES_URL is unset.
func Postgres(tb testing.TB) string {
	tb.Helper()
	base := testutil.PostgresURL(tb)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "wft_" + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			tb.Logf("drop schema %s: %v", schema, err)
		}
	})
	return u.String()
}

// Functions returns the test function table for resources "test:fn:NAME":
// add {n, by} → {n: n+by}; square x → {y: x*x}; sum {xs} → {sum};
// flaky fails with Test.Flaky on attempt 0; fail fails with Test.Failed;
// sleep {ms} sleeps; echo returns its input.
func Functions() *workflow.Functions {
	fns := workflow.NewFunctions("test:fn:")
	fns.Add("add", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		var in struct{ N, By int }
		if err := json.Unmarshal(inv.Input, &in); err != nil {
			return nil, &workflow.TaskError{Name: "Test.BadInput", Cause: err.Error()}
		}
		return json.Marshal(map[string]int{"n": in.N + in.By})
	})
	fns.Add("square", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		var in struct{ X int }
		if err := json.Unmarshal(inv.Input, &in); err != nil {
			return nil, &workflow.TaskError{Name: "Test.BadInput", Cause: err.Error()}
		}
		return json.Marshal(map[string]int{"y": in.X * in.X})
	})
	fns.Add("sum", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		var in struct{ Xs []int }
		if err := json.Unmarshal(inv.Input, &in); err != nil {
			return nil, &workflow.TaskError{Name: "Test.BadInput", Cause: err.Error()}
		}
		s := 0
		for _, x := range in.Xs {
			s += x
		}
		return json.Marshal(map[string]int{"sum": s})
	})
	fns.Add("flaky", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		if inv.Attempt == 0 {
			return nil, &workflow.TaskError{Name: "Test.Flaky", Cause: "first attempt fails"}
		}
		return json.Marshal(map[string]int{"attempt": inv.Attempt})
	})
	fns.Add("fail", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		return nil, errcode.New(errcode.MediaCorrupt, "test input is corrupt")
	})
	fns.Add("sleep", func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		var in struct{ Ms int }
		_ = json.Unmarshal(inv.Input, &in)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(in.Ms) * time.Millisecond):
		}
		return inv.Input, nil
	})
	fns.Add("echo", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		return inv.Input, nil
	})
	return fns
}

// Resources returns a registry with Functions under "test:fn:".
func Resources() *workflow.Resources {
	r := workflow.NewResources()
	r.Register("test:fn:", Functions())
	return r
}

// Config returns an engine configuration for tests: short lease and
// reaper interval so failures are seen quickly.
func Config(dbURL string, res *workflow.Resources) workflow.Config {
	return workflow.Config{DB: dbURL, Resources: res, Workers: 16, Lease: 2 * time.Second, ReapInterval: 200 * time.Millisecond}
}

// StartEngine opens and starts an engine that is closed when the test
// ends.
func StartEngine(tb testing.TB, cfg workflow.Config) *workflow.Engine {
	tb.Helper()
	ctx := context.Background()
	e, err := workflow.Open(ctx, cfg)
	if err != nil {
		tb.Fatalf("open engine: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := e.Close(ctx); err != nil {
			tb.Logf("close engine: %v", err)
		}
	})
	if err := e.Start(ctx); err != nil {
		tb.Fatalf("start engine: %v", err)
	}
	return e
}

// Wait waits up to d for the execution to end.
func Wait(tb testing.TB, e *workflow.Engine, arn string, d time.Duration) *workflow.Execution {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	x, err := e.WaitExecution(ctx, arn)
	if err != nil {
		h, _, _ := e.History(context.Background(), arn, workflow.HistoryParams{})
		tb.Fatalf("execution %s did not end within %v (%v); history:\n%s", arn, d, err, FormatHistory(h))
	}
	return x
}

// FormatHistory renders events one a line, for failure messages.
func FormatHistory(h []workflow.HistoryEvent) string {
	var b strings.Builder
	for _, ev := range h {
		fmt.Fprintf(&b, "%4d <- %-4d %-28s %s\n", ev.ID, ev.PreviousID, ev.Type, ev.Details)
	}
	return b.String()
}

// CheckHistory verifies the invariants of a finished execution's history:
// ids run 1..n without gaps, each previous id is earlier, the first event
// is ExecutionStarted and the last ends the execution, and no state of a
// loop-free machine is entered twice in the same frame (every transition
// exactly once). It returns the count of each event type.
func CheckHistory(tb testing.TB, h []workflow.HistoryEvent) map[string]int {
	tb.Helper()
	counts := map[string]int{}
	if len(h) == 0 {
		tb.Fatal("empty history")
	}
	for i, ev := range h {
		if ev.ID != int64(i+1) {
			tb.Fatalf("event %d has id %d; history:\n%s", i, ev.ID, FormatHistory(h))
		}
		if ev.PreviousID >= ev.ID || ev.PreviousID < 0 {
			tb.Fatalf("event %d has previous id %d", ev.ID, ev.PreviousID)
		}
		counts[ev.Type]++
	}
	if h[0].Type != "ExecutionStarted" {
		tb.Fatalf("first event is %s", h[0].Type)
	}
	switch h[len(h)-1].Type {
	case "ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut":
	default:
		tb.Fatalf("last event is %s; history:\n%s", h[len(h)-1].Type, FormatHistory(h))
	}
	for _, ev := range h[:len(h)-1] {
		if strings.HasPrefix(ev.Type, "Execution") && ev.Type != "ExecutionStarted" && ev.Type != "ExecutionRedriven" {
			tb.Fatalf("event %d %s before the end; history:\n%s", ev.ID, ev.Type, FormatHistory(h))
		}
	}
	return counts
}

// Pipeline20Counts is the number of each event type of one successful
// execution of pipeline20 (2 branches, 5 map items).
var Pipeline20Counts = map[string]int{
	"ExecutionStarted": 1, "ExecutionSucceeded": 1,
	"TaskScheduled": 10, "TaskStarted": 10, "TaskSucceeded": 10,
	"TaskStateEntered": 10, "TaskStateExited": 10,
	"WaitStateEntered": 3, "WaitStateExited": 3,
	"PassStateEntered": 10, "PassStateExited": 10,
	"ChoiceStateEntered": 1, "ChoiceStateExited": 1,
	"SucceedStateEntered": 1, "SucceedStateExited": 1,
	"ParallelStateEntered": 1, "ParallelStateStarted": 1, "ParallelStateSucceeded": 1, "ParallelStateExited": 1,
	"MapStateEntered": 1, "MapStateStarted": 1, "MapIterationStarted": 5, "MapIterationSucceeded": 5, "MapStateSucceeded": 1, "MapStateExited": 1,
}

// Pipeline20Output is pipeline20's output.
const Pipeline20Output = `{"fan":[{"n":111},{"n":1011}],"n":11,"total":55}`
