package webui

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// liveServer is an API server with live captions, its web UI, a SQLite
// catalog and an in-memory bucket.
func liveServer(t *testing.T) (*httptest.Server, catalog.Store, *blob.Bucket) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "default"}); err != nil {
		t.Fatal(err)
	}
	bucket, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ing := ingest.New(ingest.Options{Bucket: bucket, Catalog: cat, Logger: log})
	lm := live.New(live.Options{Uploads: ing, Bucket: bucket, TempDir: t.TempDir(), Logger: log})
	t.Cleanup(func() { lm.Close(context.Background()) })
	api := apiserver.New(apiserver.Config{Catalog: cat, Bucket: bucket, Uploads: ing, Logger: log, UI: Handler(), Live: lm,
		Secret: []byte("0123456789abcdef0123456789abcdef")})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, cat, bucket
}

// The "Go live" page captures a microphone (Chromium's fake device
// playing generated speech), shows partial and final captions as they
// come, and on Stop the recording is stored as a media item with its
// live transcript; a viewer page opened afterwards (a late joiner) shows
// the same captions. Screenshots at 1400 and 390 px, light and dark.
func TestGoLivePage(t *testing.T) {
	if testing.Short() {
		t.Skip("browser and recogniser test")
	}
	if !stream.Built {
		t.Skip("built without the incremental recogniser")
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "mic.wav")
	ctx := context.Background()
	turns := []mediagen.Turn{
		{Speaker: "A", Voice: mediagen.VoiceMale, Text: "Good morning and welcome to the weekly product meeting."},
		{Speaker: "B", Voice: mediagen.VoiceFemale, Text: "Today we want to talk about the new upload service."},
	}
	if _, err := mediagen.Dialogue(ctx, wav, turns, 0.5, 1.5); err != nil {
		t.Fatal(err)
	}
	srv, cat, bucket := liveServer(t)
	b := startBrowser(t, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
		"--use-file-for-fake-audio-capture="+wav+"%noloop")
	b.navigate(srv.URL + "/ui/live.html")
	b.waitFor(`document.getElementById("start")`, wait)
	b.eval(`document.getElementById("vocab").value = "upload service"; document.getElementById("name").value = "standup"`, nil)
	click(b, "#start")
	b.waitFor(`document.body.dataset.live === "true"`, wait)
	// Partial results show while speech goes on, then final ones.
	b.waitFor(`document.querySelector("#captions .partial span")`, 60*time.Second)
	b.waitFor(`document.querySelectorAll("#captions p.final").length >= 2`, 90*time.Second)
	var viewer string
	b.eval(`document.getElementById("viewer").getAttribute("href")`, &viewer)
	if !strings.HasPrefix(viewer, "/ui/live-view.html?src=") {
		t.Errorf("viewer link %q", viewer)
	}
	for _, w := range []struct {
		width  int
		scheme string
	}{{1400, "light"}, {390, "light"}, {390, "dark"}} {
		b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": w.width, "height": 800, "deviceScaleFactor": 1, "mobile": w.width < 500}, nil)
		b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": w.scheme}}}, nil)
		var overflow bool
		b.eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth`, &overflow)
		if overflow {
			t.Errorf("the Go live page scrolls sideways at %d px", w.width)
		}
		b.screenshot("golive-" + w.scheme + "-" + strconv.Itoa(w.width))
	}
	click(b, "#stop")
	b.waitFor(`document.body.dataset.media !== undefined && document.body.dataset.closed === "1000"`, 60*time.Second)
	var mediaID, text string
	b.eval(`document.body.dataset.media`, &mediaID)
	b.eval(`[...document.querySelectorAll("#captions p.final")].map(p => p.lastChild.textContent.trim()).join(" ")`, &text)
	t.Logf("captions: %s", text)
	if !strings.Contains(text, "morning") || !strings.Contains(text, "service") {
		t.Errorf("captions %q lack the spoken words", text)
	}
	m, err := cat.MediaGet(ctx, &catalog.MediaGetParams{ID: mediaID, TenantID: "default"})
	if err != nil {
		t.Fatalf("stored media %q: %v", mediaID, err)
	}
	if m.Filename != "standup.webm" || m.Size < 1000 {
		t.Errorf("stored %q of %d bytes", m.Filename, m.Size)
	}
	raw, err := bucket.ReadAll(ctx, "processed/default/"+mediaID+"/"+live.LiveTranscriptName)
	if err != nil {
		t.Fatal(err)
	}
	var tr types.Transcript
	if err := json.Unmarshal(raw, &tr); err != nil || len(tr.Words) < 5 {
		t.Errorf("live transcript: %v, %d words", err, len(tr.Words))
	}
	if ex := b.takeExceptions(); len(ex) > 0 {
		t.Errorf("JavaScript errors: %v", ex)
	}

	// A late viewer gets the captions so far.
	b.navigate(srv.URL + viewer)
	b.waitFor(`document.body.dataset.ended === "true"`, wait)
	var seen string
	b.eval(`[...document.querySelectorAll("#captions p.final")].map(p => p.lastChild.textContent.trim()).join(" ")`, &seen)
	if seen != text {
		t.Errorf("late viewer saw %q, the speaker %q", seen, text)
	}
	b.screenshot("live-view-ended")
	// The viewer may be embedded in other sites' pages.
	resp, err := http.Get(srv.URL + "/ui/live-view.html")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors *") {
		t.Errorf("viewer CSP %q", csp)
	}
	if ex := b.takeExceptions(); len(ex) > 0 {
		t.Errorf("JavaScript errors: %v", ex)
	}
}
