package catalog

import (
	"strings"

	"github.com/landfall/landfall/types"
)

// Chunk is a time-coded piece of a transcript, the unit of transcript
// search: a few sentences by one speaker.
type Chunk struct {
	Seq     int     `json:"seq"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Speaker string  `json:"speaker,omitempty"`
	Text    string  `json:"text"`
}

// ChunkOptions bound a chunk. Zero values take the defaults.
type ChunkOptions struct {
	MaxSentences int     // default 3
	MaxWords     int     // default 80
	MaxSeconds   float64 // default 30
}

func (o ChunkOptions) withDefaults() ChunkOptions {
	if o.MaxSentences <= 0 {
		o.MaxSentences = 3
	}
	if o.MaxWords <= 0 {
		o.MaxWords = 80
	}
	if o.MaxSeconds <= 0 {
		o.MaxSeconds = 30
	}
	return o
}

// ChunkTranscript splits a transcript into chunks of a few sentences. A
// sentence ends at a word ending in . ? ! or … and at the end of a segment
// (transcripts without punctuation still split at pauses). A chunk also ends
// at a speaker change and before it passes MaxWords or MaxSeconds. Without
// word timings it groups segments; without segments it splits Text into
// sentences spanning the whole duration.
func ChunkTranscript(tr *types.Transcript, opt ChunkOptions) []Chunk {
	if tr == nil {
		return nil
	}
	opt = opt.withDefaults()
	switch {
	case len(tr.Words) > 0:
		return chunkWords(tr, opt)
	case len(tr.Segments) > 0:
		return chunkSegments(tr.Segments, opt)
	default:
		return chunkText(tr.Text, tr.Duration, opt)
	}
}

func sentenceEnd(w string) bool {
	w = strings.TrimRight(w, `"')]}»”’`)
	return strings.HasSuffix(w, ".") || strings.HasSuffix(w, "?") || strings.HasSuffix(w, "!") || strings.HasSuffix(w, "…")
}

type chunker struct {
	opt       ChunkOptions
	out       []Chunk
	cur       Chunk
	words     []string
	nwords    int
	sentences int
}

func (c *chunker) add(text string, start, end float64, speaker string, wordCount int) {
	if len(c.words) > 0 {
		overWords := c.nwords+wordCount > c.opt.MaxWords
		overTime := end-c.cur.Start > c.opt.MaxSeconds
		if speaker != c.cur.Speaker || overWords || overTime {
			c.flush()
		}
	}
	if len(c.words) == 0 {
		c.cur = Chunk{Start: start, Speaker: speaker}
	}
	c.words = append(c.words, text)
	c.nwords += wordCount
	if end > c.cur.End {
		c.cur.End = end
	}
}

func (c *chunker) endSentence() {
	if len(c.words) == 0 {
		return
	}
	c.sentences++
	if c.sentences >= c.opt.MaxSentences {
		c.flush()
	}
}

func (c *chunker) flush() {
	if len(c.words) > 0 {
		c.cur.Text = strings.Join(c.words, " ")
		c.cur.Seq = len(c.out)
		if c.cur.End < c.cur.Start {
			c.cur.End = c.cur.Start
		}
		c.out = append(c.out, c.cur)
	}
	c.words, c.nwords, c.sentences = c.words[:0], 0, 0
}

func chunkWords(tr *types.Transcript, opt ChunkOptions) []Chunk {
	segEnd := make(map[int]bool, len(tr.Segments))
	for _, s := range tr.Segments {
		if s.WordCount > 0 {
			segEnd[s.FirstWord+s.WordCount-1] = true
		}
	}
	c := &chunker{opt: opt}
	for i, w := range tr.Words {
		text := strings.TrimSpace(w.Text)
		if text == "" {
			continue
		}
		c.add(text, w.Start, w.End, w.Speaker, 1)
		if sentenceEnd(text) || segEnd[i] {
			c.endSentence()
		}
	}
	c.flush()
	return c.out
}

func chunkSegments(segs []types.Segment, opt ChunkOptions) []Chunk {
	c := &chunker{opt: opt}
	for _, s := range segs {
		text := strings.TrimSpace(s.Text)
		if text == "" {
			continue
		}
		c.add(text, s.Start, s.End, s.Speaker, len(strings.Fields(text)))
		c.endSentence()
	}
	c.flush()
	return c.out
}

func chunkText(text string, duration float64, opt ChunkOptions) []Chunk {
	c := &chunker{opt: opt}
	// Untimed text: chunk by sentences only; every chunk spans the media.
	opt.MaxSeconds = duration + 1
	c.opt = opt
	for _, w := range strings.Fields(text) {
		c.add(w, 0, duration, "", 1)
		if sentenceEnd(w) {
			c.endSentence()
		}
	}
	c.flush()
	return c.out
}

// SpeakerChunks makes one search chunk per named speaker (a name given in
// review): the name, from the start of the speaker's first segment to the
// end of the last, so a search for the name lands where they speak.
func SpeakerChunks(tr *types.Transcript) []Chunk {
	if tr == nil {
		return nil
	}
	var out []Chunk
	for _, sp := range tr.Speakers {
		if strings.TrimSpace(sp.Name) == "" {
			continue
		}
		c := Chunk{Seq: len(out), Speaker: sp.Label, Text: sp.Name, Start: -1}
		for _, seg := range tr.Segments {
			if seg.Speaker != sp.Label {
				continue
			}
			if c.Start < 0 {
				c.Start = seg.Start
			}
			c.End = seg.End
		}
		if c.Start < 0 {
			c.Start = 0
		}
		out = append(out, c)
	}
	return out
}
