package mediagen

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
)

type probe struct {
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
	} `json:"streams"`
}

func ffprobe(t *testing.T, path string) probe {
	t.Helper()
	res, err := execx.Run(context.Background(), execx.Cmd{Name: "ffprobe", Args: []string{
		"-v", "error", "-print_format", "json", "-show_format", "-show_streams", path}})
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var p probe
	if err := json.Unmarshal(res.Stdout, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSpeechVoices(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	for _, v := range []Voice{VoiceMale, VoiceFemale, {Engine: "espeak-ng", Name: "en-us+m3"}} {
		p := filepath.Join(dir, v.Name+".wav")
		if err := Speech(ctx, p, "Landfall turns uploads into transcripts.", v); err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		pr := ffprobe(t, p)
		if len(pr.Streams) != 1 || pr.Streams[0].SampleRate != "16000" || pr.Streams[0].Channels != 1 {
			t.Fatalf("%s: streams %+v, want one 16 kHz mono stream", v, pr.Streams)
		}
		d, err := Duration(ctx, p)
		if err != nil || d < 1 || d > 6 {
			t.Fatalf("%s: duration %v, %v", v, d, err)
		}
	}
	if err := Speech(ctx, filepath.Join(dir, "x.wav"), "hi", Voice{Engine: "nope"}); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("unknown engine: %v", err)
	}
}

func TestDialogueTimings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "d.wav")
	turns := []Turn{
		{Speaker: "A", Voice: VoiceMale, Text: "Good morning."},
		{Speaker: "B", Voice: VoiceFemale, Text: "Good morning to you."},
	}
	tt, err := Dialogue(ctx, p, turns, 0.5, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	total, err := Duration(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if tt[0].Start != 0.5 || math.Abs(tt[1].Start-tt[0].End-0.7) > 1e-9 || math.Abs(tt[1].End-total) > 0.01 {
		t.Fatalf("timings %+v, total %v", tt, total)
	}
}

func TestVideoWithAndWithoutAudio(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	wav := filepath.Join(dir, "s.wav")
	if err := Tone(ctx, wav, 1.0, 440); err != nil {
		t.Fatal(err)
	}
	slides := []Slide{{Text: "One", Seconds: 1}, {Text: "Two\nlines", Seconds: 1.6}, {Text: "Three", Seconds: 1}}
	for _, tc := range []struct {
		name  string
		audio string
	}{{"audio", wav}, {"silent", ""}} {
		p := filepath.Join(dir, tc.name+".mp4")
		res, err := Video(ctx, p, VideoSpec{Width: 320, Height: 240, Slides: slides, Audio: tc.audio})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(res.Cuts) != 2 || res.Cuts[0] != 1 || res.Cuts[1] != 2.6 || res.Duration != 3.6 {
			t.Fatalf("%s: result %+v", tc.name, res)
		}
		pr := ffprobe(t, p)
		var v, a int
		for _, s := range pr.Streams {
			switch s.CodecType {
			case "video":
				v++
				if s.Width != 320 || s.Height != 240 || s.CodecName != "h264" {
					t.Fatalf("%s: video stream %+v", tc.name, s)
				}
			case "audio":
				a++
			}
		}
		wantA := 0
		if tc.audio != "" {
			wantA = 1
		}
		if v != 1 || a != wantA {
			t.Fatalf("%s: %d video and %d audio streams", tc.name, v, a)
		}
	}
	if _, err := Video(ctx, filepath.Join(dir, "x.mp4"), VideoSpec{}); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("no slides: %v", err)
	}
}

func TestImageText(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "i.png")
	if err := Image(context.Background(), p, ImageSpec{Width: 400, Height: 200, Text: "100% @home"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil || cfg.Width != 400 || cfg.Height != 200 {
		t.Fatalf("config %+v, %v", cfg, err)
	}
}

func TestSilenceAndNoise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, n := filepath.Join(dir, "s.wav"), filepath.Join(dir, "n.wav")
	if err := Silence(ctx, s, 2); err != nil {
		t.Fatal(err)
	}
	if err := Noise(ctx, n, 2, 0.5); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s, n} {
		if d, err := Duration(ctx, p); err != nil || d != 2 {
			t.Fatalf("%s: %v %v", p, d, err)
		}
	}
}

func TestPNGBombHeader(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "bomb.png")
	if err := PNGBomb(p, 20000, 20000); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	if fi.Size() > 1<<20 {
		t.Fatalf("bomb is %d bytes, want small", fi.Size())
	}
	f, _ := os.Open(p)
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil || format != "png" || cfg.Width != 20000 || cfg.Height != 20000 {
		t.Fatalf("config %+v %s %v", cfg, format, err)
	}
}

func TestBrokenFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "src.bin")
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i)
	}
	os.WriteFile(src, data, 0o644)
	tr := filepath.Join(dir, "tr.bin")
	if err := Truncate(src, tr, 100); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(tr); len(b) != 100 || b[99] != 99 {
		t.Fatalf("truncated: %d bytes", len(b))
	}
	co := filepath.Join(dir, "co.bin")
	if err := Corrupt(src, co, 500, 100); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(co)
	changed := 0
	for i := range b {
		if b[i] != data[i] {
			changed++
			if i < 500 || i >= 600 {
				t.Fatalf("byte %d changed outside the range", i)
			}
		}
	}
	if len(b) != 1000 || changed < 90 {
		t.Fatalf("corrupt: len %d, %d changed", len(b), changed)
	}
	if err := Corrupt(src, co, 950, 100); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("range past the end: %v", err)
	}
	e := filepath.Join(dir, "e.mp4")
	if err := Empty(e); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(e); fi.Size() != 0 {
		t.Fatal("not empty")
	}
}

func TestVideoSlideWithImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	pic := filepath.Join(dir, "pic.png")
	if err := Image(ctx, pic, ImageSpec{Width: 200, Height: 100, Background: "red"}); err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(dir, "s.wav")
	if err := Tone(ctx, wav, 1, 440); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "v.mp4")
	res, err := Video(ctx, p, VideoSpec{Width: 320, Height: 240, Audio: wav, Slides: []Slide{
		{Text: "Intro", Seconds: 1}, {Text: "Picture", Seconds: 1, Image: pic, Background: "white"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Duration != 2 || len(res.Cuts) != 1 {
		t.Fatalf("%+v", res)
	}
	// The middle of the second slide is the red picture.
	frame := filepath.Join(dir, "f.png")
	if _, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-v", "error", "-ss", "1.5", "-i", p, "-frames:v", "1", "-vf", "crop=2:2:159:100", frame}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(frame)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	r, g, b, _ := img.At(0, 0).RGBA()
	if r>>8 < 180 || g>>8 > 80 || b>>8 > 80 {
		t.Fatalf("centre pixel is %d,%d,%d, want red", r>>8, g>>8, b>>8)
	}
	if _, err := Video(ctx, filepath.Join(dir, "x.mp4"), VideoSpec{Slides: []Slide{{Seconds: 1, Image: filepath.Join(dir, "missing.png")}}}); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("missing image: %v", err)
	}
}

func TestVideoInAFolderThatNeedsEscaping(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a,b 'c':d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Video(context.Background(), filepath.Join(dir, "v.mp4"), VideoSpec{Width: 160, Height: 120, Slides: []Slide{{Text: "x", Seconds: 0.4}}}); err != nil {
		t.Fatal(err)
	}
}
