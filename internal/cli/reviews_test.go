package cli

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// landfall reviews list|show|approve|reject against a server whose
// policy reviews everything.
func TestReviewsCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := config.Default(filepath.Join(dir, "data"))
	cfg.Review.Policy = config.ReviewAll
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API)
	defer srv.Close()
	s := "--server=" + srv.URL

	var ids []string
	for _, name := range []string{"keep.png", "drop.png"} {
		img := filepath.Join(dir, name)
		if err := mediagen.Image(ctx, img, mediagen.ImageSpec{Text: "Harbour " + name}); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: name, Size: fi.Size(), Body: f})
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, out, _ := run(t, "", "reviews", "list", s)
		if code == 0 && strings.Contains(out, "keep.png") && strings.Contains(out, "drop.png") {
			if !strings.Contains(out, "tenant_policy") || !strings.Contains(out, "2 open, 0 claimed; by reason: tenant_policy 2") {
				t.Fatalf("list:\n%s", out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue never filled:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	code, out, errOut := run(t, "", "reviews", "show", ids[0], s)
	if code != 0 || !strings.Contains(out, "keep.png") || !strings.Contains(out, "reason: tenant_policy") {
		t.Fatalf("show: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run(t, "", "reviews", "reject", ids[1], s); code != ExitInvalid || !strings.Contains(errOut, "--reason is required") {
		t.Fatalf("reject without a reason: %d %s", code, errOut)
	}
	if code, out, errOut = run(t, "", "reviews", "approve", ids[0], "--reviewer", "ann", s); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	if code, _, errOut = run(t, "", "reviews", "approve", ids[0], "--reviewer", "bob", s); code != ExitFailure || !strings.Contains(errOut, "already decided (approved by ann") {
		t.Fatalf("second approve: %d %s", code, errOut)
	}
	if code, out, errOut = run(t, "", "reviews", "reject", ids[1], "--reason", "not our poster", s); code != 0 || !strings.Contains(out, "rejected") {
		t.Fatalf("reject: %d %s %s", code, out, errOut)
	}
	for i, want := range []types.Status{types.StatusSucceeded, types.StatusRejected} {
		for {
			m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: ids[i]})
			if err != nil {
				t.Fatal(err)
			}
			if m.Status == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s is %s, want %s", ids[i], m.Status, want)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if code, out, _ = run(t, "", "reviews", "list", s); code != 0 || !strings.Contains(out, "the review queue is empty") {
		t.Fatalf("list after: %d %s", code, out)
	}
}
