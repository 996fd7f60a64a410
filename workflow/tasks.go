package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Errors of the task token API, matched with errors.Is.
var (
	// ErrTaskDoesNotExist: no task has this token.
	ErrTaskDoesNotExist = errcode.New(errcode.NotFound, "task does not exist")
	// ErrTaskTimedOut: the task has already ended (timed out, failed,
	// succeeded or cancelled); the result is discarded.
	ErrTaskTimedOut = errcode.New(errcode.FailedPrecond, "task timed out")
)

func (e *Engine) taskExec(ctx context.Context, token string) (string, error) {
	var arn string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		arn, _, err = e.st.TaskOwnerGet(ctx, tx, &taskGetParams{Token: token})
		if errors.Is(err, errNoRows) {
			return errcode.Wrap(errcode.NotFound, ErrTaskDoesNotExist, "task token %s", short(token))
		}
		return err
	})
	return arn, err
}

// TaskTenant returns the tenant of the execution a task token belongs
// to, so an API can check that the caller acts for it before settling
// the task. An unknown token is NotFound wrapping ErrTaskDoesNotExist.
func (e *Engine) TaskTenant(ctx context.Context, token string) (string, error) {
	if err := validToken("task token", token); err != nil {
		return "", err
	}
	var tenant string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		_, tenant, err = e.st.TaskOwnerGet(ctx, tx, &taskGetParams{Token: token})
		if errors.Is(err, errNoRows) {
			return errcode.Wrap(errcode.NotFound, ErrTaskDoesNotExist, "task token %s", short(token))
		}
		return err
	})
	return tenant, err
}

// TaskSucceeded reports whether the callback or activity task of token
// was completed with SendTaskSuccess. A caller that settled a task and
// stopped before recording it, and is refused when it settles it again,
// learns from it whether its earlier call took (the task succeeded) or
// the task ended some other way (timed out, failed, stopped). An unknown
// token is NotFound wrapping ErrTaskDoesNotExist.
func (e *Engine) TaskSucceeded(ctx context.Context, token string) (bool, error) {
	if err := validToken("task token", token); err != nil {
		return false, err
	}
	var ok bool
	err := e.withTx(ctx, func(tx dbtx) error {
		k, err := e.st.TaskGet(ctx, tx, &taskGetParams{Token: token})
		if errors.Is(err, errNoRows) {
			return errcode.Wrap(errcode.NotFound, ErrTaskDoesNotExist, "task token %s", short(token))
		}
		if err != nil {
			return err
		}
		ok = k.status == taskSucceeded
		return nil
	})
	return ok, err
}

func short(token string) string {
	if len(token) > 12 {
		return token[:12] + "…"
	}
	return token
}

// settleTask records the outcome of a callback or activity task.
func (e *Engine) settleTask(ctx context.Context, token string, f func(t *txn, fr *frameRow, k *taskRow) error) error {
	arn, err := e.taskExec(ctx, token)
	if err != nil {
		return err
	}
	slot := e.trySlot()
	run, err := e.transition(ctx, arn, nil, slot, func(t *txn) error {
		k, err := e.st.TaskGet(t.ctx, t.tx, &taskGetParams{Token: token})
		if err != nil {
			return err
		}
		if k.status != taskRunning && k.status != taskWaiting && !(k.status == taskScheduled && k.kind == kindCallback) {
			return errcode.Wrap(errcode.FailedPrecond, ErrTaskTimedOut, "task token %s is %s", short(token), k.status)
		}
		if k.kind == kindInvoke {
			return errcode.New(errcode.FailedPrecond, "task token %s belongs to a task the engine runs itself, not a callback or activity", short(token))
		}
		fr, err := t.loadFrame(k.frameID)
		if err != nil {
			return err
		}
		if fr.status != frameTask || fr.taskToken != token || t.exec.status != StatusRunning {
			return errcode.Wrap(errcode.FailedPrecond, ErrTaskTimedOut, "task token %s is no longer awaited", short(token))
		}
		return f(t, fr, k)
	})
	if slot {
		e.spawn(run)
	}
	if errors.Is(err, errStale) {
		return errcode.Wrap(errcode.FailedPrecond, ErrTaskTimedOut, "task token %s is no longer awaited", short(token))
	}
	return err
}

// SendTaskSuccess completes a .waitForTaskToken or activity task.
func (e *Engine) SendTaskSuccess(ctx context.Context, token string, output json.RawMessage) error {
	if err := validToken("task token", token); err != nil {
		return err
	}
	if err := validJSON("task output", output); err != nil {
		return err
	}
	return e.settleTask(ctx, token, func(t *txn, fr *frameRow, k *taskRow) error {
		if err := e.st.TaskStatusSet(t.ctx, t.tx, &taskStatusSetParams{Token: k.token, Status: taskSucceeded}); err != nil {
			return err
		}
		return t.taskSucceeded(fr, k.resource, output)
	})
}

// SendTaskFailure fails a .waitForTaskToken or activity task with an ASL
// error name (default States.TaskFailed) and cause.
func (e *Engine) SendTaskFailure(ctx context.Context, token, errName, cause string) error {
	if err := validToken("task token", token); err != nil {
		return err
	}
	if err := validErrorCause(errName, cause); err != nil {
		return err
	}
	if errName == "" {
		errName = "States.TaskFailed"
	}
	return e.settleTask(ctx, token, func(t *txn, fr *frameRow, k *taskRow) error {
		if err := e.st.TaskStatusSet(t.ctx, t.tx, &taskStatusSetParams{Token: k.token, Status: taskFailed}); err != nil {
			return err
		}
		return t.taskFailed(fr, k.resource, errName, cause)
	})
}

// SendTaskHeartbeat records that the holder of a task is alive.
func (e *Engine) SendTaskHeartbeat(ctx context.Context, token string) error {
	if err := validToken("task token", token); err != nil {
		return err
	}
	if _, err := e.taskExec(ctx, token); err != nil {
		return err
	}
	err := e.heartbeatTask(ctx, token, 0)
	var te *TaskError
	if errors.As(err, &te) {
		return errcode.Wrap(errcode.FailedPrecond, ErrTaskTimedOut, "task token %s is no longer running", short(token))
	}
	return err
}

// ---- activities ----

// CreateActivity creates (or returns the existing) activity.
func (e *Engine) CreateActivity(ctx context.Context, name string) (*Activity, error) {
	if err := validName("activity", name); err != nil {
		return nil, err
	}
	a := &Activity{ARN: e.arn("activity", name), Name: name, CreatedAt: e.now().UTC().Truncate(time.Microsecond)}
	err := e.withTx(ctx, func(tx dbtx) error {
		got, err := e.st.ActivityGet(ctx, tx, &activityGetParams{ARN: a.ARN})
		if err == nil {
			a.CreatedAt = got.CreatedAt
			return nil
		}
		if !errors.Is(err, errNoRows) {
			return err
		}
		return e.st.ActivityInsert(ctx, tx, &activityInsertParams{ARN: a.ARN, Name: name, CreatedUS: micros(a.CreatedAt)})
	})
	return a, err
}

// ListActivities lists activities by name.
func (e *Engine) ListActivities(ctx context.Context) ([]Activity, error) {
	var out []Activity
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		out, err = e.st.ActivityList(ctx, tx, &activityListParams{})
		return err
	})
	return out, err
}

// DeleteActivity deletes an activity.
func (e *Engine) DeleteActivity(ctx context.Context, arn string) error {
	if err := validARN("activity ARN", arn); err != nil {
		return err
	}
	return e.withTx(ctx, func(tx dbtx) error {
		return e.st.ActivityDelete(ctx, tx, &activityDeleteParams{ARN: arn})
	})
}

// GetActivityTask long-polls for a task of an activity (by ARN or name)
// until one arrives or wait passes (Step Functions waits 60 seconds); it
// then returns an ActivityTask with an empty Token.
func (e *Engine) GetActivityTask(ctx context.Context, activity, workerName string, wait time.Duration) (*ActivityTask, error) {
	if err := validARN("activity", activity); err != nil {
		return nil, err
	}
	if err := validText("workerName", workerName, 256, false); err != nil {
		return nil, err
	}
	name, ok := activityName(activity)
	if !ok {
		name = activity
	} else if want := e.arn("activity", name); activity != want {
		// An ARN matches in full: another region's or account's activity
		// of the same name is not this one.
		return nil, errcode.New(errcode.NotFound, "activity %s does not exist (this engine's activity of that name is %s)", activity, want)
	}
	var exists int
	if err := e.withTx(ctx, func(tx dbtx) error {
		_, err := e.st.ActivityGet(ctx, tx, &activityGetParams{Name: name})
		switch {
		case err == nil:
			exists = 1
		case errors.Is(err, errNoRows):
			err = nil
		}
		return err
	}); err != nil {
		return nil, err
	}
	if exists == 0 {
		return nil, errcode.New(errcode.NotFound, "activity %s does not exist", activity)
	}
	// The poll waits real time, whatever the engine's clock says.
	deadline := time.Now().Add(wait)
	for {
		wake := e.activityWaiter()
		task, err := e.claimActivityTask(ctx, name, workerName)
		if err != nil || task != nil {
			return task, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &ActivityTask{}, nil
		}
		select {
		case <-ctx.Done():
			return &ActivityTask{}, nil
		case <-wake:
		case <-time.After(min(left, 250*time.Millisecond)):
		}
	}
}

func (e *Engine) claimActivityTask(ctx context.Context, name, workerName string) (*ActivityTask, error) {
	var token, arn string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		token, arn, err = e.st.TaskNextActivity(ctx, tx, &taskNextActivityParams{Activity: name})
		if errors.Is(err, errNoRows) {
			token = ""
			return nil
		}
		return err
	})
	if err != nil || token == "" {
		return nil, err
	}
	var task *ActivityTask
	_, err = e.transition(ctx, arn, nil, false, func(t *txn) error {
		k, err := e.st.TaskGet(t.ctx, t.tx, &taskGetParams{Token: token})
		if err != nil {
			return err
		}
		if k.status != taskScheduled {
			return errStale
		}
		fr, err := t.loadFrame(k.frameID)
		if err != nil {
			return err
		}
		if err := e.st.TaskClaim(t.ctx, t.tx, &taskClaimParams{Token: token, Owner: "activity:" + workerName, HeartbeatUS: micros(t.now)}); err != nil {
			return err
		}
		t.event(fr, "ActivityStarted", map[string]any{"workerName": workerName})
		task = &ActivityTask{Token: token, Input: k.input, Tenant: t.exec.tenant}
		return nil
	})
	if errors.Is(err, errStale) {
		return nil, nil // another poller took it; poll again
	}
	return task, err
}

// ActivityTaskTenant returns the tenant of the execution whose activity
// task token names, while a worker holds that task (claimed with
// GetActivityTask and not yet settled or timed out). It lets an API hand
// the worker holding a task the files the task names, and nothing once the
// task has ended. Any other token is NotFound wrapping ErrTaskDoesNotExist.
func (e *Engine) ActivityTaskTenant(ctx context.Context, token string) (string, error) {
	if err := validToken("task token", token); err != nil {
		return "", err
	}
	var tenant string
	err := e.withTx(ctx, func(tx dbtx) error {
		k, err := e.st.TaskGet(ctx, tx, &taskGetParams{Token: token})
		if err == nil && (k.kind != kindActivity || k.status != taskRunning) {
			err = errNoRows
		}
		if err == nil {
			_, tenant, err = e.st.TaskOwnerGet(ctx, tx, &taskGetParams{Token: token})
		}
		if errors.Is(err, errNoRows) {
			return errcode.Wrap(errcode.NotFound, ErrTaskDoesNotExist, "no running activity task has token %s", short(token))
		}
		return err
	})
	return tenant, err
}
