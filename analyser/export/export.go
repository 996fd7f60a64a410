// Package export renders one types.Transcript (and types.Insights for
// chapters) in every transcript format Landfall serves: its own
// transcript JSON, WebVTT and SubRip captions with speaker labels, a
// WebVTT chapters track, Podcasting 2.0 chapters and transcript JSON, the
// Amazon Transcribe batch output shape and OpenAI's verbose_json.
//
// Every writer streams to an io.Writer, item by item. Times are float
// seconds inside Landfall and convert at this edge: caption clocks for
// WebVTT/SRT, decimal strings for Transcribe, float seconds elsewhere.
package export

import (
	"bufio"
	"bytes"
	"encoding/json"

	"io"
	"math"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Options tune the exports; the zero value gives the defaults.
type Options struct {
	// Caption cue limits: characters per line (42), lines per cue (2),
	// seconds per cue (7); a pause of PauseSplit seconds (0.8) or a
	// speaker change always starts a new cue.
	MaxLineChars  int
	MaxLines      int
	MaxCueSeconds float64
	PauseSplit    float64
	// NoSpeakers leaves speaker labels out of captions.
	NoSpeakers bool
	// SpeakerNames maps labels (spk_0) to display names. A label without
	// one here shows the name the transcript gives its speaker (a
	// reviewer's rename), else "Speaker N" (spk_0 is "Speaker 1"), as the
	// web UI shows it.
	SpeakerNames map[string]string

	// Title, Description and FileName fill the Podcasting 2.0 chapters
	// root; Description defaults to the insights summary.
	Title, Description, FileName string

	// JobName and AccountID fill the Transcribe output's top level.
	JobName, AccountID string
}

func (o Options) withDefaults() Options {
	if o.MaxLineChars <= 0 {
		o.MaxLineChars = 42
	}
	if o.MaxLines <= 0 {
		o.MaxLines = 2
	}
	if o.MaxCueSeconds <= 0 {
		o.MaxCueSeconds = 7
	}
	if o.PauseSplit <= 0 {
		o.PauseSplit = 0.8
	}
	if o.JobName == "" {
		o.JobName = "landfall"
	}
	return o
}

func (o Options) speaker(t *types.Transcript, label string) string {
	if n, ok := o.SpeakerNames[label]; ok && n != "" {
		return n
	}
	return t.SpeakerName(label)
}

// Format is one export.
type Format struct {
	Name      string // as in `?format=` and file names
	Ext       string // file extension without the dot
	MediaType string
	// NeedsInsights is true for chapter formats.
	NeedsInsights bool
	Write         func(w io.Writer, t *types.Transcript, ins *types.Insights, o Options) error
}

var formats = []Format{
	{Name: "json", Ext: "json", MediaType: "application/json", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, _ Options) error {
		return WriteJSON(w, t)
	}},
	{Name: "vtt", Ext: "vtt", MediaType: "text/vtt", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, o Options) error {
		return WriteVTT(w, t, o)
	}},
	{Name: "srt", Ext: "srt", MediaType: "application/x-subrip", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, o Options) error {
		return WriteSRT(w, t, o)
	}},
	{Name: "vtt-chapters", Ext: "chapters.vtt", MediaType: "text/vtt", NeedsInsights: true, Write: func(w io.Writer, t *types.Transcript, ins *types.Insights, o Options) error {
		return WriteVTTChapters(w, ins, duration(t))
	}},
	{Name: "podcast-chapters", Ext: "chapters.json", MediaType: "application/json+chapters", NeedsInsights: true, Write: func(w io.Writer, t *types.Transcript, ins *types.Insights, o Options) error {
		return WritePodcastChapters(w, ins, duration(t), o)
	}},
	{Name: "podcast-transcript", Ext: "transcript.json", MediaType: "application/json", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, o Options) error {
		return WritePodcastTranscript(w, t, o)
	}},
	{Name: "transcribe", Ext: "transcribe.json", MediaType: "application/json", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, o Options) error {
		return WriteTranscribe(w, t, o)
	}},
	{Name: "verbose_json", Ext: "verbose.json", MediaType: "application/json", Write: func(w io.Writer, t *types.Transcript, _ *types.Insights, o Options) error {
		return WriteVerboseJSON(w, t, o)
	}},
}

// Formats lists the exports, in a stable order.
func Formats() []Format { return append([]Format(nil), formats...) }

// Lookup finds a format by name.
func Lookup(name string) (Format, bool) {
	for _, f := range formats {
		if f.Name == name {
			return f, true
		}
	}
	return Format{}, false
}

// Write renders t (and ins, for chapter formats) in the named format.
func Write(w io.Writer, format string, t *types.Transcript, ins *types.Insights, o Options) error {
	f, ok := Lookup(format)
	if !ok {
		names := make([]string, len(formats))
		for i, f := range formats {
			names[i] = f.Name
		}
		return errcode.New(errcode.Invalid, "export format %q is unknown (known: %s)", format, strings.Join(names, ", "))
	}
	if t == nil {
		return errcode.New(errcode.Invalid, "export %s: no transcript", format)
	}
	if f.NeedsInsights && ins == nil {
		return errcode.New(errcode.Invalid, "export %s: needs the insights document (chapters)", format)
	}
	return f.Write(w, t, ins, o)
}

func duration(t *types.Transcript) float64 {
	if t == nil {
		return 0
	}
	return t.Duration
}

// jw is a streaming JSON writer: values are marshalled one at a time.
type jw struct {
	w   *bufio.Writer
	buf bytes.Buffer
	err error
}

func newJW(w io.Writer) *jw { return &jw{w: bufio.NewWriterSize(w, 32<<10)} }

func (j *jw) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

// val writes v as JSON, leaving <, > and & unescaped (these documents
// are not embedded in HTML).
func (j *jw) val(v any) {
	if j.err != nil {
		return
	}
	j.buf.Reset()
	enc := json.NewEncoder(&j.buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")))
}

// key writes "name": with a leading comma unless first.
func (j *jw) key(name string, first bool) {
	if !first {
		j.raw(",")
	}
	j.val(name)
	j.raw(":")
}

func (j *jw) done() error {
	if j.err != nil {
		return j.err
	}
	return j.w.Flush()
}

// WriteJSON writes Landfall's own transcript JSON: the types.Transcript
// shape, words and segments streamed one by one, followed by a newline.
func WriteJSON(w io.Writer, t *types.Transcript) error {
	j := newJW(w)
	j.raw("{")
	first := true
	if t.Language != "" {
		j.key("language", first)
		j.val(t.Language)
		first = false
	}
	j.key("duration", first)
	j.val(t.Duration)
	j.key("text", false)
	j.val(t.Text)
	j.key("words", false)
	j.raw("[")
	for i, wd := range t.Words {
		if i > 0 {
			j.raw(",")
		}
		j.val(wd)
	}
	j.raw("]")
	j.key("segments", false)
	j.raw("[")
	for i, s := range t.Segments {
		if i > 0 {
			j.raw(",")
		}
		j.val(s)
	}
	j.raw("]")
	if len(t.Speakers) > 0 {
		j.key("speakers", false)
		j.val(t.Speakers)
	}
	if t.Engine != "" {
		j.key("engine", false)
		j.val(t.Engine)
	}
	if t.Vocabulary != nil {
		j.key("vocabulary", false)
		j.val(t.Vocabulary)
	}
	j.raw("}\n")
	return j.done()
}

// token is a word as displayed: sentence case and the segment's closing
// punctuation applied.
type token struct {
	text       string
	start, end float64
	conf       float64
	speaker    string
	segment    int
	punct      string // closing punctuation after the word ("." "?" …)
}

// tokens derives display words from t: word times when there are words,
// otherwise each segment's text spread evenly over its span.
func tokens(t *types.Transcript) []token {
	var out []token
	inSeg := make([]int, len(t.Words))
	for i := range inSeg {
		inSeg[i] = -1
	}
	for si, s := range t.Segments {
		for k := s.FirstWord; k < s.FirstWord+s.WordCount && k >= 0 && k < len(t.Words); k++ {
			inSeg[k] = si
		}
	}
	if len(t.Words) > 0 {
		for i, w := range t.Words {
			tok := token{text: w.Text, start: w.Start, end: w.End, conf: w.Confidence, speaker: w.Speaker, segment: inSeg[i]}
			// Punctuation written on the word ("storage," from a readable
			// transcript or a whisper server) is the word's punctuation.
			if t := strings.TrimRightFunc(w.Text, isClosing); t != "" && t != w.Text {
				tok.text, tok.punct = t, w.Text[len(t):]
			}
			if si := inSeg[i]; si >= 0 {
				s := t.Segments[si]
				if i == s.FirstWord {
					tok.text = capitalise(tok.text)
				}
				if i == s.FirstWord+s.WordCount-1 && tok.punct == "" {
					tok.punct = closing(s.Text)
				}
				if tok.speaker == "" {
					tok.speaker = s.Speaker
				}
			}
			out = append(out, tok)
		}
		return out
	}
	for si, s := range t.Segments {
		fields := strings.Fields(s.Text)
		if len(fields) == 0 {
			continue
		}
		total := 0
		for _, f := range fields {
			total += utf8.RuneCountInString(f) + 1
		}
		span := math.Max(0, s.End-s.Start)
		at := 0
		for _, f := range fields {
			n := utf8.RuneCountInString(f) + 1
			tok := token{
				start: s.Start + span*float64(at)/float64(total), end: s.Start + span*float64(at+n)/float64(total),
				conf: 1, speaker: s.Speaker, segment: si,
			}
			at += n
			tok.text = strings.TrimRightFunc(f, isClosing)
			if tok.text == "" { // a lone punctuation mark
				tok.text = f
			} else {
				tok.punct = f[len(tok.text):]
			}
			out = append(out, tok)
		}
	}
	return out
}

func isClosing(r rune) bool { return strings.ContainsRune(".,?!;:…", r) }

// closing returns the sentence-ending punctuation of segment text.
func closing(s string) string {
	s = strings.TrimSpace(s)
	end := len(s)
	for end > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:end])
		if !isClosing(r) {
			break
		}
		end -= n
	}
	return s[end:]
}

func capitalise(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// sortedChapters returns ins's chapters ordered by start, without
// negative or non-finite starts.
func sortedChapters(ins *types.Insights) []types.Chapter {
	if ins == nil {
		return nil
	}
	var cs []types.Chapter
	for _, c := range ins.Chapters {
		if c.StartSeconds >= 0 && !math.IsInf(c.StartSeconds, 0) && !math.IsNaN(c.StartSeconds) {
			cs = append(cs, c)
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].StartSeconds < cs[j].StartSeconds })
	return cs
}

// round3 rounds to milliseconds, the precision of every export.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
