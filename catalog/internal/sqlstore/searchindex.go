package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
)

var _ catalog.SearchIndex = (*Store)(nil)

// MaxSearchEntries bounds one media item's index entries.
const MaxSearchEntries = 200000

func (s *Store) postgres() bool { return s.d.Numbered }

func (s *Store) SearchIndexReplace(ctx context.Context, p *catalog.SearchIndexReplaceParams) error {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return err
	}
	if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
		return err
	}
	if len(p.Entries) > MaxSearchEntries {
		return catalog.Invalidf("entries: %d, more than %d", len(p.Entries), MaxSearchEntries)
	}
	for i, e := range p.Entries {
		field := "entries[" + strconv.Itoa(i) + "]"
		if err := catalog.ValidateText(field+".body", e.Body, 1<<16); err != nil {
			return err
		}
		if err := catalog.ValidateText(field+".speaker", e.Speaker, 256); err != nil {
			return err
		}
		if err := catalog.ValidateText(field+".value", e.Value, 512); err != nil {
			return err
		}
		if !validField(e.Field) {
			return catalog.Invalidf("%s.field: %q is not one of %s", field, e.Field, strings.Join(catalog.Fields, ", "))
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.mediaGet(ctx, tx, p.MediaID, p.TenantID, true); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_entries WHERE media_id = ?`), p.MediaID); err != nil {
			return dbErr(err, "delete search entries")
		}
		// The entries' vectors go with them; the item is embedded again.
		r, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vectors WHERE media_id = ?`), p.MediaID)
		if err != nil {
			return dbErr(err, "delete search vectors")
		}
		if n, _ := r.RowsAffected(); n > 0 {
			if _, err := s.vectorGen(ctx, tx, p.TenantID, 0, n); err != nil {
				return err
			}
		}
		err = insertRows(ctx, tx, s, `INSERT INTO cat_entries (tenant_id, media_id, field, start_s, end_s, speaker, value, body, phon, times) VALUES `, ``, 10, len(p.Entries),
			func(i int, args []any) []any {
				e := &p.Entries[i]
				return append(args, p.TenantID, p.MediaID, e.Field, e.Start, e.End, e.Speaker, e.Value, e.Body, e.Phon, encodeTimes(e.Times))
			})
		if err != nil {
			return dbErr(err, "insert search entries")
		}
		seen := map[string]bool{}
		var terms []string
		for _, e := range p.Entries {
			for _, w := range catalog.SplitWords(e.Body) {
				if len(w) >= 3 && len(w) <= 40 && !seen[w] {
					seen[w] = true
					terms = append(terms, w)
				}
			}
		}
		err = insertRows(ctx, tx, s, `INSERT INTO cat_terms (tenant_id, term) VALUES `, ` ON CONFLICT DO NOTHING`, 2, len(terms),
			func(i int, args []any) []any { return append(args, p.TenantID, terms[i]) })
		if err != nil {
			return dbErr(err, "insert search terms")
		}
		_, err = tx.ExecContext(ctx, s.q(`INSERT INTO cat_search_state (media_id, tenant_id, version, entries, indexed_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (media_id) DO UPDATE SET version = excluded.version, entries = excluded.entries, indexed_at = excluded.indexed_at, embed_model = ''`),
			p.MediaID, p.TenantID, p.Version, len(p.Entries), s.t(s.clock()))
		return dbErr(err, "record search state")
	})
}

func validField(f string) bool {
	for _, x := range catalog.Fields {
		if x == f {
			return true
		}
	}
	return false
}

// encodeTimes stores word times as space-separated seconds with
// millisecond precision.
func encodeTimes(ts []float64) string {
	if len(ts) == 0 {
		return ""
	}
	var b strings.Builder
	for i, t := range ts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(t, 'f', 3, 64))
	}
	return b.String()
}

func decodeTimes(s string) []float64 {
	if s == "" {
		return nil
	}
	f := strings.Fields(s)
	out := make([]float64, 0, len(f))
	for _, x := range f {
		v, err := strconv.ParseFloat(x, 64)
		if err != nil {
			return nil
		}
		out = append(out, v)
	}
	return out
}

// safeWords keeps the words of an alternative that a full-text query can
// take as they are (letters, digits and combining marks, as ParseQuery
// leaves them).
func safeWords(ws []string) []string {
	var out []string
	for _, w := range ws {
		out = append(out, catalog.SplitWords(w)...)
	}
	return out
}

func fts5Alt(a catalog.SearchAlt) string {
	ws := safeWords(a.Words)
	if len(ws) == 0 {
		return ""
	}
	col := "body"
	if a.Phon {
		col = "phon"
	}
	s := col + ` : "` + strings.Join(ws, " ") + `"`
	if a.Prefix && !a.Phon {
		s += "*"
	}
	return s
}

func fts5Or(alts []catalog.SearchAlt) string {
	var parts []string
	for _, a := range alts {
		if s := fts5Alt(a); s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, " OR ") + ")"
}

func tsAlt(a catalog.SearchAlt) string {
	ws := safeWords(a.Words)
	if len(ws) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, w := range ws {
		if i > 0 {
			b.WriteString(" <-> ")
		}
		b.WriteString("'" + w + "'")
		if a.Prefix && !a.Phon && i == len(ws)-1 {
			b.WriteString(":*")
		}
	}
	b.WriteByte(')')
	return b.String()
}

// tsOr renders the body (phon=false) or phonetic alternatives as one
// to_tsquery input.
func tsOr(alts []catalog.SearchAlt, phon bool) string {
	var parts []string
	for _, a := range alts {
		if a.Phon != phon {
			continue
		}
		if s := tsAlt(a); s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " | ")
}

func (s *Store) SearchEntriesMatch(ctx context.Context, p *catalog.SearchMatchParams) ([]*catalog.SearchCandidate, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 200, 5000)
	if err != nil {
		return nil, err
	}
	for _, f := range p.Fields {
		if !validField(f) {
			return nil, catalog.Invalidf("field: %q is not one of %s", f, strings.Join(catalog.Fields, ", "))
		}
	}
	if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	var args []any
	arg := func(v any) string { args = append(args, v); return "?" }
	var where []string
	if s.postgres() {
		// The tsqueries are written into the statement as literals (of
		// letters and digits only, quoted), not passed as parameters: a
		// prepared statement's generic plan cannot see what a parameter
		// matches and walks the primary key evaluating the tsquery on
		// every row (seconds at 100,000 entries for two rare words);
		// with the literal, the planner weighs the words' frequencies
		// (ANALYZE's most common elements) and takes the GIN index for
		// rare words.
		expr := pgMatch(p.Groups, p.Any)
		if expr == "" {
			return nil, catalog.Invalidf("query: has no words to search for")
		}
		where = append(where, expr)
		if ex := tsOr(p.Exclude, false); ex != "" {
			where = append(where, "NOT (c.tsv @@ to_tsquery('english', "+pgLiteral(ex)+"))")
		}
		// No ts_rank, as no bm25 on SQLite: candidates are the newest
		// matches, and the caller scores them word by word.
	} else {
		expr := fts5Match(p.Groups, p.Any)
		if expr == "" {
			return nil, catalog.Invalidf("query: has no words to search for")
		}
		if ex := fts5Or(p.Exclude); ex != "" {
			expr += " NOT " + ex
		}
		where = append(where, "cat_entries_fts MATCH "+arg(expr))
		// No bm25: it first reads every match of every phrase of the
		// expression to weigh it (a query with its sound and spelling
		// alternatives has a dozen), which costs more than the search.
		// Candidates are the newest matches; the caller scores them.
	}
	where = append(where, "c.tenant_id = "+arg(p.TenantID))
	if len(p.Fields) > 0 {
		var ph []string
		for _, f := range p.Fields {
			ph = append(ph, arg(f))
		}
		where = append(where, "c.field IN ("+strings.Join(ph, ", ")+")")
	}
	if p.Speaker != "" {
		where = append(where, "c.speaker = "+arg(p.Speaker))
	}
	if p.Value != "" {
		where = append(where, "lower(c.value) = "+arg(strings.ToLower(p.Value)))
	}
	if p.MediaID != "" {
		where = append(where, "c.media_id = "+arg(p.MediaID))
	}
	if len(p.NotIDs) > catalog.MaxNotIDs {
		return nil, catalog.Invalidf("not_ids: %d, more than %d", len(p.NotIDs), catalog.MaxNotIDs)
	}
	if len(p.NotIDs) > 0 {
		// Checked on the full-text match's row id, before its row is read.
		col := "c.id"
		if !s.postgres() {
			col = "cat_entries_fts.rowid"
		}
		ids := make([]string, len(p.NotIDs))
		for i, id := range p.NotIDs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		where = append(where, col+" NOT IN ("+strings.Join(ids, ", ")+")")
	}
	if p.Kind != "" {
		where = append(where, "m.kind = "+arg(p.Kind))
	}
	if !p.Since.IsZero() {
		where = append(where, "m.created_at >= "+arg(s.t(p.Since)))
	}
	if !p.Until.IsZero() {
		where = append(where, "m.created_at < "+arg(s.t(p.Until)))
	}
	// The media row is read for the filters on it only: joining it for
	// every match of a common word would cost more than the match.
	media := ""
	if p.Kind != "" || !p.Since.IsZero() || !p.Until.IsZero() {
		media = " JOIN cat_media m ON m.id = c.media_id"
	}
	cond := strings.Join(where, " AND ")
	const cols = `c.id, c.media_id, c.field, c.start_s, c.end_s, c.speaker, c.value, c.body, c.times`
	var query string
	if s.postgres() {
		ids, err := s.newestMatches(ctx, "cat_entries c"+media, cond, args, limit)
		if err != nil {
			return nil, err
		}
		query = `SELECT ` + cols + ` FROM cat_entries c WHERE c.id = ANY(?) ORDER BY c.id DESC`
		args = []any{ids}
	} else {
		// The newest matches: ordering by the full-text table's rowid lets
		// FTS5 walk its doclists newest first and stop at the limit; each
		// match's row is read once, for the tenant check and the columns.
		query = `SELECT ` + cols + ` FROM cat_entries_fts JOIN cat_entries c ON c.id = cat_entries_fts.rowid` + media + ` WHERE ` + cond +
			` ORDER BY cat_entries_fts.rowid DESC LIMIT ` + strconv.Itoa(limit)
	}
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, dbErr(err, "search entries")
	}
	defer rows.Close()
	var out []*catalog.SearchCandidate
	for rows.Next() {
		c := &catalog.SearchCandidate{}
		if err := rows.Scan(&c.ID, &c.MediaID, &c.Field, &c.Start, &c.End, &c.Speaker, &c.Value, &c.Body, &c.TimesText); err != nil {
			return nil, dbErr(err, "search entries")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, "search entries")
	}
	rows.Close()
	// The media items' file name, kind and time, read once per item (a
	// common word's candidates come from a few items).
	return out, s.candidateMedia(ctx, p.TenantID, out)
}

// candidateMedia fills the candidates' media fields from one read of
// their distinct items.
func (s *Store) candidateMedia(ctx context.Context, tenant string, cands []*catalog.SearchCandidate) error {
	type info struct {
		filename, kind string
		created        time.Time
	}
	byID := map[string]*info{}
	var ids []string
	for _, c := range cands {
		if _, ok := byID[c.MediaID]; !ok {
			byID[c.MediaID] = nil
			ids = append(ids, c.MediaID)
		}
	}
	for from := 0; from < len(ids); from += 500 {
		part := ids[from:min(from+500, len(ids))]
		args := []any{tenant}
		ph := make([]string, len(part))
		for i, id := range part {
			ph[i] = "?"
			args = append(args, id)
		}
		// "tenant_id || ''" keeps SQLite's planner from reading the
		// tenant's every item through its index instead of these by id.
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, filename, kind, created_at FROM cat_media WHERE tenant_id || '' = ? AND id IN (`+strings.Join(ph, ", ")+`)`), args...)
		if err != nil {
			return dbErr(err, "search entries' media")
		}
		for rows.Next() {
			var id string
			m := &info{}
			if err := rows.Scan(&id, &m.filename, &m.kind, timeScan{&m.created}); err != nil {
				rows.Close()
				return dbErr(err, "search entries' media")
			}
			byID[id] = m
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbErr(err, "search entries' media")
		}
	}
	for _, c := range cands {
		if m := byID[c.MediaID]; m != nil {
			c.Filename, c.Kind, c.CreatedAt = m.filename, m.kind, m.created
		}
	}
	return nil
}

// pgDense is how many of the newest entry ids a PostgreSQL search first
// reads in id order, and pgWindow the first range of ids it then reads
// through the GIN index (each next range eight times the last).
const (
	pgDense  = 4000
	pgWindow = 20000
)

// newestMatches returns the ids of the newest limit entries matching
// cond on PostgreSQL. A GIN index answers which rows match but not in id
// order, and the planner, to find the newest matches, walks the primary
// key evaluating the match on every row whenever it believes the
// matches dense enough for the walk to stop soon: right for a common
// word, seconds for a rarer one (it misjudges a dozen alternatives' ORed
// frequencies, and its cost of a tsquery on a row is far below the real
// one, a few microseconds). So the walk is bounded to the newest pgDense
// rows (enough when a quarter of the entries match); past it, the ids
// are read in growing ranges with plain index scans off for the
// statement, which leaves the planner the GIN index (alone, or ANDed with
// the key's range as bitmaps) and a sort of the range's matches.
func (s *Store) newestMatches(ctx context.Context, from, cond string, args []any, limit int) ([]int64, error) {
	var hi int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM cat_entries`).Scan(&hi); err != nil {
		return nil, dbErr(err, "search entries")
	}
	var ids []int64
	read := func(q queryer, lo, hi int64) error {
		rows, err := q.QueryContext(ctx, s.q(`SELECT c.id FROM `+from+` WHERE `+cond+` AND c.id > `+strconv.FormatInt(lo, 10)+` AND c.id <= `+strconv.FormatInt(hi, 10)+
			` ORDER BY c.id DESC LIMIT `+strconv.Itoa(limit-len(ids))), args...)
		if err != nil {
			return dbErr(err, "search entries")
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return dbErr(err, "search entries")
			}
			ids = append(ids, id)
		}
		return dbErr(rows.Err(), "search entries")
	}
	lo := max(hi-pgDense, 0)
	if err := read(s.db, lo, hi); err != nil {
		return nil, err
	}
	if lo == 0 || len(ids) >= limit {
		return ids, nil
	}
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, dbErr(err, "search entries")
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SET LOCAL enable_indexscan = off; SET LOCAL enable_seqscan = off`); err != nil {
		return nil, dbErr(err, "search entries")
	}
	for w := int64(pgWindow); lo > 0 && len(ids) < limit; w *= 8 {
		hi, lo = lo, max(lo-w, 0)
		if err := read(tx, lo, hi); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// pgLiteral quotes s as an SQL string literal (standard conforming
// strings: only the quote is doubled).
func pgLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// pgMatch is the tsvector condition of groups of alternatives (all groups
// must match, or any with anyGroup), or "" when none has words.
func pgMatch(gs [][]catalog.SearchAlt, anyGroup bool) string {
	var groups []string
	for _, g := range gs {
		var ors []string
		if b := tsOr(g, false); b != "" {
			ors = append(ors, "c.tsv @@ to_tsquery('english', "+pgLiteral(b)+")")
		}
		if ph := tsOr(g, true); ph != "" {
			ors = append(ors, "c.tsp @@ to_tsquery('simple', "+pgLiteral(ph)+")")
		}
		if len(ors) > 0 {
			groups = append(groups, "("+strings.Join(ors, " OR ")+")")
		}
	}
	if len(groups) == 0 {
		return ""
	}
	join := " AND "
	if anyGroup {
		join = " OR "
	}
	return "(" + strings.Join(groups, join) + ")"
}

// fts5Match is the FTS5 expression of groups of alternatives, or "".
func fts5Match(gs [][]catalog.SearchAlt, anyGroup bool) string {
	var groups []string
	for _, g := range gs {
		if x := fts5Or(g); x != "" {
			groups = append(groups, x)
		}
	}
	if len(groups) == 0 {
		return ""
	}
	join := " AND "
	if anyGroup {
		join = " OR "
	}
	return "(" + strings.Join(groups, join) + ")"
}

func (s *Store) SearchTerms(ctx context.Context, p *catalog.SearchTermsParams) ([]string, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	limit, err := limitOf("limit", p.Limit, 5000, 100000)
	if err != nil {
		return nil, err
	}
	q := `SELECT term FROM cat_terms WHERE tenant_id = ?`
	args := []any{p.TenantID}
	if p.Prefix != "" {
		// A range on the primary key: term >= prefix AND term < prefix+1.
		q += ` AND term >= ? AND term < ?`
		args = append(args, p.Prefix, p.Prefix+"\U0010FFFF")
	}
	if p.MinLen > 0 {
		q += ` AND length(term) >= ?`
		args = append(args, p.MinLen)
	}
	if p.MaxLen > 0 {
		q += ` AND length(term) <= ?`
		args = append(args, p.MaxLen)
	}
	q += ` LIMIT ` + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, dbErr(err, "search terms")
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, dbErr(err, "search terms")
		}
		out = append(out, t)
	}
	return out, dbErr(rows.Err(), "search terms")
}

func (s *Store) SearchValues(ctx context.Context, p *catalog.SearchValuesParams) ([]catalog.SearchValueCount, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if !validField(p.Field) {
		return nil, catalog.Invalidf("field: %q is not one of %s", p.Field, strings.Join(catalog.Fields, ", "))
	}
	if len(p.MediaIDs) == 0 {
		return nil, nil
	}
	if len(p.MediaIDs) > 1000 {
		return nil, catalog.Invalidf("media_ids: %d, more than 1000", len(p.MediaIDs))
	}
	args := []any{p.TenantID, p.Field}
	ph := make([]string, len(p.MediaIDs))
	for i, id := range p.MediaIDs {
		ph[i] = "?"
		args = append(args, id)
	}
	q := `SELECT value, COUNT(DISTINCT media_id) FROM cat_entries WHERE tenant_id = ? AND field = ? AND value <> ''
		AND media_id IN (` + strings.Join(ph, ", ") + `) GROUP BY value ORDER BY 2 DESC, 1 LIMIT 50`
	if p.Field == catalog.FieldEntity {
		// Entities facet by name (body); value is the entity type.
		q = strings.Replace(q, "SELECT value,", "SELECT body,", 1)
		q = strings.Replace(q, "GROUP BY value", "GROUP BY body", 1)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, dbErr(err, "search facet values")
	}
	defer rows.Close()
	var out []catalog.SearchValueCount
	for rows.Next() {
		var v catalog.SearchValueCount
		if err := rows.Scan(&v.Value, &v.Count); err != nil {
			return nil, dbErr(err, "search facet values")
		}
		out = append(out, v)
	}
	return out, dbErr(rows.Err(), "search facet values")
}

func (s *Store) SearchIndexPending(ctx context.Context, p *catalog.SearchIndexPendingParams) ([]*catalog.Media, error) {
	limit, err := limitOf("limit", p.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + prefixCols("m.", mediaCols) + ` FROM cat_media m LEFT JOIN cat_search_state st ON st.media_id = m.id
		WHERE m.status = ? AND (st.media_id IS NULL OR st.version <> ?) AND m.id > ?`
	args := []any{"SUCCEEDED", p.Version, p.After}
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
		return nil, dbErr(err, "list media to index")
	}
	defer rows.Close()
	var out []*catalog.Media
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, dbErr(err, "list media to index")
		}
		out = append(out, m)
	}
	return out, dbErr(rows.Err(), "list media to index")
}

func prefixCols(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
