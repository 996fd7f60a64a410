package probe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// fx is the test media, generated once per test binary.
var fx = analysertest.NewFixtures("probe", makeFixtures)

func TestMain(m *testing.M) { analysertest.Main(m, fx) }

// fixtures returns the folder of the generated test media.
func fixtures(t testing.TB) string { return fx.Dir(t) }

func makeFixtures(ctx context.Context, dir string) error {
	p := func(name string) string { return filepath.Join(dir, name) }
	ff := func(args ...string) error {
		_, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: append([]string{"-hide_banner", "-nostdin", "-v", "error", "-y"}, args...)})
		return err
	}
	steps := []func() error{
		func() error {
			return mediagen.Speech(ctx, p("speech.wav"), "Landfall turns uploaded media into searchable insight.", mediagen.VoiceFemale)
		},
		func() error { return mediagen.Silence(ctx, p("silence.wav"), 3.5) },
		func() error { return mediagen.Noise(ctx, p("noise.flac"), 2, 0.3) },
		func() error {
			if err := mediagen.Tone(ctx, p("tone.wav"), 2, 440); err != nil {
				return err
			}
			return ff("-i", p("tone.wav"), "-c:a", "libmp3lame", "-b:a", "64k", p("tone.mp3"))
		},
		func() error { return ff("-i", p("speech.wav"), "-c:a", "aac", "-b:a", "64k", p("speech.m4a")) },
		func() error {
			slides := []mediagen.Slide{{Text: "Welcome", Seconds: 1.2}, {Text: "Shots", Seconds: 1.2}, {Text: "Faces", Seconds: 1.2}, {Text: "Thanks", Seconds: 1.2}}
			if _, err := mediagen.Video(ctx, p("lecture.mp4"), mediagen.VideoSpec{Width: 640, Height: 360, Slides: slides, Audio: p("speech.wav")}); err != nil {
				return err
			}
			_, err := mediagen.Video(ctx, p("silent.mp4"), mediagen.VideoSpec{Width: 640, Height: 360, Slides: slides})
			return err
		},
		func() error {
			return ff("-i", p("silent.mp4"), "-c:v", "libvpx", "-b:v", "200k", "-deadline", "realtime", "-t", "2", p("clip.webm"))
		},
		func() error {
			return mediagen.Image(ctx, p("text.png"), mediagen.ImageSpec{Width: 400, Height: 200, Text: "Hello"})
		},
		func() error {
			return mediagen.Image(ctx, p("text.jpg"), mediagen.ImageSpec{Width: 400, Height: 200, Text: "Hello"})
		},
		func() error { return mediagen.Image(ctx, p("tiny.png"), mediagen.ImageSpec{Width: 1, Height: 1}) },
		func() error { return mediagen.Empty(p("empty.mp4")) },
		func() error { return mediagen.Text(p("notes.mp4"), "Meeting notes\nThis is not a video.\n") },
		func() error { return mediagen.Text(p("doc.png"), "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n") },
		func() error {
			b := make([]byte, 8192)
			rand.New(rand.NewSource(7)).Read(b)
			b[0] = 0x00 // not a frame sync or any other magic
			return os.WriteFile(p("random.bin"), b, 0o644)
		},
		func() error {
			fi, err := os.Stat(p("lecture.mp4"))
			if err != nil {
				return err
			}
			return mediagen.Truncate(p("lecture.mp4"), p("truncated-faststart.mp4"), fi.Size()/2)
		},
		func() error {
			// Remuxed without faststart, the index (moov) is written last.
			if err := ff("-i", p("lecture.mp4"), "-c", "copy", p("plain.mp4")); err != nil {
				return err
			}
			fi, err := os.Stat(p("plain.mp4"))
			if err != nil {
				return err
			}
			return mediagen.Truncate(p("plain.mp4"), p("truncated-plain.mp4"), fi.Size()*2/3)
		},
		func() error { return mediagen.Truncate(p("lecture.mp4"), p("header-only.mp4"), 40) },
		func() error { return mediagen.PNGBomb(p("bomb.png"), 20000, 20000) },
		func() error {
			fi, err := os.Stat(p("text.png"))
			if err != nil {
				return err
			}
			return mediagen.Truncate(p("text.png"), p("truncated.png"), fi.Size()/2)
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("fixture step %d: %w", i, err)
		}
	}
	return nil
}

type testCase struct {
	Name        string     `json:"name"`
	Media       string     `json:"media"`
	Kind        types.Kind `json:"kind"`
	Container   string     `json:"container"`
	VideoCodec  string     `json:"video_codec"`
	AudioCodec  string     `json:"audio_codec"`
	Width       int        `json:"width"`
	Height      int        `json:"height"`
	FrameRate   float64    `json:"frame_rate"`
	SampleRate  int        `json:"sample_rate"`
	Channels    int        `json:"channels"`
	HasAudio    *bool      `json:"has_audio"`
	MinDuration float64    `json:"min_duration"`
	Code        string     `json:"code"`
	Message     string     `json:"message"`
}

func loadCases(t testing.TB) []testCase {
	t.Helper()
	b, err := os.ReadFile("testdata/cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []testCase
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("testdata/cases.json: %v", err)
	}
	return cases
}

// check runs one case and returns a description of what is wrong, or "".
func check(ctx context.Context, dir string, tc testCase, validate bool, t testing.TB) string {
	a, ok := analyser.Lookup(ID)
	if !ok {
		return "analyser not registered"
	}
	out, err := a.Run(ctx, &analyser.Env{}, &analyser.Input{MediaID: "m1", Path: filepath.Join(dir, tc.Media)})
	if tc.Code != "" {
		if err == nil {
			return fmt.Sprintf("got kind %s, want error %s", out.(*Result).Kind, tc.Code)
		}
		if got := string(errcode.Of(err)); got != tc.Code {
			return fmt.Sprintf("error %v has code %s, want %s", err, got, tc.Code)
		}
		if !strings.Contains(err.Error(), tc.Message) {
			return fmt.Sprintf("error %q does not contain %q", err, tc.Message)
		}
		if !strings.Contains(err.Error(), tc.Media) {
			return fmt.Sprintf("error %q does not name the file %s", err, tc.Media)
		}
		return ""
	}
	if err != nil {
		return fmt.Sprintf("unexpected error: %v", err)
	}
	r := out.(*Result)
	if validate {
		analysertest.ValidateOutput(t, a.Spec(), r)
	}
	var bad []string
	want := func(field string, got, want any, set bool) {
		if set && fmt.Sprint(got) != fmt.Sprint(want) {
			bad = append(bad, fmt.Sprintf("%s = %v, want %v", field, got, want))
		}
	}
	want("kind", r.Kind, tc.Kind, true)
	want("container", r.Container, tc.Container, tc.Container != "")
	want("video_codec", r.VideoCodec, tc.VideoCodec, tc.VideoCodec != "")
	want("audio_codec", r.AudioCodec, tc.AudioCodec, tc.AudioCodec != "")
	want("width", r.Width, tc.Width, tc.Width != 0)
	want("height", r.Height, tc.Height, tc.Height != 0)
	want("frame_rate", r.FrameRate, tc.FrameRate, tc.FrameRate != 0)
	want("sample_rate", r.SampleRate, tc.SampleRate, tc.SampleRate != 0)
	want("channels", r.Channels, tc.Channels, tc.Channels != 0)
	if tc.HasAudio != nil {
		want("has_audio", r.HasAudio, *tc.HasAudio, true)
	}
	if r.Duration < tc.MinDuration {
		bad = append(bad, fmt.Sprintf("duration %v < %v", r.Duration, tc.MinDuration))
	}
	return strings.Join(bad, "; ")
}

func TestClassify(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	for _, tc := range loadCases(t) {
		t.Run(tc.Name, func(t *testing.T) {
			if msg := check(context.Background(), dir, tc, true, t); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// TestQualityClassify prints the classify row of the quality table: the
// share of generated good and bad files classified exactly as expected.
func TestQualityClassify(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	cases := loadCases(t)
	right := 0
	for _, tc := range cases {
		if msg := check(context.Background(), dir, tc, false, t); msg == "" {
			right++
		} else {
			t.Logf("%s: %s", tc.Name, msg)
		}
	}
	acc := float64(right) / float64(len(cases)) * 100
	t.Logf("| %-40s | %8.1f%% | %8s |", "classify: files classified as expected", acc, "100%")
	if right != len(cases) {
		t.Errorf("classify accuracy %.1f%% (%d/%d), target 100%%", acc, right, len(cases))
	}
}

func TestUsageRecorded(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	var got []analyser.Usage
	env := &analyser.Env{Usage: func(u analyser.Usage) { got = append(got, u) }}
	if _, err := (Classifier{}).Run(context.Background(), env, &analyser.Input{Path: filepath.Join(dir, "lecture.mp4")}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Analyser != ID || got[0].CPUSeconds <= 0 {
		t.Fatalf("usage %+v", got)
	}
}

func TestOptions(t *testing.T) {
	dir := fixtures(t)
	ctx := context.Background()
	run := func(opts string, media string) error {
		_, err := (Classifier{}).Run(ctx, &analyser.Env{}, &analyser.Input{Path: filepath.Join(dir, media), Options: json.RawMessage(opts)})
		return err
	}
	if err := run(`{"max_pixel":5}`, "text.png"); !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "max_pixel") {
		t.Fatalf("unknown option: %v", err)
	}
	if err := run(`{"max_pixels": 1000}`, "text.png"); !errors.Is(err, errcode.MediaTooLarge) {
		t.Fatalf("max_pixels: %v", err)
	}
	if err := run(`{"max_duration_seconds": 2}`, "lecture.mp4"); !errors.Is(err, errcode.MediaTooLarge) {
		t.Fatalf("max_duration_seconds: %v", err)
	}
	if err := run(`{}`, "missing.mp4"); !errors.Is(err, errcode.NotFound) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := (Classifier{}).Run(ctx, &analyser.Env{}, &analyser.Input{}); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("no path: %v", err)
	}
}

func TestCancelled(t *testing.T) {
	dir := fixtures(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := (Classifier{}).Run(ctx, &analyser.Env{}, &analyser.Input{Path: filepath.Join(dir, "lecture.mp4")})
	if !errors.Is(err, errcode.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func BenchmarkClassify(b *testing.B) {
	dir := fixtures(b)
	for _, media := range []string{"speech.wav", "lecture.mp4", "text.png", "bomb.png"} {
		b.Run(media, func(b *testing.B) {
			path := filepath.Join(dir, media)
			var cpu float64
			for i := 0; i < b.N; i++ {
				_, _ = Classify(context.Background(), path, Options{}, &cpu)
			}
			// Wall time depends on how busy the machine is; the tools' CPU
			// time much less.
			b.ReportMetric(cpu/float64(b.N), "tool-cpu-s/op")
		})
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, Classifier{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "slide.png")
		if err := mediagen.Image(context.Background(), p, mediagen.ImageSpec{Width: 320, Height: 240, Text: "Conformance", Background: "white", Color: "black"}); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p}
	}})
}
