package mediagen

import (
	"context"
	"fmt"
	"strings"

	"github.com/landfall/landfall/errcode"
)

// ImageSpec describes a generated image with text.
type ImageSpec struct {
	Width, Height int    // default 800×600
	Text          string // lines separated by "\n"; may be empty
	FontSize      int    // points; default Height/10
	Background    string // ImageMagick colour or 0xRRGGBB; default white
	Color         string // text colour, as Background; default black
}

// Image writes an image (format from the file extension: .png, .jpg, …)
// with the text drawn centred, using ImageMagick.
func Image(ctx context.Context, path string, spec ImageSpec) error {
	if err := checkFont(); err != nil {
		return err
	}
	w, h := spec.Width, spec.Height
	if w == 0 {
		w = 800
	}
	if h == 0 {
		h = 600
	}
	if w <= 0 || h <= 0 {
		return errcode.New(errcode.Invalid, "mediagen: image size %d×%d", w, h)
	}
	bg, fg := spec.Background, spec.Color
	if bg == "" {
		bg = "white"
	}
	if fg == "" {
		fg = "black"
	}
	size := spec.FontSize
	if size == 0 {
		size = h / 10
	}
	bg, fg = imColour(bg), imColour(fg)
	args := []string{"-size", fmt.Sprintf("%dx%d", w, h), "xc:" + bg}
	if strings.TrimSpace(spec.Text) != "" {
		args = append(args, "-font", FontPath, "-pointsize", fmt.Sprint(size), "-fill", fg,
			"-gravity", "center", "-annotate", "+0+0", imEscape(spec.Text))
	}
	// Strip dates and other metadata so the same spec gives the same bytes.
	args = append(args, "-strip", "-define", "png:exclude-chunks=date,time", path)
	return run(ctx, "convert", args...)
}

// imColour accepts ffmpeg's 0xRRGGBB form too, so one colour name works
// for videos and images.
func imColour(c string) string {
	if rest, ok := strings.CutPrefix(c, "0x"); ok && len(rest) == 6 {
		return "#" + rest
	}
	return c
}

// imEscape stops ImageMagick from reading the text as a file name (@…) or
// a format escape (%…).
func imEscape(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	s = strings.ReplaceAll(s, `\`, `\\`)
	if strings.HasPrefix(s, "@") {
		s = `\` + s
	}
	return s
}
