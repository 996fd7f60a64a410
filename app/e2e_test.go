package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// testApp starts an embedded app in a temporary data folder with its API
// on a loopback test server.
func testApp(t testing.TB, mod func(*config.Config)) (*App, *httptest.Server) {
	t.Helper()
	return testAppWith(t, mod, Options{})
}

// testAppWith is testApp with app options (the logger is set here).
func testAppWith(t testing.TB, mod func(*config.Config), opt Options) (*App, *httptest.Server) {
	t.Helper()
	cfg := config.Default(t.TempDir())
	cfg.Workers = 4
	if mod != nil {
		mod(cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opt.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := New(ctx, cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		a.Close(context.Background())
	})
	return a, srv
}

func upload(t testing.TB, a *App, path string, vocab ...string) *catalog.Media {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	m, err := a.Ingest.Upload(context.Background(), &apiserver.UploadParams{Tenant: "default", Filename: filepath.Base(path), Size: fi.Size(), Body: f, Vocabulary: vocab})
	if err != nil {
		t.Fatalf("upload %s: %v", path, err)
	}
	return m
}

// waitDone waits until the media item has succeeded or failed.
func waitDone(t testing.TB, a *App, id string, within time.Duration) *catalog.Media {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		m, err := a.Catalog.MediaGet(context.Background(), &catalog.MediaGetParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if m.Status == types.StatusSucceeded || m.Status == types.StatusFailed {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s (%s) still %s after %s", id, m.BucketKey, m.Status, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func norm(s string) string {
	return strings.TrimSpace(nonWord.ReplaceAllString(strings.ToLower(s), " "))
}

func TestEndToEndSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline on generated media")
	}
	ctx := context.Background()
	dir := t.TempDir()
	man, err := mediagen.MakeSamples(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	a, srv := testApp(t, nil)
	ids := map[string]string{}
	for _, s := range man.Samples {
		// The producer knows the names in the episode: they go in as the
		// custom vocabulary, as a user of the API would pass them.
		var vocab []string
		vocab = append(append(append(vocab, s.KeyTerms.People...), s.KeyTerms.Organisations...), s.KeyTerms.Places...)
		ids[s.Name] = upload(t, a, filepath.Join(dir, s.File), vocab...).ID
	}
	for _, s := range man.Samples {
		s := s
		t.Run(s.Name, func(t *testing.T) {
			m := waitDone(t, a, ids[s.Name], 10*time.Minute)
			if m.Status != types.StatusSucceeded {
				t.Fatalf("status %s: %s: %s", m.Status, m.Error, m.Cause)
			}
			if !strings.HasPrefix(m.BucketKey, "processed/default/"+m.ID+"/") {
				t.Errorf("media not moved to processed/: %s", m.BucketKey)
			}
			if ok, _ := a.Bucket.Exists(ctx, m.BucketKey); !ok {
				t.Errorf("%s does not exist", m.BucketKey)
			}
			ins := m.Insights
			if ins == nil {
				t.Fatal("no insights")
			}
			if n := len(strings.Fields(ins.Summary)); n == 0 || n > 80 {
				t.Errorf("summary has %d words: %q", n, ins.Summary)
			}
			dur := s.Duration
			if dur == 0 {
				dur = m.Duration
			}
			for _, c := range ins.Chapters {
				if c.StartSeconds < 0 || (dur > 0 && c.StartSeconds > dur) {
					t.Errorf("chapter %+v outside the media (%.1fs)", c, dur)
				}
			}
			var text string
			if s.Kind != "image" {
				b, err := a.Bucket.ReadAll(ctx, m.TranscriptKey)
				if err != nil {
					t.Fatalf("transcript: %v", err)
				}
				var tr types.Transcript
				if err := json.Unmarshal(b, &tr); err != nil {
					t.Fatal(err)
				}
				text = " " + norm(tr.Text) + " "
				var terms, found []string
				for _, k := range append(append(append([]string{}, s.KeyTerms.People...), s.KeyTerms.Organisations...), s.KeyTerms.Places...) {
					terms = append(terms, k)
					if strings.Contains(text, " "+norm(k)+" ") {
						found = append(found, k)
					}
				}
				if len(found)*4 < len(terms)*3 {
					t.Errorf("transcript has %d of %d key terms (%v): %s", len(found), len(terms), found, tr.Text)
				}
				// Every name the transcript holds is an entity.
				people := map[string]bool{}
				for _, p := range ins.Entities.People {
					people[norm(p)] = true
				}
				for _, p := range s.KeyTerms.People {
					if strings.Contains(text, " "+norm(p)+" ") && !people[norm(p)] {
						t.Errorf("person %q is in the transcript but not in entities %v", p, ins.Entities.People)
					}
				}
				if len(tr.Speakers) == 0 && len(s.Speakers) > 1 {
					t.Errorf("no speakers diarised")
				}
			}
			if len(s.Slides) > 0 || s.Text != "" {
				var seen []string
				for _, o := range ins.OCR {
					seen = append(seen, norm(o.Text))
				}
				screen := " " + strings.Join(seen, " ") + " "
				want := []string{s.Text}
				for _, sl := range s.Slides {
					want = append(want, sl.Text)
				}
				for _, w := range want {
					for _, line := range strings.Split(w, "\n") {
						if norm(line) != "" && !strings.Contains(screen, " "+norm(line)+" ") {
							t.Errorf("on-screen text %q not found by OCR in %q", line, screen)
						}
					}
				}
			}
			// Found by search, scoped to its tenant.
			term := s.KeyTerms.People[0]
			resp, err := http.Get(srv.URL + "/v1/search?q=" + strings.ReplaceAll(term, " ", "+"))
			if err != nil {
				t.Fatal(err)
			}
			var res struct{ Hits []catalog.SearchHit }
			json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			hit := false
			for _, h := range res.Hits {
				hit = hit || h.MediaID == m.ID
			}
			if !hit {
				t.Errorf("search %q did not find %s: %+v", term, m.ID, res.Hits)
			}
			// The exports render.
			for _, e := range []string{"insights.json", "chapters.json"} {
				resp, err := http.Get(srv.URL + "/v1/media/" + m.ID + "/" + e)
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("%s: %v %v", e, err, resp.Status)
				}
				resp.Body.Close()
			}
			if s.Kind != "image" {
				resp, _ := http.Get(srv.URL + "/v1/media/" + m.ID + "/captions.vtt")
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if !bytes.HasPrefix(b, []byte("WEBVTT")) {
					t.Errorf("captions.vtt: %q", b)
				}
			}
			t.Logf("%s: %.1fs of media; summary: %s; chapters: %d; people: %v", s.Name, m.Duration, ins.Summary, len(ins.Chapters), ins.Entities.People)
		})
	}
}

// webhookSink collects signed notifications.
type webhookSink struct {
	mu     sync.Mutex
	events []bus.Event
	bad    int
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := bus.VerifySignature([]byte("s3cret"), r.Header.Get(bus.HeaderSignature), body, time.Now(), time.Minute); err != nil {
		w.bad++
		rw.WriteHeader(http.StatusUnauthorized)
		return
	}
	var ev bus.Event
	_ = json.Unmarshal(body, &ev)
	w.events = append(w.events, ev)
}

func TestBadFilesAreRecordedAndAnnounced(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole pipeline on generated media")
	}
	ctx := context.Background()
	dir := t.TempDir()
	sink := &webhookSink{}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	a, srv := testApp(t, func(c *config.Config) {
		c.Notify.WebhookURL = hook.URL
		c.Notify.Secret = "s3cret"
		c.Notify.AlertThreshold = 3
	})
	p := func(name string) string { return filepath.Join(dir, name) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// Zero bytes: refused at upload with a clear error, nothing stored.
	must(mediagen.Empty(p("empty.mp4")))
	f, _ := os.Open(p("empty.mp4"))
	_, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: "default", Filename: "empty.mp4", Body: f})
	f.Close()
	if err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty upload: %v", err)
	}
	must(mediagen.Text(p("notes.mp4"), strings.Repeat("these are meeting notes, not a video\n", 60)))
	_, err = mediagen.Video(ctx, p("full.mp4"), mediagen.VideoSpec{Width: 320, Height: 240, Slides: []mediagen.Slide{{Text: "Hello", Seconds: 3}}})
	must(err)
	must(mediagen.Truncate(p("full.mp4"), p("truncated.mp4"), 4000))
	must(mediagen.PNGBomb(p("bomb.png"), 20000, 20000))
	must(os.WriteFile(p("archive.zip"), append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 4096)...), 0o644))
	must(mediagen.Silence(ctx, p("silence.wav"), 3))
	_, err = mediagen.Video(ctx, p("mute.mp4"), mediagen.VideoSpec{Width: 320, Height: 240, Slides: []mediagen.Slide{{Text: "No sound here", Seconds: 3}}})
	must(err)

	expectFail := map[string]string{
		"notes.mp4":     "Media.",
		"truncated.mp4": "Media.",
		"bomb.png":      "Media.TooLarge",
		"archive.zip":   "Media.Unsupported",
	}
	ids := map[string]string{}
	for _, name := range []string{"notes.mp4", "truncated.mp4", "bomb.png", "archive.zip", "silence.wav", "mute.mp4"} {
		ids[name] = upload(t, a, p(name)).ID
	}
	for name, id := range ids {
		start := time.Now()
		m := waitDone(t, a, id, 3*time.Minute)
		prefix, wantFail := expectFail[name]
		switch {
		case wantFail && m.Status != types.StatusFailed:
			t.Errorf("%s: status %s, want FAILED", name, m.Status)
		case wantFail && !strings.HasPrefix(m.Error, prefix):
			t.Errorf("%s: error %q, want %s…", name, m.Error, prefix)
		case wantFail && m.Cause == "":
			t.Errorf("%s: failed without a cause", name)
		case !wantFail && m.Status != types.StatusSucceeded:
			t.Errorf("%s: %s %s: %s (a file without speech still has a result)", name, m.Status, m.Error, m.Cause)
		}
		t.Logf("%-14s %-9s %-18s %.1fs  %s", name, m.Status, m.Error, time.Since(start).Seconds(), m.Cause)
	}
	page, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: "default"})
	must(err)
	if len(page.Failures) != len(expectFail) {
		t.Errorf("failures table has %d rows, want %d: %+v", len(page.Failures), len(expectFail), page.Failures)
	}
	for _, f := range page.Failures {
		if f.ErrorName == "" || f.Cause == "" || f.ExecutionID == "" || f.StateName == "" {
			t.Errorf("failure row lacks detail: %+v", f)
		}
	}
	// Every failure was announced by a signed webhook; past the threshold
	// the notification is an alert.
	deadline := time.Now().Add(30 * time.Second)
	for {
		sink.mu.Lock()
		n, bad := len(sink.events), sink.bad
		alerts := 0
		for _, e := range sink.events {
			if e.DetailType == "Media Failure Alert" {
				alerts++
			}
		}
		sink.mu.Unlock()
		if n >= len(expectFail) {
			if bad != 0 || alerts == 0 {
				t.Errorf("webhook: %d events, %d bad signatures, %d alerts", n, bad, alerts)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook got %d notifications, want %d", n, len(expectFail))
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("server unhealthy after the bad files: %v", err)
	}
	resp.Body.Close()
}
