package mediagen

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMakeSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for several seconds; skipped with -short")
	}
	t.Parallel()
	dir := t.TempDir()
	m, err := MakeSamples(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "samples.json"))
	if err != nil {
		t.Fatal(err)
	}
	var onDisk Manifest
	if err := json.Unmarshal(b, &onDisk); err != nil {
		t.Fatalf("samples.json: %v", err)
	}
	if !reflect.DeepEqual(&onDisk, m) {
		t.Fatal("samples.json differs from the returned manifest")
	}
	kinds := map[string]Sample{}
	for _, s := range m.Samples {
		kinds[s.Kind] = s
		if fi, err := os.Stat(filepath.Join(dir, s.File)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", s.File, err)
		}
		if s.Duration >= 60 {
			t.Errorf("%s lasts %.1fs, want under a minute", s.Name, s.Duration)
		}
		// Every key term is really in what is said or shown.
		said := s.Script + " " + s.Text
		for _, sl := range s.Slides {
			said += " " + sl.Text
		}
		for _, terms := range [][]string{s.KeyTerms.People, s.KeyTerms.Organisations, s.KeyTerms.Places} {
			if len(terms) == 0 {
				t.Errorf("%s: a key-term list is empty", s.Name)
			}
			for _, term := range terms {
				if !strings.Contains(said, term) {
					t.Errorf("%s: key term %q is never said or shown", s.Name, term)
				}
			}
		}
	}
	iv, lec, img := kinds["audio"], kinds["video"], kinds["image"]
	if len(iv.Speakers) != 2 || iv.Speakers[0].Voice == iv.Speakers[1].Voice || iv.Speakers[0].Gender == iv.Speakers[1].Gender {
		t.Errorf("interview speakers %+v, want a male and a female voice", iv.Speakers)
	}
	for i, turn := range iv.Turns {
		if turn.End <= turn.Start || (i > 0 && turn.Start < iv.Turns[i-1].End) || turn.End > iv.Duration+0.01 {
			t.Errorf("interview turn %d spans %v–%v", i, turn.Start, turn.End)
		}
	}
	pr := ffprobe(t, filepath.Join(dir, lec.File))
	var w, h, audio int
	for _, s := range pr.Streams {
		if s.CodecType == "video" {
			w, h = s.Width, s.Height
		}
		if s.CodecType == "audio" {
			audio++
		}
	}
	if w != 1280 || h != 720 || audio != 1 {
		t.Errorf("lecture is %d×%d with %d audio streams, want 1280×720 with speech", w, h, audio)
	}
	if len(lec.Cuts) != len(lec.Slides)-1 || len(lec.Turns) != len(lec.Slides) {
		t.Errorf("lecture: %d cuts, %d turns, %d slides", len(lec.Cuts), len(lec.Turns), len(lec.Slides))
	}
	for i, sl := range lec.Slides {
		turn := lec.Turns[i]
		if turn.Start < sl.Start || turn.End > sl.End {
			t.Errorf("slide %d [%v,%v] does not contain its narration [%v,%v]", i, sl.Start, sl.End, turn.Start, turn.End)
		}
	}
	if img.Text == "" || img.Width != 1280 {
		t.Errorf("image sample %+v", img)
	}
}
