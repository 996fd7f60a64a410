package vision

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// workerDir is the vision worker's folder in this repository.
func workerDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "workers", "vision"))
	if err != nil {
		t.Fatal(err)
	}
	need := []string{"node_modules/.landfall-models/centernet.bin", "node_modules/nsfwjs/dist/models/mobilenet_v2_mid/model.min.js"}
	for _, f := range need {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			msg := filepath.Join(d, f) + " is missing: run scripts/setup"
			if os.Getenv("CI") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: run scripts/setup")
	}
	return d
}

type expectedSet struct {
	Images []struct {
		File     string   `json:"file"`
		Generate string   `json:"generate"`
		Labels   []string `json:"labels"`
	} `json:"images"`
}

// frame writes the image (or a generated frame) as the pipeline's frames
// task does: a JPEG at most 640 pixels on its longest side.
func frame(t testing.TB, dir, file, generate string, i int) string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("%02d.jpg", i))
	scale := "scale='if(gt(iw,ih),min(640,iw),-2)':'if(gt(iw,ih),-2,min(640,ih))'"
	var args []string
	switch generate {
	case "":
		args = []string{"-i", file}
	case "testsrc", "smptebars":
		args = []string{"-f", "lavfi", "-i", generate + "=size=1280x720:rate=1"}
	case "slide":
		// A lecture slide: dark text on a light background.
		args = []string{"-f", "lavfi", "-i", "color=c=0xf4f1e8:size=1280x720:rate=1,drawtext=text='Quarterly results':fontsize=72:fontcolor=0x202020:x=120:y=200,drawtext=text='Revenue grew in every region':fontsize=44:fontcolor=0x303030:x=120:y=360"}
	default:
		t.Fatalf("expected.json: unknown generated frame %q", generate)
	}
	args = append(append([]string{"-nostdin", "-loglevel", "error", "-y"}, args...), "-frames:v", "1", "-vf", scale, "-q:v", "3", out)
	if b, err := exec.Command("ffmpeg", args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v %s", args, err, b)
	}
	return out
}

type result struct {
	File   string `json:"file"`
	Labels []struct {
		Name       string  `json:"name"`
		Confidence float64 `json:"confidence"`
	} `json:"labels"`
	Moderation []string           `json:"moderation"`
	Scores     map[string]float64 `json:"scores"`
	LabelsMS   float64            `json:"labels_ms"`
	ModerateMS float64            `json:"moderate_ms"`
	Summary    bool               `json:"summary"`
	Images     int                `json:"images"`
	Seconds    float64            `json:"seconds"`
	LoadMS     float64            `json:"load_ms"`
	PeakRSSMB  float64            `json:"peak_rss_mb"`
}

// evaluate runs workers/vision/evaluate.js over the frames.
func evaluate(t testing.TB, dir string, frames []string) ([]result, result) {
	t.Helper()
	cmd := exec.Command("node", append([]string{filepath.Join(dir, "evaluate.js")}, frames...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("evaluate.js: %v\n%s", err, stderr.String())
	}
	var rs []result
	var sum result
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("evaluate.js: %v: %s", err, sc.Text())
		}
		if r.Summary {
			sum = r
		} else {
			rs = append(rs, r)
		}
	}
	if len(rs) != len(frames) {
		t.Fatalf("evaluate.js answered %d of %d images", len(rs), len(frames))
	}
	return rs, sum
}

// TestQualityVision prints labels precision and recall on the labelled
// set, the moderation false-positive rate on its harmless images, and the
// worker's speed and memory, as rows of make quality's table.
func TestQualityVision(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the models on 30 images")
	}
	dir := workerDir(t)
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var set expectedSet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("testdata/expected.json: %v", err)
	}
	tmp := t.TempDir()
	var frames []string
	var expect [][]string
	var names []string
	for i, im := range set.Images {
		if im.File != "" {
			if _, err := os.Stat(im.File); err != nil {
				msg := im.File + " is missing: scripts/setup installs python3-skimage, opencv-doc and darknet"
				if os.Getenv("CI") != "" {
					t.Fatal(msg)
				}
				t.Skip(msg)
			}
		}
		frames = append(frames, frame(t, tmp, im.File, im.Generate, i))
		expect = append(expect, im.Labels)
		name := filepath.Base(im.File)
		if im.Generate != "" {
			name = "generated " + im.Generate
		}
		names = append(names, name)
	}
	rs, sum := evaluate(t, dir, frames)
	tp, fp, fn := 0, 0, 0
	allFound, withObjects, emptyRight, empty, flagged := 0, 0, 0, 0, 0
	var labelsMS, modMS float64
	for i, r := range rs {
		want := map[string]bool{}
		for _, l := range expect[i] {
			want[l] = true
		}
		got := map[string]bool{}
		for _, l := range r.Labels {
			got[l.Name] = true
		}
		var miss, extra []string
		for l := range want {
			if got[l] {
				tp++
			} else {
				fn++
				miss = append(miss, l)
			}
		}
		for l := range got {
			if !want[l] {
				fp++
				extra = append(extra, l)
			}
		}
		if len(want) > 0 {
			withObjects++
			if len(miss) == 0 {
				allFound++
			}
		} else {
			empty++
			if len(got) == 0 {
				emptyRight++
			}
		}
		if len(r.Moderation) > 0 {
			flagged++
		}
		labelsMS += r.LabelsMS
		modMS += r.ModerateMS
		sort.Strings(miss)
		sort.Strings(extra)
		t.Logf("%-26s want %-28s missed %-18s extra %-18s moderation %v", names[i], strings.Join(expect[i], ","), strings.Join(miss, ","), strings.Join(extra, ","), r.Moderation)
	}
	n := float64(len(rs))
	precision := float64(tp) / float64(max(1, tp+fp))
	recall := float64(tp) / float64(max(1, tp+fn))
	t.Logf("| labels | CenterNet COCO-80 (TF.js WebAssembly), threshold 0.40 | precision %.0f%%, recall %.0f%% (%d of %d expected labels, %d extra) on %d Debian photos and generated frames; every expected object found in %d of %d photos; no label on %d of %d images without COCO objects; %.0f ms/image | `aws` (Rekognition) |",
		100*precision, 100*recall, tp, tp+fn, fp, len(rs), allFound, withObjects, emptyRight, empty, labelsMS/n)
	t.Logf("| moderation | nsfwjs MobileNetV2Mid (TF.js WebAssembly), flag at 60%% | false positives on %d of %d harmless images (%.0f%%); %.0f ms/image | `aws` (Rekognition) |",
		flagged, len(rs), 100*float64(flagged)/n, modMS/n)
	t.Logf("| vision worker | one Node process, both models | %.1f images/s (labels and moderation), models loaded in %.1f s, peak memory %.0f MB | — |",
		float64(sum.Images)/sum.Seconds, sum.LoadMS/1000, sum.PeakRSSMB)
	// Floors well below the measured figures: a broken model, input
	// scaling or class table drops far below them.
	if recall < 0.6 || precision < 0.6 {
		t.Errorf("labels precision %.2f, recall %.2f: below 0.6", precision, recall)
	}
	if flagged > 1 {
		t.Errorf("moderation flagged %d harmless images", flagged)
	}
}

// BenchmarkVisionWorker runs the worker's models over eight frames per
// iteration and reports images per second and the worker's peak memory.
func BenchmarkVisionWorker(b *testing.B) {
	dir := workerDir(b)
	tmp := b.TempDir()
	var frames []string
	for i, g := range []string{"testsrc", "smptebars", "slide", "testsrc", "smptebars", "slide", "testsrc", "slide"} {
		frames = append(frames, frame(b, tmp, "", g, i))
	}
	var images, seconds, peak float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, sum := evaluate(b, dir, frames)
		images += float64(sum.Images)
		seconds += sum.Seconds
		peak = max(peak, sum.PeakRSSMB)
	}
	b.ReportMetric(images/seconds, "images/s")
	b.ReportMetric(peak, "worker-MB")
}
