package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/mediagen"
)

// TestProcessShowsStepsAndReusesResults runs the pipeline on an image:
// the progress names steps in plain words with their durations, and a
// second run of the same content shows the first result unless --force.
func TestProcessShowsStepsAndReusesResults(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	dir := t.TempDir()
	png := filepath.Join(dir, "card.png")
	if err := mediagen.Image(context.Background(), png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	code, stdout, stderr := run(t, "", "process", "--data", data, png)
	if code != 0 {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"card.png (media ", "  reading the file ", "  reading on-screen text ", "  saving ", ": SUCCEEDED in "} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, internal := range []string{"ImageDone", "Configured", "RouteByKind", "AnalyseImage", "ReadImageText"} {
		if strings.Contains(stdout, internal) {
			t.Errorf("stdout shows the state name %q:\n%s", internal, stdout)
		}
	}
	code, again, stderr := run(t, "", "process", "--data", data, "--json", png)
	if code != 0 {
		t.Fatalf("rerun: code %d: %s", code, stderr)
	}
	var res processResult
	if err := json.Unmarshal([]byte(again), &res); err != nil {
		t.Fatal(err)
	}
	if !res.Reused || res.Status != "SUCCEEDED" || !strings.Contains(stdout, res.MediaID) || !strings.Contains(res.Note, "--force") {
		t.Fatalf("rerun did not reuse the first result: %+v\nfirst run: %s", res, stdout)
	}
	code, forced, stderr := run(t, "", "process", "--data", data, "--json", "--force", png)
	if code != 0 {
		t.Fatalf("--force: code %d: %s", code, stderr)
	}
	var res2 processResult
	if err := json.Unmarshal([]byte(forced), &res2); err != nil {
		t.Fatal(err)
	}
	if res2.Reused || res2.MediaID == res.MediaID || res2.Status != "SUCCEEDED" {
		t.Fatalf("--force reused: %+v", res2)
	}
}

// TestProcessInterrupted: Ctrl-C says the run continues and exits 130; a
// second Ctrl-C stops the run.
func TestProcessInterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	dir := t.TempDir()
	png := filepath.Join(dir, "card.png")
	if err := mediagen.Image(context.Background(), png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithCancel(context.Background())
	again := make(chan struct{}, 1)
	again <- struct{}{}
	out := &cancelOnWrite{cancel: cancel, after: "reading the file"}
	var errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(""), Stdout: out, Stderr: &errb, Interrupt: again}
	code := RunEnv(ctx, env, []string{"process", "--data", data, png})
	if code != ExitInterrupted {
		t.Fatalf("code %d, want %d\nstdout: %s\nstderr: %s", code, ExitInterrupted, out.b.String(), errb.String())
	}
	for _, want := range []string{"interrupted: " + png, "continues the next time", "Press Ctrl-C again", "stopped: the run of"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if strings.Contains(out.b.String(), "FAILED") {
		t.Errorf("an interrupted run is reported as failed:\n%s", out.b.String())
	}
	// The stopped run is not waited for: the file is processed afresh.
	code, stdout, stderr := run(t, "", "process", "--data", data, "--json", png)
	var res processResult
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Status != "SUCCEEDED" || res.Reused || strings.Contains(res.Note, "already being processed") {
		t.Fatalf("rerun after stop: code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}

// cancelOnWrite cancels a context once the output contains a text.
type cancelOnWrite struct {
	b      bytes.Buffer
	cancel func()
	after  string
}

func (c *cancelOnWrite) Write(p []byte) (int, error) {
	n, err := c.b.Write(p)
	if strings.Contains(c.b.String(), c.after) {
		c.cancel()
	}
	return n, err
}

// A folder processes its media files, each, and ends with a table.
func TestProcessFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	dir := filepath.Join(t.TempDir(), "in")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"a.png": "Harbour Day", "b.png": "Lisbon Summit"} {
		if err := mediagen.Image(context.Background(), filepath.Join(dir, name), mediagen.ImageSpec{Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not media"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "process", "--data", filepath.Join(t.TempDir(), "data"), dir)
	if code != 0 {
		t.Fatalf("code %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	i := strings.Index(stdout, "FILE ")
	if i < 0 {
		t.Fatalf("no summary table:\n%s", stdout)
	}
	table := stdout[i:]
	for _, want := range []string{filepath.Join(dir, "a.png") + "  SUCCEEDED", filepath.Join(dir, "b.png") + "  SUCCEEDED"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	if strings.Contains(stdout, "notes.txt") {
		t.Errorf("a text file was processed:\n%s", stdout)
	}
}
