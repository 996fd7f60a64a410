package cli

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// landfall live streams a file to a server and prints its captions: one
// JSON line per message with --json, the final captions otherwise; an MP3
// is decoded locally before it is sent.
func TestLiveCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the recogniser")
	}
	if !stream.Built {
		t.Skip("built without the incremental recogniser")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wav := filepath.Join(dir, "hello.wav")
	if err := mediagen.Speech(ctx, wav, "Good morning and welcome to the weekly product meeting. Today we talk about the new upload service.", mediagen.VoiceMale); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default(filepath.Join(dir, "data"))
	a, err := app.New(ctx, cfg, app.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	srv := httptest.NewServer(a.API)
	defer srv.Close()

	code, stdout, stderr := run(t, "", "live", "--server", srv.URL, "--fast", "--json", "--no-store", wav)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	var events []string
	finals := 0
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var m types.LiveMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		events = append(events, m.Landfall.Event)
		if m.Transcript != nil && !m.Transcript.Results[0].IsPartial {
			finals++
		}
	}
	if events[0] != "started" || events[len(events)-1] != "ended" || finals == 0 {
		t.Fatalf("events %v, %d finals", events, finals)
	}

	start := time.Now()
	code, stdout, stderr = run(t, "", "live", "--server", srv.URL, "--filename", "hello-live", wav)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "] good morning") || !strings.Contains(stderr, "recording stored as media ") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
	if d, _ := mediagen.Duration(ctx, wav); time.Since(start).Seconds() < d-0.5 {
		t.Errorf("real-time streaming of %.1f s of audio took %s", d, time.Since(start))
	}
	if code, _, stderr := run(t, "", "live", "--server", srv.URL, "a.wav", "b.wav"); code != ExitInvalid || !strings.Contains(stderr, "name one FILE") {
		t.Errorf("two files: code %d: %s", code, stderr)
	}
}
