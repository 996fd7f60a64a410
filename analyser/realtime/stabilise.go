package realtime

// Stabiliser holds an engine's results to the stable-prefix rule: once a
// word of an utterance has been sent Stable, every later result of that
// utterance starts with the same stable words (text, times, confidence and
// speaker as first sent), whatever the service sends later. A service's
// own Stable marks extend the prefix only where they follow it without a
// gap. It is not safe for concurrent use.
type Stabiliser struct {
	stable map[string][]Word
}

// Apply returns r with the stable prefix of its utterance kept, and
// records the prefix it ends with. A final result ends its utterance:
// all of its words are stable.
func (s *Stabiliser) Apply(r Result) Result {
	if s.stable == nil {
		s.stable = map[string][]Word{}
	}
	prev := s.stable[r.ID]
	words := make([]Word, 0, max(len(prev), len(r.Words)))
	words = append(words, prev...)
	if len(r.Words) > len(prev) {
		words = append(words, r.Words[len(prev):]...)
	}
	k := len(prev)
	for i := k; i < len(words); i++ {
		if !r.Partial {
			words[i].Stable = true
			continue
		}
		if !words[i].Stable || i != k {
			words[i].Stable = false
			continue
		}
		k++
	}
	r.Words = words
	if len(words) > 0 {
		r.Start, r.End = words[0].Start, max(r.End, words[len(words)-1].End)
	}
	if r.Partial {
		s.stable[r.ID] = append([]Word(nil), words[:k]...)
	} else {
		delete(s.stable, r.ID)
	}
	return r
}

// Prefix is the stable words sent so far for the utterance id.
func (s *Stabiliser) Prefix(id string) []Word { return s.stable[id] }
