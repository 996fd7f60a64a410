package stream

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/internal/mediagen"
)

// testSpeech synthesises the first turns of the speech analyser's test
// dialogue as a 16 kHz mono WAV and returns its path and script.
func testSpeech(t testing.TB, turns int) (string, string) {
	t.Helper()
	b, err := os.ReadFile("../testdata/dialogue.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Turns []mediagen.Turn `json:"turns"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	d.Turns = d.Turns[:min(turns, len(d.Turns))]
	path := filepath.Join(t.TempDir(), "speech.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := mediagen.Dialogue(ctx, path, d.Turns, 0.5, 0.8); err != nil {
		t.Fatalf("synthesising speech: %v", err)
	}
	var script []string
	for _, tr := range d.Turns {
		script = append(script, tr.Text)
	}
	return path, strings.Join(script, "\n")
}

func pcmOf(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[44:] // sox writes a canonical 44-byte header
}

func prepared(t testing.TB) *speech.Prepared {
	t.Helper()
	p, err := (&speech.Analyser{}).Prepare(context.Background(), speech.Options{}, t.TempDir())
	if err != nil {
		t.Skipf("recogniser model: %v", err)
	}
	return p
}

// Both modes: stable prefixes (the stable words of a partial start every
// later result of the utterance), and the default, where partial words
// are all unstable and the final result is rescored; in both, finals at
// the pauses with word times inside the audio.
func TestRecogniserPartialsAndFinals(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesises speech and runs the recogniser")
	}
	if !Built {
		t.Skip("built without the incremental recogniser")
	}
	path, script := testSpeech(t, 4)
	pcm := pcmOf(t, path)
	files := prepared(t)
	for _, stabilize := range []bool{true, false} {
		t.Run(map[bool]string{true: "stable-prefix", false: "rescored"}[stabilize], func(t *testing.T) {
			recognise(t, files, pcm, script, stabilize)
		})
	}
}

func recognise(t *testing.T, files *speech.Prepared, pcm []byte, script string, stabilize bool) {
	ep := DefaultEndpoint
	ep.Stabilize = stabilize
	r, err := New(Config{Files: files, IDPrefix: "u", Endpoint: ep})
	if err != nil {
		t.Fatal(err)
	}
	var results []Result
	emit := func(res Result) { results = append(results, res) }
	for off := 0; off < len(pcm); off += 3200 { // 100 ms blocks
		if err := r.Write(pcm[off:min(off+3200, len(pcm))], emit); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(emit); err != nil {
		t.Fatal(err)
	}
	var finals []Result
	partials := 0
	stable := map[string][]Word{}
	duration := float64(len(pcm)) / 2 / 16000
	for _, res := range results {
		// Stable words, once sent, start every later result of the utterance.
		prev := stable[res.ID]
		if len(res.Words) < len(prev) {
			t.Fatalf("result %s has %d words, fewer than its %d stable ones", res.ID, len(res.Words), len(prev))
		}
		for i, w := range prev {
			if res.Words[i] != w {
				t.Fatalf("result %s word %d changed from stable %+v to %+v", res.ID, i, w, res.Words[i])
			}
		}
		var st []Word
		for _, w := range res.Words {
			if !w.Stable {
				break
			}
			st = append(st, w)
		}
		if res.Partial {
			partials++
			stable[res.ID] = st
			if !stabilize && len(st) > 0 {
				t.Errorf("partial %s has stable words without stabilisation", res.ID)
			}
		} else {
			finals = append(finals, res)
			if len(st) != len(res.Words) {
				t.Errorf("final %s has unstable words", res.ID)
			}
		}
		last := 0.0
		for _, w := range res.Words {
			if w.Start < last-1e-9 || w.End < w.Start || w.End > duration+0.05 {
				t.Errorf("result %s: word %+v out of order or outside the audio (%.2f s)", res.ID, w, duration)
			}
			last = w.End
		}
	}
	var text []string
	for _, f := range finals {
		text = append(text, f.Text())
	}
	wer, _, n := WordErrorRate(script, strings.Join(text, " "))
	t.Logf("%d partials, %d finals, WER %.1f%% over %d words: %s", partials, len(finals), 100*wer, n, strings.Join(text, " | "))
	if len(finals) < 3 || partials < 2*len(finals) {
		t.Errorf("%d finals and %d partials for 4 turns: want a final per turn and partials before each", len(finals), partials)
	}
	if wer > 0.35 {
		t.Errorf("WER %.1f%%", 100*wer)
	}
}
