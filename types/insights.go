package types

import "encoding/json"

// Insights is the insights document stored per media id and served as
// insights.json. The first five fields are the summary contract: summary
// (at most 80 words), chapters, topics, entities and seo_description
// (at most 160 characters). The remaining sections are filled by the
// analysers that ran.
type Insights struct {
	Summary        string    `json:"summary"`
	Chapters       []Chapter `json:"chapters"`
	Topics         []string  `json:"topics"`
	Entities       Entities  `json:"entities"`
	SEODescription string    `json:"seo_description"`

	// LowConfidence names the sections the provider marked as
	// unreliable ("summary", "entities", "chapters", "topics"); the review
	// policy can send such items to a person.
	LowConfidence []string `json:"low_confidence,omitempty"`
	// Mentions say when each entity is said or shown.
	Mentions []EntityMention `json:"mentions,omitempty"`
	// Profile is the chosen insight profile's output (show notes, quiz
	// questions, …), when a profile was chosen.
	Profile *ProfileResult `json:"profile,omitempty"`

	Labels     []Label      `json:"labels,omitempty"`
	Moderation []Moderation `json:"moderation,omitempty"`
	OCR        []OCRText    `json:"ocr,omitempty"`
	Faces      *Faces       `json:"faces,omitempty"`
	Language   *Language    `json:"language,omitempty"`
	// Vision holds the labels and moderation per shot (or for the image).
	Vision *Vision `json:"vision,omitempty"`
	// ModerationDecision is the tenant's moderation policy's verdict.
	ModerationDecision *ModerationDecision `json:"moderation_decision,omitempty"`
}

// Chapter starts at StartSeconds, which lies on a sentence start.
type Chapter struct {
	Title        string  `json:"title"`
	StartSeconds float64 `json:"start_seconds"`
}

// Entities are named entities found in the transcript and on-screen text.
type Entities struct {
	People        []string `json:"people"`
	Organisations []string `json:"organisations"`
	Places        []string `json:"places"`
}

// ProfileResult is an insight profile's output. Output holds one value per
// field of the profile's schema; a field no provider could fill is null
// and listed in NotAvailable (the local provider computes only what it
// honestly can offline).
type ProfileResult struct {
	Name         string          `json:"name"`
	Title        string          `json:"title,omitempty"`
	Provider     string          `json:"provider"` // "local", "openai", …
	Output       json.RawMessage `json:"output"`
	NotAvailable []string        `json:"not_available,omitempty"`
}

// EntityMention lists the times one entity of Entities is said or shown.
type EntityMention struct {
	Name  string    `json:"name"`
	Type  string    `json:"type"` // "person", "organisation" or "place"
	Times []Mention `json:"times"`
}

// Mention is one time span in which an entity is said ("speech": the
// recognised words) or shown ("screen": on-screen text, visible from
// Start to End).
type Mention struct {
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	Source string  `json:"source"`
}

// Box is a bounding box as ratios 0..1 of the frame (Rekognition's shape).
type Box struct {
	Left   float64 `json:"left"`
	Top    float64 `json:"top"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// IoU is the intersection over union of two boxes: 0 when they do not
// overlap, 1 when they are the same.
func (b Box) IoU(o Box) float64 {
	x1, y1 := max(b.Left, o.Left), max(b.Top, o.Top)
	x2, y2 := min(b.Left+b.Width, o.Left+o.Width), min(b.Top+b.Height, o.Top+o.Height)
	if x2 <= x1 || y2 <= y1 {
		return 0
	}
	inter := (x2 - x1) * (y2 - y1)
	return inter / (b.Width*b.Height + o.Width*o.Height - inter)
}

// Label is a visual label with confidence 0..100 and the times it was seen.
type Label struct {
	Name       string    `json:"name"`
	Confidence float64   `json:"confidence"`
	Timestamps []float64 `json:"timestamps,omitempty"`
}

// Moderation is a moderation flag with confidence 0..100.
type Moderation struct {
	Name       string  `json:"name"`
	ParentName string  `json:"parent_name,omitempty"`
	Confidence float64 `json:"confidence"`
	Timestamp  float64 `json:"timestamp,omitempty"`
	// Verdict is a reviewer's verdict on the flag: VerdictConfirmed or
	// VerdictDismissed; empty until reviewed.
	Verdict string `json:"verdict,omitempty"`
	// TaxonomyLevel is 1 for a top-level category, 2 or 3 below it
	// (Rekognition's moderation taxonomy); 0 when the provider gives none.
	TaxonomyLevel int `json:"taxonomy_level,omitempty"`
}

// Moderation verdicts.
const (
	VerdictConfirmed = "confirmed"
	VerdictDismissed = "dismissed"
)

// OCRText is one distinct piece of text found on screen or in an image,
// deduplicated across frames: First and Last bound when it was visible.
type OCRText struct {
	Text       string  `json:"text"`
	Confidence float64 `json:"confidence"` // 0..100
	First      float64 `json:"first_seen"`
	Last       float64 `json:"last_seen"`
	Box        *Box    `json:"box,omitempty"`
}

// Faces summarises detected faces.
type Faces struct {
	MaxCount   int         `json:"max_count"` // the most faces seen in one frame
	Detections []FaceFrame `json:"detections"`
}

// FaceFrame lists the faces found in one frame or image.
type FaceFrame struct {
	Timestamp float64   `json:"timestamp"`
	Boxes     []Box     `json:"boxes"`
	Scores    []float64 `json:"scores,omitempty"`
}

// Language is the detected language of the transcript and on-screen text.
type Language struct {
	Code       string  `json:"code"` // ISO 639-1, e.g. "en"
	Confidence float64 `json:"confidence"`
	Source     string  `json:"source"` // "transcript", "ocr" or "both"
}
