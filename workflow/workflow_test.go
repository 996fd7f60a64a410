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
