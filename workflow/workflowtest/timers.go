package workflowtest

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// RunTimerRecovery runs a worker process with the engine's default lease
// and reaper interval, starts an execution whose Wait lasts 2 s, kills
// the worker with SIGKILL during the Wait and restarts it, and returns
// how long after the later of the restart and the Wait's end the
// execution succeeded. A Wait's timer must not wait for anything but the
// restarted worker (not, for one, for a leader to be elected).
func RunTimerRecovery(t *testing.T, open Open) time.Duration {
	db := open(t)
	cfg := Config(db, nil)
	cfg.Role = workflow.RoleAPI
	api := StartEngine(t, cfg)
	ctx := context.Background()
	sm, err := api.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "timer",
		Definition: `{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 2, "Next": "P"}, "P": {"Type": "Pass", "End": true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	startWorker := func(name string) {
		idFile := filepath.Join(dir, name)
		w := spawnWorker(t, db, workerLeaseEnv+"=0", workerIDFileEnv+"="+idFile)
		deadline := time.Now().Add(60 * time.Second)
		for {
			if b, err := os.ReadFile(idFile); err == nil && len(b) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("worker %s did not start within a minute", name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if name == "first" {
			// Let it become River's leader, as a long-running worker is.
			time.Sleep(2 * time.Second)
			x, err := api.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "w"})
			if err != nil {
				t.Fatal(err)
			}
			_ = x
			time.Sleep(500 * time.Millisecond)
			if err := w.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = w.Wait()
		}
	}
	startWorker("first")
	waitEnds := time.Now().Add(1500 * time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	restarted := time.Now()
	startWorker("second")
	arn := ""
	xs, _, err := api.ListExecutions(ctx, workflow.ListExecutionsParams{StateMachineARN: sm.ARN})
	if err != nil || len(xs) != 1 {
		t.Fatalf("executions: %v %v", xs, err)
	}
	arn = xs[0].ARN
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	x, err := api.WaitExecution(wctx, arn)
	if err != nil {
		t.Fatalf("the Wait did not end within a minute of the restart: %v", err)
	}
	if x.Status != workflow.StatusSucceeded {
		t.Fatalf("execution %s: %s", arn, x.Status)
	}
	from := restarted
	if waitEnds.After(from) {
		from = waitEnds
	}
	return x.StopDate.Sub(from)
}
