package export

import (
	"io"
	"strings"

	"github.com/landfall/landfall/types"
)

// PodcastChapters is the Podcasting 2.0 JSON chapters document (v1.2).
type PodcastChapters struct {
	Version     string           `json:"version"`
	Title       string           `json:"title,omitempty"`
	Description string           `json:"description,omitempty"`
	FileName    string           `json:"fileName,omitempty"`
	Chapters    []PodcastChapter `json:"chapters"`
}

// PodcastChapter is one chapter; startTime is the only required field.
type PodcastChapter struct {
	StartTime float64  `json:"startTime"`
	Title     string   `json:"title,omitempty"`
	EndTime   *float64 `json:"endTime,omitempty"`
}

// WritePodcastChapters writes the insights' chapters as Podcasting 2.0
// JSON chapters, sorted by start; each ends where the next starts and the
// last at duration when it is known. The description defaults to the
// summary.
func WritePodcastChapters(w io.Writer, ins *types.Insights, duration float64, o Options) error {
	cs := sortedChapters(ins)
	j := newJW(w)
	j.raw(`{"version":"1.2.0"`)
	if o.Title != "" {
		j.key("title", false)
		j.val(o.Title)
	}
	desc := o.Description
	if desc == "" && ins != nil {
		desc = ins.Summary
	}
	if desc != "" {
		j.key("description", false)
		j.val(desc)
	}
	if o.FileName != "" {
		j.key("fileName", false)
		j.val(o.FileName)
	}
	j.key("chapters", false)
	j.raw("[")
	for i, c := range cs {
		pc := PodcastChapter{StartTime: round3(c.StartSeconds), Title: strings.TrimSpace(c.Title)}
		end := duration
		if i+1 < len(cs) {
			end = cs[i+1].StartSeconds
		}
		if end > c.StartSeconds {
			e := round3(end)
			pc.EndTime = &e
		}
		if i > 0 {
			j.raw(",")
		}
		j.val(pc)
	}
	j.raw("]}\n")
	return j.done()
}

// PodcastTranscript is the Podcasting 2.0 JSON transcript document.
type PodcastTranscript struct {
	Version  string                     `json:"version"`
	Segments []PodcastTranscriptSegment `json:"segments"`
}

// PodcastTranscriptSegment is one timed piece of the transcript.
type PodcastTranscriptSegment struct {
	Speaker   string  `json:"speaker,omitempty"`
	StartTime float64 `json:"startTime"`
	EndTime   float64 `json:"endTime"`
	Body      string  `json:"body"`
}

// WritePodcastTranscript writes the transcript's segments (sentence
// level, speakers by display name) as Podcasting 2.0 JSON.
func WritePodcastTranscript(w io.Writer, t *types.Transcript, o Options) error {
	j := newJW(w)
	j.raw(`{"version":"1.0.0","segments":[`)
	n := 0
	for _, s := range t.Segments {
		body := strings.Join(strings.Fields(s.Text), " ")
		if body == "" {
			continue
		}
		seg := PodcastTranscriptSegment{StartTime: round3(s.Start), EndTime: round3(s.End), Body: body}
		if s.Speaker != "" && !o.NoSpeakers {
			seg.Speaker = o.speaker(t, s.Speaker)
		}
		if n > 0 {
			j.raw(",")
		}
		j.val(seg)
		n++
	}
	j.raw("]}\n")
	return j.done()
}
