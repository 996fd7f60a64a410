// Package ocr is the local provider of the ocr task
// (analyser.ocr.tesseract): it reads the text in shot keyframes (from the
// media task's output) and in images with tesseract.
//
// Each frame is turned to grey, inverted when its background is dark
// (tesseract reads dark text on light best; a frame with large dark and
// light areas is read both ways), and read with tesseract's TSV
// output, which gives every word's box and confidence. When the text is
// small (words under 20 pixels high) the frame is upscaled at least three
// times and read again. Lines are deduplicated across frames by normalised
// similarity, so a caption that stays on screen for several shots is one
// entry with the times it was first and last seen.
package ocr

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registry id.
const ID = "analyser.ocr.tesseract"

//go:embed schema.json
var schema []byte

// Options are the ocr task's settings (Input.Options). Unknown keys are
// errors.
type Options struct {
	// Languages are tesseract language codes; default ["eng"].
	Languages []string `json:"languages,omitempty"`
	// Polarity: "auto" (default: invert frames with a dark background,
	// and read frames with large light and dark areas both ways), "both"
	// (read every frame as it is and inverted, keep the better line where
	// they overlap), "normal" or "inverted".
	Polarity string `json:"polarity,omitempty"`
	// MinConfidence: lines whose mean word confidence is below it are
	// dropped. Default 55.
	MinConfidence float64 `json:"min_confidence,omitempty"`
	// Similarity at or above which two lines are the same text. Default 0.8.
	Similarity float64 `json:"similarity,omitempty"`
	// SmallTextPixels: frames whose median word height is below it are
	// upscaled (at least 3×) and read again. Default 20.
	SmallTextPixels int `json:"small_text_pixels,omitempty"`
	// PSM is tesseract's page segmentation mode. Default 3 (automatic).
	PSM int `json:"psm,omitempty"`
	// MaxFrames bounds how many frames are read. Default 300.
	MaxFrames int `json:"max_frames,omitempty"`
	// FrameTimeoutSeconds bounds one tesseract run. Default 60.
	FrameTimeoutSeconds float64 `json:"frame_timeout_seconds,omitempty"`
}

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "languages", Type: analyser.OptionStrings, Default: []string{"eng"}, Min: analyser.Bound(1), Max: analyser.Bound(8), ItemMaxLen: 32,
		Description: "tesseract language codes"},
	{Name: "polarity", Type: analyser.OptionString, Default: "auto", Enum: []string{"auto", "both", "normal", "inverted"},
		Description: "auto inverts dark frames and reads mixed ones both ways; both reads every frame both ways"},
	{Name: "min_confidence", Type: analyser.OptionNumber, Default: 55.0, Min: analyser.Bound(0), Max: analyser.Bound(100),
		Description: "lines whose mean word confidence is below this are dropped"},
	{Name: "similarity", Type: analyser.OptionNumber, Default: 0.8, Min: analyser.Bound(0), Max: analyser.Bound(1),
		Description: "similarity at or above which two lines are the same text"},
	{Name: "small_text_pixels", Type: analyser.OptionInteger, Default: 20, Min: analyser.Bound(0), Max: analyser.Bound(1000),
		Description: "frames whose median word height is below this are upscaled and read again"},
	{Name: "psm", Type: analyser.OptionInteger, Default: 3, Min: analyser.Bound(0), Max: analyser.Bound(13),
		Description: "tesseract page segmentation mode"},
	{Name: "max_frames", Type: analyser.OptionInteger, Default: 300, Min: analyser.Bound(1), Max: analyser.Bound(100000),
		Description: "most frames read"},
	{Name: "frame_timeout_seconds", Type: analyser.OptionNumber, Default: 60.0, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(3600),
		Description: "bound on one tesseract run, in seconds"},
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	spec := OCR{}.Spec()
	if err := analyser.DecodeOptions(spec, raw, &o); err != nil {
		return o, err
	}
	o.Polarity = strings.ToLower(o.Polarity)
	for i, l := range o.Languages {
		if l == "" || strings.ContainsAny(l, "+/\\. ") {
			return o, analyser.OptionError(spec, fmt.Sprintf("languages/%d", i), "%q is not a tesseract language code", l)
		}
	}
	return o, nil
}

// Result is the ocr task's output (see schema.json).
type Result struct {
	// Texts are the distinct lines, in order of first appearance.
	Texts []types.OCRText `json:"texts"`
	// Text is every distinct line, one per line.
	Text   string        `json:"text"`
	Frames []FrameResult `json:"frames"`
	Engine string        `json:"engine"`
}

// FrameResult says how one frame was read.
type FrameResult struct {
	Time     float64 `json:"time"`
	Path     string  `json:"path"`
	Lines    int     `json:"lines"`
	Inverted bool    `json:"inverted"`
	Scale    float64 `json:"scale"`
}

// OCR is the analyser.ocr.tesseract analyser.
type OCR struct{}

func init() { analyser.Register(OCR{}) }

// Spec implements analyser.Analyser.
func (OCR) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskOCR,
		Provider:     "local",
		Summary:      "text in shot keyframes and images with boxes, confidences and first/last seen times (tesseract)",
		Kinds:        []types.Kind{types.KindVideo, types.KindImage},
		Requires:     []string{"tesseract"},
		OutputSchema: schema,
		Options:      optionsSpec,
	}
}

// Frame is one frame to read: an image file, the time it was taken and
// the span of time it stands for (its shot).
type Frame struct {
	Path        string
	Time        float64
	First, Last float64
}

// Run implements analyser.Analyser.
func (OCR) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	if in == nil {
		return nil, errcode.New(errcode.Invalid, "ocr: no input")
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
	r := &Reader{opts: opts}
	var cpu float64
	defer func() { env.Record(analyser.Usage{Analyser: ID, CPUSeconds: cpu, Images: len(frames)}) }()
	scratch := ""
	if env != nil && env.Workdir != "" {
		scratch = filepath.Join(env.Workdir, "ocr")
	}
	return r.ReadFrames(ctx, frames, scratch, &cpu)
}

// framesOf lists the frames to read: the media task's keyframes, each
// standing for its whole shot, or the input image itself.
func framesOf(in *analyser.Input) ([]Frame, error) {
	if raw, ok := in.Results[analyser.TaskMedia]; ok && len(raw) > 0 {
		var m mediatools.Result
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "ocr: /results/media")
		}
		frames := make([]Frame, 0, len(m.Keyframes))
		for i, kf := range m.Keyframes {
			if kf.Path == "" {
				return nil, errcode.New(errcode.Invalid, "ocr: /results/media/keyframes/%d/path is empty", i)
			}
			f := Frame{Path: kf.Path, Time: kf.Time, First: kf.Time, Last: kf.Time}
			if kf.Shot >= 0 && kf.Shot < len(m.Shots) && m.Kind == types.KindVideo {
				f.First, f.Last = m.Shots[kf.Shot].Start, m.Shots[kf.Shot].End
			}
			frames = append(frames, f)
		}
		return frames, nil
	}
	kind := in.Kind
	if kind == "" {
		if raw, ok := in.Results[analyser.TaskClassify]; ok {
			var c struct {
				Kind types.Kind `json:"kind"`
			}
			if err := json.Unmarshal(raw, &c); err != nil {
				return nil, errcode.Wrap(errcode.Invalid, err, "ocr: /results/classify")
			}
			kind = c.Kind
		}
	}
	if in.Path == "" {
		return nil, errcode.New(errcode.Invalid, "ocr: input has neither /results/media keyframes nor a /path")
	}
	if kind != "" && kind != types.KindImage {
		return nil, errcode.New(errcode.FailedPrecond, "ocr: %s is %s: run the media task first and pass its output as /results/media", filepath.Base(in.Path), kind)
	}
	return []Frame{{Path: in.Path}}, nil
}

// Reader reads text from frames with tesseract.
type Reader struct {
	opts Options
}

// NewReader returns a Reader with opts; zero fields take their defaults.
func NewReader(opts Options) (*Reader, error) {
	raw, err := json.Marshal(opts)
	if err != nil {
		return nil, err
	}
	o, err := parseOptions(raw)
	if err != nil {
		return nil, err
	}
	return &Reader{opts: o}, nil
}

// OCRLine is a line found in one frame.
type OCRLine struct {
	Text string
	Conf float64
	Box  types.Box
}

// ReadFrames reads every frame and deduplicates the lines across them.
// Scratch files go under scratch (a temporary folder when empty). cpu
// accumulates the CPU seconds tesseract spent.
func (r *Reader) ReadFrames(ctx context.Context, frames []Frame, scratch string, cpu *float64) (*Result, error) {
	if cpu == nil {
		cpu = new(float64)
	}
	if scratch == "" {
		d, err := os.MkdirTemp("", "landfall-ocr-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		scratch = d
	} else if err := os.MkdirAll(scratch, 0o755); err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "ocr: scratch folder")
	}
	if err := checkLanguages(ctx, r.opts.Languages); err != nil {
		return nil, err
	}
	res := &Result{Texts: []types.OCRText{}, Frames: []FrameResult{}, Engine: engineVersion(ctx)}
	var norms []string
	for i, f := range frames {
		lines, fr, err := r.ReadImage(ctx, f.Path, filepath.Join(scratch, fmt.Sprintf("frame-%04d", i)), cpu)
		if err != nil {
			return nil, err
		}
		fr.Time = f.Time
		res.Frames = append(res.Frames, *fr)
		for _, l := range lines {
			n := Normalise(l.Text)
			if n == "" {
				continue
			}
			match := -1
			best := 0.0
			for j, m := range norms {
				if s := Similarity(n, m); s >= r.opts.Similarity && s > best {
					match, best = j, s
				}
			}
			box := l.Box
			if match < 0 {
				norms = append(norms, n)
				res.Texts = append(res.Texts, types.OCRText{Text: l.Text, Confidence: round2(l.Conf), First: f.First, Last: f.Last, Box: &box})
				continue
			}
			t := &res.Texts[match]
			t.First = math.Min(t.First, f.First)
			t.Last = math.Max(t.Last, f.Last)
			if l.Conf > t.Confidence {
				t.Text, t.Confidence, t.Box = l.Text, round2(l.Conf), &box
				norms[match] = n
			}
		}
	}
	sort.SliceStable(res.Texts, func(i, j int) bool { return res.Texts[i].First < res.Texts[j].First })
	var all []string
	for _, t := range res.Texts {
		all = append(all, t.Text)
	}
	res.Text = strings.Join(all, "\n")
	return res, nil
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// MixedShare: in "auto" polarity, a frame whose dark (or light) pixels
// make up more than this share, without being the majority, is read both
// ways.
const MixedShare = 0.2

// MaxPixels bounds the frames ocr decodes.
const MaxPixels = 60_000_000

// ReadImage reads the text of one image. base is a path prefix for
// scratch files (its folder must exist). cpu, when not nil, accumulates
// tesseract's CPU seconds.
func (r *Reader) ReadImage(ctx context.Context, path, base string, cpu *float64) ([]OCRLine, *FrameResult, error) {
	if cpu == nil {
		cpu = new(float64)
	}
	gray, err := loadGray(ctx, path, base, cpu)
	if err != nil {
		return nil, nil, err
	}
	fr := &FrameResult{Path: path, Scale: 1}
	w, h := gray.Rect.Dx(), gray.Rect.Dy()
	var polarities []bool // inverted?
	dark := darkShare(gray)
	switch r.opts.Polarity {
	case "auto":
		// Text covers a small share of a frame, so a frame that is mostly
		// dark has a dark background. A frame with large areas of both
		// (a dark title bar over a light slide) is read both ways.
		polarities = []bool{dark > 0.5}
		if dark > MixedShare && dark < 1-MixedShare {
			polarities = append(polarities, dark <= 0.5)
		}
	case "both":
		polarities = []bool{dark > 0.5, dark <= 0.5}
	case "normal":
		polarities = []bool{false}
	case "inverted":
		polarities = []bool{true}
	}
	fr.Inverted = polarities[0]
	var merged []OCRLine
	for pi, inv := range polarities {
		img := gray
		if inv {
			img = invert(gray)
		}
		lines, scale, err := r.readScaled(ctx, img, fmt.Sprintf("%s-p%d", base, pi), cpu)
		if err != nil {
			return nil, nil, err
		}
		if pi == 0 {
			fr.Scale = scale
		}
		out := toOCRLines(lines, scale, w, h)
		merged = mergeLines(merged, out)
	}
	fr.Lines = len(merged)
	return merged, fr, nil
}

// readScaled reads img at scale 1 and, when the text is small or nothing
// was found on a small image, again upscaled; it keeps the better reading.
func (r *Reader) readScaled(ctx context.Context, img *image.Gray, base string, cpu *float64) ([]Line, float64, error) {
	lines, err := r.tesseract(ctx, img, base+"-s1.pgm", cpu)
	if err != nil {
		return nil, 0, err
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	small := r.opts.SmallTextPixels
	var heights []int
	for _, l := range lines {
		heights = append(heights, l.WordHeight)
	}
	mh := median(heights)
	need := (len(lines) > 0 && mh < small) || (len(lines) == 0 && min(w, h) < 600 && min(w, h) >= 8)
	if !need {
		return lines, 1, nil
	}
	scale := 3.0
	if mh > 0 && float64(small)*1.6/float64(mh) > scale {
		scale = math.Ceil(float64(small) * 1.6 / float64(mh))
	}
	scale = math.Min(scale, 8)
	for scale > 1 && float64(w)*float64(h)*scale*scale > 40e6 {
		scale--
	}
	if scale <= 1 {
		return lines, 1, nil
	}
	up := upscale(img, int(scale))
	lines2, err := r.tesseract(ctx, up, base+"-s"+fmt.Sprint(scale)+".pgm", cpu)
	if err != nil {
		return nil, 0, err
	}
	if score(lines2) >= score(lines) {
		return lines2, scale, nil
	}
	return lines, 1, nil
}

// score weighs a reading by confidence and amount of text.
func score(lines []Line) float64 {
	var s float64
	for _, l := range lines {
		s += l.Conf * float64(len([]rune(l.Text)))
	}
	return s
}

func toOCRLines(lines []Line, scale float64, w, h int) []OCRLine {
	var out []OCRLine
	sw, sh := float64(w)*scale, float64(h)*scale
	for _, l := range lines {
		out = append(out, OCRLine{Text: l.Text, Conf: l.Conf, Box: types.Box{
			Left: clamp01(float64(l.Left) / sw), Top: clamp01(float64(l.Top) / sh),
			Width: clamp01(float64(l.Width) / sw), Height: clamp01(float64(l.Height) / sh),
		}})
	}
	return out
}

func clamp01(f float64) float64 { return math.Round(math.Max(0, math.Min(1, f))*10000) / 10000 }

// mergeLines adds the lines of b to a; where a line of b overlaps one of a,
// the more confident one stays.
func mergeLines(a, b []OCRLine) []OCRLine {
	for _, l := range b {
		over := -1
		for i, m := range a {
			if l.Box.IoU(m.Box) > 0.3 {
				over = i
				break
			}
		}
		switch {
		case over < 0:
			a = append(a, l)
		case l.Conf > a[over].Conf:
			a[over] = l
		}
	}
	return a
}

func (r *Reader) tesseract(ctx context.Context, img *image.Gray, pgm string, cpu *float64) ([]Line, error) {
	if err := writePGM(pgm, img); err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "ocr: writing %s", pgm)
	}
	defer os.Remove(pgm)
	ctx, cancel := context.WithTimeout(ctx, time.Duration(r.opts.FrameTimeoutSeconds*float64(time.Second)))
	defer cancel()
	res, err := execx.Run(ctx, execx.Cmd{
		Name: "tesseract",
		Args: []string{pgm, "stdout", "-l", strings.Join(r.opts.Languages, "+"), "--psm", fmt.Sprint(r.opts.PSM),
			"-c", "tessedit_do_invert=0", "tsv"},
		// One thread per run: the machine's cores are shared with the
		// other analysers, and OpenMP's spinning costs more than it gives.
		Env: []string{"OMP_THREAD_LIMIT=1"},
	})
	*cpu += res.CPUSeconds
	if err != nil {
		return nil, err
	}
	words, err := ParseTSV(res.Stdout)
	if err != nil {
		return nil, errcode.Wrap(errcode.ToolFailed, err, "ocr: reading tesseract's output")
	}
	var keep []Line
	for _, l := range Lines(words, 20) {
		if l.Conf >= r.opts.MinConfidence && alnum(l.Text) >= 2 {
			keep = append(keep, l)
		}
	}
	return keep, nil
}

func alnum(s string) int {
	n := 0
	for _, r := range Normalise(s) {
		if r != ' ' {
			n++
		}
	}
	return n
}

var (
	toolMu sync.Mutex
	engine string          // tesseract's version line, once read
	langs  map[string]bool // installed languages, once listed
)

// engineVersion returns tesseract's version line ("tesseract 5.3.0").
// Only a successful look-up is remembered.
func engineVersion(ctx context.Context) string {
	toolMu.Lock()
	defer toolMu.Unlock()
	if engine != "" {
		return engine
	}
	r, err := execx.Run(ctx, execx.Cmd{Name: "tesseract", Args: []string{"--version"}})
	if err != nil {
		return "tesseract"
	}
	out := string(r.Stdout) + r.Stderr
	if line, _, _ := strings.Cut(strings.TrimSpace(out), "\n"); line != "" {
		engine = strings.TrimSpace(line)
		return engine
	}
	return "tesseract"
}

// checkLanguages fails with Tool.Missing naming the Debian package of the
// first wanted language tesseract does not have. The installed list is
// remembered once read (a failed or cancelled look-up is not).
func checkLanguages(ctx context.Context, want []string) error {
	toolMu.Lock()
	defer toolMu.Unlock()
	if langs == nil {
		r, err := execx.Run(ctx, execx.Cmd{Name: "tesseract", Args: []string{"--list-langs"}})
		if err != nil {
			return err
		}
		found := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(append(r.Stdout, r.Stderr...)))
		for sc.Scan() {
			l := strings.TrimSpace(sc.Text())
			if l != "" && !strings.Contains(l, " ") {
				found[l] = true
			}
		}
		langs = found
	}
	for _, l := range want {
		if !langs[l] {
			return errcode.New(errcode.ToolMissing, "tesseract has no %q language data: install the Debian package tesseract-ocr-%s", l, l)
		}
	}
	return nil
}

var _ analyser.Analyser = OCR{}
