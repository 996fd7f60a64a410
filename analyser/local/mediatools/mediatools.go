// Package mediatools is the local provider of the media task
// (analyser.media.ffmpeg): it prepares a media file for the other
// analysers. From audio and video it extracts a 16 kHz mono WAV track for
// transcription; from video it finds shot boundaries (ffmpeg's scene
// filter), takes one keyframe per shot for OCR and faces, a row of
// thumbnails and a poster; from an image it makes a normalised keyframe and
// a thumbnail. Very large files also get a small audio-only proxy. Every
// artefact is written under env.Workdir, returned by path and declared
// (analyser.Env.Declare) so the pipeline can hand it to the next worker.
package mediatools

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/probe"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registry id.
const ID = "analyser.media.ffmpeg"

//go:embed schema.json
var schema []byte

// Options are the media task's settings (Input.Options). Unknown keys are
// errors.
type Options struct {
	// SceneThreshold is the scene-change score (0..1) at which a frame
	// starts a new shot whatever its neighbours do. Default 0.3. Weaker
	// changes still cut when they spike against the frames around them
	// (see CutParams).
	SceneThreshold float64 `json:"scene_threshold,omitempty"`
	// MinShotSeconds merges cuts closer together than this (flashes).
	// Default 0.2.
	MinShotSeconds float64 `json:"min_shot_seconds,omitempty"`
	// MaxShots bounds the keyframes taken; past it only the longest shots
	// get keyframes. Default 300.
	MaxShots int `json:"max_shots,omitempty"`
	// Thumbnails is how many evenly spaced thumbnails to take. Default 5.
	Thumbnails int `json:"thumbnails,omitempty"`
	// ThumbnailWidth in pixels. Default 320.
	ThumbnailWidth int `json:"thumbnail_width,omitempty"`
	// ProxyThresholdBytes: files larger than this also get an audio-only
	// proxy (AAC, mono, 48 kb/s) for services with upload limits. Default
	// 1 GiB.
	ProxyThresholdBytes int64 `json:"proxy_threshold_bytes,omitempty"`
	// TimeoutSeconds bounds the whole run. Default 120 s plus the media's
	// duration.
	TimeoutSeconds float64 `json:"timeout_seconds,omitempty"`
}

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "scene_threshold", Type: analyser.OptionNumber, Default: 0.3, Min: analyser.Bound(0), Max: analyser.Bound(1),
		Description: "scene-change score at which a frame starts a new shot whatever its neighbours do"},
	{Name: "min_shot_seconds", Type: analyser.OptionNumber, Default: 0.2, Min: analyser.Bound(0), Max: analyser.Bound(600),
		Description: "cuts closer together than this are merged (flashes)"},
	{Name: "max_shots", Type: analyser.OptionInteger, Default: 300, Min: analyser.Bound(1), Max: analyser.Bound(100000),
		Description: "most keyframes taken; past it only the longest shots get one"},
	{Name: "thumbnails", Type: analyser.OptionInteger, Default: 5, Min: analyser.Bound(0), Max: analyser.Bound(100),
		Description: "evenly spaced thumbnails taken"},
	{Name: "thumbnail_width", Type: analyser.OptionInteger, Default: 320, Min: analyser.Bound(16), Max: analyser.Bound(4096),
		Description: "thumbnail width in pixels"},
	{Name: "proxy_threshold_bytes", Type: analyser.OptionInteger, Default: 1 << 30, Min: analyser.Bound(1),
		Description: "larger files also get an audio-only proxy (AAC, mono, 48 kb/s)"},
	{Name: "timeout_seconds", Type: analyser.OptionNumber, Min: analyser.Bound(0), ExclusiveMin: true,
		Description: "bound on the whole run, in seconds; absent: 120 plus the media's duration"},
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	return o, analyser.DecodeOptions(Media{}.Spec(), raw, &o)
}

// Result is the media task's output (see schema.json).
type Result struct {
	Kind     types.Kind `json:"kind"`
	Duration float64    `json:"duration"`
	Width    int        `json:"width,omitempty"`
	Height   int        `json:"height,omitempty"`
	// AudioPath is the 16 kHz mono 16-bit WAV track; empty when the media
	// has no audio, and AudioNote then says so.
	AudioPath string `json:"audio_path,omitempty"`
	AudioNote string `json:"audio_note,omitempty"`
	// ProxyPath is the audio-only proxy of a very large file.
	ProxyPath  string             `json:"proxy_path,omitempty"`
	PosterPath string             `json:"poster_path,omitempty"`
	Thumbnails []Frame            `json:"thumbnails"`
	Shots      []Shot             `json:"shots"`
	Keyframes  []Frame            `json:"keyframes"`
	Cuts       []float64          `json:"cuts"`
	Timing     map[string]float64 `json:"timing_seconds,omitempty"`
}

// Shot is a run of frames between two cuts.
type Shot struct {
	Index int     `json:"index"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	// Score is the scene-change score of the cut that starts the shot
	// (0 for the first shot).
	Score float64 `json:"score"`
	// Keyframe indexes Result.Keyframes; -1 when MaxShots left this shot
	// without one.
	Keyframe int `json:"keyframe"`
}

// Frame is an image taken from the media at Time seconds.
type Frame struct {
	Time float64 `json:"time"`
	Path string  `json:"path"`
	Shot int     `json:"shot,omitempty"`
}

// Media is the analyser.media.ffmpeg analyser.
type Media struct{}

func init() { analyser.Register(Media{}) }

// Spec implements analyser.Analyser.
func (Media) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskMedia,
		Provider:     "local",
		Summary:      "16 kHz mono audio track, shot boundaries, one keyframe per shot, thumbnails and a poster",
		Kinds:        []types.Kind{types.KindAudio, types.KindVideo, types.KindImage},
		Requires:     []string{"ffmpeg", "ffprobe"},
		OutputSchema: schema,
		Options:      optionsSpec,
	}
}

// Run implements analyser.Analyser.
func (Media) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	if in == nil {
		return nil, errcode.New(errcode.Invalid, "media: no input")
	}
	opts, err := parseOptions(in.Options)
	if err != nil {
		return nil, err
	}
	if in.Path == "" {
		return nil, errcode.New(errcode.Invalid, "media: input /path is empty")
	}
	if env == nil || env.Workdir == "" {
		return nil, errcode.New(errcode.Invalid, "media: env.Workdir is empty; the media task writes its artefacts there")
	}
	var cpu float64
	defer func() { env.Record(analyser.Usage{Analyser: ID, CPUSeconds: cpu}) }()

	info, err := classification(ctx, in, &cpu)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(env.Workdir, 0o755); err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "media: workdir")
	}
	timeout := opts.TimeoutSeconds
	if timeout == 0 {
		timeout = 120 + info.Duration
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(timeout*float64(time.Second)))
	defer cancel()
	p := &prep{path: in.Path, dir: env.Workdir, info: info, opts: opts, cpu: &cpu}
	res, err := p.run(ctx)
	if err != nil && errcode.Of(err) == errcode.DeadlineExceeded {
		return nil, errcode.Wrap(errcode.DeadlineExceeded, err, "media: %s not prepared within %.0fs", filepath.Base(in.Path), timeout)
	}
	if err != nil {
		return nil, err
	}
	res.declare(env)
	return res, nil
}

// declare reports every file of r to the pipeline: the other analysers
// read them, possibly on another machine.
func (r *Result) declare(env *analyser.Env) {
	if r.AudioPath != "" {
		env.Declare(r.AudioPath, "audio/wav")
	}
	if r.ProxyPath != "" {
		env.Declare(r.ProxyPath, "audio/mp4")
	}
	for _, f := range r.Keyframes {
		env.Declare(f.Path, "image/png")
	}
	for _, f := range r.Thumbnails {
		env.Declare(f.Path, "image/jpeg")
	}
	if r.PosterPath != "" {
		env.Declare(r.PosterPath, "image/jpeg")
	}
}

// classification is the classify task's output from in.Results when the
// pipeline ran it, or a fresh classification.
func classification(ctx context.Context, in *analyser.Input, cpu *float64) (*probe.Result, error) {
	if raw, ok := in.Results[analyser.TaskClassify]; ok && len(raw) > 0 {
		var r probe.Result
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "media: /results/classify")
		}
		if r.Kind == "" {
			return nil, errcode.New(errcode.Invalid, "media: /results/classify/kind is missing")
		}
		return &r, nil
	}
	return probe.Classify(ctx, in.Path, probe.Options{}, cpu)
}

type prep struct {
	path string
	dir  string
	info *probe.Result
	opts Options
	cpu  *float64
}

func (p *prep) ffmpeg(ctx context.Context, args ...string) (*execx.Result, error) {
	base := []string{"-hide_banner", "-nostdin", "-v", "error", "-y"}
	r, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: append(base, args...)})
	*p.cpu += r.CPUSeconds
	return r, err
}

func (p *prep) out(name string) string { return filepath.Join(p.dir, name) }

func (p *prep) run(ctx context.Context) (*Result, error) {
	info := p.info
	res := &Result{Kind: info.Kind, Duration: info.Duration, Width: info.Width, Height: info.Height,
		Thumbnails: []Frame{}, Shots: []Shot{}, Keyframes: []Frame{}, Cuts: []float64{}, Timing: map[string]float64{}}
	name := filepath.Base(p.path)
	step := func(what string, f func() error) error {
		start := time.Now()
		err := f()
		res.Timing[what] = math.Round(time.Since(start).Seconds()*1000) / 1000
		return err
	}

	if info.Kind == types.KindAudio || info.Kind == types.KindVideo {
		if info.HasAudio {
			if err := step("audio", func() error { return p.audio(ctx, res) }); err != nil {
				return nil, err
			}
		} else {
			res.AudioNote = fmt.Sprintf("%s has no audio track: nothing to transcribe", name)
		}
		if info.HasAudio && info.SizeBytes > p.opts.ProxyThresholdBytes {
			if err := step("proxy", func() error { return p.proxy(ctx, res) }); err != nil {
				return nil, err
			}
		}
	}
	switch info.Kind {
	case types.KindVideo:
		if err := step("shots", func() error { return p.shots(ctx, res) }); err != nil {
			return nil, err
		}
		if err := step("keyframes", func() error { return p.keyframes(ctx, res) }); err != nil {
			return nil, err
		}
		if err := step("thumbnails", func() error { return p.thumbnails(ctx, res) }); err != nil {
			return nil, err
		}
	case types.KindImage:
		if err := step("keyframes", func() error { return p.image(ctx, res) }); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (p *prep) audio(ctx context.Context, res *Result) error {
	out := p.out("audio.wav")
	if _, err := p.ffmpeg(ctx, "-i", p.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000",
		"-c:a", "pcm_s16le", "-f", "wav", out); err != nil {
		return mediaErr(err, p.path, "extracting the audio track")
	}
	res.AudioPath = out
	return nil
}

func (p *prep) proxy(ctx context.Context, res *Result) error {
	out := p.out("audio-proxy.m4a")
	if _, err := p.ffmpeg(ctx, "-i", p.path, "-map", "0:a:0", "-vn", "-ac", "1", "-ar", "16000",
		"-c:a", "aac", "-b:a", "48k", "-movflags", "+faststart", out); err != nil {
		return mediaErr(err, p.path, "writing the audio proxy")
	}
	res.ProxyPath = out
	return nil
}

// mediaErr keeps cancellation and missing tools as they are and turns a
// tool failure on this file into Media.Corrupt naming it.
func mediaErr(err error, path, what string) error {
	switch errcode.Of(err) {
	case errcode.ToolMissing, errcode.Canceled, errcode.DeadlineExceeded:
		return err
	}
	return errcode.Wrap(errcode.MediaCorrupt, err, "%s: %s", filepath.Base(path), what)
}

// Cut is a detected shot boundary.
type Cut struct {
	Time  float64 `json:"time"`
	Score float64 `json:"score"`
}

// CutParams tune the cut picker.
type CutParams struct {
	// Hard: a frame whose scene-change score reaches Hard starts a new shot
	// whatever its neighbours do.
	Hard float64
	// Min and Ratio: a frame whose score reaches Min and is Ratio times the
	// mean score of the frames around it (a spike) also starts a new shot.
	// This finds cuts between slides that share a background and differ
	// only in their text (scores near 0.03 against a static 0.00002),
	// while steady camera motion (every frame scoring alike) does not cut.
	Min, Ratio float64
	// Window is how many frames each side make up the neighbourhood.
	Window int
}

// DefaultCutParams are the defaults of the media task.
var DefaultCutParams = CutParams{Hard: 0.3, Min: 0.01, Ratio: 6, Window: 12}

// DetectCuts returns the shot boundaries of the first video stream of path
// (see FrameScores and PickCuts). cpu, when not nil, accumulates the CPU
// seconds spent.
func DetectCuts(ctx context.Context, path string, params CutParams, cpu *float64) ([]Cut, error) {
	scores, err := FrameScores(ctx, path, cpu)
	if err != nil {
		return nil, err
	}
	return PickCuts(scores, params), nil
}

// FrameScores runs ffmpeg's scene-change measure over every frame of the
// first video stream of path and returns one score (0..1) per frame with
// its time. Frames are scaled to 320 pixels wide first, which keeps the
// measure for cuts and makes the pass many times faster than real time at
// 720p.
func FrameScores(ctx context.Context, path string, cpu *float64) ([]Cut, error) {
	// The per-frame lines are parsed as ffmpeg prints them, never held
	// whole: a long video prints one line pair per frame.
	pr, pw := io.Pipe()
	type parsed struct {
		cuts []Cut
		err  error
	}
	done := make(chan parsed, 1)
	go func() {
		cuts, err := parseScene(pr)
		// Parsing stops early only on garbage; closing the reader then
		// fails ffmpeg's next write instead of blocking it.
		pr.CloseWithError(err)
		done <- parsed{cuts, err}
	}()
	r, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{
		"-hide_banner", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-an", "-sn", "-dn",
		"-vf", "scale=320:-2:flags=fast_bilinear,select='gte(scene\\,0)',metadata=mode=print:file=-",
		"-f", "null", "-"}, Stdout: pw})
	pw.Close()
	p := <-done
	if cpu != nil {
		*cpu += r.CPUSeconds
	}
	if err != nil {
		return nil, mediaErr(err, path, "measuring scene changes")
	}
	if p.err != nil {
		return nil, errcode.Wrap(errcode.ToolFailed, p.err, "%s: reading ffmpeg's scene scores", filepath.Base(path))
	}
	return p.cuts, nil
}

// PickCuts picks the frames that start a new shot from per-frame scores.
func PickCuts(scores []Cut, p CutParams) []Cut {
	var cuts []Cut
	for i, s := range scores {
		if i == 0 || s.Score < p.Min {
			continue
		}
		if s.Score >= p.Hard {
			cuts = append(cuts, s)
			continue
		}
		var sum float64
		n := 0
		for j := max(0, i-p.Window); j <= min(len(scores)-1, i+p.Window); j++ {
			if j != i {
				sum += scores[j].Score
				n++
			}
		}
		if n == 0 || s.Score >= p.Ratio*(sum/float64(n)) {
			cuts = append(cuts, s)
		}
	}
	return cuts
}

// parseSceneOutput reads the metadata filter's print output from b (see
// parseScene).
func parseSceneOutput(b []byte) ([]Cut, error) { return parseScene(bytes.NewReader(b)) }

// parseScene reads the metadata filter's print output:
//
//	frame:0    pts:30      pts_time:1.2
//	lavfi.scene_score=0.542
func parseScene(r io.Reader) ([]Cut, error) {
	var cuts []Cut
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "frame:") {
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "pts_time:"); ok {
					t, err := strconv.ParseFloat(v, 64)
					if err != nil || math.IsNaN(t) || math.IsInf(t, 0) {
						return nil, fmt.Errorf("scene filter output: bad pts_time %q", v)
					}
					cuts = append(cuts, Cut{Time: math.Round(t*1000) / 1000})
				}
			}
		} else if v, ok := strings.CutPrefix(line, "lavfi.scene_score="); ok && len(cuts) > 0 {
			s, err := strconv.ParseFloat(v, 64)
			if err == nil && !math.IsNaN(s) && !math.IsInf(s, 0) {
				cuts[len(cuts)-1].Score = s
			}
		}
	}
	return cuts, sc.Err()
}

func (p *prep) shots(ctx context.Context, res *Result) error {
	params := DefaultCutParams
	params.Hard = p.opts.SceneThreshold
	cuts, err := DetectCuts(ctx, p.path, params, p.cpu)
	if err != nil {
		return err
	}
	dur := res.Duration
	start, score := 0.0, 0.0
	for _, c := range cuts {
		if c.Time <= 0 || c.Time >= dur {
			continue
		}
		if c.Time-start < p.opts.MinShotSeconds {
			continue // a flash: part of the current shot
		}
		res.Shots = append(res.Shots, Shot{Index: len(res.Shots), Start: start, End: c.Time, Score: score, Keyframe: -1})
		res.Cuts = append(res.Cuts, c.Time)
		start, score = c.Time, math.Round(c.Score*1000)/1000
	}
	end := dur
	if end <= start {
		end = start
	}
	res.Shots = append(res.Shots, Shot{Index: len(res.Shots), Start: start, End: end, Score: score, Keyframe: -1})
	return nil
}

// keyframes takes one full-size PNG per shot, from the middle of the shot
// (away from transitions), for the longest MaxShots shots.
func (p *prep) keyframes(ctx context.Context, res *Result) error {
	order := make([]int, len(res.Shots))
	for i := range order {
		order[i] = i
	}
	if len(order) > p.opts.MaxShots {
		sort.SliceStable(order, func(a, b int) bool {
			sa, sb := res.Shots[order[a]], res.Shots[order[b]]
			return sa.End-sa.Start > sb.End-sb.Start
		})
		order = order[:p.opts.MaxShots]
		sort.Ints(order)
	}
	for _, i := range order {
		s := &res.Shots[i]
		t := (s.Start + s.End) / 2
		out := p.out(fmt.Sprintf("keyframe-%04d.png", i))
		if err := p.frameAt(ctx, t, out, 0); err != nil {
			return err
		}
		s.Keyframe = len(res.Keyframes)
		res.Keyframes = append(res.Keyframes, Frame{Time: math.Round(t*1000) / 1000, Path: out, Shot: i})
	}
	// The poster is the keyframe of the longest shot, at most 1280 wide.
	if len(res.Keyframes) > 0 {
		best := 0
		for i, s := range res.Shots {
			if s.Keyframe >= 0 && s.End-s.Start > res.Shots[best].End-res.Shots[best].Start {
				best = i
			}
		}
		kf := res.Shots[best].Keyframe
		if kf < 0 {
			kf = 0
		}
		out := p.out("poster.jpg")
		if _, err := p.ffmpeg(ctx, "-i", res.Keyframes[kf].Path, "-vf", "scale='min(1280,iw)':-2", "-q:v", "3", out); err != nil {
			return mediaErr(err, p.path, "writing the poster")
		}
		res.PosterPath = out
	}
	return nil
}

// frameAt writes the frame at t seconds to out, scaled to width when
// width > 0.
func (p *prep) frameAt(ctx context.Context, t float64, out string, width int) error {
	args := []string{"-ss", strconv.FormatFloat(t, 'f', 3, 64), "-i", p.path, "-map", "0:v:0", "-frames:v", "1"}
	if width > 0 {
		args = append(args, "-vf", fmt.Sprintf("scale=%d:-2", width))
	}
	if strings.HasSuffix(out, ".jpg") {
		args = append(args, "-q:v", "4")
	}
	args = append(args, "-update", "1", out)
	if _, err := p.ffmpeg(ctx, args...); err != nil {
		return mediaErr(err, p.path, fmt.Sprintf("taking the frame at %.3fs", t))
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 {
		return errcode.New(errcode.MediaCorrupt, "%s: no frame could be decoded at %.3fs", filepath.Base(p.path), t)
	}
	return nil
}

func (p *prep) thumbnails(ctx context.Context, res *Result) error {
	n := p.opts.Thumbnails
	for i := 0; i < n; i++ {
		t := res.Duration * (float64(i) + 0.5) / float64(n)
		out := p.out(fmt.Sprintf("thumb-%02d.jpg", i))
		if err := p.frameAt(ctx, t, out, p.opts.ThumbnailWidth); err != nil {
			return err
		}
		res.Thumbnails = append(res.Thumbnails, Frame{Time: math.Round(t*1000) / 1000, Path: out, Shot: shotAt(res.Shots, t)})
	}
	return nil
}

func shotAt(shots []Shot, t float64) int {
	for i := len(shots) - 1; i >= 0; i-- {
		if t >= shots[i].Start {
			return i
		}
	}
	return 0
}

// image makes a normalised PNG keyframe (first frame, colour, 8-bit) and a
// thumbnail of a still image.
func (p *prep) image(ctx context.Context, res *Result) error {
	kf := p.out("keyframe-0000.png")
	if _, err := p.ffmpeg(ctx, "-i", p.path, "-map", "0:v:0", "-frames:v", "1", "-pix_fmt", "rgb24", "-update", "1", kf); err != nil {
		return mediaErr(err, p.path, "decoding the image")
	}
	res.Keyframes = append(res.Keyframes, Frame{Time: 0, Path: kf})
	res.Shots = append(res.Shots, Shot{Index: 0, Keyframe: 0})
	th := p.out("thumb-00.jpg")
	w := p.opts.ThumbnailWidth
	if _, err := p.ffmpeg(ctx, "-i", kf, "-vf", fmt.Sprintf("scale='min(%d,iw)':-2", w), "-q:v", "4", th); err != nil {
		return mediaErr(err, p.path, "writing the thumbnail")
	}
	res.Thumbnails = append(res.Thumbnails, Frame{Time: 0, Path: th})
	res.PosterPath = th
	return nil
}

var _ analyser.Analyser = Media{}
