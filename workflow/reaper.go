package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

func (e *Engine) reapLoop(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.ReapInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
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
	var execs []string
	err := e.withTx(ctx, func(tx dbtx) error {
		tasks, execs = tasks[:0], execs[:0]
		r, err := tx.query(ctx, `SELECT token, execution_arn, owner, kind, resource, dispatch, heartbeat_seconds, timeout_us, heartbeat_us
			FROM wf_tasks WHERE status IN ('scheduled','running','waiting') AND (
			  (timeout_us > 0 AND timeout_us < $1)
			  OR (heartbeat_seconds > 0 AND heartbeat_us + heartbeat_seconds * 1000000 < $1)
			  OR (status = 'running' AND kind <> 'activity' AND NOT EXISTS (SELECT 1 FROM wf_workers w WHERE w.id = wf_tasks.owner AND w.heartbeat_us >= $2)))
			LIMIT 500`, micros(now), cutoff)
		if err != nil {
			return err
		}
		for r.Next() {
			var k openTask
			if err := r.Scan(&k.token, &k.execARN, &k.owner, &k.kind, &k.resource, &k.dispatch, &k.heartbeatSeconds, &k.timeoutUS, &k.heartbeatUS); err != nil {
				r.Close()
				return err
			}
			tasks = append(tasks, k)
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		r, err = tx.query(ctx, `SELECT arn FROM wf_executions WHERE status = 'RUNNING' AND timeout_us > 0 AND timeout_us < $1 LIMIT 500`, micros(now))
		if err != nil {
			return err
		}
		for r.Next() {
			var arn string
			if err := r.Scan(&arn); err != nil {
				r.Close()
				return err
			}
			execs = append(execs, arn)
		}
		r.Close()
		return r.Err()
	})
	if err != nil {
		return err
	}
	var errs []error
	if err := e.rescueJobs(ctx, now); err != nil {
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
		var status, owner, frameID string
		var dispatch, hb int
		var timeoutUS, hbUS int64
		if err := t.tx.queryRow(t.ctx, `SELECT status, owner, dispatch, heartbeat_seconds, timeout_us, heartbeat_us, frame_id FROM wf_tasks WHERE token = $1`, k.token).
			Scan(&status, &owner, &dispatch, &hb, &timeoutUS, &hbUS, &frameID); err != nil {
			return err
		}
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
		case hb > 0 && hbUS+int64(hb)*1e6 < nowUS:
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
		var stale []*rivertype.JobRow
		for _, j := range jobs {
			if j.AttemptedAt != nil && j.AttemptedAt.Before(cutoff) && len(j.AttemptedBy) > 0 {
				stale = append(stale, j)
			}
		}
		if len(stale) == 0 {
			return nil
		}
		alive := map[string]bool{}
		r, err := tx.query(ctx, `SELECT id FROM wf_workers WHERE heartbeat_us >= $1`, micros(cutoff))
		if err != nil {
			return err
		}
		for r.Next() {
			var id string
			if err := r.Scan(&id); err != nil {
				r.Close()
				return err
			}
			alive[id] = true
		}
		r.Close()
		if err := r.Err(); err != nil {
			return err
		}
		var params []river.InsertManyParams
		for _, j := range stale {
			if alive[j.AttemptedBy[len(j.AttemptedBy)-1]] {
				continue
			}
			n, err := tx.exec(ctx, `INSERT INTO wf_job_rescues (job_id, rescued_us) VALUES ($1, $2) ON CONFLICT DO NOTHING`, j.ID, micros(now))
			if err != nil {
				return err
			}
			if n == 0 {
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
