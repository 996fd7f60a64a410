package app

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// mountTmpfs mounts a tmpfs of size bytes on a new folder, unmounted when
// the test ends. It skips the test, saying why, where that is not allowed.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("full-disk test: mounting a small tmpfs needs root (run the tests as root, or in a container with CAP_SYS_ADMIN)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		t.Skipf("full-disk test: cannot mount a tmpfs on %s: %v (needs CAP_SYS_ADMIN)", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Logf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * st.Bsize
}

// TestFullDiskEveryUploadSettles runs the embedded app with its whole data
// folder (database, bucket, work files) on a small tmpfs, fills the disk
// so that processing fails for lack of space, then frees the space: every
// upload that was accepted ends SUCCEEDED, FAILED or SKIPPED with a reason,
// the failures are recorded (by the pipeline, or by the reconciler when
// recording them failed too), and a redrive after freeing space succeeds.
func TestFullDiskEveryUploadSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on a tmpfs")
	}
	t.Parallel()
	data := mountTmpfs(t, 48<<20)
	src := t.TempDir()
	ctx := context.Background()
	wav := filepath.Join(src, "talk.wav")
	if err := mediagen.Speech(ctx, wav, "The harbour master counts the fishing boats every morning before the tide turns.", mediagen.VoiceMale); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(src, "poster.png")
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	tiny := filepath.Join(src, "note.txt")
	if err := os.WriteFile(tiny, []byte("a note of less than one KiB"), 0o644); err != nil {
		t.Fatal(err)
	}

	cfg := config.Default(data)
	cfg.Workers = 4
	actx, cancel := context.WithCancel(ctx)
	// A write the disk refused shows either as an item's cause or, where
	// recording the result failed too and was retried, in the log.
	logged := noSpaceLog{slog.NewTextHandler(io.Discard, nil), new(atomic.Int64)}
	a, err := New(actx, cfg, Options{ReconcileEvery: -1, Logger: slog.New(logged)})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(actx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); a.Close(context.Background()) }()

	wavSize := fileSize(t, wav)
	// Leave room for the uploads and their records, not for the work files
	// the pipeline writes (the extracted audio track alone is about the
	// size of the upload).
	filler := filepath.Join(data, "filler")
	room := wavSize + fileSize(t, png) + 1<<20
	fill := freeBytes(t, data) - room
	if err := os.WriteFile(filler, make([]byte, max(fill, 0)), 0o600); err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	t.Logf("disk filled: %d bytes free for uploads of %d bytes", freeBytes(t, data), wavSize+fileSize(t, png))

	var accepted []*catalog.Media
	for _, f := range []string{wav, png, tiny} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: filepath.Base(f), Size: int64(len(b)), Body: bytes.NewReader(b)})
		if err != nil {
			t.Logf("%s: upload refused on the full disk: %v", filepath.Base(f), err)
			continue
		}
		accepted = append(accepted, m)
	}
	if len(accepted) == 0 {
		t.Fatal("no upload was accepted; the disk was filled too far for the test")
	}

	// On the full disk the items end, or stay open when even recording
	// their state failed; wait until none changes for a while.
	var causes []string
	settledOrStuck := func() bool {
		causes = causes[:0]
		open := 0
		for _, m := range accepted {
			got, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
			if err != nil {
				t.Logf("%s: %v", m.ID, err)
				open++
				continue
			}
			cause := string(got.Status) + " " + got.Cause
			xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Limit: 1})
			if err == nil && len(xs) > 0 {
				if ex, err := a.Engine.DescribeExecution(ctx, xs[0].ARN); err == nil {
					cause += " | execution " + string(ex.Status) + " " + ex.Error + ": " + ex.Cause
					if ex.Status != workflow.StatusRunning {
						causes = append(causes, filepath.Base(got.BucketKey)+": "+cause)
						continue
					}
				}
			}
			causes = append(causes, filepath.Base(got.BucketKey)+": "+cause)
			if !final(got.Status) {
				open++
			}
		}
		return open == 0
	}
	for end := time.Now().Add(20 * time.Second); !settledOrStuck() && time.Now().Before(end); {
		time.Sleep(250 * time.Millisecond)
	}
	sawNoSpace := false
	for _, c := range causes {
		t.Logf("on the full disk: %s", c)
		sawNoSpace = sawNoSpace || isNoSpace(c)
	}

	// Space is freed: reconciliation settles what is still open.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	for {
		rep, err := a.Reconcile(ctx, ReconcileParams{Grace: time.Second, Stale: time.Second})
		if settledOrStuck() {
			t.Logf("after freeing space: every accepted upload final %.1fs later (last pass settled %v, err %v)", time.Since(freed).Seconds(), rep.Settled, err)
			break
		}
		if time.Since(freed) > 2*time.Minute {
			t.Fatalf("accepted uploads still open two minutes after space was freed (reconcile: %v): %v", err, causes)
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, c := range causes {
		sawNoSpace = sawNoSpace || isNoSpace(c)
	}
	if n := logged.seen.Load(); n > 0 {
		t.Logf("%d writes refused for lack of space were logged and retried", n)
		sawNoSpace = true
	}
	if !sawNoSpace {
		t.Fatalf("no write failed for lack of space; the test did not fill the disk enough: %v", causes)
	}
	// Every accepted upload is final, with a reason when it did not
	// succeed; a failure for lack of space is worth a redrive, which now
	// succeeds.
	for _, m := range accepted {
		got, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("settled: %s %s %s: %s", filepath.Base(got.BucketKey), got.Status, got.Error, got.Cause)
		if got.Status != types.StatusSucceeded && got.Cause == "" {
			t.Fatalf("%s: %s without a reason", got.ID, got.Status)
		}
		if got.Status != types.StatusFailed || !isNoSpace(got.Cause) {
			continue
		}
		fl, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: got.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(fl.Failures) == 0 {
			t.Fatalf("%s: FAILED for lack of space but no failure recorded", got.ID)
		}
		if _, err := (redriver{a}).RedriveMedia(ctx, fl.Failures[0]); err != nil {
			t.Fatalf("redrive %s: %v", got.ID, err)
		}
		done := waitDone(t, a, got.ID, 3*time.Minute)
		t.Logf("redriven with space free: %s %s %s", filepath.Base(done.BucketKey), done.Status, done.Cause)
		if done.Status != types.StatusSucceeded {
			t.Fatalf("%s: redrive after freeing space ended %s: %s", got.ID, done.Status, done.Cause)
		}
	}
}

// noSpaceLog counts the log records that report a write refused for lack
// of space; handlers derived from it count into the same counter.
type noSpaceLog struct {
	slog.Handler
	seen *atomic.Int64
}

func (h noSpaceLog) Handle(ctx context.Context, r slog.Record) error {
	hit := isNoSpace(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		hit = hit || isNoSpace(a.Value.String())
		return !hit
	})
	if hit {
		h.seen.Add(1)
	}
	return h.Handler.Handle(ctx, r)
}

func (h noSpaceLog) WithAttrs(as []slog.Attr) slog.Handler {
	return noSpaceLog{h.Handler.WithAttrs(as), h.seen}
}

func (h noSpaceLog) WithGroup(name string) slog.Handler {
	return noSpaceLog{h.Handler.WithGroup(name), h.seen}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func final(s types.Status) bool {
	return s == types.StatusSucceeded || s == types.StatusFailed || s == types.StatusSkipped
}

func isNoSpace(s string) bool {
	s = strings.ToLower(s)
	return strings.Contains(s, "no space left") || strings.Contains(s, "disk is full") || strings.Contains(s, "disk full")
}
