package types

import (
	"strconv"
	"strings"
)

// Transcript is Landfall's one internal transcript; every export (Landfall
// JSON, WebVTT, SRT, Podcasting 2.0, Amazon Transcribe, OpenAI
// verbose_json) is derived from it.
type Transcript struct {
	Language string    `json:"language,omitempty"` // BCP-47, e.g. "en" or "en-US"
	Duration float64   `json:"duration"`           // seconds of audio analysed
	Text     string    `json:"text"`               // the whole transcript
	Words    []Word    `json:"words"`
	Segments []Segment `json:"segments"` // utterances, split at pauses and speaker turns
	Speakers []Speaker `json:"speakers,omitempty"`
	Engine   string    `json:"engine,omitempty"` // e.g. "analyser.transcribe.pocketsphinx"
	// Vocabulary says what became of the custom vocabulary: words that
	// needed generated pronunciations, and words the recogniser could not
	// use (shown as a warning wherever the transcript is).
	Vocabulary *VocabularyReport `json:"vocabulary,omitempty"`
}

// VocabularyReport says which vocabulary words needed generated
// pronunciations and which the recogniser cannot produce.
type VocabularyReport struct {
	// Pronounced maps words missing from the dictionary to the ARPAbet
	// pronunciation generated for them.
	Pronounced map[string]string `json:"pronounced,omitempty"`
	// Unreachable are vocabulary words the language model does not
	// contain, so the recogniser never writes them; domain text that uses
	// them (or on-screen text, for a video) makes them recognisable.
	Unreachable []string `json:"unreachable,omitempty"`
}

// Word is one recognised word.
type Word struct {
	Text       string  `json:"text"`
	Start      float64 `json:"start"`             // seconds
	End        float64 `json:"end"`               // seconds
	Confidence float64 `json:"confidence"`        // 0..1
	Speaker    string  `json:"speaker,omitempty"` // "spk_0".."spk_N" when diarised
}

// Segment is a run of words by one speaker between pauses.
type Segment struct {
	ID      int     `json:"id"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Text    string  `json:"text"`
	Speaker string  `json:"speaker,omitempty"`
	// Words indexes into Transcript.Words: [FirstWord, FirstWord+WordCount).
	FirstWord int `json:"first_word"`
	WordCount int `json:"word_count"`
}

// Speaker summarises one diarised speaker.
type Speaker struct {
	Label   string  `json:"label"`   // "spk_0"
	Seconds float64 `json:"seconds"` // total speech attributed
	// Name is the name a reviewer gave the speaker for the whole file;
	// empty until then.
	Name string `json:"name,omitempty"`
}

// SpeakerName is how Landfall shows a speaker label everywhere (the web
// UI, captions, exports, search): the name a reviewer gave it, else
// "Speaker N" for "spk_(N-1)", else the label as it is.
func (t *Transcript) SpeakerName(label string) string {
	if t != nil {
		for _, s := range t.Speakers {
			if s.Label == label && s.Name != "" {
				return s.Name
			}
		}
	}
	return DefaultSpeakerName(label)
}

// DefaultSpeakerName turns "spk_0" into "Speaker 1"; other labels stay as
// they are.
func DefaultSpeakerName(label string) string {
	if n, ok := strings.CutPrefix(label, "spk_"); ok && n != "" {
		if v, err := strconv.Atoi(n); err == nil && v >= 0 && strconv.Itoa(v) == n {
			return "Speaker " + strconv.Itoa(v+1)
		}
	}
	return label
}
