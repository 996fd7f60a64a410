package stream

import (
	"github.com/landfall/landfall/analyser/local/internal/editdist"
	"github.com/landfall/landfall/analyser/local/speech"
)

// WordErrorRate is the word-level edit distance between a reference and a
// hypothesis text (both normalised as recogniser words) over the
// reference's length, with the edits and the reference's word count.
func WordErrorRate(ref, hyp string) (float64, int, int) {
	words := func(s string) []string {
		var out []string
		for _, sent := range speech.Sentences(s) {
			out = append(out, sent...)
		}
		return out
	}
	r, h := words(ref), words(hyp)
	d := editdist.Distance(r, h)
	if len(r) == 0 {
		return 0, d, 0
	}
	return float64(d) / float64(len(r)), d, len(r)
}
