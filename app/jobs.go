package app

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/snsmsg"
	"github.com/landfall/landfall/workflow"
)

// jobs resumes executions that wait, by task token, for asynchronous
// provider jobs: a completion notice names the job; the catalog gives the
// token and the state's input; the pipeline reads the job's output from
// the service and stores it; the engine resumes the execution with
// SendTaskSuccess, or SendTaskFailure with the job's named error.
type jobs struct{ a *App }

var _ apiserver.Jobs = jobs{}

// AWSEvent takes a Transcribe Job State Change event.
func (j jobs) AWSEvent(ctx context.Context, body []byte) (*apiserver.JobNotice, error) {
	ev, err := awsprov.ParseEventBridgeJobEvent(body)
	if err != nil {
		return nil, err
	}
	n := &apiserver.JobNotice{Service: ev.Service, JobID: ev.JobID, Status: ev.Status}
	if !strings.HasPrefix(ev.JobID, "landfall-") {
		n.Outcome = "ignored"
		return n, nil
	}
	if !ev.Ended {
		n.Outcome = "running"
		return n, nil
	}
	return j.complete(ctx, n)
}

// SNS takes a message of the Rekognition Video jobs' SNS topic
// (aws.rekognition_sns_topic): a message of another topic, or whose
// signature does not verify, is refused (PermissionDenied). A
// SubscriptionConfirmation is confirmed by visiting its SubscribeURL
// (only on SNS's hosts); an UnsubscribeConfirmation is logged; a
// Notification is the completion of a job, which resumes its execution.
func (j jobs) SNS(ctx context.Context, body []byte) (*apiserver.JobNotice, error) {
	m, err := snsmsg.Parse(body)
	if err != nil {
		return nil, err
	}
	topic := j.a.Cfg.AWS.RekognitionSNSTopic
	if topic == "" {
		return nil, errcode.New(errcode.PermissionDenied, "sns: no topic is subscribed (aws.rekognition_sns_topic is not set); refusing a message of %s", m.TopicArn)
	}
	if m.TopicArn != topic {
		return nil, errcode.New(errcode.PermissionDenied, "sns: a message of topic %s, not of aws.rekognition_sns_topic %s", m.TopicArn, topic)
	}
	if err := j.a.sns.Verify(ctx, m); err != nil {
		j.a.Log.Warn("sns: message refused", "type", m.Type, "message_id", m.MessageID, "topic", m.TopicArn, "err", err)
		return nil, err
	}
	n := &apiserver.JobNotice{Service: "rekognition"}
	switch m.Type {
	case snsmsg.TypeSubscriptionConfirmation:
		if err := j.a.sns.Confirm(ctx, m); err != nil {
			return nil, err
		}
		j.a.Log.Info("sns: subscription to the topic confirmed", "topic", m.TopicArn)
		n.Outcome = "subscribed"
		return n, nil
	case snsmsg.TypeUnsubscribeConfirmation:
		j.a.Log.Warn("sns: the subscription to the topic was removed; Rekognition Video completions no longer arrive here", "topic", m.TopicArn)
		n.Outcome = "unsubscribed"
		return n, nil
	}
	ev, err := awsprov.ParseRekognitionNotification(m.Message)
	if err != nil {
		return nil, err
	}
	n.JobID, n.Status = ev.JobID, ev.Status
	if !strings.HasPrefix(ev.Tag, awsprov.JobTagPrefix) {
		n.Outcome = "ignored"
		return n, nil
	}
	if !ev.Ended {
		n.Outcome = "running"
		return n, nil
	}
	return j.complete(ctx, n)
}

// complete finishes the job a notice names and resumes its execution.
func (j jobs) complete(ctx context.Context, n *apiserver.JobNotice) (*apiserver.JobNotice, error) {
	var o, err = j.a.Tasks.FinishJob(ctx, n.Service, n.JobID)
	// The state records the job just after starting it: a notice of a
	// job that ended at once may arrive first.
	for i := 0; errcode.Of(err) == errcode.NotFound && i < 10; i++ {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		o, err = j.a.Tasks.FinishJob(ctx, n.Service, n.JobID)
	}
	if errors.Is(err, analyser.ErrJobRunning) {
		n.Outcome = "running"
		return n, nil
	}
	if err != nil {
		return nil, err
	}
	n.MediaID = o.MediaID
	if o.Error != "" {
		n.Outcome = "failed"
		err = j.a.Engine.SendTaskFailure(ctx, o.Token, o.Error, o.Cause)
	} else {
		n.Outcome = "resumed"
		err = j.a.Engine.SendTaskSuccess(ctx, o.Token, o.Output)
	}
	if errors.Is(err, workflow.ErrTaskTimedOut) || errors.Is(err, workflow.ErrTaskDoesNotExist) {
		// The wait ended first (heartbeat timeout, stopped execution): the
		// job is forgotten; the item already failed with the state's error.
		_ = j.a.Catalog.JobDelete(ctx, &catalog.JobDeleteParams{Service: n.Service, ID: n.JobID, TaskToken: o.Token})
		return nil, errcode.New(errcode.FailedPrecond, "%s job %s of media %s ended after its execution stopped waiting for it: %v",
			n.Service, n.JobID, o.MediaID, err)
	}
	if err != nil {
		return nil, err
	}
	if err := j.a.Catalog.JobDelete(ctx, &catalog.JobDeleteParams{Service: n.Service, ID: n.JobID, TaskToken: o.Token}); err != nil {
		j.a.Log.Warn("jobs: resumed, but the job's record stays", "service", n.Service, "job", n.JobID, "err", err)
	}
	j.a.Log.Info("jobs: execution resumed by the job's completion", "service", n.Service, "job", n.JobID, "media_id", o.MediaID,
		"tenant", o.TenantID, "outcome", n.Outcome, "error", o.Error)
	return n, nil
}

// ended finishes a job its state found already ended (no notice will
// come), once the state waits for it.
func (j jobs) ended(service, id string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if _, err := j.complete(ctx, &apiserver.JobNotice{Service: service, JobID: id}); err != nil {
			j.a.Log.Warn("jobs: finishing a job that had already ended", "service", service, "job", id, "err", err)
		}
	}()
}
