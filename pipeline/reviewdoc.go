package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ReviewDoc is what a reviewer sees and edits: the transcript (absent for
// images) and the insights document.
type ReviewDoc struct {
	Transcript *types.Transcript `json:"transcript,omitempty"`
	Insights   *types.Insights   `json:"insights"`
}

// Edit operations.
const (
	EditWord        = "word"       // Word (index into transcript words) gets Value (one word)
	EditSegment     = "segment"    // Segment's text becomes Value; its words keep the segment's timings
	EditSpeaker     = "speaker"    // Speaker (a label, spk_0) is named Value for the whole file
	EditSummary     = "summary"    // Value: the summary text
	EditSEO         = "seo"        // Value: the SEO description
	EditChapters    = "chapters"   // Value: [{title, start_seconds}]
	EditTopics      = "topics"     // Value: ["topic", …]
	EditEntities    = "entities"   // Value: {people, organisations, places}
	EditModeration  = "moderation" // Label's verdict becomes Value: "confirmed" or "dismissed"
	maxEditText     = 2000         // bytes of one text value
	maxEditListSize = 200          // entries of a list value
)

// Edit is one change a reviewer makes. Before is filled when the edit is
// applied, from the document it applied to; After is the value set.
type Edit struct {
	Op      string          `json:"op"`
	Word    *int            `json:"word,omitempty"`
	Segment *int            `json:"segment,omitempty"`
	Speaker string          `json:"speaker,omitempty"`
	Label   string          `json:"label,omitempty"`
	Value   json.RawMessage `json:"value"`
	Before  json.RawMessage `json:"before,omitempty"`
}

func editErr(i int, field, format string, args ...any) error {
	return errcode.New(errcode.Invalid, "edits/%d/%s: %s", i, field, fmt.Sprintf(format, args...))
}

// ApplyEdits applies edits to doc in order and returns them with Before
// filled. A bad edit is errcode.Invalid naming it (edits/N/field); doc is
// then partly changed, so callers apply to a copy.
func ApplyEdits(doc *ReviewDoc, edits []Edit) ([]Edit, error) {
	if doc.Insights == nil {
		doc.Insights = &types.Insights{}
	}
	out := make([]Edit, len(edits))
	for i, e := range edits {
		before, err := applyEdit(doc, i, e)
		if err != nil {
			return nil, err
		}
		e.Before = before
		out[i] = e
	}
	return out, nil
}

func str(i int, raw json.RawMessage, allowEmpty bool) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", editErr(i, "value", "want a string")
	}
	s = strings.TrimSpace(s)
	if !allowEmpty && s == "" {
		return "", editErr(i, "value", "is empty")
	}
	if len(s) > maxEditText || !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return "", editErr(i, "value", "must be UTF-8 text of at most %d bytes without NUL", maxEditText)
	}
	return s, nil
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func applyEdit(doc *ReviewDoc, i int, e Edit) (json.RawMessage, error) {
	tr, ins := doc.Transcript, doc.Insights
	needTranscript := func() error {
		if tr == nil {
			return editErr(i, "op", "%q needs a transcript, and this media has none", e.Op)
		}
		return nil
	}
	switch e.Op {
	case EditWord:
		if err := needTranscript(); err != nil {
			return nil, err
		}
		if e.Word == nil || *e.Word < 0 || *e.Word >= len(tr.Words) {
			return nil, editErr(i, "word", "want a word index 0..%d", len(tr.Words)-1)
		}
		v, err := str(i, e.Value, false)
		if err != nil {
			return nil, err
		}
		if strings.ContainsFunc(v, unicode.IsSpace) {
			return nil, editErr(i, "value", "%q is more than one word; edit the segment's text instead", v)
		}
		w := &tr.Words[*e.Word]
		before := w.Text
		w.Text, w.Confidence = v, 1
		if si := segmentOf(tr, *e.Word); si >= 0 {
			replaceSegmentWord(&tr.Segments[si], *e.Word-tr.Segments[si].FirstWord, before, v)
		}
		rebuildText(tr)
		return mustJSON(before), nil
	case EditSegment:
		if err := needTranscript(); err != nil {
			return nil, err
		}
		if e.Segment == nil || *e.Segment < 0 || *e.Segment >= len(tr.Segments) {
			return nil, editErr(i, "segment", "want a segment index 0..%d", len(tr.Segments)-1)
		}
		v, err := str(i, e.Value, false)
		if err != nil {
			return nil, err
		}
		before := tr.Segments[*e.Segment].Text
		retimeSegment(tr, *e.Segment, v)
		rebuildText(tr)
		return mustJSON(before), nil
	case EditSpeaker:
		if err := needTranscript(); err != nil {
			return nil, err
		}
		v, err := str(i, e.Value, true)
		if err != nil {
			return nil, err
		}
		if len(v) > 100 || strings.ContainsAny(v, "<>\n") {
			return nil, editErr(i, "value", "a speaker name is at most 100 bytes, without < > or line breaks")
		}
		k := -1
		for j, s := range tr.Speakers {
			if s.Label == e.Speaker {
				k = j
			}
		}
		if k < 0 {
			used := false
			for _, s := range tr.Segments {
				used = used || s.Speaker == e.Speaker
			}
			if e.Speaker == "" || !used {
				return nil, editErr(i, "speaker", "%q is not a speaker of this transcript", e.Speaker)
			}
			tr.Speakers = append(tr.Speakers, types.Speaker{Label: e.Speaker})
			k = len(tr.Speakers) - 1
		}
		before := tr.SpeakerName(e.Speaker)
		tr.Speakers[k].Name = v
		return mustJSON(before), nil
	case EditSummary:
		v, err := str(i, e.Value, true)
		if err != nil {
			return nil, err
		}
		before := ins.Summary
		ins.Summary = v
		return mustJSON(before), nil
	case EditSEO:
		v, err := str(i, e.Value, true)
		if err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(v) > 160 {
			return nil, editErr(i, "value", "the SEO description is at most 160 characters")
		}
		before := ins.SEODescription
		ins.SEODescription = v
		return mustJSON(before), nil
	case EditChapters:
		var chs []types.Chapter
		if err := json.Unmarshal(e.Value, &chs); err != nil {
			return nil, editErr(i, "value", "want [{\"title\": …, \"start_seconds\": …}]")
		}
		if len(chs) > maxEditListSize {
			return nil, editErr(i, "value", "at most %d chapters", maxEditListSize)
		}
		for j := range chs {
			chs[j].Title = strings.TrimSpace(chs[j].Title)
			if chs[j].Title == "" || len(chs[j].Title) > 200 {
				return nil, editErr(i, fmt.Sprintf("value/%d/title", j), "1..200 bytes")
			}
			if s := chs[j].StartSeconds; s < 0 || math.IsNaN(s) || math.IsInf(s, 0) || tr != nil && tr.Duration > 0 && s > tr.Duration {
				return nil, editErr(i, fmt.Sprintf("value/%d/start_seconds", j), "%v is outside the media", s)
			}
		}
		sort.SliceStable(chs, func(a, b int) bool { return chs[a].StartSeconds < chs[b].StartSeconds })
		before := mustJSON(ins.Chapters)
		ins.Chapters = chs
		return before, nil
	case EditTopics:
		var ts []string
		if err := json.Unmarshal(e.Value, &ts); err != nil {
			return nil, editErr(i, "value", "want a list of strings")
		}
		clean, err := cleanList(i, "value", ts)
		if err != nil {
			return nil, err
		}
		before := mustJSON(ins.Topics)
		ins.Topics = clean
		return before, nil
	case EditEntities:
		var en types.Entities
		dec := json.NewDecoder(strings.NewReader(string(e.Value)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&en); err != nil {
			return nil, editErr(i, "value", "want {\"people\": [...], \"organisations\": [...], \"places\": [...]}: %v", err)
		}
		var err error
		if en.People, err = cleanList(i, "value/people", en.People); err != nil {
			return nil, err
		}
		if en.Organisations, err = cleanList(i, "value/organisations", en.Organisations); err != nil {
			return nil, err
		}
		if en.Places, err = cleanList(i, "value/places", en.Places); err != nil {
			return nil, err
		}
		before := mustJSON(ins.Entities)
		ins.Entities = en
		return before, nil
	case EditModeration:
		v, err := str(i, e.Value, false)
		if err != nil {
			return nil, err
		}
		if v != types.VerdictConfirmed && v != types.VerdictDismissed {
			return nil, editErr(i, "value", "%q (want confirmed or dismissed)", v)
		}
		found := false
		var before string
		for j := range ins.Moderation {
			if ins.Moderation[j].Name == e.Label {
				before = ins.Moderation[j].Verdict
				ins.Moderation[j].Verdict = v
				found = true
			}
		}
		if !found {
			return nil, editErr(i, "label", "%q is not a moderation label of this media", e.Label)
		}
		return mustJSON(before), nil
	}
	return nil, editErr(i, "op", "%q (want word, segment, speaker, summary, seo, chapters, topics, entities or moderation)", e.Op)
}

func cleanList(i int, field string, in []string) ([]string, error) {
	if len(in) > maxEditListSize {
		return nil, editErr(i, field, "at most %d entries", maxEditListSize)
	}
	out := []string{}
	seen := map[string]bool{}
	for j, s := range in {
		s = strings.TrimSpace(s)
		if s == "" || len(s) > 200 || !utf8.ValidString(s) {
			return nil, editErr(i, fmt.Sprintf("%s/%d", field, j), "1..200 bytes of UTF-8 text")
		}
		if !seen[strings.ToLower(s)] {
			seen[strings.ToLower(s)] = true
			out = append(out, s)
		}
	}
	return out, nil
}

// segmentOf returns the segment holding word w, or -1.
func segmentOf(tr *types.Transcript, w int) int {
	for i, s := range tr.Segments {
		if w >= s.FirstWord && w < s.FirstWord+s.WordCount {
			return i
		}
	}
	return -1
}

// replaceSegmentWord puts the corrected word into a segment's text. When
// the text has one token per word, the k-th token is replaced keeping its
// punctuation and capital; otherwise the first occurrence of the old word
// is.
func replaceSegmentWord(s *types.Segment, k int, old, repl string) {
	toks := strings.Fields(s.Text)
	if len(toks) == s.WordCount && k >= 0 && k < len(toks) {
		toks[k] = keepShape(toks[k], repl)
		s.Text = strings.Join(toks, " ")
		return
	}
	for j, t := range toks {
		if strings.EqualFold(strings.TrimFunc(t, unicode.IsPunct), strings.TrimFunc(old, unicode.IsPunct)) {
			toks[j] = keepShape(t, repl)
			s.Text = strings.Join(toks, " ")
			return
		}
	}
}

// keepShape returns repl with tok's leading and trailing punctuation, and
// a capital first letter when tok had one.
func keepShape(tok, repl string) string {
	lead := tok[:len(tok)-len(strings.TrimLeftFunc(tok, unicode.IsPunct))]
	trail := tok[len(strings.TrimRightFunc(tok, unicode.IsPunct)):]
	core := strings.TrimFunc(repl, unicode.IsPunct)
	if core == "" {
		return repl
	}
	if r, _ := utf8.DecodeRuneInString(strings.TrimLeftFunc(tok, unicode.IsPunct)); unicode.IsUpper(r) {
		r0, n := utf8.DecodeRuneInString(core)
		core = string(unicode.ToUpper(r0)) + core[n:]
	}
	if strings.TrimFunc(repl, unicode.IsPunct) != repl {
		return repl // the reviewer wrote the punctuation
	}
	return lead + core + trail
}

// retimeSegment sets a segment's text and rebuilds its words: the same
// number of words keep their timings and take the new texts; otherwise
// the new words share the segment's time in proportion to their length.
func retimeSegment(tr *types.Transcript, si int, text string) {
	s := &tr.Segments[si]
	toks := strings.Fields(text)
	s.Text = strings.Join(toks, " ")
	if s.WordCount == len(toks) {
		for k, t := range toks {
			w := &tr.Words[s.FirstWord+k]
			w.Text, w.Confidence = strings.TrimFunc(t, unicode.IsPunct), 1
			if w.Text == "" {
				w.Text = t
			}
		}
		return
	}
	total := 0
	for _, t := range toks {
		total += utf8.RuneCountInString(t) + 1
	}
	words := make([]types.Word, 0, len(toks))
	at := s.Start
	for _, t := range toks {
		d := (s.End - s.Start) * float64(utf8.RuneCountInString(t)+1) / float64(total)
		wt := strings.TrimFunc(t, unicode.IsPunct)
		if wt == "" {
			wt = t
		}
		words = append(words, types.Word{Text: wt, Start: round3(at), End: round3(at + d), Confidence: 1, Speaker: s.Speaker})
		at += d
	}
	if len(words) > 0 {
		words[len(words)-1].End = s.End
	}
	rest := append([]types.Word(nil), tr.Words[s.FirstWord+s.WordCount:]...)
	tr.Words = append(append(tr.Words[:s.FirstWord], words...), rest...)
	shift := len(words) - s.WordCount
	s.WordCount = len(words)
	for j := range tr.Segments {
		if j != si && tr.Segments[j].FirstWord > s.FirstWord {
			tr.Segments[j].FirstWord += shift
		}
	}
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// rebuildText sets the transcript's whole text from its segments.
func rebuildText(tr *types.Transcript) {
	if len(tr.Segments) == 0 {
		ws := make([]string, len(tr.Words))
		for i, w := range tr.Words {
			ws[i] = w.Text
		}
		tr.Text = strings.Join(ws, " ")
		return
	}
	ts := make([]string, 0, len(tr.Segments))
	for _, s := range tr.Segments {
		if s.Text != "" {
			ts = append(ts, s.Text)
		}
	}
	tr.Text = strings.Join(ts, " ")
}

// Clone returns a deep copy of the document.
func (d *ReviewDoc) Clone() *ReviewDoc {
	b, _ := json.Marshal(d)
	var out ReviewDoc
	_ = json.Unmarshal(b, &out)
	if out.Insights == nil {
		out.Insights = &types.Insights{}
	}
	return &out
}
