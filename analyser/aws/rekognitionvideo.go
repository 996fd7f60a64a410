package aws

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rekognition"
	rtypes "github.com/aws/aws-sdk-go-v2/service/rekognition/types"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Rekognition Video runs label detection and content moderation on a
// stored video as asynchronous jobs (StartLabelDetection,
// StartContentModeration) that publish their completion to an SNS topic
// (aws.rekognition_sns_topic, with the role Rekognition publishes as).
// The labels and moderate analysers run such jobs for videos when the
// topic is configured; Run keeps looking at keyframes with the image APIs.

var (
	_ analyser.Job = Labeller{}
	_ analyser.Job = Moderator{}
)

// JobTagPrefix starts the JobTag of every Rekognition Video job Landfall
// starts; notifications of other jobs on the topic are not Landfall's.
const JobTagPrefix = "landfall-"

// JobsConfigured reports whether the Rekognition Video jobs have the SNS
// topic and role their completion is published with.
func (c *Clients) JobsConfigured() bool {
	return c.cfg.RekognitionTopic != "" && c.cfg.RekognitionRole != ""
}

// JobService names the service whose notifications complete the jobs.
func (l Labeller) JobService() string { return "rekognition" }

// JobService names the service whose notifications complete the jobs.
func (m Moderator) JobService() string { return "rekognition" }

// JobsConfigured reports whether videos can be labelled by a Rekognition
// Video job (the SNS topic and role are configured).
func (l Labeller) JobsConfigured() bool { return l.C.JobsConfigured() }

// JobsConfigured reports whether videos can be moderated by a Rekognition
// Video job (the SNS topic and role are configured).
func (m Moderator) JobsConfigured() bool { return m.C.JobsConfigured() }

// videoJob is what starting either job needs: the staged video, the
// notification channel, an idempotency token and a tag.
type videoJob struct {
	video   *rtypes.Video
	channel *rtypes.NotificationChannel
	token   string
	tag     string
	opt     VisionOptions
}

// prepareVideoJob stages the video and derives the job's request token
// from the task, the execution, the media and the options, so a retried
// attempt gets the job the first one started (Rekognition returns the same
// JobId for the same ClientRequestToken) while another execution of the
// same media starts its own.
func (c *Clients) prepareVideoJob(ctx context.Context, s analyser.Spec, in *analyser.Input) (*videoJob, error) {
	o, err := visionOptions(s, in.Options)
	if err != nil {
		return nil, err
	}
	if in.Kind != "" && in.Kind != types.KindVideo {
		return nil, errcode.New(errcode.Invalid, "aws: a Rekognition Video job takes a video, not %s", in.Kind)
	}
	if !c.JobsConfigured() {
		return nil, errcode.New(errcode.ProviderNotConfigured,
			"aws: Rekognition Video jobs need aws.rekognition_sns_topic and aws.rekognition_role_arn (the topic their completion is published to)")
	}
	bucket, key, err := c.stage(ctx, in.MediaID, in.Key, in.Path)
	if err != nil {
		return nil, err
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%s\x00%s\x00%s\x00%g", s.Task, in.Execution, in.MediaID, in.Key, bucket+"/"+key, o.MinConfidence)))
	return &videoJob{
		video:   &rtypes.Video{S3Object: &rtypes.S3Object{Bucket: awssdk.String(bucket), Name: awssdk.String(key)}},
		channel: &rtypes.NotificationChannel{SNSTopicArn: awssdk.String(c.cfg.RekognitionTopic), RoleArn: awssdk.String(c.cfg.RekognitionRole)},
		token:   "lf-" + hex.EncodeToString(h[:20]),
		tag:     jobTag(s.Task, in.MediaID),
		opt:     o,
	}, nil
}

// jobTag is the JobTag of a media item's job: landfall-<task>-<media id>,
// with characters Rekognition does not take replaced.
func jobTag(task, mediaID string) string {
	tag := []byte(JobTagPrefix + task + "-" + mediaID)
	for i, b := range tag {
		if !(b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' || b == '-' || b == ':') {
			tag[i] = '_'
		}
	}
	if len(tag) > 256 {
		tag = tag[:256]
	}
	return string(tag)
}

// StartJob starts a Rekognition Video label detection job on the video,
// or gets the one an earlier attempt started; done is set when that job
// has already ended.
func (l Labeller) StartJob(ctx context.Context, env *analyser.Env, in *analyser.Input) (string, bool, error) {
	j, err := l.C.prepareVideoJob(ctx, l.Spec(), in)
	if err != nil {
		return "", false, err
	}
	out, err := l.C.Rekognition.StartLabelDetection(ctx, &rekognition.StartLabelDetectionInput{Video: j.video,
		ClientRequestToken: awssdk.String(j.token), JobTag: awssdk.String(j.tag), NotificationChannel: j.channel,
		MinConfidence: awssdk.Float32(float32(j.opt.MinConfidence))})
	if err != nil {
		return "", false, classify(err, "aws: StartLabelDetection")
	}
	id := awssdk.ToString(out.JobId)
	if id == "" {
		return "", false, errcode.New(errcode.ProviderBadOutput, "aws: StartLabelDetection returned no JobId")
	}
	st, err := l.C.Rekognition.GetLabelDetection(ctx, &rekognition.GetLabelDetectionInput{JobId: awssdk.String(id), MaxResults: awssdk.Int32(1)})
	if err != nil {
		return "", false, classify(err, "aws: GetLabelDetection")
	}
	return id, st.JobStatus != rtypes.VideoJobStatusInProgress, nil
}

// StartJob starts a Rekognition Video content moderation job on the
// video, or gets the one an earlier attempt started; done is set when
// that job has already ended.
func (m Moderator) StartJob(ctx context.Context, env *analyser.Env, in *analyser.Input) (string, bool, error) {
	j, err := m.C.prepareVideoJob(ctx, m.Spec(), in)
	if err != nil {
		return "", false, err
	}
	out, err := m.C.Rekognition.StartContentModeration(ctx, &rekognition.StartContentModerationInput{Video: j.video,
		ClientRequestToken: awssdk.String(j.token), JobTag: awssdk.String(j.tag), NotificationChannel: j.channel,
		MinConfidence: awssdk.Float32(float32(j.opt.MinConfidence))})
	if err != nil {
		return "", false, classify(err, "aws: StartContentModeration")
	}
	id := awssdk.ToString(out.JobId)
	if id == "" {
		return "", false, errcode.New(errcode.ProviderBadOutput, "aws: StartContentModeration returned no JobId")
	}
	st, err := m.C.Rekognition.GetContentModeration(ctx, &rekognition.GetContentModerationInput{JobId: awssdk.String(id), MaxResults: awssdk.Int32(1)})
	if err != nil {
		return "", false, classify(err, "aws: GetContentModeration")
	}
	return id, st.JobStatus != rtypes.VideoJobStatusInProgress, nil
}

// maxPages bounds the pages read from one job (1000 detections a page).
const maxPages = 1000

// jobFailed is the error of a job Rekognition reports FAILED:
// Media.Unsupported when it blames the video's format or codec,
// Provider.Failed otherwise.
func jobFailed(api, id, msg string) error {
	code := errcode.ProviderFailed
	if l := strings.ToLower(msg); strings.Contains(l, "format") || strings.Contains(l, "codec") || strings.Contains(l, "unsupported") {
		code = errcode.MediaUnsupported
	}
	return errcode.New(code, "aws: Rekognition Video job %s (%s) failed: %s", id, api, msg)
}

// jobPage is one page of a Rekognition Video job's results.
type jobPage[T any] struct {
	status  rtypes.VideoJobStatus
	message *string
	items   []T
	model   *string
	next    *string
}

// readJobPages reads every page of a finished job's results through get
// (call names the API, what the job in errors), following NextToken up
// to maxPages, and returns the items and the model version.
func readJobPages[T any](id, call, what string, get func(next *string) (jobPage[T], error)) ([]T, string, error) {
	var items []T
	model := ""
	var next *string
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, "", errcode.New(errcode.ProviderBadOutput, "aws: %s of job %s: more than %d pages", call, id, maxPages)
		}
		out, err := get(next)
		if err != nil {
			return nil, "", classify(err, "aws: "+call)
		}
		switch out.status {
		case rtypes.VideoJobStatusSucceeded:
		case rtypes.VideoJobStatusFailed:
			return nil, "", jobFailed(what, id, awssdk.ToString(out.message))
		default:
			return nil, "", fmt.Errorf("aws: %s job %s is %s: %w", what, id, out.status, analyser.ErrJobRunning)
		}
		items = append(items, out.items...)
		if out.model != nil {
			model = *out.model
		}
		if out.next == nil || *out.next == "" {
			return items, model, nil
		}
		next = out.next
	}
}

// FinishJob reads every page of the label detection job's results
// (GetLabelDetection, by timestamp, following NextToken) and maps them to
// labels per shot.
func (l Labeller) FinishJob(ctx context.Context, env *analyser.Env, in *analyser.Input, id string) (any, error) {
	o, err := visionOptions(l.Spec(), in.Options)
	if err != nil {
		return nil, err
	}
	hits, model, err := readJobPages(id, "GetLabelDetection", "label detection", func(next *string) (jobPage[rtypes.LabelDetection], error) {
		out, err := l.C.Rekognition.GetLabelDetection(ctx, &rekognition.GetLabelDetectionInput{JobId: awssdk.String(id),
			SortBy: rtypes.LabelDetectionSortByTimestamp, AggregateBy: rtypes.LabelDetectionAggregateByTimestamps,
			MaxResults: awssdk.Int32(1000), NextToken: next})
		if err != nil {
			return jobPage[rtypes.LabelDetection]{}, err
		}
		return jobPage[rtypes.LabelDetection]{out.JobStatus, out.StatusMessage, out.Labels, out.LabelModelVersion, out.NextToken}, nil
	})
	if err != nil {
		return nil, err
	}
	shots := newShotIndex(in)
	byShot := map[int]*types.VisionShot{}
	times := map[int64]bool{}
	merged := map[string]*types.Label{}
	for i, h := range hits {
		if h.Label == nil || awssdk.ToString(h.Label.Name) == "" {
			continue
		}
		if h.Timestamp < 0 {
			return nil, errcode.New(errcode.ProviderBadOutput, "aws: GetLabelDetection of job %s: /Labels/%d/Timestamp is negative", id, i)
		}
		times[h.Timestamp] = true
		name := awssdk.ToString(h.Label.Name)
		conf := round2(float64(awssdk.ToFloat32(h.Label.Confidence)))
		sh := shots.at(byShot, h.Timestamp)
		sl := types.ShotLabel{Name: name, Confidence: conf}
		for _, inst := range h.Label.Instances {
			if b := inst.BoundingBox; b != nil {
				sl.Instances = append(sl.Instances, types.LabelInstance{Confidence: round2(float64(awssdk.ToFloat32(inst.Confidence))),
					Box: types.Box{Left: float64(awssdk.ToFloat32(b.Left)), Top: float64(awssdk.ToFloat32(b.Top)),
						Width: float64(awssdk.ToFloat32(b.Width)), Height: float64(awssdk.ToFloat32(b.Height))}})
			}
		}
		for _, p := range h.Label.Parents {
			if n := awssdk.ToString(p.Name); n != "" {
				sl.Parents = append(sl.Parents, n)
			}
		}
		mergeShotLabel(sh, sl)
		m := merged[name]
		if m == nil {
			m = &types.Label{Name: name}
			merged[name] = m
		}
		m.Confidence = math.Max(m.Confidence, conf)
		t := float64(h.Timestamp) / 1000
		if n := len(m.Timestamps); n == 0 || m.Timestamps[n-1] != t {
			m.Timestamps = append(m.Timestamps, t)
		}
	}
	out := make([]types.VisionShot, 0, len(byShot))
	for _, sh := range byShot {
		sort.Slice(sh.Labels, func(i, j int) bool {
			if sh.Labels[i].Confidence != sh.Labels[j].Confidence {
				return sh.Labels[i].Confidence > sh.Labels[j].Confidence
			}
			return sh.Labels[i].Name < sh.Labels[j].Name
		})
		if len(sh.Labels) > o.MaxLabels {
			sh.Labels = sh.Labels[:o.MaxLabels]
		}
		out = append(out, *sh)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TimestampMS < out[j].TimestampMS })
	labels := sortedLabels(merged)
	env.Log().Info("label detection job read", "job", id, "detections", len(hits), "shots", len(out))
	return map[string]any{"labels": labels, "frames": len(times), "shots": out, "LabelModelVersion": model, "job_id": id}, nil
}

// FinishJob reads every page of the content moderation job's results
// (GetContentModeration, by timestamp, following NextToken) and maps them
// to moderation labels per shot.
func (m Moderator) FinishJob(ctx context.Context, env *analyser.Env, in *analyser.Input, id string) (any, error) {
	hits, model, err := readJobPages(id, "GetContentModeration", "content moderation", func(next *string) (jobPage[rtypes.ContentModerationDetection], error) {
		out, err := m.C.Rekognition.GetContentModeration(ctx, &rekognition.GetContentModerationInput{JobId: awssdk.String(id),
			SortBy: rtypes.ContentModerationSortByTimestamp, AggregateBy: rtypes.ContentModerationAggregateByTimestamps,
			MaxResults: awssdk.Int32(1000), NextToken: next})
		if err != nil {
			return jobPage[rtypes.ContentModerationDetection]{}, err
		}
		return jobPage[rtypes.ContentModerationDetection]{out.JobStatus, out.StatusMessage, out.ModerationLabels, out.ModerationModelVersion, out.NextToken}, nil
	})
	if err != nil {
		return nil, err
	}
	shots := newShotIndex(in)
	byShot := map[int]*types.VisionShot{}
	times := map[int64]bool{}
	flags := []types.Moderation{}
	for i, h := range hits {
		ml := h.ModerationLabel
		if ml == nil || awssdk.ToString(ml.Name) == "" {
			continue
		}
		if h.Timestamp < 0 {
			return nil, errcode.New(errcode.ProviderBadOutput, "aws: GetContentModeration of job %s: /ModerationLabels/%d/Timestamp is negative", id, i)
		}
		times[h.Timestamp] = true
		f := types.Moderation{Name: awssdk.ToString(ml.Name), ParentName: awssdk.ToString(ml.ParentName),
			Confidence: round2(float64(awssdk.ToFloat32(ml.Confidence))), Timestamp: float64(h.Timestamp) / 1000,
			TaxonomyLevel: int(awssdk.ToInt32(ml.TaxonomyLevel))}
		flags = append(flags, f)
		sh := shots.at(byShot, h.Timestamp)
		found := false
		for k := range sh.Moderation {
			if sh.Moderation[k].Name == f.Name {
				found = true
				if f.Confidence > sh.Moderation[k].Confidence {
					sh.Moderation[k].Confidence = f.Confidence
				}
			}
		}
		if !found {
			sh.Moderation = append(sh.Moderation, f)
		}
	}
	out := make([]types.VisionShot, 0, len(byShot))
	for _, sh := range byShot {
		out = append(out, *sh)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TimestampMS < out[j].TimestampMS })
	env.Log().Info("content moderation job read", "job", id, "detections", len(hits), "shots", len(out))
	return map[string]any{"moderation": flags, "frames": len(times), "shots": out, "ModerationModelVersion": model, "job_id": id}, nil
}

// mergeShotLabel adds a label seen in a shot, keeping its best
// confidence, the instances of that sighting and every parent.
func mergeShotLabel(sh *types.VisionShot, l types.ShotLabel) {
	for k := range sh.Labels {
		cur := &sh.Labels[k]
		if cur.Name != l.Name {
			continue
		}
		if l.Confidence > cur.Confidence {
			cur.Confidence = l.Confidence
			if len(l.Instances) > 0 {
				cur.Instances = l.Instances
			}
		}
		for _, p := range l.Parents {
			if !contains(cur.Parents, p) {
				cur.Parents = append(cur.Parents, p)
			}
		}
		return
	}
	sh.Labels = append(sh.Labels, l)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// shotIndex places Rekognition's timestamps in the media task's shots, so
// a video job's detections are per shot like the keyframe analysers'.
// Each shot stands at its keyframe's time (the frame the other analysers
// looked at), or its start. Without shots every timestamp is its own.
type shotIndex struct {
	shots []shotSpan
}

type shotSpan struct {
	index            int
	start, end, time int64 // milliseconds
}

func newShotIndex(in *analyser.Input) shotIndex {
	var m struct {
		Shots []struct {
			Index int     `json:"index"`
			Start float64 `json:"start"`
			End   float64 `json:"end"`
		} `json:"shots"`
		Keyframes []struct {
			Time float64 `json:"time"`
			Shot int     `json:"shot"`
		} `json:"keyframes"`
	}
	if raw := in.Results[analyser.TaskMedia]; raw != nil {
		_ = json.Unmarshal(raw, &m)
	}
	var x shotIndex
	for _, s := range m.Shots {
		sp := shotSpan{index: s.Index, start: ms(s.Start), end: ms(s.End), time: ms(s.Start)}
		for _, k := range m.Keyframes {
			if k.Shot == s.Index {
				sp.time = ms(k.Time)
				break
			}
		}
		x.shots = append(x.shots, sp)
	}
	sort.Slice(x.shots, func(i, j int) bool { return x.shots[i].start < x.shots[j].start })
	return x
}

func ms(s float64) int64 { return int64(math.Round(s * 1000)) }

// at returns the shot entry holding a detection at t milliseconds,
// creating it in byShot (keyed by shot index, or by -1-t without shots).
func (x shotIndex) at(byShot map[int]*types.VisionShot, t int64) *types.VisionShot {
	i := sort.Search(len(x.shots), func(i int) bool { return x.shots[i].start > t }) - 1
	if i < 0 && len(x.shots) > 0 {
		i = 0 // before the first shot's start: rounding
	}
	key := int(-1 - t)
	sh := types.VisionShot{TimestampMS: t, StartMS: t, EndMS: t}
	if i >= 0 {
		sp := x.shots[i]
		key = sp.index
		sh = types.VisionShot{Shot: sp.index, StartMS: sp.start, EndMS: sp.end, TimestampMS: sp.time}
	}
	if cur := byShot[key]; cur != nil {
		return cur
	}
	byShot[key] = &sh
	return &sh
}
