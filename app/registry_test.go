package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/types"
)

// Two apps in one process, configured with different OpenAI-compatible
// servers, each reach their own server: configured providers live in the
// app's registry, not in a process-wide one.
func TestAppsKeepTheirOwnOpenAIClients(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := func(text string, hits *atomic.Int32) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			if r.URL.Path != "/v1/audio/transcriptions" {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, `{"language":"english","duration":1.0,"text":"`+text+`","words":[{"word":"`+text+`","start":0.1,"end":0.5}],
				"segments":[{"id":0,"start":0.1,"end":0.5,"text":"`+text+`"}]}`)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	var hitsA, hitsB atomic.Int32
	srvA, srvB := server("alpha", &hitsA), server("bravo", &hitsB)
	audio := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(audio, []byte("RIFF....WAVEfmt "), 0o644); err != nil {
		t.Fatal(err)
	}
	open := func(base string) *App {
		cfg := config.Default(t.TempDir())
		cfg.OpenAI.BaseURL = base + "/v1"
		cfg.OpenAI.TranscribeModel = "whisper-1"
		cfg.Analysers = map[string]string{analyser.TaskTranscribe: "openai"}
		a, err := New(ctx, cfg, Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close(ctx) })
		return a
	}
	a, b := open(srvA.URL), open(srvB.URL)
	for _, c := range []struct {
		app  *App
		want string
	}{{a, "alpha"}, {b, "bravo"}, {a, "alpha"}} {
		an, err := c.app.Analysers.ForTask(analyser.TaskTranscribe, "openai")
		if err != nil {
			t.Fatal(err)
		}
		out, err := an.Run(ctx, &analyser.Env{Workdir: t.TempDir()}, &analyser.Input{MediaID: "m", Path: audio})
		if err != nil {
			t.Fatal(err)
		}
		if got := out.(*types.Transcript).Text; got != c.want {
			t.Fatalf("transcript %q, want %q from this app's own server", got, c.want)
		}
	}
	if hitsA.Load() != 2 || hitsB.Load() != 1 {
		t.Fatalf("server A had %d requests, B %d; want 2 and 1", hitsA.Load(), hitsB.Load())
	}
	// The process-wide catalogue holds only the built-in providers.
	if _, err := analyser.ForTask(analyser.TaskTranscribe, "openai"); err == nil {
		t.Fatal("a configured provider leaked into the built-in catalogue")
	}
}
