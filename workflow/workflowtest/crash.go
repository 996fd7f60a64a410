package workflowtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// workerEnv selects worker mode in a re-executed test binary.
const workerEnv = "LANDFALL_WORKFLOW_TEST_WORKER"

// workerLeaseEnv, when set, makes a worker run with that lease (a Go
// duration; 0 for the engine's default) and the default reaper interval
// instead of the short test ones.
const workerLeaseEnv = "LANDFALL_WORKFLOW_TEST_WORKER_LEASE"

// workerIDFileEnv names a file the worker writes its WorkerID to once it
// has started.
const workerIDFileEnv = "LANDFALL_WORKFLOW_TEST_WORKER_ID_FILE"

// MaybeRunWorker turns the process into an engine worker when the test
// binary was re-executed by SpawnWorker; call it first in TestMain. A
// worker runs until it is killed or gets SIGTERM.
func MaybeRunWorker() {
	db := os.Getenv(workerEnv)
	if db == "" {
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg := Config(db, Resources())
	cfg.Lease = time.Second
	cfg.ReapInterval = 200 * time.Millisecond
	if v := os.Getenv(workerLeaseEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", workerLeaseEnv, err)
			os.Exit(3)
		}
		cfg.Lease, cfg.ReapInterval = d, 0
	}
	e, err := workflow.Open(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(3)
	}
	if err := e.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(3)
	}
	if f := os.Getenv(workerIDFileEnv); f != "" {
		if err := os.WriteFile(f, []byte(e.WorkerID()), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(3)
		}
	}
	<-ctx.Done()
	cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = e.Close(cctx)
	os.Exit(0)
}

// SpawnWorker re-executes the test binary as a worker on database db. The
// worker is killed when the test ends if it still runs.
func SpawnWorker(tb testing.TB, db string) *exec.Cmd {
	tb.Helper()
	return spawnWorker(tb, db)
}

// spawnWorker is SpawnWorker with extra environment variables.
func spawnWorker(tb testing.TB, db string, env ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), workerEnv+"="+db), env...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// CrashOptions sizes RunCrash.
type CrashOptions struct {
	Executions int // default 200
	Kills      int // default 10
}

// RunCrash starts executions of pipeline20 and kills the worker process
// with SIGKILL at random moments, restarting it each time; then it checks
// that every execution succeeded once with every transition exactly once
// in its history.
func RunCrash(t *testing.T, open Open, opts CrashOptions) {
	if opts.Executions == 0 {
		opts.Executions = 200
	}
	if opts.Kills == 0 {
		opts.Kills = 10
	}
	db := open(t)
	cfg := Config(db, Resources())
	cfg.Role = workflow.RoleAPI
	api := StartEngine(t, cfg)
	ctx := context.Background()
	sm, err := api.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "pipeline20", Definition: Definition(t, "pipeline20")})
	if err != nil {
		t.Fatal(err)
	}
	arns := make([]string, opts.Executions)
	for i := range arns {
		x, err := api.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: fmt.Sprintf("crash-%03d", i),
			Input: json.RawMessage(fmt.Sprintf(`{"wait": %d}`, i%2)), CorrelationID: fmt.Sprintf("media-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		arns[i] = x.ARN
	}
	for k := 0; k < opts.Kills; k++ {
		w := SpawnWorker(t, db)
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		if err := w.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = w.Wait()
	}
	running, _, err := api.ListExecutions(ctx, workflow.ListExecutionsParams{Status: workflow.StatusRunning, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d of %d executions still running after %d kills", len(running), opts.Executions, opts.Kills)
	SpawnWorker(t, db)
	deadline := time.Now().Add(120 * time.Second)
	for {
		running, _, err := api.ListExecutions(ctx, workflow.ListExecutionsParams{Status: workflow.StatusRunning, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			h, _, _ := api.History(ctx, running[0].ARN, workflow.HistoryParams{})
			t.Fatalf("%d executions still running after the last restart; first %s:\n%s", len(running), running[0].ARN, FormatHistory(h))
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, arn := range arns {
		x, err := api.DescribeExecution(ctx, arn)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := api.History(ctx, arn, workflow.HistoryParams{})
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != workflow.StatusSucceeded || string(x.Output) != Pipeline20Output {
			t.Fatalf("%s: %s %s %s output %s; history:\n%s", arn, x.Status, x.Error, x.Cause, x.Output, FormatHistory(h))
		}
		counts := CheckHistory(t, h)
		for typ, n := range Pipeline20Counts {
			if counts[typ] != n {
				t.Fatalf("%s: %d %s events, want %d; history:\n%s", arn, counts[typ], typ, n, FormatHistory(h))
			}
		}
		if len(h) != sum(Pipeline20Counts) {
			t.Fatalf("%s: %d events, want %d; history:\n%s", arn, len(h), sum(Pipeline20Counts), FormatHistory(h))
		}
	}
}

func sum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
