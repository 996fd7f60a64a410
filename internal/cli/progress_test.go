package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

func TestStepNamesComeFromTaskResources(t *testing.T) {
	t.Parallel()
	n := defaultStepNames()
	for state, want := range map[string]string{
		"RegisterMedia": "reading the file", "ClassifyMedia": "reading the file", "TranscribeAudio": "transcribing",
		"Diarise": "finding speakers", "ReadImageText": "reading on-screen text", "Summarise": "summarising",
		"Persist": "saving", "MoveToProcessed": "saving",
		// bookkeeping is hidden
		"RouteByKind": "", "AnalyseVideo": "", "VisualDone": "", "ImageModerationConfigured": "", "Unsupported": "",
	} {
		if got := n.phrase(state); got != want {
			t.Errorf("%s: %q, want %q", state, got, want)
		}
	}
	custom := newStepNames(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:x:1:function:my-DetectCars","End":true}}}`)
	if got := custom.phrase("A"); got != "a" {
		t.Errorf("unknown resource: %q", got)
	}
	if got := custom.phrase("DetectCars"); got != "detect cars" {
		t.Errorf("unknown state: %q", got)
	}
}

var lastEventID atomic.Int64

// history builds events (type, state name, seconds after t0) with ids
// not used before.
func history(t0 time.Time, evs ...any) []workflow.HistoryEvent {
	var out []workflow.HistoryEvent
	for i := 0; i+2 < len(evs); i += 3 {
		d, _ := json.Marshal(map[string]string{"name": evs[i+1].(string)})
		out = append(out, workflow.HistoryEvent{ID: lastEventID.Add(1), Type: evs[i].(string), Details: d,
			Timestamp: t0.Add(time.Duration(evs[i+2].(float64) * float64(time.Second)))})
	}
	return out
}

// On a terminal the running steps are redrawn with a running clock;
// finished steps stay as lines with their durations; log lines clear the
// running line first; hidden states never show.
func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	p := newProgress(&out, true)
	p.now = func() time.Time { return now }
	p.Start("talk.mp4 (media m1)", defaultStepNames())
	evs := history(t0,
		"TaskStateEntered", "RegisterMedia", 0.0, "TaskStateExited", "RegisterMedia", 0.5,
		"ChoiceStateEntered", "RouteByKind", 0.6, "ChoiceStateExited", "RouteByKind", 0.6,
		"TaskStateEntered", "ExtractMedia", 0.7, "TaskStateExited", "ExtractMedia", 1.2,
		"ParallelStateEntered", "AnalyseVideo", 1.3,
		"TaskStateEntered", "Transcribe", 1.3, "TaskStateEntered", "ReadText", 1.4)
	now = t0.Add(3 * time.Second)
	p.Events(evs)
	now = t0.Add(5 * time.Second)
	p.Tick()
	fmt.Fprint(p.Logs(&out), "level=WARN msg=slow\n")
	got := out.String()
	for _, want := range []string{
		"talk.mp4 (media m1)\n",
		"  reading the file             1.2s\n", // register + extract, one step
		"\r\033[K  transcribing + reading on-screen text 1.7s   (total 3.0s)",
		"\r\033[K  transcribing + reading on-screen text 3.7s   (total 5.0s)",
		"(total 5.0s)\r\033[Klevel=WARN msg=slow\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	for _, hidden := range []string{"RouteByKind", "AnalyseVideo", "route", "analyse"} {
		if strings.Contains(got, hidden) {
			t.Errorf("output shows %q:\n%q", hidden, got)
		}
	}
	out.Reset()
	p.Events(append(evs, history(t0, "TaskStateExited", "ReadText", 6.0, "TaskStateExited", "Transcribe", 9.0,
		"TaskStateEntered", "Summarise", 9.5, "TaskStateExited", "Summarise", 10.0)...))
	p.Finish()
	got = out.String()
	for _, want := range []string{"  reading on-screen text       4.6s\n", "  transcribing                 7.7s\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%q", want, got)
		}
	}
	if want := "\r\033[K  summarising                  0.5s\n"; !strings.HasSuffix(got, want) {
		t.Errorf("output %q does not end with %q (no running line left)", got, want)
	}
}

// Off a terminal there is one line per step and no redrawing.
func TestProgressOffATerminal(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	t0 := time.Now()
	p := newProgress(&out, false)
	p.Start("a.wav", defaultStepNames())
	p.Events(history(t0, "TaskStateEntered", "RegisterMedia", 0.0, "TaskStateExited", "RegisterMedia", 0.25,
		"TaskStateEntered", "TranscribeAudio", 0.5))
	p.Tick()
	p.Events(history(t0, "TaskStateExited", "TranscribeAudio", 2.0))
	p.Finish()
	if got, want := out.String(), "a.wav\n  reading the file             0.2s\n  transcribing                 1.5s\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
}

// media upload --wait shows the same steps while the server works.
func TestUploadWaitShowsSteps(t *testing.T) {
	t.Parallel()
	t0 := time.Now().UTC()
	var polls atomic.Int32
	all := history(t0, "TaskStateEntered", "RegisterMedia", 0.0, "TaskStateExited", "RegisterMedia", 0.5,
		"TaskStateEntered", "TranscribeAudio", 0.5, "TaskStateExited", "TranscribeAudio", 3.0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		const arn = "arn:aws:states:local:000000000000:execution:media:x1"
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/uploads":
			fmt.Fprint(w, `{"id":"m1","bucket_key":"incoming/default/m1/a.wav","status":"PENDING"}`)
		case r.URL.Path == "/v1/media/m1":
			status := "PROCESSING"
			if polls.Add(1) > 2 {
				status = "SUCCEEDED"
			}
			fmt.Fprintf(w, `{"id":"m1","filename":"a.wav","status":%q,"execution_id":%q,"insights":{"summary":"A tone."}}`, status, arn)
		case r.URL.Path == "/v1/executions/"+arn:
			fmt.Fprint(w, `{"executionArn":"`+arn+`","stateMachineArn":"arn:aws:states:local:000000000000:stateMachine:media","status":"RUNNING"}`)
		case strings.HasPrefix(r.URL.Path, "/v1/state-machines/"):
			http.Error(w, `{"code":"PermissionDenied","detail":"tenant keys may not"}`, http.StatusForbidden)
		case r.URL.Path == "/v1/executions/"+arn+"/history":
			evs := all[:3]
			if polls.Load() > 2 {
				evs = all
			}
			json.NewEncoder(w).Encode(map[string]any{"events": evs})
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	wav := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(wav, []byte("RIFF"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "media", "upload", "--server", srv.URL, "--wait", wav)
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	for _, want := range []string{" (media m1)\n", "  reading the file             0.5s\n", "  transcribing                 2.5s\n", "SUCCEEDED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}

// Ctrl-C during media upload --wait says the server goes on and exits 130.
func TestUploadWaitInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/v1/uploads":
			fmt.Fprint(w, `{"id":"m1","status":"PENDING"}`)
		case "/v1/media/m1":
			cancel() // the user presses Ctrl-C while the item is processed
			fmt.Fprint(w, `{"id":"m1","status":"PROCESSING"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	wav := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(wav, []byte("RIFF"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := RunEnv(ctx, &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, []string{"media", "upload", "--server", srv.URL, "--wait", wav})
	if code != ExitInterrupted || !strings.Contains(errb.String(), "the server goes on processing") || !strings.Contains(errb.String(), "m1") {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
	}
}
