// Package probe is the local provider of the classify task
// (analyser.classify.ffprobe): it decides whether a file is audio, video,
// an image or unsupported, and describes its container and streams.
//
// It first reads the file's leading bytes for a magic number (never the
// whole file), so that a file which lies about its type, an empty file or an
// image whose header declares huge dimensions is refused before any decoder
// runs. Then ffprobe describes the streams, the ISO BMFF box structure is
// walked to catch truncated MP4/MOV files, and one frame is decoded to make
// sure the media really decodes.
package probe

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registry id.
const ID = "analyser.classify.ffprobe"

//go:embed schema.json
var schema []byte

// Defaults for Options.
const (
	DefaultMaxPixels          = 100_000_000 // 100 megapixels, e.g. 10 000 × 10 000
	DefaultMaxDurationSeconds = 6 * 3600
	DefaultTimeoutSeconds     = 60
)

// Options are the classify task's settings (Input.Options). Unknown keys
// are errors.
type Options struct {
	MaxPixels          int64   `json:"max_pixels,omitempty"`           // images and video frames larger than this are Media.TooLarge
	MaxDurationSeconds float64 `json:"max_duration_seconds,omitempty"` // longer media is Media.TooLarge
	TimeoutSeconds     float64 `json:"timeout_seconds,omitempty"`      // bound on the ffprobe and decode runs together
	// SkipDecodeCheck skips decoding the first frame (faster, but a file
	// whose headers parse and whose data is garbage passes).
	SkipDecodeCheck bool `json:"skip_decode_check,omitempty"`
}

// Result is the classify task's output (see schema.json).
type Result struct {
	Kind        types.Kind `json:"kind"`
	File        string     `json:"file"`
	SizeBytes   int64      `json:"size_bytes"`
	Container   string     `json:"container"`             // from the magic number: "mp4", "png", "wav", …
	MIME        string     `json:"mime"`                  // from the magic number
	Format      string     `json:"format"`                // ffprobe's format_name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
	FormatLong  string     `json:"format_long,omitempty"` // ffprobe's format_long_name
	Duration    float64    `json:"duration"`              // seconds; 0 for still images
	BitRate     int64      `json:"bit_rate,omitempty"`
	HasAudio    bool       `json:"has_audio"`
	HasVideo    bool       `json:"has_video"` // a moving-picture stream (not cover art, not a still image)
	Width       int        `json:"width,omitempty"`
	Height      int        `json:"height,omitempty"`
	FrameRate   float64    `json:"frame_rate,omitempty"`
	VideoCodec  string     `json:"video_codec,omitempty"`
	AudioCodec  string     `json:"audio_codec,omitempty"`
	SampleRate  int        `json:"sample_rate,omitempty"`
	Channels    int        `json:"channels,omitempty"`
	Streams     []Stream   `json:"streams"`
	Extension   string     `json:"extension,omitempty"` // the file name's extension, lower case
	ExtMismatch bool       `json:"extension_mismatch,omitempty"`
}

// Stream describes one stream of the file.
type Stream struct {
	Index      int     `json:"index"`
	Type       string  `json:"type"` // "video", "audio", "subtitle", "data", "attachment"
	Codec      string  `json:"codec,omitempty"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	FrameRate  float64 `json:"frame_rate,omitempty"`
	SampleRate int     `json:"sample_rate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
	Duration   float64 `json:"duration,omitempty"`
	BitRate    int64   `json:"bit_rate,omitempty"`
	CoverArt   bool    `json:"cover_art,omitempty"`
	Language   string  `json:"language,omitempty"`
}

// Classifier is the analyser.classify.ffprobe analyser.
type Classifier struct{}

func init() { analyser.Register(Classifier{}) }

// Spec implements analyser.Analyser.
func (Classifier) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskClassify,
		Provider:     "local",
		Summary:      "media kind, container, duration and streams from magic numbers and ffprobe",
		Requires:     []string{"ffprobe", "ffmpeg"},
		OutputSchema: schema,
		Options:      optionsSpec,
	}
}

// Run implements analyser.Analyser.
func (c Classifier) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	if in == nil {
		return nil, errcode.New(errcode.Invalid, "classify: no input")
	}
	opts, err := parseOptions(in.Options)
	if err != nil {
		return nil, err
	}
	if in.Path == "" {
		return nil, errcode.New(errcode.Invalid, "classify: input /path is empty")
	}
	var cpu float64
	res, err := Classify(ctx, in.Path, opts, &cpu)
	env.Record(analyser.Usage{Analyser: ID, CPUSeconds: cpu})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "max_pixels", Type: analyser.OptionInteger, Default: DefaultMaxPixels, Min: analyser.Bound(1),
		Description: "images and video frames with more pixels are Media.TooLarge"},
	{Name: "max_duration_seconds", Type: analyser.OptionNumber, Default: DefaultMaxDurationSeconds, Min: analyser.Bound(0), ExclusiveMin: true,
		Description: "longer media is Media.TooLarge"},
	{Name: "timeout_seconds", Type: analyser.OptionNumber, Default: DefaultTimeoutSeconds, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(3600),
		Description: "bound on the ffprobe and decode runs together, in seconds"},
	{Name: "skip_decode_check", Type: analyser.OptionBoolean, Default: false,
		Description: "skip decoding the first frame (faster, but a file whose headers parse and whose data is garbage passes)"},
}

func parseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	return o, analyser.DecodeOptions(Classifier{}.Spec(), raw, &o)
}

// extKinds maps common extensions to the kind they claim.
var extKinds = map[string]types.Kind{
	".mp4": types.KindVideo, ".m4v": types.KindVideo, ".mov": types.KindVideo, ".mkv": types.KindVideo,
	".webm": types.KindVideo, ".avi": types.KindVideo, ".ts": types.KindVideo, ".flv": types.KindVideo,
	".mpg": types.KindVideo, ".mpeg": types.KindVideo, ".3gp": types.KindVideo,
	".wav": types.KindAudio, ".mp3": types.KindAudio, ".m4a": types.KindAudio, ".flac": types.KindAudio,
	".ogg": types.KindAudio, ".opus": types.KindAudio, ".aac": types.KindAudio, ".aiff": types.KindAudio,
	".png": types.KindImage, ".jpg": types.KindImage, ".jpeg": types.KindImage, ".gif": types.KindImage,
	".webp": types.KindImage, ".bmp": types.KindImage, ".tif": types.KindImage, ".tiff": types.KindImage,
	".heic": types.KindImage, ".avif": types.KindImage,
}

// Classify describes the file at path. cpu, when not nil, receives the CPU
// seconds spent by the external tools.
func Classify(ctx context.Context, path string, opts Options, cpu *float64) (*Result, error) {
	if cpu == nil {
		cpu = new(float64)
	}
	if opts.MaxPixels == 0 || opts.MaxDurationSeconds == 0 || opts.TimeoutSeconds == 0 {
		def, _ := parseOptions(nil)
		if opts.MaxPixels == 0 {
			opts.MaxPixels = def.MaxPixels
		}
		if opts.MaxDurationSeconds == 0 {
			opts.MaxDurationSeconds = def.MaxDurationSeconds
		}
		if opts.TimeoutSeconds == 0 {
			opts.TimeoutSeconds = def.TimeoutSeconds
		}
	}
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errcode.New(errcode.NotFound, "classify: %s does not exist", path)
		}
		return nil, errcode.Wrap(errcode.Invalid, err, "classify: %s", path)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "classify: %s", path)
	}
	if !fi.Mode().IsRegular() {
		return nil, errcode.New(errcode.MediaUnsupported, "%s: not a regular file", name)
	}
	if fi.Size() == 0 {
		return nil, errcode.New(errcode.MediaEmpty, "%s: the file is empty (0 bytes)", name)
	}
	magic, err := Sniff(f)
	if err != nil {
		return nil, errcode.Wrap(errcode.MediaCorrupt, err, "%s: reading the header", name)
	}
	ext := strings.ToLower(filepath.Ext(name))
	res := &Result{File: name, SizeBytes: fi.Size(), Container: magic.Format, MIME: magic.MIME, Extension: ext}
	claimed, hasClaim := extKinds[ext]
	if !magic.Known() {
		what := describeMagic(magic)
		if hasClaim {
			return nil, errcode.New(errcode.MediaUnsupported, "%s: the name says %s (%s) but the content is %s", name, ext, claimed, what)
		}
		if magic.Format != "unknown" {
			return nil, errcode.New(errcode.MediaUnsupported, "%s: the content is %s, not audio, video or an image", name, what)
		}
	}
	res.ExtMismatch = hasClaim && magic.Known() && claimed != magic.Kind &&
		!(claimed == types.KindVideo && magic.Kind == types.KindAudio) // an audio-only .mp4/.webm is common
	if magic.Kind == types.KindImage {
		if w, h, ok := ImageSize(f, magic.Format); ok {
			if w == 0 || h == 0 {
				return nil, errcode.New(errcode.MediaCorrupt, "%s: %s header declares %d×%d pixels", name, magic.Format, w, h)
			}
			if int64(w)*int64(h) > opts.MaxPixels {
				return nil, errcode.New(errcode.MediaTooLarge, "%s: %s header declares %d×%d pixels (%.0f megapixels), over the limit of %.0f megapixels; not decoded",
					name, magic.Format, w, h, float64(w)*float64(h)/1e6, float64(opts.MaxPixels)/1e6)
			}
		}
	}
	if magic.Format == "mp4" || magic.Format == "mov" || magic.Format == "m4a" || magic.Format == "3gp" {
		if err := checkBoxes(f, fi.Size()); err != nil {
			return nil, errcode.Wrap(errcode.MediaCorrupt, err, "%s", name)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, time.Duration(opts.TimeoutSeconds*float64(time.Second)))
	defer cancel()
	pr, err := ffprobe(ctx, path, cpu)
	if err != nil {
		if c := errcode.Of(err); c == errcode.ToolMissing || c == errcode.Canceled {
			return nil, err
		}
		if errcode.Of(err) == errcode.DeadlineExceeded {
			return nil, errcode.Wrap(errcode.MediaCorrupt, err, "%s: ffprobe did not finish within %gs", name, opts.TimeoutSeconds)
		}
		if magic.Known() {
			return nil, errcode.New(errcode.MediaCorrupt, "%s: looks like %s but cannot be read: %s", name, magic.Format, toolReason(err))
		}
		return nil, errcode.New(errcode.MediaUnsupported, "%s: not a media format ffprobe knows: %s", name, toolReason(err))
	}
	fill(res, pr, magic)
	if len(res.Streams) == 0 || (!res.HasAudio && !res.HasVideo && res.Kind != types.KindImage) {
		return nil, errcode.New(errcode.MediaEmpty, "%s: %s container holds no audio, video or image stream", name, res.Format)
	}
	if res.Kind == types.KindUnsupported {
		return nil, errcode.New(errcode.MediaUnsupported, "%s: %s holds no stream Landfall analyses", name, res.Format)
	}
	if int64(res.Width)*int64(res.Height) > opts.MaxPixels {
		return nil, errcode.New(errcode.MediaTooLarge, "%s: frames are %d×%d pixels, over the limit of %.0f megapixels", name, res.Width, res.Height, float64(opts.MaxPixels)/1e6)
	}
	if res.Duration > opts.MaxDurationSeconds {
		return nil, errcode.New(errcode.MediaTooLarge, "%s: lasts %.0fs, over the limit of %.0fs", name, res.Duration, opts.MaxDurationSeconds)
	}
	if !opts.SkipDecodeCheck {
		if err := decodeCheck(ctx, path, res, cpu); err != nil {
			if c := errcode.Of(err); c == errcode.ToolMissing || c == errcode.Canceled {
				return nil, err
			}
			return nil, errcode.New(errcode.MediaCorrupt, "%s: cannot be decoded: %s", name, toolReason(err))
		}
	}
	return res, nil
}

func describeMagic(m Magic) string {
	switch m.Format {
	case "text":
		return "plain text"
	case "unknown":
		return "not a format Landfall recognises"
	}
	return "a " + strings.ToUpper(m.Format) + " file (" + m.MIME + ")"
}

// toolReason is the useful part of a tool failure: the tail of stderr.
func toolReason(err error) string {
	msg := errcode.MessageOf(err)
	if i := strings.Index(msg, ": exit status"); i >= 0 {
		msg = msg[i+2:]
	}
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) > 300 {
		msg = msg[len(msg)-300:]
	}
	return msg
}

type ffprobeOut struct {
	Streams []struct {
		Index        int    `json:"index"`
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
		RFrameRate   string `json:"r_frame_rate"`
		SampleRate   string `json:"sample_rate"`
		Channels     int    `json:"channels"`
		Duration     string `json:"duration"`
		BitRate      string `json:"bit_rate"`
		Disposition  struct {
			AttachedPic int `json:"attached_pic"`
		} `json:"disposition"`
		Tags map[string]string `json:"tags"`
	} `json:"streams"`
	Format struct {
		FormatName     string `json:"format_name"`
		FormatLongName string `json:"format_long_name"`
		Duration       string `json:"duration"`
		BitRate        string `json:"bit_rate"`
	} `json:"format"`
}

func ffprobe(ctx context.Context, path string, cpu *float64) (*ffprobeOut, error) {
	r, err := execx.Run(ctx, execx.Cmd{Name: "ffprobe", Args: []string{
		"-hide_banner", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", "--", path,
	}, MaxStdout: 4 << 20})
	*cpu += r.CPUSeconds
	if err != nil {
		return nil, err
	}
	var out ffprobeOut
	if err := json.Unmarshal(r.Stdout, &out); err != nil {
		return nil, errcode.Wrap(errcode.ToolFailed, err, "ffprobe printed unreadable JSON")
	}
	return &out, nil
}

// imageFormats are ffprobe demuxers of still images.
var imageFormats = map[string]bool{
	"png_pipe": true, "jpeg_pipe": true, "bmp_pipe": true, "webp_pipe": true, "tiff_pipe": true,
	"image2": true, "gif": true, "gif_pipe": true, "pam_pipe": true, "ppm_pipe": true, "pgm_pipe": true,
	"jpegls_pipe": true, "j2k_pipe": true, "qoi_pipe": true, "svg_pipe": true,
}

func fill(res *Result, pr *ffprobeOut, magic Magic) {
	res.Format = pr.Format.FormatName
	res.FormatLong = pr.Format.FormatLongName
	res.Duration = parseFloat(pr.Format.Duration)
	res.BitRate = int64(parseFloat(pr.Format.BitRate))
	isImage := imageFormats[res.Format] || magic.Kind == types.KindImage
	res.Streams = []Stream{}
	for _, s := range pr.Streams {
		st := Stream{
			Index:    s.Index,
			Type:     s.CodecType,
			Codec:    s.CodecName,
			Duration: parseFloat(s.Duration),
			BitRate:  int64(parseFloat(s.BitRate)),
			CoverArt: s.Disposition.AttachedPic == 1,
			Language: s.Tags["language"],
		}
		switch s.CodecType {
		case "video":
			st.Width, st.Height = s.Width, s.Height
			st.FrameRate = parseRate(s.AvgFrameRate)
			if st.FrameRate == 0 {
				st.FrameRate = parseRate(s.RFrameRate)
			}
			if !st.CoverArt && res.VideoCodec == "" {
				res.VideoCodec = st.Codec
				res.Width, res.Height = st.Width, st.Height
				if !isImage {
					res.FrameRate = st.FrameRate
				}
			}
			if !st.CoverArt && !isImage {
				res.HasVideo = true
			}
		case "audio":
			st.SampleRate = int(parseFloat(s.SampleRate))
			st.Channels = s.Channels
			if !res.HasAudio {
				res.HasAudio = true
				res.AudioCodec = st.Codec
				res.SampleRate = st.SampleRate
				res.Channels = st.Channels
			}
		}
		res.Streams = append(res.Streams, st)
	}
	switch {
	case isImage && res.VideoCodec != "" && !res.HasAudio:
		res.Kind = types.KindImage
		res.Duration = 0
	case res.HasVideo:
		res.Kind = types.KindVideo
	case res.HasAudio:
		res.Kind = types.KindAudio
	default:
		res.Kind = types.KindUnsupported
	}
	if res.MIME == "" {
		if ext := mime.TypeByExtension(res.Extension); ext != "" {
			res.MIME = ext
		}
	}
}

func parseFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// parseRate turns ffprobe's "30000/1001" into 29.97.
func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	if !ok {
		return parseFloat(s)
	}
	n, d := parseFloat(num), parseFloat(den)
	if d == 0 {
		return 0
	}
	return math.Round(n/d*1000) / 1000
}

// checkBoxes walks the top-level ISO BMFF boxes and reports a box that
// runs past the end of the file (a truncated upload) or a file without the
// moov box that holds the sample tables. Only box headers are read.
func checkBoxes(r io.ReadSeeker, size int64) error {
	var off int64
	var hdr [16]byte
	sawMoov := false
	for boxes := 0; off < size; boxes++ {
		if boxes > 100000 {
			return fmt.Errorf("more than 100000 top-level boxes")
		}
		if size-off < 8 {
			return fmt.Errorf("truncated: %d stray bytes after the last box at offset %d", size-off, off)
		}
		if _, err := r.Seek(off, io.SeekStart); err != nil {
			return err
		}
		if _, err := io.ReadFull(r, hdr[:8]); err != nil {
			return fmt.Errorf("reading box header at offset %d: %w", off, err)
		}
		boxSize := int64(uint32(hdr[0])<<24 | uint32(hdr[1])<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]))
		typ := string(hdr[4:8])
		switch boxSize {
		case 0: // runs to the end of the file
			boxSize = size - off
		case 1: // 64-bit size follows
			if _, err := io.ReadFull(r, hdr[8:16]); err != nil {
				return fmt.Errorf("truncated: box %q at offset %d lacks its 64-bit size", typ, off)
			}
			var s uint64
			for _, b := range hdr[8:16] {
				s = s<<8 | uint64(b)
			}
			if s > uint64(math.MaxInt64) {
				return fmt.Errorf("box %q at offset %d declares an impossible size", typ, off)
			}
			boxSize = int64(s)
		}
		if boxSize < 8 {
			return fmt.Errorf("box %q at offset %d declares %d bytes, less than its header", printable(typ), off, boxSize)
		}
		if off+boxSize > size {
			return fmt.Errorf("truncated: box %q at offset %d declares %d bytes but the file ends %d bytes later (%d bytes missing)",
				printable(typ), off, boxSize, size-off, off+boxSize-size)
		}
		if typ == "moov" {
			sawMoov = true
		}
		off += boxSize
	}
	if !sawMoov {
		return fmt.Errorf("no moov box: the sample tables are missing (an upload cut short before the index was written?)")
	}
	return nil
}

func printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r > 0x7e {
			return fmt.Sprintf("%x", s)
		}
	}
	return s
}

// decodeCheck decodes the first frame of video (or the first second of
// audio, or the image) and the last moments of timed media, so a file whose
// headers parse but whose data is missing or garbage fails here.
func decodeCheck(ctx context.Context, path string, res *Result, cpu *float64) error {
	run := func(args ...string) error {
		base := []string{"-hide_banner", "-nostdin", "-v", "error", "-xerror"}
		r, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: append(base, args...)})
		*cpu += r.CPUSeconds
		if err != nil {
			return err
		}
		if s := strings.TrimSpace(r.Stderr); s != "" {
			return errors.New(s)
		}
		return nil
	}
	switch res.Kind {
	case types.KindImage:
		return run("-i", path, "-frames:v", "1", "-f", "null", "-")
	case types.KindVideo:
		if err := run("-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"); err != nil {
			return err
		}
		if res.Duration > 2 {
			return run("-ss", strconv.FormatFloat(res.Duration-1, 'f', 3, 64), "-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-")
		}
		return nil
	default:
		if err := run("-i", path, "-map", "0:a:0", "-t", "1", "-f", "null", "-"); err != nil {
			return err
		}
		if res.Duration > 2 {
			return run("-ss", strconv.FormatFloat(res.Duration-1, 'f', 3, 64), "-i", path, "-map", "0:a:0", "-f", "null", "-")
		}
		return nil
	}
}

var _ analyser.Analyser = Classifier{}
