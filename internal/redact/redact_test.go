package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	t.Parallel()
	r := New(
		Root{Dir: "/srv/landfall", Name: "the data folder"},
		Root{Dir: "/srv/landfall/bucket", Name: "the bucket"},
		Root{Dir: "/srv/landfall/work", Name: "the work folder", Skip: 2},
		Root{Dir: "/tmp", Name: "a temporary folder", Skip: 1 << 20},
	)
	for _, c := range []struct{ in, want string }{
		{"/srv/landfall/bucket/incoming/default/0192.mp4: Invalid data found when processing input",
			"incoming/default/0192.mp4: Invalid data found when processing input"},
		{`ffprobe -v error -i "/srv/landfall/bucket/incoming/t/a b.mp4": exit status 1`,
			`ffprobe -v error -i "incoming/t/a b.mp4": exit status 1`},
		{"open /srv/landfall/work/default/0192/frames/0001.png: no such file", "open frames/0001.png: no such file"},
		{"write /srv/landfall/work/default/0192/x.json: no space left on device", "write x.json: no space left on device"},
		{"mkdir /srv/landfall/work: no space left on device", "mkdir the work folder: no space left on device"},
		{"open /srv/landfall/landfall.db: locked", "open landfall.db: locked"},
		{"tesseract /tmp/ocr-123/frame.pgm failed", "tesseract frame.pgm failed"},
		{"/srv/landfall/workshop/x and /x/srv/landfall/bucket/y", "workshop/x and /x/srv/landfall/bucket/y"},
		{"/States/Transcribe/Retry/0: must be ≥ 1.0", "/States/Transcribe/Retry/0: must be ≥ 1.0"},
		{"two: /srv/landfall/bucket/a,/srv/landfall/bucket/b", "two: a,b"},
	} {
		if got := r.String(c.in); got != c.want {
			t.Errorf("String(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
	var none *Redactor
	if got := none.String("/srv/landfall/x"); got != "/srv/landfall/x" {
		t.Errorf("nil Redactor changed %q", got)
	}
}

func FuzzString(f *testing.F) {
	f.Add("/srv/d/bucket/incoming/t/x.mp4: bad")
	f.Add("/srv/d/work/t/m/f.png /srv/d/work /srv/d/workx")
	r := New(Root{Dir: "/srv/d"}, Root{Dir: "/srv/d/bucket"}, Root{Dir: "/srv/d/work", Skip: 2})
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		out := r.String(s)
		// No path under a root survives.
		if i := strings.Index(out, "/srv/d/"); i >= 0 && (i == 0 || boundary(out[i-1])) {
			t.Fatalf("String(%q) = %q keeps a path under a root", s, out)
		}
	})
}
