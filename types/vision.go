package types

// Vision is what the labels and moderation analysers saw, frame by frame:
// a video's shots (each at its keyframe) or an image's one frame. The
// merged lists live in Insights.Labels and Insights.Moderation; this keeps
// the boxes, parents and times a timeline, a review policy and the
// Rekognition-shaped exports need.
type Vision struct {
	LabelModel      string       `json:"label_model,omitempty"`
	ModerationModel string       `json:"moderation_model,omitempty"`
	Shots           []VisionShot `json:"shots"`
}

// VisionShot is one analysed frame: the shot it stands for (StartMS to
// EndMS; both 0 for an image) and the frame's time TimestampMS.
type VisionShot struct {
	Shot        int          `json:"shot"`
	StartMS     int64        `json:"start_ms"`
	EndMS       int64        `json:"end_ms"`
	TimestampMS int64        `json:"timestamp_ms"`
	Frame       string       `json:"frame,omitempty"` // the analysed frame's bucket key
	Labels      []ShotLabel  `json:"labels,omitempty"`
	Moderation  []Moderation `json:"moderation,omitempty"`
}

// ShotLabel is a label in one frame, with its instances' boxes and its
// parents (Rekognition's Label).
type ShotLabel struct {
	Name       string          `json:"name"`
	Confidence float64         `json:"confidence"` // 0..100
	Instances  []LabelInstance `json:"instances,omitempty"`
	Parents    []string        `json:"parents,omitempty"`
}

// LabelInstance is one located object of a label.
type LabelInstance struct {
	Box        Box     `json:"box"`
	Confidence float64 `json:"confidence"`
}

// ModerationDecision is what a tenant's moderation policy decided for a
// media item: "pass", "review" (a person should look) or "reject", with
// the flags that decided it and the frames kept as evidence.
type ModerationDecision struct {
	Action  string               `json:"action"`
	Policy  string               `json:"policy,omitempty"` // "tenant:<id>" or "installation"
	Reasons []ModerationEvidence `json:"reasons,omitempty"`
}

// ModerationEvidence is one flag that triggered a policy rule (at
// TimestampMS: the flag's own time, else its frame's), and the frame kept
// under processed/<tenant>/<media id>/evidence/ that shows it: the
// analysed frame, or the original's frame at the flag's time when the
// provider analysed none of its own. EvidenceMS is the kept frame's time
// in the media; EvidenceMissing says why no frame could be kept.
type ModerationEvidence struct {
	Rule            string  `json:"rule"` // "review" or "reject"
	Label           string  `json:"label"`
	Confidence      float64 `json:"confidence"`
	Threshold       float64 `json:"threshold"`
	TimestampMS     int64   `json:"timestamp_ms"`
	Evidence        string  `json:"evidence,omitempty"` // bucket key of the kept frame
	EvidenceMS      *int64  `json:"evidence_ms,omitempty"`
	EvidenceMissing string  `json:"evidence_missing,omitempty"`
}
