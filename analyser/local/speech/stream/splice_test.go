package stream

import (
	"testing"

	"github.com/landfall/landfall/analyser/local/speech"
)

// The rescored words of a final follow the stable words where they best
// align with them: a stable word the rescoring also found is not repeated
// (even when the rescoring places it later), a stable word it heard
// differently is replaced by neither, and nothing after the stable words
// is lost.
func TestSpliceAt(t *testing.T) {
	t.Parallel()
	seg := func(w string, sf, ef int) segment { return segment{word: w, sf: sf, ef: ef} }
	stable := func(ws ...string) []Word {
		out := make([]Word, len(ws))
		for i, w := range ws {
			out[i] = Word{Text: w, Stable: true}
		}
		return out
	}
	for _, c := range []struct {
		name      string
		stable    []Word
		stableEnd int
		resc      []segment
		want      int
	}{
		{"same words", stable("we", "want"), 60, []segment{seg("we", 0, 20), seg("want", 21, 59), seg("to", 60, 70), seg("talk", 71, 90)}, 2},
		{"last stable word placed later", stable("two"), 50, []segment{seg("two", 45, 70), seg("cars", 71, 99)}, 1},
		{"stable word heard differently", stable("we", "won"), 60, []segment{seg("we", 0, 20), seg("want", 21, 59), seg("to", 60, 70)}, 2},
		{"stable word split in two", stable("speaker", "and", "bike"), 90, []segment{seg("speaker", 0, 40), seg("and", 41, 55), seg("by", 56, 89), seg("topic", 90, 130)}, 3},
		{"rescoring found nothing before", stable("hello"), 30, []segment{seg("world", 40, 80)}, 0},
	} {
		r := &Recogniser{cfg: Config{Files: &speech.Prepared{}}, stable: c.stable, stableEnd: c.stableEnd}
		if got := r.spliceAt(c.resc); got != c.want {
			t.Errorf("%s: spliceAt = %d, want %d", c.name, got, c.want)
		}
	}
}
