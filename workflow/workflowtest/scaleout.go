package workflowtest

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landfall/landfall/workflow"
)

// RunScaleOut runs an API engine and two worker processes against one
// PostgreSQL schema, kills one worker with SIGKILL while executions are in
// flight, and checks that both workers did work and nothing was lost or
// repeated.
func RunScaleOut(t *testing.T, executions int) {
	db := Postgres(t)
	cfg := Config(db, Resources())
	cfg.Role = workflow.RoleAPI
	api := StartEngine(t, cfg)
	ctx := context.Background()
	sm, err := api.CreateStateMachine(ctx, workflow.CreateStateMachineParams{Name: "pipeline20", Definition: Definition(t, "pipeline20")})
	if err != nil {
		t.Fatal(err)
	}
	a := SpawnWorker(t, db)
	SpawnWorker(t, db)
	arns := make([]string, executions)
	for i := range arns {
		x, err := api.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: fmt.Sprintf("scale-%03d", i), Input: json.RawMessage(`{"wait": 1}`)})
		if err != nil {
			t.Fatal(err)
		}
		arns[i] = x.ARN
	}
	time.Sleep(2500 * time.Millisecond)
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	t.Logf("task completions by worker when one was killed: %v", completionsByWorker(t, conn))
	deadline := time.Now().Add(90 * time.Second)
	for {
		running, _, err := api.ListExecutions(ctx, workflow.ListExecutionsParams{Status: workflow.StatusRunning, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d executions still running", len(running))
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
			t.Fatalf("%s: %s %s %s; history:\n%s", arn, x.Status, x.Error, x.Cause, FormatHistory(h))
		}
		counts := CheckHistory(t, h)
		for typ, n := range Pipeline20Counts {
			if counts[typ] != n {
				t.Fatalf("%s: %d %s events, want %d; history:\n%s", arn, counts[typ], typ, n, FormatHistory(h))
			}
		}
	}
	perWorker := completionsByWorker(t, conn)
	t.Logf("task completions by worker: %v", perWorker)
	if len(perWorker) < 2 {
		t.Fatalf("one worker did all the work: %v", perWorker)
	}
}

func completionsByWorker(t *testing.T, conn *pgx.Conn) map[string]int {
	rows, err := conn.Query(context.Background(), `SELECT owner, COUNT(*) FROM wf_tasks WHERE status = 'succeeded' GROUP BY owner`)
	if err != nil {
		t.Fatal(err)
	}
	perWorker := map[string]int{}
	for rows.Next() {
		var owner string
		var n int
		if err := rows.Scan(&owner, &n); err != nil {
			t.Fatal(err)
		}
		perWorker[owner] = n
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	return perWorker
}
