package mediatools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

var (
	// slideVideo is the generator's report on lecture.mp4: the true cuts.
	slideVideo *mediagen.VideoResult
)

// fx is the test media, generated once per test binary.
var fx = analysertest.NewFixtures("media", makeFixtures)

func TestMain(m *testing.M) { analysertest.Main(m, fx) }

// slideCases are the slide lengths of the generated lecture: uneven, down
// to 0.4 s, so each cut must be found on its own frame.
var slideLengths = []float64{1.6, 0.4, 2.0, 1.2, 0.8, 1.4, 2.2, 1.0}

// fixtures returns the folder of the generated test media.
func fixtures(t testing.TB) string { return fx.Dir(t) }

func makeFixtures(ctx context.Context, dir string) error {
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := mediagen.Speech(ctx, p("speech.wav"), "Shots are found where the picture changes.", mediagen.VoiceMale); err != nil {
		return err
	}
	var slides []mediagen.Slide
	for i, s := range slideLengths {
		slides = append(slides, mediagen.Slide{Text: fmt.Sprintf("Slide %d\nLanding the media", i+1), Seconds: s})
	}
	var err error
	slideVideo, err = mediagen.Video(ctx, p("lecture.mp4"), mediagen.VideoSpec{Width: 640, Height: 360, Slides: slides, Audio: p("speech.wav")})
	if err != nil {
		return err
	}
	if _, err := mediagen.Video(ctx, p("silent.mp4"), mediagen.VideoSpec{Width: 640, Height: 360, Slides: slides[:3]}); err != nil {
		return err
	}
	if err := mediagen.Silence(ctx, p("silence.wav"), 2); err != nil {
		return err
	}
	if err := mediagen.Image(ctx, p("text.jpg"), mediagen.ImageSpec{Width: 800, Height: 400, Text: "Poster"}); err != nil {
		return err
	}
	if err := mediagen.Image(ctx, p("tiny.png"), mediagen.ImageSpec{Width: 1, Height: 1}); err != nil {
		return err
	}
	if err := mediagen.PNGBomb(p("bomb.png"), 20000, 20000); err != nil {
		return err
	}
	fi, err := os.Stat(p("lecture.mp4"))
	if err != nil {
		return err
	}
	return mediagen.Truncate(p("lecture.mp4"), p("truncated.mp4"), fi.Size()/2)
}

func run(t testing.TB, media string, opts string) (*Result, error) {
	t.Helper()
	in := &analyser.Input{MediaID: "m", Path: filepath.Join(fixtures(t), media)}
	if opts != "" {
		in.Options = json.RawMessage(opts)
	}
	out, err := Media{}.Run(context.Background(), &analyser.Env{Workdir: t.TempDir()}, in)
	if err != nil {
		return nil, err
	}
	analysertest.ValidateOutput(t, Media{}.Spec(), out)
	return out.(*Result), nil
}

func exists(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("artefact %s missing or empty (%v)", path, err)
	}
}

func TestVideoShotsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	r, err := run(t, "lecture.mp4", "")
	if err != nil {
		t.Fatal(err)
	}
	want := slideVideo.Cuts
	if len(r.Cuts) != len(want) {
		t.Fatalf("found %d cuts %v, want %d %v", len(r.Cuts), r.Cuts, len(want), want)
	}
	for i := range want {
		if math.Abs(r.Cuts[i]-want[i]) > 0.0005 {
			t.Errorf("cut %d at %.3f, generated at %.3f", i, r.Cuts[i], want[i])
		}
	}
	if len(r.Shots) != len(slideLengths) || len(r.Keyframes) != len(slideLengths) {
		t.Fatalf("%d shots, %d keyframes; want %d", len(r.Shots), len(r.Keyframes), len(slideLengths))
	}
	for i, s := range r.Shots {
		kf := r.Keyframes[s.Keyframe]
		if kf.Time <= s.Start || kf.Time >= s.End {
			t.Errorf("shot %d [%v,%v): keyframe at %v lies outside", i, s.Start, s.End, kf.Time)
		}
		exists(t, kf.Path)
		if i > 0 && s.Score < DefaultCutParams.Min {
			t.Errorf("shot %d: cut score %v below the minimum", i, s.Score)
		}
	}
	if r.AudioPath == "" || r.AudioNote != "" {
		t.Fatalf("audio_path %q note %q", r.AudioPath, r.AudioNote)
	}
	exists(t, r.AudioPath)
	d, err := mediagen.Duration(context.Background(), r.AudioPath)
	if err != nil || math.Abs(d-r.Duration) > 0.1 {
		t.Fatalf("audio track lasts %v (%v), video %v", d, err, r.Duration)
	}
	exists(t, r.PosterPath)
	if len(r.Thumbnails) != 5 {
		t.Fatalf("%d thumbnails", len(r.Thumbnails))
	}
	for _, th := range r.Thumbnails {
		exists(t, th.Path)
	}
	if r.ProxyPath != "" {
		t.Fatalf("proxy made for a small file")
	}
}

func TestVideoWithoutAudioSaysSo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	r, err := run(t, "silent.mp4", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.AudioPath != "" || !strings.Contains(r.AudioNote, "no audio track") || !strings.Contains(r.AudioNote, "silent.mp4") {
		t.Fatalf("audio_path %q, note %q", r.AudioPath, r.AudioNote)
	}
	if len(r.Cuts) != 2 {
		t.Fatalf("cuts %v", r.Cuts)
	}
}

type shotCase struct {
	Name     string           `json:"name"`
	Width    int              `json:"width"`
	Height   int              `json:"height"`
	FPS      int              `json:"fps"`
	Slides   []mediagen.Slide `json:"slides"`
	WantCuts *[]float64       `json:"want_cuts"` // default: every slide change
}

// TestShotCases generates each video of testdata/shots.json and checks
// that the cuts found are exactly the generated ones.
func TestShotCases(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	b, err := os.ReadFile("testdata/shots.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []shotCase
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cases); err != nil {
		t.Fatalf("testdata/shots.json: %v", err)
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "v.mp4")
			gen, err := mediagen.Video(ctx, path, mediagen.VideoSpec{Width: tc.Width, Height: tc.Height, FPS: tc.FPS, Slides: tc.Slides})
			if err != nil {
				t.Fatal(err)
			}
			want := gen.Cuts
			if tc.WantCuts != nil {
				want = *tc.WantCuts
			}
			out, err := Media{}.Run(ctx, &analyser.Env{Workdir: t.TempDir()}, &analyser.Input{Path: path, Options: json.RawMessage(`{"thumbnails": 1}`)})
			if err != nil {
				t.Fatal(err)
			}
			r := out.(*Result)
			if fmt.Sprint(r.Cuts) != fmt.Sprint(want) {
				t.Fatalf("cuts %v, want %v", r.Cuts, want)
			}
			if len(r.Shots) != len(want)+1 || len(r.Keyframes) != len(r.Shots) || r.Shots[len(r.Shots)-1].End != r.Duration {
				t.Fatalf("%d shots, %d keyframes for %d cuts", len(r.Shots), len(r.Keyframes), len(want))
			}
		})
	}
}

func TestAudioOnlyAndSilence(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	for _, media := range []string{"speech.wav", "silence.wav"} {
		r, err := run(t, media, `{"proxy_threshold_bytes": 1}`)
		if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		if r.Kind != types.KindAudio || r.AudioPath == "" || len(r.Keyframes) != 0 || len(r.Shots) != 0 {
			t.Fatalf("%s: %+v", media, r)
		}
		exists(t, r.AudioPath)
		exists(t, r.ProxyPath)
	}
}

func TestImage(t *testing.T) {
	for _, media := range []string{"text.jpg", "tiny.png"} {
		r, err := run(t, media, "")
		if err != nil {
			t.Fatalf("%s: %v", media, err)
		}
		if r.Kind != types.KindImage || len(r.Keyframes) != 1 || r.AudioPath != "" || r.AudioNote != "" {
			t.Fatalf("%s: %+v", media, r)
		}
		exists(t, r.Keyframes[0].Path)
		exists(t, r.PosterPath)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := run(t, "truncated.mp4", ""); !errors.Is(err, errcode.MediaCorrupt) || !strings.Contains(err.Error(), "truncated.mp4") {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := run(t, "bomb.png", ""); !errors.Is(err, errcode.MediaTooLarge) || !strings.Contains(err.Error(), "bomb.png") {
		t.Fatalf("png bomb: %v", err)
	}
	if _, err := run(t, "lecture.mp4", `{"scene_threshold": 2}`); !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "/options/scene_threshold") {
		t.Fatalf("bad threshold: %v", err)
	}
	if _, err := run(t, "lecture.mp4", `{"thumbs": 2}`); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("unknown option: %v", err)
	}
	_, err := Media{}.Run(context.Background(), &analyser.Env{}, &analyser.Input{Path: filepath.Join(fixtures(t), "lecture.mp4")})
	if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "Workdir") {
		t.Fatalf("no workdir: %v", err)
	}
}

func TestUsesClassifyResult(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	// A classify result that says the file has no audio is believed.
	cls := json.RawMessage(`{"kind":"video","file":"lecture.mp4","size_bytes":1,"container":"mp4","mime":"video/mp4","format":"mp4","duration":10.6,"has_audio":false,"has_video":true,"width":640,"height":360,"streams":[{"index":0,"type":"video"}]}`)
	in := &analyser.Input{Path: filepath.Join(dir, "lecture.mp4"), Results: map[string]json.RawMessage{"classify": cls}, Options: json.RawMessage(`{"thumbnails": 1}`)}
	out, err := Media{}.Run(context.Background(), &analyser.Env{Workdir: t.TempDir()}, in)
	if err != nil {
		t.Fatal(err)
	}
	if r := out.(*Result); r.AudioPath != "" || r.AudioNote == "" || len(r.Thumbnails) != 1 {
		t.Fatalf("%+v", r)
	}
	in.Results["classify"] = json.RawMessage(`{"kind":`)
	if _, err := (Media{}).Run(context.Background(), &analyser.Env{Workdir: t.TempDir()}, in); !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "/results/classify") {
		t.Fatalf("bad classify result: %v", err)
	}
}

func TestParseSceneOutput(t *testing.T) {
	cuts, err := parseSceneOutput([]byte("frame:0    pts:30      pts_time:1.2\nlavfi.scene_score=0.542000\nframe:1    pts:60      pts_time:2.4\nlavfi.scene_score=1.000000\n"))
	if err != nil || len(cuts) != 2 || cuts[0] != (Cut{1.2, 0.542}) || cuts[1] != (Cut{2.4, 1}) {
		t.Fatalf("%+v %v", cuts, err)
	}
	if _, err := parseSceneOutput([]byte("frame:0 pts:1 pts_time:abc\n")); err == nil {
		t.Fatal("bad pts_time accepted")
	}
}

func TestPickCuts(t *testing.T) {
	mk := func(scores ...float64) []Cut {
		out := make([]Cut, len(scores))
		for i, s := range scores {
			out[i] = Cut{Time: float64(i) / 25, Score: s}
		}
		return out
	}
	for _, tc := range []struct {
		name   string
		scores []Cut
		want   []float64
	}{
		{"hard cut", mk(0, 0.001, 0.9, 0.001, 0), []float64{0.08}},
		{"text-only change on a static slide", mk(0, 0.00002, 0.00001, 0.035, 0.00002, 0.00001), []float64{0.12}},
		{"steady motion does not cut", mk(0, 0.05, 0.06, 0.05, 0.07, 0.05, 0.06), nil},
		{"first frame never cuts", mk(1, 0, 0), nil},
		{"below the minimum", mk(0, 0, 0.005, 0, 0), nil},
	} {
		var got []float64
		for _, c := range PickCuts(tc.scores, DefaultCutParams) {
			got = append(got, c.Time)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: cuts %v, want %v", tc.name, got, tc.want)
		}
	}
}

func FuzzParseSceneOutput(f *testing.F) {
	f.Add([]byte("frame:0    pts:30      pts_time:1.2\nlavfi.scene_score=0.542000\n"))
	f.Add([]byte("lavfi.scene_score=1\nframe:\npts_time:NaN"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cuts, err := parseSceneOutput(b)
		if err != nil {
			return
		}
		for _, c := range cuts {
			if math.IsNaN(c.Time) || math.IsInf(c.Time, 0) {
				t.Fatalf("non-finite cut %v", c)
			}
		}
	})
}

// TestQualityShots prints the shot-detection row of the quality table:
// generated hard cuts found at their exact frame.
func TestQualityShots(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	r, err := run(t, "lecture.mp4", "")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, w := range slideVideo.Cuts {
		for _, c := range r.Cuts {
			if math.Abs(c-w) < 0.0005 {
				found++
				break
			}
		}
	}
	falsePos := len(r.Cuts) - found
	recall := float64(found) / float64(len(slideVideo.Cuts)) * 100
	t.Logf("| %-40s | %5.1f%% (%d FP) | %8s |", "shots: generated cuts found on exact frame", recall, falsePos, "100%, 0 FP")
	if found != len(slideVideo.Cuts) || falsePos != 0 {
		t.Errorf("found %d/%d cuts with %d false positives", found, len(slideVideo.Cuts), falsePos)
	}
}

var benchVideo struct {
	once sync.Once
	path string
	dur  float64
	err  error
}

// BenchmarkShotDetection60s720p measures DetectCuts on a 60 s 1280×720
// slide video; x-realtime is media seconds processed per wall second.
func BenchmarkShotDetection60s720p(b *testing.B) {
	benchVideo.once.Do(func() {
		var slides []mediagen.Slide
		for i := 0; i < 12; i++ {
			slides = append(slides, mediagen.Slide{Text: fmt.Sprintf("Benchmark slide %d", i+1), Seconds: 5})
		}
		benchVideo.path = filepath.Join(fixtures(b), "bench720p.mp4")
		var r *mediagen.VideoResult
		r, benchVideo.err = mediagen.Video(context.Background(), benchVideo.path, mediagen.VideoSpec{Width: 1280, Height: 720, Slides: slides})
		if r != nil {
			benchVideo.dur = r.Duration
		}
	})
	if benchVideo.err != nil {
		b.Fatal(benchVideo.err)
	}
	b.ResetTimer()
	start := time.Now()
	var cpu float64
	for i := 0; i < b.N; i++ {
		cuts, err := DetectCuts(context.Background(), benchVideo.path, DefaultCutParams, &cpu)
		if err != nil || len(cuts) != 11 {
			b.Fatalf("cuts %v, %v", cuts, err)
		}
	}
	b.ReportMetric(benchVideo.dur*float64(b.N)/time.Since(start).Seconds(), "x-realtime")
	b.ReportMetric(benchVideo.dur*float64(b.N)/cpu, "x-realtime-per-cpu")
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, Media{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "slide.png")
		if err := mediagen.Image(context.Background(), p, mediagen.ImageSpec{Width: 320, Height: 240, Text: "Conformance", Background: "white", Color: "black"}); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p, Kind: types.KindImage}
	}})
}
