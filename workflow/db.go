package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/landfall/landfall/errcode"
)

// dialect names the SQL database behind a store.
type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// dbtx is one open transaction of the engine's database. Statements come
// from the store, written in the driver's own SQL; nothing rewrites them.
type dbtx interface {
	exec(ctx context.Context, q string, args ...any) (int64, error)
	query(ctx context.Context, q string, args ...any) (rows, error)
	queryRow(ctx context.Context, q string, args ...any) row
	// insertJobs enqueues River jobs inside the transaction.
	insertJobs(ctx context.Context, params []river.InsertManyParams) error
	// execBatch runs statements in order and returns each one's count of
	// affected rows; PostgreSQL sends them in one round trip.
	execBatch(ctx context.Context, stmts []stmt) ([]int64, error)
	// queryRows runs queries of one row each in order, handing each row
	// to its scan; PostgreSQL sends them in one round trip.
	queryRows(ctx context.Context, stmts []stmt, scans []func(row) error) error
	// runningSteps lists step jobs River holds as running.
	runningSteps(ctx context.Context) ([]*rivertype.JobRow, error)
	// promoteDueSteps makes step jobs scheduled before due available,
	// as River's leader does, and returns how many it made available.
	promoteDueSteps(ctx context.Context, due time.Time) (int, error)
	// completeJob marks the River job being worked as completed inside
	// the transaction.
	completeJob(ctx context.Context, job *river.Job[stepArgs]) error
	commit(ctx context.Context) error
	rollback(ctx context.Context) error
}

// stmt is one statement of a batch.
type stmt struct {
	q    string
	args []any
}

type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

type row interface{ Scan(dest ...any) error }

// backend owns the database pool and the River client over it.
type backend interface {
	dialect() dialect
	begin(ctx context.Context) (dbtx, error)
	// run runs f in a transaction and commits it unless f fails. SQLite
	// commits the transactions of concurrent callers together.
	run(ctx context.Context, f func(tx dbtx) error) error
	// migrateRiver runs River's own migrations.
	migrateRiver(ctx context.Context) error
	// newRiver builds the River client with the given config; a nil
	// Workers in cfg gives an insert-only client.
	newRiver(cfg *river.Config, fair *fairFetch) error
	startRiver(ctx context.Context) error
	stopRiver(ctx context.Context) error
	// withLock runs f while holding a database-wide lock named key
	// (migrations from several processes).
	withLock(ctx context.Context, key int64, f func(context.Context) error) error
	// reclaim makes the space of deleted rows reusable where the database
	// does not by itself (PostgreSQL: VACUUM of the tables retention
	// deletes from; SQLite reuses freed pages).
	reclaim(ctx context.Context) error
	close() error
}

// openBackend opens the database named by dsn: sqlite:///path/file.db,
// sqlite://:memory: (one process only), or postgres://… (a search_path
// query parameter selects the schema; it is created when missing).
func openBackend(ctx context.Context, dsn string) (backend, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite://"), strings.HasPrefix(dsn, "sqlite:"):
		return openSQLite(dsn)
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	}
	return nil, errcode.New(errcode.Invalid, "database URL %q: unknown scheme (known: sqlite://, postgres://)", redact(dsn))
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// ---- SQLite ----

type sqliteBackend struct {
	db *sql.DB
	// stmts caches prepared statements: SQLite spends most of a small
	// statement's time parsing it.
	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt
	// Group commit: one goroutine runs queued transactions, as many as
	// are waiting, in one SQLite transaction with a savepoint each.
	reqs   chan *groupReq
	quit   chan struct{}
	once   sync.Once
	driver *riversqlite.Driver
	client *river.Client[*sql.Tx]
	// path is the database file (":memory:" for a memory database).
	path string
}

func openSQLite(dsn string) (*sqliteBackend, error) {
	path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
	if path == "" {
		return nil, errcode.New(errcode.Invalid, "database URL %q: no file path (want sqlite:///path/to/file.db)", dsn)
	}
	q := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, q = path[:i], path[i+1:]
	}
	params := url.Values{}
	if q != "" {
		var err error
		if params, err = url.ParseQuery(q); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "database URL %q: query", dsn)
		}
	}
	params.Add("_pragma", "busy_timeout(30000)")
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous(NORMAL)")
	params.Add("_pragma", "foreign_keys(ON)")
	params.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	// One connection: SQLite has one writer, and River's own advice is a
	// pool of one so that its concurrent operations queue instead of
	// failing with SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	b := &sqliteBackend{path: path, db: db, driver: riversqlite.New(db), stmts: map[string]*sql.Stmt{}, reqs: make(chan *groupReq, 256), quit: make(chan struct{})}
	go b.committer()
	return b, nil
}

func (b *sqliteBackend) reclaim(context.Context) error { return nil }

func (b *sqliteBackend) dialect() dialect { return dialectSQLite }

func (b *sqliteBackend) begin(ctx context.Context) (dbtx, error) {
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &sqliteTx{b: b, tx: tx}, nil
}

type groupReq struct {
	ctx  context.Context
	f    func(tx dbtx) error
	err  error
	done chan struct{}
}

// maxGroup bounds the transactions committed together.
const maxGroup = 64

var errClosed = errors.New("workflow: database closed")

func (b *sqliteBackend) run(ctx context.Context, f func(tx dbtx) error) error {
	r := &groupReq{ctx: ctx, f: f, done: make(chan struct{})}
	select {
	case b.reqs <- r:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-b.quit:
		// The committer finishes the group it holds before it stops.
		<-r.done
		return r.err
	}
}

func (b *sqliteBackend) committer() {
	for {
		var first *groupReq
		select {
		case first = <-b.reqs:
		case <-b.quit:
			// Fail whatever is still queued.
			for {
				select {
				case r := <-b.reqs:
					r.err = errClosed
					close(r.done)
				default:
					return
				}
			}
		}
		b.runGroup(gather(first, b.reqs, maxGroup))
	}
}

// gather returns first and the requests already waiting in reqs, at most
// max in all: a group forms from what is ready, without a timer, so a
// lone request is not held back.
func gather[T any](first T, reqs <-chan T, max int) []T {
	group := []T{first}
	for len(group) < max {
		select {
		case r := <-reqs:
			group = append(group, r)
		default:
			return group
		}
	}
	return group
}

func finish(rs []*groupReq, err error) {
	for _, r := range rs {
		r.err = err
		close(r.done)
	}
}

// runGroup runs each request's function in its own savepoint of one
// transaction: a function that fails rolls back only its own changes.
func (b *sqliteBackend) runGroup(group []*groupReq) {
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		finish(group, err)
		return
	}
	st := &sqliteTx{b: b, tx: tx}
	if len(group) == 1 {
		r := group[0]
		if err := safely(func() error { return r.f(st) }); err != nil {
			_ = tx.Rollback()
			finish(group, err)
			return
		}
		finish(group, tx.Commit())
		return
	}
	var ok []*groupReq
	for i, r := range group {
		if err := r.ctx.Err(); err != nil {
			finish([]*groupReq{r}, err)
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT wf_group"); err != nil {
			_ = tx.Rollback()
			finish(append(ok, group[i:]...), err)
			return
		}
		ferr := safely(func() error { return r.f(st) })
		if ferr != nil {
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO wf_group"); err != nil {
				_ = tx.Rollback()
				finish(append(ok, group[i+1:]...), err)
				finish([]*groupReq{r}, ferr)
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE wf_group"); err != nil {
			_ = tx.Rollback()
			finish(append(ok, group[i+1:]...), err)
			finish([]*groupReq{r}, errors.Join(ferr, err))
			return
		}
		if ferr != nil {
			finish([]*groupReq{r}, ferr)
			continue
		}
		ok = append(ok, r)
	}
	finish(ok, tx.Commit())
}

func (b *sqliteBackend) migrateRiver(ctx context.Context) error {
	m, err := rivermigrate.New(b.driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func (b *sqliteBackend) newRiver(cfg *river.Config, fair *fairFetch) (err error) {
	b.client, err = river.NewClient(withFairFetch(b.driver, fair), cfg)
	return err
}

func (b *sqliteBackend) startRiver(ctx context.Context) error { return b.client.Start(ctx) }
func (b *sqliteBackend) stopRiver(ctx context.Context) error  { return b.client.StopAndCancel(ctx) }

func (b *sqliteBackend) withLock(ctx context.Context, _ int64, f func(context.Context) error) error {
	// Every SQLite transaction here is BEGIN IMMEDIATE, so the schema
	// statements of one process cannot interleave with another's.
	return f(ctx)
}

func (b *sqliteBackend) close() error {
	b.once.Do(func() { close(b.quit) })
	b.stmtMu.Lock()
	for _, st := range b.stmts {
		st.Close()
	}
	b.stmts = map[string]*sql.Stmt{}
	b.stmtMu.Unlock()
	return b.db.Close()
}

// stmt returns the prepared statement of q inside tx.
func (t *sqliteTx) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	b := t.b
	b.stmtMu.Lock()
	st, ok := b.stmts[q]
	room := len(b.stmts) < 512
	b.stmtMu.Unlock()
	if !ok {
		// Prepare inside the transaction (the pool has one connection,
		// which the transaction holds), then keep a DB-level statement
		// for later transactions.
		var err error
		st, err = t.tx.PrepareContext(ctx, q)
		if err != nil {
			return nil, err
		}
		if room {
			// The transaction's statement closes with it; cache a copy
			// prepared on the pool once the connection is free again.
			go b.prepareLater(q)
		}
		return st, nil
	}
	return t.tx.StmtContext(ctx, st), nil
}

func (b *sqliteBackend) prepareLater(q string) {
	st, err := b.db.Prepare(q)
	if err != nil {
		return
	}
	b.stmtMu.Lock()
	defer b.stmtMu.Unlock()
	if _, dup := b.stmts[q]; dup || b.stmts == nil {
		st.Close()
		return
	}
	b.stmts[q] = st
}

type sqliteTx struct {
	b  *sqliteBackend
	tx *sql.Tx
}

func (t *sqliteTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := st.ExecContext(ctx, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (t *sqliteTx) execBatch(ctx context.Context, stmts []stmt) ([]int64, error) {
	out := make([]int64, len(stmts))
	for i, s := range stmts {
		n, err := t.exec(ctx, s.q, s.args...)
		if err != nil {
			return nil, err
		}
		out[i] = n
	}
	return out, nil
}

func (t *sqliteTx) queryRows(ctx context.Context, stmts []stmt, scans []func(row) error) error {
	for i, s := range stmts {
		if err := scans[i](t.queryRow(ctx, s.q, s.args...)); err != nil {
			return err
		}
	}
	return nil
}

func (t *sqliteTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	r, err := st.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{r}, nil
}

func (t *sqliteTx) queryRow(ctx context.Context, q string, args ...any) row {
	st, err := t.stmt(ctx, q)
	if err != nil {
		return errRow{err}
	}
	return sqlRow{st.QueryRowContext(ctx, args...)}
}

func (t *sqliteTx) insertJobs(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	_, err := t.b.client.InsertManyTx(ctx, t.tx, params)
	return err
}

func (t *sqliteTx) promoteDueSteps(ctx context.Context, due time.Time) (int, error) {
	res, err := t.b.client.JobListTx(ctx, t.tx, river.NewJobListParams().States(rivertype.JobStateScheduled).Kinds(stepJobKind).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(500))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range res.Jobs {
		if j.ScheduledAt.After(due) {
			break
		}
		if _, err := t.b.client.JobRetryTx(ctx, t.tx, j.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (t *sqliteTx) runningSteps(ctx context.Context) ([]*rivertype.JobRow, error) {
	res, err := t.b.client.JobListTx(ctx, t.tx, river.NewJobListParams().States(rivertype.JobStateRunning).Kinds(stepJobKind).First(500))
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}

func (t *sqliteTx) completeJob(ctx context.Context, job *river.Job[stepArgs]) error {
	_, err := river.JobCompleteTx[*riversqlite.Driver](ctx, t.tx, job)
	return err
}

func (t *sqliteTx) commit(context.Context) error   { return t.tx.Commit() }
func (t *sqliteTx) rollback(context.Context) error { return t.tx.Rollback() }

type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

type sqlRow struct{ r *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return errNoRows
	}
	return err
}

var errNoRows = errors.New("no rows")

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// ---- PostgreSQL ----

type pgBackend struct {
	pool   *pgxpool.Pool
	driver *riverpgxv5.Driver
	client *river.Client[pgx.Tx]
	// group commits the transitions of concurrent workers together
	// (see pgGroup).
	group *pgGroup
}

// lockWorker takes worker id's advisory lock on a connection of its own,
// held until the connection is closed or lost.
func (b *pgBackend) lockWorker(ctx context.Context, id string) (*pgx.Conn, error) {
	pc, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("workflow: worker lock: %w", err)
	}
	c := pc.Hijack()
	if _, err := c.Exec(ctx, `SELECT pg_advisory_lock($1, hashtext($2))`, workerLockSpace, id); err != nil {
		_ = c.Close(ctx)
		return nil, fmt.Errorf("workflow: worker lock: %w", err)
	}
	return c, nil
}

func openPostgres(ctx context.Context, dsn string) (*pgBackend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "database URL %q", redact(dsn))
	}
	if cfg.MaxConns < 10 && !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = 10
	}
	schema := cfg.ConnConfig.RuntimeParams["search_path"]
	if schema != "" {
		// Create the schema before the pool's connections use it as
		// their search_path.
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			return nil, fmt.Errorf("connect %s: %w", redact(dsn), err)
		}
		first := strings.TrimSpace(strings.Split(schema, ",")[0])
		_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{first}.Sanitize())
		conn.Close(ctx)
		if err != nil {
			var pe *pgconn.PgError
			// Two processes creating the same schema at once race on
			// the catalog's unique index; the loser's schema exists.
			if !(errors.As(err, &pe) && pe.Code == "23505") {
				return nil, fmt.Errorf("create schema %s: %w", first, err)
			}
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", redact(dsn), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect %s: %w", redact(dsn), err)
	}
	b := &pgBackend{pool: pool, driver: riverpgxv5.New(pool)}
	b.group = newPGGroup(b)
	return b, nil
}

func (b *pgBackend) dialect() dialect { return dialectPostgres }

// begin starts a transaction; its connection is taken from the pool by
// its first statement, so a transition whose writes are committed with
// others' (commitBatch) takes none of its own.
func (b *pgBackend) begin(ctx context.Context) (dbtx, error) {
	return &pgTx{b: b}, nil
}

// readOne runs f, which reads with one statement, outside a
// transaction: PostgreSQL answers in one round trip instead of three
// (BEGIN, the statement, COMMIT), and one statement reads one snapshot.
// SQLite runs f in a transaction as run does.
func readOne(ctx context.Context, b backend, f func(tx dbtx) error) error {
	pb, ok := b.(*pgBackend)
	if !ok {
		return b.run(ctx, f)
	}
	t := &pgTx{b: pb, autocommit: true, solo: true}
	defer t.release()
	return safely(func() error { return f(t) })
}

func (b *pgBackend) run(ctx context.Context, f func(tx dbtx) error) error {
	tx, err := b.begin(ctx)
	if err != nil {
		return err
	}
	if err := safely(func() error { return f(tx) }); err != nil {
		_ = tx.rollback(ctx)
		return err
	}
	return tx.commit(ctx)
}

func (b *pgBackend) migrateRiver(ctx context.Context) error {
	m, err := rivermigrate.New(b.driver, nil)
	if err != nil {
		return err
	}
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	return err
}

func (b *pgBackend) newRiver(cfg *river.Config, fair *fairFetch) (err error) {
	b.client, err = river.NewClient(withFairFetch(b.driver, fair), cfg)
	return err
}

func (b *pgBackend) startRiver(ctx context.Context) error { return b.client.Start(ctx) }
func (b *pgBackend) stopRiver(ctx context.Context) error  { return b.client.StopAndCancel(ctx) }

func (b *pgBackend) withLock(ctx context.Context, key int64, f func(context.Context) error) error {
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) //nolint:errcheck // the lock also ends with the session
	return f(ctx)
}

func (b *pgBackend) close() error {
	b.group.stop()
	b.pool.Close()
	return nil
}

func (b *pgBackend) reclaim(ctx context.Context) error {
	_, err := b.pool.Exec(ctx, `VACUUM wf_history, wf_frames, wf_tasks, wf_executions`)
	return err
}

// pgTx is a transaction on a pooled connection, written to save round
// trips: BEGIN goes out with the transaction's first batch, and a
// transition's writes go out with their COMMIT (commitBatch).
type pgTx struct {
	b *pgBackend
	c *pgxpool.Conn // nil until the first statement
	// groupKey orders this transaction's writes in a group commit (the
	// execution's ARN); solo: never group-committed.
	groupKey string
	solo     bool
	// begun: BEGIN was sent; ended: COMMIT went out with a batch;
	// released: the connection went back to the pool (commit and
	// rollback after it do nothing, as on a pgx.Tx).
	begun, ended, released bool
	// autocommit: statements run without BEGIN, each its own
	// transaction (readOne: a single statement is its own snapshot).
	autocommit bool
}

// conn takes the transaction's connection from the pool.
func (t *pgTx) conn(ctx context.Context) error {
	if t.c != nil {
		return nil
	}
	if t.released {
		return errors.New("workflow: statement after the transaction ended")
	}
	c, err := t.b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	t.c = c
	return nil
}

// open sends BEGIN when no statement has yet.
func (t *pgTx) open(ctx context.Context) error {
	if t.begun {
		return nil
	}
	if err := t.conn(ctx); err != nil {
		return err
	}
	if t.autocommit {
		return nil
	}
	if _, err := t.c.Exec(ctx, "BEGIN"); err != nil {
		return err
	}
	t.begun = true
	return nil
}

// batch starts a batch, with BEGIN first when no statement has gone out;
// skip reads BEGIN's result.
func (t *pgTx) batch(ctx context.Context) (b *pgx.Batch, skip func(pgx.BatchResults) error, err error) {
	if err := t.conn(ctx); err != nil {
		return nil, nil, err
	}
	b = &pgx.Batch{}
	if t.begun || t.autocommit {
		return b, func(pgx.BatchResults) error { return nil }, nil
	}
	b.Queue("BEGIN")
	t.begun = true
	return b, func(r pgx.BatchResults) error { _, err := r.Exec(); return err }, nil
}

func (t *pgTx) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if err := t.open(ctx); err != nil {
		return 0, err
	}
	tag, err := t.c.Exec(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (t *pgTx) execBatch(ctx context.Context, stmts []stmt) ([]int64, error) {
	if len(stmts) == 0 {
		return nil, nil
	}
	b, skip, err := t.batch(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range stmts {
		b.Queue(s.q, s.args...)
	}
	res := t.c.SendBatch(ctx, b)
	if err := skip(res); err != nil {
		res.Close()
		return nil, err
	}
	out := make([]int64, len(stmts))
	for i := range stmts {
		tag, err := res.Exec()
		if err != nil {
			res.Close()
			return nil, err
		}
		out[i] = tag.RowsAffected()
	}
	return out, res.Close()
}

// errCASMissed reports that a compare-and-swap statement of commitBatch
// changed no row: the transaction was rolled back.
var errCASMissed = errors.New("workflow: compare-and-swap changed no row")

// commitBatch runs statements and commits, in one round trip. Each
// statement whose index is in cas must change a row: one that changes
// none fails the batch (a division by zero on its count), which aborts
// the transaction before COMMIT, and commitBatch returns errCASMissed.
//
// A transaction that has sent nothing yet (a transition started from a
// snapshot) is committed by the backend's group commit, together with
// the transitions of other workers that are ready at the same time.
func (t *pgTx) commitBatch(ctx context.Context, stmts []stmt, cas []int) error {
	if !t.begun && t.c == nil && !t.released && !t.solo && t.b.group != nil {
		t.released = true // the group commits it; commit and rollback do nothing
		return t.b.group.commit(ctx, t.groupKey, stmts, cas)
	}
	b, skip, err := t.batch(ctx)
	if err != nil {
		return err
	}
	must := queueCAS(b, stmts, cas)
	b.Queue("COMMIT")
	res := t.c.SendBatch(ctx, b)
	if err := skip(res); err != nil {
		res.Close()
		return err
	}
	for i := range stmts {
		if _, err := res.Exec(); err != nil {
			res.Close()
			var pe *pgconn.PgError
			if must[i] && errors.As(err, &pe) && pe.Code == "22012" {
				return errCASMissed
			}
			return err
		}
	}
	tag, err := res.Exec()
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return fmt.Errorf("workflow: commit: the server answered %q", tag)
	}
	t.ended = true
	return nil
}

// queueCAS queues stmts on b, those whose index is in cas wrapped so
// that changing no row fails them (a division by zero, code 22012), and
// returns the set of wrapped indexes.
func queueCAS(b *pgx.Batch, stmts []stmt, cas []int) map[int]bool {
	must := make(map[int]bool, len(cas))
	for _, i := range cas {
		must[i] = true
	}
	for i, s := range stmts {
		q := s.q
		if must[i] {
			q = "WITH cas AS (" + q + " RETURNING 1) SELECT 1 / COUNT(*) FROM cas"
		}
		b.Queue(q, s.args...)
	}
	return must
}

func (t *pgTx) queryRows(ctx context.Context, stmts []stmt, scans []func(row) error) error {
	b, skip, err := t.batch(ctx)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		b.Queue(s.q, s.args...)
	}
	res := t.c.SendBatch(ctx, b)
	if err := skip(res); err != nil {
		res.Close()
		return err
	}
	for i := range stmts {
		if err := scans[i](pgRow{res.QueryRow()}); err != nil {
			res.Close()
			return err
		}
	}
	return res.Close()
}

func (t *pgTx) query(ctx context.Context, q string, args ...any) (rows, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	r, err := t.c.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return r, nil
}

func (t *pgTx) queryRow(ctx context.Context, q string, args ...any) row {
	if err := t.open(ctx); err != nil {
		return errRow{err}
	}
	return pgRow{t.c.QueryRow(ctx, q, args...)}
}

// riverTx hands River the open transaction.
func (t *pgTx) riverTx(ctx context.Context) (pgx.Tx, error) {
	if err := t.open(ctx); err != nil {
		return nil, err
	}
	return connTx{t.c.Conn()}, nil
}

func (t *pgTx) insertJobs(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	tx, err := t.riverTx(ctx)
	if err != nil {
		return err
	}
	_, err = t.b.client.InsertManyTx(ctx, tx, params)
	return err
}

func (t *pgTx) promoteDueSteps(ctx context.Context, due time.Time) (int, error) {
	tx, err := t.riverTx(ctx)
	if err != nil {
		return 0, err
	}
	res, err := t.b.client.JobListTx(ctx, tx, river.NewJobListParams().States(rivertype.JobStateScheduled).Kinds(stepJobKind).
		OrderBy(river.JobListOrderByScheduledAt, river.SortOrderAsc).First(500))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, j := range res.Jobs {
		if j.ScheduledAt.After(due) {
			break
		}
		if _, err := t.b.client.JobRetryTx(ctx, tx, j.ID); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (t *pgTx) runningSteps(ctx context.Context) ([]*rivertype.JobRow, error) {
	tx, err := t.riverTx(ctx)
	if err != nil {
		return nil, err
	}
	res, err := t.b.client.JobListTx(ctx, tx, river.NewJobListParams().States(rivertype.JobStateRunning).Kinds(stepJobKind).First(500))
	if err != nil {
		return nil, err
	}
	return res.Jobs, nil
}

func (t *pgTx) completeJob(ctx context.Context, job *river.Job[stepArgs]) error {
	tx, err := t.riverTx(ctx)
	if err != nil {
		return err
	}
	_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
	return err
}

func (t *pgTx) release() {
	if !t.released {
		t.released = true
		if t.c != nil {
			t.c.Release()
		}
	}
}

func (t *pgTx) commit(ctx context.Context) error {
	if t.released {
		return nil
	}
	defer t.release()
	if t.ended || !t.begun {
		return nil
	}
	tag, err := t.c.Exec(ctx, "COMMIT")
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		// The transaction had failed: the server rolled it back.
		return pgx.ErrTxCommitRollback
	}
	return nil
}

func (t *pgTx) rollback(ctx context.Context) error {
	// A connection left inside a transaction (the ROLLBACK failed) is
	// closed, not reused, when released.
	if t.released {
		return nil
	}
	defer t.release()
	if t.ended || !t.begun {
		return nil
	}
	_, err := t.c.Exec(ctx, "ROLLBACK")
	return err
}

// connTx is the transaction open on a connection, as River takes it.
// River's calls made here (InsertManyTx, JobListTx, JobCompleteTx) use no
// nested transaction.
type connTx struct{ c *pgx.Conn }

func (t connTx) Begin(context.Context) (pgx.Tx, error) {
	return nil, errors.New("workflow: nested transactions are not supported here")
}
func (t connTx) Commit(context.Context) error {
	return errors.New("workflow: the engine commits its own transactions")
}
func (t connTx) Rollback(context.Context) error {
	return errors.New("workflow: the engine rolls back its own transactions")
}
func (t connTx) CopyFrom(ctx context.Context, table pgx.Identifier, cols []string, src pgx.CopyFromSource) (int64, error) {
	return t.c.CopyFrom(ctx, table, cols, src)
}
func (t connTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return t.c.SendBatch(ctx, b)
}
func (t connTx) LargeObjects() pgx.LargeObjects { return pgx.LargeObjects{} }
func (t connTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	return t.c.Prepare(ctx, name, sql)
}
func (t connTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return t.c.Exec(ctx, sql, args...)
}
func (t connTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return t.c.Query(ctx, sql, args...)
}
func (t connTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return t.c.QueryRow(ctx, sql, args...)
}
func (t connTx) Conn() *pgx.Conn { return t.c }

var _ pgx.Tx = connTx{}

type pgRow struct{ r pgx.Row }

func (r pgRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return errNoRows
	}
	return err
}

// isConflict reports whether err is a serialisation or lock conflict that
// a retry of the whole transaction resolves.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "40001", "40P01", "55P03":
			return true
		case "23505":
			// Two creates of one name raced; run again, the retry finds
			// the winner's row (StartExecution and CreateStateMachine
			// are idempotent).
			return true
		}
	}
	s := err.Error()
	return strings.Contains(s, "SQLITE_BUSY") || strings.Contains(s, "database is locked")
}

func micros(t time.Time) int64 { return t.UnixMicro() }
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
