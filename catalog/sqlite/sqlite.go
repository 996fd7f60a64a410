// Package sqlite is the catalog driver for SQLite (modernc.org/sqlite, no
// cgo), registered as the "sqlite" URL scheme:
//
//	sqlite:///var/lib/landfall/landfall.db   an absolute path
//	sqlite://data/landfall.db                a path relative to the working directory
//	sqlite:data/landfall.db                  the same
//
// The database runs in WAL mode with a busy timeout; write transactions
// take the write lock when they begin, so they serialise instead of failing
// on upgrade. Full-text search is FTS5 with the porter stemmer, ranked by
// bm25, with snippet() excerpts.
//
// Gaps: none of the Store's methods is missing. Outbox claims are
// serialised by SQLite's single writer rather than SKIP LOCKED.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/internal/sqlstore"
	"github.com/landfall/landfall/errcode"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() {
	catalog.Register("sqlite", func(ctx context.Context, u *url.URL, opts catalog.Options) (catalog.Store, error) {
		// sqlite:///abs/file.db, sqlite://rel/file.db (what follows the
		// two slashes, as the workflow store reads it) or sqlite:rel/file.db.
		path := u.Host + u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
		if u.User != nil || u.Port() != "" {
			return nil, errcode.New(errcode.Invalid, "catalog: sqlite URL %q: a file path has no user or port", u.Redacted())
		}
		if path == "" {
			return nil, errcode.New(errcode.Invalid, "catalog: sqlite URL %q: no file path", u.Redacted())
		}
		if u.RawQuery != "" {
			return nil, errcode.New(errcode.Invalid, "catalog: sqlite URL %q: takes no parameters (got %q)", u.Redacted(), u.RawQuery)
		}
		return Open(ctx, path, opts)
	})
}

// Open opens (creating if needed) the SQLite catalog at path. The store's
// DB method gives the *sql.DB for tools and tests.
func Open(ctx context.Context, path string, opts catalog.Options) (catalog.Store, error) {
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)" +
		// Pages are read through a memory map rather than a read call
		// each (a search touches a few thousand), and each connection
		// keeps 32 MiB of them decoded.
		"&_pragma=mmap_size(4294967296)&_pragma=cache_size(-32768)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "catalog: open sqlite %s", path)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, errcode.Wrap(errcode.Unavailable, err, "catalog: open sqlite %s", path)
	}
	sub, _ := fs.Sub(migrationFS, "migrations")
	st, err := sqlstore.New(ctx, db, Dialect(sub), opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// Dialect returns the SQLite dialect with the given migrations.
func Dialect(migrations fs.FS) *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:         "sqlite",
		TimeArg:      func(t time.Time) any { return t.UnixMicro() },
		Migrations:   migrations,
		InsertChunks: insertChunks,
		Search:       search,
		Plan:         plan,
	}
}

func insertChunks(ctx context.Context, tx *sql.Tx, tenantID, mediaID, source string, chunks []catalog.Chunk) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO cat_chunks (tenant_id, media_id, source, seq, start_s, end_s, speaker, body)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, c := range chunks {
		if _, err := st.ExecContext(ctx, tenantID, mediaID, source, c.Seq, c.Start, c.End, c.Speaker, c.Text); err != nil {
			return err
		}
	}
	return nil
}

// MatchExpr is the FTS5 expression for a query, restricted to the body.
func MatchExpr(q catalog.Query) string { return q.FTS5("body") }

// search runs in two steps on one connection. It ranks the tenant's
// catalog.MaxRankedMatches newest matching chunks by bm25 and keeps the
// page, reading only rowids and ranks. Then it builds the page's snippets
// in a small per-connection FTS5 table holding just those chunks: snippet()
// in the ranked query would run for every candidate, and re-matching single
// rowids of the big index costs a doclist seek per phrase or prefix term.
func search(ctx context.Context, db *sql.DB, a *sqlstore.SearchArgs) ([]*catalog.SearchHit, error) {
	match := MatchExpr(a.Query)
	candidates := `SELECT f.rowid AS id, f.rank AS rank FROM cat_chunks_fts f JOIN cat_chunks c ON c.id = f.rowid
		WHERE f.cat_chunks_fts MATCH ?1 AND c.tenant_id = ?2`
	if a.Source != "" {
		candidates += ` AND c.source = ?4`
	}
	candidates += ` ORDER BY f.rowid DESC LIMIT ` + strconv.Itoa(catalog.MaxRankedMatches)
	query := `SELECT c.id, c.media_id, c.source, c.start_s, c.end_s, c.body, r.rank
		FROM (SELECT id, rank FROM (` + candidates + `) ORDER BY rank LIMIT ?3) r JOIN cat_chunks c ON c.id = r.id
		ORDER BY r.rank, c.id`
	args := []any{match, a.TenantID, a.Limit}
	if a.Source != "" {
		args = append(args, a.Source)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	var hits []*catalog.SearchHit
	var ids []int64
	var bodies []string
	for rows.Next() {
		h := &catalog.SearchHit{}
		var id int64
		var body string
		var rank float64
		if err := rows.Scan(&id, &h.MediaID, &h.Source, &h.Start, &h.End, &body, &rank); err != nil {
			rows.Close()
			return nil, err
		}
		h.Score = -rank // bm25 is lower-is-better
		hits = append(hits, h)
		ids = append(ids, id)
		bodies = append(bodies, body)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		return nil, nil
	}
	snippets, err := snippets(ctx, conn, match, ids, bodies)
	if err != nil {
		return nil, err
	}
	for i, h := range hits {
		if h.Snippet = snippets[ids[i]]; h.Snippet == "" {
			h.Snippet = leadingWords(bodies[i], 16)
		}
	}
	return hits, nil
}

// leadingWords returns the first n words of s, with … when cut.
func leadingWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return strings.Join(f, " ")
	}
	return strings.Join(f[:n], " ") + "…"
}

// snippets highlights match in the given chunk bodies using a temporary
// FTS5 table private to conn, emptied after use.
func snippets(ctx context.Context, conn *sql.Conn, match string, ids []int64, bodies []string) (map[int64]string, error) {
	if _, err := conn.ExecContext(ctx, `CREATE VIRTUAL TABLE IF NOT EXISTS temp.cat_snippets USING fts5 (body,
		tokenize = 'porter unicode61 remove_diacritics 2')`); err != nil {
		return nil, err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `DELETE FROM temp.cat_snippets`)
	for i, id := range ids {
		if _, err := conn.ExecContext(ctx, `INSERT INTO temp.cat_snippets (rowid, body) VALUES (?, ?)`, id, bodies[i]); err != nil {
			return nil, err
		}
	}
	rows, err := conn.QueryContext(ctx, `SELECT rowid, snippet(cat_snippets, 0, '`+catalog.SnippetOpen+`', '`+
		catalog.SnippetClose+`', '…', 16) FROM temp.cat_snippets WHERE cat_snippets MATCH ?`, match)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]string, len(ids))
	for rows.Next() {
		var id int64
		var sn string
		if err := rows.Scan(&id, &sn); err != nil {
			return nil, err
		}
		out[id] = sn
	}
	return out, rows.Err()
}

func plan(ctx context.Context, db *sql.DB, query string, args []any) (string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
