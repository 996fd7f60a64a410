package workflowtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/landfall/landfall/workflow"
)

// recoverySlowMs is how long the interrupted task runs: long enough to be
// killed in the middle, short enough for the test.
const recoverySlowMs = 3000

// RecoveryOptions sizes RunRecovery.
type RecoveryOptions struct {
	// Workers is how many worker processes run. With one, the killed
	// worker is restarted (the same process coming back); with more, the
	// others take over.
	Workers int
	// Lease is the workers' lease (0: the engine's default).
	Lease time.Duration
	// Within is the longest acceptable time from the kill until the
	// interrupted task runs again.
	Within time.Duration
}

// RunRecovery runs worker processes with lease opts.Lease and the
// engine's default reaper interval, kills the one running a slow task with SIGKILL in the
// middle of it (restarting it when it was the only one) and checks that
// the task runs again, on another worker, within opts.Within of the kill
// and that the execution then succeeds. It returns the measured time.
func RunRecovery(t *testing.T, open Open, opts RecoveryOptions) time.Duration {
	db := open(t)
	cfg := Config(db, Resources())
	cfg.Role = workflow.RoleAPI
	api := StartEngine(t, cfg)
	ctx := context.Background()
	sm, err := api.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "slow",
		Definition: `{"StartAt": "Slow", "States": {"Slow": {"Type": "Task", "Resource": "test:fn:sleep", "End": true}}}`})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	procs := map[string]*exec.Cmd{}
	spawned := 0
	spawn := func(n int) {
		ids := make([]string, n)
		cmds := make([]*exec.Cmd, n)
		for i := range ids {
			spawned++
			ids[i] = filepath.Join(dir, fmt.Sprintf("worker-%d", spawned))
			cmds[i] = spawnWorker(t, db, workerLeaseEnv+"="+opts.Lease.String(), workerIDFileEnv+"="+ids[i])
		}
		deadline := time.Now().Add(60 * time.Second)
		for i, f := range ids {
			for {
				b, err := os.ReadFile(f)
				if err == nil && len(b) > 0 {
					procs[string(b)] = cmds[i]
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("worker %d did not start within a minute", i)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	spawn(opts.Workers)
	x, err := api.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: "interrupted",
		Input: json.RawMessage(fmt.Sprintf(`{"ms": %d}`, recoverySlowMs))})
	if err != nil {
		t.Fatal(err)
	}
	q := openTasks(t, db)
	// Kill the worker once the task has run for a while.
	first := q.waitFor(t, x.ARN, 30*time.Second, func(k taskState) bool { return k.status == "running" && k.dispatch == 1 })
	time.Sleep(recoverySlowMs / 3 * time.Millisecond)
	victim, ok := procs[first.owner]
	if !ok {
		t.Fatalf("task runs under %q, not one of the spawned workers", first.owner)
	}
	if err := victim.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = victim.Wait()
	killed := time.Now()
	if opts.Workers == 1 {
		spawn(1)
	}
	again := q.waitFor(t, x.ARN, 2*time.Minute, func(k taskState) bool { return k.dispatch >= 2 && k.owner != first.owner })
	took := time.Since(killed)
	lease := opts.Lease
	if lease == 0 {
		lease = workflow.DefaultLease
	}
	t.Logf("%s, %d worker(s), lease %v: the task of the killed worker ran again under %s %.2fs after the kill",
		driverName(db), opts.Workers, lease, again.owner, took.Seconds())
	done := Wait(t, api, x.ARN, 30*time.Second)
	var out struct{ Ms int }
	if done.Status != workflow.StatusSucceeded || json.Unmarshal(done.Output, &out) != nil || out.Ms != recoverySlowMs {
		t.Fatalf("execution %s: %s %s %s output %s", x.ARN, done.Status, done.Error, done.Cause, done.Output)
	}
	if took > opts.Within {
		t.Fatalf("the task ran again %v after the kill, want within %v", took, opts.Within)
	}
	return took
}

type taskState struct {
	owner, status string
	dispatch      int
}

type taskQuery struct {
	db *sql.DB
	q  string
}

func driverName(dbURL string) string {
	if strings.HasPrefix(dbURL, "sqlite:") {
		return "SQLite"
	}
	return "PostgreSQL"
}

// openTasks opens the engine's database to read its task rows.
func openTasks(t *testing.T, dbURL string) *taskQuery {
	t.Helper()
	var db *sql.DB
	var err error
	q := `SELECT owner, status, dispatch FROM wf_tasks WHERE execution_arn = `
	if strings.HasPrefix(dbURL, "sqlite:") {
		path := strings.TrimPrefix(strings.TrimPrefix(dbURL, "sqlite:"), "//")
		db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
		q += "?"
	} else {
		db, err = sql.Open("pgx", dbURL)
		q += "$1"
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &taskQuery{db: db, q: q}
}

// waitFor polls the one task row of execution arn until ok holds.
func (tq *taskQuery) waitFor(t *testing.T, arn string, d time.Duration, ok func(taskState) bool) taskState {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		var k taskState
		err := tq.db.QueryRow(tq.q, arn).Scan(&k.owner, &k.status, &k.dispatch)
		if err != nil && err != sql.ErrNoRows {
			t.Fatal(err)
		}
		if err == nil && ok(k) {
			return k
		}
		if time.Now().After(deadline) {
			t.Fatalf("task of %s: still %+v after %v", arn, k, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
