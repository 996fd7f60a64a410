package app

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/types"
)

// liveRun is one session streamed at real time: each message with its
// arrival time, and when the audio started.
type liveRun struct {
	start time.Time
	msgs  []types.LiveMessage
	at    []time.Time
}

// liveBlock is the client's block: 50 ms, as landfall live sends.
const liveBlock = 1600

func streamLive(ctx context.Context, base string, pcm []byte, stability string) (*liveRun, error) {
	c := &client.Client{BaseURL: base}
	s, err := c.Live(ctx, types.LiveStart{Store: new(bool), PartialStability: stability})
	if err != nil {
		return nil, err
	}
	run := &liveRun{}
	done := make(chan struct{})
	go func() {
		for m := range s.Messages() {
			run.msgs = append(run.msgs, m)
			run.at = append(run.at, time.Now())
		}
		close(done)
	}()
	run.start = time.Now()
	if err := s.StreamAudio(ctx, bytes.NewReader(pcm), liveBlock, 32000, nil); err != nil {
		return nil, err
	}
	if err := s.End(ctx); err != nil {
		return nil, err
	}
	<-done
	return run, s.Err()
}

// latencies measures, for every word of the final results, the time from
// the moment its end was sent (real time: audio second t leaves at start
// + t) to the first result that held it, and for every final result the
// time from the end of its last word (the pause beginning) to its arrival.
func (r *liveRun) latencies() (partial, final []float64) {
	type key struct {
		id, word string
		start    float64
	}
	first := map[key]time.Time{}
	for i, m := range r.msgs {
		if m.Transcript == nil {
			continue
		}
		res := m.Transcript.Results[0]
		for _, it := range res.Alternatives[0].Items {
			// A word counts from its first hypothesis at about the same
			// place (the recogniser may move its start a little).
			k := key{res.ResultId, it.Content, math.Round(it.StartTime * 10)}
			if _, ok := first[k]; !ok {
				first[k] = r.at[i]
			}
		}
		if !res.IsPartial && len(res.Alternatives[0].Items) > 0 {
			final = append(final, r.at[i].Sub(r.start).Seconds()-res.EndTime)
			for _, it := range res.Alternatives[0].Items {
				t := r.at[i]
				for _, d := range []float64{0, -1, 1} {
					if ft, ok := first[key{res.ResultId, it.Content, math.Round(it.StartTime*10) + d}]; ok && ft.Before(t) {
						t = ft
					}
				}
				partial = append(partial, t.Sub(r.start).Seconds()-it.EndTime)
			}
		}
	}
	return partial, final
}

func (r *liveRun) text() string {
	var out []string
	for _, m := range r.msgs {
		if m.Transcript != nil && !m.Transcript.Results[0].IsPartial {
			out = append(out, m.Transcript.Results[0].Alternatives[0].Transcript)
		}
	}
	return strings.Join(out, " ")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// BenchmarkLiveCaptions streams generated speech (three turns of the
// speech test dialogue, about 13 s) at real time, in 50 ms blocks, through the WebSocket of
// an embedded server and reports: latency from a word's end to its first
// partial and from a pause to its final result (one session, p50/p95);
// how many concurrent real-time sessions run before the median partial
// latency doubles; and the word error rate of the live captions against
// the script, beside the batch recogniser's on the same audio.
func BenchmarkLiveCaptions(b *testing.B) {
	if !stream.Built {
		b.Skip("built without the incremental recogniser")
	}
	pcm, wav, script := liveSpeech(b, 3)
	_, srv := testApp(b, func(c *config.Config) { c.Live.MaxSessions = 32 })
	ctx := context.Background()
	for b.Loop() {
		c0 := processCPU()
		one, err := streamLive(ctx, srv.URL, pcm, "")
		if err != nil {
			b.Fatal(err)
		}
		// The process's CPU time per second of audio (server, recogniser
		// and client together): what one real-time session costs,
		// whatever else the machine is doing.
		cpu := (processCPU() - c0).Seconds() / (float64(len(pcm)) / 32000)
		b.ReportMetric(cpu, "cpu-s/audio-s")
		b.Logf("one session: %.3f CPU-seconds per second of audio", cpu)
		part, fin := one.latencies()
		p50, p95 := percentile(part, 0.5), percentile(part, 0.95)
		f50, f95 := percentile(fin, 0.5), percentile(fin, 0.95)
		b.ReportMetric(p50*1000, "ms-partial-p50")
		b.ReportMetric(p95*1000, "ms-partial-p95")
		b.ReportMetric(f50*1000, "ms-final-p50")
		b.ReportMetric(f95*1000, "ms-final-p95")
		b.Logf("one session: %d words; word end → first partial p50 %.0f ms, p95 %.0f ms; pause → final p50 %.0f ms, p95 %.0f ms (%d finals)",
			len(part), p50*1000, p95*1000, f50*1000, f95*1000, len(fin))

		// Concurrent sessions until the median partial latency doubles.
		held := 1
		for _, n := range []int{2, 4, 6, 8} {
			var mu sync.Mutex
			var all []float64
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := 0; i < n; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := streamLive(ctx, srv.URL, pcm, "")
					if err != nil {
						errs <- err
						return
					}
					p, _ := r.latencies()
					mu.Lock()
					all = append(all, p...)
					mu.Unlock()
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				b.Fatal(err)
			}
			m50, m95 := percentile(all, 0.5), percentile(all, 0.95)
			b.Logf("%d concurrent sessions: word end → first partial p50 %.0f ms, p95 %.0f ms", n, m50*1000, m95*1000)
			if m50 > 2*p50 {
				break
			}
			held = n
		}
		b.ReportMetric(float64(held), "sessions-before-2x")

		// Word error rates against the script: live and batch.
		batch, err := (&speech.Analyser{}).Transcribe(ctx, &analyser.Env{Workdir: b.TempDir()}, &analyser.Input{Path: wav, Options: json.RawMessage(`{}`)})
		if err != nil {
			b.Fatal(err)
		}
		var bw []string
		for _, w := range batch.Words {
			bw = append(bw, w.Text)
		}
		rescored, err := streamLive(ctx, srv.URL, pcm, "none")
		if err != nil {
			b.Fatal(err)
		}
		sp, sf := rescored.latencies()
		b.Logf("partial_stability none (rescored finals): word end → first partial p50 %.0f ms, p95 %.0f ms; pause → final p50 %.0f ms, p95 %.0f ms",
			percentile(sp, 0.5)*1000, percentile(sp, 0.95)*1000, percentile(sf, 0.5)*1000, percentile(sf, 0.95)*1000)
		lw, _, n := stream.WordErrorRate(script, one.text())
		sw, _, _ := stream.WordErrorRate(script, rescored.text())
		bwer, _, _ := stream.WordErrorRate(script, strings.Join(bw, " "))
		b.ReportMetric(100*lw, "%WER-live")
		b.ReportMetric(100*sw, "%WER-live-rescored")
		b.ReportMetric(100*bwer, "%WER-batch")
		b.Logf("WER over %d words: live %.1f%% (rescored finals %.1f%%), batch %.1f%%", n, 100*lw, 100*sw, 100*bwer)
		b.Logf("live:  %s", one.text())
		b.Logf("rescored: %s", rescored.text())
		b.Logf("batch: %s", strings.Join(bw, " "))
	}
}
