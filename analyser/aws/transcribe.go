package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	ttypes "github.com/aws/aws-sdk-go-v2/service/transcribe/types"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// TranscribeOptions are the transcribe task's options for Amazon
// Transcribe.
type TranscribeOptions struct {
	Language       string   `json:"language,omitempty"`        // e.g. en-US; empty identifies the language
	VocabularyName string   `json:"vocabulary_name,omitempty"` // a custom vocabulary created in Transcribe
	MaxSpeakers    int      `json:"max_speakers,omitempty"`    // 2..30; default 10
	Vocabulary     []string `json:"vocabulary,omitempty"`      // accepted (Transcribe needs a named vocabulary; see VocabularyName)
	DomainText     string   `json:"domain_text,omitempty"`     // accepted; unused
	Keywords       []string `json:"keywords,omitempty"`        // accepted; unused
	MediaText      string   `json:"media_text,omitempty"`      // accepted; unused
}

// Transcriber is the transcribe analyser backed by Amazon Transcribe.
type Transcriber struct{ C *Clients }

var _ analyser.Job = Transcriber{}

// Spec describes the analyser.
func (t Transcriber) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.transcribe.aws", Task: analyser.TaskTranscribe, Provider: "aws",
		Summary: "Amazon Transcribe batch jobs with speaker labels, polled to completion",
		Kinds:   []types.Kind{types.KindAudio, types.KindVideo}, OutputSchema: types.TranscriptSchema,
		Options: []analyser.Option{
			{Name: "language", Type: analyser.OptionString, Min: analyser.Bound(2), Max: analyser.Bound(16),
				Description: "language code, e.g. en-US; absent: Transcribe identifies the language"},
			{Name: "vocabulary_name", Type: analyser.OptionString, Min: analyser.Bound(1), Max: analyser.Bound(200),
				Description: "a custom vocabulary created in Transcribe"},
			{Name: "max_speakers", Type: analyser.OptionInteger, Default: 10, Min: analyser.Bound(2), Max: analyser.Bound(30),
				Description: "most speakers labelled"},
			{Name: "vocabulary", Type: analyser.OptionStrings, Max: analyser.Bound(5000), ItemMaxLen: 200,
				Description: "words and phrases to recognise; accepted and unused (Transcribe needs a named vocabulary: see vocabulary_name)"},
			{Name: "domain_text", Type: analyser.OptionString, Max: analyser.Bound(4 << 20),
				Description: "text in the media's domain; accepted and unused"},
			{Name: "keywords", Type: analyser.OptionStrings, Max: analyser.Bound(5000), ItemMaxLen: 200,
				Description: "phrases to spot; accepted for compatibility with the local recogniser and unused"},
			{Name: "media_text", Type: analyser.OptionString, Max: analyser.Bound(4 << 20),
				Description: "text the media shows or is named by (register sets it from the file name); accepted for compatibility with the local recogniser and unused"},
		}}
}

// JobName is the Transcribe job name of a media item: deterministic, so a
// retried attempt finds the job it already started.
func JobName(mediaID, key string) string {
	h := sha256.Sum256([]byte(key))
	name := "landfall-" + mediaID + "-" + hex.EncodeToString(h[:4])
	if len(name) > 200 {
		name = name[:200]
	}
	return name
}

// Run starts (or finds) the job, polls it, and maps its output. The
// pipeline runs the job asynchronously instead (StartJob, then FinishJob
// on the job's EventBridge event) when aws.async_jobs is set.
func (t Transcriber) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	name, _, err := t.StartJob(ctx, env, in)
	if err != nil {
		return nil, err
	}
	for {
		out, err := t.FinishJob(ctx, env, in, name)
		if !errors.Is(err, analyser.ErrJobRunning) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return nil, classify(ctx.Err(), "aws: waiting for job "+name)
		case <-time.After(t.C.cfg.Poll):
		}
	}
}

// JobService names the service whose events complete the jobs.
func (t Transcriber) JobService() string { return "transcribe" }

// StartJob starts the media's transcription job, or finds the one an
// earlier attempt started (its name is the media's JobName); done is set
// when that job has already ended.
func (t Transcriber) StartJob(ctx context.Context, env *analyser.Env, in *analyser.Input) (string, bool, error) {
	var opt TranscribeOptions
	if err := analyser.DecodeOptions(t.Spec(), in.Options, &opt); err != nil {
		return "", false, err
	}
	bucket, key, err := t.C.stage(ctx, in.MediaID, in.Key, in.Path)
	if err != nil {
		return "", false, err
	}
	name := JobName(in.MediaID, in.Key)
	maxSp := int32(opt.MaxSpeakers)
	req := &transcribe.StartTranscriptionJobInput{
		TranscriptionJobName: awssdk.String(name),
		Media:                &ttypes.Media{MediaFileUri: awssdk.String("s3://" + bucket + "/" + key)},
		Settings:             &ttypes.Settings{ShowSpeakerLabels: awssdk.Bool(true), MaxSpeakerLabels: awssdk.Int32(maxSp)},
	}
	if opt.Language != "" {
		req.LanguageCode = ttypes.LanguageCode(opt.Language)
	} else {
		req.IdentifyLanguage = awssdk.Bool(true)
	}
	if opt.VocabularyName != "" {
		req.Settings.VocabularyName = awssdk.String(opt.VocabularyName)
	}
	if _, err := t.C.Transcribe.StartTranscriptionJob(ctx, req); err != nil {
		var ae smithy.APIError
		if !(errors.As(err, &ae) && ae.ErrorCode() == "ConflictException") {
			return "", false, classify(err, "aws: StartTranscriptionJob")
		}
		env.Log().Info("transcription job exists; resuming", "job", name)
		out, err := t.C.Transcribe.GetTranscriptionJob(ctx, &transcribe.GetTranscriptionJobInput{TranscriptionJobName: awssdk.String(name)})
		if err != nil {
			return "", false, classify(err, "aws: GetTranscriptionJob")
		}
		if j := out.TranscriptionJob; j != nil && (j.TranscriptionJobStatus == ttypes.TranscriptionJobStatusCompleted ||
			j.TranscriptionJobStatus == ttypes.TranscriptionJobStatusFailed) {
			return name, true, nil
		}
	}
	return name, false, nil
}

// FinishJob reads the job; when it completed, it fetches the transcript
// file and maps it. A failed job's reason becomes the error: Media.Corrupt
// when Transcribe blames the media, Provider.Failed otherwise.
func (t Transcriber) FinishJob(ctx context.Context, env *analyser.Env, in *analyser.Input, name string) (any, error) {
	out, err := t.C.Transcribe.GetTranscriptionJob(ctx, &transcribe.GetTranscriptionJobInput{TranscriptionJobName: awssdk.String(name)})
	if err != nil {
		return nil, classify(err, "aws: GetTranscriptionJob")
	}
	job := out.TranscriptionJob
	if job == nil {
		return nil, errcode.New(errcode.ProviderBadOutput, "aws: GetTranscriptionJob returned no job")
	}
	switch job.TranscriptionJobStatus {
	case ttypes.TranscriptionJobStatusCompleted:
		if job.Transcript == nil || job.Transcript.TranscriptFileUri == nil {
			return nil, errcode.New(errcode.ProviderBadOutput, "aws: job %s completed without a transcript URI", name)
		}
		b, err := t.C.HTTP(ctx, *job.Transcript.TranscriptFileUri)
		if err != nil {
			return nil, err
		}
		tr, err := ParseTranscribeJSON(b)
		if err != nil {
			return nil, err
		}
		tr.Engine = t.Spec().ID
		env.Record(analyser.Usage{Analyser: t.Spec().ID, AudioSeconds: tr.Duration})
		return tr, nil
	case ttypes.TranscriptionJobStatusFailed:
		reason := awssdk.ToString(job.FailureReason)
		code := errcode.ProviderFailed
		if strings.Contains(strings.ToLower(reason), "media") || strings.Contains(strings.ToLower(reason), "format") {
			code = errcode.MediaCorrupt
		}
		return nil, errcode.New(code, "aws: transcription job %s failed: %s", name, reason)
	}
	return nil, fmt.Errorf("aws: transcription job %s is %s: %w", name, job.TranscriptionJobStatus, analyser.ErrJobRunning)
}

// transcribeOutput is Amazon Transcribe's batch output file.
type transcribeOutput struct {
	JobName string `json:"jobName"`
	Results struct {
		Transcripts []struct {
			Transcript string `json:"transcript"`
		} `json:"transcripts"`
		LanguageCode string `json:"language_code"`
		Items        []struct {
			ID           *int   `json:"id"`
			Type         string `json:"type"`
			StartTime    string `json:"start_time"`
			EndTime      string `json:"end_time"`
			SpeakerLabel string `json:"speaker_label"`
			Alternatives []struct {
				Content    string `json:"content"`
				Confidence string `json:"confidence"`
			} `json:"alternatives"`
		} `json:"items"`
		SpeakerLabels *struct {
			Segments []struct {
				StartTime    string `json:"start_time"`
				EndTime      string `json:"end_time"`
				SpeakerLabel string `json:"speaker_label"`
			} `json:"segments"`
		} `json:"speaker_labels"`
		AudioSegments []struct {
			StartTime    string `json:"start_time"`
			EndTime      string `json:"end_time"`
			SpeakerLabel string `json:"speaker_label"`
			Transcript   string `json:"transcript"`
		} `json:"audio_segments"`
	} `json:"results"`
}

func secs(field, s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return 0, errcode.New(errcode.ProviderBadOutput, "aws: transcript %s %q is not a number of seconds", field, s)
	}
	return v, nil
}

// ParseTranscribeJSON maps an Amazon Transcribe output file to Landfall's
// transcript: pronunciation items become words (punctuation is appended to
// the word before it), speaker labels come from the items or the
// speaker_labels segments, and segments break at speaker changes and
// pauses.
func ParseTranscribeJSON(b []byte) (*types.Transcript, error) {
	var out transcribeOutput
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&out); err != nil {
		return nil, errcode.New(errcode.ProviderBadOutput, "aws: not a Transcribe output file: %v", err)
	}
	tr := &types.Transcript{Words: []types.Word{}, Segments: []types.Segment{}, Language: out.Results.LanguageCode}
	if len(out.Results.Transcripts) > 0 {
		tr.Text = out.Results.Transcripts[0].Transcript
	}
	for i, it := range out.Results.Items {
		if len(it.Alternatives) == 0 {
			return nil, errcode.New(errcode.ProviderBadOutput, "aws: /results/items/%d has no alternatives", i)
		}
		alt := it.Alternatives[0]
		if it.Type == "punctuation" {
			if n := len(tr.Words); n > 0 {
				tr.Words[n-1].Text += alt.Content
			}
			continue
		}
		start, err := secs(fmt.Sprintf("/results/items/%d/start_time", i), it.StartTime)
		if err != nil {
			return nil, err
		}
		end, err := secs(fmt.Sprintf("/results/items/%d/end_time", i), it.EndTime)
		if err != nil {
			return nil, err
		}
		if end < start {
			return nil, errcode.New(errcode.ProviderBadOutput, "aws: /results/items/%d ends before it starts", i)
		}
		conf, _ := strconv.ParseFloat(alt.Confidence, 64)
		tr.Words = append(tr.Words, types.Word{Text: alt.Content, Start: start, End: end, Confidence: conf, Speaker: it.SpeakerLabel})
	}
	if sl := out.Results.SpeakerLabels; sl != nil {
		for _, seg := range sl.Segments {
			s, _ := secs("speaker segment start", seg.StartTime)
			e, _ := secs("speaker segment end", seg.EndTime)
			for i := range tr.Words {
				if tr.Words[i].Speaker == "" && tr.Words[i].Start >= s-1e-6 && tr.Words[i].End <= e+1e-6 {
					tr.Words[i].Speaker = seg.SpeakerLabel
				}
			}
		}
	}
	seconds := map[string]float64{}
	for i, w := range tr.Words {
		if i == 0 || w.Speaker != tr.Words[i-1].Speaker || w.Start-tr.Words[i-1].End > 0.8 ||
			strings.ContainsAny(tr.Words[i-1].Text[len(tr.Words[i-1].Text)-1:], ".?!") && w.Start-tr.Words[i-1].End > 0.3 {
			tr.Segments = append(tr.Segments, types.Segment{ID: len(tr.Segments), Start: w.Start, Speaker: w.Speaker, FirstWord: i})
		}
		seg := &tr.Segments[len(tr.Segments)-1]
		seg.End = w.End
		seg.WordCount++
		if seg.Text != "" {
			seg.Text += " "
		}
		seg.Text += w.Text
		if w.Speaker != "" {
			seconds[w.Speaker] += w.End - w.Start
		}
		tr.Duration = max(tr.Duration, w.End)
	}
	for label, s := range seconds {
		tr.Speakers = append(tr.Speakers, types.Speaker{Label: label, Seconds: s})
	}
	sortSpeakers(tr.Speakers)
	if tr.Text == "" {
		parts := make([]string, len(tr.Words))
		for i, w := range tr.Words {
			parts[i] = w.Text
		}
		tr.Text = strings.Join(parts, " ")
	}
	return tr, nil
}
