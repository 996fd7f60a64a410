package live

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Formats of the audio frames.
const (
	FormatPCM16 = "pcm16"
	FormatWebM  = "webm"
	FormatOgg   = "ogg"
)

// Limits on a start message.
const (
	maxStartBytes = 1 << 20
	maxVocabulary = 1000
	maxTermLen    = 200
	maxDomainText = 512 << 10
)

// ParseStart reads the session's first message. Errors are
// errcode.Invalid naming the field by JSON pointer.
func ParseStart(b []byte) (*types.LiveStart, error) {
	if len(b) > maxStartBytes {
		return nil, errcode.New(errcode.Invalid, "start message: %d bytes, at most %d", len(b), maxStartBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var s types.LiveStart
	if err := dec.Decode(&s); err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "start message: want a JSON object {\"type\":\"start\",…}")
	}
	if dec.More() {
		return nil, errcode.New(errcode.Invalid, "start message: one JSON object, not several")
	}
	if s.Type != "start" {
		return nil, errcode.New(errcode.Invalid, "start message /type: %q, want \"start\"", s.Type)
	}
	switch s.Language {
	case "", "en", "en-US":
	default:
		return nil, errcode.New(errcode.Invalid, "start message /language: %q is not available (the recogniser's model is en-US)", s.Language)
	}
	switch s.Format {
	case "":
		s.Format = FormatPCM16
	case FormatPCM16, FormatWebM, FormatOgg:
	default:
		return nil, errcode.New(errcode.Invalid, "start message /format: %q, want pcm16, webm or ogg", s.Format)
	}
	if s.Format == FormatPCM16 {
		if s.SampleRate != 0 && s.SampleRate != 16000 {
			return nil, errcode.New(errcode.Invalid, "start message /sample_rate: %d Hz; pcm16 audio must be 16000 Hz (resample it, or send webm/ogg for the server to decode)", s.SampleRate)
		}
		if s.Channels != 0 && s.Channels != 1 {
			return nil, errcode.New(errcode.Invalid, "start message /channels: %d; pcm16 audio must be mono", s.Channels)
		}
	} else if s.SampleRate != 0 || s.Channels != 0 {
		return nil, errcode.New(errcode.Invalid, "start message /sample_rate: only for pcm16 (%s carries its own)", s.Format)
	}
	if len(s.Vocabulary) > maxVocabulary {
		return nil, errcode.New(errcode.Invalid, "start message /vocabulary: %d terms, at most %d", len(s.Vocabulary), maxVocabulary)
	}
	for i, v := range s.Vocabulary {
		if strings.TrimSpace(v) == "" || len(v) > maxTermLen {
			return nil, errcode.New(errcode.Invalid, "start message /vocabulary/%d: want 1–%d bytes of text", i, maxTermLen)
		}
	}
	if len(s.DomainText) > maxDomainText {
		return nil, errcode.New(errcode.Invalid, "start message /domain_text: %d bytes, at most %d", len(s.DomainText), maxDomainText)
	}
	switch s.PartialStability {
	case "", "none", "high", "medium", "low":
	default:
		return nil, errcode.New(errcode.Invalid, "start message /partial_stability: %q, want none, high, medium or low", s.PartialStability)
	}
	if s.Pause == 0 {
		s.Pause = 0.5
	}
	if !(s.Pause >= 0.2 && s.Pause <= 3) {
		return nil, errcode.New(errcode.Invalid, "start message /pause: %g s, want 0.2–3", s.Pause)
	}
	if len(s.Filename) > 255 {
		return nil, errcode.New(errcode.Invalid, "start message /filename: longer than 255 bytes")
	}
	return &s, nil
}

// sniff checks the first audio frame against the declared format and
// returns how many bytes of it are a header to skip (a WAV header on
// pcm16). Non-audio frames (text, JSON, a container the start message did
// not declare) are errcode.MediaUnsupported; a WAV header with another
// rate, width or channel count is errcode.Invalid naming it.
func sniff(format string, b []byte) (int, error) {
	kind := containerOf(b)
	switch format {
	case FormatWebM, FormatOgg:
		if kind != format {
			what := kind
			if what == "" {
				what = "not " + format
			}
			return 0, errcode.New(errcode.MediaUnsupported, "audio frame 1: declared %s, but the data is %s (a %s stream starts with its %s header)", format, what, format, map[string]string{FormatWebM: "EBML", FormatOgg: "OggS"}[format])
		}
		return 0, nil
	}
	switch kind {
	case "":
	case "wav":
		return wavHeader(b)
	case "text":
		return 0, errcode.New(errcode.MediaUnsupported, "audio frame 1: text, not audio (send the start message as a text frame and PCM in binary frames)")
	default:
		return 0, errcode.New(errcode.MediaUnsupported, "audio frame 1: a %s stream, but the start message declared pcm16 (set \"format\":\"%s\")", kind, kind)
	}
	return 0, nil
}

// containerOf names what b starts with: "wav", "webm", "ogg", "text"
// (printable UTF-8 such as JSON) or "" (presumably raw PCM).
func containerOf(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[0:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return "wav"
	case len(b) >= 4 && bytes.Equal(b[0:4], []byte{0x1a, 0x45, 0xdf, 0xa3}):
		return FormatWebM
	case len(b) >= 4 && string(b[0:4]) == "OggS":
		return FormatOgg
	case len(b) >= 3 && string(b[0:3]) == "ID3":
		// (An MPEG frame sync without the tag is not checked: raw PCM
		// starts that way too often.)
		return "mp3"
	case len(b) >= 8 && string(b[4:8]) == "ftyp":
		return "mp4"
	case len(b) >= 4 && string(b[0:4]) == "fLaC":
		return "flac"
	}
	if len(b) >= 16 && printable(b[:min(len(b), 256)]) {
		return "text"
	}
	return ""
}

func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x09 || (c > 0x0d && c < 0x20) || c >= 0x7f {
			return false
		}
	}
	return true
}

// wavHeader reads a WAV header at the start of a pcm16 stream: 16 kHz
// mono 16-bit PCM is accepted (the header skipped), anything else named.
func wavHeader(b []byte) (int, error) {
	off := 12
	for off+8 <= len(b) {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4 : off+8]))
		off += 8
		switch id {
		case "fmt ":
			if size < 16 || off+16 > len(b) {
				return 0, errcode.New(errcode.Invalid, "audio frame 1: WAV fmt chunk truncated")
			}
			format := binary.LittleEndian.Uint16(b[off:])
			ch := binary.LittleEndian.Uint16(b[off+2:])
			rate := binary.LittleEndian.Uint32(b[off+4:])
			bits := binary.LittleEndian.Uint16(b[off+14:])
			if format == 0xFFFE && size >= 26 && off+26 <= len(b) {
				format = binary.LittleEndian.Uint16(b[off+24:])
			}
			if format != 1 || ch != 1 || rate != 16000 || bits != 16 {
				return 0, errcode.New(errcode.Invalid, "audio frame 1: WAV audio is %s, %d Hz, %d channel(s), %d-bit; pcm16 must be 16-bit PCM, 16000 Hz, mono", wavFormat(format), rate, ch, bits)
			}
		case "data":
			return off, nil
		}
		if size < 0 || size > len(b) {
			break
		}
		off += size + size%2
	}
	return 0, errcode.New(errcode.Invalid, "audio frame 1: a WAV header without its fmt and data chunks in the first frame")
}

func wavFormat(f uint16) string {
	switch f {
	case 1:
		return "PCM"
	case 3:
		return "float"
	case 6, 7:
		return "G.711"
	}
	return fmt.Sprintf("format %d", f)
}
