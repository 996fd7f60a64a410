package mediagen

import (
	"bufio"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"

	"github.com/landfall/landfall/errcode"
)

// Empty writes a zero-byte file.
func Empty(path string) error { return os.WriteFile(path, nil, 0o644) }

// Text writes a text file, e.g. under a media extension to test a file that
// lies about its type.
func Text(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// Truncate copies the first keep bytes of src to dst (a download cut short).
func Truncate(src, dst string, keep int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(out, in, keep); err != nil && err != io.EOF {
		out.Close()
		return err
	}
	return out.Close()
}

// Corrupt copies src to dst and overwrites n bytes from offset with a
// fixed pseudo-random pattern (bit rot in the middle of a file).
func Corrupt(src, dst string, offset, n int64) error {
	if err := Truncate(src, dst, 1<<62); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	if offset < 0 || offset+n > fi.Size() {
		f.Close()
		return errcode.New(errcode.Invalid, "mediagen: corrupt range %d+%d is outside %s (%d bytes)", offset, n, src, fi.Size())
	}
	junk := make([]byte, n)
	x := uint32(2463534242)
	for i := range junk {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		junk[i] = byte(x)
	}
	if _, err := f.WriteAt(junk, offset); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// PNGBomb writes a valid PNG of width×height black 1-bit pixels. Its few
// hundred kilobytes inflate to width×height/8 bytes (50 MB at 20 000²) and
// to gigabytes once a decoder expands it to RGBA, so an analyser must
// refuse it from the header. The image data is streamed through zlib,
// never held in memory.
func PNGBomb(path string, width, height int) error {
	if width <= 0 || height <= 0 {
		return errcode.New(errcode.Invalid, "mediagen: PNG size %d×%d", width, height)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 1 // bit depth
	ihdr[9] = 0 // greyscale
	writeChunk(w, "IHDR", ihdr)

	// IDAT chunks are written as the compressor fills a buffer.
	cw := &chunkWriter{w: w}
	zw, _ := zlib.NewWriterLevel(cw, zlib.BestCompression)
	row := make([]byte, 1+(width+7)/8) // filter byte 0 + zero pixels
	for y := 0; y < height; y++ {
		if _, err := zw.Write(row); err != nil {
			f.Close()
			return err
		}
	}
	zw.Close()
	cw.flush()
	writeChunk(w, "IEND", nil)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeChunk(w io.Writer, typ string, data []byte) {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(len(data)))
	copy(hdr[4:], typ)
	w.Write(hdr[:])
	w.Write(data)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	w.Write(sum[:])
}

// chunkWriter turns a byte stream into IDAT chunks of up to 64 KiB.
type chunkWriter struct {
	w   io.Writer
	buf []byte
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	c.buf = append(c.buf, p...)
	for len(c.buf) >= 64<<10 {
		writeChunk(c.w, "IDAT", c.buf[:64<<10])
		c.buf = append(c.buf[:0], c.buf[64<<10:]...)
	}
	return len(p), nil
}

func (c *chunkWriter) flush() {
	if len(c.buf) > 0 {
		writeChunk(c.w, "IDAT", c.buf)
		c.buf = c.buf[:0]
	}
}
