package nlp

import (
	"math"
	"sort"
	"strings"
)

// vectors returns TF-IDF vectors (over stems of content words) for
// sentences.
func vectors(sents []Sentence) []map[string]float64 {
	df := map[string]int{}
	tfs := make([]map[string]float64, len(sents))
	for i, s := range sents {
		tf := map[string]float64{}
		for _, w := range s.Tokens {
			if isStopword(w) || len(w) < 2 {
				continue
			}
			tf[stem(w)]++
		}
		for w := range tf {
			df[w]++
		}
		tfs[i] = tf
	}
	n := float64(len(sents))
	for _, tf := range tfs {
		for w, c := range tf {
			tf[w] = (1 + math.Log(c)) * math.Log(1+n/float64(df[w]))
		}
	}
	return tfs
}

func cosine(a, b map[string]float64) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	var dot, na, nb float64
	for w, x := range a {
		dot += x * b[w]
		na += x * x
	}
	for _, y := range b {
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}

// rankSentences scores sentences by TextRank (Mihalcea & Tarau, 2004) over
// TF-IDF cosine similarity, with a small bonus for sentences that hold key
// phrases.
func rankSentences(sents []Sentence, keys []Phrase) []float64 {
	n := len(sents)
	vec := vectors(sents)
	sim := make([][]float64, n)
	rowSum := make([]float64, n)
	for i := range sim {
		sim[i] = make([]float64, n)
	}
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			s := cosine(vec[i], vec[j])
			sim[i][j], sim[j][i] = s, s
			rowSum[i] += s
			rowSum[j] += s
		}
	}
	score := make([]float64, n)
	for i := range score {
		score[i] = 1
	}
	const d = 0.85
	for iter := 0; iter < 30; iter++ {
		next := make([]float64, n)
		for i := 0; i < n; i++ {
			acc := 0.0
			for j := 0; j < n; j++ {
				if sim[j][i] > 0 && rowSum[j] > 0 {
					acc += sim[j][i] / rowSum[j] * score[j]
				}
			}
			next[i] = 1 - d + d*acc
		}
		score = next
	}
	for i, s := range sents {
		text := " " + strings.Join(s.Tokens, " ") + " "
		for k, p := range keys {
			if strings.Contains(text, " "+p.Text+" ") {
				score[i] += 0.15 / float64(k+1)
			}
		}
		// Very short fragments say little on their own.
		if len(s.Tokens) < 5 {
			score[i] *= 0.5
		}
	}
	return score
}

// Summarise picks the best sentences, in their original order, within
// maxWords words. A lone sentence longer than the budget is cut at a word
// boundary.
func Summarise(sents []Sentence, keys []Phrase, maxWords int) string {
	if len(sents) == 0 {
		return ""
	}
	score := rankSentences(sents, keys)
	idx := make([]int, len(sents))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	var chosen []int
	used := 0
	for _, i := range idx {
		w := countWords(sents[i].Text)
		if used+w > maxWords {
			continue
		}
		chosen = append(chosen, i)
		used += w
		if used >= maxWords*3/4 {
			break
		}
	}
	if len(chosen) == 0 {
		return sentenceCase(truncateWords(sents[idx[0]].Text, maxWords-1))
	}
	sort.Ints(chosen)
	parts := make([]string, len(chosen))
	for k, i := range chosen {
		parts[k] = sentenceCase(sents[i].Text)
	}
	return strings.Join(parts, " ")
}
