package catalog

import (
	"context"
	"encoding/json"
	"time"

	"github.com/landfall/landfall/errcode"
)

// FeatureJobs is the JobStore: the task tokens of asynchronous provider
// jobs (a Transcribe or Rekognition Video job started by a
// .waitForTaskToken state), kept until the job's completion resumes the
// execution.
const FeatureJobs Feature = "jobs"

// JobStore keeps the task token of each asynchronous provider job, keyed
// by the provider's job id, so the job's completion notice (an EventBridge
// event, an SNS notification) finds the execution waiting for it.
type JobStore interface {
	// JobPut records (or replaces, for a retried state) the job's token.
	JobPut(ctx context.Context, p *JobPutParams) error
	// JobGet returns the job; NotFound when none is recorded under the id.
	JobGet(ctx context.Context, p *JobGetParams) (*Job, error)
	// JobDelete forgets the job once its completion was delivered; a
	// missing job is not an error.
	JobDelete(ctx context.Context, p *JobDeleteParams) error
}

// Job is an asynchronous provider job waiting for its completion.
type Job struct {
	// ID is the provider's job id (Transcribe's job name, Rekognition's
	// JobId), unique per Service.
	ID      string
	Service string // "transcribe", "rekognition"
	// Task is the pipeline task the job serves (transcribe, labels,
	// moderate).
	Task     string
	TenantID string
	MediaID  string
	// TaskToken resumes the execution (SendTaskSuccess/Failure).
	TaskToken string
	// Input is the state's input the job was started with; the
	// completion reads the media and options from it.
	Input     json.RawMessage
	CreatedAt time.Time
}

// JobPutParams are JobPut's parameters.
type JobPutParams struct{ Job Job }

// JobGetParams are JobGet's parameters.
type JobGetParams struct{ Service, ID string }

// JobDeleteParams are JobDelete's parameters. With TaskToken set only the
// job of that token is forgotten (a newer attempt's is kept).
type JobDeleteParams struct{ Service, ID, TaskToken string }

// ValidateJob checks a job before it is stored.
func ValidateJob(j *Job) error {
	switch {
	case j.Service == "" || len(j.Service) > 32:
		return Invalidf("job/service: %q (want a service name of 1–32 characters)", j.Service)
	case j.ID == "" || len(j.ID) > 256:
		return Invalidf("job/id: want 1–256 characters, got %d", len(j.ID))
	case j.Task == "" || len(j.Task) > 32:
		return Invalidf("job/task: %q (want a task name)", j.Task)
	case j.TaskToken == "" || len(j.TaskToken) > 4096:
		return Invalidf("job/task_token: want 1–4096 characters, got %d", len(j.TaskToken))
	case len(j.Input) > 256<<10:
		return Invalidf("job/input: %d bytes (at most 256 KiB, the state input limit)", len(j.Input))
	}
	if err := ValidateTenantID("job/tenant_id", j.TenantID); err != nil {
		return err
	}
	if j.MediaID == "" || len(j.MediaID) > 64 {
		return Invalidf("job/media_id: want 1–64 characters, got %d", len(j.MediaID))
	}
	if len(j.Input) > 0 && !json.Valid(j.Input) {
		return Invalidf("job/input: not JSON")
	}
	return nil
}

// JobNotFound is the error of a job id nobody recorded.
func JobNotFound(service, id string) error {
	return errcode.New(errcode.NotFound, "catalog: no %s job %q is waiting", service, id)
}
