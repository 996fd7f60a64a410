package export

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func TestRegistryStandardSetAndIsolation(t *testing.T) {
	t.Parallel()
	a, b := NewRegistry(), NewRegistry()
	var names []string
	for _, n := range a.All() {
		names = append(names, n.Name)
	}
	want := "captions.srt captions.vtt chapters.json chapters.vtt labels.json moderation.json podcast-transcript.json transcribe.json verbose.json"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("standard exports %s\nwant %s", got, want)
	}
	if c := a.Captions(); len(c) != 2 || c[0].Name != "captions.srt" || c[1].Name != "captions.vtt" {
		t.Fatalf("captions %+v", c)
	}
	extra := Named{Name: "words.txt", ContentType: "text/plain", NeedsTranscript: true, Write: func(w io.Writer, d *Doc) error {
		_, err := io.WriteString(w, d.Transcript.Text)
		return err
	}}
	if err := a.Register(extra); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Lookup("words.txt"); ok {
		t.Fatal("an export added to one registry is in another")
	}
	if err := a.Register(extra); !errors.Is(err, errcode.AlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []Named{
		{Name: "a/b", ContentType: "x", Write: extra.Write},
		{Name: "x", Write: extra.Write},
		{Name: "x", ContentType: "x"},
		{Name: "x", ContentType: "x", Write: extra.Write, Caption: true},
	} {
		if err := a.Register(bad); !errors.Is(err, errcode.Invalid) {
			t.Fatalf("%+v: %v", bad, err)
		}
	}
	vtt, _ := b.Lookup("captions.vtt")
	var buf bytes.Buffer
	tr := &types.Transcript{Duration: 1, Text: "hello", Words: []types.Word{{Text: "hello", Start: 0, End: 0.5, Confidence: 1}},
		Segments: []types.Segment{{Start: 0, End: 0.5, Text: "hello"}}}
	if err := vtt.Write(&buf, &Doc{MediaID: "m", Transcript: tr}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "WEBVTT") || !strings.Contains(buf.String(), "hello") {
		t.Fatalf("vtt %q", buf.String())
	}
}
