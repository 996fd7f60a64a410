package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/riverqueue/river"
)

func (e *Engine) reapLoop(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.ReapInterval)
	defer t.Stop()
	for first := true; ; first = false {
		// The first pass runs at once: a restarted worker takes over its
		// dead predecessor's tasks without waiting a tick.
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		if err := e.Reap(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("workflow: reaper", "err", err)
		}
	}
}

type openTask struct {
	token, execARN, owner, kind, resource string
	dispatch, heartbeatSeconds            int
	timeoutUS, heartbeatUS                int64
}

// Reap hands the running tasks of dead workers to live ones, times out
// tasks past their TimeoutSeconds or HeartbeatSeconds, and times out
// executions past their TimeoutSeconds. Workers call it every
// ReapInterval; every change it makes is fenced, so concurrent reapers
// are safe.
func (e *Engine) Reap(ctx context.Context) error {
	now := e.now()
	cutoff := micros(now.Add(-e.cfg.Lease))
	var tasks []openTask
	var execs, dead []string
	err := e.withTx(ctx, func(tx dbtx) error {
		tasks, execs = tasks[:0], execs[:0]
		var err error
		// Workers whose lock is gone are dead however fresh their lease:
		// removing their rows hands their tasks on in this pass.
		if dead, err = e.st.WorkerDeleteUnlocked(ctx, tx, &workerDeleteParams{ID: e.workerID}); err != nil {
			return err
		}
		if tasks, err = e.st.TaskListDue(ctx, tx, &taskListDueParams{NowUS: micros(now), LeaseCutoffUS: cutoff, Limit: 500}); err != nil {
			return err
		}
		execs, err = e.st.ExecutionListDue(ctx, tx, &executionListDueParams{NowUS: micros(now), Limit: 500})
		return err
	})
	if err != nil {
		return err
	}
	if len(dead) > 0 {
		e.log.Info("workflow: workers lost their lock; taking over their work", "worker", e.workerID, "dead", dead)
	}
	var errs []error
	if err := e.rescueJobs(ctx, now); err != nil {
		errs = append(errs, err)
	}
	if err := e.promoteTimers(ctx); err != nil {
		errs = append(errs, err)
	}
	for _, k := range tasks {
		if err := e.reapTask(ctx, k, now); err != nil && !errors.Is(err, errStale) {
			errs = append(errs, err)
		}
	}
	for _, arn := range execs {
		_, err := e.transition(ctx, arn, nil, false, func(t *txn) error {
			if t.exec.status != StatusRunning || t.exec.timeoutUS == 0 || t.exec.timeoutUS >= micros(t.now) {
				return errStale
			}
			t.endExecution(StatusTimedOut, "ExecutionTimedOut", "States.Timeout", "The execution ran past its TimeoutSeconds")
			return nil
		})
		if err != nil && !errors.Is(err, errStale) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) reapTask(ctx context.Context, k openTask, now time.Time) error {
	_, err := e.transition(ctx, k.execARN, nil, false, func(t *txn) error {
		row, err := e.st.TaskGet(t.ctx, t.tx, &taskGetParams{Token: k.token})
		if err != nil {
			return err
		}
		status, owner, frameID := row.status, row.owner, row.frameID
		dispatch, hb, timeoutUS, hbUS := row.dispatch, row.heartbeatSeconds, row.timeoutUS, row.heartbeatUS
		if owner != k.owner || dispatch != k.dispatch || t.exec.status != StatusRunning {
			return errStale
		}
		if status != taskScheduled && status != taskRunning && status != taskWaiting {
			return errStale
		}
		nowUS := micros(t.now)
		var name, cause string
		switch {
		case timeoutUS > 0 && timeoutUS < nowUS:
			name, cause = "States.Timeout", "" // Step Functions gives no cause
		case hb > 0 && hbUS+int64(hb)*1e6 < nowUS && row.pattern != "sync":
			// A .sync task waits for its child execution, which the
			// engine watches itself: nothing outside sends heartbeats.
			name, cause = "States.HeartbeatTimeout", ""
		}
		f, err := t.loadFrame(frameID)
		if err != nil {
			return err
		}
		if f.status != frameTask || f.taskToken != k.token {
			return errStale
		}
		if name != "" {
			if err := e.st.TaskStatusSet(t.ctx, t.tx, &taskStatusSetParams{Token: k.token, Status: taskTimedOut}); err != nil {
				return err
			}
			if row.pattern == "sync" {
				// Its child execution is stopped after this commits.
				t.jobs = append(t.jobs, river.InsertManyParams{Args: stopChildrenArgs{Exec: k.execARN}})
			}
			return t.taskFailed(f, k.resource, name, cause)
		}
		if status != taskRunning || k.kind == kindActivity {
			return errStale
		}
		// The owner's lease ran out: deliver the same attempt again.
		if err := e.st.TaskRequeue(t.ctx, t.tx, &taskRequeueParams{Token: k.token, Dispatch: dispatch}); err != nil {
			return err
		}
		t.touch(f)
		t.stepJob(f, time.Time{})
		e.log.Info("workflow: handing a task of a dead worker to another", "execution", k.execARN, "worker", owner)
		return nil
	})
	return err
}

// timerGrace is how long past due a scheduled step job (a Wait's or a
// Retry's timer) waits for River's leader before a reaper makes it
// available itself.
const timerGrace = time.Second

// promoteTimers makes step jobs that are due available. River's leader
// does this every few seconds, but after a crash no process leads until
// an election, which takes far longer than a Wait should overrun; every
// worker's reaper therefore does it too. A job promoted twice, or run
// after River ran it, finds its frame's version gone and does nothing.
func (e *Engine) promoteTimers(ctx context.Context) error {
	return e.withTx(ctx, func(tx dbtx) error {
		// River schedules by the process clock (see stepJob).
		_, err := tx.promoteDueSteps(ctx, time.Now().Add(-timerGrace))
		return err
	})
}

// rescueJobs re-enqueues step jobs that a dead worker fetched but never
// finished. River would rescue them only after RescueStuckJobsAfter; the
// copy runs now, and when River finally reruns the original it finds its
// frame version gone and does nothing.
func (e *Engine) rescueJobs(ctx context.Context, now time.Time) error {
	cutoff := now.Add(-e.cfg.Lease)
	return e.withTx(ctx, func(tx dbtx) error {
		jobs, err := tx.runningSteps(ctx)
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			return nil
		}
		// A worker registers before it fetches jobs, so a job fetched by
		// a worker without a row (removed at close or by a successor that
		// proved it dead) is abandoned now; one whose worker's lease ran
		// out is abandoned once it has run for a lease.
		registered, err := e.st.WorkerListAlive(ctx, tx, &workerListAliveParams{SinceUS: math.MinInt64})
		if err != nil {
			return err
		}
		ids, err := e.st.WorkerListAlive(ctx, tx, &workerListAliveParams{SinceUS: micros(cutoff)})
		if err != nil {
			return err
		}
		known, alive := map[string]bool{}, map[string]bool{}
		for _, id := range registered {
			known[id] = true
		}
		for _, id := range ids {
			alive[id] = true
		}
		var params []river.InsertManyParams
		for _, j := range jobs {
			if j.AttemptedAt == nil || len(j.AttemptedBy) == 0 {
				continue
			}
			by := j.AttemptedBy[len(j.AttemptedBy)-1]
			if alive[by] || known[by] && !j.AttemptedAt.Before(cutoff) {
				continue
			}
			first, err := e.st.JobRescueInsert(ctx, tx, &jobRescueInsertParams{JobID: j.ID, RescuedUS: micros(now)})
			if err != nil {
				return err
			}
			if !first {
				continue
			}
			var a stepArgs
			if err := json.Unmarshal(j.EncodedArgs, &a); err != nil {
				return fmt.Errorf("job %d: %w", j.ID, err)
			}
			params = append(params, river.InsertManyParams{Args: a})
		}
		return tx.insertJobs(ctx, params)
	})
}
