package types

// Live captions: the messages of GET /v1/live (a WebSocket) and of its
// viewers (GET /v1/live/{id}/captions, WebSocket or Server-Sent Events).
//
// The client's first message is a LiveStart (a text frame); audio follows
// in binary frames; a text frame {"type":"end"} (or a close) ends the
// session. The server sends LiveMessages: one "started", "transcript"
// events shaped like Amazon Transcribe Streaming's TranscriptEvent
// (PascalCase, seconds as numbers), and one "ended" naming the stored
// media item. Landfall's own fields are under "Landfall".

// LiveStart opens a live session.
type LiveStart struct {
	Type string `json:"type"` // "start"
	// Language of the speech: "en" or "en-US" (the local recogniser's model).
	Language string `json:"language,omitempty"`
	// Vocabulary and DomainText adapt the recogniser as for uploads.
	Vocabulary []string `json:"vocabulary,omitempty"`
	DomainText string   `json:"domain_text,omitempty"`
	// Format of the binary frames: "pcm16" (16 kHz mono signed 16-bit
	// little-endian, the default), "webm" or "ogg" (a browser
	// MediaRecorder's Opus stream, decoded by the server).
	Format string `json:"format,omitempty"`
	// SampleRate and Channels describe pcm16 audio: 16000 and 1 (the
	// defaults) are the only ones accepted.
	SampleRate int `json:"sample_rate,omitempty"`
	Channels   int `json:"channels,omitempty"`
	// Filename names the stored recording (default live-<time>.wav/.webm/.ogg).
	Filename string `json:"filename,omitempty"`
	// Store keeps the recording as a media item when the session ends
	// (default true).
	Store *bool `json:"store,omitempty"`
	// Partials asks for partial results (default true).
	Partials *bool `json:"partials,omitempty"`
	// PartialStability, as Transcribe Streaming's partial-results
	// stabilisation: "high" (the default), "medium" or "low" mark words of
	// partial results Stable once the recogniser settles on them (sooner
	// at high), and stable words never change, in later partials or the
	// final result. "none" leaves every partial word unstable. The local
	// recogniser decodes each utterance again for its final result, as
	// batch transcription would, keeping the stable words: with none the
	// whole final result is the new decoding.
	PartialStability string `json:"partial_stability,omitempty"`
	// Pause is the silence, in seconds, that ends an utterance and sends
	// its final result (default 0.5, 0.2–3).
	Pause float64 `json:"pause,omitempty"`
	// SpeakerLabels asks for a speaker label on every word (Transcribe
	// Streaming's ShowSpeakerLabel). How they are found depends on the
	// engine: the "started" message's Landfall.speakers says.
	SpeakerLabels bool `json:"speaker_labels,omitempty"`
}

// LiveMessage is one server message.
type LiveMessage struct {
	// Transcript is set on "transcript" events: Transcribe Streaming's
	// TranscriptEvent.Transcript.
	Transcript *LiveTranscript `json:"Transcript,omitempty"`
	Landfall   LiveInfo        `json:"Landfall"`
}

// LiveTranscript holds results, as in Transcribe Streaming.
type LiveTranscript struct {
	Results []LiveResult `json:"Results"`
}

// LiveResult is one utterance's result: partial results are re-sent with
// the same ResultId until the final one (IsPartial false).
type LiveResult struct {
	ResultId     string            `json:"ResultId"` //nolint:revive // Transcribe's spelling
	StartTime    float64           `json:"StartTime"`
	EndTime      float64           `json:"EndTime"`
	IsPartial    bool              `json:"IsPartial"`
	ChannelId    string            `json:"ChannelId,omitempty"` //nolint:revive // Transcribe's spelling
	LanguageCode string            `json:"LanguageCode,omitempty"`
	Alternatives []LiveAlternative `json:"Alternatives"`
}

// LiveAlternative is a result's transcript and its items.
type LiveAlternative struct {
	Transcript string     `json:"Transcript"`
	Items      []LiveItem `json:"Items"`
}

// LiveItem is one word ("pronunciation") or punctuation mark.
type LiveItem struct {
	StartTime  float64  `json:"StartTime"`
	EndTime    float64  `json:"EndTime"`
	Type       string   `json:"Type"` // "pronunciation" or "punctuation"
	Content    string   `json:"Content"`
	Confidence *float64 `json:"Confidence,omitempty"`
	// Speaker is the speaker label where the recogniser knows it.
	Speaker string `json:"Speaker,omitempty"`
	// Stable items never change in later results of the same ResultId.
	Stable *bool `json:"Stable,omitempty"`
}

// LiveInfo is Landfall's part of every message.
type LiveInfo struct {
	// Event is "started", "transcript" or "ended".
	Event     string `json:"event"`
	SessionID string `json:"session_id"`
	// Seq numbers the session's messages from 1.
	Seq int `json:"seq"`
	// AudioSeconds is the audio received so far, DecodedSeconds how much
	// of it the recogniser had decoded when the message was made.
	AudioSeconds   float64 `json:"audio_seconds"`
	DecodedSeconds float64 `json:"decoded_seconds"`
	// Started: the session's settings and where viewers can follow it.
	Engine        string `json:"engine,omitempty"`
	LanguageModel string `json:"language_model,omitempty"`
	// Speakers says how words get speaker labels when asked for:
	// "engine" (the engine tells speakers apart), "channel" (one label
	// per audio channel: spk_0 for a mono stream) or "" (none).
	Speakers    string `json:"speakers,omitempty"`
	ViewerURL   string `json:"viewer_url,omitempty"`
	CaptionsURL string `json:"captions_url,omitempty"`
	// Ended: why, and the stored media item.
	Reason  string `json:"reason,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	Words   int    `json:"words,omitempty"`
	// Error names what went wrong when the session ended on an error.
	Error string `json:"error,omitempty"`
}

// LiveSession describes a session for GET /v1/live/sessions.
type LiveSession struct {
	ID           string  `json:"id"`
	Started      string  `json:"started"` // RFC 3339
	Ended        string  `json:"ended,omitempty"`
	AudioSeconds float64 `json:"audio_seconds"`
	Viewers      int     `json:"viewers"`
	MediaID      string  `json:"media_id,omitempty"`
	Reason       string  `json:"reason,omitempty"`
	CaptionsURL  string  `json:"captions_url"`
}
