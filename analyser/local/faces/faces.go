// Package faces is the local provider of the faces task
// (analyser.faces.pigo): it finds frontal faces in shot keyframes (from the
// media task's output) and in images with the pure-Go pigo detector
// (pixel-intensity-comparison decision trees), whose face cascade is
// embedded in the binary. It reports boxes, scores, the number of faces per
// frame and the times they were seen; it does not recognise who they are.
package faces

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"sync"

	pigo "github.com/esimov/pigo/core"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registry id.
const ID = "analyser.faces.pigo"

//go:embed schema.json
var schema []byte

// cascade is pigo's frontal face cascade (github.com/esimov/pigo v1.4.6,
// cascade/facefinder, MIT licence: see cascade/LICENSE).
//
//go:embed cascade/facefinder
var cascade []byte

// MaxPixels bounds the images decoded.
const MaxPixels = 60_000_000

// Options are the faces task's settings (Input.Options). Unknown keys are
// errors.
type Options struct {
	// MinScore is the cascade score a clustered detection needs. Default 10
	// (weaker clusters are mostly texture that looks like a face).
	MinScore float64 `json:"min_score,omitempty"`
	// MinFaceRatio is the smallest face searched for, as a share of the
	// frame's shorter side. Default 0.04.
	MinFaceRatio float64 `json:"min_face_ratio,omitempty"`
	// MaxSide: frames are scaled down so their longer side is at most
	// this many pixels before detection, which bounds the time per frame.
	// Default 1024.
	MaxSide int `json:"max_side,omitempty"`
	// MaxFrames bounds how many frames are analysed. Default 300.
	MaxFrames int `json:"max_frames,omitempty"`
}

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "min_score", Type: analyser.OptionNumber, Default: 10.0, Min: analyser.Bound(0), Max: analyser.Bound(1000),
		Description: "cascade score a clustered detection needs (weaker ones are mostly face-like texture)"},
	{Name: "min_face_ratio", Type: analyser.OptionNumber, Default: 0.04, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(1),
		Description: "smallest face searched for, as a share of the frame's shorter side"},
	{Name: "max_side", Type: analyser.OptionInteger, Default: 1024, Min: analyser.Bound(64), Max: analyser.Bound(8192),
		Description: "frames are scaled down so their longer side is at most this many pixels"},
	{Name: "max_frames", Type: analyser.OptionInteger, Default: 300, Min: analyser.Bound(1), Max: analyser.Bound(100000),
		Description: "most frames analysed"},
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	return o, analyser.DecodeOptions(Faces{}.Spec(), raw, &o)
}

// Result is the faces task's output (see schema.json): types.Faces with
// the number of frames looked at. Detections lists only frames with faces.
type Result struct {
	types.Faces
	FramesAnalysed int    `json:"frames_analysed"`
	Engine         string `json:"engine"`
}

// Faces is the analyser.faces.pigo analyser.
type Faces struct{}

func init() { analyser.Register(Faces{}) }

// Spec implements analyser.Analyser.
func (Faces) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskFaces,
		Provider:     "local",
		Summary:      "frontal face boxes, counts and times in keyframes and images (pure-Go pigo detector)",
		Kinds:        []types.Kind{types.KindVideo, types.KindImage},
		OutputSchema: schema,
		Options:      optionsSpec,
	}
}

type frameRef struct {
	path string
	time float64
}

// Run implements analyser.Analyser.
func (Faces) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	if in == nil {
		return nil, errcode.New(errcode.Invalid, "faces: no input")
	}
	opts, err := parseOptions(in.Options)
	if err != nil {
		return nil, err
	}
	frames, err := framesOf(in)
	if err != nil {
		return nil, err
	}
	if len(frames) > opts.MaxFrames {
		frames = frames[:opts.MaxFrames]
	}
	d, err := NewDetector(opts)
	if err != nil {
		return nil, err
	}
	var cpu float64
	defer func() { env.Record(analyser.Usage{Analyser: ID, CPUSeconds: cpu, Images: len(frames)}) }()
	res := &Result{Faces: types.Faces{Detections: []types.FaceFrame{}}, Engine: "pigo v1.4.6 facefinder"}
	for i, f := range frames {
		if err := ctx.Err(); err != nil {
			return nil, errcode.Wrap(errcode.Canceled, err, "faces: stopped at frame %d", i)
		}
		img, err := load(ctx, f.path, &cpu)
		if err != nil {
			return nil, err
		}
		fr := d.Detect(img)
		res.FramesAnalysed++
		if len(fr.Boxes) == 0 {
			continue
		}
		fr.Timestamp = f.time
		res.Detections = append(res.Detections, fr)
		res.MaxCount = max(res.MaxCount, len(fr.Boxes))
	}
	return res, nil
}

func framesOf(in *analyser.Input) ([]frameRef, error) {
	if raw, ok := in.Results[analyser.TaskMedia]; ok && len(raw) > 0 {
		var m mediatools.Result
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "faces: /results/media")
		}
		var frames []frameRef
		for i, kf := range m.Keyframes {
			if kf.Path == "" {
				return nil, errcode.New(errcode.Invalid, "faces: /results/media/keyframes/%d/path is empty", i)
			}
			frames = append(frames, frameRef{path: kf.Path, time: kf.Time})
		}
		return frames, nil
	}
	if in.Path == "" {
		return nil, errcode.New(errcode.Invalid, "faces: input has neither /results/media keyframes nor a /path")
	}
	if in.Kind != "" && in.Kind != types.KindImage {
		return nil, errcode.New(errcode.FailedPrecond, "faces: %s is %s: run the media task first and pass its output as /results/media", filepath.Base(in.Path), in.Kind)
	}
	return []frameRef{{path: in.Path}}, nil
}

var (
	classifierOnce sync.Once
	classifier     *pigo.Pigo
	classifierErr  error
)

// Detector finds faces in images.
type Detector struct {
	opts Options
	p    *pigo.Pigo
}

// NewDetector returns a detector with opts (zero fields take defaults).
func NewDetector(opts Options) (*Detector, error) {
	raw, _ := json.Marshal(opts)
	o, err := parseOptions(raw)
	if err != nil {
		return nil, err
	}
	classifierOnce.Do(func() {
		classifier, classifierErr = pigo.NewPigo().Unpack(cascade)
	})
	if classifierErr != nil {
		return nil, errcode.Wrap(errcode.Unknown, classifierErr, "faces: unpacking the embedded cascade")
	}
	return &Detector{opts: o, p: classifier}, nil
}

// Detect returns the faces in img, boxes as ratios of its size, ordered
// left to right.
func (d *Detector) Detect(img image.Image) types.FaceFrame {
	gray, w, h, _ := grayscale(img, d.opts.MaxSide)
	fr := types.FaceFrame{Boxes: []types.Box{}, Scores: []float64{}}
	short := min(w, h)
	minSize := max(20, int(float64(short)*d.opts.MinFaceRatio))
	if short < minSize {
		return fr
	}
	params := pigo.CascadeParams{
		MinSize: minSize, MaxSize: short, ShiftFactor: 0.1, ScaleFactor: 1.1,
		ImageParams: pigo.ImageParams{Pixels: gray, Rows: h, Cols: w, Dim: w},
	}
	dets := d.p.ClusterDetections(d.p.RunCascade(params, 0), 0.2)
	sort.Slice(dets, func(i, j int) bool { return dets[i].Col < dets[j].Col })
	for _, det := range dets {
		if float64(det.Q) < d.opts.MinScore {
			continue
		}
		s := float64(det.Scale)
		l := math.Max(0, float64(det.Col)-s/2)
		t := math.Max(0, float64(det.Row)-s/2)
		r := math.Min(float64(w), float64(det.Col)+s/2)
		b := math.Min(float64(h), float64(det.Row)+s/2)
		fr.Boxes = append(fr.Boxes, types.Box{Left: round4(l / float64(w)), Top: round4(t / float64(h)),
			Width: round4((r - l) / float64(w)), Height: round4((b - t) / float64(h))})
		fr.Scores = append(fr.Scores, math.Round(float64(det.Q)*100)/100)
	}
	return fr
}

func round4(f float64) float64 { return math.Round(f*10000) / 10000 }

// grayscale converts img to 8-bit luma, scaled down by an integer factor k
// (box filter) so the longer side is at most maxSide.
func grayscale(img image.Image, maxSide int) ([]uint8, int, int, int) {
	b := img.Bounds()
	w0, h0 := b.Dx(), b.Dy()
	k := 1
	for max(w0, h0)/k > maxSide {
		k++
	}
	w, h := w0/k, h0/k
	if w == 0 || h == 0 {
		return nil, 0, 0, k
	}
	full := make([]uint8, w0*h0)
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h0; y++ {
			copy(full[y*w0:(y+1)*w0], src.Y[src.YOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.Gray:
		for y := 0; y < h0; y++ {
			copy(full[y*w0:(y+1)*w0], src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.NRGBA:
		for y := 0; y < h0; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w0; x++ {
				full[y*w0+x] = lum(row[x*4], row[x*4+1], row[x*4+2])
			}
		}
	case *image.RGBA:
		for y := 0; y < h0; y++ {
			row := src.Pix[src.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w0; x++ {
				full[y*w0+x] = lum(row[x*4], row[x*4+1], row[x*4+2])
			}
		}
	default:
		for y := 0; y < h0; y++ {
			for x := 0; x < w0; x++ {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				full[y*w0+x] = lum(uint8(r>>8), uint8(g>>8), uint8(bl>>8))
			}
		}
	}
	if k == 1 {
		return full, w, h, k
	}
	out := make([]uint8, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			sum := 0
			for dy := 0; dy < k; dy++ {
				row := full[(y*k+dy)*w0+x*k:]
				for dx := 0; dx < k; dx++ {
					sum += int(row[dx])
				}
			}
			out[y*w+x] = uint8(sum / (k * k))
		}
	}
	return out, w, h, k
}

func lum(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// load decodes the image at path, refusing images over MaxPixels from
// their header. Formats Go does not decode are converted with ffmpeg.
func load(ctx context.Context, path string, cpu *float64) (image.Image, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errcode.New(errcode.NotFound, "faces: frame %s does not exist", path)
		}
		return nil, errcode.Wrap(errcode.Invalid, err, "faces: %s", path)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(bufio.NewReader(f))
	if err != nil {
		tmp, terr := os.MkdirTemp("", "landfall-faces-")
		if terr != nil {
			return nil, terr
		}
		defer os.RemoveAll(tmp)
		png := filepath.Join(tmp, "frame.png")
		r, ferr := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-hide_banner", "-nostdin", "-v", "error", "-y",
			"-i", path, "-frames:v", "1", "-update", "1", png}})
		*cpu += r.CPUSeconds
		if ferr != nil {
			if c := errcode.Of(ferr); c == errcode.ToolMissing || c == errcode.Canceled || c == errcode.DeadlineExceeded {
				return nil, ferr
			}
			return nil, errcode.New(errcode.MediaCorrupt, "faces: %s is not an image that can be decoded: %v", name, err)
		}
		return load(ctx, png, cpu)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errcode.New(errcode.MediaCorrupt, "faces: %s declares %d×%d pixels", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, errcode.New(errcode.MediaTooLarge, "faces: %s is %d×%d pixels, over the limit of %d megapixels", name, cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, errcode.Wrap(errcode.MediaCorrupt, err, "faces: decoding %s", name)
	}
	return img, nil
}

var _ analyser.Analyser = Faces{}
