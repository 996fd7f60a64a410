package live

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

func TestParseStart(t *testing.T) {
	t.Parallel()
	s, err := ParseStart([]byte(`{"type":"start","language":"en-US","vocabulary":["Landfall"],"sample_rate":16000}`))
	if err != nil || s.Format != FormatPCM16 || s.Pause != 0.5 {
		t.Fatalf("ParseStart = %+v, %v", s, err)
	}
	bad := map[string]string{
		`{"type":"begin"}`:                                     "/type",
		`{"type":"start","sample_rate":8000}`:                  "/sample_rate: 8000 Hz",
		`{"type":"start","channels":2}`:                        "/channels: 2",
		`{"type":"start","format":"mp3"}`:                      "/format",
		`{"type":"start","format":"webm","sample_rate":16000}`: "only for pcm16",
		`{"type":"start","language":"de"}`:                     "/language",
		`{"type":"start","vocabulary":[""]}`:                   "/vocabulary/0",
		`{"type":"start","pause":9}`:                           "/pause",
		`{"type":"start","speed":2}`:                           "unknown field",
		`{"type":"start"} {"type":"start"}`:                    "one JSON object",
		`[1,2]`:                                                "want a JSON object",
	}
	for in, want := range bad {
		_, err := ParseStart([]byte(in))
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseStart(%s) = %v, want Invalid naming %q", in, err, want)
		}
	}
}

func wav(rate, ch, bits int) []byte {
	h := make([]byte, 44)
	copy(h, "RIFF")
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(ch))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	return h
}

func TestSniff(t *testing.T) {
	t.Parallel()
	pcm := make([]byte, 3200)
	for i := range pcm {
		pcm[i] = byte(i * 7)
	}
	if n, err := sniff(FormatPCM16, pcm); n != 0 || err != nil {
		t.Errorf("raw PCM: %d %v", n, err)
	}
	// PCM whose first sample looks like an MPEG frame sync is PCM.
	if n, err := sniff(FormatPCM16, append([]byte{0xff, 0xef}, pcm...)); n != 0 || err != nil {
		t.Errorf("raw PCM starting 0xff 0xef: %d %v", n, err)
	}
	if n, err := sniff(FormatPCM16, append(wav(16000, 1, 16), pcm...)); n != 44 || err != nil {
		t.Errorf("16 kHz WAV: %d %v", n, err)
	}
	cases := []struct {
		format string
		b      []byte
		code   errcode.Code
		want   string
	}{
		{FormatPCM16, append(wav(8000, 1, 16), pcm...), errcode.Invalid, "8000 Hz"},
		{FormatPCM16, append(wav(16000, 1, 8), pcm...), errcode.Invalid, "8-bit"},
		{FormatPCM16, []byte(`{"type":"start","language":"en"}`), errcode.MediaUnsupported, "text, not audio"},
		{FormatPCM16, append([]byte{0x1a, 0x45, 0xdf, 0xa3}, pcm...), errcode.MediaUnsupported, `"format":"webm"`},
		{FormatWebM, pcm, errcode.MediaUnsupported, "declared webm"},
		{FormatOgg, append([]byte{0x1a, 0x45, 0xdf, 0xa3}, pcm...), errcode.MediaUnsupported, "the data is webm"},
		{FormatPCM16, []byte("RIFF\x00\x00\x00\x00WAVEjunk"), errcode.Invalid, "without its fmt and data"},
	}
	for _, c := range cases {
		_, err := sniff(c.format, c.b)
		if errcode.Of(err) != c.code || !strings.Contains(err.Error(), c.want) {
			t.Errorf("sniff(%s, %.12q) = %v, want %s naming %q", c.format, c.b, err, c.code, c.want)
		}
	}
}

func FuzzParseStart(f *testing.F) {
	for _, s := range []string{`{"type":"start"}`, `{"type":"start","format":"webm"}`, `{"type":"start","vocabulary":["a b"],"pause":1}`, `{`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStart(b)
		if err != nil {
			if errcode.Of(err) != errcode.Invalid {
				t.Fatalf("error without the Invalid code: %v", err)
			}
			return
		}
		if s.Type != "start" || s.Pause < 0.2 || s.Pause > 3 || (s.Format == FormatPCM16 && s.SampleRate != 0 && s.SampleRate != 16000) {
			t.Fatalf("accepted %+v", s)
		}
	})
}

func FuzzSniff(f *testing.F) {
	f.Add(FormatPCM16, append(wav(16000, 1, 16), 1, 2, 3, 4))
	f.Add(FormatPCM16, wav(44100, 2, 16))
	f.Add(FormatWebM, []byte{0x1a, 0x45, 0xdf, 0xa3, 0, 0})
	f.Add(FormatOgg, []byte("OggS\x00\x02"))
	f.Add(FormatPCM16, []byte("RIFF\xff\xff\xff\xffWAVEfmt \xff\xff\xff\x7f"))
	f.Fuzz(func(t *testing.T, format string, b []byte) {
		n, err := sniff(format, b)
		if err == nil && (n < 0 || n > len(b)) {
			t.Fatalf("skip %d of %d bytes", n, len(b))
		}
	})
}
