package probe

import (
	"bytes"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/landfall/landfall/types"
)

// sniffCases are leading bytes (hex, or text after "txt:") and the format
// they must be sniffed as.
var sniffCases = []struct {
	name, head, format string
	kind               types.Kind
}{
	{"png", "89504e470d0a1a0a0000000d49484452", "png", types.KindImage},
	{"jpeg", "ffd8ffe000104a464946", "jpeg", types.KindImage},
	{"gif", "txt:GIF89a\x01\x00\x01\x00", "gif", types.KindImage},
	{"webp", "txt:RIFF\x00\x00\x00\x00WEBPVP8 ", "webp", types.KindImage},
	{"wav", "txt:RIFF\x24\x00\x00\x00WAVEfmt ", "wav", types.KindAudio},
	{"avi", "txt:RIFF\x24\x00\x00\x00AVI LIST", "avi", types.KindVideo},
	{"mp4", "0000002066747970697336d000000200", "mp4", types.KindVideo},
	{"m4a", "00000020667479704d344120", "m4a", types.KindAudio},
	{"mov", "0000001466747970717420202005030071742020", "mov", types.KindVideo},
	{"heic", "000000186674797068656963", "heif", types.KindImage},
	{"webm", "1a45dfa39f4286810142f7810142f2810442f381084282847765626d", "webm", types.KindVideo},
	{"mkv", "1a45dfa3a34286810142f7810142f2810442f381084282886d6174726f736b61", "matroska", types.KindVideo},
	{"flac", "txt:fLaC\x00\x00\x00\x22", "flac", types.KindAudio},
	{"ogg", "txt:OggS\x00\x02", "ogg", types.KindAudio},
	{"mp3 id3", "txt:ID3\x04\x00", "mp3", types.KindAudio},
	{"mp3 frame", "fffb9064", "mp3", types.KindAudio},
	{"adts aac", "fff15080", "aac", types.KindAudio},
	{"flv", "464c560105", "flv", types.KindVideo},
	{"pdf", "txt:%PDF-1.7\n", "pdf", types.KindUnsupported},
	{"zip", "504b0304", "zip", types.KindUnsupported},
	{"text", "txt:Meeting notes\nnot a video\n", "text", types.KindUnsupported},
	{"utf8 text", "txt:Café — naïve\n", "text", types.KindUnsupported},
	{"binary", "0001020304", "unknown", types.KindUnsupported},
	{"empty", "", "empty", types.KindUnsupported},
}

func decodeHead(t testing.TB, s string) []byte {
	if rest, ok := strings.CutPrefix(s, "txt:"); ok {
		return []byte(rest)
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSniff(t *testing.T) {
	t.Parallel()
	for _, tc := range sniffCases {
		m := SniffBytes(decodeHead(t, tc.head))
		if m.Format != tc.format || m.Kind != tc.kind {
			t.Errorf("%s: got %s/%s, want %s/%s", tc.name, m.Format, m.Kind, tc.format, tc.kind)
		}
	}
}

// countingReader fails the test if more than SniffLen bytes are read.
type countingReader struct {
	r    *bytes.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func TestSniffReadsOnlyTheHead(t *testing.T) {
	t.Parallel()
	big := bytes.Repeat([]byte("a"), 10<<20)
	cr := &countingReader{r: bytes.NewReader(big)}
	m, err := Sniff(cr)
	if err != nil || m.Format != "text" {
		t.Fatalf("%+v %v", m, err)
	}
	if cr.read > SniffLen {
		t.Fatalf("read %d bytes, limit %d", cr.read, SniffLen)
	}
}

func TestImageSizeFromHeaders(t *testing.T) {
	dir := fixtures(t)
	for _, tc := range []struct {
		file, format string
		w, h         int
	}{{"text.png", "png", 400, 200}, {"text.jpg", "jpeg", 400, 200}, {"tiny.png", "png", 1, 1}, {"bomb.png", "png", 20000, 20000}} {
		f, err := os.Open(dir + "/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		w, h, ok := ImageSize(f, tc.format)
		f.Close()
		if !ok || w != tc.w || h != tc.h {
			t.Errorf("%s: %d×%d ok=%v, want %d×%d", tc.file, w, h, ok, tc.w, tc.h)
		}
	}
}

func FuzzSniff(f *testing.F) {
	for _, tc := range sniffCases {
		f.Add(decodeHead(f, tc.head))
	}
	f.Add([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00\xff\xc0\x00\x11\x08\x01\x00\x02\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		m := SniffBytes(b)
		if m.Format == "" || m.Kind == "" {
			t.Fatalf("empty result %+v", m)
		}
		if m2, err := Sniff(bytes.NewReader(b)); err != nil || (len(b) <= SniffLen && m2 != m) {
			t.Fatalf("Sniff and SniffBytes disagree: %+v vs %+v (%v)", m2, m, err)
		}
		for _, format := range []string{"png", "gif", "bmp", "webp", "jpeg"} {
			w, h, ok := ImageSize(bytes.NewReader(b), format)
			if ok && (w < 0 || h < 0) {
				t.Fatalf("%s: negative size %d×%d", format, w, h)
			}
		}
		_ = checkBoxes(bytes.NewReader(b), int64(len(b)))
	})
}
