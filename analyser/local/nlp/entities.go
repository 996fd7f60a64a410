package nlp

import (
	"sort"
	"strings"
	"unicode"

	"github.com/landfall/landfall/types"
)

// strongOrgSuffixes mark an organisation even in lower-case text from a
// speech recogniser ("northwind labs"); the weaker suffixes ("group",
// "media") need the capitalised form.
var strongOrgSuffixes = toSet(`inc incorporated corp corporation ltd limited llc plc gmbh labs laboratories institute
university foundation agency`)

type token struct {
	orig  string // as written, punctuation trimmed
	lower string
	caps  bool // starts with an upper-case letter
}

func tokensOf(s string) []token {
	var out []token
	for _, w := range words(s) {
		t := strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if t == "" {
			continue
		}
		t = strings.TrimSuffix(strings.TrimSuffix(t, "'s"), "’s")
		rs := []rune(t)
		out = append(out, token{orig: t, lower: strings.ToLower(t), caps: unicode.IsUpper(rs[0])})
	}
	return out
}

type entityCounter struct {
	count map[string]int
	first map[string]int
	form  map[string]string
	n     int
}

func newCounter() *entityCounter {
	return &entityCounter{count: map[string]int{}, first: map[string]int{}, form: map[string]string{}}
}

func (c *entityCounter) add(toks []token) {
	parts := make([]string, len(toks))
	lower := make([]string, len(toks))
	for i, t := range toks {
		lower[i] = t.lower
		if t.caps {
			parts[i] = t.orig
		} else if i > 0 && isStopword(t.lower) {
			parts[i] = t.lower
		} else {
			parts[i] = titleCase(t.lower)
			if strings.Contains(parts[i], "-") {
				parts[i] = titleHyphen(parts[i])
			}
		}
	}
	key := strings.Join(lower, " ")
	if _, ok := c.count[key]; !ok {
		c.first[key] = c.n
		c.n++
		c.form[key] = strings.Join(parts, " ")
	}
	c.count[key]++
}

func titleHyphen(s string) string {
	ps := strings.Split(s, "-")
	for i, p := range ps {
		if p != "" {
			rs := []rune(p)
			rs[0] = unicode.ToUpper(rs[0])
			ps[i] = string(rs)
		}
	}
	return strings.Join(ps, "-")
}

// list returns the entities by count, then first appearance, dropping a
// single word that is the last word of a longer entity ("Chen" when "Wei
// Chen" is there) and capping the list at max.
func (c *entityCounter) list(max int) []string {
	keys := make([]string, 0, len(c.count))
	for k := range c.count {
		keys = append(keys, k)
	}
	for _, k := range keys {
		if strings.Contains(k, " ") {
			continue
		}
		for _, other := range keys {
			if other != k && (strings.HasSuffix(other, " "+k) || strings.HasPrefix(other, k+" ")) {
				c.count[other] += c.count[k]
				delete(c.count, k)
				break
			}
		}
	}
	keys = keys[:0]
	for k := range c.count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if c.count[keys[i]] != c.count[keys[j]] {
			return c.count[keys[i]] > c.count[keys[j]]
		}
		return c.first[keys[i]] < c.first[keys[j]]
	})
	if len(keys) > max {
		keys = keys[:max]
	}
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = c.form[k]
	}
	return out
}

func matchPhrase(toks []token, i int, phrases []string) int {
	best := 0
	for _, p := range phrases {
		ws := strings.Fields(p)
		if i+len(ws) > len(toks) || len(ws) <= best {
			continue
		}
		ok := true
		for j, w := range ws {
			if toks[i+j].lower != w {
				ok = false
				break
			}
		}
		if ok {
			best = len(ws)
		}
	}
	return best
}

func surnameLike(t token) bool {
	if isStopword(t.lower) || places[t.lower] || organisations[t.lower] || orgSuffixes[t.lower] || titles[t.lower] {
		return false
	}
	for _, r := range t.lower {
		if !unicode.IsLetter(r) && r != '-' && r != '\'' {
			return false
		}
	}
	return len([]rune(t.lower)) >= 2
}

// ExtractEntities finds people, organisations and places in sentences.
func ExtractEntities(sents []Sentence) types.Entities {
	people, orgs, locs := newCounter(), newCounter(), newCounter()
	for _, s := range sents {
		toks := tokensOf(s.Text)
		for i := 0; i < len(toks); {
			t := toks[i]
			if n := matchPhrase(toks, i, multiWordOrganisations); n > 0 {
				orgs.add(toks[i : i+n])
				i += n
				continue
			}
			if n := matchPhrase(toks, i, multiWordPlaces); n > 0 {
				locs.add(toks[i : i+n])
				i += n
				continue
			}
			if n := matchPhrase(toks, i, orgPrefixes); n > 0 && i+n < len(toks) && !isStopword(toks[i+n].lower) {
				end := i + n + 1
				if m := matchPhrase(toks, i+n, multiWordPlaces); m > 0 {
					end = i + n + m
				}
				orgs.add(toks[i:end])
				i = end
				continue
			}
			// A word (or two) followed by an organisation suffix.
			if i+1 < len(toks) && !isStopword(t.lower) && !titles[t.lower] {
				nx := toks[i+1]
				if strongOrgSuffixes[nx.lower] || (orgSuffixes[nx.lower] && t.caps && nx.caps) {
					orgs.add(toks[i : i+2])
					i += 2
					continue
				}
				if i+2 < len(toks) && !isStopword(nx.lower) && (strongOrgSuffixes[toks[i+2].lower] || (orgSuffixes[toks[i+2].lower] && t.caps && nx.caps && toks[i+2].caps)) && (t.caps && nx.caps || !givenNames[t.lower]) {
					orgs.add(toks[i : i+3])
					i += 3
					continue
				}
			}
			if organisations[t.lower] && (t.caps || !isStopword(t.lower)) {
				orgs.add(toks[i : i+1])
				i++
				continue
			}
			if places[t.lower] {
				locs.add(toks[i : i+1])
				i++
				continue
			}
			// A title and a name: "doctor chen", "Professor Ada Okafor".
			if titles[t.lower] && i+1 < len(toks) && surnameLike(toks[i+1]) {
				end := i + 2
				if end < len(toks) && givenNames[toks[i+1].lower] && surnameLike(toks[end]) {
					end++
				}
				people.add(toks[i+1 : end])
				i = end
				continue
			}
			// A given name and a surname.
			if givenNames[t.lower] && i+1 < len(toks) && surnameLike(toks[i+1]) && (!toks[i+1].caps == !t.caps || t.caps) {
				people.add(toks[i : i+2])
				i += 2
				continue
			}
			// A capitalised given name alone, mid-sentence in cased text.
			if givenNames[t.lower] && t.caps && i > 0 {
				people.add(toks[i : i+1])
			}
			i++
		}
	}
	return types.Entities{People: people.list(20), Organisations: orgs.list(20), Places: locs.list(20)}
}
