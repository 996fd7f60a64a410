package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/landfall/landfall/catalog"
)

var (
	_ catalog.VectorIndex      = (*Store)(nil)
	_ catalog.VectorIndexStore = (*Store)(nil)
)

// MaxVectorDim bounds an embedding's dimensions.
const MaxVectorDim = 8192

func encodeVec(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte, dim int) []float32 {
	if len(b) != 4*dim {
		return nil
	}
	v := make([]float32, dim)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

func (s *Store) SearchVectorsPut(ctx context.Context, p *catalog.SearchVectorsPutParams) error {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return err
	}
	if err := catalog.ValidateText("model", p.Model, 256); err != nil {
		return err
	}
	if p.Model == "" {
		return catalog.Invalidf("model: required")
	}
	dim := -1
	for i, v := range p.Vectors {
		if dim < 0 {
			dim = len(v.Vec)
		}
		if len(v.Vec) != dim || dim == 0 || dim > MaxVectorDim {
			return catalog.Invalidf("vectors[%d]: %d dimensions (want %d, at most %d)", i, len(v.Vec), dim, MaxVectorDim)
		}
		for j, x := range v.Vec {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return catalog.Invalidf("vectors[%d][%d]: not a finite number", i, j)
			}
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.mediaGet(ctx, tx, p.MediaID, p.TenantID, true); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vectors WHERE media_id = ?`), p.MediaID)
		if err != nil {
			return dbErr(err, "delete search vectors")
		}
		removed, _ := r.RowsAffected()
		// The media item's entries (of the tenant, as mediaGet checked):
		// a vector must belong to one of them.
		rows, err := tx.QueryContext(ctx, s.q(`SELECT id FROM cat_entries WHERE media_id = ?`), p.MediaID)
		if err != nil {
			return dbErr(err, "read search entries")
		}
		own := map[int64]bool{}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return dbErr(err, "read search entries")
			}
			own[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err, "read search entries")
		}
		for i, v := range p.Vectors {
			if !own[v.EntryID] {
				return catalog.Invalidf("vectors[%d]: entry %d is not an entry of media %s", i, v.EntryID, p.MediaID)
			}
		}
		seq, err := s.vectorGen(ctx, tx, p.TenantID, 1, removed)
		if err != nil {
			return err
		}
		const cols = 7
		err = insertRows(ctx, tx, s, `INSERT INTO cat_vectors (entry_id, tenant_id, media_id, model, dim, vec, seq) VALUES `, ``, cols, len(p.Vectors),
			func(i int, args []any) []any {
				v := p.Vectors[i]
				return append(args, v.EntryID, p.TenantID, p.MediaID, p.Model, len(v.Vec), encodeVec(v.Vec), seq)
			})
		if err != nil {
			return dbErr(err, "insert search vectors")
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_search_state SET embed_model = ? WHERE media_id = ?`), p.Model, p.MediaID)
		return dbErr(err, "record embedding model")
	})
}

// vectorGen adds to the tenant's counts of vector writes and removals
// (see catalog.SearchVectorsStamp) and returns the new write count. The
// row's lock orders concurrent writers.
func (s *Store) vectorGen(ctx context.Context, tx *sql.Tx, tenant string, added, removed int64) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, s.q(`INSERT INTO cat_vector_gen (tenant_id, added, removed) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET added = cat_vector_gen.added + excluded.added, removed = cat_vector_gen.removed + excluded.removed
		RETURNING added`), tenant, added, min(removed, 1)).Scan(&n)
	return n, dbErr(err, "count vector writes")
}

// insertBatch is how many rows one multi-row INSERT writes: few
// statements, and well under both drivers' limits on parameters.
const insertBatch = 200

// insertRows runs head, n rows of cols placeholders each, and tail, in
// statements of insertBatch rows; row appends row i's values to args.
func insertRows(ctx context.Context, tx *sql.Tx, s *Store, head, tail string, cols, n int, row func(i int, args []any) []any) error {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	var stmt *sql.Stmt
	defer func() {
		if stmt != nil {
			stmt.Close()
		}
	}()
	args := make([]any, 0, insertBatch*cols)
	for from := 0; from < n; from += insertBatch {
		k := min(insertBatch, n-from)
		args = args[:0]
		for i := from; i < from+k; i++ {
			args = row(i, args)
		}
		q := s.q(head + strings.TrimSuffix(strings.Repeat(one+", ", k), ", ") + tail)
		if k == insertBatch {
			// Full batches share one prepared statement.
			if stmt == nil {
				var err error
				if stmt, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) SearchVectorsList(ctx context.Context, p *catalog.SearchVectorsListParams) ([]catalog.EntryVector, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 1000, 100000)
	if err != nil {
		return nil, err
	}
	q := `SELECT entry_id, media_id, dim, vec, seq FROM cat_vectors WHERE tenant_id = ? AND model = ? AND entry_id > ?`
	args := []any{p.TenantID, p.Model, p.AfterID}
	if p.AfterSeq > 0 {
		q += ` AND seq > ?`
		args = append(args, p.AfterSeq)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q+` ORDER BY entry_id LIMIT `+strconv.Itoa(limit)), args...)
	if err != nil {
		return nil, dbErr(err, "list search vectors")
	}
	defer rows.Close()
	var out []catalog.EntryVector
	for rows.Next() {
		var v catalog.EntryVector
		var dim int
		var b []byte
		if err := rows.Scan(&v.EntryID, &v.MediaID, &dim, &b, &v.Seq); err != nil {
			return nil, dbErr(err, "list search vectors")
		}
		if v.Vec = decodeVec(b, dim); v.Vec == nil {
			continue
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err(), "list search vectors")
}

func (s *Store) SearchVectorsStamp(ctx context.Context, tenantID, model string) (catalog.SearchVectorsStamp, error) {
	var st catalog.SearchVectorsStamp
	if err := catalog.ValidateTenantID("tenant_id", tenantID); err != nil {
		return st, err
	}
	err := s.db.QueryRowContext(ctx, s.q(`SELECT added, removed FROM cat_vector_gen WHERE tenant_id = ?`), tenantID).Scan(&st.Added, &st.Removed)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	return st, dbErr(err, "search vectors stamp")
}

func (s *Store) SearchEntries(ctx context.Context, p *catalog.SearchEntriesParams) ([]*catalog.SearchCandidate, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	// "tenant_id || ''" keeps SQLite's planner, which has no statistics,
	// from reading the tenant's every entry through the (tenant_id, field)
	// index rather than the few by id or media item.
	q := `SELECT e.id, e.media_id, e.field, e.start_s, e.end_s, e.speaker, e.value, e.body, e.times, m.filename, m.kind, m.created_at
		FROM cat_entries e JOIN cat_media m ON m.id = e.media_id WHERE e.tenant_id || '' = ?`
	args := []any{p.TenantID}
	switch {
	case len(p.IDs) > 0:
		if len(p.IDs) > 1000 {
			return nil, catalog.Invalidf("ids: %d, more than 1000", len(p.IDs))
		}
		ph := make([]string, len(p.IDs))
		for i, id := range p.IDs {
			ph[i] = "?"
			args = append(args, id)
		}
		q += ` AND e.id IN (` + strings.Join(ph, ", ") + `)`
	case p.MediaID != "":
		q += ` AND e.media_id = ?`
		args = append(args, p.MediaID)
		if len(p.Fields) > 0 {
			ph := make([]string, len(p.Fields))
			for i, f := range p.Fields {
				ph[i] = "?"
				args = append(args, f)
			}
			q += ` AND e.field IN (` + strings.Join(ph, ", ") + `)`
		}
	default:
		return nil, catalog.Invalidf("ids or media_id: one is required")
	}
	q += ` ORDER BY e.id`
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, dbErr(err, "read search entries")
	}
	defer rows.Close()
	var out []*catalog.SearchCandidate
	for rows.Next() {
		c := &catalog.SearchCandidate{}
		var times string
		if err := rows.Scan(&c.ID, &c.MediaID, &c.Field, &c.Start, &c.End, &c.Speaker, &c.Value, &c.Body, &times,
			&c.Filename, &c.Kind, timeScan{&c.CreatedAt}); err != nil {
			return nil, dbErr(err, "read search entries")
		}
		c.Times = decodeTimes(times)
		out = append(out, c)
	}
	return out, dbErr(rows.Err(), "read search entries")
}

func (s *Store) SearchEmbedPending(ctx context.Context, p *catalog.SearchEmbedPendingParams) ([]*catalog.Media, error) {
	limit, err := limitOf("limit", p.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + prefixCols("m.", mediaCols) + ` FROM cat_media m JOIN cat_search_state st ON st.media_id = m.id
		WHERE st.embed_model <> ? AND m.id > ?`
	args := []any{p.Model, p.After}
	if p.TenantID != "" {
		if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
			return nil, err
		}
		q += ` AND m.tenant_id = ?`
		args = append(args, p.TenantID)
	}
	q += ` ORDER BY m.id LIMIT ` + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, dbErr(err, "list media to embed")
	}
	defer rows.Close()
	var out []*catalog.Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, dbErr(err, "list media to embed")
		}
		out = append(out, m)
	}
	return out, dbErr(rows.Err(), "list media to embed")
}

func (s *Store) SearchVectorIndexPut(ctx context.Context, p *catalog.SearchVectorIndexPutParams) error {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := catalog.ValidateText("model", p.Model, 256); err != nil {
		return err
	}
	if p.Model == "" {
		return catalog.Invalidf("model: required")
	}
	if p.Part < 0 || p.Parts < 0 {
		return catalog.Invalidf("part: %d of %d: negative", p.Part, p.Parts)
	}
	if len(p.Data) > catalog.MaxVectorIndexPart {
		return catalog.Invalidf("data: %d bytes, more than %d", len(p.Data), catalog.MaxVectorIndexPart)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.tenantExists(ctx, tx, "tenant_id", p.TenantID); err != nil {
			return err
		}
		if p.Part == 0 && p.Parts > 0 {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vector_index WHERE tenant_id = ? AND model = ? AND part >= ?`), p.TenantID, p.Model, p.Parts); err != nil {
				return dbErr(err, "delete vector index parts")
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_vector_index (tenant_id, model, part, data) VALUES (?, ?, ?, ?)
			ON CONFLICT (tenant_id, model, part) DO UPDATE SET data = excluded.data`), p.TenantID, p.Model, p.Part, p.Data)
		return dbErr(err, "store vector index part")
	})
}

func (s *Store) SearchVectorIndexGet(ctx context.Context, tenantID, model string, part int) ([]byte, error) {
	if err := catalog.ValidateTenantID("tenant_id", tenantID); err != nil {
		return nil, err
	}
	var b []byte
	err := s.db.QueryRowContext(ctx, s.q(`SELECT data FROM cat_vector_index WHERE tenant_id = ? AND model = ? AND part = ?`), tenantID, model, part).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, dbErr(err, "read vector index part")
}
