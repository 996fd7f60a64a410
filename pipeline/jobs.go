package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// JobTasks are the analysis tasks that may run as asynchronous provider
// jobs (the <task>-job functions): Transcribe jobs, and Rekognition Video
// label detection and content moderation jobs.
var JobTasks = []string{analyser.TaskTranscribe, analyser.TaskLabels, analyser.TaskModerate}

// jobInput is what a job state passes: the analysis input and the task
// token ($$.Task.Token) the job's completion resumes.
type jobInput struct {
	TaskInput
	Token string `json:"task_token"`
}

// StartJob is the <task>-job function of a .waitForTaskToken state: it
// starts the task's provider job (a Transcribe job), records the task
// token under the job's id in the catalog and returns, so the worker is
// free while the service works. The job's completion notice resumes the
// execution through FinishJob. A job an earlier attempt started and that
// has already ended is finished at once (Options.JobEnded).
func (t *Tasks) StartJob(task string) TaskFunc {
	return func(ctx context.Context, c Call) (json.RawMessage, error) {
		var in jobInput
		if err := decodeInput(c, &in); err != nil {
			return nil, err
		}
		if _, err := t.scope(c); err != nil {
			return nil, err
		}
		if in.Token == "" {
			return nil, errcode.New(ErrRuntime, "%s: needs task_token ($$.Task.Token, in a .waitForTaskToken state)", c.Resource)
		}
		r, err := t.prepare(ctx, c, task, &in.TaskInput)
		if err != nil {
			return nil, err
		}
		j, ok := r.a.(analyser.Job)
		if !ok {
			return nil, errcode.New(errcode.ProviderNotConfigured, "the %s analyser %s does not run asynchronous jobs (aws.async_jobs needs the aws provider)",
				task, r.a.Spec().ID)
		}
		id, done, err := j.StartJob(ctx, r.env, r.in)
		if err != nil {
			r.log.Warn("job not started", "err", err)
			return nil, nameFile(err, r.filename, r.src, r.k)
		}
		if err := t.opt.Catalog.JobPut(ctx, &catalog.JobPutParams{Job: catalog.Job{Service: j.JobService(), ID: id, Task: task,
			TenantID: r.s.Tenant, MediaID: r.in.MediaID, TaskToken: in.Token, Input: c.Input}}); err != nil {
			return nil, err
		}
		r.log.Info("job started; the execution waits for its completion", "service", j.JobService(), "job", id, "ended", done)
		if done && t.opt.JobEnded != nil {
			t.opt.JobEnded(j.JobService(), id)
		}
		return json.Marshal(map[string]any{"service": j.JobService(), "job_id": id})
	}
}

// JobOutcome is how a provider job ended: the token of the execution
// waiting for it and either the task's result (a stored result
// reference) or the error it fails with.
type JobOutcome struct {
	Service, ID string
	Task        string
	TenantID    string
	MediaID     string
	Token       string
	Output      json.RawMessage
	// Error and Cause are set when the job failed (or its output could not
	// be read or stored): the ASL error name the state's Retry and Catch
	// match.
	Error, Cause string
}

// FinishJob collects the output of the job a completion notice names:
// the analyser reads it from the service (GetTranscriptionJob and the
// transcript file), it is checked against the output schema and stored
// as the task's result. It returns analyser.ErrJobRunning for a job that
// has not ended, and NotFound for a job no execution waits for (not
// Landfall's, or already resumed).
func (t *Tasks) FinishJob(ctx context.Context, service, id string) (*JobOutcome, error) {
	job, err := t.opt.Catalog.JobGet(ctx, &catalog.JobGetParams{Service: service, ID: id})
	if err != nil {
		return nil, err
	}
	o := &JobOutcome{Service: service, ID: id, Task: job.Task, TenantID: job.TenantID, MediaID: job.MediaID, Token: job.TaskToken}
	c := Call{Tenant: job.TenantID, Resource: "landfall-" + job.Task + "-job", Input: job.Input}
	var in jobInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	r, err := t.prepare(ctx, c, job.Task, &in.TaskInput)
	if err != nil {
		return nil, err
	}
	j, ok := r.a.(analyser.Job)
	if !ok || j.JobService() != service {
		return nil, errcode.New(errcode.ProviderNotConfigured, "the %s analyser %s does not finish %s jobs", job.Task, r.a.Spec().ID, service)
	}
	out, err := j.FinishJob(ctx, r.env, r.in, id)
	if errors.Is(err, analyser.ErrJobRunning) {
		return nil, err
	}
	start := job.CreatedAt
	if start.IsZero() {
		start = time.Now()
	}
	ref, err := t.finish(ctx, r, start, out, err)
	if err != nil {
		if errcode.Of(err) == errcode.Canceled {
			return nil, err
		}
		o.Error, o.Cause = string(errcode.Of(err)), errcode.MessageOf(err)
		if errcode.Of(err) == errcode.Unknown {
			o.Error = "States.TaskFailed"
		}
		return o, nil
	}
	o.Output = ref
	return o, nil
}
