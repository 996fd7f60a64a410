package search

import (
	"encoding/json"
	"path"
	"sort"
	"strings"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search/phonetic"
	"github.com/landfall/landfall/types"
)

// IndexVersion is the version of Entries' output. Raising it makes
// `landfall search reindex` rebuild every item's entries.
const IndexVersion = 2

// Limits of one transcript entry: a segment longer than this is split.
const (
	maxEntryWords   = 40
	maxMentions     = 50
	untimedSegWords = 20
)

// Entries builds the search index entries of a media item from its record
// (file name, summary, insights) and its transcript (may be nil): one
// entry per transcript segment with the time of each word, per piece of
// on-screen text with when it was visible, per mention of each entity and
// topic (found in the transcript's words and the on-screen text), per
// label and moderation label per shot, per chapter, for the summary, SEO
// description and file name, and per text of the insight profile's output.
func Entries(m *catalog.Media, tr *types.Transcript) []catalog.SearchEntry {
	b := &builder{mediaID: m.ID}
	if m.Filename != "" {
		name := strings.TrimSuffix(m.Filename, path.Ext(m.Filename))
		b.add(catalog.SearchEntry{Field: catalog.FieldFilename, Body: m.Filename + " " + name})
	}
	dur := m.Duration
	if tr != nil {
		b.transcript(tr)
		if tr.Duration > dur {
			dur = tr.Duration
		}
		// A speaker a reviewer named is a person of the item, found by
		// name from their first turn to their last.
		for _, c := range catalog.SpeakerChunks(tr) {
			b.add(catalog.SearchEntry{Field: catalog.FieldEntity, Value: "person", Start: c.Start, End: c.End, Speaker: c.Speaker, Body: c.Text})
		}
	}
	ins := m.Insights
	summary := m.Summary
	if ins != nil && summary == "" {
		summary = ins.Summary
	}
	if strings.TrimSpace(summary) != "" {
		b.add(catalog.SearchEntry{Field: catalog.FieldSummary, Body: summary})
	}
	if ins == nil {
		return b.out
	}
	if ins.SEODescription != "" && ins.SEODescription != summary {
		b.add(catalog.SearchEntry{Field: catalog.FieldSummary, Value: "seo", Body: ins.SEODescription})
	}
	if pr := ins.Profile; pr != nil && len(pr.Output) > 0 {
		// Each text of the profile's output (show notes, key points, quiz
		// questions, action items…) is a summary entry whose value names
		// the profile and the field, so `field:summary` finds them too.
		var out any
		if err := json.Unmarshal(pr.Output, &out); err == nil {
			profileTexts(out, "", func(at, text string) {
				b.add(catalog.SearchEntry{Field: catalog.FieldSummary, Value: "profile:" + pr.Name + at, Body: text})
			})
		}
	}
	for _, o := range ins.OCR {
		end := o.Last
		if end < o.First {
			end = o.First
		}
		b.add(catalog.SearchEntry{Field: catalog.FieldOCR, Start: o.First, End: end, Body: o.Text})
	}
	for i, c := range ins.Chapters {
		end := dur
		if i+1 < len(ins.Chapters) {
			end = ins.Chapters[i+1].StartSeconds
		}
		if end < c.StartSeconds {
			end = c.StartSeconds
		}
		b.add(catalog.SearchEntry{Field: catalog.FieldChapter, Start: c.StartSeconds, End: end, Body: c.Title})
	}
	ments := newMentions(tr, ins.OCR)
	for _, e := range []struct {
		kind  string
		names []string
	}{{"person", ins.Entities.People}, {"organisation", ins.Entities.Organisations}, {"place", ins.Entities.Places}} {
		for _, name := range e.names {
			b.mentioned(catalog.FieldEntity, e.kind, name, ments.find(name, false))
		}
	}
	for _, t := range ins.Topics {
		b.mentioned(catalog.FieldTopic, "", t, ments.find(t, true))
	}
	for _, l := range ins.Labels {
		if len(l.Timestamps) == 0 {
			b.add(catalog.SearchEntry{Field: catalog.FieldLabel, Value: l.Name, Body: l.Name})
		}
		for _, ts := range l.Timestamps {
			b.add(catalog.SearchEntry{Field: catalog.FieldLabel, Value: l.Name, Start: ts, End: ts, Body: l.Name})
		}
	}
	for _, md := range ins.Moderation {
		body := md.Name
		if md.ParentName != "" && md.ParentName != md.Name {
			body += " " + md.ParentName
		}
		b.add(catalog.SearchEntry{Field: catalog.FieldModeration, Value: md.Name, Start: md.Timestamp, End: md.Timestamp, Body: body})
	}
	return b.out
}

// maxProfileTexts bounds the entries one profile output adds.
const maxProfileTexts = 200

// profileTexts calls emit with each string of v and the JSON pointer of
// the object member holding it (array indexes left out, so the items of
// a list share their field's name), members in name order, at most
// maxProfileTexts times.
func profileTexts(v any, at string, emit func(at, text string)) {
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch x := v.(type) {
		case string:
			if n < maxProfileTexts && strings.TrimSpace(x) != "" {
				n++
				emit(at, x)
			}
		case []any:
			for _, e := range x {
				walk(e, at)
			}
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], at+"/"+k)
			}
		}
	}
	walk(v, at)
}

type builder struct {
	mediaID string
	out     []catalog.SearchEntry
}

func (b *builder) add(e catalog.SearchEntry) {
	e.Body = strings.Join(strings.Fields(e.Body), " ")
	if e.Body == "" {
		return
	}
	e.MediaID = b.mediaID
	e.Phon = PhonOf(e.Body)
	b.out = append(b.out, e)
}

// PhonOf is the phonetic column of a body: the key of each of its words.
func PhonOf(body string) string {
	ws := catalog.SplitWords(body)
	keys := make([]string, 0, len(ws))
	for _, w := range ws {
		keys = append(keys, phonetic.Key(w))
	}
	return strings.Join(keys, " ")
}

func (b *builder) mentioned(field, value, name string, at []span) {
	if len(at) == 0 {
		b.add(catalog.SearchEntry{Field: field, Value: value, Body: name})
		return
	}
	for _, s := range at {
		b.add(catalog.SearchEntry{Field: field, Value: value, Start: s.start, End: s.end, Body: name})
	}
}

// transcript adds one entry per segment (split past maxEntryWords), with
// the times of its words; without words, per segment with the segment's
// times; without segments, per run of words of the text.
func (b *builder) transcript(tr *types.Transcript) {
	switch {
	case len(tr.Words) > 0:
		segs := tr.Segments
		if !segmentsCoverWords(tr) {
			segs = nil
			for i := 0; i < len(tr.Words); i += untimedSegWords {
				n := min(untimedSegWords, len(tr.Words)-i)
				segs = append(segs, types.Segment{FirstWord: i, WordCount: n, Speaker: tr.Words[i].Speaker})
			}
		}
		for _, s := range segs {
			words := tr.Words[s.FirstWord : s.FirstWord+s.WordCount]
			// The segment's own text (sentence case, punctuation) when it
			// has a token per word; else the words as recognised.
			tokens := strings.Fields(s.Text)
			if len(tokens) != len(words) {
				tokens = tokens[:0]
				for _, w := range words {
					tokens = append(tokens, strings.Join(strings.Fields(w.Text), "-"))
				}
			}
			for i := 0; i < len(words); i += maxEntryWords {
				j := min(i+maxEntryWords, len(words))
				e := catalog.SearchEntry{Field: catalog.FieldTranscript, Start: words[i].Start, End: words[j-1].End, Speaker: s.Speaker}
				if e.Speaker == "" {
					e.Speaker = words[i].Speaker
				}
				var body []string
				for k := i; k < j; k++ {
					if tokens[k] == "" {
						continue
					}
					body = append(body, tokens[k])
					e.Times = append(e.Times, words[k].Start, words[k].End)
				}
				e.Body = strings.Join(body, " ")
				b.add(e)
			}
		}
	case len(tr.Segments) > 0:
		for _, s := range tr.Segments {
			b.add(catalog.SearchEntry{Field: catalog.FieldTranscript, Start: s.Start, End: s.End, Speaker: s.Speaker, Body: s.Text})
		}
	default:
		f := strings.Fields(tr.Text)
		for i := 0; i < len(f); i += maxEntryWords {
			j := min(i+maxEntryWords, len(f))
			b.add(catalog.SearchEntry{Field: catalog.FieldTranscript, Start: 0, End: tr.Duration, Body: strings.Join(f[i:j], " ")})
		}
	}
}

// segmentsCoverWords reports whether the segments index the words
// consistently (in range, in order).
func segmentsCoverWords(tr *types.Transcript) bool {
	if len(tr.Segments) == 0 {
		return false
	}
	next := 0
	for _, s := range tr.Segments {
		if s.FirstWord < next || s.WordCount <= 0 || s.FirstWord+s.WordCount > len(tr.Words) {
			return false
		}
		next = s.FirstWord + s.WordCount
	}
	return true
}

type span struct{ start, end float64 }

// mentions finds where a name is said (the transcript's words) or shown
// (on-screen text).
type mentions struct {
	words []string // normalised transcript words
	keys  []string // their phonetic keys
	times []span
	ocr   []types.OCRText
	ocrW  [][]string
}

func newMentions(tr *types.Transcript, ocr []types.OCRText) *mentions {
	m := &mentions{ocr: ocr}
	if tr != nil {
		for _, w := range tr.Words {
			n := strings.Join(catalog.SplitWords(w.Text), "")
			m.words = append(m.words, n)
			m.keys = append(m.keys, phonetic.Key(n))
			m.times = append(m.times, span{w.Start, w.End})
		}
	}
	for _, o := range ocr {
		m.ocrW = append(m.ocrW, catalog.SplitWords(o.Text))
	}
	return m
}

// find returns where name's words occur in a row, said (also when they
// only sound the same: recognisers mishear names) or shown. loose also
// accepts, when the whole name is not found, the mentions of its longest
// word (topics such as "customer churn").
func (m *mentions) find(name string, loose bool) []span {
	q := catalog.SplitWords(name)
	if len(q) == 0 {
		return nil
	}
	out := m.findWords(q)
	if len(out) == 0 && loose && len(q) > 1 {
		longest := q[0]
		for _, w := range q {
			if len(w) > len(longest) {
				longest = w
			}
		}
		if len(longest) >= 4 && !stopWords[longest] {
			out = m.findWords([]string{longest})
		}
	}
	return out
}

func (m *mentions) findWords(q []string) []span {
	qk := make([]string, len(q))
	for i, w := range q {
		qk[i] = phonetic.Key(w)
	}
	var out []span
	for i := 0; i+len(q) <= len(m.words) && len(out) < maxMentions; i++ {
		ok := true
		for j, w := range q {
			tw := m.words[i+j]
			if tw != w && stem(tw) != stem(w) && (len(w) < 3 || m.keys[i+j] != qk[j]) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, span{m.times[i].start, m.times[i+len(q)-1].end})
			i += len(q) - 1
		}
	}
	for k, ws := range m.ocrW {
		if len(out) >= maxMentions {
			break
		}
		if containsRun(ws, q) {
			o := m.ocr[k]
			out = append(out, span{o.First, max(o.First, o.Last)})
		}
	}
	return out
}

func containsRun(ws, q []string) bool {
	for i := 0; i+len(q) <= len(ws); i++ {
		ok := true
		for j, w := range q {
			if ws[i+j] != w && stem(ws[i+j]) != stem(w) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// stem strips the commonest English inflections, enough to match "slides"
// with "slide" and "studied" with "studies" when checking a candidate.
func stem(w string) string {
	n := len(w)
	switch {
	case n > 4 && strings.HasSuffix(w, "ies"):
		return w[:n-3] + "y"
	case n > 5 && strings.HasSuffix(w, "ing"):
		return w[:n-3]
	case n > 4 && strings.HasSuffix(w, "ied"):
		return w[:n-3] + "y"
	case n > 4 && strings.HasSuffix(w, "ed"):
		return w[:n-2]
	case n > 4 && strings.HasSuffix(w, "es") && strings.ContainsAny(w[n-3:n-2], "sxz"):
		return w[:n-2]
	case n > 3 && strings.HasSuffix(w, "s") && !strings.HasSuffix(w, "ss"):
		return w[:n-1]
	}
	return w
}

var stopWords = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`a an and are as at be but by for from has have he her his i in is it its of on or
		our she that the their them they this to was we were what when where which who will with you your about into
		than then there these those also been being can could do does did not no so such very would should`) {
		stopWords[w] = true
	}
}
