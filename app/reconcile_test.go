package app

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// faultyCatalog fails FailureRecord while failing is set, as a full disk
// would.
type faultyCatalog struct {
	catalog.Store
	failing *atomic.Bool
}

func (c faultyCatalog) FailureRecord(ctx context.Context, p *catalog.FailureRecordParams) (*catalog.Failure, error) {
	if c.failing.Load() {
		return nil, errcode.New(errcode.Unavailable, "catalog: database or disk is full")
	}
	return c.Store.FailureRecord(ctx, p)
}

func TestReconcileSettlesFailureThatCouldNotBeRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline and waits out the failure recording's retries")
	}
	t.Parallel()
	var failing [2]atomic.Bool
	n := atomic.Int32{}
	catalogsWith(t, nil, func() Options {
		f := &failing[n.Add(1)-1]
		f.Store(true)
		return Options{ReconcileEvery: -1, WrapCatalog: func(s catalog.Store) catalog.Store { return faultyCatalog{s, f} }}
	}, func(t *testing.T, a *App, base string) {
		ctx := context.Background()
		zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 4096)...)
		m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: "archive.zip", Size: int64(len(zip)), Body: bytes.NewReader(zip)})
		if err != nil {
			t.Fatal(err)
		}
		ex := waitExecutionEnded(t, a, m.ID, 2*time.Minute)
		if ex.Status != workflow.StatusFailed {
			t.Fatalf("execution %s, want FAILED", ex.Status)
		}
		stuck, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if stuck.Status != types.StatusProcessing {
			t.Fatalf("before reconciling: %s, want PROCESSING (the failure could not be recorded)", stuck.Status)
		}
		// While the store still fails, the pass reports it and changes nothing.
		if _, err := a.Reconcile(ctx, ReconcileParams{}); err == nil || !strings.Contains(err.Error(), "disk is full") {
			t.Fatalf("reconcile on a failing store: %v", err)
		}
		// Space is freed: the next pass settles it, once.
		cat := a.Catalog.(faultyCatalog)
		cat.failing.Store(false)
		for i := 0; i < 2; i++ {
			rep, err := a.Reconcile(ctx, ReconcileParams{})
			if err != nil {
				t.Fatal(err)
			}
			if want := 1 - i; len(rep.Settled) != want {
				t.Fatalf("pass %d settled %v, want %d item(s)", i+1, rep.Settled, want)
			}
		}
		got, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != types.StatusFailed || got.Error != ex.Error || got.Cause != ex.Cause {
			t.Fatalf("settled as %s %q %q, want FAILED with the execution's %q %q", got.Status, got.Error, got.Cause, ex.Error, ex.Cause)
		}
		fl, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(fl.Failures) != 1 || fl.Failures[0].ExecutionID != ex.ARN || fl.Failures[0].ErrorName != ex.Error {
			t.Fatalf("failures %+v", fl.Failures)
		}
	})
}

func waitExecutionEnded(t *testing.T, a *App, mediaID string, within time.Duration) *workflow.Execution {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		xs, _, err := a.Engine.ListExecutions(context.Background(), workflow.ListExecutionsParams{CorrelationID: mediaID, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) > 0 && xs[0].Status != workflow.StatusRunning {
			ex, err := a.Engine.DescribeExecution(context.Background(), xs[0].ARN)
			if err != nil {
				t.Fatal(err)
			}
			return ex
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ended execution for %s after %s", mediaID, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestReconcileRegistersOrphanObjects(t *testing.T) {
	t.Parallel()
	catalogsWith(t, func(c *config.Config) { c.Uploads.Watch = false }, func() Options { return Options{ReconcileEvery: -1} },
		func(t *testing.T, a *App, base string) {
			ctx := context.Background()
			// An upload stored but killed before its record: its key names
			// its media id. And a file under a tenant folder nobody owns.
			id := catalog.NewMediaID()
			k, err := pipeline.UploadKey("default", id, "txt")
			if err != nil {
				t.Fatal(err)
			}
			for key, size := range map[string]int{k.String(): 64, "incoming/ghost/lost.txt": 64} {
				if err := a.Bucket.WriteAll(ctx, key, bytes.Repeat([]byte("y"), size), nil); err != nil {
					t.Fatal(err)
				}
			}
			// Within the grace period nothing is touched.
			rep, err := a.Reconcile(ctx, ReconcileParams{Grace: time.Hour})
			if err != nil || len(rep.Registered)+len(rep.MovedAside) != 0 {
				t.Fatalf("within grace: %+v %v", rep, err)
			}
			rep, err = a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Registered) != 1 || rep.Registered[0] != k.String() {
				t.Fatalf("registered %v, want [%s]", rep.Registered, k)
			}
			if rep.MovedAside["incoming/ghost/lost.txt"] != "orphaned/incoming/ghost/lost.txt" {
				t.Fatalf("moved aside %v", rep.MovedAside)
			}
			if ok, _ := a.Bucket.Exists(ctx, "orphaned/incoming/ghost/lost.txt"); !ok {
				t.Fatal("the unowned object is not under orphaned/")
			}
			// Registered as an upload would be: its pipeline event is
			// dispatched (this object is too small for the default rule, so
			// it ends SKIPPED with the reason).
			m := waitStatus(t, base, id, 30*time.Second)
			if m["status"] != "SKIPPED" || !strings.Contains(m["cause"].(string), "size 64 B") {
				t.Fatalf("registered orphan: %v %v", m["status"], m["cause"])
			}
			// A second pass finds nothing to do.
			rep, err = a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond})
			if err != nil || len(rep.Registered)+len(rep.MovedAside)+len(rep.Settled) != 0 {
				t.Fatalf("second pass: %+v %v", rep, err)
			}
		})
}

func TestReconcileRepublishesStalePendingItems(t *testing.T) {
	t.Parallel()
	catalogsWith(t, func(c *config.Config) { c.Uploads.Watch = false }, func() Options { return Options{ReconcileEvery: -1} },
		func(t *testing.T, a *App, base string) {
			ctx := context.Background()
			// A record whose event was lost, and one whose object is gone.
			id, gone := catalog.NewMediaID(), catalog.NewMediaID()
			k, _ := pipeline.UploadKey("default", id, "txt")
			kg, _ := pipeline.UploadKey("default", gone, "txt")
			if err := a.Bucket.WriteAll(ctx, k.String(), bytes.Repeat([]byte("z"), 64), nil); err != nil {
				t.Fatal(err)
			}
			for _, c := range []catalog.MediaCreateParams{{ID: id, BucketKey: k.String(), Filename: "lost.txt", Size: 64},
				{ID: gone, BucketKey: kg.String(), Filename: "gone.txt", Size: 64}} {
				c.TenantID = "default"
				if _, err := a.Catalog.MediaCreate(ctx, &c); err != nil {
					t.Fatal(err)
				}
			}
			if rep, err := a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond, Stale: time.Hour}); err != nil || len(rep.Republished) != 0 {
				t.Fatalf("before stale: %+v %v", rep, err)
			}
			rep, err := a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond, Stale: time.Nanosecond})
			if err != nil || len(rep.Republished) != 2 {
				t.Fatalf("republished %+v %v", rep, err)
			}
			if m := waitStatus(t, base, id, 30*time.Second); m["status"] != "SKIPPED" {
				t.Fatalf("republished item: %v %v", m["status"], m["cause"])
			}
			if m := waitStatus(t, base, gone, time.Second); m["status"] != "FAILED" || m["error"] != ErrObjectMissing ||
				!strings.Contains(m["cause"].(string), "gone.txt") {
				t.Fatalf("item without its object: %v %v %v", m["status"], m["error"], m["cause"])
			}
			rep, err = a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond, Stale: time.Nanosecond})
			if err != nil || len(rep.Republished)+len(rep.Settled) != 0 {
				t.Fatalf("second pass: %+v %v", rep, err)
			}
		})
}

func TestReconcileSettlesSucceededExecutions(t *testing.T) {
	t.Parallel()
	catalogsWith(t, nil, func() Options { return Options{ReconcileEvery: -1} }, func(t *testing.T, a *App, base string) {
		ctx := context.Background()
		sm, err := a.Engine.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "done",
			Definition: `{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}`})
		if err != nil {
			t.Fatal(err)
		}
		// Two items left PROCESSING by executions that succeeded: one whose
		// results were persisted, one without results.
		ids := map[string]bool{} // id → has results
		for _, results := range []bool{true, false} {
			m, err := a.Catalog.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "default", BucketKey: "incoming/default/x.mp4", Filename: "x.mp4", Size: 2048})
			if err != nil {
				t.Fatal(err)
			}
			ex, err := a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: []byte(`{}`), CorrelationID: m.ID, Tenant: "default"})
			if err != nil {
				t.Fatal(err)
			}
			upd := &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing, ExecutionID: ex.ARN}
			if results {
				upd.Insights, upd.Summary = &types.Insights{Summary: "a talk"}, "a talk"
			}
			if _, err := a.Catalog.MediaUpdate(ctx, upd); err != nil {
				t.Fatal(err)
			}
			waitExecutionEnded(t, a, m.ID, 30*time.Second)
			ids[m.ID] = results
		}
		rep, err := a.Reconcile(ctx, ReconcileParams{})
		if err != nil || len(rep.Settled) != 2 {
			t.Fatalf("settled %+v %v", rep, err)
		}
		for id, results := range ids {
			m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id})
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case results && m.Status != types.StatusSucceeded:
				t.Errorf("item with results: %s %s", m.Status, m.Error)
			case !results && (m.Status != types.StatusFailed || m.Error != ErrResultsMissing || !strings.Contains(m.Cause, `"x.mp4"`)):
				t.Errorf("item without results: %s %s %s", m.Status, m.Error, m.Cause)
			}
		}
	})
}
