package export

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func TestRekognitionShapes(t *testing.T) {
	t.Parallel()
	video := &Doc{MediaID: "m", Insights: &types.Insights{Vision: &types.Vision{LabelModel: "lm", ModerationModel: "mm", Shots: []types.VisionShot{
		{Shot: 0, StartMS: 0, EndMS: 4000, TimestampMS: 2000, Labels: []types.ShotLabel{{Name: "Dog", Confidence: 71.5,
			Instances: []types.LabelInstance{{Box: types.Box{Left: 0.1, Top: 0.2, Width: 0.3, Height: 0.4}, Confidence: 71.5}}, Parents: []string{"Pet", "Animal"}}}},
		{Shot: 1, StartMS: 4000, EndMS: 9000, TimestampMS: 6500, Moderation: []types.Moderation{{Name: "Explicit Nudity", ParentName: "Explicit", Confidence: 90, TaxonomyLevel: 2}}},
	}}}}
	var buf bytes.Buffer
	if err := WriteRekognitionLabels(&buf, video); err != nil {
		t.Fatal(err)
	}
	var got struct {
		LabelModelVersion string
		Labels            []struct {
			Timestamp          int64
			EndTimestampMillis int64
			Label              struct {
				Name       string
				Confidence float64
				Instances  []struct {
					BoundingBox struct{ Width, Height, Left, Top float64 }
				}
				Parents []struct{ Name string }
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.LabelModelVersion != "lm" || len(got.Labels) != 1 || got.Labels[0].Timestamp != 2000 || got.Labels[0].EndTimestampMillis != 4000 ||
		got.Labels[0].Label.Name != "Dog" || got.Labels[0].Label.Instances[0].BoundingBox.Left != 0.1 || got.Labels[0].Label.Parents[1].Name != "Animal" {
		t.Fatalf("video labels: %s", buf.String())
	}
	buf.Reset()
	if err := WriteRekognitionModeration(&buf, video); err != nil {
		t.Fatal(err)
	}
	var mod struct {
		ModerationLabels []struct {
			Timestamp       int64
			ModerationLabel struct {
				Name, ParentName string
				TaxonomyLevel    int
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &mod); err != nil || len(mod.ModerationLabels) != 1 || mod.ModerationLabels[0].Timestamp != 6500 ||
		mod.ModerationLabels[0].ModerationLabel.ParentName != "Explicit" || mod.ModerationLabels[0].ModerationLabel.TaxonomyLevel != 2 {
		t.Fatalf("video moderation: %v %s", err, buf.String())
	}
	// An image is DetectLabels' shape: labels without timestamps.
	image := &Doc{MediaID: "i", Insights: &types.Insights{Vision: &types.Vision{Shots: []types.VisionShot{{Labels: []types.ShotLabel{{Name: "Cup", Confidence: 50}}}}}}}
	buf.Reset()
	if err := WriteRekognitionLabels(&buf, image); err != nil {
		t.Fatal(err)
	}
	var img struct{ Labels []map[string]any }
	if err := json.Unmarshal(buf.Bytes(), &img); err != nil || len(img.Labels) != 1 || img.Labels[0]["Name"] != "Cup" || img.Labels[0]["Timestamp"] != nil {
		t.Fatalf("image labels: %v %s", err, buf.String())
	}
	// Media without per-frame vision has no such export.
	if err := WriteRekognitionLabels(&buf, &Doc{MediaID: "x", Insights: &types.Insights{}}); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("no vision: %v", err)
	}
}
