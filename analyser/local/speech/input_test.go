package speech

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
)

// TestBadInput: silence, noise, a tone, a very short clip, a video
// without audio, an empty, a text and a truncated file each end in an
// empty transcript or a named error, quickly.
func TestBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(mediagen.Silence(ctx, p("silence.wav"), 20))
	must(mediagen.Noise(ctx, p("noise.wav"), 20, 0.3))
	must(mediagen.Tone(ctx, p("tone.wav"), 10, 440))
	must(mediagen.Speech(ctx, p("short.wav"), "Hi.", mediagen.VoiceFemale))
	must(mediagen.Silence(ctx, p("blip.wav"), 0.05))
	must(mediagen.Empty(p("empty.wav")))
	must(mediagen.Text(p("text.mp3"), "this is not audio at all\n"))
	must(mediagen.Speech(ctx, p("speech.wav"), "The pipeline stores every file in a bucket.", mediagen.VoiceMale))
	must(mediagen.Truncate(p("speech.wav"), p("truncated.wav"), 30))
	if _, err := mediagen.Video(ctx, p("silent.mp4"), mediagen.VideoSpec{Width: 320, Height: 240, Slides: []mediagen.Slide{{Text: "No audio", Seconds: 2}}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file  string
		code  errcode.Code // "" means an empty or short transcript
		words int          // most words allowed
	}{
		{"silence.wav", "", 0},
		{"noise.wav", "", 0},
		{"tone.wav", "", 0},
		{"blip.wav", "", 0},
		{"short.wav", "", 3},
		{"empty.wav", errcode.MediaEmpty, 0},
		{"text.mp3", errcode.MediaCorrupt, 0},
		{"truncated.wav", errcode.MediaCorrupt, 0},
		{"silent.mp4", errcode.MediaEmpty, 0},
		{"missing.wav", errcode.NotFound, 0},
	}
	for _, c := range cases {
		start := time.Now()
		out, err := run(t, p(c.file), nil)
		took := time.Since(start)
		if c.code != "" {
			if errcode.Of(err) != c.code {
				t.Errorf("%s: error %v, want %s", c.file, err, c.code)
			} else if !strings.Contains(err.Error(), c.file) {
				t.Errorf("%s: error %q does not name the file", c.file, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		analysertest.ValidateOutput(t, (&Analyser{}).Spec(), out)
		if len(out.Words) > c.words {
			t.Errorf("%s: %d words (%q), want at most %d", c.file, len(out.Words), out.Text, c.words)
		}
		if took > time.Minute {
			t.Errorf("%s took %v", c.file, took)
		}
	}
}

func TestCancel(t *testing.T) {
	t.Parallel()
	path, _, _ := testDialogue(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	start := time.Now()
	_, err := (&Analyser{}).Transcribe(ctx, &analyser.Env{Workdir: t.TempDir()}, &analyser.Input{Path: path})
	if errcode.Of(err) != errcode.Canceled {
		t.Fatalf("error %v, want Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancel took %v", d)
	}
}

func TestMaxSeconds(t *testing.T) {
	t.Parallel()
	path, _, _ := testDialogue(t)
	_, err := run(t, path, map[string]any{"max_seconds": 5})
	if errcode.Of(err) != errcode.MediaTooLarge || !strings.Contains(err.Error(), "max_seconds") {
		t.Fatalf("error %v, want Media.TooLarge naming max_seconds", err)
	}
}

func TestMediaResultAudioPath(t *testing.T) {
	in := &analyser.Input{Path: "/in/video.mp4", Results: map[string]json.RawMessage{"media": json.RawMessage(`{"audio_path": "/work/audio.wav"}`)}}
	if p, err := AudioPath(in); err != nil || p != "/work/audio.wav" {
		t.Fatalf("%q %v", p, err)
	}
	in.Results["media"] = json.RawMessage(`{"kind": "video"}`)
	if p, _ := AudioPath(in); p != "/in/video.mp4" {
		t.Fatalf("fallback %q", p)
	}
	if _, err := AudioPath(&analyser.Input{}); errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "/path") {
		t.Fatalf("no input: %v", err)
	}
}

func TestOptions(t *testing.T) {
	cases := []struct {
		raw, wantErr string
	}{
		{``, ""},
		{`null`, ""},
		{`{"vocabulary": ["Landfall", "Amazon Rekognition"], "domain_text": "x", "keywords": ["bucket"], "language": "en-US", "workers": 2}`, ""},
		{`{"vocab": []}`, "/options/vocab: unknown option"},
		{`{"vocabulary": "Landfall"}`, "/options/vocabulary: must be an array"},
		{`{"vocabulary": ["ok", 3]}`, "/options/vocabulary/1: must be a string"},
		{`{"keywords": ["ok", "!!!"]}`, "/options/keywords/1"},
		{`{"keywords": [""]}`, "/options/keywords/0"},
		{`{"language": "fr"}`, "/options/language"},
		{`{"workers": 0}`, "/options/workers"},
		{`{"lm_order": 4}`, "/options/lm_order"},
		{`{"segment_gap": -1}`, "/options/segment_gap"},
		{`[]`, "/options: must be an object"},
	}
	for _, c := range cases {
		o, err := ParseOptions(json.RawMessage(c.raw))
		if c.wantErr == "" {
			if err != nil {
				t.Errorf("%s: %v", c.raw, err)
			} else if o.Workers < 1 || o.MaxSeconds <= 0 || o.LMOrder != 3 {
				t.Errorf("%s: defaults not applied: %+v", c.raw, o)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: error %v, want %q", c.raw, err, c.wantErr)
		}
	}
}

// TestVocabularyWithoutDomainText: vocabulary alone adds pronunciations
// and reports the words the generic model cannot produce.
func TestVocabularyWithoutDomainText(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "clip.wav")
	if err := mediagen.Speech(context.Background(), path, "Landfall sends the images to Rekognition.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	a := &Analyser{Pronouncer: SpellingPronouncer{}}
	opts, _ := json.Marshal(map[string]any{"vocabulary": []string{"Rekognition", "bucket"}})
	out, err := a.Transcribe(context.Background(), &analyser.Env{Workdir: t.TempDir()}, &analyser.Input{Path: path, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), out)
	if out.LanguageModel != "generic" || out.Vocabulary == nil {
		t.Fatalf("lm %s, vocabulary %+v", out.LanguageModel, out.Vocabulary)
	}
	if _, ok := out.Vocabulary.Pronounced["rekognition"]; !ok {
		t.Errorf("rekognition not pronounced: %+v", out.Vocabulary)
	}
	if len(out.Vocabulary.Unreachable) != 1 || out.Vocabulary.Unreachable[0] != "rekognition" {
		t.Errorf("unreachable %v, want [rekognition]", out.Vocabulary.Unreachable)
	}
}

// TestMissingModel: a missing model or recogniser is a named
// Tool.Missing error, not a silent fallback.
func TestMissingModel(t *testing.T) {
	t.Setenv("LANDFALL_POCKETSPHINX_MODEL", t.TempDir())
	path := filepath.Join(t.TempDir(), "x.wav")
	if err := mediagen.Silence(context.Background(), path, 1); err != nil {
		t.Fatal(err)
	}
	_, err := run(t, path, nil)
	if errcode.Of(err) != errcode.ToolMissing || !strings.Contains(err.Error(), "pocketsphinx-en-us") {
		t.Fatalf("error %v, want Tool.Missing naming pocketsphinx-en-us", err)
	}
}
