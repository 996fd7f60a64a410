package realtime

import "testing"

func w(text string, start float64, stable bool) Word {
	return Word{Text: text, Start: start, End: start + 0.3, Confidence: 0.9, Stable: stable}
}

// A service that revises a word it had marked stable, or marks a word
// stable after an unstable one, is held to the stable-prefix rule; a
// final result makes every word stable and ends the utterance.
func TestStabiliser(t *testing.T) {
	t.Parallel()
	var s Stabiliser
	r := s.Apply(Result{ID: "a", Partial: true, Words: []Word{w("the", 0, true), w("tied", 0.4, false), w("is", 0.8, true)}})
	if !r.Words[0].Stable || r.Words[1].Stable || r.Words[2].Stable {
		t.Fatalf("a stable word after an unstable one: %+v", r.Words)
	}
	// The service now says "a" where it had sent "the" stable.
	r = s.Apply(Result{ID: "a", Partial: true, Words: []Word{w("a", 0.1, true), w("tide", 0.4, true), w("is", 0.8, false)}})
	if r.Words[0] != w("the", 0, true) || r.Words[1] != w("tide", 0.4, true) || r.Words[2].Stable {
		t.Fatalf("second partial: %+v", r.Words)
	}
	if got := s.Prefix("a"); len(got) != 2 {
		t.Fatalf("prefix %+v", got)
	}
	// A shorter result keeps the stable words.
	r = s.Apply(Result{ID: "a", Partial: true, Words: []Word{w("the", 0, true)}})
	if len(r.Words) != 2 {
		t.Fatalf("shorter partial: %+v", r.Words)
	}
	r = s.Apply(Result{ID: "a", Words: []Word{w("the", 0, false), w("tide", 0.4, false), w("is", 0.8, false), w("high", 1.2, false)}})
	for _, x := range r.Words {
		if !x.Stable {
			t.Fatalf("final with an unstable word: %+v", r.Words)
		}
	}
	if r.Start != 0 || r.End != 1.5 || len(s.Prefix("a")) != 0 {
		t.Fatalf("final %+v, prefix %+v", r, s.Prefix("a"))
	}
}
