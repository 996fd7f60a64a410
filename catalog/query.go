package catalog

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Query is a user's search query after sanitising: an AND of groups, each
// an OR of terms, minus the excluded terms. Words hold only letters, digits
// and combining marks, lower-cased, so a Query renders to a full-text
// query of either database that cannot be a syntax error.
type Query struct {
	Groups  [][]Term
	Exclude []Term
}

// Term is a word or a phrase of words (a quoted phrase, or a token such as
// "e-mail" that the database splits into several words). Prefix matches
// words beginning with the last word.
type Term struct {
	Words  []string
	Prefix bool
}

// Limits on user queries.
const (
	MaxQueryLen   = 1000 // bytes
	MaxQueryTerms = 32
	MaxWordLen    = 64 // runes
)

// ParseQuery sanitises a user's search query. The syntax is forgiving:
//
//	words            all must match (AND)
//	"a phrase"       words in this order
//	a OR b           either
//	-word, NOT word  must not match
//	pre*             prefix (2 or more letters)
//
// Any other punctuation separates words. An empty query, a query with no
// words, or one whose every word is excluded is an errcode.Invalid error.
func ParseQuery(s string) (Query, error) {
	var q Query
	if err := ValidateText("search query", s, 0); err != nil {
		return q, err
	}
	if len(s) > MaxQueryLen {
		return q, invalid("catalog: search query: longer than %d bytes", MaxQueryLen)
	}
	if strings.TrimSpace(s) == "" {
		return q, invalid("catalog: search query: empty")
	}
	type item struct {
		term   Term
		negate bool
		or     bool // joined to the previous positive term by OR
	}
	var items []item
	pendingOr, pendingNot := false, false
	nterms := 0
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += size
			continue
		}
		negate := pendingNot
		if r == '-' && i+1 < len(s) {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if next == '"' || isWordRune(next) {
				negate = true
				i++
				r, _ = utf8.DecodeRuneInString(s[i:])
			}
		}
		var raw string
		quoted := r == '"'
		if quoted {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				raw = s[i+1:]
				i = len(s)
			} else {
				raw = s[i+1 : i+1+end]
				i = i + 1 + end + 1
			}
		} else {
			j := i
			for j < len(s) {
				r2, sz := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(r2) || r2 == '"' {
					break
				}
				j += sz
			}
			raw = s[i:j]
			i = j
		}
		if !quoted {
			switch raw {
			case "OR", "|":
				pendingOr = true
				continue
			case "AND", "&":
				continue
			case "NOT":
				pendingNot = true
				continue
			}
		}
		prefix := false
		if i < len(s) && s[i] == '*' && quoted {
			prefix = true
			i++
		}
		if !quoted && strings.HasSuffix(raw, "*") {
			prefix = true
		}
		words, err := splitWords(raw)
		if err != nil {
			return q, err
		}
		if len(words) == 0 {
			continue // punctuation only: nothing to search for
		}
		if prefix && utf8.RuneCountInString(words[len(words)-1]) < 2 {
			prefix = false
		}
		nterms++
		if nterms > MaxQueryTerms {
			return q, invalid("catalog: search query: more than %d terms", MaxQueryTerms)
		}
		items = append(items, item{term: Term{Words: words, Prefix: prefix}, negate: negate, or: pendingOr && !negate})
		pendingOr, pendingNot = false, false
	}
	lastPositive := false
	for _, it := range items {
		if it.negate {
			q.Exclude = append(q.Exclude, it.term)
			continue
		}
		if it.or && lastPositive {
			g := &q.Groups[len(q.Groups)-1]
			*g = append(*g, it.term)
		} else {
			q.Groups = append(q.Groups, []Term{it.term})
		}
		lastPositive = true
	}
	if len(q.Groups) == 0 {
		if len(q.Exclude) > 0 {
			return q, invalid("catalog: search query %q: needs at least one word that is not excluded", s)
		}
		return q, invalid("catalog: search query %q: has no words to search for", s)
	}
	return q, nil
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r)
}

// splitWords returns the runs of word runes in raw, lower-cased.
func splitWords(raw string) ([]string, error) {
	var words []string
	start := -1
	flush := func(end int) error {
		if start < 0 {
			return nil
		}
		w := strings.ToLower(raw[start:end])
		start = -1
		if utf8.RuneCountInString(w) > MaxWordLen {
			return invalid("catalog: search query: word %q… is longer than %d characters", firstRunes(w, 16), MaxWordLen)
		}
		// A run of combining marks alone is dropped by the tokenisers.
		for _, r := range w {
			if !unicode.Is(unicode.Mn, r) {
				words = append(words, w)
				break
			}
		}
		return nil
	}
	for i, r := range raw {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if err := flush(i); err != nil {
			return nil, err
		}
	}
	if err := flush(len(raw)); err != nil {
		return nil, err
	}
	return words, nil
}

func firstRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// String prints the query back in ParseQuery's syntax; parsing the result
// gives the same Query.
func (q Query) String() string {
	var b strings.Builder
	term := func(t Term) {
		b.WriteByte('"')
		b.WriteString(strings.Join(t.Words, " "))
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	for gi, g := range q.Groups {
		if gi > 0 {
			b.WriteByte(' ')
		}
		for ti, t := range g {
			if ti > 0 {
				b.WriteString(" OR ")
			}
			term(t)
		}
	}
	for _, t := range q.Exclude {
		b.WriteString(" -")
		term(t)
	}
	return b.String()
}

// FTS5 renders the query as an SQLite FTS5 MATCH expression in which every
// phrase is restricted to column.
func (q Query) FTS5(column string) string {
	var b strings.Builder
	term := func(t Term) {
		b.WriteString(column)
		b.WriteString(` : "`)
		b.WriteString(strings.Join(t.Words, " "))
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	or := func(ts []Term) {
		if len(ts) > 1 {
			b.WriteByte('(')
		}
		for i, t := range ts {
			if i > 0 {
				b.WriteString(" OR ")
			}
			term(t)
		}
		if len(ts) > 1 {
			b.WriteByte(')')
		}
	}
	b.WriteByte('(')
	for i, g := range q.Groups {
		if i > 0 {
			b.WriteString(" AND ")
		}
		or(g)
	}
	b.WriteByte(')')
	if len(q.Exclude) > 0 {
		b.WriteString(" NOT ")
		b.WriteByte('(')
		for i, t := range q.Exclude {
			if i > 0 {
				b.WriteString(" OR ")
			}
			term(t)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// TSQuery renders the query as PostgreSQL to_tsquery input: quoted words
// (normalised by the text search configuration), <-> for phrases, :* for
// prefixes, & | and !.
func (q Query) TSQuery() string {
	var b strings.Builder
	term := func(t Term) {
		b.WriteByte('(')
		for i, w := range t.Words {
			if i > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteByte('\'')
			b.WriteString(w)
			b.WriteByte('\'')
			if t.Prefix && i == len(t.Words)-1 {
				b.WriteString(":*")
			}
		}
		b.WriteByte(')')
	}
	or := func(ts []Term) {
		b.WriteByte('(')
		for i, t := range ts {
			if i > 0 {
				b.WriteString(" | ")
			}
			term(t)
		}
		b.WriteByte(')')
	}
	for i, g := range q.Groups {
		if i > 0 {
			b.WriteString(" & ")
		}
		or(g)
	}
	if len(q.Exclude) > 0 {
		b.WriteString(" & !")
		or(q.Exclude)
	}
	return b.String()
}

// SplitWords returns the words of s as the search index sees them: runs of
// letters, digits and combining marks, lower-cased. Words longer than
// MaxWordLen are dropped.
func SplitWords(s string) []string {
	var out []string
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		w := strings.ToLower(s[start:end])
		start = -1
		if utf8.RuneCountInString(w) > MaxWordLen {
			return
		}
		for _, r := range w {
			if !unicode.Is(unicode.Mn, r) {
				out = append(out, w)
				break
			}
		}
	}
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(s))
	return out
}
