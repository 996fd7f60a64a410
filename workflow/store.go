package workflow

import (
	"context"
	"errors"
)

// store is the engine's SQL, written for each driver (no statement is
// rewritten from one dialect to another). Methods are named Noun+Verb
// and take a *Params; times come in the parameters, from the engine's
// clock, never from the store. It runs inside the caller's transaction.
//
// State machines and activities are served by it; executions, frames,
// history and tasks still use the transition code's statements (written
// for PostgreSQL and rewritten for SQLite by sqliteSQL) until they move
// here too.
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
}

type stateMachineGetParams struct{ ARN string }

type stateMachineInsertParams struct {
	ARN, Name, Type, Definition, RoleARN string
	CreatedUS                            int64
}

type stateMachineListParams struct{}

type stateMachineUpdateParams struct {
	ARN, Definition string
	// RoleARN replaces the role when not empty.
	RoleARN   string
	UpdatedUS int64
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
		stateMachineInsert: `INSERT INTO wf_state_machines (arn, name, type, definition, role_arn, revision, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, 1, $6, $6)`,
		stateMachineList:   `SELECT ` + smCols + ` FROM wf_state_machines ORDER BY name`,
		stateMachineUpdate: `UPDATE wf_state_machines SET definition = $1, role_arn = CASE WHEN $2 = '' THEN role_arn ELSE $2 END, revision = revision + 1, updated_us = $3 WHERE arn = $4`,
		stateMachineDelete: `DELETE FROM wf_state_machines WHERE arn = $1`,
		activityGetByARN:   `SELECT arn, name, created_us FROM wf_activities WHERE arn = $1`,
		activityGetByName:  `SELECT arn, name, created_us FROM wf_activities WHERE name = $1`,
		activityInsert:     `INSERT INTO wf_activities (arn, name, created_us) VALUES ($1, $2, $3)`,
		activityList:       `SELECT arn, name, created_us FROM wf_activities ORDER BY name`,
		activityDelete:     `DELETE FROM wf_activities WHERE arn = $1`,
	}
	sqliteStoreSQL = storeSQL{
		stateMachineGet:    `SELECT ` + smCols + ` FROM wf_state_machines WHERE arn = ?`,
		stateMachineInsert: `INSERT INTO wf_state_machines (arn, name, type, definition, role_arn, revision, created_us, updated_us) VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
		stateMachineList:   `SELECT ` + smCols + ` FROM wf_state_machines ORDER BY name`,
		stateMachineUpdate: `UPDATE wf_state_machines SET definition = ?, role_arn = CASE WHEN ? = '' THEN role_arn ELSE ? END, revision = revision + 1, updated_us = ? WHERE arn = ?`,
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
	args := []any{p.ARN, p.Name, p.Type, p.Definition, p.RoleARN, p.CreatedUS}
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
	args := []any{p.Definition, p.RoleARN, p.UpdatedUS, p.ARN}
	if s.sqlite {
		args = []any{p.Definition, p.RoleARN, p.RoleARN, p.UpdatedUS, p.ARN}
	}
	n, err := tx.exec(ctx, s.q.stateMachineUpdate, args...)
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
