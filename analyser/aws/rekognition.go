package aws

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"sort"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rtypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// VisionOptions are the labels and moderate tasks' options.
type VisionOptions struct {
	MinConfidence float64 `json:"min_confidence,omitempty"` // 0..100; default 60
	MaxLabels     int     `json:"max_labels,omitempty"`     // per frame; default 20
	MaxFrames     int     `json:"max_frames,omitempty"`     // keyframes sent per video; default 60
}

// frame is one image Rekognition looks at, and when it was shown.
type frame struct {
	path string
	at   float64
	shot int
}

// frames returns the image itself, or a video's shot keyframes from the
// media task's output, at most max of them evenly chosen.
func frames(in *analyser.Input, max int) ([]frame, error) {
	if in.Kind == types.KindImage || in.Results[analyser.TaskMedia] == nil {
		if in.Path == "" {
			return nil, errcode.New(errcode.Invalid, "input has neither /results/media keyframes nor a /path")
		}
		return []frame{{path: in.Path}}, nil
	}
	var m struct {
		Keyframes []struct {
			Time float64 `json:"time"`
			Path string  `json:"path"`
			Shot int     `json:"shot"`
		} `json:"keyframes"`
	}
	if err := json.Unmarshal(in.Results[analyser.TaskMedia], &m); err != nil {
		return nil, errcode.New(errcode.Invalid, "results/media: %v", err)
	}
	var out []frame
	step := 1.0
	if len(m.Keyframes) > max {
		step = float64(len(m.Keyframes)) / float64(max)
	}
	for x := 0.0; int(x) < len(m.Keyframes); x += step {
		k := m.Keyframes[int(x)]
		out = append(out, frame{path: k.Path, at: k.Time, shot: k.Shot})
	}
	return out, nil
}

// fileError gives a local file's error its code: NotFound when it is
// missing, Unavailable otherwise.
func fileError(err error, path string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errcode.Wrap(errcode.NotFound, err, "aws: %s", path)
	}
	return errcode.Wrap(errcode.Unavailable, err, "aws: %s", path)
}

// image returns the Rekognition image for a frame: bytes up to 5 MB,
// otherwise an S3 object.
func (c *Clients) image(ctx context.Context, mediaID, key string, f frame) (*rtypes.Image, error) {
	fi, err := os.Stat(f.path)
	if err != nil {
		return nil, fileError(err, f.path)
	}
	if fi.Size() <= 5<<20 {
		b, err := os.ReadFile(f.path)
		if err != nil {
			return nil, fileError(err, f.path)
		}
		return &rtypes.Image{Bytes: b}, nil
	}
	bucket, k, err := c.stage(ctx, mediaID, key, f.path)
	if err != nil {
		return nil, err
	}
	return &rtypes.Image{S3Object: &rtypes.S3Object{Bucket: awssdk.String(bucket), Name: awssdk.String(k)}}, nil
}

// visionOptionsSpec declares the options of the labels and moderate
// analysers.
var visionOptionsSpec = []analyser.Option{
	{Name: "min_confidence", Type: analyser.OptionNumber, Default: 60.0, Min: analyser.Bound(0), Max: analyser.Bound(100),
		Description: "labels below this confidence are dropped"},
	{Name: "max_labels", Type: analyser.OptionInteger, Default: 20, Min: analyser.Bound(1), Max: analyser.Bound(1000),
		Description: "most labels per frame"},
	{Name: "max_frames", Type: analyser.OptionInteger, Default: 60, Min: analyser.Bound(1), Max: analyser.Bound(1000),
		Description: "most keyframes sent per video"},
}

func visionOptions(s analyser.Spec, raw json.RawMessage) (VisionOptions, error) {
	var o VisionOptions
	return o, analyser.DecodeOptions(s, raw, &o)
}

// Labeller is the labels analyser backed by Rekognition DetectLabels.
type Labeller struct{ C *Clients }

// Spec describes the analyser.
func (l Labeller) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.labels.aws", Task: analyser.TaskLabels, Provider: "aws",
		Summary: "Rekognition DetectLabels on the image or on each shot keyframe of a video; a Rekognition Video label detection job on a video with aws.async_jobs and aws.rekognition_sns_topic",
		Kinds:   []types.Kind{types.KindImage, types.KindVideo}, OutputSchema: types.VisionSchema, Options: visionOptionsSpec}
}

// Run labels the frames and merges labels across them, keeping the best
// confidence and every time a label was seen.
func (l Labeller) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	o, err := visionOptions(l.Spec(), in.Options)
	if err != nil {
		return nil, err
	}
	fs, err := frames(in, o.MaxFrames)
	if err != nil {
		return nil, err
	}
	byName := map[string]*types.Label{}
	for _, f := range fs {
		img, err := l.C.image(ctx, in.MediaID, in.Key, f)
		if err != nil {
			return nil, err
		}
		out, err := l.C.Rekognition.DetectLabels(ctx, &rekognition.DetectLabelsInput{Image: img,
			MaxLabels: awssdk.Int32(int32(o.MaxLabels)), MinConfidence: awssdk.Float32(float32(o.MinConfidence))})
		if err != nil {
			return nil, classify(err, "aws: DetectLabels")
		}
		for _, lb := range out.Labels {
			name := awssdk.ToString(lb.Name)
			if name == "" {
				continue
			}
			cur := byName[name]
			if cur == nil {
				cur = &types.Label{Name: name}
				byName[name] = cur
			}
			cur.Confidence = math.Max(cur.Confidence, round2(float64(awssdk.ToFloat32(lb.Confidence))))
			if in.Kind != types.KindImage {
				cur.Timestamps = append(cur.Timestamps, f.at)
			}
		}
	}
	env.Record(analyser.Usage{Analyser: l.Spec().ID, Images: len(fs)})
	return map[string]any{"labels": sortedLabels(byName), "frames": len(fs)}, nil
}

// sortedLabels returns the labels, most confident first, then by name
// (image and keyframe labels, and a video job's).
func sortedLabels(byName map[string]*types.Label) []types.Label {
	labels := make([]types.Label, 0, len(byName))
	for _, lb := range byName {
		labels = append(labels, *lb)
	}
	sort.Slice(labels, func(i, j int) bool {
		if labels[i].Confidence != labels[j].Confidence {
			return labels[i].Confidence > labels[j].Confidence
		}
		return labels[i].Name < labels[j].Name
	})
	return labels
}

// Moderator is the moderate analyser backed by Rekognition
// DetectModerationLabels.
type Moderator struct{ C *Clients }

// Spec describes the analyser.
func (m Moderator) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.moderate.aws", Task: analyser.TaskModerate, Provider: "aws",
		Summary: "Rekognition DetectModerationLabels on the image or on each shot keyframe of a video; a Rekognition Video content moderation job on a video with aws.async_jobs and aws.rekognition_sns_topic",
		Kinds:   []types.Kind{types.KindImage, types.KindVideo}, OutputSchema: types.VisionSchema, Options: visionOptionsSpec}
}

// Run flags every frame's moderation labels: the merged list, and per
// flagged frame a shot (its time and flags) the moderation policy judges.
func (m Moderator) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	o, err := visionOptions(m.Spec(), in.Options)
	if err != nil {
		return nil, err
	}
	fs, err := frames(in, o.MaxFrames)
	if err != nil {
		return nil, err
	}
	flags := []types.Moderation{}
	var shots []types.VisionShot
	for _, f := range fs {
		img, err := m.C.image(ctx, in.MediaID, in.Key, f)
		if err != nil {
			return nil, err
		}
		out, err := m.C.Rekognition.DetectModerationLabels(ctx, &rekognition.DetectModerationLabelsInput{Image: img,
			MinConfidence: awssdk.Float32(float32(o.MinConfidence))})
		if err != nil {
			return nil, classify(err, "aws: DetectModerationLabels")
		}
		var here []types.Moderation
		for _, ml := range out.ModerationLabels {
			here = append(here, types.Moderation{Name: awssdk.ToString(ml.Name), ParentName: awssdk.ToString(ml.ParentName),
				Confidence: round2(float64(awssdk.ToFloat32(ml.Confidence))), Timestamp: f.at, TaxonomyLevel: int(awssdk.ToInt32(ml.TaxonomyLevel))})
		}
		if len(here) > 0 {
			ms := int64(math.Round(f.at * 1000))
			shots = append(shots, types.VisionShot{Shot: f.shot, StartMS: ms, EndMS: ms, TimestampMS: ms, Moderation: here})
		}
		flags = append(flags, here...)
	}
	env.Record(analyser.Usage{Analyser: m.Spec().ID, Images: len(fs)})
	res := map[string]any{"moderation": flags, "frames": len(fs)}
	if len(shots) > 0 {
		res["shots"] = shots
	}
	return res, nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
