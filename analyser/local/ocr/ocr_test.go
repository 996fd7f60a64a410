package ocr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

var (
	slides   []mediagen.Slide
	video    *mediagen.VideoResult
	mediaOut json.RawMessage // the media task's output on lecture.mp4
)

// fx is the test media, generated once per test binary.
var fx = analysertest.NewFixtures("ocr", makeFixtures)

func TestMain(m *testing.M) { analysertest.Main(m, fx) }

// fixtures returns the folder of the generated test media.
func fixtures(t testing.TB) string { return fx.Dir(t) }

func makeFixtures(ctx context.Context, dir string) error {
	p := func(n string) string { return filepath.Join(dir, n) }
	b, err := os.ReadFile("testdata/slides.json")
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &slides); err != nil {
		return fmt.Errorf("testdata/slides.json: %w", err)
	}
	video, err = mediagen.Video(ctx, p("lecture.mp4"), mediagen.VideoSpec{Width: 1280, Height: 720, Slides: slides})
	if err != nil {
		return err
	}
	work := p("work")
	out, err := mediatools.Media{}.Run(ctx, &analyser.Env{Workdir: work}, &analyser.Input{Path: p("lecture.mp4"), Options: json.RawMessage(`{"thumbnails": 1}`)})
	if err != nil {
		return err
	}
	if mediaOut, err = json.Marshal(out); err != nil {
		return err
	}
	images := map[string]mediagen.ImageSpec{
		"dark.png":  {Width: 900, Height: 300, Text: "White on black text", FontSize: 48, Background: "black", Color: "white"},
		"small.png": {Width: 260, Height: 60, Text: "Tiny caption 2026", FontSize: 11},
		"blank.png": {Width: 640, Height: 360},
		"tiny.png":  {Width: 1, Height: 1},
		"photo.jpg": {Width: 800, Height: 400, Text: "Breaking News", FontSize: 60, Background: "0x334455", Color: "yellow"},
	}
	for name, spec := range images {
		if err := mediagen.Image(ctx, p(name), spec); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := mediagen.PNGBomb(p("bomb.png"), 20000, 20000); err != nil {
		return err
	}
	// A dark band with light text above a light band with dark text.
	if err := mediagen.Image(ctx, p("light.png"), mediagen.ImageSpec{Width: 900, Height: 300, Text: "Black on white words", FontSize: 48}); err != nil {
		return err
	}
	if _, err := execx.Run(ctx, execx.Cmd{Name: "convert", Args: []string{p("dark.png"), p("light.png"), "-append", p("mixed.png")}}); err != nil {
		return err
	}
	fi, err := os.Stat(p("photo.jpg"))
	if err != nil {
		return err
	}
	return mediagen.Truncate(p("photo.jpg"), p("broken.jpg"), fi.Size()/3)
}

func runOCR(t testing.TB, in *analyser.Input) (*Result, error) {
	t.Helper()
	out, err := OCR{}.Run(context.Background(), &analyser.Env{Workdir: t.TempDir()}, in)
	if err != nil {
		return nil, err
	}
	analysertest.ValidateOutput(t, OCR{}.Spec(), out)
	return out.(*Result), nil
}

func readImage(t testing.TB, name, opts string) (*Result, error) {
	t.Helper()
	in := &analyser.Input{Path: filepath.Join(fixtures(t), name), Kind: "image"}
	if opts != "" {
		in.Options = json.RawMessage(opts)
	}
	return runOCR(t, in)
}

// slideAccuracy compares the text read during each slide with the slide's
// caption and returns the character accuracy over all slides (1 − edits /
// characters), with white space collapsed.
func slideAccuracy(t testing.TB, r *Result) (acc float64, edits, chars int) {
	for i, s := range slides {
		start := video.Starts[i]
		end := video.Duration
		if i+1 < len(video.Starts) {
			end = video.Starts[i+1]
		}
		var got []string
		for _, tx := range r.Texts {
			if tx.First < end && tx.Last > start {
				got = append(got, tx.Text)
			}
		}
		want := strings.Join(strings.Fields(s.Text), " ")
		have := strings.Join(strings.Fields(strings.Join(got, " ")), " ")
		d := Levenshtein([]rune(have), []rune(want))
		if d > 0 {
			t.Logf("slide %d: read %q, want %q (%d edits)", i+1, have, want, d)
		}
		edits += d
		chars += len([]rune(want))
	}
	return 1 - float64(edits)/float64(chars), edits, chars
}

// slide is the OCR of the lecture's keyframes, read once;
// TestSlideCaptions and TestQualityOCR share it.
var slide analysertest.Shared[*Result]

func slideRun(t testing.TB) *Result {
	t.Helper()
	dir := fixtures(t)
	r := slide.Get(t, func() (*Result, error) {
		out, err := OCR{}.Run(context.Background(), &analyser.Env{Workdir: filepath.Join(dir, "slides-ocr")},
			&analyser.Input{Results: map[string]json.RawMessage{"media": mediaOut}})
		if err != nil {
			return nil, err
		}
		return out.(*Result), nil
	})
	analysertest.ValidateOutput(t, OCR{}.Spec(), r)
	return r
}

func TestSlideCaptions(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	r := slideRun(t)
	acc, _, _ := slideAccuracy(t, r)
	if acc < 0.98 {
		t.Errorf("character accuracy %.2f%%, want ≥ 98%%", acc*100)
	}
	// Slides 3 and 4 repeat one caption across a cut: one entry per line,
	// seen from the start of slide 3 to the end of slide 4.
	n := 0
	for _, tx := range r.Texts {
		if strings.Contains(tx.Text, "Extract audio") {
			n++
			if tx.First != video.Starts[2] || tx.Last != video.Starts[4] {
				t.Errorf("repeated caption seen %.2f–%.2f, want %.2f–%.2f", tx.First, tx.Last, video.Starts[2], video.Starts[4])
			}
			if tx.Box == nil || tx.Box.Width <= 0 || tx.Box.Width > 1 {
				t.Errorf("box %+v", tx.Box)
			}
		}
	}
	if n != 1 {
		t.Errorf("repeated caption listed %d times, want once", n)
	}
	// Dark slides were inverted, light ones not.
	for i, f := range r.Frames {
		wantInv := i != 1 && i != 5
		if f.Inverted != wantInv {
			t.Errorf("frame %d (%s background): inverted=%v", i, slides[i].Background, f.Inverted)
		}
	}
}

func TestImages(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	for _, tc := range []struct {
		name, opts, want string
		inverted         bool
		minScale         float64
	}{
		{"dark.png", "", "White on black text", true, 1},
		{"dark.png", `{"polarity": "both"}`, "White on black text", true, 1},
		{"small.png", "", "Tiny caption 2026", false, 3},
		{"photo.jpg", "", "Breaking News", true, 1},
		{"mixed.png", "", "White on black text\nBlack on white words", true, 1},
		{"mixed.png", `{"polarity": "normal"}`, "Black on white words", false, 1},
	} {
		t.Run(tc.name+tc.opts, func(t *testing.T) {
			r, err := readImage(t, tc.name, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Text != tc.want {
				t.Errorf("text %q, want %q", r.Text, tc.want)
			}
			if len(r.Frames) != 1 || r.Frames[0].Inverted != tc.inverted || r.Frames[0].Scale < tc.minScale {
				t.Errorf("frames %+v", r.Frames)
			}
			if len(r.Texts) == 1 && (r.Texts[0].Confidence < 55 || r.Texts[0].First != 0) {
				t.Errorf("texts %+v", r.Texts)
			}
		})
	}
}

func TestNothingToRead(t *testing.T) {
	for _, name := range []string{"blank.png", "tiny.png"} {
		r, err := readImage(t, name, "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(r.Texts) != 0 || r.Text != "" {
			t.Errorf("%s: read %q from an image without text", name, r.Text)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := fixtures(t)
	if _, err := readImage(t, "broken.jpg", ""); !errors.Is(err, errcode.MediaCorrupt) || !strings.Contains(err.Error(), "broken.jpg") {
		t.Errorf("truncated jpeg: %v", err)
	}
	if _, err := readImage(t, "bomb.png", ""); !errors.Is(err, errcode.MediaTooLarge) || !strings.Contains(err.Error(), "bomb.png") {
		t.Errorf("png bomb: %v", err)
	}
	if _, err := readImage(t, "missing.png", ""); !errors.Is(err, errcode.NotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := readImage(t, "dark.png", `{"languages": ["xx"]}`); !errors.Is(err, errcode.ToolMissing) || !strings.Contains(err.Error(), "tesseract-ocr-xx") {
		t.Errorf("missing language: %v", err)
	}
	if _, err := readImage(t, "dark.png", `{"polarity": "sideways"}`); !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "/options/polarity") {
		t.Errorf("bad polarity: %v", err)
	}
	_, err := runOCR(t, &analyser.Input{Path: filepath.Join(dir, "lecture.mp4"), Kind: "video"})
	if !errors.Is(err, errcode.FailedPrecond) || !strings.Contains(err.Error(), "/results/media") {
		t.Errorf("video without keyframes: %v", err)
	}
	_, err = runOCR(t, &analyser.Input{Results: map[string]json.RawMessage{"media": json.RawMessage(`{"keyframes":[{"time":0,"path":""}]}`)}})
	if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "/results/media/keyframes/0/path") {
		t.Errorf("bad keyframe: %v", err)
	}
}

func TestParseTSV(t *testing.T) {
	tsv := "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n" +
		"1\t1\t0\t0\t0\t0\t0\t0\t400\t100\t-1\t\n" +
		"5\t1\t1\t1\t1\t1\t79\t37\t81\t23\t94.4\tHello\n" +
		"5\t1\t1\t1\t1\t2\t173\t37\t96\t23\t90.0\tWorld\n" +
		"5\t1\t1\t1\t2\t1\t79\t70\t40\t10\t10.0\tnoise\n"
	words, err := ParseTSV([]byte(tsv))
	if err != nil || len(words) != 3 {
		t.Fatalf("%v %v", words, err)
	}
	lines := Lines(words, 20)
	if len(lines) != 1 || lines[0].Text != "Hello World" || lines[0].Left != 79 || lines[0].Width != 190 || lines[0].Conf != 92.2 {
		t.Fatalf("%+v", lines)
	}
	for _, bad := range []string{"nope\n", "level\ta\n5\t1\t1\n", "level\n5\t1\t1\t1\t1\t1\tx\t1\t1\t1\t1\tw\n", "level\n5\t1\t1\t1\t1\t1\t1\t1\t1\t1\tNaN\tw\n"} {
		if _, err := ParseTSV([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestSimilarity(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		min  float64
		max  float64
	}{
		{"Step 2: Extract audio", "step 2 extract audio", 1, 1},
		{"Breaking News", "Breakinq News", 0.9, 0.95},
		{"Hello", "Goodbye", 0, 0.3},
		{"", "", 1, 1},
	} {
		s := Similarity(Normalise(tc.a), Normalise(tc.b))
		if s < tc.min || s > tc.max {
			t.Errorf("Similarity(%q, %q) = %v, want %v..%v", tc.a, tc.b, s, tc.min, tc.max)
		}
	}
}

func FuzzParseTSV(f *testing.F) {
	f.Add([]byte("level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n5\t1\t1\t1\t1\t1\t79\t37\t81\t23\t94.4\tHello\n"))
	f.Add([]byte("level\n5\t1\t1\t1\t1\t1\t-5\t-5\t0\t0\t-1\t \n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		words, err := ParseTSV(b)
		if err != nil {
			return
		}
		for _, l := range Lines(words, 0) {
			if l.Width < 0 || l.Height < 0 || l.Conf < 0 || l.Conf > 100 {
				t.Fatalf("bad line %+v", l)
			}
		}
	})
}

// TestQualityOCR prints the OCR row of the quality table: character
// accuracy on clean slide captions read from video keyframes.
func TestQualityOCR(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	r := slideRun(t)
	acc, edits, chars := slideAccuracy(t, r)
	t.Logf("| %-40s | %5.2f%% (%d/%d) | %8s |", "ocr: character accuracy, slide captions", acc*100, chars-edits, chars, "≥ 98%")
	if acc < 0.98 {
		t.Errorf("character accuracy %.2f%%, target 98%%", acc*100)
	}
}

// BenchmarkOCRKeyframe reads one 1280×720 slide keyframe.
func BenchmarkOCRKeyframe(b *testing.B) {
	fixtures(b)
	var m mediatools.Result
	if err := json.Unmarshal(mediaOut, &m); err != nil {
		b.Fatal(err)
	}
	r, err := NewReader(Options{})
	if err != nil {
		b.Fatal(err)
	}
	var cpu float64
	for i := 0; i < b.N; i++ {
		lines, _, err := r.ReadImage(context.Background(), m.Keyframes[0].Path, filepath.Join(b.TempDir(), "f"), &cpu)
		if err != nil || len(lines) == 0 {
			b.Fatalf("%v %v", lines, err)
		}
	}
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

func TestCancelledRunDoesNotPoisonLaterRuns(t *testing.T) {
	dir := fixtures(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := &analyser.Input{Path: filepath.Join(dir, "dark.png"), Kind: "image"}
	if _, err := (OCR{}).Run(ctx, &analyser.Env{Workdir: t.TempDir()}, in); !errors.Is(err, errcode.Canceled) {
		t.Fatalf("cancelled run: %v, want Canceled", err)
	}
	r, err := readImage(t, "dark.png", "")
	if err != nil || r.Text != "White on black text" {
		t.Fatalf("run after a cancelled one: %+v %v", r, err)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, OCR{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "slide.png")
		if err := mediagen.Image(context.Background(), p, mediagen.ImageSpec{Width: 640, Height: 360, Text: "Quarterly results", Background: "white", Color: "black"}); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p, Kind: types.KindImage}
	}})
}
