package diarise

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

var (
	dlgOnce  sync.Once
	dlgDir   string
	dlgPath  string
	dlgTurns []mediagen.TurnTiming
	dlgErr   error
)

func testDialogue(t testing.TB) (string, []mediagen.TurnTiming) {
	t.Helper()
	dlgOnce.Do(func() {
		var spec struct {
			Turns []mediagen.Turn `json:"turns"`
		}
		b, err := os.ReadFile("testdata/dialogue.json")
		if err != nil {
			dlgErr = err
			return
		}
		if dlgErr = json.Unmarshal(b, &spec); dlgErr != nil {
			return
		}
		if dlgDir, dlgErr = os.MkdirTemp("", "diarise-"); dlgErr != nil {
			return
		}
		dlgPath = filepath.Join(dlgDir, "dialogue.wav")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dlgTurns, dlgErr = mediagen.Dialogue(ctx, dlgPath, spec.Turns, 0.5, 0.8)
	})
	if dlgErr != nil {
		t.Fatalf("synthesising the dialogue: %v", dlgErr)
	}
	return dlgPath, dlgTurns
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dlgDir != "" {
		os.RemoveAll(dlgDir)
	}
	os.Exit(code)
}

// attribution is the share of reference speech time whose hypothesis
// speaker maps (by greatest overlap) to the reference speaker.
func attribution(ref []mediagen.TurnTiming, hyp []Turn) float64 {
	ov := map[string]map[string]float64{}
	var total float64
	for _, r := range ref {
		total += r.End - r.Start
		for _, h := range hyp {
			o := math.Min(r.End, h.End) - math.Max(r.Start, h.Start)
			if o > 0 {
				if ov[h.Speaker] == nil {
					ov[h.Speaker] = map[string]float64{}
				}
				ov[h.Speaker][r.Speaker] += o
			}
		}
	}
	var correct float64
	for _, m := range ov {
		best := 0.0
		for _, v := range m {
			best = math.Max(best, v)
		}
		correct += best
	}
	return correct / total
}

func diarise(t testing.TB, in *analyser.Input) (*Output, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return (&Analyser{}).Diarise(ctx, &analyser.Env{Workdir: t.TempDir()}, in)
}

func TestRegistered(t *testing.T) {
	if _, ok := analyser.Lookup(ID); !ok {
		t.Fatalf("%s not registered", ID)
	}
}

// TestQualityDiarisation diarises a male/female flite dialogue, from the
// audio alone and on top of the pocketsphinx transcript.
func TestQualityDiarisation(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	t.Parallel()
	path, ref := testDialogue(t)
	audioOnly, err := diarise(t, &analyser.Input{MediaID: "d", Path: path})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), audioOnly)
	a1 := attribution(ref, audioOnly.Turns)

	tr, err := (&speech.Analyser{}).Transcribe(context.Background(), &analyser.Env{Workdir: t.TempDir()}, &analyser.Input{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tr)
	withWords, err := diarise(t, &analyser.Input{MediaID: "d", Path: path, Results: map[string]json.RawMessage{"transcribe": raw}})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), withWords)
	if b, _ := json.Marshal(withWords); !bytes.Contains(b, []byte(`"language_model":"generic"`)) {
		t.Errorf("transcribe fields not passed through: %.300s", b)
	}
	a2 := attribution(ref, withWords.Turns)
	// Words: the share whose speaker matches the reference turn they fall in.
	w := wordAttribution(ref, withWords.Words)

	t.Logf("| metric | value | target |")
	t.Logf("|---|---|---|")
	t.Logf("| speakers found (audio only / with transcript) | %d / %d | 2 |", len(audioOnly.Speakers), len(withWords.Speakers))
	t.Logf("| speech attributed correctly, audio only | %.1f%% | ≥ 95%% |", 100*a1)
	t.Logf("| speech attributed correctly, with transcript | %.1f%% | ≥ 95%% |", 100*a2)
	t.Logf("| words attributed correctly | %.1f%% | ≥ 95%% |", 100*w)
	if len(audioOnly.Speakers) != 2 || len(withWords.Speakers) != 2 {
		t.Errorf("speakers %+v / %+v, want 2", audioOnly.Speakers, withWords.Speakers)
	}
	for name, v := range map[string]float64{"audio only": a1, "with transcript": a2, "words": w} {
		if v < 0.95 {
			t.Errorf("%s: attribution %.1f%% < 95%%", name, 100*v)
		}
	}
	// Segments never mix speakers and cover every word once.
	n := 0
	for _, s := range withWords.Segments {
		if s.FirstWord != n {
			t.Fatalf("segment %d starts at word %d, want %d", s.ID, s.FirstWord, n)
		}
		for _, wd := range withWords.Words[s.FirstWord : s.FirstWord+s.WordCount] {
			if wd.Speaker != s.Speaker {
				t.Fatalf("segment %d (%s) holds a word of %s", s.ID, s.Speaker, wd.Speaker)
			}
		}
		n += s.WordCount
	}
	if n != len(withWords.Words) {
		t.Fatalf("segments cover %d of %d words", n, len(withWords.Words))
	}
}

func wordAttribution(ref []mediagen.TurnTiming, words []types.Word) float64 {
	votes := map[string]map[string]int{}
	for _, w := range words {
		mid := (w.Start + w.End) / 2
		for _, r := range ref {
			if mid >= r.Start-0.2 && mid <= r.End+0.2 {
				if votes[w.Speaker] == nil {
					votes[w.Speaker] = map[string]int{}
				}
				votes[w.Speaker][r.Speaker]++
				break
			}
		}
	}
	correct := 0
	for _, m := range votes {
		best := 0
		for _, v := range m {
			best = max(best, v)
		}
		correct += best
	}
	if len(words) == 0 {
		return 0
	}
	return float64(correct) / float64(len(words))
}

func TestOptions(t *testing.T) {
	cases := []struct {
		raw, wantErr string
	}{
		{`{"min_speakers": 2, "max_speakers": 3}`, ""},
		{`{"max_speakers": 0}`, "/options/max_speakers"},
		{`{"min_speakers": 3, "max_speakers": 2}`, "/options/min_speakers"},
		{`{"speakers": 2}`, "/options/speakers: unknown option"},
		{`[1]`, "/options: must be an object"},
	}
	for _, c := range cases {
		_, err := ParseOptions(json.RawMessage(c.raw))
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", c.raw, err)
			}
			continue
		}
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.wantErr)) || errcode.Of(err) != errcode.Invalid {
			t.Errorf("%s: error %v, want %q", c.raw, err, c.wantErr)
		}
	}
}

// TestQualityLongDiarisation diarises the dialogue repeated five times
// (four minutes, re-encoded as AAC): the two voices must still come out
// as two speakers, however much each says.
func TestQualityLongDiarisation(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	t.Parallel()
	path, ref := testDialogue(t)
	dir := t.TempDir()
	wav := filepath.Join(dir, "long.wav")
	long := filepath.Join(dir, "long.m4a")
	const reps = 5
	var args []string
	for i := 0; i < reps; i++ {
		args = append(args, path)
	}
	ctx := context.Background()
	if _, err := execx.Run(ctx, execx.Cmd{Name: "sox", Args: append(args, wav)}); err != nil {
		t.Fatal(err)
	}
	if _, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-nostdin", "-loglevel", "error", "-i", wav, "-ac", "2", "-ar", "44100", long}}); err != nil {
		t.Fatal(err)
	}
	var one float64
	for _, r := range ref {
		one = math.Max(one, r.End)
	}
	// The reference turns repeat every file length.
	pcm, err := speech.OpenPCM(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := Extract(pcm, DefaultMFCC)
	pcm.Close()
	period := float64(f.Frames()+(DefaultMFCC.FrameLen/DefaultMFCC.Hop)-1) / 100
	var refs []mediagen.TurnTiming
	for i := 0; i < reps; i++ {
		for _, r := range ref {
			refs = append(refs, mediagen.TurnTiming{Speaker: r.Speaker, Start: r.Start + float64(i)*period, End: r.End + float64(i)*period})
		}
	}
	out, err := diarise(t, &analyser.Input{Path: long})
	if err != nil {
		t.Fatal(err)
	}
	a := attribution(refs, out.Turns)
	t.Logf("| metric | value | target |")
	t.Logf("|---|---|---|")
	t.Logf("| speakers found, %.0f s of dialogue | %d | 2 |", period*reps, len(out.Speakers))
	t.Logf("| speech attributed correctly | %.1f%% | ≥ 95%% |", 100*a)
	if len(out.Speakers) != 2 || a < 0.95 {
		t.Errorf("speakers %+v, attribution %.1f%%", out.Speakers, 100*a)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, &Analyser{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "speech.wav")
		if err := mediagen.Speech(context.Background(), p, "Landfall turns uploaded media into searchable insight.", mediagen.VoiceMale); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p, Kind: types.KindAudio}
	}})
}
