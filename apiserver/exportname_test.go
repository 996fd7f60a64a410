package apiserver

import (
	"testing"

	"github.com/landfall/landfall/catalog"
)

func TestExportFileName(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ filename, want string }{
		{"talk.mp3", "talk.captions.srt"},
		{"my.talk.v2.wav", "my.talk.v2.captions.srt"},
		{"README", "README.captions.srt"},
		{".hidden", ".hidden.captions.srt"},
		{`dir\sub/clip.mp4`, "clip.captions.srt"},
		{"", "med_1.captions.srt"},
	} {
		if got := exportFileName(&catalog.Media{ID: "med_1", Filename: c.filename}, "captions.srt"); got != c.want {
			t.Errorf("exportFileName(%q) = %q, want %q", c.filename, got, c.want)
		}
	}
}
