package sqlstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"math"
	"strconv"
	"strings"

	"github.com/landfall/landfall/catalog"
)

var _ catalog.VectorIndex = (*Store)(nil)

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
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vectors WHERE media_id = ?`), p.MediaID); err != nil {
			return dbErr(err, "delete search vectors")
		}
		ins, err := tx.PrepareContext(ctx, s.q(`INSERT INTO cat_vectors (entry_id, tenant_id, media_id, model, dim, vec)
			SELECT id, tenant_id, media_id, ?, ?, ? FROM cat_entries WHERE id = ? AND media_id = ? AND tenant_id = ?`))
		if err != nil {
			return dbErr(err, "insert search vectors")
		}
		defer ins.Close()
		for i, v := range p.Vectors {
			r, err := ins.ExecContext(ctx, p.Model, len(v.Vec), encodeVec(v.Vec), v.EntryID, p.MediaID, p.TenantID)
			if err != nil {
				return dbErr(err, "insert search vectors")
			}
			if n, _ := r.RowsAffected(); n != 1 {
				return catalog.Invalidf("vectors[%d]: entry %d is not an entry of media %s", i, v.EntryID, p.MediaID)
			}
		}
		_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_search_state SET embed_model = ? WHERE media_id = ?`), p.Model, p.MediaID)
		return dbErr(err, "record embedding model")
	})
}

func (s *Store) SearchVectorsList(ctx context.Context, p *catalog.SearchVectorsListParams) ([]catalog.EntryVector, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 1000, 100000)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT entry_id, media_id, dim, vec FROM cat_vectors WHERE tenant_id = ? AND model = ? AND entry_id > ?
		ORDER BY entry_id LIMIT `+strconv.Itoa(limit)), p.TenantID, p.Model, p.AfterID)
	if err != nil {
		return nil, dbErr(err, "list search vectors")
	}
	defer rows.Close()
	var out []catalog.EntryVector
	for rows.Next() {
		var v catalog.EntryVector
		var dim int
		var b []byte
		if err := rows.Scan(&v.EntryID, &v.MediaID, &dim, &b); err != nil {
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
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*), COALESCE(MAX(entry_id), 0), CAST(COALESCE(SUM(entry_id), 0) AS BIGINT) FROM cat_vectors WHERE tenant_id = ? AND model = ?`),
		tenantID, model).Scan(&st.Count, &st.MaxID, &st.Sum)
	return st, dbErr(err, "search vectors stamp")
}

func (s *Store) SearchEntries(ctx context.Context, p *catalog.SearchEntriesParams) ([]*catalog.SearchCandidate, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	q := `SELECT e.id, e.media_id, e.field, e.start_s, e.end_s, e.speaker, e.value, e.body, e.times, m.filename, m.kind, m.created_at
		FROM cat_entries e JOIN cat_media m ON m.id = e.media_id WHERE e.tenant_id = ?`
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
