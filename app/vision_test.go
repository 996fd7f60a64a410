package app

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/pipelines"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// skimage holds Debian's sample photos (python3-skimage, installed by
// scripts/setup).
const skimage = "/usr/lib/python3/dist-packages/skimage/data"

// needVision skips a test when the vision worker cannot run here (its
// Node packages not installed) — and fails it in CI, where scripts/setup
// has installed them.
func needVision(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs the Node vision worker")
	}
	w := newVisionWorker("", "node")
	if w.unavailable == "" {
		if _, err := os.Stat(filepath.Join(skimage, "astronaut.png")); err == nil {
			return
		}
		w.unavailable = skimage + ": python3-skimage's photos are missing (scripts/setup installs them)"
	}
	if os.Getenv("CI") != "" {
		t.Fatal(w.unavailable)
	}
	t.Skip(w.unavailable)
}

// twoShotVideo makes a 4 s video from two photos (a person, then a
// horse), a hard cut at 2 s: two shots.
func twoShotVideo(t *testing.T, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "two-shots.mp4")
	cmd := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-y",
		"-loop", "1", "-t", "2", "-i", filepath.Join(skimage, "astronaut.png"),
		"-loop", "1", "-t", "2", "-i", filepath.Join(skimage, "horse.png"),
		"-filter_complex", "[0:v]scale=640:480,setsar=1,format=yuv420p[a];[1:v]scale=640:480,setsar=1,format=yuv420p[b];[a][b]concat=n=2:v=1[v]",
		"-map", "[v]", "-r", "25", "-c:v", "libx264", "-pix_fmt", "yuv420p", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, b)
	}
	return out
}

func labelNames(ls []types.ShotLabel) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Name)
	}
	return out
}

// TestVisionWorkerEndToEnd runs the pipeline on the embedded default with
// the supervised vision worker: an image gets Rekognition-shaped labels
// with boxes, a two-shot video gets labels per shot with times, and
// harmless photos pass moderation.
func TestVisionWorkerEndToEnd(t *testing.T) {
	needVision(t)
	t.Parallel()
	a, srv := testApp(t, nil)
	img := upload(t, a, filepath.Join(skimage, "astronaut.png"))
	vid := upload(t, a, twoShotVideo(t, t.TempDir()))

	m := waitDone(t, a, img.ID, 3*time.Minute)
	if m.Status != types.StatusSucceeded {
		t.Fatalf("image: %s %s", m.Status, m.Cause)
	}
	v := m.Insights.Vision
	if v == nil || len(v.Shots) != 1 {
		t.Fatalf("image: vision %+v", v)
	}
	person := false
	for _, l := range v.Shots[0].Labels {
		if l.Name == "Person" && len(l.Instances) == 1 && l.Instances[0].Box.Width > 0.1 && l.Confidence >= 40 {
			person = true
		}
	}
	if !person {
		t.Fatalf("image: no Person with a box among %+v", v.Shots[0].Labels)
	}
	if v.Shots[0].Moderation == nil && len(v.Shots[0].Moderation) != 0 || len(m.Insights.Moderation) != 0 {
		t.Fatalf("image: moderation flags on a harmless photo: %+v", m.Insights.Moderation)
	}
	if d := m.Insights.ModerationDecision; d == nil || d.Action != "pass" {
		t.Fatalf("image: moderation decision %+v", d)
	}
	if !strings.Contains(m.Summary, "person") {
		t.Errorf("image: the summary does not use the labels: %q", m.Summary)
	}
	// Rekognition's DetectLabels shape.
	res, err := http.Get(srv.URL + "/v1/media/" + img.ID + "/labels.json")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var det struct {
		LabelModelVersion string
		Labels            []struct {
			Name      string
			Instances []struct {
				BoundingBox struct{ Width, Height, Left, Top float64 }
			}
		}
	}
	if err := json.Unmarshal(b, &det); err != nil || res.StatusCode != 200 || !strings.Contains(det.LabelModelVersion, "centernet") || len(det.Labels) == 0 {
		t.Fatalf("labels.json: %d %v %s", res.StatusCode, err, b)
	}

	m = waitDone(t, a, vid.ID, 3*time.Minute)
	if m.Status != types.StatusSucceeded {
		t.Fatalf("video: %s %s", m.Status, m.Cause)
	}
	v = m.Insights.Vision
	if v == nil || len(v.Shots) != 2 {
		t.Fatalf("video: want 2 shots, got %+v", v)
	}
	first, second := v.Shots[0], v.Shots[1]
	if first.StartMS != 0 || second.StartMS < 1800 || second.StartMS > 2200 || first.TimestampMS >= second.TimestampMS {
		t.Errorf("video: shot times %+v %+v", first, second)
	}
	if !strings.Contains(strings.Join(labelNames(first.Labels), ","), "Person") {
		t.Errorf("video: shot 0 labels %v, want Person", labelNames(first.Labels))
	}
	if !strings.Contains(strings.Join(labelNames(second.Labels), ","), "Horse") {
		t.Errorf("video: shot 1 labels %v, want Horse", labelNames(second.Labels))
	}
	for _, l := range m.Insights.Labels {
		if l.Name == "Horse" && (len(l.Timestamps) != 1 || l.Timestamps[0] < 2) {
			t.Errorf("video: Horse seen at %v, want once after 2 s", l.Timestamps)
		}
	}
}

// externalVisionApp is an app whose pipeline hands labels and moderation
// to workers it does not start, with the Step Functions endpoint mounted
// on its test server, and heartbeats of hb seconds.
func externalVisionApp(t *testing.T, hb int) (*App, *httptest.Server) {
	t.Helper()
	def := string(pipelines.MediaDefinition)
	def = strings.ReplaceAll(def, `"HeartbeatSeconds": 30,`, `"HeartbeatSeconds": `+itoa(hb)+`,`)
	p := filepath.Join(t.TempDir(), "media.asl.json")
	if err := os.WriteFile(p, []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return testAppWith(t, func(c *config.Config) {
		c.Vision.Worker = "external"
		c.Pipeline.Definition = p
	}, Options{Mounts: func(a *App) (map[string]http.Handler, http.Handler) { return nil, sfnapi.New(a.Engine) }})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// startWorker runs workers/vision/worker.js against the API as name; it
// is killed when the test ends.
func startWorker(t *testing.T, url, name string) *exec.Cmd {
	t.Helper()
	w := newVisionWorker("", "node")
	cmd := exec.Command(w.node, filepath.Join(w.dir, "worker.js"))
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "LANDFALL_ENDPOINT="+url, "LANDFALL_WORKER_NAME="+name, "LANDFALL_HEARTBEAT_MS=500")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			_ = cmd.Wait()
		})
	})
	return cmd
}

// activityWorkers returns the worker names in an execution's
// ActivityStarted events, and whether an activity timed out.
func activityWorkers(t *testing.T, a *App, arn string) (names []string, timedOut bool) {
	t.Helper()
	evs, _, err := a.Engine.History(context.Background(), arn, workflow.HistoryParams{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		switch e.Type {
		case "ActivityStarted":
			var d struct {
				WorkerName string `json:"workerName"`
			}
			_ = json.Unmarshal(e.Details, &d)
			names = append(names, d.WorkerName)
		case "ActivityTimedOut":
			timedOut = true
		}
	}
	return names, timedOut
}

// TestVisionWorkerKilledMidTask kills the worker holding a labels task:
// the task's heartbeat times out, the state retries, and a second worker
// finishes it.
func TestVisionWorkerKilledMidTask(t *testing.T) {
	needVision(t)
	t.Parallel()
	a, srv := externalVisionApp(t, 3)
	first := startWorker(t, srv.URL, "first")
	m := upload(t, a, twoShotVideo(t, t.TempDir()))
	// Kill the first worker as soon as it holds a task.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur, err := a.Catalog.MediaGet(context.Background(), &catalog.MediaGetParams{ID: m.ID})
		if err != nil {
			t.Fatal(err)
		}
		if cur.ExecutionID != "" {
			if names, _ := activityWorkers(t, a, cur.ExecutionID); len(names) > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no worker took a task within 2 minutes")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(-first.Process.Pid, syscall.SIGKILL)
	_ = first.Wait()
	startWorker(t, srv.URL, "second")
	done := waitDone(t, a, m.ID, 3*time.Minute)
	if done.Status != types.StatusSucceeded {
		t.Fatalf("%s %s", done.Status, done.Cause)
	}
	names, timedOut := activityWorkers(t, a, done.ExecutionID)
	if !timedOut {
		t.Errorf("no ActivityTimedOut: workers %v (the first finished before it was killed?)", names)
	}
	if len(names) < 2 || names[0] != "first" || names[len(names)-1] != "second" {
		t.Errorf("workers %v: want the first, then the second", names)
	}
	if done.Insights.Vision == nil || len(done.Insights.Vision.Shots) != 2 {
		t.Errorf("vision %+v", done.Insights.Vision)
	}
}

// TestVisionTwoWorkersShareTheQueue serves several uploads with two
// workers polling the same activities.
func TestVisionTwoWorkersShareTheQueue(t *testing.T) {
	needVision(t)
	t.Parallel()
	a, srv := externalVisionApp(t, 30)
	startWorker(t, srv.URL, "one")
	startWorker(t, srv.URL, "two")
	var ids []string
	for _, f := range []string{"astronaut.png", "coffee.png", "horse.png", "motorcycle_left.png", "chelsea.png", "rocket.jpg"} {
		p := filepath.Join(skimage, f)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		ids = append(ids, upload(t, a, p).ID)
	}
	seen := map[string]int{}
	for _, id := range ids {
		m := waitDone(t, a, id, 3*time.Minute)
		if m.Status != types.StatusSucceeded || m.Insights.Vision == nil {
			t.Fatalf("%s: %s %s", m.Filename, m.Status, m.Cause)
		}
		names, _ := activityWorkers(t, a, m.ExecutionID)
		if len(names) != 2 {
			t.Errorf("%s: activity workers %v, want one labels and one moderate task", m.Filename, names)
		}
		for _, n := range names {
			seen[n]++
		}
	}
	if seen["one"] == 0 || seen["two"] == 0 {
		t.Errorf("tasks per worker %v: want both to serve", seen)
	}
}
