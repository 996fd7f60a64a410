package speech

import (
	"context"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
)

// BenchmarkTranscribe decodes the two-voice dialogue with the default
// settings on all CPUs and reports the real-time factor (wall time over
// audio time) and CPU seconds per audio second.
func BenchmarkTranscribe(b *testing.B) {
	path, _, _ := testDialogue(b)
	a := &Analyser{}
	var audio, wall, cpu float64
	for b.Loop() {
		var used analyser.Usage
		env := &analyser.Env{Workdir: b.TempDir(), Usage: func(u analyser.Usage) { used = u }}
		start := time.Now()
		if _, err := a.Transcribe(context.Background(), env, &analyser.Input{MediaID: "bench", Path: path}); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(start).Seconds()
		audio += used.AudioSeconds
		cpu += used.CPUSeconds
	}
	b.ReportMetric(wall/audio, "rtf")
	b.ReportMetric(cpu/audio, "cpu-s/audio-s")
}
