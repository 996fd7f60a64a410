package nlp

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/types"
)

// ReadableOptions tune Readable.
type ReadableOptions struct {
	// Names are terms whose case the transcript should show: the custom
	// vocabulary, entity names, names read on screen ("Alan Turner",
	// "OpenAI"). Lower-case entries are ignored.
	Names []string
	// CommaGap is the pause inside a sentence, in seconds, that is written
	// as a comma (default 0.25).
	CommaGap float64
	// MaxSentenceWords splits longer segments at their widest pause
	// (default 30).
	MaxSentenceWords int
}

// Readable rewrites a transcript from a recogniser that writes lower-case
// words without punctuation into the form people read: each segment
// becomes a sentence (capitalised, ending in a full stop or, when it opens
// like a question, a question mark), pauses inside a sentence become
// commas, long segments are split at their widest pause, runs of number
// words become digits where that is natural ("twenty five" → "25",
// "twenty twenty six" → "2026", "ten percent" → "10%"), and names take the
// case given in opt.Names. Words keep their times: merged number words
// span from the first one's start to the last one's end and keep the
// lowest confidence.
//
// A transcript that already has punctuation (from a recogniser that writes
// it) only gets the names' case. Readable is idempotent.
func Readable(tr *types.Transcript, opt ReadableOptions) {
	if tr == nil || len(tr.Words) == 0 {
		return
	}
	if opt.CommaGap <= 0 {
		opt.CommaGap = 0.25
	}
	if opt.MaxSentenceWords <= 0 {
		opt.MaxSentenceWords = 30
	}
	names := nameTable(opt.Names)
	if punctuated(tr.Words) {
		applyNames(tr.Words, names)
		rebuildText(tr)
		return
	}
	// Sentences: the segments (pauses and speaker turns), long ones split.
	type span struct{ lo, hi int }
	var sents []span
	segOf := func(lo, hi int) {
		for hi-lo > opt.MaxSentenceWords {
			cut := lo + opt.MaxSentenceWords/2 + widestPause(tr.Words[lo+opt.MaxSentenceWords/2:lo+opt.MaxSentenceWords])
			sents = append(sents, span{lo, cut})
			lo = cut
		}
		if hi > lo {
			sents = append(sents, span{lo, hi})
		}
	}
	if len(tr.Segments) > 0 {
		next := 0
		for _, s := range tr.Segments {
			lo, hi := s.FirstWord, s.FirstWord+s.WordCount
			if lo < next || hi > len(tr.Words) || lo >= hi {
				continue
			}
			if lo > next {
				segOf(next, lo)
			}
			segOf(lo, hi)
			next = hi
		}
		if next < len(tr.Words) {
			segOf(next, len(tr.Words))
		}
	} else {
		lo := 0
		for i := 1; i <= len(tr.Words); i++ {
			if i == len(tr.Words) || tr.Words[i].Start-tr.Words[i-1].End >= 0.5 || tr.Words[i].Speaker != tr.Words[i-1].Speaker {
				segOf(lo, i)
				lo = i
			}
		}
	}
	var words []types.Word
	var segs []types.Segment
	for _, sp := range sents {
		ws := numbersAsDigits(tr.Words[sp.lo:sp.hi])
		first := len(words)
		for i := range ws {
			w := &ws[i]
			if w.Text == "i" || strings.HasPrefix(w.Text, "i'") {
				w.Text = "I" + w.Text[1:]
			}
			if i+1 < len(ws) && i > 0 && ws[i+1].Start-w.End >= opt.CommaGap && !noCommaAfter[strings.ToLower(w.Text)] && !endsPunct(w.Text) {
				w.Text += ","
			}
		}
		applyNames(ws, names)
		ws[0].Text = capitalFirst(ws[0].Text)
		last := &ws[len(ws)-1]
		last.Text = strings.TrimRight(last.Text, ",")
		if !endsPunct(last.Text) {
			if isQuestion(ws) {
				last.Text += "?"
			} else {
				last.Text += "."
			}
		}
		words = append(words, ws...)
		seg := types.Segment{ID: len(segs), Start: ws[0].Start, End: last.End, Speaker: ws[0].Speaker, FirstWord: first, WordCount: len(ws)}
		segs = append(segs, seg)
	}
	tr.Words = words
	tr.Segments = segs
	rebuildText(tr)
}

// rebuildText sets each segment's text from its words and the
// transcript's text from its segments.
func rebuildText(tr *types.Transcript) {
	var all []string
	for i := range tr.Segments {
		s := &tr.Segments[i]
		lo, hi := s.FirstWord, s.FirstWord+s.WordCount
		if lo < 0 || hi > len(tr.Words) || lo >= hi {
			if s.Text != "" {
				all = append(all, s.Text)
			}
			continue
		}
		parts := make([]string, 0, hi-lo)
		for _, w := range tr.Words[lo:hi] {
			parts = append(parts, w.Text)
		}
		s.Text = strings.Join(parts, " ")
		all = append(all, s.Text)
	}
	if len(all) > 0 {
		tr.Text = strings.Join(all, " ")
	}
}

// punctuated reports words that already carry sentence punctuation or
// case beyond "I" (a recogniser that writes them).
func punctuated(ws []types.Word) bool {
	for _, w := range ws {
		t := strings.TrimRight(w.Text, `"')]}»”’`)
		if strings.HasSuffix(t, "?") || strings.HasSuffix(t, "!") || strings.HasSuffix(t, ",") {
			return true
		}
		if strings.HasSuffix(t, ".") && !strings.Contains(strings.TrimSuffix(t, "."), ".") {
			// "storage." but not "u.s."
			return true
		}
	}
	return false
}

func endsPunct(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(".?!…,;:", r)
}

var noCommaAfter = toSet(`a an the and or but of to in on at for with from by as than that which who whose whom my your his her its our their this these those is are was were be been am i we you they he she it not no very so if`)

// questionOpeners start a sentence that is a question when a pronoun or
// article follows ("do you", "is it", "what does"); wh-words on their own.
var (
	whWords   = toSet(`what why how where when who whom whose which`)
	auxWords  = toSet(`do does did is are was were can could would will should shall have has had may might must am isn't aren't don't doesn't didn't can't won't wouldn't couldn't shouldn't`)
	subjWords = toSet(`you we they he she it i there this that these those your our the a an anyone anybody someone`)
)

func isQuestion(ws []types.Word) bool {
	if len(ws) < 2 {
		return false
	}
	a := strings.ToLower(strings.Trim(ws[0].Text, ",.?!"))
	b := strings.ToLower(strings.Trim(ws[1].Text, ",.?!"))
	if whWords[a] {
		// "what we build is…" is a statement; "what does…" a question.
		return auxWords[b] || len(ws) <= 3
	}
	return auxWords[a] && subjWords[b]
}

func capitalFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || !unicode.IsLower(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// nameEntry is a name's lower-case words and their display forms.
type nameEntry struct {
	lower []string
	forms []string
}

// nameTable keeps the names that carry case, longest first.
func nameTable(names []string) []nameEntry {
	var out []nameEntry
	seen := map[string]bool{}
	for _, n := range names {
		fields := strings.Fields(n)
		if len(fields) == 0 || n == strings.ToLower(n) || len(fields) > 6 {
			continue
		}
		e := nameEntry{}
		for _, f := range fields {
			f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if f == "" {
				continue
			}
			e.lower = append(e.lower, strings.ToLower(f))
			e.forms = append(e.forms, f)
		}
		key := strings.Join(e.lower, " ")
		if len(e.lower) == 0 || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, e)
	}
	// Longest first, so "Red Cross Society" wins over "Red Cross".
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j].lower) > len(out[j-1].lower); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// applyNames gives words that spell a name the name's case, keeping any
// punctuation around each word.
func applyNames(ws []types.Word, names []nameEntry) {
	if len(names) == 0 {
		return
	}
	core := func(s string) (pre, mid, post string) {
		start := strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		if start < 0 {
			return s, "", ""
		}
		end := strings.LastIndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
		_, n := utf8.DecodeRuneInString(s[end:])
		return s[:start], s[start : end+n], s[end+n:]
	}
	for i := 0; i < len(ws); i++ {
		for _, e := range names {
			if i+len(e.lower) > len(ws) {
				continue
			}
			ok := true
			for k, l := range e.lower {
				_, mid, _ := core(ws[i+k].Text)
				if strings.ToLower(mid) != l {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			for k := range e.lower {
				pre, _, post := core(ws[i+k].Text)
				ws[i+k].Text = pre + e.forms[k] + post
			}
			i += len(e.lower) - 1
			break
		}
	}
}

var (
	unitWords = map[string]int{"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
		"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
		"eighteen": 18, "nineteen": 19}
	tensWords  = map[string]int{"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
	scaleWords = map[string]int{"thousand": 1000, "million": 1000000, "billion": 1000000000}
)

// twoDigit parses a group of one or two words worth 10..99 ("twenty",
// "twenty six", "nineteen") at ws[i:], returning its value and length.
func twoDigit(ws []string, i int) (int, int) {
	if i >= len(ws) {
		return 0, 0
	}
	if v, ok := unitWords[ws[i]]; ok && v >= 10 {
		return v, 1
	}
	if t, ok := tensWords[ws[i]]; ok {
		if i+1 < len(ws) {
			if u, ok := unitWords[ws[i+1]]; ok && u >= 1 && u <= 9 {
				return t + u, 2
			}
		}
		return t, 1
	}
	return 0, 0
}

// parseNumber reads the longest number at ws[i:] ("two thousand and
// twenty six", "four hundred", "nineteen eighty four" as a year). It
// returns the value, the words used, and whether it reads as a year.
func parseNumber(ws []string, i int) (value, used int, year bool) {
	// A year spoken in pairs: "nineteen eighty four", "twenty twenty six".
	if a, n := twoDigit(ws, i); n > 0 && a >= 11 {
		if b, m := twoDigit(ws, i+n); m > 0 && (a < 20 || a == 20) {
			return a*100 + b, n + m, true
		}
	}
	total, cur, j := 0, 0, i
	last := "" // kind of the last word: unit, teen, tens, hundred, scale, and
	for j < len(ws) {
		w := ws[j]
		switch {
		case w == "and" && (last == "hundred" || last == "scale") && j+1 < len(ws) && (unitWords[ws[j+1]] > 0 || tensWords[ws[j+1]] > 0):
			last = "and"
		case unitWords[w] > 0 || w == "zero":
			v := unitWords[w]
			if last == "unit" || last == "teen" || (last == "tens" && v >= 10) || (w == "zero" && last != "") {
				return finish(total, cur, j-i, last)
			}
			cur += v
			if v >= 10 {
				last = "teen"
			} else {
				last = "unit"
			}
		case tensWords[w] > 0:
			if last == "unit" || last == "teen" || last == "tens" {
				return finish(total, cur, j-i, last)
			}
			cur += tensWords[w]
			last = "tens"
		case w == "hundred":
			if cur == 0 || cur >= 100 || last == "hundred" {
				return finish(total, cur, j-i, last)
			}
			cur *= 100
			last = "hundred"
		case scaleWords[w] > 0:
			if cur == 0 || last == "scale" {
				return finish(total, cur, j-i, last)
			}
			total += cur * scaleWords[w]
			cur = 0
			last = "scale"
		default:
			return finish(total, cur, j-i, last)
		}
		j++
	}
	return finish(total, cur, j-i, last)
}

func finish(total, cur, used int, last string) (int, int, bool) {
	if last == "and" {
		used--
	}
	return total + cur, used, false
}

// numbersAsDigits returns ws with runs of number words written as digits
// where that reads naturally: values of ten and more, any run of two or
// more words, and any number before "percent". "one" alone (a pronoun as
// often as a number) and other single words under ten stay words.
func numbersAsDigits(in []types.Word) []types.Word {
	lower := make([]string, len(in))
	for i, w := range in {
		lower[i] = strings.ToLower(strings.TrimRight(w.Text, ",.?!"))
	}
	out := make([]types.Word, 0, len(in))
	for i := 0; i < len(in); {
		v, n, _ := parseNumber(lower, i)
		if n == 0 {
			out = append(out, in[i])
			i++
			continue
		}
		pct := i+n < len(in) && lower[i+n] == "percent"
		if n == 1 && v < 10 && !pct {
			out = append(out, in[i])
			i++
			continue
		}
		text := strconv.Itoa(v)
		end := i + n
		if pct {
			text += "%"
			end++
		}
		w := in[i]
		w.Text = text + trailingPunct(in[end-1].Text)
		w.End = in[end-1].End
		for _, x := range in[i+1 : end] {
			w.Confidence = min(w.Confidence, x.Confidence)
		}
		out = append(out, w)
		i = end
	}
	return out
}

func trailingPunct(s string) string {
	t := strings.TrimRight(s, ",.?!")
	return s[len(t):]
}

// NamesFor lists the names whose case a transcript should show: the
// custom vocabulary, the entities found, and the words on-screen text
// writes with a capital inside a sentence-case line or in an unusual case
// ("OpenAI", "AWS", "Step Functions" in "Files go to Step Functions").
// Title-case lines ("Media Pipelines 101") say nothing about case and are
// skipped.
func NamesFor(vocabulary []string, e types.Entities, ocr []types.OCRText) []string {
	var out []string
	out = append(out, vocabulary...)
	out = append(out, e.People...)
	out = append(out, e.Organisations...)
	out = append(out, e.Places...)
	for _, o := range ocr {
		if o.Confidence > 0 && o.Confidence < minScreenConfidence {
			continue
		}
		for _, line := range strings.Split(o.Text, "\n") {
			fields := strings.Fields(line)
			// A title-case line: most words after the first capitalised.
			caps, letters := 0, 0
			for _, f := range fields[min(1, len(fields)):] {
				if r, _ := utf8.DecodeRuneInString(f); unicode.IsLetter(r) {
					letters++
					if unicode.IsUpper(r) {
						caps++
					}
				}
			}
			title := caps*2 > letters
			var run []string
			flush := func() {
				if len(run) > 0 {
					out = append(out, strings.Join(run, " "))
					run = nil
				}
			}
			for i, f := range fields {
				t := strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
				if t == "" {
					flush()
					continue
				}
				upperInside := strings.IndexFunc(t[1:], unicode.IsUpper) >= 0 && len(t) > 1
				r, _ := utf8.DecodeRuneInString(t)
				capital := unicode.IsUpper(r) && i > 0 && !title && !isStopword(strings.ToLower(t))
				if upperInside || capital {
					run = append(run, t)
				} else {
					flush()
				}
				if t != f { // punctuation ends a name
					flush()
				}
			}
			flush()
		}
	}
	return out
}
