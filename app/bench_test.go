package app

import (
	"context"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

type span struct {
	task       string
	start, end time.Time
}

// BenchmarkLectureEndToEnd runs the sample lecture video through the whole
// pipeline and reports wall time against media duration, the share of wall
// time spent outside analysers (orchestration, storage, events), and how
// much the two analysis branches overlap (parallel wall time over the sum
// of the branch times; 0.5 is perfect overlap of equal branches, 1 none).
func BenchmarkLectureEndToEnd(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	man, err := mediagen.MakeSamples(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	var lecture mediagen.Sample
	for _, s := range man.Samples {
		if s.Kind == "video" {
			lecture = s
		}
	}
	a, _ := testApp(b, nil)
	var mu sync.Mutex
	spans := map[string][]span{}
	a.Tasks.SetTrace(func(id, task string, start, end time.Time) {
		mu.Lock()
		spans[id] = append(spans[id], span{task, start, end})
		mu.Unlock()
	})
	var wallSum, durSum, outside, overlap float64
	for b.Loop() {
		start := time.Now()
		m := upload(b, a, filepath.Join(dir, lecture.File))
		done := waitDone(b, a, m.ID, 10*time.Minute)
		if done.Status != types.StatusSucceeded {
			b.Fatalf("%s: %s", done.Error, done.Cause)
		}
		// Wall time ends when the execution did, not when the poll above
		// noticed it.
		xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Limit: 1})
		if err != nil || len(xs) == 0 || xs[0].StopDate == nil {
			b.Fatalf("execution of %s: %v", m.ID, err)
		}
		wall := xs[0].StopDate.Sub(start).Seconds()
		mu.Lock()
		ss := spans[m.ID]
		mu.Unlock()
		wallSum += wall
		durSum += done.Duration
		outside += (wall - union(ss)) / wall
		overlap += branchOverlap(ss)
	}
	n := float64(b.N)
	b.ReportMetric(wallSum/durSum, "wall/duration")
	b.ReportMetric(100*outside/n, "%outside-analysers")
	b.ReportMetric(overlap/n, "parallel/branch-sum")
}

// union is the length in seconds covered by the spans.
func union(ss []span) float64 {
	s := append([]span(nil), ss...)
	sort.Slice(s, func(i, j int) bool { return s[i].start.Before(s[j].start) })
	var total time.Duration
	var cur span
	for i, x := range s {
		if i == 0 || x.start.After(cur.end) {
			if i > 0 {
				total += cur.end.Sub(cur.start)
			}
			cur = x
			continue
		}
		if x.end.After(cur.end) {
			cur.end = x.end
		}
	}
	if len(s) > 0 {
		total += cur.end.Sub(cur.start)
	}
	return total.Seconds()
}

// branchOverlap is the parallel section's wall time over the sum of its
// two branches' times: speech (transcribe, diarise) and visual (ocr,
// faces, labels, moderate).
func branchOverlap(ss []span) float64 {
	var speech, visual []span
	for _, s := range ss {
		switch s.task {
		case "transcribe", "diarise":
			speech = append(speech, s)
		case "ocr", "faces", "labels", "moderate":
			visual = append(visual, s)
		}
	}
	if len(speech) == 0 || len(visual) == 0 {
		return 1
	}
	both := append(append([]span(nil), speech...), visual...)
	lo, hi := both[0].start, both[0].end
	for _, s := range both {
		if s.start.Before(lo) {
			lo = s.start
		}
		if s.end.After(hi) {
			hi = s.end
		}
	}
	return hi.Sub(lo).Seconds() / (union(speech) + union(visual))
}

// BenchmarkTenMinuteVideo runs the whole local analysis of a 10-minute
// 720p video (the sample lecture looped) and reports wall time over its
// duration.
func BenchmarkTenMinuteVideo(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	if _, err := mediagen.MakeSamples(ctx, dir); err != nil {
		b.Fatal(err)
	}
	long := filepath.Join(dir, "ten-minutes.mp4")
	// 18 loops of the 34 s lecture, copied without re-encoding.
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "17",
		"-i", filepath.Join(dir, "lecture.mp4"), "-c", "copy", long)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v: %s", err, out)
	}
	a, _ := testApp(b, nil)
	var ratio float64
	for b.Loop() {
		start := time.Now()
		m := upload(b, a, long)
		done := waitDone(b, a, m.ID, 60*time.Minute)
		if done.Status != types.StatusSucceeded {
			b.Fatalf("%s: %s", done.Error, done.Cause)
		}
		ratio += time.Since(start).Seconds() / done.Duration
	}
	b.ReportMetric(ratio/float64(b.N), "wall/duration")
}
