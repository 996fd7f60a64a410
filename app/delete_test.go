package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/workflow"
)

func deleteMedia(t *testing.T, base, id string) (int, apiserver.MediaDeleted) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, base+"/v1/media/"+id, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d apiserver.MediaDeleted
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, d
}

func waitNoRunning(t *testing.T, a *App, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		xs, _, err := a.Engine.ListExecutions(context.Background(), workflow.ListExecutionsParams{CorrelationID: id,
			Status: workflow.StatusRunning, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(xs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d executions still running", id, len(xs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDeleteMediaRemovesEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	catalogs(t, nil, func(t *testing.T, a *App, base string) {
		ctx := context.Background()
		zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 4096)...)
		m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: "bad.zip", Size: int64(len(zip)), Body: bytes.NewReader(zip)})
		if err != nil {
			t.Fatal(err)
		}
		if got := waitStatus(t, base, m.ID, 2*time.Minute); got["status"] != "FAILED" {
			t.Fatalf("setup: %v", got["status"])
		}
		// The record says FAILED from the error path's recording task; the
		// execution ends a state later. Delete once it has ended, so that
		// nothing is left to stop.
		waitNoRunning(t, a, m.ID)
		code, d := deleteMedia(t, base, m.ID)
		if code != http.StatusOK || !d.Record || d.Failures != 1 || !slices.Contains(d.Objects, m.BucketKey) || len(d.StoppedExecutions) != 0 {
			t.Fatalf("DELETE: %d %+v", code, d)
		}
		if ok, _ := a.Bucket.Exists(ctx, m.BucketKey); ok {
			t.Fatalf("%s still stored", m.BucketKey)
		}
		resp, err := http.Get(base + "/v1/media/" + m.ID)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("GET after delete: %s", resp.Status)
		}
		fl, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: m.ID})
		if err != nil || len(fl.Failures) != 0 {
			t.Fatalf("failures after delete: %+v %v", fl, err)
		}
		if code, _ := deleteMedia(t, base, m.ID); code != http.StatusNotFound {
			t.Fatalf("second DELETE: %d", code)
		}
		// The reconciler does not bring anything of it back.
		rep, err := a.Reconcile(ctx, ReconcileParams{Grace: time.Nanosecond})
		if err != nil || len(rep.Registered) != 0 {
			t.Fatalf("reconcile after delete: %+v %v", rep, err)
		}
	})
}

func TestDeleteMediaStopsItsExecution(t *testing.T) {
	t.Parallel()
	catalogs(t, nil, func(t *testing.T, a *App, base string) {
		ctx := context.Background()
		id := postUpload(t, base, "held.txt", 10)
		waitStatus(t, base, id, 30*time.Second)
		sm, err := a.Engine.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "hold",
			Definition: `{"StartAt":"Hold","States":{"Hold":{"Type":"Wait","Seconds":600,"End":true}}}`})
		if err != nil {
			t.Fatal(err)
		}
		ex, err := a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Input: []byte(`{}`),
			CorrelationID: id, Tenant: "default"})
		if err != nil {
			t.Fatal(err)
		}
		code, d := deleteMedia(t, base, id)
		if code != http.StatusOK || len(d.StoppedExecutions) != 1 || d.StoppedExecutions[0] != ex.ARN {
			t.Fatalf("DELETE: %d %+v", code, d)
		}
		got, err := a.Engine.DescribeExecution(ctx, ex.ARN)
		if err != nil || got.Status != workflow.StatusAborted {
			t.Fatalf("execution after delete: %+v %v", got, err)
		}
		if _, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id}); err == nil {
			t.Fatal("record still there")
		}
	})
}
