package export

import (
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/landfall/landfall/types"
)

// TranscribeJob is the Amazon Transcribe batch job output document.
type TranscribeJob struct {
	JobName   string            `json:"jobName"`
	AccountID string            `json:"accountId"`
	Status    string            `json:"status"`
	Results   TranscribeResults `json:"results"`
}

// TranscribeResults is the "results" object.
type TranscribeResults struct {
	Transcripts   []TranscribeText         `json:"transcripts"`
	LanguageCode  string                   `json:"language_code,omitempty"`
	Items         []TranscribeItem         `json:"items"`
	SpeakerLabels *TranscribeSpeakerLabels `json:"speaker_labels,omitempty"`
	AudioSegments []TranscribeAudioSegment `json:"audio_segments,omitempty"`
}

// TranscribeText is one entry of results.transcripts.
type TranscribeText struct {
	Transcript string `json:"transcript"`
}

// TranscribeItem is one word ("pronunciation") or punctuation mark.
// Times are decimal strings and absent on punctuation.
type TranscribeItem struct {
	ID           int                     `json:"id"`
	Type         string                  `json:"type"`
	StartTime    string                  `json:"start_time,omitempty"`
	EndTime      string                  `json:"end_time,omitempty"`
	Alternatives []TranscribeAlternative `json:"alternatives"`
	SpeakerLabel string                  `json:"speaker_label,omitempty"`
}

// TranscribeAlternative is a recognition alternative; confidence is a
// decimal string.
type TranscribeAlternative struct {
	Content    string `json:"content"`
	Confidence string `json:"confidence"`
}

// TranscribeSpeakerLabels is results.speaker_labels.
type TranscribeSpeakerLabels struct {
	ChannelLabel string                     `json:"channel_label"`
	Speakers     int                        `json:"speakers"`
	Segments     []TranscribeSpeakerSegment `json:"segments"`
}

// TranscribeSpeakerSegment is one speaker turn with its words' timings.
type TranscribeSpeakerSegment struct {
	StartTime    string                  `json:"start_time"`
	EndTime      string                  `json:"end_time"`
	SpeakerLabel string                  `json:"speaker_label"`
	Items        []TranscribeSpeakerItem `json:"items"`
}

// TranscribeSpeakerItem repeats a word's timing and speaker.
type TranscribeSpeakerItem struct {
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	SpeakerLabel string `json:"speaker_label"`
}

// TranscribeAudioSegment is an utterance with the ids of its items.
type TranscribeAudioSegment struct {
	ID           int    `json:"id"`
	Transcript   string `json:"transcript"`
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	SpeakerLabel string `json:"speaker_label,omitempty"`
	Items        []int  `json:"items"`
}

// TranscribeSeconds renders seconds as Transcribe does: a decimal string
// with at most three decimals and at least one ("4.87", "12.0").
func TranscribeSeconds(sec float64) string {
	if !(sec > 0) || math.IsInf(sec, 0) {
		sec = 0
	}
	s := strconv.FormatFloat(round3(sec), 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

func transcribeConfidence(c float64) string {
	c = math.Min(1, math.Max(0, c))
	s := strconv.FormatFloat(math.Round(c*10000)/10000, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// WriteTranscribe writes t in the Amazon Transcribe batch output shape:
// pronunciation items with string times and confidences, punctuation
// items from each segment's closing punctuation, speaker_labels when the
// transcript is diarised, and audio_segments (one per segment). Items are
// streamed; the speaker and audio segment views, which only repeat
// timings and ids, are built in memory.
func WriteTranscribe(w io.Writer, t *types.Transcript, o Options) error {
	o = o.withDefaults()
	toks := tokens(t)
	j := newJW(w)
	j.raw("{")
	j.key("jobName", true)
	j.val(o.JobName)
	j.key("accountId", false)
	j.val(o.AccountID)
	j.key("status", false)
	j.val("COMPLETED")
	j.key("results", false)
	j.raw("{")
	j.key("transcripts", true)
	j.val([]TranscribeText{{Transcript: transcribeText(toks)}})
	if t.Language != "" {
		j.key("language_code", false)
		j.val(t.Language)
	}
	j.key("items", false)
	j.raw("[")
	diarised := false
	segItems := map[int][]int{} // segment index → item ids
	var speakerSegs []TranscribeSpeakerSegment
	id := 0
	for _, tk := range toks {
		if id > 0 {
			j.raw(",")
		}
		it := TranscribeItem{ID: id, Type: "pronunciation", StartTime: TranscribeSeconds(tk.start), EndTime: TranscribeSeconds(tk.end),
			Alternatives: []TranscribeAlternative{{Content: tk.text, Confidence: transcribeConfidence(tk.conf)}}, SpeakerLabel: tk.speaker}
		j.val(it)
		segItems[tk.segment] = append(segItems[tk.segment], id)
		id++
		if tk.speaker != "" {
			diarised = true
			si := TranscribeSpeakerItem{StartTime: it.StartTime, EndTime: it.EndTime, SpeakerLabel: tk.speaker}
			if n := len(speakerSegs); n > 0 && speakerSegs[n-1].SpeakerLabel == tk.speaker {
				speakerSegs[n-1].EndTime = it.EndTime
				speakerSegs[n-1].Items = append(speakerSegs[n-1].Items, si)
			} else {
				speakerSegs = append(speakerSegs, TranscribeSpeakerSegment{StartTime: it.StartTime, EndTime: it.EndTime,
					SpeakerLabel: tk.speaker, Items: []TranscribeSpeakerItem{si}})
			}
		}
		for _, p := range tk.punct {
			j.raw(",")
			j.val(TranscribeItem{ID: id, Type: "punctuation", Alternatives: []TranscribeAlternative{{Content: string(p), Confidence: "0.0"}}, SpeakerLabel: tk.speaker})
			segItems[tk.segment] = append(segItems[tk.segment], id)
			id++
		}
	}
	j.raw("]")
	if diarised {
		labels := map[string]bool{}
		for _, s := range speakerSegs {
			labels[s.SpeakerLabel] = true
		}
		n := len(labels)
		if len(t.Speakers) > n {
			n = len(t.Speakers)
		}
		j.key("speaker_labels", false)
		j.val(TranscribeSpeakerLabels{ChannelLabel: "ch_0", Speakers: n, Segments: speakerSegs})
	}
	if len(t.Segments) > 0 {
		j.key("audio_segments", false)
		j.raw("[")
		n := 0
		for si, s := range t.Segments {
			ids := segItems[si]
			if ids == nil {
				ids = []int{}
			}
			if n > 0 {
				j.raw(",")
			}
			j.val(TranscribeAudioSegment{ID: n, Transcript: strings.TrimSpace(s.Text), StartTime: TranscribeSeconds(s.Start),
				EndTime: TranscribeSeconds(s.End), SpeakerLabel: s.Speaker, Items: ids})
			n++
		}
		j.raw("]")
	}
	j.raw("}}\n")
	return j.done()
}

// transcribeText is the whole transcript as Transcribe writes it: words
// separated by spaces, punctuation attached.
func transcribeText(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
		b.WriteString(t.punct)
	}
	return b.String()
}
