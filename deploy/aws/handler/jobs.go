package handler

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/landfall/landfall/analyser"
	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
)

// JobEventsTask is the function that resumes executions waiting for
// asynchronous provider jobs: an EventBridge rule sends it Transcribe's
// "Transcribe Job State Change" events, and the Rekognition Video topic
// its SNS notifications. It is not a state of the definition.
// (deploy/aws.JobEventsFunction names it in the template.)
const JobEventsTask = "job-events"

// jobResumer finishes provider jobs and resumes their executions.
type jobResumer struct {
	tasks *pipeline.Tasks
	sfn   *sfn.Client
	store catalog.Store
	topic string // the Rekognition Video topic whose notifications are taken
	h     *Handler
}

// snsEvent is the event SNS invokes a subscribed function with.
type snsEvent struct {
	Records []struct {
		EventSource string `json:"EventSource"`
		Sns         struct {
			TopicArn string `json:"TopicArn"`
			Message  string `json:"Message"`
		} `json:"Sns"`
	} `json:"Records"`
}

// handle takes one event: an SNS event of Rekognition Video notifications
// or an EventBridge Transcribe Job State Change, and resumes the
// executions waiting for the jobs that ended. An error makes Lambda retry
// the event.
func (r *jobResumer) handle(ctx context.Context, payload []byte) ([]byte, error) {
	var sev snsEvent
	if err := json.Unmarshal(payload, &sev); err == nil && len(sev.Records) > 0 {
		var done []string
		for i, rec := range sev.Records {
			if rec.EventSource != "aws:sns" {
				return nil, errcode.New(errcode.Invalid, "landfall-%s: /Records/%d/EventSource %q: want aws:sns", JobEventsTask, i, rec.EventSource)
			}
			if rec.Sns.TopicArn != r.topic || r.topic == "" {
				return nil, errcode.New(errcode.PermissionDenied, "landfall-%s: /Records/%d: a notification of topic %s, not of the stack's Rekognition topic %q",
					JobEventsTask, i, rec.Sns.TopicArn, r.topic)
			}
			ev, err := awsprov.ParseRekognitionNotification(rec.Sns.Message)
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(ev.Tag, awsprov.JobTagPrefix) || !ev.Ended {
				continue
			}
			out, err := r.resume(ctx, ev.Service, ev.JobID)
			if err != nil {
				return nil, err
			}
			done = append(done, out)
		}
		return json.Marshal(map[string]any{"outcomes": done})
	}
	ev, err := awsprov.ParseEventBridgeJobEvent(payload)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(ev.JobID, "landfall-") || !ev.Ended {
		return json.Marshal(map[string]any{"outcomes": []string{"ignored"}})
	}
	out, err := r.resume(ctx, ev.Service, ev.JobID)
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"outcomes": []string{out}})
}

// resume finishes the job (its output stored as the state's result) and
// sends the execution its result or its named error. A job no execution
// waits for any more (heartbeat passed, execution stopped) is forgotten.
func (r *jobResumer) resume(ctx context.Context, service, id string) (string, error) {
	o, err := r.tasks.FinishJob(ctx, service, id)
	if errors.Is(err, analyser.ErrJobRunning) {
		return "running", nil
	}
	if err != nil {
		return "", err
	}
	if o.Error != "" {
		cause := o.Cause
		if len(cause) > 32000 {
			cause = cause[:32000]
		}
		_, err = r.sfn.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: awssdk.String(o.Token), Error: awssdk.String(o.Error), Cause: awssdk.String(cause)})
	} else {
		_, err = r.sfn.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: awssdk.String(o.Token), Output: awssdk.String(string(o.Output))})
	}
	var timedOut *sfntypes.TaskTimedOut
	var gone *sfntypes.TaskDoesNotExist
	var invalid *sfntypes.InvalidToken
	outcome := "resumed"
	if o.Error != "" {
		outcome = "failed"
	}
	switch {
	case errors.As(err, &timedOut) || errors.As(err, &gone) || errors.As(err, &invalid):
		r.h.log.Warn("landfall-lambda: a job ended after its execution stopped waiting for it", "service", service, "job", id, "media_id", o.MediaID, "err", err)
		outcome = "late"
	case err != nil:
		return "", errcode.Wrap(errcode.ProviderTransient, err, "Step Functions SendTask (job %s)", id)
	}
	if err := r.store.JobDelete(ctx, &catalog.JobDeleteParams{Service: service, ID: id, TaskToken: o.Token}); err != nil {
		r.h.log.Warn("landfall-lambda: resumed, but the job's record stays", "service", service, "job", id, "err", err)
	}
	r.h.log.Info("landfall-lambda: job finished", "service", service, "job", id, "media_id", o.MediaID, "outcome", outcome, "error", o.Error)
	return outcome, nil
}

// ended finishes, at once, a job its state found already ended (no
// notification will come): Step Functions accepts the token's result
// while the invocation that handed it out still runs.
func (r *jobResumer) ended(service, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := r.resume(ctx, service, id); err != nil {
		r.h.log.Warn("landfall-lambda: finishing a job that had already ended", "service", service, "job", id, "err", err)
	}
}
