package search

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search/phonetic"
	"github.com/landfall/landfall/errcode"
)

func FuzzSplitFilters(f *testing.F) {
	for _, s := range []string{`car speaker:"Speaker 2" kind:video`, `label:car`, `after:7d before:2026-01-01 x`, `field:ocr,transcript churn`,
		`"unclosed`, `entity:"Ada`, `in: x`, `-label:car`, `date:2026-13-45 x`, `media:../x y`, `a:b:c`} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 512 {
			return
		}
		fl, rest, err := SplitFilters(s, now)
		if err != nil {
			if errcode.Of(err) != errcode.Invalid {
				t.Fatalf("%q: error %v is not Invalid", s, err)
			}
			return
		}
		if len(rest) > len(s)+8 {
			t.Fatalf("%q: rest %q grew", s, rest)
		}
		if utf8.ValidString(s) && !utf8.ValidString(rest) {
			t.Fatalf("%q: rest %q is not UTF-8", s, rest)
		}
		for _, x := range fl.Fields {
			if !isField(x) {
				t.Fatalf("%q: field %q", s, x)
			}
		}
	})
}

func isField(f string) bool {
	for _, x := range catalog.Fields {
		if x == f {
			return true
		}
	}
	return false
}

// FuzzScore matches arbitrary queries against arbitrary entries: no panic,
// times inside the entry, balanced snippet markers.
func FuzzScore(f *testing.F) {
	f.Add("david miller", "Thank you. I am david mellor", true)
	f.Add(`"new car" -x`, "We bought a new car.", false)
	f.Add("é ü 1984 pre*", "Über 1984 prefix", true)
	f.Fuzz(func(t *testing.T, q, body string, strict bool) {
		if len(q) > 200 || len(body) > 2000 {
			return
		}
		pq, err := catalog.ParseQuery(q)
		if err != nil {
			return
		}
		var groups []group
		for _, g := range pq.Groups {
			var gr group
			for _, term := range g {
				gr = append(gr, alt{words: term.Words, prefix: term.Prefix, kind: MatchExact})
				if phoneticWorthy(term.Words) {
					a := alt{words: term.Words, kind: MatchPhonetic}
					for _, w := range term.Words {
						a.codes = append(a.codes, phonetic.Codes(w))
					}
					gr = append(gr, a)
				}
			}
			groups = append(groups, gr)
		}
		n := len(strings.Fields(body))
		times := make([]float64, 0, 2*n)
		for i := 0; i < n; i++ {
			times = append(times, 10+float64(i), 10.5+float64(i))
		}
		c := &catalog.SearchCandidate{SearchEntry: catalog.SearchEntry{ID: 1, MediaID: "m", Field: catalog.FieldTranscript, Start: 10, End: 10.5 + float64(n), Body: body, Times: times}}
		h := score(c, groups, strict)
		if h == nil {
			return
		}
		// The times as stored give the same moment as decoded.
		var text []string
		for _, x := range times {
			text = append(text, strconv.FormatFloat(x, 'f', 3, 64))
		}
		ct := *c
		ct.Times, ct.TimesText = nil, strings.Join(text, " ")
		if ht := score(&ct, groups, strict); ht == nil || ht.Start != h.Start || ht.End != h.End {
			t.Fatalf("%q in %q: times as text give %+v, decoded %+v", q, body, ht, h)
		}
		h.finish()
		for _, w := range strings.Fields(body) {
			if n := normWord(w); n != strings.Join(catalog.SplitWords(w), "") {
				t.Fatalf("normWord(%q) = %q, not SplitWords' %q", w, n, strings.Join(catalog.SplitWords(w), ""))
			}
		}
		if h.Start < 10 || h.End > 10.5+float64(n) || h.Start > h.End {
			t.Fatalf("%q in %q: time %v..%v outside the entry", q, body, h.Start, h.End)
		}
		if strings.Count(h.Snippet, catalog.SnippetOpen) != strings.Count(h.Snippet, catalog.SnippetClose) {
			t.Fatalf("%q in %q: unbalanced snippet %q", q, body, h.Snippet)
		}
	})
}
