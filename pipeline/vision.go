package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// VisionFrame is one image an activity worker looks at: a JPEG stored at
// Key (under work/<tenant>/<media id>/vision/), shown at Time seconds, in
// shot Shot running from Start to End (a video's keyframes; an image is one
// frame at 0).
type VisionFrame struct {
	Key   string  `json:"key"`
	Time  float64 `json:"time"`
	Shot  int     `json:"shot"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// VisionFrames is the frames task's output, small enough to stay inline
// in the state: the activity workers (labels, moderate) read it as their
// input and fetch each frame's JPEG through the API with their task token.
type VisionFrames struct {
	Kind   types.Kind    `json:"kind"`
	Frames []VisionFrame `json:"frames"`
}

// visionFramesOptions bound the frames prepared per media item.
type visionFramesOptions struct {
	MaxFrames int `json:"max_frames"` // default 60
	Width     int `json:"width"`      // longest side in pixels, default 640
}

// Frames prepares the frames an out-of-process vision worker analyses: the
// image itself, or a video's shot keyframes from the media task (at most
// max_frames, evenly chosen), each scaled to at most 640 pixels and stored
// as a JPEG in the bucket so a worker on any machine can fetch it.
func (t *Tasks) Frames(ctx context.Context, c Call) (json.RawMessage, error) {
	var in TaskInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, k, err := t.scopedMedia(ctx, c, &in.Media)
	if err != nil {
		return nil, err
	}
	o := visionFramesOptions{MaxFrames: 60, Width: 640}
	if len(in.Options) > 0 && string(in.Options) != "null" {
		if err := json.Unmarshal(in.Options, &o); err != nil {
			return nil, errcode.New(errcode.Invalid, "/options: %v", err)
		}
		if o.MaxFrames < 1 || o.MaxFrames > 1000 {
			return nil, errcode.New(errcode.Invalid, "/options/max_frames: %d is not within 1..1000", o.MaxFrames)
		}
		if o.Width < 64 || o.Width > 4096 {
			return nil, errcode.New(errcode.Invalid, "/options/width: %d is not within 64..4096", o.Width)
		}
	}
	if t.opt.VisionDemand != nil {
		t.opt.VisionDemand()
	}
	id := in.Media.ID
	dir, err := t.work.Dir(s.Tenant, id)
	if err != nil {
		return nil, err
	}
	var cl struct {
		Kind types.Kind `json:"kind"`
	}
	if r, err := loadResult(ctx, s, in.Classify, "/classify"); err != nil {
		return nil, err
	} else if r != nil {
		_ = json.Unmarshal(r.output, &cl)
	}
	type src struct {
		path string
		f    VisionFrame
	}
	var srcs []src
	if cl.Kind == types.KindImage {
		p, err := localMedia(ctx, s, k, in.Media.Size, dir)
		if err != nil {
			return nil, err
		}
		srcs = append(srcs, src{path: p})
	} else {
		r, err := loadResult(ctx, s, in.Results[analyser.TaskMedia], "/results/media")
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, errcode.New(errcode.Invalid, "/results/media: missing: a video's frames come from the media task's keyframes")
		}
		if err := localiseArtefacts(ctx, s, dir, r); err != nil {
			return nil, err
		}
		var m struct {
			Shots []struct {
				Index int     `json:"index"`
				Start float64 `json:"start"`
				End   float64 `json:"end"`
			} `json:"shots"`
			Keyframes []struct {
				Time float64 `json:"time"`
				Path string  `json:"path"`
				Shot int     `json:"shot"`
			} `json:"keyframes"`
		}
		if err := json.Unmarshal(r.output, &m); err != nil {
			return nil, errcode.New(errcode.Invalid, "/results/media: %v", err)
		}
		step := 1.0
		if len(m.Keyframes) > o.MaxFrames {
			step = float64(len(m.Keyframes)) / float64(o.MaxFrames)
		}
		for x := 0.0; int(x) < len(m.Keyframes); x += step {
			kf := m.Keyframes[int(x)]
			f := VisionFrame{Time: kf.Time, Shot: kf.Shot, Start: kf.Time, End: kf.Time}
			if kf.Shot >= 0 && kf.Shot < len(m.Shots) {
				f.Start, f.End = m.Shots[kf.Shot].Start, m.Shots[kf.Shot].End
			}
			srcs = append(srcs, src{path: kf.Path, f: f})
		}
	}
	out := VisionFrames{Kind: cl.Kind, Frames: []VisionFrame{}}
	for i, sf := range srcs {
		name := fmt.Sprintf("vision/frame-%04d.jpg", i)
		local, err := within(dir, filepath.FromSlash(name))
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			return nil, err
		}
		if err := scaleJPEG(ctx, sf.path, local, o.Width); err != nil {
			return nil, nameFile(err, in.Media.Filename, sf.path, k)
		}
		wk, err := WorkKey(s.Tenant, id, name)
		if err != nil {
			return nil, err
		}
		if err := uploadLocal(ctx, s, wk, local); err != nil {
			return nil, err
		}
		f := sf.f
		f.Key = wk.String()
		out.Frames = append(out.Frames, f)
	}
	return json.Marshal(out)
}

// scaleJPEG writes the first frame of src as a JPEG whose longest side is
// at most width pixels.
func scaleJPEG(ctx context.Context, src, dst string, width int) error {
	w := strconv.Itoa(width)
	scale := "scale='if(gt(iw,ih),min(" + w + ",iw),-2)':'if(gt(iw,ih),-2,min(" + w + ",ih))'"
	_, err := execx.Run(ctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-i", src, "-frames:v", "1", "-vf", scale, "-q:v", "3", "-update", "1", dst}})
	if err != nil {
		return errcode.Wrap(errcode.Of(err), err, "%s: taking a vision frame", filepath.Base(src))
	}
	if fi, err := os.Stat(dst); err != nil || fi.Size() == 0 {
		return errcode.New(errcode.MediaCorrupt, "%s: no frame could be decoded", filepath.Base(src))
	}
	return nil
}

func uploadLocal(ctx context.Context, s *Scope, k Key, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.Bucket.Upload(ctx, k, f, &blob.WriterOptions{ContentType: "image/jpeg"})
}

// visionOutput is the part of a labels or moderate output that keeps the
// frames apart (the vision worker's; other providers give none).
type visionOutput struct {
	Shots           []types.VisionShot `json:"shots"`
	LabelModel      string             `json:"LabelModelVersion"`
	ModerationModel string             `json:"ModerationModelVersion"`
}

// visionOf merges the labels and moderate outputs' per-frame results by
// frame; nil when neither has any.
func visionOf(full map[string]json.RawMessage) (*types.Vision, error) {
	var v types.Vision
	byKey := map[string]int{}
	for _, task := range []string{analyser.TaskLabels, "moderation"} {
		raw := full[task]
		if raw == nil || string(raw) == "null" {
			continue
		}
		var o visionOutput
		if err := json.Unmarshal(raw, &o); err != nil {
			return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "/results/%s", task)
		}
		if o.LabelModel != "" {
			v.LabelModel = o.LabelModel
		}
		if o.ModerationModel != "" {
			v.ModerationModel = o.ModerationModel
		}
		for _, sh := range o.Shots {
			k := fmt.Sprintf("%d/%d/%s", sh.Shot, sh.TimestampMS, sh.Frame)
			i, ok := byKey[k]
			if !ok {
				i = len(v.Shots)
				byKey[k] = i
				v.Shots = append(v.Shots, types.VisionShot{Shot: sh.Shot, StartMS: sh.StartMS, EndMS: sh.EndMS, TimestampMS: sh.TimestampMS, Frame: sh.Frame})
			}
			if task == analyser.TaskLabels {
				v.Shots[i].Labels = sh.Labels
			} else {
				v.Shots[i].Moderation = sh.Moderation
			}
		}
	}
	if len(v.Shots) == 0 {
		return nil, nil
	}
	sort.SliceStable(v.Shots, func(i, j int) bool { return v.Shots[i].TimestampMS < v.Shots[j].TimestampMS })
	return &v, nil
}

// ErrModerationRejected is the error name of a media item a moderation
// policy rejected.
const ErrModerationRejected errcode.Code = "Moderation.Rejected"

// moderationDecision applies the tenant's moderation policy to the flags
// of every frame: reject rules first, then review rules. The frames that
// triggered a rule are kept under processed/<tenant>/<media id>/evidence/:
// the analysed frame when the provider analysed one (the vision worker's
// frames), else the frame of the original at the flag's time (Rekognition
// Video jobs and Rekognition on keyframes keep none of their own). A
// frame that cannot be taken is recorded with why (EvidenceMissing); a
// failure to read the original fails with Provider.Transient, retried.
// Without a policy every item passes (nil when nothing was moderated).
func (t *Tasks) moderationDecision(ctx context.Context, s *Scope, m *Media, v *types.Vision) (*types.ModerationDecision, error) {
	pol, name := t.cfg.ModerationPolicyFor(s.Tenant)
	d := &types.ModerationDecision{Action: "pass", Policy: name}
	if pol == nil {
		return d, nil
	}
	match := func(r config.ModerationRule, m types.Moderation) bool {
		return (r.Label == "*" || strings.EqualFold(r.Label, m.Name) || strings.EqualFold(r.Label, m.ParentName)) && m.Confidence >= r.MinConfidence
	}
	type kept struct {
		key, missing string
	}
	copied := map[string]string{}
	taken := map[int64]kept{}
	for _, rule := range []struct {
		name  string
		rules []config.ModerationRule
	}{{"reject", pol.Reject}, {"review", pol.Review}} {
		for _, sh := range v.Shots {
			for _, mod := range sh.Moderation {
				for _, r := range rule.rules {
					if !match(r, mod) {
						continue
					}
					ev := types.ModerationEvidence{Rule: rule.name, Label: mod.Name, Confidence: mod.Confidence, Threshold: r.MinConfidence, TimestampMS: sh.TimestampMS}
					if sh.Frame != "" {
						k, ok := copied[sh.Frame]
						if !ok {
							var err error
							if k, err = keepEvidence(ctx, s, m.ID, sh.Frame); err != nil {
								return nil, err
							}
							copied[sh.Frame] = k
						}
						ev.Evidence, ev.EvidenceMS = k, ptr(sh.TimestampMS)
					} else {
						// The flag's own time (a Rekognition Video
						// detection's), else the shot's.
						ms := sh.TimestampMS
						if mod.Timestamp > 0 {
							ms = int64(math.Round(mod.Timestamp * 1000))
						}
						ev.TimestampMS = ms
						got, ok := taken[ms]
						if !ok {
							if len(taken) >= MaxEvidenceFrames {
								got.missing = fmt.Sprintf("no frame taken: the frames of the first %d flagged times are kept", MaxEvidenceFrames)
							} else {
								k, err := t.originalFrame(ctx, s, m, ms)
								var miss *evidenceMissing
								switch {
								case errors.As(err, &miss):
									got.missing = miss.why
									t.log.Warn("moderation evidence missing", "media_id", m.ID, "tenant", s.Tenant, "ms", ms, "why", miss.why)
								case err != nil:
									return nil, err
								default:
									got.key = k
								}
							}
							taken[ms] = got
						}
						if got.key != "" {
							ev.Evidence, ev.EvidenceMS = got.key, ptr(ms)
						} else {
							ev.EvidenceMissing = got.missing
						}
					}
					d.Reasons = append(d.Reasons, ev)
					if d.Action == "pass" {
						d.Action = rule.name
					}
					break
				}
			}
		}
	}
	return d, nil
}

func ptr[T any](v T) *T { return &v }

// keepEvidence copies an analysed frame to processed/<tenant>/<media
// id>/evidence/, where it outlives the work folder.
func keepEvidence(ctx context.Context, s *Scope, mediaID, frameKey string) (string, error) {
	k, err := s.Bucket.Key(frameKey)
	if err != nil {
		return "", errcode.Wrap(errcode.ForbiddenReference, err, "moderation evidence")
	}
	if k.Area != AreaWork || k.MediaID != mediaID {
		return "", forbidden("moderation evidence: %q is not a frame of media %s", frameKey, mediaID)
	}
	dst, err := ProcessedKey(s.Tenant, mediaID, "evidence/"+path.Base(k.Name))
	if err != nil {
		return "", err
	}
	b, err := s.Bucket.ReadAll(ctx, frameKey)
	if err != nil {
		return "", err
	}
	return dst.String(), s.Bucket.WriteAll(ctx, dst, b, &blob.WriterOptions{ContentType: "image/jpeg"})
}

// rejection is the error of an item the moderation policy rejected,
// naming the flags that did it.
func rejection(d *types.ModerationDecision) error {
	var why []string
	for _, r := range d.Reasons {
		if r.Rule == "reject" {
			why = append(why, fmt.Sprintf("%s %.1f ≥ %.1f at %.1fs", r.Label, r.Confidence, r.Threshold, float64(r.TimestampMS)/1000))
		}
	}
	return errcode.New(ErrModerationRejected, "rejected by the %s moderation policy: %s (evidence kept under evidence/)", d.Policy, strings.Join(why, "; "))
}

// moderationDecisionOf returns the moderation decision Persist recorded
// for a media item (nil when none).
func (t *Tasks) moderationDecisionOf(ctx context.Context, s *Scope, mediaID string) *types.ModerationDecision {
	m, err := s.Catalog.MediaGet(ctx, mediaID)
	if err != nil || m.Insights == nil {
		return nil
	}
	return m.Insights.ModerationDecision
}
