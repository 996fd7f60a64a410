package app

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/pipelines"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// waitFinished polls until media id exists and has finished.
func waitFinished(t *testing.T, a *App, id string, within time.Duration) *catalog.Media {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := a.Catalog.MediaGet(context.Background(), &catalog.MediaGetParams{ID: id})
		if err == nil && pipeline.Finished(m.Status) {
			return m
		}
		if err != nil && !errors.Is(err, errcode.NotFound) {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s not finished after %s (%v)", id, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A file dropped into the bucket runs under the tenant of its folder, with
// its media id as the execution's correlation id; delivering its event
// again after it finished starts nothing; a failed item redriven runs
// again rather than being refused as already processed.
func TestExecutionsCarryTheKeysTenantAndMediaID(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	ctx := context.Background()
	a, _ := testApp(t, nil)
	png := filepath.Join(t.TempDir(), "card.png")
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	body, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	key := "incoming/default/dropped card.png"
	if err := a.Bucket.WriteAll(ctx, key, body, nil); err != nil {
		t.Fatal(err)
	}
	attrs, err := a.Bucket.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	ev := bus.ObjectCreated(BucketName(a.Cfg.Blob), bus.ObjectDetail{Key: key, Size: int64(len(body)), ETag: attrs.ETag}, "PutObject", time.Now())
	if err := a.Bus.Put(ctx, ev); err != nil {
		t.Fatal(err)
	}
	id := pipeline.DroppedMediaID(key, attrs.ETag)
	m := waitFinished(t, a, id, 3*time.Minute)
	if m.Status != types.StatusSucceeded || m.TenantID != "default" {
		t.Fatalf("dropped file: %s %s %s: %s", m.TenantID, m.Status, m.Error, m.Cause)
	}
	execs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: id})
	if err != nil || len(execs) != 1 || execs[0].Tenant != "default" {
		t.Fatalf("executions of %s: %+v %v", id, execs, err)
	}

	// The same event again: nothing starts, nothing changes.
	input, _ := json.Marshal(map[string]any{"bucket": BucketName(a.Cfg.Blob), "key": key, "size": len(body), "etag": attrs.ETag, "event_id": "again"})
	arn, err := starter{a}.StartExecution(ctx, pipelines.MediaName, "again", input)
	if err != nil || arn != "" {
		t.Fatalf("re-delivery of a processed object started %q (%v)", arn, err)
	}
	// A key of no tenant, or with "..", starts nothing.
	for _, k := range []string{"incoming/nobody/x.png", "incoming/default/../other/x.png"} {
		in, _ := json.Marshal(map[string]any{"bucket": BucketName(a.Cfg.Blob), "key": k})
		if arn, err := (starter{a}).StartExecution(ctx, pipelines.MediaName, "bad", in); err == nil {
			t.Errorf("%s: started %s", k, arn)
		}
	}

	// A failed upload, redriven, runs again and fails for its own reason.
	zip := filepath.Join(t.TempDir(), "archive.zip")
	if err := os.WriteFile(zip, append([]byte("PK\x03\x04"), make([]byte, 4096)...), 0o644); err != nil {
		t.Fatal(err)
	}
	up := upload(t, a, zip)
	if m := waitFinished(t, a, up.ID, 3*time.Minute); m.Status != types.StatusFailed {
		t.Fatalf("archive: %s", m.Status)
	}
	fails, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: up.ID})
	if err != nil || len(fails.Failures) != 1 {
		t.Fatalf("failures %+v %v", fails, err)
	}
	if _, err := (redriver{a}).RedriveMedia(ctx, fails.Failures[0]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		fails, err = a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: up.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(fails.Failures) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the redriven execution recorded no failure: %+v", fails.Failures)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f := fails.Failures[0]; f.ErrorName != string(errcode.MediaUnsupported) {
		t.Fatalf("redriven: %s %s", f.ErrorName, f.Cause)
	}
}
