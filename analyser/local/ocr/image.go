package ocr

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
)

// loadGray decodes the image at path into grey. Formats Go does not decode
// (WebP, BMP, TIFF, …) are converted to PNG with ffmpeg first. Images over
// MaxPixels are refused from their header.
func loadGray(ctx context.Context, path, base string, cpu *float64) (*image.Gray, error) {
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errcode.New(errcode.NotFound, "ocr: frame %s does not exist", path)
		}
		return nil, errcode.Wrap(errcode.Invalid, err, "ocr: %s", path)
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		// Not a format Go decodes: let ffmpeg convert it.
		png := base + "-conv.png"
		r, ferr := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-hide_banner", "-nostdin", "-v", "error", "-y",
			"-i", path, "-frames:v", "1", "-update", "1", png}})
		*cpu += r.CPUSeconds
		if ferr != nil {
			if c := errcode.Of(ferr); c == errcode.ToolMissing || c == errcode.Canceled || c == errcode.DeadlineExceeded {
				return nil, ferr
			}
			return nil, errcode.New(errcode.MediaCorrupt, "ocr: %s is not an image that can be decoded: %v", name, err)
		}
		defer os.Remove(png)
		return loadGray(ctx, png, base+"-x", cpu)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, errcode.New(errcode.MediaCorrupt, "ocr: %s declares %d×%d pixels", name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, errcode.New(errcode.MediaTooLarge, "ocr: %s is %d×%d pixels, over the limit of %d megapixels", name, cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, errcode.Wrap(errcode.MediaCorrupt, err, "ocr: decoding %s", name)
	}
	return toGray(img), nil
}

func toGray(img image.Image) *image.Gray {
	if g, ok := img.(*image.Gray); ok && g.Rect.Min == (image.Point{}) {
		return g
	}
	b := img.Bounds()
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	switch src := img.(type) {
	case *image.YCbCr:
		for y := 0; y < b.Dy(); y++ {
			copy(g.Pix[y*g.Stride:y*g.Stride+b.Dx()], src.Y[(y+b.Min.Y-src.Rect.Min.Y)*src.YStride+(b.Min.X-src.Rect.Min.X):])
		}
	case *image.NRGBA:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[(y)*src.Stride:]
			for x := 0; x < b.Dx(); x++ {
				p := row[x*4:]
				g.Pix[y*g.Stride+x] = lum(p[0], p[1], p[2])
			}
		}
	case *image.RGBA:
		for y := 0; y < b.Dy(); y++ {
			row := src.Pix[(y)*src.Stride:]
			for x := 0; x < b.Dx(); x++ {
				p := row[x*4:]
				g.Pix[y*g.Stride+x] = lum(p[0], p[1], p[2])
			}
		}
	default:
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				g.Pix[y*g.Stride+x] = color.GrayModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray).Y
			}
		}
	}
	return g
}

func lum(r, g, b uint8) uint8 {
	return uint8((19595*uint32(r) + 38470*uint32(g) + 7471*uint32(b) + 1<<15) >> 16)
}

// darkShare is the share (0..1) of the image's pixels that are dark
// (below mid grey). Over half means light text on a dark background.
func darkShare(g *image.Gray) float64 {
	dark, n := 0, 0
	for y := 0; y < g.Rect.Dy(); y++ {
		for _, v := range g.Pix[y*g.Stride : y*g.Stride+g.Rect.Dx()] {
			if v < 128 {
				dark++
			}
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(dark) / float64(n)
}

func invert(g *image.Gray) *image.Gray {
	out := image.NewGray(g.Rect)
	for i, v := range g.Pix {
		out.Pix[i] = 255 - v
	}
	return out
}

// upscale enlarges g k times with bilinear interpolation.
func upscale(g *image.Gray, k int) *image.Gray {
	w, h := g.Rect.Dx(), g.Rect.Dy()
	out := image.NewGray(image.Rect(0, 0, w*k, h*k))
	inv := 1 / float64(k)
	for y := 0; y < h*k; y++ {
		sy := (float64(y)+0.5)*inv - 0.5
		y0 := int(sy)
		if sy < 0 {
			sy, y0 = 0, 0
		}
		y1 := min(y0+1, h-1)
		fy := sy - float64(y0)
		r0 := g.Pix[y0*g.Stride:]
		r1 := g.Pix[y1*g.Stride:]
		dst := out.Pix[y*out.Stride:]
		for x := 0; x < w*k; x++ {
			sx := (float64(x)+0.5)*inv - 0.5
			x0 := int(sx)
			if sx < 0 {
				sx, x0 = 0, 0
			}
			x1 := min(x0+1, w-1)
			fx := sx - float64(x0)
			top := float64(r0[x0])*(1-fx) + float64(r0[x1])*fx
			bot := float64(r1[x0])*(1-fx) + float64(r1[x1])*fx
			dst[x] = uint8(top*(1-fy) + bot*fy + 0.5)
		}
	}
	return out
}

// writePGM writes g as a binary PGM, which tesseract reads without a
// decoder round trip.
func writePGM(path string, g *image.Gray) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<16)
	fmt.Fprintf(w, "P5\n%d %d\n255\n", g.Rect.Dx(), g.Rect.Dy())
	for y := 0; y < g.Rect.Dy(); y++ {
		w.Write(g.Pix[y*g.Stride : y*g.Stride+g.Rect.Dx()])
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
