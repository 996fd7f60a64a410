package ocr

import (
	"strings"
	"unicode"

	"github.com/landfall/landfall/analyser/local/internal/editdist"
)

// Normalise lower-cases s, drops punctuation and collapses white space, so
// that the same caption read slightly differently in two frames compares
// equal.
func Normalise(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(unicode.ToLower(r))
		default:
			space = true
		}
	}
	return b.String()
}

// Similarity is 1 − (edit distance / length of the longer string) over the
// runes of a and b: 1 for equal strings, 0 for nothing in common.
func Similarity(a, b string) float64 {
	ra, rb := []rune(a), []rune(b)
	if len(ra) == 0 && len(rb) == 0 {
		return 1
	}
	d := Levenshtein(ra, rb)
	return 1 - float64(d)/float64(max(len(ra), len(rb)))
}

// Levenshtein is the edit distance between a and b (insertions, deletions
// and substitutions of one rune each).
func Levenshtein(a, b []rune) int { return editdist.Distance(a, b) }
