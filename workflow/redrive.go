package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/landfall/landfall/errcode"
)

// RedriveExecution restarts a FAILED, TIMED_OUT or ABORTED execution from
// where it stopped: a Task whose failure ended the execution runs again,
// a Parallel or Map reruns only its unsuccessful branches and iterations,
// and states that were interrupted pick up where they were. Work that
// succeeded is not repeated.
func (e *Engine) RedriveExecution(ctx context.Context, arn string) (*Execution, error) {
	if err := validARN("execution ARN", arn); err != nil {
		return nil, err
	}
	_, err := e.transition(ctx, arn, nil, false, func(t *txn) error {
		x := t.exec
		switch x.status {
		case StatusFailed, StatusTimedOut, StatusAborted:
		default:
			return errcode.New(errcode.FailedPrecond, "execution %s is %s; only FAILED, TIMED_OUT and ABORTED executions can be redriven", arn, x.status)
		}
		if x.errName == "States.Runtime" && strings.HasPrefix(x.cause, HistoryCapCause) {
			return errcode.New(errcode.FailedPrecond, "execution %s reached the history cap of %d events; redriving it would fail the same way", arn, t.e.cfg.HistoryEvents)
		}
		if err := t.e.checkConcurrency(t.ctx, t.tx, x.tenant); err != nil {
			return err
		}
		rootID, err := t.e.st.FrameRootGet(t.ctx, t.tx, &frameRootGetParams{ExecutionARN: arn})
		if err != nil {
			return err
		}
		root, err := t.loadFrame(rootID)
		if err != nil {
			return err
		}
		if root.status == frameFailed && root.checkpointKind == "" {
			return errcode.New(errcode.FailedPrecond, "execution %s failed outside a Task, Parallel or Map state (%s); redriving it would fail the same way", arn, deref(root.errName))
		}
		x.status, x.statusChange, x.stopUS = StatusRunning, true, 0
		x.output, x.errName, x.cause = nil, "", ""
		x.redriveCount++
		x.redriveUS, x.setRedrive = micros(t.now), true
		if x.timeoutUS > 0 {
			// The execution's timeout counts again from the redrive.
			x.timeoutUS = micros(t.now) + (x.timeoutUS - x.startUS)
		}
		t.event(root, "ExecutionRedriven", map[string]any{"redriveCount": x.redriveCount})
		return t.redriveFrame(root)
	})
	if errors.Is(err, errStale) {
		return nil, ExecutionNotFound(arn)
	}
	if err != nil {
		return nil, err
	}
	return e.DescribeExecution(ctx, arn)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// redriveFrame makes an unsuccessful frame run again.
func (t *txn) redriveFrame(f *frameRow) error {
	t.touch(f)
	f.output, f.errName, f.cause = nil, nil, nil
	switch f.status {
	case frameSucceeded:
		return nil
	case frameFailed:
		switch f.checkpointKind {
		case "task", "start":
			f.frame = f.checkpoint
			return t.drive(f)
		case "children":
			f.frame = f.checkpoint
			return t.redriveChildren(f)
		}
		return fmt.Errorf("frame %s failed without a checkpoint", f.path)
	case frameCanceled:
		if f.checkpointKind == "children" && f.childSpec != "" {
			// Interrupted while its children ran.
			return t.redriveChildren(f)
		}
		// Interrupted in a Task or Wait: the frame still points at it,
		// and advancing repeats the pending effect.
		return t.drive(f)
	}
	return nil
}

// redriveChildren resumes a Parallel or Map frame whose children did not
// all succeed.
func (t *txn) redriveChildren(f *frameRow) error {
	spec := f.spec()
	ids, err := t.e.st.FrameListChildren(t.ctx, t.tx, &frameListChildrenParams{ParentID: f.id, Gen: spec.Gen})
	if err != nil {
		return err
	}
	f.status, f.pending, f.failedChildren = frameChildren, 0, 0
	if spec.Run != "" {
		t.mapRunEnd(spec.Run, mapRunRunning)
	}
	var again []*frameRow
	for _, id := range ids {
		c, err := t.loadFrame(id)
		if err != nil {
			return err
		}
		if c.status != frameSucceeded {
			f.pending++
			again = append(again, c)
		}
	}
	if f.pending == 0 && f.nextChild >= f.total {
		return t.completeChildren(f)
	}
	if len(again) == 0 && spec.Kind == "map" {
		// No iteration to rerun, but items never started: start them,
		// a distributed Map's as its iterations always start (at most
		// iterationsPerTransition at once, a fill job after).
		if spec.Distributed {
			return t.fillMap(f)
		}
		for f.nextChild < f.total && (f.maxChild == 0 || f.pending < f.maxChild) {
			c, err := t.newItem(f, f.nextChild)
			if err != nil {
				return err
			}
			if err := t.drive(c); err != nil {
				return err
			}
		}
		return nil
	}
	for _, c := range again {
		if f.status != frameChildren {
			break
		}
		if err := t.redriveFrame(c); err != nil {
			return err
		}
	}
	return nil
}
