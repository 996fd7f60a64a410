package export

import (
	"bytes"
	"compress/zlib"
	"io"
	"math"
	"strings"

	"github.com/landfall/landfall/types"
)

// VerboseJSON is OpenAI's verbose_json transcription response.
type VerboseJSON struct {
	Task     string           `json:"task"`
	Language string           `json:"language"`
	Duration float64          `json:"duration"`
	Text     string           `json:"text"`
	Segments []VerboseSegment `json:"segments"`
	Words    []VerboseWord    `json:"words,omitempty"`
}

// VerboseSegment is one segment with Whisper's quality heuristics.
type VerboseSegment struct {
	ID               int     `json:"id"`
	Seek             int     `json:"seek"`
	Start            float64 `json:"start"`
	End              float64 `json:"end"`
	Text             string  `json:"text"`
	Tokens           []int   `json:"tokens"`
	Temperature      float64 `json:"temperature"`
	AvgLogprob       float64 `json:"avg_logprob"`
	CompressionRatio float64 `json:"compression_ratio"`
	NoSpeechProb     float64 `json:"no_speech_prob"`
	Speaker          string  `json:"speaker,omitempty"`
}

// VerboseWord is one word with its times.
type VerboseWord struct {
	Word  string  `json:"word"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// languageNames maps language codes to the names verbose_json uses.
var languageNames = map[string]string{
	"en": "english", "de": "german", "fr": "french", "es": "spanish", "it": "italian", "pt": "portuguese",
	"nl": "dutch", "sv": "swedish", "da": "danish", "no": "norwegian", "fi": "finnish", "pl": "polish",
	"ru": "russian", "uk": "ukrainian", "ja": "japanese", "zh": "chinese", "ko": "korean", "ar": "arabic",
	"hi": "hindi", "tr": "turkish", "el": "greek", "cs": "czech", "he": "hebrew", "id": "indonesian",
}

// LanguageName returns the English name of a BCP-47 code's language
// ("en-US" → "english"), or the code itself when unknown.
func LanguageName(code string) string {
	base, _, _ := strings.Cut(strings.ToLower(code), "-")
	if n, ok := languageNames[base]; ok {
		return n
	}
	return code
}

// WriteVerboseJSON writes t as OpenAI's verbose_json. Segment text starts
// with a space as Whisper's does; tokens are empty (no tokenizer), seek is
// the segment start in 10 ms frames, avg_logprob is the mean natural log
// of the word confidences, compression_ratio is the text's zlib ratio and
// no_speech_prob is 0 for recognised speech. Speakers, when diarised, are
// carried in an optional "speaker" field.
func WriteVerboseJSON(w io.Writer, t *types.Transcript, o Options) error {
	j := newJW(w)
	j.raw(`{"task":"transcribe"`)
	j.key("language", false)
	j.val(LanguageName(t.Language))
	j.key("duration", false)
	j.val(round3(t.Duration))
	j.key("text", false)
	j.val(t.Text)
	j.key("segments", false)
	j.raw("[")
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb) // reused: a zlib writer allocates ~800 KB
	for i, s := range t.Segments {
		seg := VerboseSegment{ID: i, Seek: int(math.Round(s.Start * 100)), Start: round3(s.Start), End: round3(s.End),
			Text: " " + strings.TrimSpace(s.Text), Tokens: []int{}, CompressionRatio: compressionRatio(zw, &zb, s.Text)}
		if !o.NoSpeakers {
			seg.Speaker = s.Speaker
		}
		var lp float64
		n := 0
		for k := s.FirstWord; k < s.FirstWord+s.WordCount && k >= 0 && k < len(t.Words); k++ {
			lp += math.Log(math.Max(t.Words[k].Confidence, 1e-4))
			n++
		}
		if n > 0 {
			seg.AvgLogprob = math.Round(lp/float64(n)*10000) / 10000
		}
		if i > 0 {
			j.raw(",")
		}
		j.val(seg)
	}
	j.raw("]")
	if len(t.Words) > 0 {
		j.key("words", false)
		j.raw("[")
		for i, wd := range t.Words {
			if i > 0 {
				j.raw(",")
			}
			j.val(VerboseWord{Word: wd.Text, Start: round3(wd.Start), End: round3(wd.End)})
		}
		j.raw("]")
	}
	j.raw("}\n")
	return j.done()
}

// compressionRatio is len(text) over its zlib-compressed length, the
// repetition measure Whisper reports.
func compressionRatio(zw *zlib.Writer, b *bytes.Buffer, text string) float64 {
	if text == "" {
		return 0
	}
	b.Reset()
	zw.Reset(b)
	zw.Write([]byte(text))
	zw.Close()
	return math.Round(float64(len(text))/float64(b.Len())*1000) / 1000
}
