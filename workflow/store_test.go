package workflow

import (
	"context"
	"reflect"
	"strings"
	"testing"
)

// TestStoreSQLIsPerDriver: both drivers have every fixed statement, the
// SQLite ones with SQLite's placeholders, the PostgreSQL ones with
// numbered ones.
func TestStoreSQLIsPerDriver(t *testing.T) {
	t.Parallel()
	pg, lite := reflect.ValueOf(postgresStoreSQL), reflect.ValueOf(sqliteStoreSQL)
	for i := 0; i < pg.NumField(); i++ {
		name := pg.Type().Field(i).Name
		p, l := pg.Field(i).String(), lite.Field(i).String()
		if p == "" || l == "" {
			t.Errorf("%s: a driver has no statement", name)
			continue
		}
		if strings.Contains(l, "$") {
			t.Errorf("%s: the SQLite statement has a PostgreSQL placeholder: %q", name, l)
		}
		if strings.Contains(p, "?") {
			t.Errorf("%s: the PostgreSQL statement has a SQLite placeholder: %q", name, p)
		}
	}
}

// recordTx is a dbtx that records the statements it is given.
type recordTx struct {
	dbtx
	stmts []string
}

type noRows struct{}

func (noRows) Next() bool        { return false }
func (noRows) Scan(...any) error { return errNoRows }
func (noRows) Err() error        { return nil }
func (noRows) Close()            {}
func (r *recordTx) add(q string) { r.stmts = append(r.stmts, q) }
func (r *recordTx) exec(_ context.Context, q string, _ ...any) (int64, error) {
	r.add(q)
	return 1, nil
}
func (r *recordTx) query(_ context.Context, q string, _ ...any) (rows, error) {
	r.add(q)
	return noRows{}, nil
}
func (r *recordTx) queryRow(_ context.Context, q string, _ ...any) row {
	r.add(q)
	return errRow{errNoRows}
}

// TestStoreStatementsPerDriver runs every store method on a recording
// transaction: the SQLite store's statements need no rewriting and have
// as many placeholders as it binds values; PostgreSQL's are numbered.
func TestStoreStatementsPerDriver(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, d := range []dialect{dialectSQLite, dialectPostgres} {
		s, tx := newStore(d), &recordTx{}
		_, _ = s.StateMachineGet(ctx, tx, &stateMachineGetParams{ARN: "a"})
		_ = s.StateMachineInsert(ctx, tx, &stateMachineInsertParams{ARN: "a"})
		_, _ = s.StateMachineList(ctx, tx, &stateMachineListParams{})
		_, _ = s.StateMachineUpdate(ctx, tx, &stateMachineUpdateParams{ARN: "a"})
		_ = s.StateMachineDelete(ctx, tx, &stateMachineDeleteParams{ARN: "a"})
		_, _ = s.ActivityGet(ctx, tx, &activityGetParams{ARN: "a"})
		_, _ = s.ActivityGet(ctx, tx, &activityGetParams{Name: "a"})
		_ = s.ActivityInsert(ctx, tx, &activityInsertParams{ARN: "a"})
		_, _ = s.ActivityList(ctx, tx, &activityListParams{})
		_ = s.ActivityDelete(ctx, tx, &activityDeleteParams{ARN: "a"})
		_, _ = s.ExecutionGet(ctx, tx, &executionGetParams{ARN: "a"})
		_, _ = s.ExecutionList(ctx, tx, &executionListParams{StateMachineARN: "s", Status: "RUNNING", CorrelationID: "c", Tenant: "t",
			StartedAfterUS: 1, StartedBeforeUS: 2, AfterStartUS: 3, AfterARN: "a", Limit: 10})
		_, _ = s.ExecutionCountRunning(ctx, tx, &executionCountRunningParams{Tenant: "t"})
		_, _ = s.HistoryList(ctx, tx, &historyListParams{ExecutionARN: "a", Limit: 10})
		_, _ = s.HistoryList(ctx, tx, &historyListParams{ExecutionARN: "a", Reverse: true, Limit: 10})
		_ = s.WorkerInsert(ctx, tx, &workerInsertParams{ID: "w"})
		_ = s.WorkerHeartbeat(ctx, tx, &workerHeartbeatParams{ID: "w"})
		_ = s.WorkerDelete(ctx, tx, &workerDeleteParams{ID: "w"})
		_, _ = s.TaskGet(ctx, tx, &taskGetParams{Token: "k"})
		_, _, _ = s.TaskOwnerGet(ctx, tx, &taskGetParams{Token: "k"})
		_ = s.TaskStatusSet(ctx, tx, &taskStatusSetParams{Token: "k", Status: taskFailed})
		_ = s.TaskClaim(ctx, tx, &taskClaimParams{Token: "k", Owner: "w"})
		_, _, _ = s.TaskNextActivity(ctx, tx, &taskNextActivityParams{Activity: "a"})
		_, _ = s.TaskHeartbeat(ctx, tx, &taskHeartbeatParams{Token: "k", Dispatch: 2})
		_ = s.TaskAwait(ctx, tx, &taskFenceParams{Token: "k", Owner: "w", Dispatch: 1})
		tx.add(s.TaskFinishFence(&taskFenceParams{Token: "k", Owner: "w", Dispatch: 1, Status: taskSucceeded}).q)
		_ = s.TaskRequeue(ctx, tx, &taskRequeueParams{Token: "k", Dispatch: 1})
		_ = s.ExecutionInsert(ctx, tx, &executionInsertParams{ARN: "a"})
		_, _ = s.TaskListDue(ctx, tx, &taskListDueParams{Limit: 1})
		_, _ = s.ExecutionListDue(ctx, tx, &executionListDueParams{Limit: 1})
		_, _ = s.WorkerListAlive(ctx, tx, &workerListAliveParams{})
		_, _ = s.JobRescueInsert(ctx, tx, &jobRescueInsertParams{JobID: 1})
		_, _ = s.FrameRootGet(ctx, tx, &frameRootGetParams{ExecutionARN: "a"})
		_, _ = s.FrameListChildren(ctx, tx, &frameListChildrenParams{ParentID: "f"})
		_, _ = s.MigrationApplied(ctx, tx, &migrationParams{Version: 1})
		_ = s.MigrationRecord(ctx, tx, &migrationParams{Version: 1})
		f := &frameRow{id: "f", execARN: "a"}
		for _, st := range []stmt{
			s.ExecutionLockStmt(&executionGetParams{ARN: "a"}),
			s.FrameGetStmt(&frameGetParams{ID: "f"}),
			s.FrameInsertStmt(&frameWriteParams{F: f}),
			s.FrameUpdateStmt(&frameWriteParams{F: f}),
			s.FrameCancelStmt(&frameCancelParams{ExecutionARN: "a", Prefix: "/P"}),
			s.TaskCancelStmt(&taskCancelParams{ExecutionARN: "a"}),
			s.TaskInsertStmt(&taskInsertParams{T: &taskRow{token: "k"}}),
			s.ExecutionUpdateStmt(&executionUpdateParams{ARN: "a", Ended: true, Redriven: true}),
		} {
			if n := strings.Count(st.q, "?") + strings.Count(st.q, "$"); d == dialectSQLite && !strings.Contains(st.q, "?1") && n != len(st.args) {
				t.Errorf("%d placeholders for %d values: %s", n, len(st.args), st.q)
			}
			tx.add(st.q)
		}
		for _, st := range s.HistoryInsertStmts(&historyInsertParams{ExecutionARN: "a", Events: make([]eventRow, 150)}) {
			if d == dialectSQLite && strings.Count(st.q, "?") != len(st.args) {
				t.Errorf("%d placeholders for %d values in a history insert", strings.Count(st.q, "?"), len(st.args))
			}
			tx.add(st.q)
		}
		_, _ = s.FrameListChildOutputs(ctx, tx, &frameListChildrenParams{ParentID: "f"})
		if len(tx.stmts) < 47 {
			t.Fatalf("dialect %d: %d statements recorded", d, len(tx.stmts))
		}
		for _, q := range tx.stmts {
			switch d {
			case dialectSQLite:
				if strings.Contains(q, "$") || strings.Contains(q, "FOR UPDATE") {
					t.Errorf("SQLite statement written for PostgreSQL: %s", q)
				}
			default:
				if strings.Contains(q, "?") {
					t.Errorf("PostgreSQL statement with a SQLite placeholder: %s", q)
				}
			}
		}
	}
}
