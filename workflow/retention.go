package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// DefaultRetention is how long ended executions are kept when the
// configuration sets no retention (Step Functions: 90 days).
const DefaultRetention = 90 * 24 * time.Hour

// retentionBatch is how many executions one retention transaction
// removes; retentionBatches bounds the batches of one sweep, so a large
// backlog is worked off over several sweeps without holding the
// database.
const (
	retentionBatch   = 200
	retentionBatches = 10
)

func (e *Engine) retentionLoop(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.RetentionInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("workflow: retention", "err", err)
		}
	}
}

// Sweep removes executions that ended longer than the retention ago, with
// their history, frames and tasks, in batches of retentionBatch
// executions (at most retentionBatches batches), and returns how many it
// removed. Workers call it every RetentionInterval.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	if e.cfg.Retention < 0 {
		return 0, nil
	}
	cutoff := micros(e.now().Add(-e.cfg.Retention))
	total := 0
	defer func() {
		// Space freed by enough removals is made reusable at once, rather
		// than when the database's own upkeep comes round.
		if e.swept.Add(int64(total)) >= retentionBatch {
			e.swept.Store(0)
			if err := e.b.reclaim(ctx); err != nil && ctx.Err() == nil {
				e.log.Warn("workflow: retention: reclaiming space", "err", err)
			}
		}
	}()
	for range retentionBatches {
		var n int
		err := e.withTx(ctx, func(tx dbtx) error {
			arns, err := e.st.ExecutionListEnded(ctx, tx, cutoff, retentionBatch)
			if err != nil {
				return err
			}
			n = len(arns)
			if n == 0 {
				return nil
			}
			return e.st.ExecutionsDelete(ctx, tx, arns)
		})
		total += n
		if err != nil {
			return total, err
		}
		if n < retentionBatch {
			break
		}
	}
	return total, nil
}

type retentionStore interface {
	// ExecutionListEnded lists up to limit executions that ended before
	// beforeUS, oldest first.
	ExecutionListEnded(ctx context.Context, tx dbtx, beforeUS int64, limit int) ([]string, error)
	// ExecutionsDelete removes executions with their history, frames and
	// tasks.
	ExecutionsDelete(ctx context.Context, tx dbtx, arns []string) error
	// StorageBytes is the space the engine's tables take.
	StorageBytes(ctx context.Context, tx dbtx) (int64, error)
}

var _ retentionStore = (*sqlStore)(nil)

func (s *sqlStore) ExecutionListEnded(ctx context.Context, tx dbtx, beforeUS int64, limit int) ([]string, error) {
	r, err := tx.query(ctx, fmt.Sprintf(`SELECT arn FROM wf_executions WHERE status <> 'RUNNING' AND stop_us < %s ORDER BY stop_us LIMIT %s`, s.ph(2)...), beforeUS, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var arn string
		if err := r.Scan(&arn); err != nil {
			return nil, err
		}
		out = append(out, arn)
	}
	return out, r.Err()
}

func (s *sqlStore) ExecutionsDelete(ctx context.Context, tx dbtx, arns []string) error {
	ph := make([]string, len(arns))
	args := make([]any, len(arns))
	for i, a := range arns {
		ph[i], args[i] = s.placeholder(i+1), a
	}
	in := "(" + strings.Join(ph, ", ") + ")"
	for _, q := range []string{
		`DELETE FROM wf_history WHERE execution_arn IN ` + in,
		`DELETE FROM wf_tasks WHERE execution_arn IN ` + in,
		`DELETE FROM wf_frames WHERE execution_arn IN ` + in,
		`DELETE FROM wf_map_items WHERE run IN (SELECT arn FROM wf_map_runs WHERE execution_arn IN ` + in + `)`,
		`DELETE FROM wf_map_runs WHERE execution_arn IN ` + in,
		`DELETE FROM wf_executions WHERE arn IN ` + in,
	} {
		if _, err := tx.exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// StorageStats describes what the engine keeps in its database.
type StorageStats struct {
	Executions, HistoryEvents int64
	// Bytes is the space of the engine's tables: on SQLite the database
	// file's pages in use (freed pages are reused, not counted), on
	// PostgreSQL the total size of the wf_ tables with their indexes.
	Bytes int64
}

// Storage measures the engine's tables.
func (e *Engine) Storage(ctx context.Context) (StorageStats, error) {
	var st StorageStats
	err := e.withTx(ctx, func(tx dbtx) error {
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM wf_executions`).Scan(&st.Executions); err != nil {
			return err
		}
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM wf_history`).Scan(&st.HistoryEvents); err != nil {
			return err
		}
		var err error
		st.Bytes, err = e.st.StorageBytes(ctx, tx)
		return err
	})
	return st, err
}

func (s *sqlStore) StorageBytes(ctx context.Context, tx dbtx) (int64, error) {
	var n int64
	if s.sqlite {
		err := tx.queryRow(ctx, `SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`).Scan(&n)
		return n, err
	}
	err := tx.queryRow(ctx, `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c
		WHERE c.relkind = 'r' AND c.relname LIKE 'wf\_%' AND c.relnamespace IN (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(false)))`).Scan(&n)
	return n, err
}
