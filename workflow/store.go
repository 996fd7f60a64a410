package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"hash/fnv"
	"strconv"
	"strings"
)

// store is the engine's SQL, written for each driver (no statement is
// rewritten from one dialect to another). Methods are named Noun+Verb
// and take a *Params; times come in the parameters, from the engine's
// clock, never from the store. It runs inside the caller's transaction.
//
// Every statement of the engine's own tables comes from it: the
// transitions' (returned as stmts, sent in one batch), the API's, the
// reaper's and the migration log's. River's tables are River's drivers'.
// Capabilities differ by driver, not by checks on the database's name:
// PostgreSQL locks rows (FOR UPDATE, SKIP LOCKED) and a tenant's starts
// (an advisory lock); SQLite's one writer makes both needless.
type store interface {
	StateMachineGet(ctx context.Context, tx dbtx, p *stateMachineGetParams) (*StateMachine, error)
	StateMachineInsert(ctx context.Context, tx dbtx, p *stateMachineInsertParams) error
	StateMachineList(ctx context.Context, tx dbtx, p *stateMachineListParams) ([]StateMachine, error)
	// StateMachineUpdate reports whether the machine existed.
	StateMachineUpdate(ctx context.Context, tx dbtx, p *stateMachineUpdateParams) (bool, error)
	StateMachineDelete(ctx context.Context, tx dbtx, p *stateMachineDeleteParams) error
	ActivityGet(ctx context.Context, tx dbtx, p *activityGetParams) (*Activity, error)
	ActivityInsert(ctx context.Context, tx dbtx, p *activityInsertParams) error
	ActivityList(ctx context.Context, tx dbtx, p *activityListParams) ([]Activity, error)
	ActivityDelete(ctx context.Context, tx dbtx, p *activityDeleteParams) error
	executionStore
	mapRunStore
	// ExecutionListSyncChildren lists the running child executions of
	// the cancelled .sync tasks of an execution.
	ExecutionListSyncChildren(ctx context.Context, tx dbtx, arn string) ([]string, error)
	metaStore
	queueStore
	retentionStore
	taskStore
	upkeepStore
	transitionStore
}

type stateMachineGetParams struct{ ARN string }

type stateMachineInsertParams struct {
	ARN, Name, Type, Definition, RoleARN string
	Logging, Tracing, Description        string
	CreatedUS                            int64
}

type stateMachineListParams struct{}

// stateMachineUpdateParams replaces a machine's definition, role,
// logging and tracing (all of them: the engine keeps what is not
// changed) and bumps its revision.
type stateMachineUpdateParams struct {
	ARN, Definition, RoleARN, Logging, Tracing string
	UpdatedUS                                  int64
}

type stateMachineDeleteParams struct{ ARN string }

// activityGetParams finds an activity by ARN or, when ARN is empty, by
// name.
type activityGetParams struct{ ARN, Name string }

type activityInsertParams struct {
	ARN, Name string
	CreatedUS int64
}

type activityListParams struct{}

type activityDeleteParams struct{ ARN string }

// storeSQL holds one driver's statements of the store.
type storeSQL struct {
	stateMachineGet, stateMachineInsert, stateMachineList, stateMachineUpdate, stateMachineDelete string
	activityGetByARN, activityGetByName, activityInsert, activityList, activityDelete             string
}

// The statements of the two drivers differ in their placeholders:
// PostgreSQL numbers them ($1), SQLite binds ? by position.
var (
	postgresStoreSQL = storeSQL{
		stateMachineGet:    `SELECT ` + smCols + ` FROM wf_state_machines WHERE arn = $1`,
		stateMachineInsert: `INSERT INTO wf_state_machines (arn, name, type, definition, role_arn, logging, tracing, description, revision, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9)`,
		stateMachineList:   `SELECT ` + smCols + ` FROM wf_state_machines ORDER BY name`,
		stateMachineUpdate: `UPDATE wf_state_machines SET definition = $1, role_arn = $2, logging = $3, tracing = $4, revision = revision + 1, updated_us = $5 WHERE arn = $6`,
		stateMachineDelete: `DELETE FROM wf_state_machines WHERE arn = $1`,
		activityGetByARN:   `SELECT arn, name, created_us FROM wf_activities WHERE arn = $1`,
		activityGetByName:  `SELECT arn, name, created_us FROM wf_activities WHERE name = $1`,
		activityInsert:     `INSERT INTO wf_activities (arn, name, created_us) VALUES ($1, $2, $3)`,
		activityList:       `SELECT arn, name, created_us FROM wf_activities ORDER BY name`,
		activityDelete:     `DELETE FROM wf_activities WHERE arn = $1`,
	}
	sqliteStoreSQL = storeSQL{
		stateMachineGet:    `SELECT ` + smCols + ` FROM wf_state_machines WHERE arn = ?`,
		stateMachineInsert: `INSERT INTO wf_state_machines (arn, name, type, definition, role_arn, logging, tracing, description, revision, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		stateMachineList:   `SELECT ` + smCols + ` FROM wf_state_machines ORDER BY name`,
		stateMachineUpdate: `UPDATE wf_state_machines SET definition = ?, role_arn = ?, logging = ?, tracing = ?, revision = revision + 1, updated_us = ? WHERE arn = ?`,
		stateMachineDelete: `DELETE FROM wf_state_machines WHERE arn = ?`,
		activityGetByARN:   `SELECT arn, name, created_us FROM wf_activities WHERE arn = ?`,
		activityGetByName:  `SELECT arn, name, created_us FROM wf_activities WHERE name = ?`,
		activityInsert:     `INSERT INTO wf_activities (arn, name, created_us) VALUES (?, ?, ?)`,
		activityList:       `SELECT arn, name, created_us FROM wf_activities ORDER BY name`,
		activityDelete:     `DELETE FROM wf_activities WHERE arn = ?`,
	}
)

// sqlStore runs one driver's statements, binding each statement's
// parameters as that driver's placeholders want them. Get methods return
// errNoRows for a missing row.
type sqlStore struct {
	q      storeSQL
	sqlite bool
}

func newStore(d dialect) *sqlStore {
	if d == dialectSQLite {
		return &sqlStore{q: sqliteStoreSQL, sqlite: true}
	}
	return &sqlStore{q: postgresStoreSQL}
}

func (s *sqlStore) StateMachineGet(ctx context.Context, tx dbtx, p *stateMachineGetParams) (*StateMachine, error) {
	return scanSM(tx.queryRow(ctx, s.q.stateMachineGet, p.ARN))
}

func (s *sqlStore) StateMachineInsert(ctx context.Context, tx dbtx, p *stateMachineInsertParams) error {
	args := []any{p.ARN, p.Name, p.Type, p.Definition, p.RoleARN, p.Logging, p.Tracing, p.Description, p.CreatedUS}
	if s.sqlite {
		args = append(args, p.CreatedUS) // ? binds by position: created and updated
	}
	_, err := tx.exec(ctx, s.q.stateMachineInsert, args...)
	return err
}

func (s *sqlStore) StateMachineList(ctx context.Context, tx dbtx, _ *stateMachineListParams) ([]StateMachine, error) {
	r, err := tx.query(ctx, s.q.stateMachineList)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []StateMachine
	for r.Next() {
		sm, err := scanSM(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *sm)
	}
	return out, r.Err()
}

func (s *sqlStore) StateMachineUpdate(ctx context.Context, tx dbtx, p *stateMachineUpdateParams) (bool, error) {
	n, err := tx.exec(ctx, s.q.stateMachineUpdate, p.Definition, p.RoleARN, p.Logging, p.Tracing, p.UpdatedUS, p.ARN)
	return n > 0, err
}

func (s *sqlStore) StateMachineDelete(ctx context.Context, tx dbtx, p *stateMachineDeleteParams) error {
	_, err := tx.exec(ctx, s.q.stateMachineDelete, p.ARN)
	return err
}

func scanActivity(r row) (*Activity, error) {
	var a Activity
	var c int64
	if err := r.Scan(&a.ARN, &a.Name, &c); err != nil {
		return nil, err
	}
	a.CreatedAt = fromMicros(c)
	return &a, nil
}

func (s *sqlStore) ActivityGet(ctx context.Context, tx dbtx, p *activityGetParams) (*Activity, error) {
	if p.ARN == "" && p.Name == "" {
		return nil, errors.New("activityGet: an ARN or a name is required")
	}
	if p.ARN != "" {
		return scanActivity(tx.queryRow(ctx, s.q.activityGetByARN, p.ARN))
	}
	return scanActivity(tx.queryRow(ctx, s.q.activityGetByName, p.Name))
}

func (s *sqlStore) ActivityInsert(ctx context.Context, tx dbtx, p *activityInsertParams) error {
	_, err := tx.exec(ctx, s.q.activityInsert, p.ARN, p.Name, p.CreatedUS)
	return err
}

func (s *sqlStore) ActivityList(ctx context.Context, tx dbtx, _ *activityListParams) ([]Activity, error) {
	r, err := tx.query(ctx, s.q.activityList)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Activity
	for r.Next() {
		a, err := scanActivity(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, r.Err()
}

func (s *sqlStore) ActivityDelete(ctx context.Context, tx dbtx, p *activityDeleteParams) error {
	_, err := tx.exec(ctx, s.q.activityDelete, p.ARN)
	return err
}

var _ store = (*sqlStore)(nil)

// ---- executions, history and workers ----

// Further methods of the store; see store.
type executionStore interface {
	// ExecutionInsert inserts a RUNNING execution whose history is empty.
	ExecutionInsert(ctx context.Context, tx dbtx, p *executionInsertParams) error
	ExecutionGet(ctx context.Context, tx dbtx, p *executionGetParams) (*Execution, error)
	ExecutionList(ctx context.Context, tx dbtx, p *executionListParams) ([]Execution, error)
	// ExecutionCountRunning counts a tenant's RUNNING executions and,
	// where the driver needs it (PostgreSQL), holds a transaction lock on
	// the tenant so that concurrent starts count one after another.
	ExecutionCountRunning(ctx context.Context, tx dbtx, p *executionCountRunningParams) (int, error)
	HistoryList(ctx context.Context, tx dbtx, p *historyListParams) ([]HistoryEvent, error)
	WorkerInsert(ctx context.Context, tx dbtx, p *workerInsertParams) error
	// WorkerHeartbeat renews a worker's lease, recreating its row when
	// the reaper removed it.
	WorkerHeartbeat(ctx context.Context, tx dbtx, p *workerHeartbeatParams) error
	WorkerDelete(ctx context.Context, tx dbtx, p *workerDeleteParams) error
	// WorkerDeleteOthers removes every worker row but ID's: called only
	// when the workers' lock file proves the others dead, it hands their
	// running tasks and step jobs on at once.
	WorkerDeleteOthers(ctx context.Context, tx dbtx, p *workerDeleteParams) ([]string, error)
	// WorkerDeleteUnlocked removes the rows of the workers other than ID
	// whose advisory lock (workerLockSpace, hashtext(id)) nobody holds:
	// their processes are gone. PostgreSQL only; SQLite removes none.
	WorkerDeleteUnlocked(ctx context.Context, tx dbtx, p *workerDeleteParams) ([]string, error)
}

// workerLockSpace is the first key of the PostgreSQL advisory lock every
// worker holds on its own connection while it lives; the second is
// hashtext(worker id).
const workerLockSpace = 0x4c46

type executionGetParams struct{ ARN string }

type executionInsertParams struct {
	ARN, StateMachineARN, Name, Input, CorrelationID, Tenant, Definition string
	// ParentToken is the .sync task that started the execution ("" for
	// none).
	ParentToken        string
	StartUS, TimeoutUS int64
	// Qualified is the version or alias ARN the execution started with.
	Qualified string
}

func (s *sqlStore) ExecutionInsert(ctx context.Context, tx dbtx, p *executionInsertParams) error {
	ph := make([]string, 11)
	for i := range ph {
		ph[i] = s.placeholder(i + 1)
	}
	_, err := tx.exec(ctx, `INSERT INTO wf_executions (arn, sm_arn, name, status, input, correlation_id, tenant, definition, start_us, timeout_us, sm_qualified, parent_token, next_event)
		VALUES (`+ph[0]+`, `+ph[1]+`, `+ph[2]+`, 'RUNNING', `+strings.Join(ph[3:], ", ")+`, 1)`,
		p.ARN, p.StateMachineARN, p.Name, p.Input, p.CorrelationID, p.Tenant, p.Definition, p.StartUS, p.TimeoutUS, p.Qualified, p.ParentToken)
	return err
}

// executionListParams filters executions; zero fields do not filter.
// After* continue a page after the execution (AfterStartUS, AfterARN).
type executionListParams struct {
	StateMachineARN, Status, CorrelationID, Tenant string
	StartedAfterUS, StartedBeforeUS                int64
	AfterStartUS                                   int64
	AfterARN                                       string
	Limit                                          int
}

type executionCountRunningParams struct{ Tenant string }

// historyListParams pages an execution's history: ids after After (or
// before it when Reverse).
type historyListParams struct {
	ExecutionARN string
	After        int64
	Reverse      bool
	Limit        int
}

type workerInsertParams struct {
	ID        string
	StartedUS int64
}

type workerHeartbeatParams struct {
	ID          string
	HeartbeatUS int64
}

type workerDeleteParams struct{ ID string }

// placeholder returns the driver's n-th (from 1) placeholder.
func (s *sqlStore) placeholder(n int) string {
	if s.sqlite {
		return "?"
	}
	return "$" + strconv.Itoa(n)
}

func (s *sqlStore) ExecutionGet(ctx context.Context, tx dbtx, p *executionGetParams) (*Execution, error) {
	return scanExecution(tx.queryRow(ctx, `SELECT `+execListCols+` FROM wf_executions WHERE arn = `+s.placeholder(1), p.ARN))
}

func (s *sqlStore) ExecutionList(ctx context.Context, tx dbtx, p *executionListParams) ([]Execution, error) {
	var where []string
	var args []any
	// bind adds a value and returns its placeholder; SQLite's ? bind by
	// position, so a value used twice is bound twice.
	bind := func(v any) string {
		args = append(args, v)
		return s.placeholder(len(args))
	}
	for _, f := range []struct {
		col string
		v   string
	}{{"sm_arn", p.StateMachineARN}, {"status", p.Status}, {"correlation_id", p.CorrelationID}, {"tenant", p.Tenant}} {
		if f.v != "" {
			where = append(where, f.col+" = "+bind(f.v))
		}
	}
	if p.StartedAfterUS != 0 {
		where = append(where, "start_us >= "+bind(p.StartedAfterUS))
	}
	if p.StartedBeforeUS != 0 {
		where = append(where, "start_us < "+bind(p.StartedBeforeUS))
	}
	if p.AfterARN != "" {
		where = append(where, "(start_us < "+bind(p.AfterStartUS)+" OR (start_us = "+bind(p.AfterStartUS)+" AND arn < "+bind(p.AfterARN)+"))")
	}
	q := `SELECT ` + execListCols + ` FROM wf_executions`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY start_us DESC, arn DESC LIMIT ` + bind(p.Limit)
	r, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Execution
	for r.Next() {
		x, err := scanExecution(r)
		if err != nil {
			return nil, err
		}
		out = append(out, *x)
	}
	return out, r.Err()
}

func (s *sqlStore) ExecutionCountRunning(ctx context.Context, tx dbtx, p *executionCountRunningParams) (int, error) {
	if !s.sqlite {
		// SQLite's writers are serialised already.
		h := fnv.New64a()
		h.Write([]byte("landfall/workflow/tenant/" + p.Tenant))
		if _, err := tx.exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
			return 0, err
		}
	}
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM wf_executions WHERE tenant = `+s.placeholder(1)+` AND status = 'RUNNING'`, p.Tenant).Scan(&n)
	return n, err
}

func (s *sqlStore) HistoryList(ctx context.Context, tx dbtx, p *historyListParams) ([]HistoryEvent, error) {
	op, order := ">", "id"
	if p.Reverse {
		op, order = "<", "id DESC"
	}
	q := `SELECT id, prev_id, type, ts_us, details FROM wf_history WHERE execution_arn = ` + s.placeholder(1) +
		` AND id ` + op + ` ` + s.placeholder(2) + ` ORDER BY ` + order + ` LIMIT ` + s.placeholder(3)
	r, err := tx.query(ctx, q, p.ExecutionARN, p.After, p.Limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []HistoryEvent
	for r.Next() {
		var ev HistoryEvent
		var ts int64
		var details string
		if err := r.Scan(&ev.ID, &ev.PreviousID, &ev.Type, &ts, &details); err != nil {
			return nil, err
		}
		ev.Timestamp = fromMicros(ts)
		if details != "null" && details != "" {
			ev.Details = json.RawMessage(details)
		}
		out = append(out, ev)
	}
	return out, r.Err()
}

func (s *sqlStore) WorkerInsert(ctx context.Context, tx dbtx, p *workerInsertParams) error {
	_, err := tx.exec(ctx, `INSERT INTO wf_workers (id, heartbeat_us, started_us) VALUES (`+s.placeholder(1)+`, `+s.placeholder(2)+`, `+s.placeholder(3)+`)`,
		p.ID, p.StartedUS, p.StartedUS)
	return err
}

func (s *sqlStore) WorkerHeartbeat(ctx context.Context, tx dbtx, p *workerHeartbeatParams) error {
	n, err := tx.exec(ctx, `UPDATE wf_workers SET heartbeat_us = `+s.placeholder(1)+` WHERE id = `+s.placeholder(2), p.HeartbeatUS, p.ID)
	if err == nil && n == 0 {
		err = s.WorkerInsert(ctx, tx, &workerInsertParams{ID: p.ID, StartedUS: p.HeartbeatUS})
	}
	return err
}

func (s *sqlStore) WorkerDelete(ctx context.Context, tx dbtx, p *workerDeleteParams) error {
	_, err := tx.exec(ctx, `DELETE FROM wf_workers WHERE id = `+s.placeholder(1), p.ID)
	return err
}

func (s *sqlStore) WorkerDeleteOthers(ctx context.Context, tx dbtx, p *workerDeleteParams) ([]string, error) {
	return s.listStrings(ctx, tx, `DELETE FROM wf_workers WHERE id <> `+s.placeholder(1)+` RETURNING id`, p.ID)
}

func (s *sqlStore) WorkerDeleteUnlocked(ctx context.Context, tx dbtx, p *workerDeleteParams) ([]string, error) {
	if s.sqlite {
		return nil, nil
	}
	// The transaction-level lock is released at commit; a worker takes
	// its own lock before it inserts its row, so a row without a held
	// lock is a dead worker's.
	return s.listStrings(ctx, tx, `DELETE FROM wf_workers WHERE id <> $1 AND pg_try_advisory_xact_lock($2, hashtext(id)) RETURNING id`, p.ID, workerLockSpace)
}

var _ executionStore = (*sqlStore)(nil)

// ---- tasks ----

// taskStore holds the statements of task attempts.
type taskStore interface {
	TaskGet(ctx context.Context, tx dbtx, p *taskGetParams) (*taskRow, error)
	// TaskOwnerGet returns the execution and tenant a task belongs to.
	TaskOwnerGet(ctx context.Context, tx dbtx, p *taskGetParams) (execARN, tenant string, err error)
	TaskStatusSet(ctx context.Context, tx dbtx, p *taskStatusSetParams) error
	// TaskClaim marks a scheduled attempt as running under owner.
	TaskClaim(ctx context.Context, tx dbtx, p *taskClaimParams) error
	// TaskNextActivity returns the oldest scheduled task of an activity,
	// locked for this transaction where the driver locks rows.
	TaskNextActivity(ctx context.Context, tx dbtx, p *taskNextActivityParams) (token, execARN string, err error)
	// TaskHeartbeat records a heartbeat of a running or waiting attempt
	// (of dispatch Dispatch when not 0) and reports whether there was one.
	TaskHeartbeat(ctx context.Context, tx dbtx, p *taskHeartbeatParams) (bool, error)
	// TaskAwait parks a callback attempt this worker invoked until
	// SendTask* settles it.
	TaskAwait(ctx context.Context, tx dbtx, p *taskFenceParams) error
	// TaskFinishFence is the statement that records an attempt's end; it
	// changes a row only while the attempt is still this worker's.
	TaskFinishFence(p *taskFenceParams) stmt
	// TaskRequeue schedules a running attempt again for another worker.
	TaskRequeue(ctx context.Context, tx dbtx, p *taskRequeueParams) error
}

type taskGetParams struct{ Token string }

type taskStatusSetParams struct{ Token, Status string }

type taskClaimParams struct {
	Token, Owner string
	HeartbeatUS  int64
}

type taskNextActivityParams struct{ Activity string }

type taskHeartbeatParams struct {
	Token       string
	Dispatch    int
	HeartbeatUS int64
}

// taskFenceParams names one delivery of an attempt: the attempt's token,
// the worker holding it and its dispatch count; Status is the end to
// record (TaskFinishFence).
type taskFenceParams struct {
	Token, Owner, Status string
	Dispatch             int
}

type taskRequeueParams struct {
	Token    string
	Dispatch int
}

func (s *sqlStore) TaskGet(ctx context.Context, tx dbtx, p *taskGetParams) (*taskRow, error) {
	return scanTask(tx.queryRow(ctx, `SELECT `+taskCols+` FROM wf_tasks WHERE token = `+s.placeholder(1), p.Token))
}

func (s *sqlStore) TaskOwnerGet(ctx context.Context, tx dbtx, p *taskGetParams) (string, string, error) {
	var arn, tenant string
	err := tx.queryRow(ctx, `SELECT x.arn, x.tenant FROM wf_tasks k JOIN wf_executions x ON x.arn = k.execution_arn WHERE k.token = `+s.placeholder(1), p.Token).
		Scan(&arn, &tenant)
	return arn, tenant, err
}

func (s *sqlStore) TaskStatusSet(ctx context.Context, tx dbtx, p *taskStatusSetParams) error {
	_, err := tx.exec(ctx, `UPDATE wf_tasks SET status = `+s.placeholder(1)+` WHERE token = `+s.placeholder(2), p.Status, p.Token)
	return err
}

func (s *sqlStore) TaskClaim(ctx context.Context, tx dbtx, p *taskClaimParams) error {
	_, err := tx.exec(ctx, `UPDATE wf_tasks SET status = 'running', owner = `+s.placeholder(1)+`, dispatch = dispatch + 1, heartbeat_us = `+s.placeholder(2)+
		` WHERE token = `+s.placeholder(3)+` AND status = 'scheduled'`, p.Owner, p.HeartbeatUS, p.Token)
	return err
}

func (s *sqlStore) TaskNextActivity(ctx context.Context, tx dbtx, p *taskNextActivityParams) (string, string, error) {
	q := `SELECT token, execution_arn FROM wf_tasks WHERE activity = ` + s.placeholder(1) + ` AND status = 'scheduled' AND activity <> '' ORDER BY created_us LIMIT 1`
	if !s.sqlite {
		// SQLite's write transaction holds the whole database instead.
		q += ` FOR UPDATE SKIP LOCKED`
	}
	var token, arn string
	err := tx.queryRow(ctx, q, p.Activity).Scan(&token, &arn)
	return token, arn, err
}

func (s *sqlStore) TaskHeartbeat(ctx context.Context, tx dbtx, p *taskHeartbeatParams) (bool, error) {
	q := `UPDATE wf_tasks SET heartbeat_us = ` + s.placeholder(1) + ` WHERE token = ` + s.placeholder(2) + ` AND status IN ('running', 'waiting')`
	args := []any{p.HeartbeatUS, p.Token}
	if p.Dispatch > 0 {
		q += ` AND dispatch = ` + s.placeholder(3)
		args = append(args, p.Dispatch)
	}
	n, err := tx.exec(ctx, q, args...)
	return n > 0, err
}

func (s *sqlStore) TaskAwait(ctx context.Context, tx dbtx, p *taskFenceParams) error {
	_, err := tx.exec(ctx, `UPDATE wf_tasks SET status = 'waiting', owner = '' WHERE token = `+s.placeholder(1)+
		` AND status = 'running' AND owner = `+s.placeholder(2)+` AND dispatch = `+s.placeholder(3), p.Token, p.Owner, p.Dispatch)
	return err
}

func (s *sqlStore) TaskFinishFence(p *taskFenceParams) stmt {
	return stmt{`UPDATE wf_tasks SET status = ` + s.placeholder(1) + ` WHERE token = ` + s.placeholder(2) +
		` AND status = 'running' AND owner = ` + s.placeholder(3) + ` AND dispatch = ` + s.placeholder(4),
		[]any{p.Status, p.Token, p.Owner, p.Dispatch}}
}

func (s *sqlStore) TaskRequeue(ctx context.Context, tx dbtx, p *taskRequeueParams) error {
	_, err := tx.exec(ctx, `UPDATE wf_tasks SET status = 'scheduled', owner = '' WHERE token = `+s.placeholder(1)+` AND dispatch = `+s.placeholder(2),
		p.Token, p.Dispatch)
	return err
}

var _ taskStore = (*sqlStore)(nil)

// ---- the reaper, redrive and migrations ----

// upkeepStore holds the statements of the reaper, of redrive and of the
// migration log.
type upkeepStore interface {
	// TaskListDue lists open attempts past their timeout or heartbeat,
	// or running under a worker whose lease ended before LeaseCutoffUS.
	TaskListDue(ctx context.Context, tx dbtx, p *taskListDueParams) ([]openTask, error)
	// ExecutionListDue lists RUNNING executions past their timeout.
	ExecutionListDue(ctx context.Context, tx dbtx, p *executionListDueParams) ([]string, error)
	// WorkerListAlive lists the workers that renewed their lease since
	// SinceUS.
	WorkerListAlive(ctx context.Context, tx dbtx, p *workerListAliveParams) ([]string, error)
	// TaskCountRunning counts the running tasks of each worker.
	TaskCountRunning(ctx context.Context, tx dbtx) (map[string]int, error)
	// JobRescueInsert records that a River job was handed on, and reports
	// false when it already was.
	JobRescueInsert(ctx context.Context, tx dbtx, p *jobRescueInsertParams) (bool, error)
	// FrameRootGet returns the id of an execution's root frame.
	FrameRootGet(ctx context.Context, tx dbtx, p *frameRootGetParams) (string, error)
	// FrameListChildren lists the ids of a frame's children of one
	// generation, by index.
	FrameListChildren(ctx context.Context, tx dbtx, p *frameListChildrenParams) ([]string, error)
	// MigrationApplied reports whether a migration version was applied;
	// MigrationRecord records it.
	MigrationApplied(ctx context.Context, tx dbtx, p *migrationParams) (bool, error)
	MigrationRecord(ctx context.Context, tx dbtx, p *migrationParams) error
}

type taskListDueParams struct {
	NowUS, LeaseCutoffUS int64
	Limit                int
}

type executionListDueParams struct {
	NowUS int64
	Limit int
}

type workerListAliveParams struct{ SinceUS int64 }

type jobRescueInsertParams struct {
	JobID     int64
	RescuedUS int64
}

type frameRootGetParams struct{ ExecutionARN string }

type frameListChildrenParams struct {
	ParentID string
	Gen      int64
}

type migrationParams struct {
	Version   int
	AppliedUS int64
}

func (s *sqlStore) TaskListDue(ctx context.Context, tx dbtx, p *taskListDueParams) ([]openTask, error) {
	// now appears twice: numbered placeholders on both drivers.
	now, cutoff := s.numbered(1), s.numbered(2)
	args := []any{p.NowUS, p.LeaseCutoffUS, p.Limit}
	q := `SELECT token, execution_arn, owner, kind, resource, dispatch, heartbeat_seconds, timeout_us, heartbeat_us
		FROM wf_tasks WHERE status IN ('scheduled', 'running', 'waiting') AND (
		  (timeout_us > 0 AND timeout_us < ` + now + `)
		  OR (heartbeat_seconds > 0 AND pattern <> 'sync' AND heartbeat_us + heartbeat_seconds * 1000000 < ` + now + `)
		  OR (status = 'running' AND kind <> 'activity' AND NOT EXISTS (SELECT 1 FROM wf_workers w WHERE w.id = wf_tasks.owner AND w.heartbeat_us >= ` + cutoff + `)))
		LIMIT ` + s.numbered(3)
	r, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []openTask
	for r.Next() {
		var k openTask
		if err := r.Scan(&k.token, &k.execARN, &k.owner, &k.kind, &k.resource, &k.dispatch, &k.heartbeatSeconds, &k.timeoutUS, &k.heartbeatUS); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, r.Err()
}

// numbered returns the driver's placeholder n for statements that use a
// parameter more than once (SQLite's ?N, PostgreSQL's $N).
func (s *sqlStore) numbered(n int) string {
	if s.sqlite {
		return "?" + strconv.Itoa(n)
	}
	return "$" + strconv.Itoa(n)
}

func (s *sqlStore) listStrings(ctx context.Context, tx dbtx, q string, args ...any) ([]string, error) {
	r, err := tx.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var v string
		if err := r.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, r.Err()
}

func (s *sqlStore) ExecutionListDue(ctx context.Context, tx dbtx, p *executionListDueParams) ([]string, error) {
	return s.listStrings(ctx, tx, `SELECT arn FROM wf_executions WHERE status = 'RUNNING' AND timeout_us > 0 AND timeout_us < `+s.placeholder(1)+
		` LIMIT `+s.placeholder(2), p.NowUS, p.Limit)
}

func (s *sqlStore) WorkerListAlive(ctx context.Context, tx dbtx, p *workerListAliveParams) ([]string, error) {
	return s.listStrings(ctx, tx, `SELECT id FROM wf_workers WHERE heartbeat_us >= `+s.placeholder(1), p.SinceUS)
}

func (s *sqlStore) TaskCountRunning(ctx context.Context, tx dbtx) (map[string]int, error) {
	r, err := tx.query(ctx, `SELECT owner, COUNT(*) FROM wf_tasks WHERE status = 'running' GROUP BY owner`)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]int{}
	for r.Next() {
		var owner string
		var n int
		if err := r.Scan(&owner, &n); err != nil {
			return nil, err
		}
		out[owner] = n
	}
	return out, r.Err()
}

func (s *sqlStore) JobRescueInsert(ctx context.Context, tx dbtx, p *jobRescueInsertParams) (bool, error) {
	n, err := tx.exec(ctx, `INSERT INTO wf_job_rescues (job_id, rescued_us) VALUES (`+s.placeholder(1)+`, `+s.placeholder(2)+`) ON CONFLICT DO NOTHING`,
		p.JobID, p.RescuedUS)
	return n > 0, err
}

func (s *sqlStore) FrameRootGet(ctx context.Context, tx dbtx, p *frameRootGetParams) (string, error) {
	var id string
	err := tx.queryRow(ctx, `SELECT id FROM wf_frames WHERE execution_arn = `+s.placeholder(1)+` AND parent_id = ''`, p.ExecutionARN).Scan(&id)
	return id, err
}

func (s *sqlStore) FrameListChildren(ctx context.Context, tx dbtx, p *frameListChildrenParams) ([]string, error) {
	return s.listStrings(ctx, tx, `SELECT id FROM wf_frames WHERE parent_id = `+s.placeholder(1)+` AND gen = `+s.placeholder(2)+` ORDER BY idx`,
		p.ParentID, p.Gen)
}

func (s *sqlStore) MigrationApplied(ctx context.Context, tx dbtx, p *migrationParams) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM wf_migrations WHERE version = `+s.placeholder(1), p.Version).Scan(&n)
	return n > 0, err
}

func (s *sqlStore) MigrationRecord(ctx context.Context, tx dbtx, p *migrationParams) error {
	_, err := tx.exec(ctx, `INSERT INTO wf_migrations (version, applied_us) VALUES (`+s.placeholder(1)+`, `+s.placeholder(2)+`)`, p.Version, p.AppliedUS)
	return err
}

var _ upkeepStore = (*sqlStore)(nil)

// ---- transitions ----

// transitionStore holds the statements of one transition: they are
// returned as stmts so the transition sends them in one batch.
type transitionStore interface {
	// ExecutionLockStmt reads an execution's row for a transition,
	// locking it where the driver locks rows.
	ExecutionLockStmt(p *executionGetParams) stmt
	FrameGetStmt(p *frameGetParams) stmt
	// FrameParentGetStmt reads the parent of a frame (no row for a root
	// frame).
	FrameParentGetStmt(p *frameGetParams) stmt
	FrameInsertStmt(p *frameWriteParams) stmt
	// FrameUpdateStmt changes a frame only while its version is the one
	// read (compare-and-swap).
	FrameUpdateStmt(p *frameWriteParams) stmt
	// FrameCancelStmt cancels the open frames of an execution whose path
	// starts with Prefix.
	FrameCancelStmt(p *frameCancelParams) stmt
	// TaskCancelStmt cancels the open tasks of an execution's cancelled
	// frames.
	TaskCancelStmt(p *taskCancelParams) stmt
	TaskInsertStmt(p *taskInsertParams) stmt
	// HistoryInsertStmts appends events, up to 100 a statement.
	HistoryInsertStmts(p *historyInsertParams) []stmt
	ExecutionUpdateStmt(p *executionUpdateParams) stmt
	// FrameListChildOutputs lists the children of one generation of a
	// frame with their ends.
	FrameListChildOutputs(ctx context.Context, tx dbtx, p *frameListChildrenParams) ([]childRow, error)
}

type frameGetParams struct{ ID string }

// frameWriteParams is a frame as a transition writes it.
type frameWriteParams struct {
	F         *frameRow
	UpdatedUS int64
}

type frameCancelParams struct {
	ExecutionARN, Prefix string
	UpdatedUS            int64
}

type taskCancelParams struct{ ExecutionARN string }

type taskInsertParams struct{ T *taskRow }

type historyInsertParams struct {
	ExecutionARN string
	Events       []eventRow
}

// executionUpdateParams changes an execution's row at the end of a
// transition: always its event counter and status; its outcome when
// Ended; its redrive fields when Redriven.
type executionUpdateParams struct {
	ARN                  string
	NextEvent            int64
	Status               string
	Ended                bool
	Output               *string
	Error, Cause         string
	StopUS               int64
	Redriven             bool
	RedriveCount         int
	RedriveUS, TimeoutUS int64
	// IfNextEvent and IfRunning make the update conditional: on the
	// row's next event id and on its status being RUNNING.
	IfNextEvent *int64
	IfRunning   bool
}

// childRow is a child frame's end.
type childRow struct {
	idx             int
	status          string
	output, errName *string
	cause           *string
}

// seq returns n placeholders from the from-th, comma separated.
func (s *sqlStore) seq(from, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = s.placeholder(from + i)
	}
	return strings.Join(ph, ", ")
}

func (s *sqlStore) ExecutionLockStmt(p *executionGetParams) stmt {
	q := `SELECT ` + execCols + ` FROM wf_executions WHERE arn = ` + s.placeholder(1)
	if !s.sqlite {
		q += ` FOR UPDATE`
	}
	return stmt{q, []any{p.ARN}}
}

func (s *sqlStore) FrameGetStmt(p *frameGetParams) stmt {
	return stmt{`SELECT ` + frameCols + ` FROM wf_frames WHERE id = ` + s.placeholder(1), []any{p.ID}}
}

func (s *sqlStore) FrameParentGetStmt(p *frameGetParams) stmt {
	return stmt{`SELECT ` + frameCols + ` FROM wf_frames WHERE id = (SELECT parent_id FROM wf_frames WHERE id = ` + s.placeholder(1) + `)`, []any{p.ID}}
}

func (s *sqlStore) FrameInsertStmt(p *frameWriteParams) stmt {
	f := p.F
	// version is 1; the other 22 columns, updated_us and created_us are
	// bound.
	return stmt{`INSERT INTO wf_frames (` + frameCols + `, updated_us, created_us) VALUES (` + s.seq(1, 7) + `, 1, ` + s.seq(8, 17) + `)`,
		[]any{f.id, f.execARN, f.parentID, f.idx, f.gen, f.path, f.status, string(f.frame), f.taskToken, f.wakeUS,
			f.pending, f.nextChild, f.total, f.maxChild, f.failedChildren, f.childSpec, f.output, f.errName, f.cause, f.lastEvent,
			string(f.checkpoint), f.checkpointKind, p.UpdatedUS, p.UpdatedUS}}
}

func (s *sqlStore) FrameUpdateStmt(p *frameWriteParams) stmt {
	f := p.F
	cols := []string{"status", "task_token", "wake_us", "pending", "next_child", "total_children", "max_children", "failed_children",
		"child_spec", "output", "error", "cause", "last_event", "updated_us", "checkpoint_kind"}
	args := []any{f.status, f.taskToken, f.wakeUS, f.pending, f.nextChild, f.total, f.maxChild, f.failedChildren, f.childSpec,
		f.output, f.errName, f.cause, f.lastEvent, p.UpdatedUS, f.checkpointKind}
	// The frame and checkpoint documents are written only when they
	// changed: a Map frame whose iterations end changes its counters only.
	if !sameBytes(f.frame, f.read) {
		cols, args = append(cols, "frame"), append(args, string(f.frame))
	}
	if !sameBytes(f.checkpoint, f.readCheckpoint) {
		cols, args = append(cols, "checkpoint"), append(args, string(f.checkpoint))
	}
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = " + s.placeholder(i+1)
	}
	n := len(cols)
	return stmt{`UPDATE wf_frames SET version = version + 1, ` + strings.Join(set, ", ") +
		` WHERE id = ` + s.placeholder(n+1) + ` AND version = ` + s.placeholder(n+2),
		append(args, f.id, f.version)}
}

// sameBytes reports whether a and b are the same slice (not merely equal
// bytes): a frame replaced by the interpreter is always a new slice.
func sameBytes(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0]
}

func (s *sqlStore) FrameCancelStmt(p *frameCancelParams) stmt {
	return stmt{`UPDATE wf_frames SET status = 'canceled', version = version + 1, updated_us = ` + s.placeholder(1) +
		` WHERE execution_arn = ` + s.placeholder(2) + ` AND path LIKE ` + s.placeholder(3) + ` ESCAPE '\' AND status NOT IN ('succeeded', 'failed', 'canceled')`,
		[]any{p.UpdatedUS, p.ExecutionARN, likePrefix(p.Prefix)}}
}

func (s *sqlStore) TaskCancelStmt(p *taskCancelParams) stmt {
	arn := s.numbered(1) // used twice
	return stmt{`UPDATE wf_tasks SET status = 'canceled' WHERE execution_arn = ` + arn + ` AND status IN ('scheduled', 'running', 'waiting')
		AND frame_id IN (SELECT id FROM wf_frames WHERE execution_arn = ` + arn + ` AND status = 'canceled')`, []any{p.ExecutionARN}}
}

func (s *sqlStore) TaskInsertStmt(p *taskInsertParams) stmt {
	k := p.T
	return stmt{`INSERT INTO wf_tasks (` + taskCols + `) VALUES (` + s.seq(1, 18) + `)`,
		[]any{k.token, k.execARN, k.frameID, k.stateName, k.statePath, k.attempt, k.kind, k.resource, k.activity, string(k.input),
			k.status, k.owner, k.dispatch, k.heartbeatSeconds, k.timeoutUS, k.heartbeatUS, k.createdUS, k.pattern}}
}

func (s *sqlStore) HistoryInsertStmts(p *historyInsertParams) []stmt {
	const per = 6
	var out []stmt
	for start := 0; start < len(p.Events); start += 100 {
		batch := p.Events[start:min(start+100, len(p.Events))]
		var q strings.Builder
		q.WriteString(`INSERT INTO wf_history (execution_arn, id, prev_id, type, ts_us, details) VALUES `)
		args := make([]any, 0, len(batch)*per)
		for i, ev := range batch {
			if i > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(" + s.seq(i*per+1, per) + ")")
			details := "null"
			if ev.details != nil {
				details = string(ev.details)
			}
			args = append(args, p.ExecutionARN, ev.id, ev.prev, ev.typ, ev.ts, details)
		}
		out = append(out, stmt{q.String(), args})
	}
	return out
}

func (s *sqlStore) ExecutionUpdateStmt(p *executionUpdateParams) stmt {
	var set []string
	var args []any
	bind := func(col string, v any) {
		args = append(args, v)
		set = append(set, col+" = "+s.placeholder(len(args)))
	}
	bind("next_event", p.NextEvent)
	bind("status", p.Status)
	if p.Ended {
		bind("output", p.Output)
		bind("error", nullIfEmpty(p.Error))
		bind("cause", nullIfEmpty(p.Cause))
		bind("stop_us", p.StopUS)
	}
	if p.Redriven {
		bind("redrive_count", p.RedriveCount)
		bind("redrive_us", p.RedriveUS)
		bind("timeout_us", p.TimeoutUS)
	}
	args = append(args, p.ARN)
	where := ` WHERE arn = ` + s.placeholder(len(args))
	if p.IfNextEvent != nil {
		args = append(args, *p.IfNextEvent)
		where += ` AND next_event = ` + s.placeholder(len(args))
	}
	if p.IfRunning {
		where += ` AND status = 'RUNNING'`
	}
	return stmt{`UPDATE wf_executions SET ` + strings.Join(set, ", ") + where, args}
}

func (s *sqlStore) FrameListChildOutputs(ctx context.Context, tx dbtx, p *frameListChildrenParams) ([]childRow, error) {
	r, err := tx.query(ctx, `SELECT idx, status, output, error, cause FROM wf_frames WHERE parent_id = `+s.placeholder(1)+` AND gen = `+s.placeholder(2),
		p.ParentID, p.Gen)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []childRow
	for r.Next() {
		var c childRow
		if err := r.Scan(&c.idx, &c.status, &c.output, &c.errName, &c.cause); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, r.Err()
}

var _ transitionStore = (*sqlStore)(nil)
