package search

import (
	"sync"

	"github.com/landfall/landfall/catalog/search/wordnet"
)

// WordNet expands query words through a WordNet database: the other words
// of a word's two commonest noun senses and commonest verb, adjective and
// adverb sense (synonyms), and the words of the commonest noun and verb
// sense's hypernyms. It keeps at most MaxSynonyms and MaxHypernyms per
// word, and caches answers.
type WordNet struct {
	DB *wordnet.DB
	// OnError is told about a failed lookup (a damaged database); the word
	// is then searched as typed.
	OnError func(word string, err error)

	mu    sync.Mutex
	cache map[string][]Expansion
}

// Bounds of one word's expansion.
const (
	MaxSynonyms  = 8
	MaxHypernyms = 4
)

var _ Expander = (*WordNet)(nil)

func (w *WordNet) Expand(word string) []Expansion {
	w.mu.Lock()
	if x, ok := w.cache[word]; ok {
		w.mu.Unlock()
		return x
	}
	w.mu.Unlock()
	syn, hyp, err := w.DB.Related(word, 2)
	if err != nil {
		if w.OnError != nil {
			w.OnError(word, err)
		}
		return nil
	}
	var out []Expansion
	for i, s := range syn {
		if i == MaxSynonyms {
			break
		}
		if len(s) >= 3 {
			out = append(out, Expansion{Words: []string{s}, Kind: MatchSynonym})
		}
	}
	for i, h := range hyp {
		if i == MaxHypernyms {
			break
		}
		out = append(out, Expansion{Words: []string{h}, Kind: MatchHypernym})
	}
	w.mu.Lock()
	if w.cache == nil || len(w.cache) > 10000 {
		w.cache = map[string][]Expansion{}
	}
	w.cache[word] = out
	w.mu.Unlock()
	return out
}
