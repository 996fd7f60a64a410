package workflow

import (
	"context"
	"errors"
	"strings"

	"github.com/riverqueue/river"

	"github.com/landfall/landfall/errcode"
)

// errParked is returned by an invoker whose task goes on waiting without
// a worker: the task is marked waiting, like a .waitForTaskToken task,
// and something else completes it (a .sync child execution's end).
var errParked = errors.New("workflow: the task waits for its child execution")

// syncDoneArgs is the River job that completes the .sync task Token with
// the end of its child execution Child.
type syncDoneArgs struct {
	Token string `json:"t"`
	Child string `json:"c"`
}

func (syncDoneArgs) Kind() string { return "landfall_workflow_sync_done" }

// stopChildrenArgs is the River job that stops the child executions of
// the .sync tasks of execution Exec that a transition cancelled.
type stopChildrenArgs struct {
	Exec string `json:"e"`
}

func (stopChildrenArgs) Kind() string { return "landfall_workflow_stop_children" }

func (e *Engine) workSyncDone(ctx context.Context, job *river.Job[syncDoneArgs]) error {
	return e.finishSyncTask(ctx, job.Args.Token, job.Args.Child)
}

// finishSyncTask completes the .sync task token, if it still waits, with
// the end of its child execution child.
func (e *Engine) finishSyncTask(ctx context.Context, token, child string) error {
	arn, err := e.taskExec(ctx, token)
	if errcode.Of(err) == errcode.NotFound {
		return nil // the parent was removed
	}
	if err != nil {
		return err
	}
	slot := e.trySlot()
	run, err := e.transition(ctx, arn, nil, slot, func(t *txn) error {
		if t.exec.status != StatusRunning {
			return errStale
		}
		k, err := e.st.TaskGet(t.ctx, t.tx, &taskGetParams{Token: token})
		if err != nil {
			return err
		}
		// The worker that started the child may not have recorded yet
		// that the task waits (running) when the child has already
		// ended; its record then changes nothing.
		if k.pattern != "sync" || (k.status != taskRunning && k.status != taskWaiting) {
			return errStale
		}
		fr, err := t.loadFrame(k.frameID)
		if err != nil {
			return err
		}
		if fr.status != frameTask || fr.taskToken != token {
			return errStale
		}
		x, err := e.describe(t.ctx, t.tx, child)
		if err != nil {
			return err
		}
		if x.Status == StatusRunning {
			return errStale // redriven since it ended; its next end completes the task
		}
		out, ierr := syncResult(x, strings.TrimPrefix(k.resource, ResourceStartExecution))
		status := taskSucceeded
		if ierr != nil {
			status = taskFailed
		}
		if err := e.st.TaskStatusSet(t.ctx, t.tx, &taskStatusSetParams{Token: token, Status: status}); err != nil {
			return err
		}
		if ierr != nil {
			name, cause := taskErrorOf(ierr)
			return t.taskFailed(fr, k.resource, name, cause)
		}
		return t.taskSucceeded(fr, k.resource, out)
	})
	if slot {
		e.spawn(run)
	}
	if errors.Is(err, errStale) {
		return nil
	}
	return err
}

func (e *Engine) workStopChildren(ctx context.Context, job *river.Job[stopChildrenArgs]) error {
	var children []string
	err := e.withTx(ctx, func(tx dbtx) error {
		var err error
		children, err = e.st.ExecutionListSyncChildren(ctx, tx, job.Args.Exec)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range children {
		_, err := e.StopExecution(ctx, c, "States.Aborted", "the parent execution "+job.Args.Exec+" no longer waits for it")
		if err != nil && errcode.Of(err) != errcode.NotFound && errcode.Of(err) != errcode.FailedPrecond {
			return err
		}
	}
	return nil
}

// ExecutionListSyncChildren lists the running child executions of the
// cancelled or timed-out .sync tasks of execution arn.
func (s *sqlStore) ExecutionListSyncChildren(ctx context.Context, tx dbtx, arn string) ([]string, error) {
	return s.listStrings(ctx, tx, `SELECT x.arn FROM wf_executions x JOIN wf_tasks k ON k.token = x.parent_token
		WHERE k.execution_arn = `+s.placeholder(1)+` AND k.status IN ('canceled', 'timed_out') AND x.status = 'RUNNING'`, arn)
}
