package catalogtest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// testJobs records a job's token, replaces it for a retried state, finds
// it by service and id only, refuses bad jobs naming the field, and
// forgets it (only for the token given, when one is).
func testJobs(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	job := catalog.Job{Service: "transcribe", ID: "landfall-m1-abcd", Task: "transcribe", TenantID: "acme", MediaID: "m1",
		TaskToken: "token-1", Input: json.RawMessage(`{"media":{"id":"m1"}}`)}
	if err := st.JobPut(ctx, &catalog.JobPutParams{Job: job}); err != nil {
		t.Fatal(err)
	}
	got, err := st.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: job.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got.TaskToken != "token-1" || got.TenantID != "acme" || got.MediaID != "m1" || got.Task != "transcribe" ||
		!strings.Contains(string(got.Input), `"m1"`) || !got.CreatedAt.Equal(b.clock.Now()) {
		t.Fatalf("job %+v", got)
	}
	if _, err := st.JobGet(ctx, &catalog.JobGetParams{Service: "rekognition", ID: job.ID}); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("another service's job: %v", err)
	}
	job.TaskToken = "token-2"
	if err := st.JobPut(ctx, &catalog.JobPutParams{Job: job}); err != nil {
		t.Fatal(err)
	}
	if got, err := st.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: job.ID}); err != nil || got.TaskToken != "token-2" {
		t.Fatalf("replaced token: %+v %v", got, err)
	}
	for _, bad := range []struct {
		j     catalog.Job
		field string
	}{
		{catalog.Job{ID: "x", Task: "t", TenantID: "acme", MediaID: "m", TaskToken: "t"}, "job/service"},
		{catalog.Job{Service: "s", Task: "t", TenantID: "acme", MediaID: "m", TaskToken: "t"}, "job/id"},
		{catalog.Job{Service: "s", ID: "x", Task: "t", TenantID: "acme", MediaID: "m"}, "job/task_token"},
		{catalog.Job{Service: "s", ID: "x", Task: "t", TenantID: "acme", MediaID: "m", TaskToken: "t", Input: json.RawMessage(`{`)}, "job/input"},
	} {
		wantCode(t, st.JobPut(ctx, &catalog.JobPutParams{Job: bad.j}), errcode.Invalid, bad.field)
	}
	// A stale attempt's token does not forget the newer attempt's job.
	if err := st.JobDelete(ctx, &catalog.JobDeleteParams{Service: "transcribe", ID: job.ID, TaskToken: "token-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: job.ID}); err != nil {
		t.Fatalf("the newer job was forgotten: %v", err)
	}
	if err := st.JobDelete(ctx, &catalog.JobDeleteParams{Service: "transcribe", ID: job.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: job.ID}); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("deleted job: %v", err)
	}
	if err := st.JobDelete(ctx, &catalog.JobDeleteParams{Service: "transcribe", ID: job.ID}); err != nil {
		t.Fatalf("deleting a missing job: %v", err)
	}
}
