package speech

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
)

// SampleRate is the rate of the PCM stream OpenPCM yields: 16 kHz mono,
// signed 16-bit little-endian, what the acoustic model was trained on.
const SampleRate = 16000

// PCM is a stream of 16 kHz mono s16le samples decoded from a media file.
// Read it to the end, then Close it; Close reports a decoder failure (a
// corrupt file, a file without audio) that the stream's end hid.
type PCM struct {
	r      io.Reader
	closer func() error
	path   string
	cpu    float64 // the decoder's CPU seconds, known after Close
}

// CPUSeconds is the CPU time ffmpeg spent decoding (0 for a WAV read
// directly); valid after Close.
func (p *PCM) CPUSeconds() float64 { return p.cpu }

// Read reads raw PCM bytes.
func (p *PCM) Read(b []byte) (int, error) { return p.r.Read(b) }

// Close releases the decoder and returns its error, if any.
func (p *PCM) Close() error { return p.closer() }

// OpenPCM opens path as a 16 kHz mono s16le stream. A WAV file already in
// that format is read directly; anything else is decoded by ffmpeg, whose
// output is streamed (never held in memory). Errors carry codes:
// Media.Empty (zero bytes or no audio stream), Media.Corrupt (cannot be
// decoded), Tool.Missing (ffmpeg absent), NotFound.
func OpenPCM(ctx context.Context, path string) (*PCM, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, errcode.Wrap(errcode.NotFound, err, "media file %s", path)
		}
		return nil, errcode.Wrap(errcode.Invalid, err, "media file %s", path)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, errcode.New(errcode.Invalid, "media file %s is a directory", path)
	}
	if fi.Size() == 0 {
		f.Close()
		return nil, errcode.New(errcode.MediaEmpty, "media file %s has zero bytes", path)
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if data, ok := wavData(br); ok {
		return &PCM{r: data, closer: f.Close, path: path}, nil
	}
	f.Close()
	return ffmpegPCM(ctx, path)
}

// wavData reports whether br starts a canonical 16 kHz mono 16-bit PCM WAV
// and, if so, returns a reader of its data chunk. It only peeks, so br is
// still usable when the answer is no (the caller reopens for ffmpeg).
func wavData(br *bufio.Reader) (io.Reader, bool) {
	hdr, err := br.Peek(12)
	if err != nil || string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, false
	}
	if _, err := br.Discard(12); err != nil {
		return nil, false
	}
	fmtOK := false
	for i := 0; i < 64; i++ { // bounded walk over chunks
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			return nil, false
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1<<10 {
				return nil, false
			}
			b := make([]byte, size)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, false
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels := binary.LittleEndian.Uint16(b[2:4])
			rate := binary.LittleEndian.Uint32(b[4:8])
			bits := binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: subformat's first two bytes
				format = binary.LittleEndian.Uint16(b[24:26])
			}
			fmtOK = format == 1 && channels == 1 && rate == SampleRate && bits == 16
			if !fmtOK {
				return nil, false
			}
			if size%2 == 1 {
				br.Discard(1)
			}
		case "data":
			if !fmtOK {
				return nil, false
			}
			if size == 0 || size == 0xFFFFFFFF { // streamed WAV: length unknown, read to EOF
				return br, true
			}
			return io.LimitReader(br, int64(size)), true
		default:
			if size > 1<<20 {
				return nil, false
			}
			if _, err := br.Discard(int(size + size%2)); err != nil {
				return nil, false
			}
		}
	}
	return nil, false
}

// ffmpegPCM streams the first audio stream of path through ffmpeg.
func ffmpegPCM(ctx context.Context, path string) (*PCM, error) {
	if _, err := execx.LookPath("ffmpeg"); err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	parent := ctx
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	p := &PCM{r: pr, path: path}
	go func() {
		res, err := execx.Run(ctx, execx.Cmd{
			Name: "ffmpeg",
			Args: []string{"-nostdin", "-hide_banner", "-loglevel", "error",
				"-i", path, "-map", "0:a:0", "-vn", "-sn", "-dn",
				"-ac", "1", "-ar", fmt.Sprint(SampleRate), "-acodec", "pcm_s16le", "-f", "s16le", "pipe:1"},
			Stdout: pw,
		})
		if res != nil {
			p.cpu = res.CPUSeconds // read by Close after done
		}
		err = classifyFFmpeg(path, err)
		pw.CloseWithError(err)
		done <- err
	}()
	p.closer = func() error {
		cancel()
		pr.Close()
		err := <-done
		if err != nil && errcode.Of(err) == errcode.Canceled && parent.Err() == nil {
			// Closed before the end of the stream: the caller stopped reading.
			return nil
		}
		return err
	}
	return p, nil
}

// classifyFFmpeg turns ffmpeg's failure into a media error code.
func classifyFFmpeg(path string, err error) error {
	if err == nil || errcode.Of(err) != errcode.ToolFailed {
		return err
	}
	msg := errcode.MessageOf(err)
	switch {
	case strings.Contains(msg, "matches no streams"), strings.Contains(msg, "does not contain any stream"):
		return errcode.New(errcode.MediaEmpty, "media file %s has no audio stream", path)
	case strings.Contains(msg, "Invalid data found"), strings.Contains(msg, "could not find codec"),
		strings.Contains(msg, "Error while decoding"), strings.Contains(msg, "moov atom not found"),
		strings.Contains(msg, "End of file"):
		return errcode.Wrap(errcode.MediaCorrupt, err, "media file %s cannot be decoded", path)
	}
	return errcode.Wrap(errcode.MediaCorrupt, err, "decoding media file %s", path)
}
