package speech

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Sentence markers of the language model.
const (
	SentStart = "<s>"
	SentEnd   = "</s>"
)

// Sentences splits text into sentences of recogniser words: lower case
// a–z, digits spelled out, apostrophes kept inside words, accents folded;
// sentences end at . ! ? ; : and line breaks.
func Sentences(text string) [][]string {
	var out [][]string
	var cur []string
	var word strings.Builder
	flushWord := func() {
		if word.Len() == 0 {
			return
		}
		w := strings.Trim(word.String(), "'")
		word.Reset()
		if w == "" {
			return
		}
		if w[0] >= '0' && w[0] <= '9' {
			cur = append(cur, numberWords(w)...)
			return
		}
		cur = append(cur, w)
	}
	flushSentence := func() {
		flushWord()
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	prevDigit := false
	for _, r := range norm.NFD.String(text) {
		switch {
		case unicode.Is(unicode.Mn, r): // combining accents: folded away
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			if prevDigit {
				flushWord()
			}
			word.WriteRune(unicode.ToLower(r))
			prevDigit = false
		case r >= '0' && r <= '9':
			if !prevDigit {
				flushWord()
			}
			word.WriteRune(r)
			prevDigit = true
		case r == '\'' || r == '’':
			if word.Len() > 0 && !prevDigit {
				word.WriteByte('\'')
			}
		case r == '.' || r == '!' || r == '?' || r == ';' || r == ':' || r == '\n' || r == '\r':
			if r == '.' && prevDigit {
				// "3.5": keep the digits apart, say "point".
				flushWord()
				cur = append(cur, "point")
				prevDigit = false
				continue
			}
			flushSentence()
			prevDigit = false
		default:
			flushWord()
			prevDigit = false
		}
	}
	flushSentence()
	// A trailing "point" from "3." at a sentence end is dropped.
	for i, s := range out {
		if n := len(s); n > 0 && s[n-1] == "point" {
			out[i] = s[:n-1]
		}
	}
	kept := out[:0]
	for _, s := range out {
		if len(s) > 0 {
			kept = append(kept, s)
		}
	}
	return kept
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
)

// numberWords spells a digit string: whole numbers below a million as
// numbers, longer strings digit by digit.
func numberWords(d string) []string {
	if len(d) > 6 || (len(d) > 1 && d[0] == '0') {
		out := make([]string, 0, len(d))
		for _, c := range d {
			out = append(out, ones[c-'0'])
		}
		return out
	}
	n := 0
	for _, c := range d {
		n = n*10 + int(c-'0')
	}
	return spell(n)
}

func spell(n int) []string {
	switch {
	case n < 20:
		return []string{ones[n]}
	case n < 100:
		if n%10 == 0 {
			return []string{tens[n/10]}
		}
		return []string{tens[n/10], ones[n%10]}
	case n < 1000:
		out := []string{ones[n/100], "hundred"}
		if n%100 != 0 {
			out = append(out, spell(n%100)...)
		}
		return out
	default:
		out := append(spell(n/1000), "thousand")
		if n%1000 != 0 {
			out = append(out, spell(n%1000)...)
		}
		return out
	}
}

// LM is a back-off n-gram language model estimated with interpolated
// Kneser-Ney smoothing, written in the ARPA format pocketsphinx reads.
type LM struct {
	Order int
	vocab []string             // sorted, includes <s> and </s>
	probs []map[string]float64 // per order (index n-1): n-gram key → log10 p
	bows  []map[string]float64 // per order: history key → log10 back-off weight
}

const sep = "\x00"

// BuildLM estimates an order-n model (1..3) from sentences of words.
// extra words join the vocabulary even if the sentences never use them.
func BuildLM(sentences [][]string, order int, extra []string) (*LM, error) {
	if order < 1 || order > 3 {
		return nil, fmt.Errorf("language model order %d: want 1, 2 or 3", order)
	}
	raw := make([]map[string]float64, order+1) // raw[n]: n-gram counts
	for n := 1; n <= order; n++ {
		raw[n] = map[string]float64{}
	}
	vocabSet := map[string]bool{SentStart: true, SentEnd: true}
	for _, s := range sentences {
		toks := make([]string, 0, len(s)+2)
		toks = append(toks, SentStart)
		for _, w := range s {
			if w == "" || w == SentStart || w == SentEnd {
				continue
			}
			toks = append(toks, w)
			vocabSet[w] = true
		}
		toks = append(toks, SentEnd)
		if len(toks) == 2 {
			continue
		}
		for n := 1; n <= order; n++ {
			for i := 0; i+n <= len(toks); i++ {
				raw[n][strings.Join(toks[i:i+n], sep)]++
			}
		}
	}
	for _, w := range extra {
		if w != "" && w != SentStart && w != SentEnd {
			vocabSet[w] = true
		}
	}
	lm := &LM{Order: order, probs: make([]map[string]float64, order), bows: make([]map[string]float64, order)}
	for w := range vocabSet {
		lm.vocab = append(lm.vocab, w)
	}
	sort.Strings(lm.vocab)

	// Kneser-Ney counts: raw at the top order and for n-grams that begin
	// a sentence; continuation counts (distinct left neighbours) below.
	adj := make([]map[string]float64, order+1)
	adj[order] = raw[order]
	for n := order - 1; n >= 1; n-- {
		adj[n] = map[string]float64{}
		for g, c := range raw[n] {
			if strings.HasPrefix(g, SentStart) {
				adj[n][g] = c
			}
		}
		for g := range raw[n+1] {
			_, rest, _ := strings.Cut(g, sep)
			if !strings.HasPrefix(rest, SentStart) {
				adj[n][rest]++
			}
		}
	}

	nv := len(lm.vocab) - 1                     // <s> is never predicted
	prob := make([]map[string]float64, order+1) // linear probabilities of listed n-grams
	for n := 1; n <= order; n++ {
		d := discount(adj[n])
		total := map[string]float64{}
		types := map[string]float64{}
		for g, c := range adj[n] {
			h := history(g)
			if n == 1 && g == SentStart {
				continue
			}
			total[h] += c
			types[h]++
		}
		prob[n] = map[string]float64{}
		lm.bows[n-1] = map[string]float64{}
		gamma := func(h string) float64 {
			if total[h] == 0 {
				return 1
			}
			return d * types[h] / total[h]
		}
		lower := func(g string) float64 {
			if n == 1 {
				return 1 / float64(nv)
			}
			_, rest, _ := strings.Cut(g, sep)
			if p, ok := prob[n-1][rest]; ok {
				return p
			}
			return lm.backoff(prob, rest, n-1, nv)
		}
		if n == 1 {
			// Every vocabulary word gets a unigram, seen or not.
			for _, w := range lm.vocab {
				if w == SentStart {
					continue
				}
				prob[1][w] = discounted(adj[1][w], d, total[""]) + gamma("")*lower(w)
			}
		} else {
			for g, c := range adj[n] {
				prob[n][g] = discounted(c, d, total[history(g)]) + gamma(history(g))*lower(g)
			}
		}
		if n > 1 {
			for h := range total {
				lm.bows[n-2][h] = math.Log10(gamma(h))
			}
		}
	}
	for n := 1; n <= order; n++ {
		lm.probs[n-1] = map[string]float64{}
		for g, p := range prob[n] {
			lm.probs[n-1][g] = math.Log10(p)
		}
	}
	return lm, nil
}

// backoff computes p(w | h) for an n-gram g that is not listed, from the
// already estimated lower orders, as the ARPA reader will.
func (lm *LM) backoff(prob []map[string]float64, g string, n, nv int) float64 {
	if p, ok := prob[n][g]; ok {
		return p
	}
	if n == 1 {
		return 1 / float64(nv)
	}
	h := history(g)
	bow := 1.0
	if b, ok := lm.bows[n-2][h]; ok {
		bow = math.Pow(10, b)
	}
	_, rest, _ := strings.Cut(g, sep)
	return bow * lm.backoff(prob, rest, n-1, nv)
}

// discounted is the discounted relative frequency max(c-d, 0)/total,
// zero when nothing was counted.
func discounted(c, d, total float64) float64 {
	if total == 0 {
		return 0
	}
	return math.Max(c-d, 0) / total
}

// history is the n-gram without its last word ("" for a unigram).
func history(g string) string {
	i := strings.LastIndex(g, sep)
	if i < 0 {
		return ""
	}
	return g[:i]
}

// discount is the Kneser-Ney discount n1/(n1+2·n2) from the counts of
// counts, kept within [0.1, 0.9].
func discount(counts map[string]float64) float64 {
	var n1, n2 float64
	for _, c := range counts {
		switch c {
		case 1:
			n1++
		case 2:
			n2++
		}
	}
	if n1 == 0 || n2 == 0 {
		return 0.5
	}
	return math.Min(0.9, math.Max(0.1, n1/(n1+2*n2)))
}

// Vocabulary returns the model's words, including <s> and </s>, sorted.
func (lm *LM) Vocabulary() []string { return lm.vocab }

// LogProb returns log10 p(w | history) by ARPA back-off; history may be
// longer than the model's order (the tail is used).
func (lm *LM) LogProb(history []string, w string) float64 {
	if len(history) > lm.Order-1 {
		history = history[len(history)-(lm.Order-1):]
	}
	var bow float64
	for {
		g := strings.Join(append(append([]string(nil), history...), w), sep)
		if p, ok := lm.probs[len(history)][g]; ok {
			return p + bow
		}
		if len(history) == 0 {
			return math.Inf(-1)
		}
		if b, ok := lm.bows[len(history)-1][strings.Join(history, sep)]; ok {
			bow += b
		}
		history = history[1:]
	}
}

// WriteARPA writes the model in the ARPA text format, n-grams sorted.
func (lm *LM) WriteARPA(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "\\data\\")
	keys := make([][]string, lm.Order)
	for n := 1; n <= lm.Order; n++ {
		ks := make([]string, 0, len(lm.probs[n-1])+1)
		for g := range lm.probs[n-1] {
			ks = append(ks, g)
		}
		if n == 1 {
			ks = append(ks, SentStart)
		}
		sort.Strings(ks)
		keys[n-1] = ks
		fmt.Fprintf(bw, "ngram %d=%d\n", n, len(ks))
	}
	for n := 1; n <= lm.Order; n++ {
		fmt.Fprintf(bw, "\n\\%d-grams:\n", n)
		for _, g := range keys[n-1] {
			p, ok := lm.probs[n-1][g]
			if !ok {
				p = -99 // <s> is never predicted
			}
			fmt.Fprintf(bw, "%.6f\t%s", p, strings.ReplaceAll(g, sep, " "))
			if n < lm.Order {
				if b, ok := lm.bows[n-1][g]; ok {
					fmt.Fprintf(bw, "\t%.6f", b)
				}
			}
			bw.WriteByte('\n')
		}
	}
	fmt.Fprintln(bw, "\n\\end\\")
	return bw.Flush()
}
