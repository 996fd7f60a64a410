package workflow_test

import (
	"testing"

	"github.com/landfall/landfall/workflow/workflowtest"
)

func TestSQLite(t *testing.T) {
	t.Parallel()
	workflowtest.Run(t, workflowtest.SQLite)
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	workflowtest.Run(t, workflowtest.Postgres)
}

func TestConcurrentStartsPostgres(t *testing.T) {
	t.Parallel()
	workflowtest.RunConcurrentStarts(t, workflowtest.Postgres)
}

func TestConcurrentStartsSQLite(t *testing.T) {
	t.Parallel()
	workflowtest.RunConcurrentStarts(t, workflowtest.SQLite)
}

func TestLimitsSQLite(t *testing.T) {
	t.Parallel()
	workflowtest.RunLimits(t, workflowtest.SQLite)
}

func TestLimitsPostgres(t *testing.T) {
	t.Parallel()
	workflowtest.RunLimits(t, workflowtest.Postgres)
}

// TestConformanceSQLite runs the recorded AWS executions and the
// project's own ASL cases on the durable engine over SQLite, next to the
// in-memory runner.
func TestConformanceSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about a thousand executions")
	}
	t.Parallel()
	workflowtest.RunConformance(t, workflowtest.SQLite, "testdata/engine_conformance_exempt.txt")
}

// TestConformancePostgres is TestConformanceSQLite over PostgreSQL.
func TestConformancePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs about a thousand executions")
	}
	t.Parallel()
	workflowtest.RunConformance(t, workflowtest.Postgres, "testdata/engine_conformance_exempt.txt")
}

func TestClockSQLite(t *testing.T) {
	t.Parallel()
	workflowtest.RunClock(t, workflowtest.SQLite)
}

func TestClockPostgres(t *testing.T) {
	t.Parallel()
	workflowtest.RunClock(t, workflowtest.Postgres)
}
