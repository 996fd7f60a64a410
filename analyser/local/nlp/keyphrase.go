package nlp

import (
	"math"
	"sort"
	"strings"
)

// Phrase is a scored key phrase.
type Phrase struct {
	Text  string
	Score float64
	Count int
}

// KeyPhrases returns up to max key phrases of sentences, best first.
// Candidates are runs of one to three content words (no stopwords, numbers
// or one-letter words inside); a phrase scores its frequency weighted by
// its length, and a shorter phrase that only ever occurs inside a longer
// one is folded into it (a C-value style nesting rule). In a long text a
// phrase must recur to count. Speech recognisers give no punctuation, so
// relying on recurrence rather than phrase length keeps run-on fragments
// out.
func KeyPhrases(sents []Sentence, max int) []Phrase {
	return keyPhrases(sents, max, nil)
}

// keyPhrases ranks recurring phrases first; when fewer than three recur
// (short media), single-occurrence multi-word phrases fill the list.
func keyPhrases(sents []Sentence, max int, exclude map[string]bool) []Phrase {
	out := rankPhrases(sents, max, exclude, false)
	if len(out) < 3 && len(out) < max {
		for _, p := range rankPhrases(sents, max, exclude, true) {
			dup := false
			for _, k := range out {
				if overlaps(k.Text, p.Text) {
					dup = true
					break
				}
			}
			if !dup && len(strings.Fields(p.Text)) > 1 {
				out = append(out, p)
			}
			if len(out) == max || len(out) >= 5 {
				break
			}
		}
	}
	return out
}

func overlaps(a, b string) bool {
	return strings.Contains(" "+a+" ", " "+b+" ") || strings.Contains(" "+b+" ", " "+a+" ") || sameStems(a, b)
}

func rankPhrases(sents []Sentence, max int, exclude map[string]bool, allowSingles bool) []Phrase {
	count := map[string]int{}
	first := map[string]int{}
	order, total := 0, 0
	for _, s := range sents {
		var run []string
		flush := func() {
			for i := range run {
				for n := 1; n <= 3 && i+n <= len(run); n++ {
					key := strings.Join(run[i:i+n], " ")
					if _, ok := first[key]; !ok {
						first[key] = order
						order++
					}
					count[key]++
				}
			}
			run = run[:0]
		}
		for _, w := range s.Tokens {
			total++
			if isStopword(w) || len([]rune(w)) < 3 || isNumber(w) {
				flush()
				continue
			}
			run = append(run, w)
		}
		flush()
	}
	minCount := 1
	if total > 40 && !allowSingles {
		for _, c := range count {
			if c >= 2 {
				minCount = 2
				break
			}
		}
	}
	var cands []Phrase
	for key, c := range count {
		if c < minCount || exclude[key] {
			continue
		}
		n := len(strings.Fields(key))
		// Nesting: subtract occurrences inside longer candidates.
		inside := 0
		for other, oc := range count {
			if other != key && len(other) > len(key) && oc >= minCount && strings.Contains(" "+other+" ", " "+key+" ") {
				inside = max1(inside, oc)
			}
		}
		own := c - inside
		if own <= 0 && n < 3 {
			continue
		}
		score := float64(c) * (1 + math.Log(float64(n))) * (1 + 0.5*float64(n-1))
		if own < c {
			score *= float64(own) / float64(c)
		}
		cands = append(cands, Phrase{Text: key, Score: score, Count: c})
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].Score != cands[j].Score {
			return cands[i].Score > cands[j].Score
		}
		return first[cands[i].Text] < first[cands[j].Text]
	})
	var kept []Phrase
	for _, p := range cands {
		overlap := false
		for _, k := range kept {
			if overlaps(k.Text, p.Text) {
				overlap = true
				break
			}
		}
		if overlap {
			continue
		}
		kept = append(kept, p)
		if len(kept) == max {
			break
		}
	}
	return kept
}

func sameStems(a, b string) bool {
	fa, fb := strings.Fields(a), strings.Fields(b)
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if stem(fa[i]) != stem(fb[i]) {
			return false
		}
	}
	return true
}

func max1(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func isNumber(w string) bool {
	for _, r := range w {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
