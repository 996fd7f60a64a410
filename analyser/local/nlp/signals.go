package nlp

import (
	"math"
	"sort"
	"strings"

	"github.com/landfall/landfall/types"
)

// LowConfidence is the recogniser confidence below which a recognised word
// is treated as unsure: the summariser keeps it out of the summary, topics,
// chapter titles and entities unless another signal (on-screen text, a
// visual label) says the same word. The web UI marks such words with the
// same threshold.
const LowConfidence = 0.5

// minScreenConfidence is the OCR confidence (0..100) from which on-screen
// text counts as a trusted source.
const minScreenConfidence = 60

// Source names where a sentence came from.
const (
	SourceSpeech = "speech"
	SourceScreen = "screen"
)

// signals are the summariser's inputs, sorted by trust: on-screen text,
// labels and the recognised words, each word with whether it is unsure.
type signals struct {
	speech []Sentence // transcript sentences, with Unsure counts
	screen []Sentence // OCR lines with the time they appear
	// clean are speech fragments cut at unsure words: the text entities,
	// topics and chapter titles are drawn from, besides the screen.
	clean []Sentence
	// trusted are the lower-case tokens some source other than an unsure
	// recognition vouches for: screen text, labels and confidently
	// recognised words.
	trusted map[string]bool
}

// gatherSignals reads the sources into sentences with their provenance.
func gatherSignals(src Sources) signals {
	var sg signals
	sg.trusted = map[string]bool{}
	for _, o := range src.OCR {
		if o.Confidence > 0 && o.Confidence < minScreenConfidence {
			continue
		}
		for _, s := range SentencesFromText(o.Text) {
			if len(s.Tokens) == 0 {
				continue
			}
			s.Start, s.End, s.Source = o.First, o.Last, SourceScreen
			sg.screen = append(sg.screen, s)
			for _, t := range s.Tokens {
				sg.trusted[t] = true
			}
		}
	}
	for _, l := range src.Labels {
		if l.Confidence >= 80 {
			for _, t := range Tokenize(l.Name) {
				sg.trusted[t] = true
			}
		}
	}
	sg.speech = SentencesFromTranscript(src.Transcript)
	if src.Transcript == nil {
		return sg
	}
	words := src.Transcript.Words
	for _, w := range words {
		if w.Confidence >= LowConfidence {
			for _, t := range Tokenize(w.Text) {
				sg.trusted[t] = true
			}
		}
	}
	for i := range sg.speech {
		s := &sg.speech[i]
		s.Source = SourceSpeech
		var frag []types.Word
		flush := func() {
			if len(frag) > 0 {
				f := sentenceOf(frag)
				f.Source = SourceSpeech
				sg.clean = append(sg.clean, f)
				frag = nil
			}
		}
		for _, w := range s.words {
			if unsure(w, sg.trusted) {
				s.Unsure++
				flush()
				continue
			}
			frag = append(frag, w)
		}
		flush()
	}
	return sg
}

// unsure reports a word the recogniser was unsure of and no other signal
// confirms. Words without a confidence (0 from engines that give none) are
// not counted as unsure.
func unsure(w types.Word, trusted map[string]bool) bool {
	if w.Confidence <= 0 || w.Confidence >= LowConfidence {
		return false
	}
	for _, t := range Tokenize(w.Text) {
		if !trusted[t] {
			return true
		}
	}
	return false
}

// Report says where the summary came from: how many of its words are
// words the recogniser was unsure of, and how many sentences each source
// gave.
type Report struct {
	SummaryWords       int `json:"summary_words"`
	UnsureSummaryWords int `json:"unsure_summary_words"`
	SpeechSentences    int `json:"speech_sentences"`
	ScreenSentences    int `json:"screen_sentences"`
}

// pickSummary chooses sentences for the summary from every signal: the
// screen's and the speech's sentences are ranked together by TextRank (a
// slide and the narration that says the same thing reinforce each other);
// a speech sentence holding a word the recogniser was unsure of is left
// out whenever a better source exists, and a sentence that repeats one
// already chosen is skipped. The chosen sentences keep their time order.
func pickSummary(sg signals, keys []Phrase, maxWords int) (string, Report) {
	var pool []Sentence
	confident := 0
	for _, s := range sg.speech {
		if s.Unsure == 0 {
			confident++
		}
	}
	better := len(sg.screen) > 0 || confident > 0
	for _, s := range sg.speech {
		if s.Unsure > 0 && better {
			continue
		}
		pool = append(pool, s)
	}
	pool = append(pool, sg.screen...)
	if len(pool) == 0 {
		return "", Report{}
	}
	score := rankSentences(pool, keys)
	vec := vectors(pool)
	// Slides: enough on-screen text to carry the subject. The recogniser
	// is then checked against it: a confident word can still be wrong
	// ("speech victims are trouble text"), so speech sentences count by
	// how much of what they say the screen confirms.
	screenWords := map[string]bool{}
	for _, s := range sg.screen {
		for _, t := range s.Tokens {
			if !isStopword(t) && len(t) > 2 {
				screenWords[stem(t)] = true
			}
		}
	}
	slides := len(sg.screen) >= 3 && len(screenWords) >= 8
	for i, s := range pool {
		switch {
		case s.Source == SourceScreen && slides:
			score[i] *= 2
		case s.Source == SourceScreen:
			// On-screen text is near perfect; captions are short, which
			// rankSentences already halves.
			score[i] *= 1.3
		default:
			if n := len(s.words); n > 0 {
				score[i] *= 1 - 0.8*float64(s.Unsure)/float64(n)
			}
			if slides {
				score[i] *= 0.3 + corroboration(s, screenWords)
			}
		}
	}
	idx := make([]int, len(pool))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return score[idx[a]] > score[idx[b]] })
	var chosen []int
	used := 0
	for _, i := range idx {
		w := countWords(pool[i].Text)
		if used+w > maxWords {
			continue
		}
		dup := false
		for _, j := range chosen {
			if cosine(vec[i], vec[j]) > 0.6 || sameTokens(pool[i].Tokens, pool[j].Tokens) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		chosen = append(chosen, i)
		used += w
		if used >= maxWords*3/4 {
			break
		}
	}
	var rep Report
	if len(chosen) == 0 {
		s := pool[idx[0]]
		text := truncateWords(s.Text, maxWords-1)
		rep = Report{SummaryWords: countWords(text)}
		if s.Source == SourceScreen {
			rep.ScreenSentences = 1
		} else {
			rep.SpeechSentences = 1
			rep.UnsureSummaryWords = unsureIn(s, countWords(text), sg.trusted)
		}
		return sentenceCase(text), rep
	}
	sort.SliceStable(chosen, func(a, b int) bool {
		sa, sb := pool[chosen[a]], pool[chosen[b]]
		if sa.Start != sb.Start {
			return sa.Start < sb.Start
		}
		return chosen[a] < chosen[b]
	})
	parts := make([]string, len(chosen))
	for k, i := range chosen {
		s := pool[i]
		parts[k] = sentenceCase(s.Text)
		rep.SummaryWords += countWords(s.Text)
		if s.Source == SourceScreen {
			rep.ScreenSentences++
		} else {
			rep.SpeechSentences++
			rep.UnsureSummaryWords += s.Unsure
		}
	}
	return strings.Join(parts, " "), rep
}

// unsureIn counts the unsure words among the first n words of s.
func unsureIn(s Sentence, n int, trusted map[string]bool) int {
	c := 0
	for i, w := range s.words {
		if i == n {
			break
		}
		if unsure(w, trusted) {
			c++
		}
	}
	return c
}

func sameTokens(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// mentions finds where each entity is said (in the recognised words) and
// shown (in on-screen text).
func mentions(e types.Entities, tr *types.Transcript, ocr []types.OCRText) []types.EntityMention {
	var out []types.EntityMention
	add := func(kind string, names []string) {
		for _, name := range names {
			want := Tokenize(name)
			if len(want) == 0 {
				continue
			}
			m := types.EntityMention{Name: name, Type: kind, Times: []types.Mention{}}
			if tr != nil {
				m.Times = append(m.Times, spoken(tr.Words, want)...)
			}
			for _, o := range ocr {
				if containsSeq(Tokenize(o.Text), want) {
					m.Times = append(m.Times, types.Mention{Start: o.First, End: o.Last, Source: SourceScreen})
				}
			}
			sort.SliceStable(m.Times, func(i, j int) bool { return m.Times[i].Start < m.Times[j].Start })
			out = append(out, m)
		}
	}
	add("person", e.People)
	add("organisation", e.Organisations)
	add("place", e.Places)
	return out
}

// spoken returns the spans of words whose tokens spell want.
func spoken(words []types.Word, want []string) []types.Mention {
	var flat []string
	var owner []int
	for i, w := range words {
		for _, t := range Tokenize(w.Text) {
			flat = append(flat, t)
			owner = append(owner, i)
		}
	}
	var out []types.Mention
	for i := 0; i+len(want) <= len(flat); i++ {
		if sameTokens(flat[i:i+len(want)], want) {
			a, b := words[owner[i]], words[owner[i+len(want)-1]]
			out = append(out, types.Mention{Start: round3(a.Start), End: round3(b.End), Source: SourceSpeech})
			i += len(want) - 1
		}
	}
	return out
}

func containsSeq(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		if sameTokens(have[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

// seoDescription writes a line for search engines, not a copy of the
// summary: what the media is about (its title, then its topics) and who
// and what it names, at most 160 characters.
func seoDescription(title string, topics []string, e types.Entities, summary string) string {
	var b strings.Builder
	if title != "" {
		b.WriteString(strings.TrimRight(title, ".:;, "))
	}
	var about []string
	for _, t := range topics {
		if title != "" && strings.Contains(strings.ToLower(title), t) {
			continue
		}
		about = append(about, t)
		if len(about) == 4 {
			break
		}
	}
	if len(about) > 0 {
		if b.Len() > 0 {
			b.WriteString(": ")
			b.WriteString(joinAnd(about))
		} else {
			b.WriteString(upperFirst(joinAnd(about)))
		}
	}
	var names []string
	names = append(names, e.People...)
	names = append(names, e.Organisations...)
	if len(names) > 4 {
		names = names[:4]
	}
	if len(names) > 0 {
		if b.Len() > 0 {
			b.WriteString(", with ")
		} else {
			b.WriteString("With ")
		}
		b.WriteString(joinAnd(names))
	}
	if len(e.Places) > 0 {
		ps := e.Places
		if len(ps) > 3 {
			ps = ps[:3]
		}
		if b.Len() > 0 {
			b.WriteString(" in ")
		} else {
			b.WriteString("In ")
		}
		b.WriteString(joinAnd(ps))
	}
	out := b.String()
	if out == "" {
		return truncateChars(summary, 160)
	}
	return truncateChars(sentenceCase(out), 160)
}

func joinAnd(xs []string) string {
	switch len(xs) {
	case 0:
		return ""
	case 1:
		return xs[0]
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	rs := []rune(s)
	rs[0] = []rune(strings.ToUpper(string(rs[0])))[0]
	return string(rs)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// corroboration is the share of a sentence's content words that the
// screen also shows.
func corroboration(s Sentence, screen map[string]bool) float64 {
	n, hit := 0, 0
	for _, t := range s.Tokens {
		if isStopword(t) || len(t) <= 2 {
			continue
		}
		n++
		if screen[stem(t)] {
			hit++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(hit) / float64(n)
}
