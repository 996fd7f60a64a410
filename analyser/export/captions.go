package export

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/landfall/landfall/types"
)

// Cue is one caption: a time span, its speaker and its lines (plain text,
// not yet escaped).
type Cue struct {
	Start, End float64
	Speaker    string
	Lines      []string
}

// Cues groups t's words into captions: a new cue at every speaker change,
// at pauses of Options.PauseSplit seconds, before a cue would pass
// MaxCueSeconds, and when its text no longer fits MaxLines lines of
// MaxLineChars characters (SRT's "Name: " prefix counts when speaker
// labels are shown). A word longer than a line is cut across lines.
func Cues(t *types.Transcript, o Options, prefixSpeaker bool) []Cue {
	o = o.withDefaults()
	toks := splitLong(tokens(t), o.MaxLineChars)
	var cues []Cue
	var cur []token
	flush := func() {
		if len(cur) == 0 {
			return
		}
		c := Cue{Start: cur[0].start, End: cur[len(cur)-1].end, Speaker: cur[0].speaker}
		prefix := ""
		if prefixSpeaker && !o.NoSpeakers && c.Speaker != "" {
			prefix = o.speaker(t, c.Speaker) + ": "
		}
		c.Lines = wrap(prefix, cur, o.MaxLineChars)
		cues = append(cues, c)
		cur = nil
	}
	fits := func(next token) bool {
		prefix := ""
		if prefixSpeaker && !o.NoSpeakers && next.speaker != "" {
			prefix = o.speaker(t, next.speaker) + ": "
		}
		return len(wrap(prefix, append(cur[:len(cur):len(cur)], next), o.MaxLineChars)) <= o.MaxLines
	}
	for _, tk := range toks {
		if len(cur) > 0 {
			last := cur[len(cur)-1]
			switch {
			case tk.speaker != last.speaker,
				tk.start-last.end >= o.PauseSplit,
				tk.end-cur[0].start > o.MaxCueSeconds,
				!fits(tk):
				flush()
			case last.punct != "" && strings.ContainsAny(last.punct, ".?!") && len(cur) >= 3 && cueChars(cur) > o.MaxLineChars:
				// A sentence ended and the cue is already a line long: a
				// new sentence starts a new cue rather than a dangling word.
				flush()
			}
		}
		cur = append(cur, tk)
	}
	flush()
	// Give very short cues a little more time to be read, never
	// overlapping the next cue.
	for i := range cues {
		minEnd := cues[i].Start + 1.0
		if i+1 < len(cues) {
			minEnd = math.Min(minEnd, cues[i+1].Start)
		} else if t.Duration > 0 {
			minEnd = math.Min(minEnd, t.Duration)
		}
		if cues[i].End < minEnd {
			cues[i].End = minEnd
		}
		if cues[i].End <= cues[i].Start {
			cues[i].End = cues[i].Start + 0.001
		}
	}
	return cues
}

// splitLong cuts words longer than a line into line-sized pieces that
// share the word's time in proportion, so no cue needs a third line.
func splitLong(ts []token, max int) []token {
	var out []token
	for _, t := range ts {
		w := []rune(t.text + t.punct)
		if len(w) <= max {
			out = append(out, t)
			continue
		}
		n := (len(w) + max - 1) / max
		span := t.end - t.start
		for i := 0; i < n; i++ {
			p := t
			p.text, p.punct = string(w[i*max:min(len(w), (i+1)*max)]), ""
			p.start = t.start + span*float64(i)/float64(n)
			p.end = t.start + span*float64(i+1)/float64(n)
			out = append(out, p)
		}
	}
	return out
}

func cueChars(ts []token) int {
	n := 0
	for _, t := range ts {
		n += utf8.RuneCountInString(t.text+t.punct) + 1
	}
	return n
}

// wrap fills lines greedily to max characters; prefix starts line one.
func wrap(prefix string, ts []token, max int) []string {
	var lines []string
	line := prefix
	for _, t := range ts {
		w := t.text + t.punct
		for utf8.RuneCountInString(w) > max { // cut an overlong word
			if line != "" && line != prefix {
				lines = append(lines, strings.TrimRight(line, " "))
				line = ""
			}
			room := max - utf8.RuneCountInString(line)
			if room <= 0 {
				lines = append(lines, strings.TrimRight(line, " "))
				line, room = "", max
			}
			cut := byteIndexOfRune(w, room)
			lines = append(lines, line+w[:cut])
			line, w = "", w[cut:]
		}
		switch {
		case line == "" || line == prefix:
			if utf8.RuneCountInString(line+w) > max {
				lines = append(lines, strings.TrimRight(line, " "))
				line = w
			} else {
				line += w
			}
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) <= max:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func byteIndexOfRune(s string, n int) int {
	i := 0
	for k := range s {
		if i == n {
			return k
		}
		i++
	}
	return len(s)
}

// FormatVTTTime renders seconds as a WebVTT timestamp hh:mm:ss.ttt
// (rounded to the millisecond; negative times clamp to zero).
func FormatVTTTime(sec float64) string { return clock(sec, '.') }

// FormatSRTTime renders seconds as an SRT timestamp HH:MM:SS,mmm.
func FormatSRTTime(sec float64) string { return clock(sec, ',') }

func clock(sec float64, sep byte) string {
	if !(sec > 0) || math.IsInf(sec, 0) {
		sec = 0
	}
	ms := int64(math.Round(sec * 1000))
	h := ms / 3600000
	m := ms / 60000 % 60
	s := ms / 1000 % 60
	return fmt.Sprintf("%02d:%02d:%02d%c%03d", h, m, s, sep, ms%1000)
}

// ParseVTTTime parses a WebVTT timestamp: [hh:]mm:ss.ttt with hours of
// two or more digits, minutes and seconds below 60.
func ParseVTTTime(s string) (float64, error) { return parseClock(s, '.', false) }

// ParseSRTTime parses an SRT timestamp HH:MM:SS,mmm.
func ParseSRTTime(s string) (float64, error) { return parseClock(s, ',', true) }

func parseClock(s string, sep byte, hoursRequired bool) (float64, error) {
	bad := func(why string) (float64, error) {
		return 0, fmt.Errorf("timestamp %q: %s", s, why)
	}
	i := strings.IndexByte(s, sep)
	if i < 0 || len(s)-i-1 != 3 {
		return bad(fmt.Sprintf("want three digits of milliseconds after %q", sep))
	}
	fracPart := s[i+1:]
	parts := strings.Split(s[:i], ":")
	if len(parts) < 2 || len(parts) > 3 || (hoursRequired && len(parts) != 3) {
		return bad("want hh:mm:ss")
	}
	// digits parses an unsigned decimal of exactly n digits, or of n or
	// more when atLeast.
	digits := func(p string, n int, atLeast bool) (int64, bool) {
		if len(p) < n || (!atLeast && len(p) != n) || len(p) > 10 {
			return 0, false
		}
		for _, c := range p {
			if c < '0' || c > '9' {
				return 0, false
			}
		}
		v, err := strconv.ParseInt(p, 10, 64)
		return v, err == nil
	}
	var h int64
	if len(parts) == 3 {
		v, ok := digits(parts[0], 2, true)
		if !ok {
			return bad("hours must be two or more digits")
		}
		h = v
		parts = parts[1:]
	}
	m, ok1 := digits(parts[0], 2, false)
	sec, ok2 := digits(parts[1], 2, false)
	ms, ok3 := digits(fracPart, 3, false)
	if !ok1 || !ok2 || !ok3 || m > 59 || sec > 59 {
		return bad("minutes and seconds must be two digits below 60")
	}
	return float64(h*3600000+m*60000+sec*1000+ms) / 1000, nil
}

// vttEscape escapes text for a cue payload.
func vttEscape(s string) string {
	s = strings.ReplaceAll(s, "&", "&amp;")
	s = strings.ReplaceAll(s, "<", "&lt;")
	s = strings.ReplaceAll(s, ">", "&gt;")
	return s
}

// WriteVTT writes WebVTT captions; speakers appear as voice spans
// by display name (<v Speaker 1>, or the name a reviewer gave) unless
// Options.NoSpeakers.
func WriteVTT(w io.Writer, t *types.Transcript, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriter(w)
	bw.WriteString("WEBVTT\n")
	for i, c := range Cues(t, o, false) {
		fmt.Fprintf(bw, "\n%d\n%s --> %s\n", i+1, FormatVTTTime(c.Start), FormatVTTTime(c.End))
		for k, l := range c.Lines {
			if k == 0 && c.Speaker != "" && !o.NoSpeakers {
				// The annotation cannot hold '>' and must not break the tag.
				name := strings.NewReplacer(">", "", "<", "", "&", "&amp;", "\n", " ").Replace(o.speaker(t, c.Speaker))
				fmt.Fprintf(bw, "<v %s>", name)
			}
			bw.WriteString(strings.ReplaceAll(vttEscape(l), "-->", "--&gt;"))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// WriteSRT writes SubRip captions; a cue's speaker is shown as a
// "Speaker 1: " prefix (or the name a reviewer gave) unless
// Options.NoSpeakers.
func WriteSRT(w io.Writer, t *types.Transcript, o Options) error {
	o = o.withDefaults()
	bw := bufio.NewWriter(w)
	for i, c := range Cues(t, o, true) {
		if i > 0 {
			bw.WriteByte('\n')
		}
		fmt.Fprintf(bw, "%d\n%s --> %s\n", i+1, FormatSRTTime(c.Start), FormatSRTTime(c.End))
		for _, l := range c.Lines {
			// A blank line would end the block early, and an arrow in the
			// text would read as a timing line to lenient parsers.
			if strings.TrimSpace(l) == "" {
				continue
			}
			bw.WriteString(strings.ReplaceAll(l, "-->", "->"))
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}

// WriteVTTChapters writes the chapters as a WebVTT chapters track (cue
// text = chapter title); each chapter ends where the next starts, the
// last at duration (or one minute after its start when unknown).
func WriteVTTChapters(w io.Writer, ins *types.Insights, duration float64) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("WEBVTT\n")
	cs := sortedChapters(ins)
	for i, c := range cs {
		end := duration
		if i+1 < len(cs) {
			end = cs[i+1].StartSeconds
		}
		if end <= c.StartSeconds {
			end = c.StartSeconds + 60
		}
		title := strings.Join(strings.Fields(c.Title), " ")
		if title == "" {
			title = fmt.Sprintf("Chapter %d", i+1)
		}
		fmt.Fprintf(bw, "\nchapter-%d\n%s --> %s\n%s\n", i+1, FormatVTTTime(c.StartSeconds), FormatVTTTime(end),
			strings.ReplaceAll(vttEscape(title), "-->", "--&gt;"))
	}
	return bw.Flush()
}
