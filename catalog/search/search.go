// Package search finds moments in a tenant's media: it builds the
// time-coded entries of the catalog's search index (Entries), and answers
// queries over them (Engine.Search).
//
// A query's words are matched four ways, each weighted (Weights): as
// typed (with light stemming), by sound (Double Metaphone codes, so "Miller"
// finds the recogniser's "Mellor"), by spelling within a small edit
// distance of words the index holds, and through WordNet synonyms and
// hypernyms when an Expander is configured. The database selects
// candidate entries, the newest matches (FTS5 on SQLite, tsvector on
// PostgreSQL): the words as typed, and when they do not fill the
// candidates, all four kinds of alternatives in one query; each
// candidate is then scored
// here, word by word, which also yields the time of the matched words and
// the highlighted snippet. With an Embedder, a vector ranking is fused in
// by reciprocal rank (see Fuse).
package search

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search/phonetic"
	"github.com/landfall/landfall/errcode"
)

// Match kinds, from the most to the least trusted.
const (
	MatchExact    = "exact"
	MatchPhonetic = "phonetic"
	MatchFuzzy    = "fuzzy"
	MatchSynonym  = "synonym"
	MatchHypernym = "hypernym"
	MatchVector   = "vector"
)

// Weights of a matched query word by how it matched. A word as typed
// counts fully; a word that only sounds the same or is spelt one or two
// letters differently counts less, so exact matches rank first; WordNet's
// synonyms count half and its broader terms (hypernyms) less again.
var Weights = map[string]float64{
	MatchExact:    1.0,
	MatchPhonetic: 0.6,
	MatchFuzzy:    0.5,
	MatchSynonym:  0.5,
	MatchHypernym: 0.3,
}

// FieldWeights scale a hit's score by where the words were found: timed
// signals (speech, on-screen text, mentions, labels) over the untimed
// summary and file name.
var FieldWeights = map[string]float64{
	catalog.FieldTranscript: 1.0,
	catalog.FieldOCR:        1.0,
	catalog.FieldEntity:     1.0,
	catalog.FieldLabel:      0.95,
	catalog.FieldModeration: 0.95,
	catalog.FieldChapter:    0.9,
	catalog.FieldTopic:      0.85,
	catalog.FieldFilename:   0.75,
	catalog.FieldSummary:    0.6,
}

// Expansion is a word or phrase WordNet relates to a query word.
type Expansion struct {
	Words []string
	Kind  string // MatchSynonym or MatchHypernym
}

// Expander relates words (WordNet). Nil means no expansion.
type Expander interface {
	Expand(word string) []Expansion
}

// Options switch the matchers on; the zero value matches words as typed
// only. Quality runs compare them.
type Options struct {
	Phonetic bool
	Fuzzy    bool
	Expander Expander // synonyms and hypernyms
	Embedder Embedder // vectors (hybrid ranking)
	// VectorWeight is the weight of the vector ranking in the fusion
	// (default 1, the lexical ranking's weight).
	VectorWeight float64
}

// Engine answers queries over one store's search index.
type Engine struct {
	idx     catalog.SearchIndex
	opt     Options
	now     func() time.Time
	vectors vectorCache
}

// New returns an engine over idx.
func New(idx catalog.SearchIndex, opt Options) *Engine {
	return &Engine{idx: idx, opt: opt, now: time.Now}
}

// Params of one search. Limit bounds the groups (default 20, at most
// 100); Moments the moments per group (default 3, at most 20).
type Params struct {
	TenantID string
	Query    string
	// MediaID restricts the search to one file.
	MediaID string
	Limit   int
	Moments int
	// Facets asks for counts per field, kind, speaker, label and entity.
	Facets bool
}

// Hit is one moment: the matched words of one index entry.
type Hit struct {
	MediaID  string `json:"media_id"`
	Filename string `json:"filename,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Field    string `json:"field"`
	// Source is "summary" or "transcript" for those fields, else the
	// field (what earlier versions of /v1/search called a hit's source).
	Source  string  `json:"source"`
	Value   string  `json:"value,omitempty"`
	Speaker string  `json:"speaker,omitempty"`
	Start   float64 `json:"start"` // seconds: the first matched word
	End     float64 `json:"end"`   // the last matched word
	// EntryStart and EntryEnd bound the whole segment, line or mention.
	EntryStart float64  `json:"entry_start"`
	EntryEnd   float64  `json:"entry_end"`
	Snippet    string   `json:"snippet"` // matched words between catalog.SnippetOpen and SnippetClose
	Matched    []string `json:"matched,omitempty"`
	Match      string   `json:"match"` // the weakest way a query word matched: exact, phonetic, fuzzy, synonym, hypernym, vector
	Score      float64  `json:"score"`
	entryID    int64
	created    time.Time
	// Set by score for finish, which fills Matched and Snippet of the
	// hits a result shows (most candidates are not shown).
	body    string
	matched []int // the matched tokens' indexes
}

// finish fills the hit's matched words and snippet from its body.
func (h *Hit) finish() {
	if h.body == "" {
		return
	}
	toks := strings.Fields(h.body)
	marks := make([]bool, len(toks))
	for _, i := range h.matched {
		if i < len(toks) {
			marks[i] = true
			h.Matched = append(h.Matched, toks[i])
		}
	}
	first := -1
	if len(h.matched) > 0 {
		first = h.matched[0]
	}
	h.Snippet = snippet(toks, marks, first)
	h.body, h.matched = "", nil
}

// Group is one media item's best moments, best first.
type Group struct {
	MediaID  string    `json:"media_id"`
	Filename string    `json:"filename,omitempty"`
	Kind     string    `json:"kind,omitempty"`
	Created  time.Time `json:"created_at"`
	Score    float64   `json:"score"`
	Hits     []*Hit    `json:"moments"`
	Total    int       `json:"total"` // matching moments in this item
}

// FacetCount is one value of a facet.
type FacetCount = catalog.SearchValueCount

// Result of a search.
type Result struct {
	Query    string                  `json:"query"`
	Filters  Filters                 `json:"filters"`
	Groups   []*Group                `json:"groups"`
	Expanded []ExpandedTerm          `json:"expanded,omitempty"`
	Facets   map[string][]FacetCount `json:"facets,omitempty"`
	// Vectors says whether a vector ranking was fused in.
	Vectors bool `json:"vectors"`
}

// ExpandedTerm reports what a query word was also matched as.
type ExpandedTerm struct {
	Word  string `json:"word"`
	As    string `json:"as"`
	Match string `json:"match"`
}

// alt is one way a group of the query may match an entry.
type alt struct {
	words  []string
	codes  [][]string // phonetic: the codes of each word
	prefix bool
	kind   string
}

type group []alt

const maxFuzzyVariants = 8

// MaxCandidates is how many matching entries, the newest, are read in
// full and scored word by word. Reading and scoring are most of a
// query's cost (at 1,000,000 segments on SQLite, about 20 µs of CPU per
// candidate); 400 was measured to lose one query of the relevance set's
// 68 at rank 1.
const MaxCandidates = 1000

// MaxAltCandidates bounds the candidates matched only by the sound,
// spelling and WordNet alternatives (read after every entry the words as
// typed match, up to MaxCandidates): they score below those, so a few
// hundred of the newest fill a result's groups, and reading them is most
// of a search's cost when a word's sound or spelling is common.
const MaxAltCandidates = 400

// Search runs a query.
func (e *Engine) Search(ctx context.Context, p *Params) (*Result, error) {
	if p.Limit == 0 {
		p.Limit = 20
	}
	if p.Limit < 1 || p.Limit > 100 {
		return nil, errcode.New(errcode.Invalid, "limit: %d is not between 1 and 100", p.Limit)
	}
	if p.Moments == 0 {
		p.Moments = 3
	}
	if p.Moments < 1 || p.Moments > 20 {
		return nil, errcode.New(errcode.Invalid, "moments: %d is not between 1 and 20", p.Moments)
	}
	if err := catalog.ValidateText("search query", p.Query, catalog.MaxQueryLen); err != nil {
		return nil, err
	}
	if strings.TrimSpace(p.Query) == "" {
		return nil, errcode.New(errcode.Invalid, "search query: empty")
	}
	f, text, err := SplitFilters(p.Query, e.now())
	if err != nil {
		return nil, err
	}
	if p.MediaID != "" {
		f.MediaID = p.MediaID
	}
	// A query of filters only (label:car, entity:"Ada") searches their values.
	onlyFilter := false
	if strings.TrimSpace(text) == "" {
		switch {
		case f.Label != "":
			text, f.Fields, onlyFilter = `"`+f.Label+`"`, []string{catalog.FieldLabel}, true
		case f.Entity != "":
			text, f.Fields, onlyFilter = `"`+f.Entity+`"`, []string{catalog.FieldEntity}, true
		default:
			return nil, errcode.New(errcode.Invalid, "search query %q: has no words to search for", p.Query)
		}
	}
	q, err := catalog.ParseQuery(text)
	if err != nil {
		return nil, err
	}
	res := &Result{Query: p.Query, Filters: f, Groups: []*Group{}}
	groups, err := e.expand(ctx, p.TenantID, q, res)
	if err != nil {
		return nil, err
	}
	mp := &catalog.SearchMatchParams{TenantID: p.TenantID, Groups: toAlts(groups), Exclude: termsAlts(q.Exclude),
		Fields: f.Fields, Speaker: f.Speaker, MediaID: f.MediaID, Kind: f.Kind, Since: f.Since, Until: f.Until, Limit: MaxCandidates}
	var cands []*catalog.SearchCandidate
	if exact := exactAlts(groups); exact != nil {
		// The words as typed first: when they alone fill the candidates,
		// the sound, spelling and WordNet alternatives (which score below
		// them) would only displace some, at the cost of matching a large
		// part of the index. When they do not, the alternatives fill the
		// rest with entries the words as typed did not match: those are
		// all candidates already, and are not read twice.
		xp := *mp
		xp.Groups = exact
		if cands, err = e.idx.SearchEntriesMatch(ctx, &xp); err != nil {
			return nil, err
		}
		if len(cands) < MaxCandidates {
			ap := *mp
			ap.Limit = min(MaxAltCandidates, MaxCandidates-len(cands))
			for _, c := range cands {
				ap.NotIDs = append(ap.NotIDs, c.ID)
			}
			more, err := e.idx.SearchEntriesMatch(ctx, &ap)
			if err != nil {
				return nil, err
			}
			cands = append(cands, more...)
		}
	} else if cands, err = e.idx.SearchEntriesMatch(ctx, mp); err != nil {
		return nil, err
	}
	strict := true
	if len(cands) == 0 && len(groups) > 1 {
		// No entry has every word: rank entries having some of them.
		mp.Any, strict = true, false
		if cands, err = e.idx.SearchEntriesMatch(ctx, mp); err != nil {
			return nil, err
		}
	}
	if onlyFilter {
		f.Label, f.Entity = "", ""
	}
	keep, err := e.mediaFilter(ctx, p.TenantID, f)
	if err != nil {
		return nil, err
	}
	maxRank := 0.0
	for _, c := range cands {
		maxRank = math.Max(maxRank, c.Rank)
	}
	var hits []*Hit
	for _, c := range cands {
		if keep != nil && !keep[c.MediaID] {
			continue
		}
		if f.File != "" && !strings.Contains(strings.ToLower(c.Filename), f.File) {
			continue
		}
		h := score(c, groups, strict)
		if h == nil {
			continue
		}
		// The database's rank (PostgreSQL's ts_rank) breaks ties among
		// equal word matches.
		if maxRank > 0 {
			h.Score += 0.01 * c.Rank / maxRank
		}
		hits = append(hits, h)
	}
	sortHits(hits)
	if e.opt.Embedder != nil && !onlyFilter {
		vh, err := e.vectorHits(ctx, p.TenantID, text, f, keep)
		if err != nil {
			return nil, err
		}
		if vh != nil {
			res.Vectors = true
			hits = Fuse(hits, vh, e.vectorWeight())
		}
	}
	res.Groups = groupHits(hits, p.Limit, p.Moments)
	for _, g := range res.Groups {
		for _, h := range g.Hits {
			h.finish()
		}
	}
	if p.Facets {
		if res.Facets, err = e.facets(ctx, p.TenantID, hits); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (e *Engine) vectorWeight() float64 {
	if e.opt.VectorWeight > 0 {
		return e.opt.VectorWeight
	}
	return 1
}

// expand builds each group's alternatives: the terms as typed, then
// (single words only) their sound, spelling variants and WordNet
// relations, each recorded in res.Expanded.
func (e *Engine) expand(ctx context.Context, tenant string, q catalog.Query, res *Result) ([]group, error) {
	var out []group
	for _, g := range q.Groups {
		var gr group
		for _, t := range g {
			gr = append(gr, alt{words: t.Words, prefix: t.Prefix, kind: MatchExact})
		}
		for _, t := range g {
			if t.Prefix {
				continue
			}
			if e.opt.Phonetic && phoneticWorthy(t.Words) {
				a := alt{words: t.Words, kind: MatchPhonetic}
				for _, w := range t.Words {
					a.codes = append(a.codes, phonetic.Codes(w))
				}
				gr = append(gr, a)
			}
			if len(t.Words) != 1 {
				continue
			}
			w := t.Words[0]
			if e.opt.Fuzzy {
				vs, err := e.variants(ctx, tenant, w)
				if err != nil {
					return nil, err
				}
				for _, v := range vs {
					gr = append(gr, alt{words: []string{v}, kind: MatchFuzzy})
					res.Expanded = append(res.Expanded, ExpandedTerm{Word: w, As: v, Match: MatchFuzzy})
				}
			}
			if e.opt.Expander != nil && !stopWords[w] {
				for _, x := range e.opt.Expander.Expand(w) {
					ws := catalog.SplitWords(strings.Join(x.Words, " "))
					if len(ws) == 0 || (len(ws) == 1 && ws[0] == w) {
						continue
					}
					gr = append(gr, alt{words: ws, kind: x.Kind})
					res.Expanded = append(res.Expanded, ExpandedTerm{Word: w, As: strings.Join(ws, " "), Match: x.Kind})
				}
			}
		}
		out = append(out, gr)
	}
	return out, nil
}

// MinPhoneticCode is the shortest Double Metaphone code a query word is
// matched by, and MinPhoneticWord the shortest word a two-sound code is
// used for: short words' codes ("TN" is ten, tin, town, tune…) match a
// large part of any index, which costs more than it finds, while
// "ferry"/"fairy" (FR) is just what a recogniser confuses.
const (
	MinPhoneticCode = 2
	MinPhoneticWord = 4
)

// phoneticWorthy: codes of very short words or numbers match too much.
func phoneticWorthy(ws []string) bool {
	for _, w := range ws {
		if len(w) < 3 || stopWords[w] {
			return false
		}
		p, _ := phonetic.DoubleMetaphone(w)
		if len(p) < MinPhoneticCode || (len(p) == MinPhoneticCode && len([]rune(w)) < MinPhoneticWord) {
			return false
		}
	}
	return true
}

// variants returns indexed words within phonetic.MaxEdits of w that share
// its first letter, closest first.
func (e *Engine) variants(ctx context.Context, tenant, w string) ([]string, error) {
	n := len([]rune(w))
	maxd := phonetic.MaxEdits(n)
	if maxd == 0 {
		return nil, nil
	}
	first := string([]rune(w)[:1])
	terms, err := e.idx.SearchTerms(ctx, &catalog.SearchTermsParams{TenantID: tenant, Prefix: first, MinLen: len(w) - maxd, MaxLen: len(w) + maxd, Limit: 100000})
	if err != nil {
		return nil, err
	}
	type v struct {
		t string
		d int
	}
	var vs []v
	sw := stem(w)
	for _, t := range terms {
		if t == w || stem(t) == sw {
			continue
		}
		if d := phonetic.Distance(w, t, maxd); d <= maxd {
			vs = append(vs, v{t, d})
		}
	}
	sort.Slice(vs, func(i, j int) bool {
		if vs[i].d != vs[j].d {
			return vs[i].d < vs[j].d
		}
		return vs[i].t < vs[j].t
	})
	var out []string
	for i := 0; i < len(vs) && i < maxFuzzyVariants; i++ {
		out = append(out, vs[i].t)
	}
	return out, nil
}

func toAlts(gs []group) [][]catalog.SearchAlt {
	out := make([][]catalog.SearchAlt, 0, len(gs))
	for _, g := range gs {
		var as []catalog.SearchAlt
		for _, a := range g {
			if a.kind == MatchPhonetic {
				// Every combination of the words' codes would explode;
				// primary codes, and each word's alternate on its own.
				prim := make([]string, len(a.codes))
				for i, cs := range a.codes {
					prim[i] = cs[0]
				}
				as = append(as, catalog.SearchAlt{Words: prim, Phon: true})
				for i, cs := range a.codes {
					for _, c := range cs[1:] {
						alt := append([]string(nil), prim...)
						alt[i] = c
						as = append(as, catalog.SearchAlt{Words: alt, Phon: true})
					}
				}
				continue
			}
			as = append(as, catalog.SearchAlt{Words: a.words, Prefix: a.prefix})
		}
		out = append(out, as)
	}
	return out
}

// exactAlts returns the groups' alternatives of words as typed, or nil
// when every alternative is one (nothing was expanded).
func exactAlts(gs []group) [][]catalog.SearchAlt {
	expanded := false
	out := make([][]catalog.SearchAlt, 0, len(gs))
	for _, g := range gs {
		var as []catalog.SearchAlt
		for _, a := range g {
			if a.kind != MatchExact {
				expanded = true
				continue
			}
			as = append(as, catalog.SearchAlt{Words: a.words, Prefix: a.prefix})
		}
		out = append(out, as)
	}
	if !expanded {
		return nil
	}
	return out
}

func termsAlts(ts []catalog.Term) []catalog.SearchAlt {
	var out []catalog.SearchAlt
	for _, t := range ts {
		out = append(out, catalog.SearchAlt{Words: t.Words, Prefix: t.Prefix})
	}
	return out
}

// mediaFilter returns the media items having the label or entity the
// filters name (nil: no such filter).
func (e *Engine) mediaFilter(ctx context.Context, tenant string, f Filters) (map[string]bool, error) {
	var keep map[string]bool
	for _, c := range []struct{ field, val string }{{catalog.FieldLabel, f.Label}, {catalog.FieldEntity, f.Entity}} {
		if c.val == "" {
			continue
		}
		ws := catalog.SplitWords(c.val)
		if len(ws) == 0 {
			return nil, errcode.New(errcode.Invalid, "search query: %s:%s: has no words", c.field, c.val)
		}
		cands, err := e.idx.SearchEntriesMatch(ctx, &catalog.SearchMatchParams{TenantID: tenant, Groups: [][]catalog.SearchAlt{{{Words: ws}}},
			Fields: []string{c.field}, MediaID: f.MediaID, Limit: 5000})
		if err != nil {
			return nil, err
		}
		set := map[string]bool{}
		for _, x := range cands {
			if keep == nil || keep[x.MediaID] {
				set[x.MediaID] = true
			}
		}
		keep = set
	}
	return keep, nil
}

// token is one whitespace-separated word of an entry's body.
type token struct {
	text  string   // as written
	norm  string   // letters and digits, lower-case
	stem  string   // norm, lightly stemmed
	codes []string // phonetic codes, computed on demand
}

func (t *token) phon() []string {
	if t.codes == nil {
		t.codes = phonetic.Codes(t.norm)
		if t.codes == nil {
			t.codes = []string{}
		}
	}
	return t.codes
}

// score matches the query's groups against one candidate word by word.
// It returns nil when no group matches. strict says the database matched
// every group (a group this matcher does not find then still counts, at
// the weight of a stemmed match, over the whole entry).
func score(c *catalog.SearchCandidate, groups []group, strict bool) *Hit {
	fields := strings.Fields(c.Body)
	toks := make([]token, len(fields))
	for i, f := range fields {
		n := normWord(f)
		toks[i] = token{text: f, norm: n, stem: stem(n)}
	}
	matched := make([]bool, len(toks))
	total, weakest := 0.0, MatchExact
	found := 0
	for _, g := range groups {
		best, bi, bn, bk := 0.0, -1, 0, ""
		for _, a := range g {
			w := Weights[a.kind]
			if w <= best {
				continue
			}
			if i := findAlt(toks, a); i >= 0 {
				best, bi, bn, bk = w, i, len(a.words), a.kind
			}
		}
		if bi < 0 {
			if strict {
				total += 0.8
			}
			continue
		}
		found++
		total += best
		if rankOf(bk) > rankOf(weakest) {
			weakest = bk
		}
		for k := bi; k < bi+bn; k++ {
			matched[k] = true
		}
	}
	if found == 0 && !strict {
		return nil
	}
	h := &Hit{MediaID: c.MediaID, Filename: c.Filename, Kind: c.Kind, Field: c.Field, Source: c.Field, Value: c.Value, Speaker: c.Speaker,
		EntryStart: c.Start, EntryEnd: c.End, Start: c.Start, End: c.End, Match: weakest, entryID: c.ID, created: c.CreatedAt}
	if found == 0 {
		h.Match = MatchExact
	}
	fw := FieldWeights[c.Field]
	if fw == 0 {
		fw = 0.5
	}
	h.Score = total / float64(len(groups)) * fw
	// Word times: the first and last matched word.
	first, last := -1, -1
	for i, m := range matched {
		if m {
			if first < 0 {
				first = i
			}
			last = i
			h.matched = append(h.matched, i)
		}
	}
	if first >= 0 {
		if len(c.Times) == 2*len(toks) {
			h.Start, h.End = c.Times[2*first], c.Times[2*last+1]
		} else if c.TimesText != "" && strings.Count(c.TimesText, " ") == 2*len(toks)-1 {
			s, ok1 := wordTime(c.TimesText, 2*first)
			e, ok2 := wordTime(c.TimesText, 2*last+1)
			if ok1 && ok2 {
				h.Start, h.End = s, e
			}
		}
	}
	h.body = c.Body
	return h
}

// wordTime returns the i-th space-separated number of times.
func wordTime(times string, i int) (float64, bool) {
	for ; i > 0; i-- {
		k := strings.IndexByte(times, ' ')
		if k < 0 {
			return 0, false
		}
		times = times[k+1:]
	}
	if k := strings.IndexByte(times, ' '); k >= 0 {
		times = times[:k]
	}
	v, err := strconv.ParseFloat(times, 64)
	return v, err == nil
}

// normWord is a token's letters and digits, lower-cased (the words
// catalog.SplitWords finds in it, joined); a token already so is
// returned as it is.
func normWord(f string) string {
	if len(f) <= catalog.MaxWordLen {
		plain := true
		for i := 0; i < len(f); i++ {
			if c := f[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
				plain = false
				break
			}
		}
		if plain {
			return f
		}
	}
	return strings.Join(catalog.SplitWords(f), "")
}

func rankOf(kind string) int {
	switch kind {
	case MatchExact:
		return 0
	case MatchPhonetic:
		return 1
	case MatchFuzzy:
		return 2
	case MatchSynonym:
		return 3
	case MatchHypernym:
		return 4
	}
	return 5
}

// findAlt returns the first position where a's words match consecutive
// tokens, or -1.
func findAlt(toks []token, a alt) int {
	n := len(a.words)
	for i := 0; i+n <= len(toks); i++ {
		ok := true
		for j, w := range a.words {
			if !wordMatches(&toks[i+j], w, a, j) {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

func wordMatches(t *token, w string, a alt, j int) bool {
	if t.norm == "" {
		return false
	}
	switch a.kind {
	case MatchPhonetic:
		for _, c := range a.codes[j] {
			for _, tc := range t.phon() {
				if c == tc {
					return true
				}
			}
		}
		return false
	}
	if t.norm == w || t.stem == stem(w) {
		return true
	}
	return a.prefix && j == len(a.words)-1 && strings.HasPrefix(t.norm, w)
}

// snippet is up to 24 tokens around the first match, matched tokens
// marked.
func snippet(toks []string, matched []bool, first int) string {
	from, to := 0, len(toks)
	if first > 8 {
		from = first - 8
	}
	if to-from > 24 {
		to = from + 24
	}
	var b strings.Builder
	if from > 0 {
		b.WriteString("… ")
	}
	for i := from; i < to; i++ {
		if i > from {
			b.WriteByte(' ')
		}
		if matched[i] {
			b.WriteString(catalog.SnippetOpen + toks[i] + catalog.SnippetClose)
		} else {
			b.WriteString(toks[i])
		}
	}
	if to < len(toks) {
		b.WriteString(" …")
	}
	return b.String()
}

// sortHits orders hits best first; among equal scores, newer items
// first, and within an item the earlier moment.
func sortHits(hits []*Hit) {
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.Score != b.Score {
			return a.Score > b.Score
		}
		if a.MediaID != b.MediaID {
			if !a.created.Equal(b.created) {
				return a.created.After(b.created)
			}
			return a.MediaID > b.MediaID
		}
		if a.Start != b.Start {
			return a.Start < b.Start
		}
		return a.entryID < b.entryID
	})
}

// groupHits groups hits (best first) by media item: a group scores its
// best moment, plus a little for each further one (an item that matches
// in several places is likelier what was meant).
func groupHits(hits []*Hit, limit, moments int) []*Group {
	byID := map[string]*Group{}
	var order []*Group
	for _, h := range hits {
		g := byID[h.MediaID]
		if g == nil {
			g = &Group{MediaID: h.MediaID, Filename: h.Filename, Kind: h.Kind, Created: h.created, Score: h.Score}
			byID[h.MediaID] = g
			order = append(order, g)
		}
		g.Total++
		if len(g.Hits) < moments && !overlaps(g.Hits, h) {
			g.Hits = append(g.Hits, h)
		}
	}
	for _, g := range order {
		g.Score += 0.02 * math.Log1p(float64(g.Total-1))
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Score > order[j].Score })
	if len(order) > limit {
		order = order[:limit]
	}
	return order
}

// overlaps reports whether h is the same moment as one already listed
// (same field and start within a second), such as an entity mention and
// the transcript segment saying it.
func overlaps(hs []*Hit, h *Hit) bool {
	for _, x := range hs {
		if x.Field == h.Field && math.Abs(x.Start-h.Start) < 1 {
			return true
		}
	}
	return false
}

// facets counts the hits' media items per field, kind and speaker, and
// the labels and entities of those items.
func (e *Engine) facets(ctx context.Context, tenant string, hits []*Hit) (map[string][]FacetCount, error) {
	count := func(key func(h *Hit) string) []FacetCount {
		seen := map[[2]string]bool{}
		n := map[string]int{}
		for _, h := range hits {
			k := key(h)
			if k == "" || seen[[2]string{k, h.MediaID}] {
				continue
			}
			seen[[2]string{k, h.MediaID}] = true
			n[k]++
		}
		out := make([]FacetCount, 0, len(n))
		for k, c := range n {
			out = append(out, FacetCount{Value: k, Count: c})
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Count != out[j].Count {
				return out[i].Count > out[j].Count
			}
			return out[i].Value < out[j].Value
		})
		return out
	}
	out := map[string][]FacetCount{
		"field":   count(func(h *Hit) string { return h.Field }),
		"kind":    count(func(h *Hit) string { return h.Kind }),
		"speaker": count(func(h *Hit) string { return h.Speaker }),
	}
	var ids []string
	seen := map[string]bool{}
	for _, h := range hits {
		if !seen[h.MediaID] && len(ids) < 1000 {
			seen[h.MediaID] = true
			ids = append(ids, h.MediaID)
		}
	}
	for _, c := range []struct{ name, field string }{{"label", catalog.FieldLabel}, {"entity", catalog.FieldEntity}} {
		v, err := e.idx.SearchValues(ctx, &catalog.SearchValuesParams{TenantID: tenant, Field: c.field, MediaIDs: ids})
		if err != nil {
			return nil, err
		}
		if v == nil {
			v = []FacetCount{}
		}
		out[c.name] = v
	}
	return out, nil
}
