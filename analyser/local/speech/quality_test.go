package speech

import (
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/local/internal/editdist"
	"github.com/landfall/landfall/types"
)

// wordErrorRate is the word-level edit distance between reference and
// hypothesis (both normalised as recogniser words) over the reference's
// length.
func wordErrorRate(ref string, hyp []types.Word) (float64, int, int) {
	var r []string
	for _, s := range Sentences(ref) {
		r = append(r, s...)
	}
	var h []string
	for _, w := range hyp {
		for _, s := range Sentences(w.Text) {
			h = append(h, s...)
		}
	}
	d := editdist.Distance(r, h)
	if len(r) == 0 {
		return 0, d, 0
	}
	return float64(d) / float64(len(r)), d, len(r)
}

func TestWordErrorRate(t *testing.T) {
	cases := []struct {
		ref, hyp string
		want     int
	}{
		{"the cat sat", "the cat sat", 0},
		{"the cat sat", "the bat sat", 1},
		{"the cat sat", "the cat", 1},
		{"the cat", "the cat sat down", 2},
		{"Ten cats.", "ten cats", 0},
		{"10 cats", "ten cats", 0},
	}
	for _, c := range cases {
		var ws []types.Word
		for _, f := range strings.Fields(c.hyp) {
			ws = append(ws, types.Word{Text: f})
		}
		if _, d, _ := wordErrorRate(c.ref, ws); d != c.want {
			t.Errorf("%q vs %q: distance %d, want %d", c.ref, c.hyp, d, c.want)
		}
	}
}

// TestQualityTranscription measures word error rate on a two-voice flite
// dialogue with the generic model and with its custom vocabulary (domain
// text = the script), and checks keyword hits.
func TestQualityTranscription(t *testing.T) {
	if testing.Short() {
		t.Skip("quality measurement: not in -short")
	}
	t.Parallel()
	path, d, _ := testDialogue(t)
	script := d.Script()

	generic := genericDialogue(t)
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), generic)
	gw, gd, n := wordErrorRate(script, generic.Words)

	custom, err := run(t, path, map[string]any{"vocabulary": d.Vocabulary, "domain_text": script, "keywords": d.Keywords})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), custom)
	cw, cd, _ := wordErrorRate(script, custom.Words)

	t.Logf("| metric | value | target |")
	t.Logf("|---|---|---|")
	t.Logf("| WER generic model (%d/%d words) | %.1f%% | ≤ 20%% |", gd, n, 100*gw)
	t.Logf("| WER custom vocabulary + domain LM (%d/%d words) | %.1f%% | ≤ 10%% |", cd, n, 100*cw)
	t.Logf("generic: %s", generic.Text)
	t.Logf("custom:  %s", custom.Text)
	if gw > 0.20 {
		t.Errorf("generic WER %.1f%% > 20%%", 100*gw)
	}
	if cw > 0.10 {
		t.Errorf("custom WER %.1f%% > 10%%", 100*cw)
	}
	if custom.LanguageModel != "domain" {
		t.Errorf("language model %q, want domain", custom.LanguageModel)
	}
	found := map[string]bool{}
	for _, k := range custom.Keywords {
		found[k.Keyword] = true
	}
	for _, k := range d.Keywords {
		if !found[k] {
			t.Errorf("keyword %q not reported (hits %+v)", k, custom.Keywords)
		}
	}
	if !strings.Contains(custom.Text, "Rekognition") || !strings.Contains(custom.Text, "Landfall") {
		t.Errorf("vocabulary words not in the custom transcript (with their casing): %s", custom.Text)
	}
}
