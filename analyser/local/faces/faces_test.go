package faces

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

type photoSet struct {
	Dir    string `json:"dir"`
	Pkg    string `json:"debian_package"`
	Photos []struct {
		File  string     `json:"file"`
		Faces int        `json:"faces"`
		Box   *types.Box `json:"box"`
	} `json:"photos"`
}

// photos loads testdata/photos.json and skips, naming the Debian package,
// when the photos are not installed.
func photos(t testing.TB) photoSet {
	t.Helper()
	b, err := os.ReadFile("testdata/photos.json")
	if err != nil {
		t.Fatal(err)
	}
	var ps photoSet
	if err := json.Unmarshal(b, &ps); err != nil {
		t.Fatalf("testdata/photos.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ps.Dir, ps.Photos[0].File)); err != nil {
		t.Skipf("the sample photos are not installed (%s): install the Debian package %s", ps.Dir, ps.Pkg)
	}
	return ps
}

// fx is the test media, generated once per test binary from the sample
// photos (set by fixtures).
var (
	fx          = analysertest.NewFixtures("faces", func(ctx context.Context, dir string) error { return makeFixtures(ctx, dir, fxPhotos) })
	fxPhotos    photoSet
	fxPhotosSet sync.Once
)

func TestMain(m *testing.M) { analysertest.Main(m, fx) }

// fixtures generates a slide keyframe (no face), a picture of two faces
// (the astronaut photo twice, side by side) and bad images.
func fixtures(t testing.TB) string {
	t.Helper()
	ps := photos(t)
	fxPhotosSet.Do(func() { fxPhotos = ps })
	return fx.Dir(t)
}

func makeFixtures(ctx context.Context, dir string, ps photoSet) error {
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := mediagen.Image(ctx, p("slide.png"), mediagen.ImageSpec{Width: 1280, Height: 720, Text: "Quarterly results\nNo faces here", Background: "navy", Color: "white"}); err != nil {
		return err
	}
	astro := filepath.Join(ps.Dir, "astronaut.png")
	if _, err := execx.Run(ctx, execx.Cmd{Name: "convert", Args: []string{astro, astro, "+append", p("two.png")}}); err != nil {
		return err
	}
	if err := mediagen.Image(ctx, p("tiny.png"), mediagen.ImageSpec{Width: 1, Height: 1}); err != nil {
		return err
	}
	if err := mediagen.PNGBomb(p("bomb.png"), 20000, 20000); err != nil {
		return err
	}
	return mediagen.Text(p("notes.png"), "not an image")
}

func run(t testing.TB, in *analyser.Input) (*Result, error) {
	t.Helper()
	out, err := Faces{}.Run(context.Background(), &analyser.Env{}, in)
	if err != nil {
		return nil, err
	}
	analysertest.ValidateOutput(t, Faces{}.Spec(), out)
	return out.(*Result), nil
}

var (
	photoResultsOnce sync.Once
	photoResults     map[string]*Result
	photoErr         error
)

// photoRuns runs the analyser once on every sample photo; the tests below
// share the results (detection is the slow part, above all under -race).
func photoRuns(t testing.TB) map[string]*Result {
	t.Helper()
	ps := photos(t)
	photoResultsOnce.Do(func() {
		photoResults = map[string]*Result{}
		for _, ph := range ps.Photos {
			out, err := Faces{}.Run(context.Background(), &analyser.Env{}, &analyser.Input{Path: filepath.Join(ps.Dir, ph.File), Kind: types.KindImage})
			if err != nil {
				photoErr = fmt.Errorf("%s: %w", ph.File, err)
				return
			}
			photoResults[ph.File] = out.(*Result)
		}
	})
	if photoErr != nil {
		t.Fatal(photoErr)
	}
	return photoResults
}

func TestPhotos(t *testing.T) {
	ps := photos(t)
	results := photoRuns(t)
	for _, ph := range ps.Photos {
		t.Run(ph.File, func(t *testing.T) {
			r := results[ph.File]
			analysertest.ValidateOutput(t, Faces{}.Spec(), r)
			if r.MaxCount != ph.Faces {
				t.Fatalf("found %d faces %+v, want %d", r.MaxCount, r.Detections, ph.Faces)
			}
			if ph.Box != nil {
				got := r.Detections[0].Boxes[0]
				if got.IoU(*ph.Box) < 0.5 {
					t.Errorf("box %+v, want about %+v", got, *ph.Box)
				}
			}
		})
	}
}

func TestKeyframesTimestampsAndCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	ps := photos(t)
	media := fmt.Sprintf(`{"kind":"video","duration":6,"thumbnails":[],"cuts":[2,4],"shots":[],"keyframes":[
		{"time":1,"path":%q},{"time":3,"path":%q,"shot":1},{"time":5,"path":%q,"shot":2}]}`,
		filepath.Join(dir, "slide.png"), filepath.Join(ps.Dir, "astronaut.png"), filepath.Join(dir, "two.png"))
	r, err := run(t, &analyser.Input{Results: map[string]json.RawMessage{"media": json.RawMessage(media)}})
	if err != nil {
		t.Fatal(err)
	}
	if r.FramesAnalysed != 3 || r.MaxCount != 2 || len(r.Detections) != 2 {
		t.Fatalf("%+v", r)
	}
	if r.Detections[0].Timestamp != 3 || len(r.Detections[0].Boxes) != 1 || r.Detections[1].Timestamp != 5 || len(r.Detections[1].Boxes) != 2 {
		t.Fatalf("detections %+v", r.Detections)
	}
	two := r.Detections[1].Boxes
	if !(two[0].Left < 0.5 && two[1].Left > 0.5) {
		t.Errorf("the two faces should be one in each half: %+v", two)
	}
}

// TestVideo finds faces in the keyframes the media task takes from a
// generated video: a text slide, the astronaut photo, then the two-face
// picture.
func TestVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	dir := fixtures(t)
	ps := photos(t)
	ctx := context.Background()
	video := filepath.Join(t.TempDir(), "people.mp4")
	gen, err := mediagen.Video(ctx, video, mediagen.VideoSpec{Width: 1280, Height: 720, Slides: []mediagen.Slide{
		{Text: "Meet the crew", Seconds: 2},
		{Text: "Commander", Seconds: 2, Image: filepath.Join(ps.Dir, "astronaut.png"), Background: "black"},
		{Text: "Two of them", Seconds: 2, Image: filepath.Join(dir, "two.png"), Background: "black"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	env := &analyser.Env{Workdir: t.TempDir()}
	m, err := mediatools.Media{}.Run(ctx, env, &analyser.Input{Path: video, Options: json.RawMessage(`{"thumbnails": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	mj, _ := json.Marshal(m)
	r, err := run(t, &analyser.Input{Results: map[string]json.RawMessage{"media": mj}})
	if err != nil {
		t.Fatal(err)
	}
	if r.FramesAnalysed != 3 || r.MaxCount != 2 || len(r.Detections) != 2 {
		t.Fatalf("frames %d, max %d, detections %+v", r.FramesAnalysed, r.MaxCount, r.Detections)
	}
	for i, d := range r.Detections {
		start, end := gen.Starts[i+1], gen.Duration
		if i+2 < len(gen.Starts) {
			end = gen.Starts[i+2]
		}
		if d.Timestamp < start || d.Timestamp >= end || len(d.Boxes) != i+1 {
			t.Errorf("detection %d: %d faces at %.2fs, want %d in [%.2f, %.2f)", i, len(d.Boxes), d.Timestamp, i+1, start, end)
		}
	}
}

func TestBadImages(t *testing.T) {
	dir := fixtures(t)
	r, err := run(t, &analyser.Input{Path: filepath.Join(dir, "tiny.png")})
	if err != nil || r.MaxCount != 0 || r.FramesAnalysed != 1 {
		t.Fatalf("1×1 image: %+v %v", r, err)
	}
	for _, tc := range []struct {
		file string
		code errcode.Code
	}{{"bomb.png", errcode.MediaTooLarge}, {"notes.png", errcode.MediaCorrupt}, {"missing.png", errcode.NotFound}} {
		_, err := run(t, &analyser.Input{Path: filepath.Join(dir, tc.file)})
		if !errors.Is(err, tc.code) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("%s: %v, want %s naming the file", tc.file, err, tc.code)
		}
	}
	if _, err := run(t, &analyser.Input{Path: "x.mp4", Kind: types.KindVideo}); !errors.Is(err, errcode.FailedPrecond) {
		t.Errorf("video without keyframes: %v", err)
	}
	if _, err := run(t, &analyser.Input{Path: "x.png", Options: json.RawMessage(`{"min_score": -1}`)}); !errors.Is(err, errcode.Invalid) {
		t.Errorf("bad option: %v", err)
	}
	if _, err := run(t, &analyser.Input{Path: "x.png", Options: json.RawMessage(`{"minscore": 1}`)}); !errors.Is(err, errcode.Invalid) {
		t.Errorf("unknown option: %v", err)
	}
}

// TestQualityFaces prints the faces row of the quality table: faces found
// in the Debian sample photos of people, and false detections in the
// photos without people and a generated slide.
func TestQualityFaces(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	ps := photos(t)
	dir := fixtures(t)
	d, err := NewDetector(Options{})
	if err != nil {
		t.Fatal(err)
	}
	found, want, falsePos := 0, 0, 0
	count := func(got, n int) {
		want += n
		found += min(got, n)
		falsePos += max(0, got-n)
	}
	check := func(path string, n int) {
		img, err := load(context.Background(), path, new(float64))
		if err != nil {
			t.Fatal(err)
		}
		count(len(d.Detect(img).Boxes), n)
	}
	results := photoRuns(t)
	for _, ph := range ps.Photos {
		count(results[ph.File].MaxCount, ph.Faces)
	}
	check(filepath.Join(dir, "two.png"), 2)
	check(filepath.Join(dir, "slide.png"), 0)
	// The portrait in the pigo module's own test data, when the module
	// source is in the module cache (it is whenever this package builds
	// from the cache).
	if dir := pigoDir(t); dir != "" {
		check(filepath.Join(dir, "testdata", "sample.jpg"), 1)
	}
	recall := float64(found) / float64(want) * 100
	t.Logf("| %-40s | %5.1f%% of %d (%d FP) | %8s |", "faces: recall, "+ps.Pkg+" + pigo photos", recall, want, falsePos, "100%, 0 FP")
	if found != want || falsePos != 0 {
		t.Errorf("found %d/%d faces with %d false positives", found, want, falsePos)
	}
}

// pigoDir is the pigo module's source folder, or "" when it is not found.
func pigoDir(t testing.TB) string {
	r, err := execx.Run(context.Background(), execx.Cmd{Name: "go", Args: []string{"list", "-m", "-f", "{{.Dir}}", "github.com/esimov/pigo"}})
	if err != nil {
		t.Logf("pigo module folder not found: %v", err)
		return ""
	}
	dir := strings.TrimSpace(string(r.Stdout))
	if _, err := os.Stat(filepath.Join(dir, "testdata", "sample.jpg")); err != nil {
		t.Logf("pigo's sample photo not found: %v", err)
		return ""
	}
	return dir
}

// BenchmarkFaces512 detects faces in one 512×512 photo (decoded once).
func BenchmarkFaces512(b *testing.B) {
	ps := photos(b)
	img, err := load(context.Background(), filepath.Join(ps.Dir, "astronaut.png"), new(float64))
	if err != nil {
		b.Fatal(err)
	}
	d, _ := NewDetector(Options{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if fr := d.Detect(img); len(fr.Boxes) != 1 {
			b.Fatalf("%d faces", len(fr.Boxes))
		}
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, Faces{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		p := filepath.Join(dir, "slide.png")
		if err := mediagen.Image(context.Background(), p, mediagen.ImageSpec{Width: 640, Height: 360, Text: "Quarterly results", Background: "white", Color: "black"}); err != nil {
			t.Fatal(err)
		}
		return &analyser.Input{MediaID: "m1", Path: p, Kind: types.KindImage}
	}})
}
