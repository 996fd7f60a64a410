package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

func TestUnsupportedFileFailsWithAdviceByName(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	catalogs(t, nil, func(t *testing.T, a *App, base string) {
		ctx := context.Background()
		zip := append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 4096)...)
		m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: "quarterly notes.zip", Size: int64(len(zip)), Body: bytes.NewReader(zip)})
		if err != nil {
			t.Fatal(err)
		}
		got := waitStatus(t, base, m.ID, 2*time.Minute)
		cause, _ := got["cause"].(string)
		if got["status"] != "FAILED" || got["error"] != "Media.Unsupported" || !strings.Contains(cause, `quarterly notes.zip`) || strings.Contains(cause, m.ID) {
			t.Fatalf("unsupported file: %v %v %q", got["status"], got["error"], cause)
		}
		if got["retryable"] != false {
			t.Fatalf("the record of an unsupported file says retryable %v, want false", got["retryable"])
		}
		var page struct {
			Media []map[string]any `json:"media"`
		}
		getJSON(t, base+"/v1/media?kind=unsupported", &page)
		if len(page.Media) != 1 || page.Media[0]["id"] != m.ID {
			t.Fatalf("?kind=unsupported lists %v", page.Media)
		}
		fl, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: m.ID})
		if err != nil || len(fl.Failures) != 1 {
			t.Fatalf("failures %+v %v", fl, err)
		}
		f := fl.Failures[0]
		if f.Retryable {
			t.Fatalf("unsupported failure recorded as retryable: %+v", f)
		}
		resp, err := http.Post(fmt.Sprintf("%s/v1/failures/%d/redrive", base, f.ID), "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		var prob map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&prob)
		resp.Body.Close()
		if resp.StatusCode != http.StatusConflict || !strings.Contains(fmt.Sprint(prob["detail"]), "not retryable: Media.Unsupported") {
			t.Fatalf("redrive of an unsupported file: %s %v", resp.Status, prob)
		}
		fl, _ = a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: m.ID})
		if len(fl.Failures) != 1 {
			t.Fatalf("a refused redrive left %d failure rows", len(fl.Failures))
		}
		// A redelivered event of the finished item runs nothing and changes
		// nothing; a later upload's settling shows the bus got past it.
		before, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		ev := bus.ObjectCreated(BucketName(a.Cfg.Blob), bus.ObjectDetail{Key: before.BucketKey, Size: before.Size, ETag: "again"}, "", time.Now())
		if err := a.Bus.Put(ctx, ev); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, base, postUpload(t, base, "later.txt", 10), 30*time.Second)
		after, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != types.StatusFailed || after.Version != before.Version || len(xs) != 1 {
			t.Fatalf("redelivery: %s v%d → %s v%d, %d executions", before.Status, before.Version, after.Status, after.Version, len(xs))
		}
	})
}
