package probe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/landfall/landfall/types"
)

// SniffLen is how many leading bytes Sniff reads.
const SniffLen = 4096

// Magic is what a file's leading bytes say it is.
type Magic struct {
	Format string     // short name: "png", "jpeg", "mp4", "wav", "text", "unknown", …
	MIME   string     // media type, e.g. "video/mp4"; empty when unknown
	Kind   types.Kind // the kind the format usually holds; unsupported for text, documents, archives and unknown bytes
}

// Known reports whether the bytes matched a media format.
func (m Magic) Known() bool {
	return m.Kind == types.KindAudio || m.Kind == types.KindVideo || m.Kind == types.KindImage
}

// Sniff reads at most SniffLen bytes from r and identifies the format by
// its magic number. It never reads further, so it is safe on any stream.
func Sniff(r io.Reader) (Magic, error) {
	buf := make([]byte, SniffLen)
	n, err := io.ReadFull(r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return Magic{}, err
	}
	return SniffBytes(buf[:n]), nil
}

// SniffBytes identifies the format of b, the leading bytes of a file.
func SniffBytes(b []byte) Magic {
	has := func(off int, sig string) bool {
		return len(b) >= off+len(sig) && string(b[off:off+len(sig)]) == sig
	}
	switch {
	case len(b) == 0:
		return Magic{Format: "empty", Kind: types.KindUnsupported}
	case has(0, "\x89PNG\r\n\x1a\n"):
		return Magic{"png", "image/png", types.KindImage}
	case has(0, "\xff\xd8\xff"):
		return Magic{"jpeg", "image/jpeg", types.KindImage}
	case has(0, "GIF87a"), has(0, "GIF89a"):
		return Magic{"gif", "image/gif", types.KindImage}
	case has(0, "RIFF") && has(8, "WEBP"):
		return Magic{"webp", "image/webp", types.KindImage}
	case has(0, "RIFF") && has(8, "WAVE"):
		return Magic{"wav", "audio/wav", types.KindAudio}
	case has(0, "RIFF") && has(8, "AVI "):
		return Magic{"avi", "video/x-msvideo", types.KindVideo}
	case has(0, "BM") && len(b) >= 26 && validBMP(b):
		return Magic{"bmp", "image/bmp", types.KindImage}
	case has(0, "II*\x00"), has(0, "MM\x00*"):
		return Magic{"tiff", "image/tiff", types.KindImage}
	case has(4, "ftyp"):
		return sniffFtyp(b)
	case has(0, "\x1a\x45\xdf\xa3"):
		if bytes.Contains(b[:min(len(b), 64)], []byte("webm")) {
			return Magic{"webm", "video/webm", types.KindVideo}
		}
		return Magic{"matroska", "video/x-matroska", types.KindVideo}
	case has(0, "OggS"):
		if bytes.Contains(b, []byte("\x80theora")) {
			return Magic{"ogg", "video/ogg", types.KindVideo}
		}
		return Magic{"ogg", "audio/ogg", types.KindAudio}
	case has(0, "fLaC"):
		return Magic{"flac", "audio/flac", types.KindAudio}
	case has(0, "ID3"):
		return Magic{"mp3", "audio/mpeg", types.KindAudio}
	case has(0, "FORM") && (has(8, "AIFF") || has(8, "AIFC")):
		return Magic{"aiff", "audio/aiff", types.KindAudio}
	case has(0, "#!AMR"):
		return Magic{"amr", "audio/amr", types.KindAudio}
	case has(0, "FLV\x01"):
		return Magic{"flv", "video/x-flv", types.KindVideo}
	case has(0, "\x00\x00\x01\xba"):
		return Magic{"mpeg-ps", "video/mpeg", types.KindVideo}
	case len(b) > 188 && b[0] == 0x47 && b[188] == 0x47:
		return Magic{"mpeg-ts", "video/mp2t", types.KindVideo}
	case len(b) >= 4 && b[0] == 0xff && b[1]&0xf6 == 0xf0:
		// ADTS AAC: sync word 0xFFF, layer 00.
		return Magic{"aac", "audio/aac", types.KindAudio}
	case len(b) >= 4 && b[0] == 0xff && b[1]&0xe0 == 0xe0 && b[1]&0x06 != 0 && b[2]&0xf0 != 0xf0 && b[2]&0x0c != 0x0c:
		// MPEG audio frame: 11-bit sync, a layer, a valid bitrate and rate index.
		return Magic{"mp3", "audio/mpeg", types.KindAudio}
	case has(0, "%PDF-"):
		return Magic{"pdf", "application/pdf", types.KindUnsupported}
	case has(0, "PK\x03\x04"):
		return Magic{"zip", "application/zip", types.KindUnsupported}
	case has(0, "\x1f\x8b"):
		return Magic{"gzip", "application/gzip", types.KindUnsupported}
	case has(0, "\x7fELF"):
		return Magic{"elf", "application/x-executable", types.KindUnsupported}
	case isText(b):
		return Magic{"text", "text/plain", types.KindUnsupported}
	}
	return Magic{Format: "unknown", Kind: types.KindUnsupported}
}

func validBMP(b []byte) bool {
	// The DIB header size is one of the known ones.
	switch binary.LittleEndian.Uint32(b[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

func sniffFtyp(b []byte) Magic {
	if len(b) < 12 {
		return Magic{"mp4", "video/mp4", types.KindVideo}
	}
	brands := [][]byte{b[8:12]}
	// Compatible brands follow the minor version, up to the box's end.
	size := int(binary.BigEndian.Uint32(b[0:4]))
	for off := 16; off+4 <= min(size, len(b)); off += 4 {
		brands = append(brands, b[off:off+4])
	}
	switch string(brands[0]) {
	case "M4A ", "M4B ", "M4P ", "F4A ", "F4B ":
		return Magic{"m4a", "audio/mp4", types.KindAudio}
	case "qt  ":
		return Magic{"mov", "video/quicktime", types.KindVideo}
	case "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1":
		return Magic{"heif", "image/heif", types.KindImage}
	case "avif", "avis":
		return Magic{"avif", "image/avif", types.KindImage}
	case "3gp4", "3gp5", "3gp6", "3g2a":
		return Magic{"3gp", "video/3gpp", types.KindVideo}
	}
	return Magic{"mp4", "video/mp4", types.KindVideo}
}

// isText reports whether b looks like text: valid UTF-8 (allowing a rune cut
// at the end) with no control characters other than white space.
func isText(b []byte) bool {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			if len(b)-i < utf8.UTFMax && !utf8.FullRune(b[i:]) {
				break // cut at the sniff boundary
			}
			return false
		}
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' || r == 0x7f {
			return false
		}
		i += size
	}
	return true
}

// ImageSize reads an image's pixel dimensions from its header without
// decoding it. It supports PNG, GIF, BMP, WebP and JPEG (walking JPEG's
// segments with Seek, so EXIF blocks are skipped, not read). ok is false
// when the format has no header it reads or the header is malformed.
func ImageSize(r io.ReadSeeker, format string) (w, h int, ok bool) {
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return 0, 0, false
	}
	head := make([]byte, 32)
	n, _ := io.ReadFull(r, head)
	head = head[:n]
	switch format {
	case "png":
		if n < 24 || string(head[12:16]) != "IHDR" {
			return 0, 0, false
		}
		return int(binary.BigEndian.Uint32(head[16:20])), int(binary.BigEndian.Uint32(head[20:24])), true
	case "gif":
		if n < 10 {
			return 0, 0, false
		}
		return int(binary.LittleEndian.Uint16(head[6:8])), int(binary.LittleEndian.Uint16(head[8:10])), true
	case "bmp":
		if n < 26 {
			return 0, 0, false
		}
		if binary.LittleEndian.Uint32(head[14:18]) == 12 {
			return int(binary.LittleEndian.Uint16(head[18:20])), int(binary.LittleEndian.Uint16(head[20:22])), true
		}
		w := int32(binary.LittleEndian.Uint32(head[18:22]))
		h := int32(binary.LittleEndian.Uint32(head[22:26]))
		if h < 0 {
			h = -h
		}
		if w < 0 || h < 0 {
			return 0, 0, false
		}
		return int(w), int(h), true
	case "webp":
		if n < 30 {
			return 0, 0, false
		}
		switch string(head[12:16]) {
		case "VP8X":
			w := 1 + int(uint32(head[24])|uint32(head[25])<<8|uint32(head[26])<<16)
			h := 1 + int(uint32(head[27])|uint32(head[28])<<8|uint32(head[29])<<16)
			return w, h, true
		case "VP8L":
			if head[20] != 0x2f {
				return 0, 0, false
			}
			bits := binary.LittleEndian.Uint32(head[21:25])
			return 1 + int(bits&0x3fff), 1 + int(bits>>14&0x3fff), true
		case "VP8 ":
			if head[23] != 0x9d || head[24] != 0x01 || head[25] != 0x2a {
				return 0, 0, false
			}
			return int(binary.LittleEndian.Uint16(head[26:28]) & 0x3fff), int(binary.LittleEndian.Uint16(head[28:30]) & 0x3fff), true
		}
		return 0, 0, false
	case "jpeg":
		return jpegSize(r)
	}
	return 0, 0, false
}

func jpegSize(r io.ReadSeeker) (int, int, bool) {
	if _, err := r.Seek(2, io.SeekStart); err != nil {
		return 0, 0, false
	}
	var hdr [4]byte
	for seg := 0; seg < 4096; seg++ {
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return 0, 0, false
		}
		if hdr[0] != 0xff {
			return 0, 0, false
		}
		marker := hdr[1]
		switch {
		case marker == 0xff: // fill byte: the marker follows
			if _, err := r.Seek(-1, io.SeekCurrent); err != nil {
				return 0, 0, false
			}
			continue
		case marker == 0xd8 || marker == 0x01 || marker >= 0xd0 && marker <= 0xd7:
			continue // no length
		case marker == 0xd9 || marker == 0xda:
			return 0, 0, false // end of image or start of scan before a frame header
		}
		if _, err := io.ReadFull(r, hdr[:2]); err != nil {
			return 0, 0, false
		}
		length := int(binary.BigEndian.Uint16(hdr[:2]))
		if length < 2 {
			return 0, 0, false
		}
		if marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc {
			var sof [5]byte
			if length < 7 {
				return 0, 0, false
			}
			if _, err := io.ReadFull(r, sof[:]); err != nil {
				return 0, 0, false
			}
			return int(binary.BigEndian.Uint16(sof[3:5])), int(binary.BigEndian.Uint16(sof[1:3])), true
		}
		if _, err := r.Seek(int64(length-2), io.SeekCurrent); err != nil {
			return 0, 0, false
		}
	}
	return 0, 0, false
}
