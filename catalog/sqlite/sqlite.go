// Package sqlite is the catalog driver for SQLite (modernc.org/sqlite, no
// cgo), registered as the "sqlite" URL scheme:
//
//	sqlite:///var/lib/landfall/landfall.db   an absolute path
//	sqlite:data/landfall.db                  a path relative to the working directory
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
		path := u.Path
		if u.Opaque != "" {
			path = u.Opaque
		}
		if u.Host != "" {
			return nil, errcode.New(errcode.Invalid, "catalog: sqlite URL %q: has a host %q; write sqlite:///absolute/path or sqlite:relative/path", u.Redacted(), u.Host)
		}
		if path == "" {
			return nil, errcode.New(errcode.Invalid, "catalog: sqlite URL %q: no file path", u.Redacted())
		}
		return Open(ctx, path, opts)
	})
}

// Open opens (creating if needed) the SQLite catalog at path.
func Open(ctx context.Context, path string, opts catalog.Options) (*sqlstore.Store, error) {
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)"
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

// search takes the tenant's catalog.MaxRankedMatches newest matching
// chunks, ranks them by bm25 and keeps the page, reading only rowids and
// ranks; snippets are built for the page alone (snippet() in the ranked
// query would run for every match before the sort).
func search(ctx context.Context, db *sql.DB, a *sqlstore.SearchArgs) ([]*catalog.SearchHit, error) {
	candidates := `SELECT f3.rowid AS id, f3.rank AS rank FROM cat_chunks_fts f3 JOIN cat_chunks c3 ON c3.id = f3.rowid
		WHERE f3.cat_chunks_fts MATCH ?1 AND c3.tenant_id = ?2`
	if a.Source != "" {
		candidates += ` AND c3.source = ?4`
	}
	candidates += ` ORDER BY f3.rowid DESC LIMIT ` + strconv.Itoa(catalog.MaxRankedMatches)
	inner := `SELECT id FROM (` + candidates + `) ORDER BY rank LIMIT ?3`
	query := `SELECT c.media_id, c.source, c.start_s, c.end_s,
			snippet(cat_chunks_fts, 0, '` + catalog.SnippetOpen + `', '` + catalog.SnippetClose + `', '…', 16), f.rank
		FROM cat_chunks_fts f JOIN cat_chunks c ON c.id = f.rowid
		WHERE f.cat_chunks_fts MATCH ?1 AND f.rowid IN (` + inner + `)
		ORDER BY f.rank`
	args := []any{MatchExpr(a.Query), a.TenantID, a.Limit}
	if a.Source != "" {
		args = append(args, a.Source)
	}
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []*catalog.SearchHit
	for rows.Next() {
		h := &catalog.SearchHit{}
		var rank float64
		if err := rows.Scan(&h.MediaID, &h.Source, &h.Start, &h.End, &h.Snippet, &rank); err != nil {
			return nil, err
		}
		h.Score = -rank // bm25 is lower-is-better
		hits = append(hits, h)
	}
	return hits, rows.Err()
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
