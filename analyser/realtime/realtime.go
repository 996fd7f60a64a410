// Package realtime is what a live caption session needs of a speech
// engine: a stream of 16 kHz mono PCM16 goes in, caption results come out
// shaped as Amazon Transcribe Streaming's (an utterance's partial results
// share its result id until its final one). Three engines implement it:
// Landfall's local incremental recogniser (package
// analyser/local/speech/stream), an OpenAI-compatible realtime
// transcription endpoint (package analyser/openai) and Amazon Transcribe
// Streaming (package analyser/aws).
//
// Whatever the engine, the words of a partial result are a stable prefix
// followed by the rest: a word marked Stable never changes, in later
// partials of its utterance or in the final result. Engines whose service
// promises less are held to it by Stabiliser.
package realtime

import (
	"context"
	"strings"
)

// Word is one recognised word; times are seconds from the stream's start.
type Word struct {
	Text       string  `json:"text"`
	Start      float64 `json:"start"`
	End        float64 `json:"end"`
	Confidence float64 `json:"confidence"`
	// Stable words never change in later results of the utterance.
	Stable bool `json:"stable"`
	// Speaker labels the word's speaker ("spk_0", "spk_1"…) where the
	// engine tells speakers apart; "" where it does not.
	Speaker string `json:"speaker,omitempty"`
}

// Result is one caption update: the words of an utterance so far
// (Partial) or all of them (final).
type Result struct {
	// ID names the utterance; its partials and its final share it.
	ID      string  `json:"id"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
	Partial bool    `json:"partial"`
	Words   []Word  `json:"words"`
	// Decoded is how much audio had been recognised when the result was
	// made, in seconds from the stream's start.
	Decoded float64 `json:"decoded"`
	// Channel is the audio channel ("ch_0") where the engine names one.
	Channel string `json:"channel,omitempty"`
}

// Text is the result's words joined by spaces.
func (r *Result) Text() string {
	ws := make([]string, len(r.Words))
	for i, w := range r.Words {
		ws[i] = w.Text
	}
	return strings.Join(ws, " ")
}

// Params configure one stream.
type Params struct {
	// Language is a BCP-47 code ("en-US").
	Language string
	// Vocabulary and DomainText adapt recognition where the engine can.
	Vocabulary []string
	DomainText string
	// Pause is the silence, in seconds, that ends an utterance.
	Pause float64
	// Stability is the partial-results stabilisation: "high", "medium",
	// "low" or "none" ("" is high).
	Stability string
	// SpeakerLabels asks for a speaker label on every word.
	SpeakerLabels bool
	// IDPrefix starts every result id.
	IDPrefix string
	// WorkDir is a scratch folder the engine may use while the stream
	// runs (the local engine writes its adapted model there).
	WorkDir string
}

// Info describes an open stream.
type Info struct {
	// Engine names the engine ("pocketsphinx", "openai-realtime",
	// "aws-transcribe-streaming").
	Engine string
	// Model is the model the engine uses, where it says.
	Model string
	// Speakers says how words get their speaker labels: "engine" (the
	// engine labels speakers), "channel" (one speaker per channel: every
	// word of a mono stream is spk_0) or "" (no labels).
	Speakers string
}

// Engine opens recognition streams.
type Engine interface {
	// Open starts recognising one stream. emit receives every result:
	// never concurrently, possibly from a goroutine of the engine's own,
	// and never after Close has returned.
	Open(ctx context.Context, p Params, emit func(Result)) (Stream, error)
}

// Stream is one open recognition stream. Write and Close are called from
// one goroutine.
type Stream interface {
	Info() Info
	// Write takes PCM16 bytes (little-endian, 16 kHz, mono) in blocks of
	// any size. It may block while the engine is behind. An error ends
	// the stream: the engine failed or went away.
	Write(ctx context.Context, pcm []byte) error
	// Close ends the audio, waits for the last results (the final result
	// of the utterance in progress) and releases the stream.
	Close(ctx context.Context) error
}
