package workflow_test

import (
	"os"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow/workflowtest"
)

func TestMain(m *testing.M) {
	workflowtest.MaybeRunWorker()
	os.Exit(m.Run())
}

func TestCrashSQLite(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test kills worker processes for about a minute")
	}
	workflowtest.RunCrash(t, workflowtest.SQLite, workflowtest.CrashOptions{})
}

func TestCrashPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test kills worker processes for about a minute")
	}
	workflowtest.RunCrash(t, workflowtest.Postgres, workflowtest.CrashOptions{})
}

func TestScaleOutPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("scale-out test runs worker processes")
	}
	workflowtest.RunScaleOut(t, 100)
}

// A restarted worker takes over its predecessor's task at once, long
// before the predecessor's lease would end.
func TestRecoveryRestartSQLite(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("recovery test runs worker processes")
	}
	workflowtest.RunRecovery(t, workflowtest.SQLite, workflowtest.RecoveryOptions{Workers: 1, Lease: 30 * time.Second, Within: 5 * time.Second})
}

// Another worker takes over a killed worker's task as soon as the killed
// worker's advisory lock vanishes, long before its lease would end.
func TestRecoveryTakeoverPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("recovery test runs worker processes")
	}
	workflowtest.RunRecovery(t, workflowtest.Postgres, workflowtest.RecoveryOptions{Workers: 2, Lease: 30 * time.Second, Within: 10 * time.Second})
}

// Work spreads over the workers: two executions started together run one
// on each of two workers, and a burst splits between them.
func TestFairFetchPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("fairness test runs worker processes")
	}
	workflowtest.RunFairness(t, workflowtest.Postgres, workflowtest.FairnessOptions{})
}

// A Wait interrupted by a worker's crash ends within a few seconds of the
// worker's restart.
func TestTimerRecoverySQLite(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("timer recovery test runs worker processes")
	}
	d := workflowtest.RunTimerRecovery(t, workflowtest.SQLite)
	t.Logf("the Wait ended %v after the restart (or its own end)", d)
	if d > 3*time.Second {
		t.Fatalf("the Wait ended %v after the restart: timers wait for something else", d)
	}
}

func TestTimerRecoveryPostgres(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("timer recovery test runs worker processes")
	}
	d := workflowtest.RunTimerRecovery(t, workflowtest.Postgres)
	t.Logf("the Wait ended %v after the restart (or its own end)", d)
	if d > 3*time.Second {
		t.Fatalf("the Wait ended %v after the restart: timers wait for something else", d)
	}
}
