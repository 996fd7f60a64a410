package ocr

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/analyser/local/probe"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// TestBundledSamples runs classify, media and ocr on the samples that
// scripts/make-samples bundles and compares them with samples.json.
func TestBundledSamples(t *testing.T) {
	if testing.Short() {
		t.Skip("generates the bundled samples (about 30 s)")
	}
	ctx := context.Background()
	dir := t.TempDir()
	m, err := mediagen.MakeSamples(ctx, filepath.Join(dir, "samples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range m.Samples {
		t.Run(s.Name, func(t *testing.T) {
			path := filepath.Join(dir, "samples", s.File)
			cls, err := probe.Classify(ctx, path, probe.Options{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if string(cls.Kind) != s.Kind {
				t.Fatalf("classified as %s, manifest says %s", cls.Kind, s.Kind)
			}
			clsJSON, _ := json.Marshal(cls)
			env := &analyser.Env{Workdir: filepath.Join(dir, "work-"+s.Name)}
			in := &analyser.Input{Path: path, Kind: cls.Kind, Results: map[string]json.RawMessage{"classify": clsJSON}}
			out, err := mediatools.Media{}.Run(ctx, env, in)
			if err != nil {
				t.Fatal(err)
			}
			media := out.(*mediatools.Result)
			if s.Kind != "image" && media.AudioPath == "" {
				t.Fatalf("no audio track: %s", media.AudioNote)
			}
			if s.Kind == "audio" {
				return
			}
			if s.Kind == "video" && !equalFloats(media.Cuts, s.Cuts) {
				t.Errorf("cuts %v, manifest %v", media.Cuts, s.Cuts)
			}
			mediaJSON, _ := json.Marshal(media)
			in.Results["media"] = mediaJSON
			o, err := OCR{}.Run(ctx, env, in)
			if err != nil {
				t.Fatal(err)
			}
			r := o.(*Result)
			var shown []string
			if s.Kind == "image" {
				shown = []string{s.Text}
			}
			for _, sl := range s.Slides {
				shown = append(shown, sl.Text)
			}
			want := Normalise(strings.Join(shown, " "))
			got := Normalise(r.Text)
			if sim := Similarity(got, want); sim < 0.98 {
				t.Errorf("read %q, shown %q (similarity %.3f)", got, want, sim)
			}
			for _, term := range append(append([]string{}, s.KeyTerms.People...), s.KeyTerms.Places...) {
				if strings.Contains(want, Normalise(term)) && !strings.Contains(got, Normalise(term)) {
					t.Errorf("key term %q is on screen but was not read", term)
				}
			}
			for _, tx := range r.Texts {
				if s.Kind == string(types.KindVideo) && (tx.First < 0 || tx.Last > s.Duration+0.01 || tx.Last <= tx.First) {
					t.Errorf("%q seen %v–%v", tx.Text, tx.First, tx.Last)
				}
			}
		})
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > 0.0005 || d < -0.0005 {
			return false
		}
	}
	return true
}
