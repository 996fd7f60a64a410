// Package postgres is the catalog driver for PostgreSQL (pgx), registered
// as the "postgres" and "postgresql" URL schemes:
//
//	postgres://user@host:5432/db?sslmode=disable&schema=landfall
//
// The schema parameter (default "public") names the schema that holds the
// catalog's tables; it is created when missing and set as the connections'
// search_path. Migrations run under an advisory lock, so any number of
// processes may open the same database at once. Full-text search is a
// generated tsvector column (english configuration) with a GIN index,
// ranked by ts_rank, with ts_headline excerpts; outbox claims use
// FOR UPDATE SKIP LOCKED.
//
// Gaps: none of the Store's methods is missing.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"io/fs"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/internal/sqlstore"
	"github.com/landfall/landfall/errcode"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

func init() {
	o := func(ctx context.Context, u *url.URL, opts catalog.Options) (catalog.Store, error) {
		return Open(ctx, u.String(), opts)
	}
	catalog.Register("postgres", o)
	catalog.Register("postgresql", o)
}

var schemaRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Open connects to the PostgreSQL catalog named by a postgres:// URL with
// an optional schema parameter.
func Open(ctx context.Context, rawURL string, opts catalog.Options) (catalog.Store, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "catalog: postgres URL")
	}
	q := u.Query()
	schema := q.Get("schema")
	q.Del("schema")
	u.RawQuery = q.Encode()
	if schema == "" {
		schema = "public"
	}
	if !schemaRE.MatchString(schema) {
		return nil, errcode.New(errcode.Invalid, "catalog: postgres URL: schema %q must be lower-case letters, digits and _", schema)
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "catalog: postgres URL %s", u.Redacted())
	}
	cfg.RuntimeParams["search_path"] = schema
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	sub, _ := fs.Sub(migrationFS, "migrations")
	st, err := sqlstore.New(ctx, db, Dialect(sub, schema), opts)
	if err != nil {
		db.Close()
		return nil, err
	}
	return st, nil
}

// Dialect returns the PostgreSQL dialect with the given migrations for a
// schema (already checked against schemaRE). The migration transaction
// takes an advisory lock named after the schema, then creates the schema,
// so concurrent first opens do not race on CREATE SCHEMA.
func Dialect(migrations fs.FS, schema string) *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:       "postgres",
		Numbered:   true,
		TimeArg:    func(t time.Time) any { return t },
		ForUpdate:  " FOR UPDATE",
		SkipLocked: " FOR UPDATE SKIP LOCKED",
		Migrations: migrations,
		MigrateLock: `SELECT pg_advisory_xact_lock(hashtext('landfall.catalog.` + schema + `'));
			CREATE SCHEMA IF NOT EXISTS ` + schema,
		InsertChunks: insertChunks,
		Search:       search,
		Plan:         plan,
	}
}

func insertChunks(ctx context.Context, tx *sql.Tx, tenantID, mediaID, source string, chunks []catalog.Chunk) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO cat_chunks (tenant_id, media_id, source, seq, start_s, end_s, speaker, body)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`)
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

const headlineOpts = `StartSel="` + catalog.SnippetOpen + `", StopSel="` + catalog.SnippetClose +
	`", MaxWords=24, MinWords=8, MaxFragments=1, FragmentDelimiter="…"`

func search(ctx context.Context, db *sql.DB, a *sqlstore.SearchArgs) ([]*catalog.SearchHit, error) {
	// Rank the newest catalog.MaxRankedMatches matches, as the SQLite
	// driver does.
	candidates := `SELECT c.id, c.media_id, c.source, c.start_s, c.end_s, c.body, c.tsv, q
		FROM cat_chunks c, to_tsquery('english', $2) q
		WHERE c.tenant_id = $1 AND c.tsv @@ q`
	args := []any{a.TenantID, a.Query.TSQuery(), a.Limit}
	if a.Source != "" {
		candidates += ` AND c.source = $4`
		args = append(args, a.Source)
	}
	candidates += ` ORDER BY c.id DESC LIMIT ` + strconv.Itoa(catalog.MaxRankedMatches)
	inner := `SELECT id, media_id, source, start_s, end_s, body, q, ts_rank(tsv, q) AS score
		FROM (` + candidates + `) m ORDER BY score DESC, id LIMIT $3`
	// ts_headline is costly: run it on the page only.
	query := `SELECT media_id, source, start_s, end_s, ts_headline('english', body, q, '` + headlineOpts + `'), score
		FROM (` + inner + `) t ORDER BY score DESC, id`
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []*catalog.SearchHit
	for rows.Next() {
		h := &catalog.SearchHit{}
		if err := rows.Scan(&h.MediaID, &h.Source, &h.Start, &h.End, &h.Snippet, &h.Score); err != nil {
			return nil, err
		}
		hits = append(hits, h)
	}
	return hits, rows.Err()
}

func plan(ctx context.Context, db *sql.DB, query string, args []any) (string, error) {
	rows, err := db.QueryContext(ctx, "EXPLAIN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	return strings.Join(lines, "\n"), nil
}
