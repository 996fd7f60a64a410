package export

import (
	"encoding/json"
	"io"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Rekognition shapes of the labels and moderation per frame: an image's as
// DetectLabels / DetectModerationLabels answer, a video's as
// GetLabelDetection / GetContentModeration answer (hits with Timestamp in
// milliseconds, AggregateBy TIMESTAMPS).

type rekBox struct {
	Width  float64 `json:"Width"`
	Height float64 `json:"Height"`
	Left   float64 `json:"Left"`
	Top    float64 `json:"Top"`
}

type rekInstance struct {
	BoundingBox rekBox  `json:"BoundingBox"`
	Confidence  float64 `json:"Confidence"`
}

type rekName struct {
	Name string `json:"Name"`
}

type rekLabel struct {
	Name       string        `json:"Name"`
	Confidence float64       `json:"Confidence"`
	Instances  []rekInstance `json:"Instances"`
	Parents    []rekName     `json:"Parents"`
}

type rekModeration struct {
	Name          string  `json:"Name"`
	ParentName    string  `json:"ParentName"`
	Confidence    float64 `json:"Confidence"`
	TaxonomyLevel int     `json:"TaxonomyLevel"`
}

func visionOf(d *Doc) (*types.Vision, bool, error) {
	if d.Insights == nil || d.Insights.Vision == nil {
		return nil, false, errcode.New(errcode.NotFound, "media %s has no labels or moderation per frame", d.MediaID)
	}
	v := d.Insights.Vision
	video := false
	for _, s := range v.Shots {
		video = video || s.EndMS > 0
	}
	return v, video, nil
}

// WriteRekognitionLabels writes the labels in Rekognition's shape.
func WriteRekognitionLabels(w io.Writer, d *Doc) error {
	v, video, err := visionOf(d)
	if err != nil {
		return err
	}
	type hit struct {
		Timestamp            int64    `json:"Timestamp"`
		Label                rekLabel `json:"Label"`
		StartTimestampMillis int64    `json:"StartTimestampMillis"`
		EndTimestampMillis   int64    `json:"EndTimestampMillis"`
		DurationMillis       int64    `json:"DurationMillis"`
	}
	labels := []rekLabel{}
	hits := []hit{}
	for _, s := range v.Shots {
		for _, l := range s.Labels {
			rl := rekLabel{Name: l.Name, Confidence: l.Confidence, Instances: []rekInstance{}, Parents: []rekName{}}
			for _, in := range l.Instances {
				rl.Instances = append(rl.Instances, rekInstance{BoundingBox: rekBox{Width: in.Box.Width, Height: in.Box.Height, Left: in.Box.Left, Top: in.Box.Top}, Confidence: in.Confidence})
			}
			for _, p := range l.Parents {
				rl.Parents = append(rl.Parents, rekName{Name: p})
			}
			labels = append(labels, rl)
			hits = append(hits, hit{Timestamp: s.TimestampMS, Label: rl, StartTimestampMillis: s.StartMS, EndTimestampMillis: s.EndMS, DurationMillis: s.EndMS - s.StartMS})
		}
	}
	var out any
	if video {
		out = map[string]any{"JobStatus": "SUCCEEDED", "LabelModelVersion": v.LabelModel, "Labels": hits,
			"GetRequestMetadata": map[string]string{"SortBy": "TIMESTAMP", "AggregateBy": "TIMESTAMPS"}}
	} else {
		out = map[string]any{"LabelModelVersion": v.LabelModel, "Labels": labels}
	}
	return writeIndented(w, out)
}

// WriteRekognitionModeration writes the moderation labels in
// Rekognition's shape.
func WriteRekognitionModeration(w io.Writer, d *Doc) error {
	v, video, err := visionOf(d)
	if err != nil {
		return err
	}
	type hit struct {
		Timestamp       int64         `json:"Timestamp"`
		ModerationLabel rekModeration `json:"ModerationLabel"`
	}
	labels := []rekModeration{}
	hits := []hit{}
	for _, s := range v.Shots {
		for _, m := range s.Moderation {
			rm := rekModeration{Name: m.Name, ParentName: m.ParentName, Confidence: m.Confidence, TaxonomyLevel: m.TaxonomyLevel}
			labels = append(labels, rm)
			hits = append(hits, hit{Timestamp: s.TimestampMS, ModerationLabel: rm})
		}
	}
	var out any
	if video {
		out = map[string]any{"JobStatus": "SUCCEEDED", "ModerationModelVersion": v.ModerationModel, "ModerationLabels": hits}
	} else {
		out = map[string]any{"ModerationModelVersion": v.ModerationModel, "ModerationLabels": labels}
	}
	return writeIndented(w, out)
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
