package workflowtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/landfall/landfall/workflow"
)

// FairnessOptions sizes RunFairness.
type FairnessOptions struct {
	// Burst is how many executions start at once in the second round
	// (default 20).
	Burst int
	// MinShare is the smallest share of the burst's tasks each worker
	// must run (default 0.3).
	MinShare float64
}

// RunFairness runs two worker processes (16 slots each) against one
// database and checks that work spreads over them: two executions started
// together run one on each worker, and of a burst of executions each
// worker runs at least opts.MinShare. It returns the burst's tasks per
// worker.
func RunFairness(t *testing.T, open Open, opts FairnessOptions) map[string]int {
	if opts.Burst == 0 {
		opts.Burst = 20
	}
	if opts.MinShare == 0 {
		opts.MinShare = 0.3
	}
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
	ids := map[string]bool{}
	for i := 0; i < 2; i++ {
		f := filepath.Join(dir, fmt.Sprintf("worker-%d", i))
		spawnWorker(t, db, workerIDFileEnv+"="+f)
		deadline := time.Now().Add(60 * time.Second)
		for {
			b, err := os.ReadFile(f)
			if err == nil && len(b) > 0 {
				ids[string(b)] = true
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("worker %d did not start within a minute", i)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Each worker learns of the other at its next lease renewal.
	time.Sleep(time.Second)
	q := openOwners(t, db)

	round := func(name string, n int, ms int) map[string]int {
		arns := make([]string, n)
		for i := range arns {
			x, err := api.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: fmt.Sprintf("%s-%02d", name, i),
				Input: json.RawMessage(fmt.Sprintf(`{"ms": %d}`, ms))})
			if err != nil {
				t.Fatal(err)
			}
			arns[i] = x.ARN
		}
		for _, arn := range arns {
			if x := Wait(t, api, arn, time.Minute); x.Status != workflow.StatusSucceeded {
				t.Fatalf("%s: %s %s %s", arn, x.Status, x.Error, x.Cause)
			}
		}
		by := map[string]int{}
		for _, arn := range arns {
			owner := q.owner(t, arn)
			if !ids[owner] {
				t.Fatalf("%s ran under %q, not one of the workers", arn, owner)
			}
			by[owner]++
		}
		return by
	}
	pair := round("pair", 2, 1500)
	t.Logf("%s: two executions started together ran %v", driverName(db), pair)
	if len(pair) != 2 {
		t.Fatalf("both executions ran on one worker while the other idled: %v", pair)
	}
	burst := round("burst", opts.Burst, 300)
	t.Logf("%s: a burst of %d executions ran %v", driverName(db), opts.Burst, burst)
	for id := range ids {
		if share := float64(burst[id]) / float64(opts.Burst); share < opts.MinShare {
			t.Fatalf("worker %s ran %d of %d tasks (%.0f%%), want at least %.0f%%: %v", id, burst[id], opts.Burst, share*100, opts.MinShare*100, burst)
		}
	}
	return burst
}

type ownerQuery struct {
	db *sql.DB
	q  string
}

func openOwners(t *testing.T, dbURL string) *ownerQuery {
	tq := openTasks(t, dbURL)
	return &ownerQuery{db: tq.db, q: tq.q}
}

func (oq *ownerQuery) owner(t *testing.T, arn string) string {
	t.Helper()
	var owner, status string
	var dispatch int
	if err := oq.db.QueryRow(oq.q, arn).Scan(&owner, &status, &dispatch); err != nil {
		t.Fatalf("task of %s: %v", arn, err)
	}
	return owner
}
