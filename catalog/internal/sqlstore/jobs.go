package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/landfall/landfall/catalog"
)

func (s *Store) JobPut(ctx context.Context, p *catalog.JobPutParams) error {
	j := p.Job
	if err := catalog.ValidateJob(&j); err != nil {
		return err
	}
	if err := s.live(); err != nil {
		return err
	}
	if len(j.Input) == 0 {
		j.Input = []byte("null")
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO cat_jobs (service, job_id, task, tenant_id, media_id, task_token, input, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (service, job_id) DO UPDATE SET task = excluded.task, tenant_id = excluded.tenant_id, media_id = excluded.media_id,
			task_token = excluded.task_token, input = excluded.input, created_at = excluded.created_at`),
		j.Service, j.ID, j.Task, j.TenantID, j.MediaID, j.TaskToken, string(j.Input), s.t(s.clock()))
	return dbErr(err, "record job")
}

func (s *Store) JobGet(ctx context.Context, p *catalog.JobGetParams) (*catalog.Job, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	j := &catalog.Job{}
	var input string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT service, job_id, task, tenant_id, media_id, task_token, input, created_at
		FROM cat_jobs WHERE service = ? AND job_id = ?`), p.Service, p.ID).
		Scan(&j.Service, &j.ID, &j.Task, &j.TenantID, &j.MediaID, &j.TaskToken, &input, timeScan{&j.CreatedAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.JobNotFound(p.Service, p.ID)
	}
	if err != nil {
		return nil, dbErr(err, "read job")
	}
	j.Input = []byte(input)
	return j, nil
}

func (s *Store) JobDelete(ctx context.Context, p *catalog.JobDeleteParams) error {
	if err := s.live(); err != nil {
		return err
	}
	q, args := `DELETE FROM cat_jobs WHERE service = ? AND job_id = ?`, []any{p.Service, p.ID}
	if p.TaskToken != "" {
		q, args = q+` AND task_token = ?`, append(args, p.TaskToken)
	}
	_, err := s.db.ExecContext(ctx, s.q(q), args...)
	return dbErr(err, "forget job")
}
