// Package sqlstore is the catalog.Store shared by the SQLite and PostgreSQL
// drivers. The two databases differ in a handful of places (placeholders,
// time columns, row locks, full-text search, query plans); a Dialect
// carries those, and everything else is one implementation over
// database/sql, so both drivers behave alike by construction and the
// shared suite checks the differences.
package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"time"

	"github.com/landfall/landfall/catalog"
)

// Dialect is what a driver supplies.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, …) instead of ?.
	Numbered bool
	// TimeArg converts a time for a query argument (microsecond precision).
	TimeArg func(time.Time) any
	// ForUpdate is appended to a SELECT that reads a row it will update in
	// the same transaction (" FOR UPDATE" on PostgreSQL; SQLite's write
	// transactions are already exclusive).
	ForUpdate string
	// SkipLocked is appended to the outbox claim's inner SELECT.
	SkipLocked string
	// Migrations holds NNN_name.sql files applied in order.
	Migrations fs.FS
	// MigrateLock, when set, runs first in the migration transaction so
	// concurrent openers migrate one at a time.
	MigrateLock string
	// InsertChunks adds search chunks for one media item and source.
	InsertChunks func(ctx context.Context, tx *sql.Tx, tenantID, mediaID, source string, chunks []catalog.Chunk) error
	// Search runs a sanitised query in one tenant.
	Search func(ctx context.Context, db *sql.DB, p *SearchArgs) ([]*catalog.SearchHit, error)
	// Plan returns the plan of query with args.
	Plan func(ctx context.Context, db *sql.DB, query string, args []any) (string, error)
}

// SearchArgs is a validated search.
type SearchArgs struct {
	TenantID string
	Query    catalog.Query
	Source   string // "" for both
	Limit    int
}
