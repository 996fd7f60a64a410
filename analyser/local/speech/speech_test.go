package speech

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

type dialogueSpec struct {
	Turns      []mediagen.Turn `json:"turns"`
	Vocabulary []string        `json:"vocabulary"`
	Keywords   []string        `json:"keywords"`
}

// Script is the dialogue's text, one turn per line.
func (d dialogueSpec) Script() string {
	var b strings.Builder
	for _, t := range d.Turns {
		b.WriteString(t.Text)
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	dialogueOnce sync.Once
	dialoguePath string
	dialogueDir  string
	dialogueErr  error
	dialogue     dialogueSpec
	dialogueTurn []mediagen.TurnTiming
)

// testDialogue synthesises testdata/dialogue.json once per test binary.
func testDialogue(t testing.TB) (string, dialogueSpec, []mediagen.TurnTiming) {
	t.Helper()
	dialogueOnce.Do(func() {
		b, err := os.ReadFile("testdata/dialogue.json")
		if err != nil {
			dialogueErr = err
			return
		}
		if dialogueErr = json.Unmarshal(b, &dialogue); dialogueErr != nil {
			return
		}
		dialogueDir, dialogueErr = os.MkdirTemp("", "speech-dialogue-")
		if dialogueErr != nil {
			return
		}
		dialoguePath = filepath.Join(dialogueDir, "dialogue.wav")
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		dialogueTurn, dialogueErr = mediagen.Dialogue(ctx, dialoguePath, dialogue.Turns, 0.5, 0.8)
	})
	if dialogueErr != nil {
		t.Fatalf("synthesising the dialogue: %v", dialogueErr)
	}
	return dialoguePath, dialogue, dialogueTurn
}

func TestMain(m *testing.M) {
	code := m.Run()
	if dialogueDir != "" {
		os.RemoveAll(dialogueDir)
	}
	os.Exit(code)
}

func run(t testing.TB, path string, opts any) (*Output, error) {
	t.Helper()
	in := &analyser.Input{MediaID: "m1", Path: path}
	if opts != nil {
		b, _ := json.Marshal(opts)
		in.Options = b
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	a := &Analyser{}
	return a.Transcribe(ctx, &analyser.Env{Workdir: t.TempDir()}, in)
}

// generic is the dialogue's transcript with the generic model.
var generic analysertest.Shared[*Output]

// genericDialogue transcribes the dialogue once per test binary with the
// generic model, its keywords plus an absent one, on three workers, and
// checks that the scratch folder is cleaned.
func genericDialogue(t testing.TB) *Output {
	t.Helper()
	path, d, _ := testDialogue(t)
	return generic.Get(t, func() (*Output, error) {
		wd, err := os.MkdirTemp("", "speech-generic-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(wd)
		opts, _ := json.Marshal(map[string]any{"keywords": append(d.Keywords, "Kubernetes cluster"), "workers": 3})
		out, err := (&Analyser{}).Transcribe(context.Background(), &analyser.Env{Workdir: wd}, &analyser.Input{Path: path, Options: opts})
		if err != nil {
			return nil, err
		}
		if left, _ := os.ReadDir(wd); len(left) != 0 {
			return nil, fmt.Errorf("scratch files left behind: %v", left)
		}
		return out, nil
	})
}

func TestRegistered(t *testing.T) {
	a, ok := analyser.Lookup(ID)
	if !ok {
		t.Fatalf("%s is not registered", ID)
	}
	s := a.Spec()
	if s.Task != analyser.TaskTranscribe || s.Provider != "local" {
		t.Fatalf("spec %+v", s)
	}
	if err := analyser.CheckOutputSchema(s); err != nil {
		t.Fatal(err)
	}
}

func TestTranscribeDialogue(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	t.Parallel()
	_, d, turns := testDialogue(t)
	out := genericDialogue(t)
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), out)
	if len(out.Words) < 50 {
		t.Fatalf("only %d words recognised: %q", len(out.Words), out.Text)
	}
	for i, w := range out.Words {
		if w.End < w.Start || (i > 0 && w.Start < out.Words[i-1].Start) {
			t.Fatalf("word %d %+v out of order", i, w)
		}
		if w.End > out.Duration+0.01 {
			t.Fatalf("word %d ends at %.2f past the audio's %.2f s", i, w.End, out.Duration)
		}
	}
	if len(out.Segments) < 5 {
		t.Fatalf("%d segments, want one per turn or so", len(out.Segments))
	}
	n := 0
	for _, s := range out.Segments {
		if s.FirstWord != n {
			t.Fatalf("segment %d starts at word %d, want %d", s.ID, s.FirstWord, n)
		}
		n += s.WordCount
	}
	if n != len(out.Words) {
		t.Fatalf("segments cover %d of %d words", n, len(out.Words))
	}
	if out.LanguageModel != "generic" {
		t.Fatalf("language model %q", out.LanguageModel)
	}
	// Keywords: each spoken one found inside the turn that says it, by the
	// transcript or the spotter ("Rekognition" is outside the generic
	// language model, so only the spotter can find it); the absent one not.
	for _, k := range d.Keywords {
		found := false
		for _, h := range out.Keywords {
			if h.Keyword != k {
				continue
			}
			in := false
			for i, tt := range turns {
				if h.Start >= tt.Start-0.2 && h.End <= tt.End+0.2 && strings.Contains(strings.ToLower(d.Turns[i].Text), strings.ToLower(k)) {
					in = true
				}
			}
			if !in {
				t.Errorf("keyword %q hit at %.2f..%.2f is in no turn that says it", k, h.Start, h.End)
			}
			found = true
		}
		if !found {
			t.Errorf("keyword %q not found: %+v", k, out.Keywords)
		}
	}
	for _, h := range out.Keywords {
		if h.Keyword == "Kubernetes cluster" {
			t.Errorf("false keyword hit %+v", h)
		}
	}
	t.Logf("keyword hits: %+v", out.Keywords)
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, &Analyser{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "speech.wav")
		if err := mediagen.Speech(context.Background(), p, "Landfall turns uploaded media into searchable insight.", mediagen.VoiceFemale); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p, Kind: types.KindAudio}
	}})
}
