package mediagen

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/landfall/landfall/errcode"
)

// Slide is one slide of a generated video: Text (lines separated by "\n")
// drawn centred on a solid Background for Seconds.
type Slide struct {
	Text       string  `json:"text"`
	Seconds    float64 `json:"seconds"`
	Background string  `json:"background,omitempty"` // ffmpeg colour, e.g. "navy" or "0x1E3A8A"; default per slide index
	Color      string  `json:"color,omitempty"`      // text colour; default white
	FontSize   int     `json:"font_size,omitempty"`  // pixels; default Height/12
	// Image is a picture (PNG, JPEG, …) shown centred on the slide, scaled
	// to 70% of the frame's height; the text then runs along the bottom.
	Image string `json:"image,omitempty"`
}

// VideoSpec describes a generated slide video.
type VideoSpec struct {
	Width, Height int     // default 1280×720
	FPS           int     // default 25
	Slides        []Slide // at least one
	// Audio is a WAV to use as the soundtrack, padded with silence or cut
	// to the video's length. Empty means a video without an audio stream.
	Audio string
	// CRF is the x264 quality (default 23); Preset the x264 preset
	// (default "veryfast").
	CRF    int
	Preset string
}

// defaultBackgrounds are far apart in brightness and hue so every slide
// change is a hard cut.
var defaultBackgrounds = []string{"0x1E3A8A", "0xF5F5F0", "0x14532D", "0x7C2D12", "0x111111", "0xFDE68A"}

// contrasting returns black on light backgrounds and white on dark ones.
func contrasting(bg string) string {
	switch bg {
	case "0xF5F5F0", "0xFDE68A", "white", "yellow":
		return "0x111111"
	}
	return "white"
}

// VideoResult says where the generated cuts are.
type VideoResult struct {
	Duration float64   `json:"duration"`
	Cuts     []float64 `json:"cuts"`         // start time of every slide after the first
	Starts   []float64 `json:"slide_starts"` // start time of every slide
}

// Video writes an H.264/AAC MP4 of the slides, each a solid background with
// its text drawn in FontPath, cut hard from one to the next. Slide lengths
// are rounded to whole frames so the returned cut times are exact frame
// times.
func Video(ctx context.Context, path string, spec VideoSpec) (*VideoResult, error) {
	if len(spec.Slides) == 0 {
		return nil, errcode.New(errcode.Invalid, "mediagen: video has no slides")
	}
	if err := checkFont(); err != nil {
		return nil, err
	}
	w, h, fps := spec.Width, spec.Height, spec.FPS
	if w == 0 {
		w = 1280
	}
	if h == 0 {
		h = 720
	}
	if fps == 0 {
		fps = 25
	}
	crf := spec.CRF
	if crf == 0 {
		crf = 23
	}
	preset := spec.Preset
	if preset == "" {
		preset = "veryfast"
	}
	// Slide texts are files named inside the filtergraph, so their folder
	// must need no escaping: next to the output when that path is plain,
	// else in the system temp folder.
	tmp, err := tempDir(path)
	if err != nil {
		return nil, err
	}
	if safePath(tmp) != nil {
		os.RemoveAll(tmp)
		if tmp, err = os.MkdirTemp("", "mediagen-"); err != nil {
			return nil, err
		}
	}
	defer os.RemoveAll(tmp)
	if err := safePath(tmp); err != nil {
		return nil, err
	}
	if err := safePath(FontPath); err != nil {
		return nil, err
	}

	res := &VideoResult{}
	var graph strings.Builder
	// Inputs: the soundtrack first (when there is one), then slide images.
	var inputs []string
	nextInput := 0
	if spec.Audio != "" {
		inputs = append(inputs, "-i", spec.Audio)
		nextInput = 1
	}
	frames := 0
	for i, s := range spec.Slides {
		n := int(math.Round(s.Seconds * float64(fps)))
		if n < 1 {
			return nil, errcode.New(errcode.Invalid, "mediagen: slide %d lasts %.3fs, less than one frame", i, s.Seconds)
		}
		start := float64(frames) / float64(fps)
		res.Starts = append(res.Starts, start)
		if i > 0 {
			res.Cuts = append(res.Cuts, start)
		}
		frames += n
		bg := s.Background
		if bg == "" {
			bg = defaultBackgrounds[i%len(defaultBackgrounds)]
		}
		fg := s.Color
		if fg == "" {
			fg = contrasting(bg)
		}
		size := s.FontSize
		if size == 0 {
			size = h / 12
		}
		fmt.Fprintf(&graph, "color=c=%s:s=%dx%d:r=%d:d=%s", bg, w, h, fps, strconv.FormatFloat(float64(n)/float64(fps), 'f', 6, 64))
		textY := "(h-text_h)/2"
		if s.Image != "" {
			if _, err := os.Stat(s.Image); err != nil {
				return nil, errcode.New(errcode.Invalid, "mediagen: slide %d image: %v", i, err)
			}
			inputs = append(inputs, "-loop", "1", "-framerate", strconv.Itoa(fps), "-i", s.Image)
			fmt.Fprintf(&graph, "[bg%d];[%d:v]scale=-2:%d,format=rgba[pic%d];[bg%d][pic%d]overlay=x=(W-w)/2:y=(H-h)/2-%d:shortest=1",
				i, nextInput, h*7/10/2*2, i, i, i, h/20)
			nextInput++
			textY = fmt.Sprintf("h-text_h-%d", h/30)
		}
		if strings.TrimSpace(s.Text) != "" {
			txt := filepath.Join(tmp, fmt.Sprintf("slide%03d.txt", i))
			if err := os.WriteFile(txt, []byte(s.Text), 0o644); err != nil {
				return nil, err
			}
			fmt.Fprintf(&graph, ",drawtext=fontfile=%s:textfile=%s:fontsize=%d:fontcolor=%s:line_spacing=%d:x=(w-text_w)/2:y=%s",
				FontPath, txt, size, fg, size/3, textY)
		}
		fmt.Fprintf(&graph, "[s%d];", i)
	}
	for i := range spec.Slides {
		fmt.Fprintf(&graph, "[s%d]", i)
	}
	fmt.Fprintf(&graph, "concat=n=%d:v=1:a=0,format=yuv420p[v]", len(spec.Slides))
	res.Duration = float64(frames) / float64(fps)

	args := append([]string{"-hide_banner", "-nostdin", "-loglevel", "error", "-y"}, inputs...)
	if spec.Audio != "" {
		fmt.Fprintf(&graph, ";[0:a]aformat=sample_rates=%d:channel_layouts=mono,apad=whole_dur=%s,atrim=end=%s[a]",
			SampleRate, ftoa(res.Duration), ftoa(res.Duration))
	}
	args = append(args, "-filter_complex", graph.String(), "-map", "[v]")
	if spec.Audio != "" {
		args = append(args, "-map", "[a]", "-c:a", "aac", "-b:a", "96k")
	}
	args = append(args, "-c:v", "libx264", "-preset", preset, "-crf", strconv.Itoa(crf),
		"-frames:v", strconv.Itoa(frames), "-movflags", "+faststart", path)
	if err := run(ctx, "ffmpeg", args...); err != nil {
		return nil, err
	}
	return res, nil
}
