package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
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
	"github.com/landfall/landfall/internal/mediagen"
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
	return streamLiveAt(ctx, base, pcm, stability, 32000)
}

// streamLiveAt streams at bytesPerSecond (0: as fast as the server takes
// the audio, for measures that do not depend on time).
func streamLiveAt(ctx context.Context, base string, pcm []byte, stability string, bytesPerSecond float64) (*liveRun, error) {
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
	if err := s.StreamAudio(ctx, bytes.NewReader(pcm), liveBlock, bytesPerSecond, nil); err != nil {
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

// shown returns, for every word of the final results, the seconds from
// the word's end to the first partial of its utterance that showed some
// word over the same stretch of audio, whatever its text: how soon a
// caption viewer sees something there. latencies counts only a partial
// with the final's own word, so a word the final decoding corrects counts
// from the final.
func (r *liveRun) shown() []float64 {
	type span struct {
		at         time.Time
		start, end float64
	}
	seen := map[string][]span{}
	var out []float64
	for i, m := range r.msgs {
		if m.Transcript == nil {
			continue
		}
		res := m.Transcript.Results[0]
		if res.IsPartial {
			for _, it := range res.Alternatives[0].Items {
				seen[res.ResultId] = append(seen[res.ResultId], span{r.at[i], it.StartTime, it.EndTime})
			}
			continue
		}
		for _, it := range res.Alternatives[0].Items {
			t := r.at[i]
			for _, sp := range seen[res.ResultId] {
				if sp.start < it.EndTime && it.StartTime < sp.end && sp.at.Before(t) {
					t = sp.at
				}
			}
			out = append(out, t.Sub(r.start).Seconds()-it.EndTime)
		}
	}
	return out
}

// text is the final results' words, what a caption consumer keeps.
func (r *liveRun) text() string {
	var out []string
	for _, m := range r.msgs {
		if m.Transcript != nil && !m.Transcript.Results[0].IsPartial {
			out = append(out, m.Transcript.Results[0].Alternatives[0].Transcript)
		}
	}
	return strings.Join(out, " ")
}

// partialText is each utterance's last partial result (its stable words
// and the rest), what a viewer saw just before the final one, and
// stable the share of the final results' words that partials had
// already sent stable.
func (r *liveRun) partialText() (text string, stable float64) {
	last := map[string]*types.LiveResult{}
	var out []string
	finalWords, stableWords := 0, 0
	for _, m := range r.msgs {
		if m.Transcript == nil {
			continue
		}
		res := &m.Transcript.Results[0]
		if res.IsPartial {
			last[res.ResultId] = res
			continue
		}
		finalWords += len(res.Alternatives[0].Items)
		if p := last[res.ResultId]; p != nil {
			out = append(out, p.Alternatives[0].Transcript)
			for _, it := range p.Alternatives[0].Items {
				if it.Stable == nil || !*it.Stable {
					break
				}
				stableWords++
			}
		}
	}
	if finalWords > 0 {
		stable = float64(stableWords) / float64(finalWords)
	}
	return strings.Join(out, " "), stable
}

// werSet is audio the word error rates are measured on.
type werSet struct {
	name        string
	pcm         []byte
	wav, script string
}

// librivoxSpeech joins the LibriVox sentences Debian's
// pocketsphinx-testdata ships (real recorded speech) with 0.8 s pauses;
// ok is false when they are not installed.
func librivoxSpeech(b *testing.B) (set werSet, ok bool) {
	const dir = "/usr/share/pocketsphinx/test/data/librivox"
	ids, err := os.ReadFile(filepath.Join(dir, "fileids"))
	if err != nil {
		return set, false
	}
	trans, err := os.ReadFile(filepath.Join(dir, "transcription"))
	if err != nil {
		return set, false
	}
	refs := map[string]string{}
	for _, l := range strings.Split(string(trans), "\n") {
		// "<s> words </s> (id)"
		i, j := strings.LastIndexByte(l, '('), strings.LastIndexByte(l, ')')
		if i < 0 || j < i {
			continue
		}
		refs[l[i+1:j]] = strings.TrimSpace(strings.NewReplacer("<s>", "", "</s>", "").Replace(l[:i]))
	}
	tmp := b.TempDir()
	gap := filepath.Join(tmp, "gap.wav")
	if err := mediagen.Silence(context.Background(), gap, 0.8); err != nil {
		b.Fatal(err)
	}
	var args, script []string
	for _, id := range strings.Fields(string(ids)) {
		if len(args) > 0 {
			args = append(args, gap)
		}
		args = append(args, filepath.Join(dir, id+".wav"))
		script = append(script, refs[id])
	}
	set = werSet{name: "librivox", wav: filepath.Join(tmp, "librivox.wav"), script: strings.Join(script, "\n")}
	if out, err := exec.Command("sox", append(args, set.wav)...).CombinedOutput(); err != nil {
		b.Fatalf("sox: %v\n%s", err, out)
	}
	w, err := os.ReadFile(set.wav)
	if err != nil {
		b.Fatal(err)
	}
	set.pcm = w[44:]
	return set, true
}

// werTally sums word errors over sets.
type werTally struct{ final, partial, rescored, batch, words int }

func (t werTally) pct(n int) float64 { return 100 * float64(n) / float64(max(1, t.words)) }

// measureWER streams each set as fast as the server takes it, with the
// default stability and with "none", transcribes it in batch, and
// tallies the errors against the script.
func measureWER(b *testing.B, ctx context.Context, base string, sets []werSet) werTally {
	var t werTally
	for _, set := range sets {
		batch, err := (&speech.Analyser{}).Transcribe(ctx, &analyser.Env{Workdir: b.TempDir()}, &analyser.Input{Path: set.wav, Options: json.RawMessage(`{}`)})
		if err != nil {
			b.Fatal(err)
		}
		var bw []string
		for _, w := range batch.Words {
			bw = append(bw, w.Text)
		}
		def, err := streamLiveAt(ctx, base, set.pcm, "", 0)
		if err != nil {
			b.Fatal(err)
		}
		none, err := streamLiveAt(ctx, base, set.pcm, "none", 0)
		if err != nil {
			b.Fatal(err)
		}
		ptext, stable := def.partialText()
		_, fe, n := stream.WordErrorRate(set.script, def.text())
		_, pe, _ := stream.WordErrorRate(set.script, ptext)
		_, re, _ := stream.WordErrorRate(set.script, none.text())
		_, be, _ := stream.WordErrorRate(set.script, strings.Join(bw, " "))
		t.final, t.partial, t.rescored, t.batch, t.words = t.final+fe, t.partial+pe, t.rescored+re, t.batch+be, t.words+n
		pc := func(e int) float64 { return 100 * float64(e) / float64(max(1, n)) }
		b.Logf("%s (%d words): finals %.1f%%, last partials %.1f%% (%.0f%% of final words sent stable before), finals with stability none %.1f%%, batch %.1f%%",
			set.name, n, pc(fe), pc(pe), 100*stable, pc(re), pc(be))
		if testing.Verbose() {
			b.Logf("  finals:  %s", def.text())
			b.Logf("  batch:   %s", strings.Join(bw, " "))
		}
	}
	return t
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
		sh := one.shown()
		b.ReportMetric(percentile(sh, 0.5)*1000, "ms-shown-p50")
		b.ReportMetric(percentile(sh, 0.95)*1000, "ms-shown-p95")
		b.Logf("one session: word end → first partial showing a word there p50 %.0f ms, p95 %.0f ms", percentile(sh, 0.5)*1000, percentile(sh, 0.95)*1000)
		b.Logf("one session: %d words; word end → first partial holding the final's word p50 %.0f ms, p95 %.0f ms; pause → final p50 %.0f ms, p95 %.0f ms (%d finals)",
			len(part), p50*1000, p95*1000, f50*1000, f95*1000, len(fin))

		// Concurrent sessions until the median partial latency doubles.
		held := 1
		var conc []string
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
			conc = append(conc, fmt.Sprintf("%d: p50 %.0f ms, p95 %.0f ms", n, m50*1000, m95*1000))
			if m50 > 2*p50 {
				break
			}
			held = n
		}
		b.ReportMetric(float64(held), "sessions-before-2x")
		b.Logf("concurrent sessions, word end → first partial: %s", strings.Join(conc, "; "))

		// Word error rates against the script: live finals (what a caption
		// consumer keeps), each utterance's last partial, the finals with
		// partial_stability none, and the batch recogniser on the same
		// audio. The first three turns of the dialogue are the audio the
		// live settings were tuned on; the other eight turns and the
		// LibriVox recordings chose nothing.
		tuneSet := werSet{name: "dialogue turns 1-3 (tuning)", script: script, wav: wav, pcm: pcm}
		heldOut := []werSet{}
		hp, hw, hs := liveSpeechTurns(b, 3, 11)
		heldOut = append(heldOut, werSet{name: "dialogue turns 4-11 (held out)", pcm: hp, wav: hw, script: hs})
		if lv, ok := librivoxSpeech(b); ok {
			lv.name = "LibriVox (held out, real recordings)"
			heldOut = append(heldOut, lv)
		}
		tune := measureWER(b, ctx, srv.URL, []werSet{tuneSet})
		out := measureWER(b, ctx, srv.URL, heldOut)
		b.ReportMetric(tune.pct(tune.final), "%WER-final-tune")
		b.ReportMetric(tune.pct(tune.partial), "%WER-partial-tune")
		b.ReportMetric(tune.pct(tune.batch), "%WER-batch-tune")
		b.ReportMetric(out.pct(out.final), "%WER-final-heldout")
		b.ReportMetric(out.pct(out.partial), "%WER-partial-heldout")
		b.ReportMetric(out.pct(out.rescored), "%WER-none-heldout")
		b.ReportMetric(out.pct(out.batch), "%WER-batch-heldout")
		b.Logf("WER, tuning audio (%d words): finals %.1f%%, last partials %.1f%%, finals with stability none %.1f%%, batch %.1f%%",
			tune.words, tune.pct(tune.final), tune.pct(tune.partial), tune.pct(tune.rescored), tune.pct(tune.batch))
		b.Logf("WER, held-out audio (%d words): finals %.1f%%, last partials %.1f%%, finals with stability none %.1f%%, batch %.1f%%",
			out.words, out.pct(out.final), out.pct(out.partial), out.pct(out.rescored), out.pct(out.batch))
	}
}
