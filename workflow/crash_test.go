package workflow_test

import (
	"os"
	"testing"

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
