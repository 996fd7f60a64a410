// Package nlp holds Landfall's offline language analysers: the local
// summariser (entities, key phrases, an extractive summary, chapters by
// topic segmentation, an SEO description) and language detection. All of
// it is pure Go and deterministic; nothing is downloaded.
package nlp

import (
	"strings"
	"unicode"

	"github.com/landfall/landfall/types"
)

// Sentence is a unit of text with the time it starts (seconds; 0 for text
// without timing, such as OCR).
type Sentence struct {
	Text  string
	Start float64
	End   float64
	// Tokens are the lower-cased word tokens of Text.
	Tokens []string
	// Source is where the sentence came from: SourceSpeech, SourceScreen
	// or "" (plain text).
	Source string
	// Unsure counts the words the recogniser was unsure of (and no other
	// signal confirms).
	Unsure int
	words  []types.Word // the recognised words, for speech
}

// maxSentenceWords splits run-on ASR segments (recognisers without
// punctuation produce long ones) into sentence-sized pieces.
const maxSentenceWords = 30

// SentencesFromTranscript splits a transcript into sentences: at sentence
// punctuation when the recogniser produced it, otherwise at the
// transcript's segments (pauses and speaker turns), with long segments cut
// at the widest pause.
func SentencesFromTranscript(tr *types.Transcript) []Sentence {
	if tr == nil {
		return nil
	}
	var out []Sentence
	flush := func(words []types.Word) {
		if len(words) == 0 {
			return
		}
		for len(words) > maxSentenceWords {
			cut := widestPause(words[maxSentenceWords/2 : maxSentenceWords])
			cut += maxSentenceWords / 2
			out = append(out, sentenceOf(words[:cut]))
			words = words[cut:]
		}
		out = append(out, sentenceOf(words))
	}
	if len(tr.Segments) > 0 {
		for _, seg := range tr.Segments {
			lo, hi := seg.FirstWord, seg.FirstWord+seg.WordCount
			if lo < 0 || hi > len(tr.Words) || lo >= hi {
				continue
			}
			var cur []types.Word
			for _, w := range tr.Words[lo:hi] {
				cur = append(cur, w)
				if endsSentence(w.Text) {
					flush(cur)
					cur = nil
				}
			}
			flush(cur)
		}
		return out
	}
	var cur []types.Word
	for i, w := range tr.Words {
		if i > 0 && len(cur) > 0 && w.Start-tr.Words[i-1].End > 0.6 {
			flush(cur)
			cur = nil
		}
		cur = append(cur, w)
		if endsSentence(w.Text) {
			flush(cur)
			cur = nil
		}
	}
	flush(cur)
	return out
}

func widestPause(words []types.Word) int {
	best, at := -1.0, len(words)
	for i := 1; i < len(words); i++ {
		if gap := words[i].Start - words[i-1].End; gap > best {
			best, at = gap, i
		}
	}
	return at
}

func sentenceOf(words []types.Word) Sentence {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = w.Text
	}
	text := strings.Join(parts, " ")
	return Sentence{Text: text, Start: words[0].Start, End: words[len(words)-1].End, Tokens: Tokenize(text), words: words}
}

func endsSentence(w string) bool {
	return strings.HasSuffix(w, ".") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, "!")
}

// SentencesFromText splits plain text (OCR lines, a description) into
// sentences at sentence punctuation and line breaks.
func SentencesFromText(text string) []Sentence {
	var out []Sentence
	for _, line := range strings.Split(text, "\n") {
		start := 0
		rs := []rune(line)
		for i, r := range rs {
			if (r == '.' || r == '?' || r == '!') && (i+1 == len(rs) || unicode.IsSpace(rs[i+1])) {
				if s := strings.TrimSpace(string(rs[start : i+1])); s != "" {
					out = append(out, Sentence{Text: s, Tokens: Tokenize(s)})
				}
				start = i + 1
			}
		}
		if s := strings.TrimSpace(string(rs[start:])); s != "" {
			out = append(out, Sentence{Text: s, Tokens: Tokenize(s)})
		}
	}
	return out
}

// Tokenize returns the lower-cased word tokens of s: letters and digits,
// keeping inner apostrophes and hyphens ("don't", "state-of-the-art").
func Tokenize(s string) []string {
	var out []string
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case (r == '\'' || r == '’' || r == '-') && b.Len() > 0 && i+1 < len(rs) && (unicode.IsLetter(rs[i+1]) || unicode.IsDigit(rs[i+1])):
			if r == '’' {
				r = '\''
			}
			b.WriteRune(r)
		default:
			if b.Len() > 0 {
				out = append(out, b.String())
				b.Reset()
			}
		}
	}
	if b.Len() > 0 {
		out = append(out, b.String())
	}
	return out
}

// words splits s at spaces, keeping each word's original form (case and
// punctuation) for entity detection.
func words(s string) []string { return strings.Fields(s) }

// stem reduces an English word to a crude stem so that "analyses",
// "analysis" and "analysing" meet. It is deliberately light: good enough for
// term overlap, never shown to users.
func stem(w string) string {
	if len(w) <= 4 {
		return w
	}
	for _, suf := range []string{"ational", "ations", "ation", "ings", "ing", "ies", "ied", "ness", "ment", "ers", "er", "es", "ed", "ly", "s"} {
		if strings.HasSuffix(w, suf) && len(w)-len(suf) >= 3 {
			base := w[:len(w)-len(suf)]
			if suf == "ies" || suf == "ied" {
				base += "y"
			}
			return base
		}
	}
	return w
}

// countWords counts whitespace-separated words.
func countWords(s string) int { return len(strings.Fields(s)) }

// truncateWords returns s cut to at most n words.
func truncateWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return strings.Join(f, " ")
	}
	return strings.Join(f[:n], " ")
}

// truncateChars cuts s at a word boundary to at most n bytes, adding an
// ellipsis when it cut.
func truncateChars(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndexByte(s[:n-len("…")+1], ' ')
	if cut <= 0 {
		cut = n - len("…")
		for cut > 0 && !utf8Start(s[cut]) {
			cut--
		}
	}
	return strings.TrimRight(s[:cut], " ,;:-") + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// titleCase capitalises each word of a phrase ("media pipeline" → "Media
// Pipeline"), leaving short function words lower-case except first.
func titleCase(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		if i > 0 && isStopword(w) {
			continue
		}
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		f[i] = string(rs)
	}
	return strings.Join(f, " ")
}

// sentenceCase capitalises the first letter and ends with a full stop.
func sentenceCase(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	rs := []rune(s)
	rs[0] = unicode.ToUpper(rs[0])
	s = string(rs)
	if !strings.ContainsAny(s[len(s)-1:], ".?!…") {
		s += "."
	}
	return s
}
