package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// A task's error leaves with its ASL name kept and every path under the
// installation's folders rewritten; errors.Is still sees the original.
func TestRedactingTaskErrors(t *testing.T) {
	t.Parallel()
	cfg := config.Default("/srv/lf")
	cfg.Blob = "file:///srv/lf/bucket?create_dir=true"
	red := newRedactor(cfg, "/srv/lf/work")
	base := errcode.New(errcode.MediaCorrupt, "ffprobe /srv/lf/bucket/incoming/default/01.wav: exit status 1: /srv/lf/bucket/incoming/default/01.wav: Invalid data")
	for _, c := range []struct {
		err        error
		name, want string
	}{
		{base, "Media.Corrupt", "ffprobe incoming/default/01.wav: exit status 1: incoming/default/01.wav: Invalid data"},
		{fmt.Errorf("storing: %w", &os.PathError{Op: "write", Path: "/srv/lf/work/default/01/ocr.json", Err: errors.New("no space left on device")}),
			"States.TaskFailed", "storing: write ocr.json: no space left on device"},
		{&workflow.TaskError{Name: "States.Runtime", Cause: "open /srv/lf/landfall.db: locked"}, "States.Runtime", "open landfall.db: locked"},
	} {
		_, err := redacting(red, func(context.Context, workflow.Invocation) (json.RawMessage, error) { return nil, c.err })(context.Background(), workflow.Invocation{})
		var te *workflow.TaskError
		if !errors.As(err, &te) || te.Name != c.name || te.Cause != c.want {
			t.Errorf("redacted %v\n got %+v\nwant %s: %s", c.err, te, c.name, c.want)
		}
		if !errors.Is(err, c.err) {
			t.Errorf("errors.Is(redacted, original) = false for %v", c.err)
		}
	}
}

// A task's output names no server path either.
func TestRedactingTaskOutput(t *testing.T) {
	t.Parallel()
	cfg := config.Default("/srv/lf")
	cfg.Blob = "file:///srv/lf/bucket"
	red := newRedactor(cfg, "/srv/lf/work")
	out, err := redacting(red, func(context.Context, workflow.Invocation) (json.RawMessage, error) {
		return json.RawMessage(`{"ref":"work/t/m/media.json","output":{"keyframes":[{"path":"/srv/lf/work/t/m/frames/0001.png","time":1.5}],"source":"/srv/lf/bucket/incoming/t/m.mp4"}}`), nil
	})(context.Background(), workflow.Invocation{})
	want := `{"ref":"work/t/m/media.json","output":{"keyframes":[{"path":"frames/0001.png","time":1.5}],"source":"incoming/t/m.mp4"}}`
	if err != nil || string(out) != want {
		t.Fatalf("output %s, %v\nwant %s", out, err, want)
	}
}

// ffprobe's complaint about a corrupt upload names the file by its full
// path; the failure cause recorded for the media, the failures table and
// the execution's history name the object key instead.
func TestCorruptUploadCauseNamesNoServerPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	ctx := context.Background()
	a, _ := testApp(t, nil)
	src := filepath.Join(t.TempDir(), "tone.wav")
	if err := mediagen.Tone(ctx, src, 2, 440); err != nil {
		t.Fatal(err)
	}
	// The RIFF/WAVE magic stays; the fmt chunk is destroyed, so the file
	// looks like a WAV and ffprobe fails on it.
	bad := filepath.Join(t.TempDir(), "bad.wav")
	if err := mediagen.Corrupt(src, bad, 12, 32); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: "bad.wav", Size: -1, Body: f})
	if err != nil {
		t.Fatal(err)
	}
	m = waitDone(t, a, m.ID, 2*time.Minute)
	if m.Status != types.StatusFailed || !strings.HasPrefix(m.Error, "Media.") {
		t.Fatalf("status %s error %s cause %q, want a Media.* failure", m.Status, m.Error, m.Cause)
	}
	leaks := func(what, s string) {
		t.Helper()
		for _, root := range []string{a.Cfg.Data, os.TempDir() + "/"} {
			if strings.Contains(s, root) {
				t.Errorf("%s names a server path (%s): %s", what, root, s)
			}
		}
	}
	t.Logf("cause: %s", m.Cause)
	leaks("media cause", m.Cause)
	// The cause names the file as the user uploaded it.
	if !strings.Contains(m.Cause, `"bad.wav"`) {
		t.Errorf("media cause %q does not name the uploaded file bad.wav", m.Cause)
	}
	page, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default", MediaID: m.ID})
	if err != nil || len(page.Failures) != 1 {
		t.Fatalf("failures: %v %+v", err, page)
	}
	leaks("failure cause", page.Failures[0].Cause)
	hist, _, err := a.Engine.History(ctx, page.Failures[0].ExecutionID, workflow.HistoryParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range hist {
		leaks("history event "+e.Type, string(e.Details))
	}
}

// A video that goes through every visual analyser (keyframes, OCR, faces)
// leaves an execution history without a server path.
func TestSucceededHistoryNamesNoServerPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	ctx := context.Background()
	a, _ := testApp(t, nil)
	src := filepath.Join(t.TempDir(), "slides.mp4")
	if _, err := mediagen.Video(ctx, src, mediagen.VideoSpec{Width: 320, Height: 240,
		Slides: []mediagen.Slide{{Text: "Quarterly Review", Seconds: 2}, {Text: "Thank You", Seconds: 2}}}); err != nil {
		t.Fatal(err)
	}
	m := upload(t, a, src)
	m = waitDone(t, a, m.ID, 3*time.Minute)
	if m.Status != types.StatusSucceeded {
		t.Fatalf("status %s: %s %s", m.Status, m.Error, m.Cause)
	}
	hist, _, err := a.Engine.History(ctx, m.ExecutionID, workflow.HistoryParams{})
	if err != nil {
		t.Fatal(err)
	}
	sawOutput := false
	for _, e := range hist {
		for _, root := range []string{a.Cfg.Data, os.TempDir() + "/"} {
			if strings.Contains(string(e.Details), root) {
				t.Errorf("history event %s names a server path (%s): %.400s", e.Type, root, e.Details)
			}
		}
		sawOutput = sawOutput || e.Type == "TaskSucceeded" && strings.Contains(string(e.Details), "keyframes")
	}
	if !sawOutput {
		t.Errorf("no TaskSucceeded event carries the media task's keyframes: the check saw nothing to redact")
	}
}
