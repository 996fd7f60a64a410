package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

// Store implements catalog.Store over database/sql.
type Store struct {
	db     *sql.DB
	d      *Dialect
	now    func() time.Time
	closed atomic.Bool
}

// New wraps an open database, applies the dialect's migrations and returns
// the store. The store owns db and closes it in Close.
func New(ctx context.Context, db *sql.DB, d *Dialect, opts catalog.Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Store{db: db, d: d, now: opts.Now}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// DB returns the underlying database (for drivers' tests and tools).
func (s *Store) DB() *sql.DB { return s.db }

func (s *Store) Name() string { return s.d.Name }

func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.db.Close()
}

func (s *Store) live() error {
	if s.closed.Load() {
		return catalog.ErrClosed
	}
	return nil
}

// clock returns now at the stores' precision (microseconds, UTC).
func (s *Store) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// q rewrites ? placeholders for the dialect.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

func (s *Store) t(t time.Time) any { return s.d.TimeArg(micro(t)) }

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.live(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return dbErr(err, "begin transaction")
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return dbErr(err, "commit")
	}
	return nil
}

// dbErr wraps a database error, keeping context errors recognisable. The
// driver's text (SQL, constraint names, values) is logged here and never
// reaches a caller's message: the error's text says only which catalog
// operation failed, and the driver's error stays in the chain for
// errors.Is and errors.As.
func dbErr(err error, what string) error {
	if err == nil {
		return nil
	}
	var ce *errcode.Error
	if errors.As(err, &ce) {
		return err
	}
	switch {
	case errors.Is(err, context.Canceled):
		return errcode.Wrap(errcode.Canceled, err, "catalog: %s", what)
	case errors.Is(err, context.DeadlineExceeded):
		return errcode.Wrap(errcode.DeadlineExceeded, err, "catalog: %s", what)
	}
	slog.Warn("catalog: database error", "op", what, "err", err)
	code, msg := errcode.Unavailable, "catalog: %s: the database failed (details are in the server log)"
	var st interface{ SQLState() string }
	if errors.As(err, &st) && strings.HasPrefix(st.SQLState(), "22") {
		// Class 22, data exception: a value the database cannot store
		// (bad encoding, out of range) that validation should have caught.
		code, msg = errcode.Invalid, "catalog: %s: the database refused a value (details are in the server log)"
	}
	return &errcode.Error{Code: code, Message: fmt.Sprintf(msg, what), Err: driverError{err}}
}

// driverError hides a driver error's text behind a fixed one.
type driverError struct{ err error }

func (driverError) Error() string   { return "database error" }
func (e driverError) Unwrap() error { return e.err }

// timeScan scans an INTEGER of Unix microseconds (SQLite) or a timestamp
// (PostgreSQL); NULL gives the zero time.
type timeScan struct{ dst *time.Time }

func (ts timeScan) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*ts.dst = time.Time{}
	case int64:
		*ts.dst = time.UnixMicro(x).UTC()
	case time.Time:
		*ts.dst = x.UTC()
	default:
		return fmt.Errorf("catalog: cannot scan %T as a time", v)
	}
	return nil
}

// optTimeScan scans a nullable time into a pointer.
type optTimeScan struct{ dst **time.Time }

func (ts optTimeScan) Scan(v any) error {
	if v == nil {
		*ts.dst = nil
		return nil
	}
	var t time.Time
	if err := (timeScan{&t}).Scan(v); err != nil {
		return err
	}
	*ts.dst = &t
	return nil
}

// textScan scans text, bytes (PostgreSQL jsonb) or NULL into a string.
type textScan struct{ dst *string }

func (ts textScan) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		*ts.dst = ""
	case string:
		*ts.dst = x
	case []byte:
		*ts.dst = string(x)
	default:
		return fmt.Errorf("catalog: cannot scan %T as text", v)
	}
	return nil
}

// ---- migrations ----

func (s *Store) migrate(ctx context.Context) error {
	entries, err := readMigrations(s.d.Migrations)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if s.d.MigrateLock != "" {
			if _, err := tx.ExecContext(ctx, s.d.MigrateLock); err != nil {
				return dbErr(err, "lock for migrations")
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS cat_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
			return dbErr(err, "create cat_migrations")
		}
		applied := map[int]bool{}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM cat_migrations`)
		if err != nil {
			return dbErr(err, "read cat_migrations")
		}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return dbErr(err, "read cat_migrations")
			}
			applied[v] = true
		}
		rows.Close()
		for _, m := range entries {
			if applied[m.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return errcode.Wrap(errcode.Unavailable, err, "catalog: migration %s", m.name)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
				m.version, m.name, s.clock().UnixMicro()); err != nil {
				return dbErr(err, "record migration "+m.name)
			}
		}
		return nil
	})
}

// ---- tenants ----

func (s *Store) TenantCreate(ctx context.Context, p *catalog.TenantCreateParams) (*catalog.Tenant, error) {
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return nil, err
	}
	if err := checkText("name", p.Name, 200); err != nil {
		return nil, err
	}
	t := &catalog.Tenant{ID: p.ID, Name: p.Name, CreatedAt: s.clock()}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_tenants (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`),
			t.ID, t.Name, s.t(t.CreatedAt))
		if err != nil {
			return dbErr(err, "insert tenant")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		if !p.IfNotExists {
			return errcode.New(errcode.AlreadyExists, "catalog: tenant %q already exists", p.ID)
		}
		got, err := s.tenantGet(ctx, tx, p.ID)
		if err != nil {
			return err
		}
		*t = *got
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func (s *Store) tenantGet(ctx context.Context, qr queryer, id string) (*catalog.Tenant, error) {
	t := &catalog.Tenant{}
	err := qr.QueryRowContext(ctx, s.q(`SELECT id, name, created_at, disabled_at FROM cat_tenants WHERE id = ?`), id).
		Scan(&t.ID, &t.Name, timeScan{&t.CreatedAt}, optTimeScan{&t.DisabledAt})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, catalog.NotFound("tenant", id)
	}
	if err != nil {
		return nil, dbErr(err, "read tenant")
	}
	return t, nil
}

// tenantExists checks a tenant named in a request: missing is NotFound.
func (s *Store) tenantExists(ctx context.Context, qr queryer, field, id string) error {
	if err := catalog.ValidateTenantID(field, id); err != nil {
		return err
	}
	var one int
	err := qr.QueryRowContext(ctx, s.q(`SELECT 1 FROM cat_tenants WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return catalog.NotFound("tenant", id)
	}
	return dbErr(err, "read tenant")
}

func (s *Store) TenantGet(ctx context.Context, p *catalog.TenantGetParams) (*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return nil, err
	}
	return s.tenantGet(ctx, s.db, p.ID)
}

func (s *Store) TenantList(ctx context.Context, p *catalog.TenantListParams) ([]*catalog.Tenant, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_at, disabled_at FROM cat_tenants ORDER BY id`)
	if err != nil {
		return nil, dbErr(err, "list tenants")
	}
	defer rows.Close()
	var out []*catalog.Tenant
	for rows.Next() {
		t := &catalog.Tenant{}
		if err := rows.Scan(&t.ID, &t.Name, timeScan{&t.CreatedAt}, optTimeScan{&t.DisabledAt}); err != nil {
			return nil, dbErr(err, "list tenants")
		}
		out = append(out, t)
	}
	return out, dbErr(rows.Err(), "list tenants")
}

// setTenantDisabled sets or clears a tenant's disabled_at.
func (s *Store) setTenantDisabled(ctx context.Context, id string, disable bool) (*catalog.Tenant, error) {
	if err := catalog.ValidateTenantID("id", id); err != nil {
		return nil, err
	}
	var t *catalog.Tenant
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if disable {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_tenants SET disabled_at = COALESCE(disabled_at, ?) WHERE id = ?`), s.t(s.clock()), id)
		} else {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_tenants SET disabled_at = NULL WHERE id = ?`), id)
		}
		if err != nil {
			return dbErr(err, "update tenant")
		}
		t, err = s.tenantGet(ctx, tx, id)
		return err
	})
	return t, err
}

func (s *Store) TenantDisable(ctx context.Context, p *catalog.TenantDisableParams) (*catalog.Tenant, error) {
	return s.setTenantDisabled(ctx, p.ID, true)
}

func (s *Store) TenantEnable(ctx context.Context, p *catalog.TenantEnableParams) (*catalog.Tenant, error) {
	return s.setTenantDisabled(ctx, p.ID, false)
}

func (s *Store) TenantDelete(ctx context.Context, p *catalog.TenantDeleteParams) error {
	if err := catalog.ValidateTenantID("id", p.ID); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.tenantGet(ctx, tx, p.ID); err != nil {
			return err
		}
		for _, c := range []struct{ table, what string }{{"cat_media", "media items"}, {"cat_failures", "failures"}, {"cat_usage", "usage entries"}} {
			var n int64
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM `+c.table+` WHERE tenant_id = ?`), p.ID).Scan(&n); err != nil {
				return dbErr(err, "count "+c.what)
			}
			if n > 0 {
				return errcode.New(errcode.FailedPrecond, "catalog: tenant %s still has %d %s; delete them first or disable the tenant instead", p.ID, n, c.what)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_api_keys WHERE tenant_id = ?`), p.ID); err != nil {
			return dbErr(err, "delete the tenant's API keys")
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vocabulary WHERE tenant_id = ?`), p.ID); err != nil {
			return dbErr(err, "delete the tenant's vocabulary")
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_vector_index WHERE tenant_id = ?`), p.ID); err != nil {
			return dbErr(err, "delete the tenant's vector index")
		}
		_, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_tenants WHERE id = ?`), p.ID)
		return dbErr(err, "delete tenant")
	})
}

// ---- API keys ----

// optT converts an optional time for a query argument (NULL when zero).
func (s *Store) optT(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.t(t)
}

func (s *Store) APIKeyCreate(ctx context.Context, p *catalog.APIKeyCreateParams) (*catalog.APIKeyCreateResult, error) {
	if err := checkText("name", p.Name, 200); err != nil {
		return nil, err
	}
	role := p.Role
	if role == "" {
		role = identity.RoleTenant
	}
	if _, err := identity.ParseRole(string(role)); err != nil {
		return nil, catalog.Invalidf("role: %v", err)
	}
	scoped := role == identity.RoleTenant || role == identity.RoleReviewer
	if scoped && p.TenantID == "" {
		return nil, catalog.Invalidf("tenant_id: required for a %s key", role)
	}
	if !scoped && p.TenantID != "" {
		return nil, catalog.Invalidf("tenant_id: %s keys belong to no tenant (got %q)", role, p.TenantID)
	}
	now := s.clock()
	if !p.ExpiresAt.IsZero() && !p.ExpiresAt.After(now) {
		return nil, catalog.Invalidf("expires_at: %s is not in the future", p.ExpiresAt.UTC().Format(time.RFC3339))
	}
	key, id := catalog.NewAPIKey()
	hash, err := catalog.HashAPIKey(key)
	if err != nil {
		return nil, err
	}
	k := &catalog.APIKey{ID: id, Role: role, TenantID: p.TenantID, Name: p.Name, CreatedAt: now, Generation: 1}
	if !p.ExpiresAt.IsZero() {
		e := micro(p.ExpiresAt).UTC()
		k.ExpiresAt = &e
	}
	var tenant any
	if scoped {
		tenant = p.TenantID
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if scoped {
			if err := s.tenantExists(ctx, tx, "tenant_id", p.TenantID); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_api_keys (hash, id, role, tenant_id, name, created_at, expires_at, generation)
			VALUES (?, ?, ?, ?, ?, ?, ?, 1)`),
			hash, k.ID, string(k.Role), tenant, k.Name, s.t(k.CreatedAt), s.optT(p.ExpiresAt))
		return dbErr(err, "insert API key")
	})
	if err != nil {
		return nil, err
	}
	k.CreatedAt = micro(k.CreatedAt).UTC()
	return &catalog.APIKeyCreateResult{Key: key, APIKey: k}, nil
}

const apiKeyCols = `k.id, k.role, k.tenant_id, k.name, k.created_at, k.expires_at, k.revoked_at, k.generation, k.rotated_at`

func scanAPIKey(sc interface{ Scan(...any) error }, extra ...any) (*catalog.APIKey, error) {
	k := &catalog.APIKey{}
	var role string
	var tenant sql.NullString
	dst := append([]any{&k.ID, &role, &tenant, &k.Name, timeScan{&k.CreatedAt}, optTimeScan{&k.ExpiresAt},
		optTimeScan{&k.RevokedAt}, &k.Generation, optTimeScan{&k.RotatedAt}}, extra...)
	err := sc.Scan(dst...)
	k.Role, k.TenantID = identity.Role(role), tenant.String
	return k, err
}

func (s *Store) APIKeyLookup(ctx context.Context, p *catalog.APIKeyLookupParams) (*catalog.APIKey, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	var where string
	var arg any
	switch {
	case p.Key != "" && p.ID != "":
		return nil, catalog.Invalidf("API key lookup: give the key or its id, not both")
	case p.Key != "":
		hash, err := catalog.HashAPIKey(p.Key)
		if err != nil {
			return nil, err
		}
		where, arg = `k.hash = ?`, hash
	case p.ID != "":
		if err := catalog.ValidateAPIKeyID("id", p.ID); err != nil {
			return nil, errcode.New(errcode.Unauthenticated, "catalog: API key id is malformed")
		}
		where, arg = `k.id = ?`, p.ID
	default:
		return nil, errcode.New(errcode.Unauthenticated, "catalog: no API key given")
	}
	var disabled *time.Time
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, s.q(`SELECT `+apiKeyCols+`, t.disabled_at
		FROM cat_api_keys k LEFT JOIN cat_tenants t ON t.id = k.tenant_id WHERE `+where), arg), optTimeScan{&disabled})
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errcode.New(errcode.Unauthenticated, "catalog: API key is not known")
	}
	if err != nil {
		return nil, dbErr(err, "look up API key")
	}
	if k.RevokedAt != nil {
		return nil, errcode.New(errcode.Unauthenticated, "catalog: API key %s was revoked", k.ID)
	}
	if k.ExpiresAt != nil && !s.clock().Before(*k.ExpiresAt) {
		return nil, errcode.New(errcode.Unauthenticated, "catalog: API key %s expired at %s", k.ID, k.ExpiresAt.Format(time.RFC3339))
	}
	if disabled != nil {
		return nil, errcode.New(errcode.PermissionDenied, "catalog: tenant %s is disabled", k.TenantID)
	}
	return k, nil
}

func (s *Store) APIKeyList(ctx context.Context, p *catalog.APIKeyListParams) ([]*catalog.APIKey, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	q, args := `SELECT `+apiKeyCols+` FROM cat_api_keys k ORDER BY k.created_at, k.id`, []any{}
	if p.TenantID != "" {
		if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
			return nil, err
		}
		q, args = `SELECT `+apiKeyCols+` FROM cat_api_keys k WHERE k.tenant_id = ? ORDER BY k.created_at, k.id`, []any{p.TenantID}
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, dbErr(err, "list API keys")
	}
	defer rows.Close()
	var out []*catalog.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, dbErr(err, "list API keys")
		}
		out = append(out, k)
	}
	return out, dbErr(rows.Err(), "list API keys")
}

// apiKeyForUpdate reads a key named in a request inside tx; a key of
// another tenant than the one named is NotFound.
func (s *Store) apiKeyForUpdate(ctx context.Context, tx *sql.Tx, tenantID, id string) (*catalog.APIKey, error) {
	if err := catalog.ValidateAPIKeyID("id", id); err != nil {
		return nil, err
	}
	if tenantID != "" {
		if err := catalog.ValidateTenantID("tenant_id", tenantID); err != nil {
			return nil, err
		}
	}
	k, err := scanAPIKey(tx.QueryRowContext(ctx, s.q(`SELECT `+apiKeyCols+` FROM cat_api_keys k WHERE k.id = ?`+s.d.ForUpdate), id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && tenantID != "" && k.TenantID != tenantID {
		return nil, catalog.NotFound("API key", id)
	}
	return k, dbErr(err, "read API key")
}

func (s *Store) APIKeyRevoke(ctx context.Context, p *catalog.APIKeyRevokeParams) (*catalog.APIKey, error) {
	var k *catalog.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = s.apiKeyForUpdate(ctx, tx, p.TenantID, p.ID); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return nil
		}
		now := micro(s.clock()).UTC()
		k.RevokedAt = &now
		_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_api_keys SET revoked_at = ? WHERE id = ?`), s.t(now), p.ID)
		return dbErr(err, "revoke API key")
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

func (s *Store) APIKeyRotate(ctx context.Context, p *catalog.APIKeyRotateParams) (*catalog.APIKeyCreateResult, error) {
	var res *catalog.APIKeyCreateResult
	err := s.tx(ctx, func(tx *sql.Tx) error {
		k, err := s.apiKeyForUpdate(ctx, tx, p.TenantID, p.ID)
		if err != nil {
			return err
		}
		now := micro(s.clock()).UTC()
		if k.RevokedAt != nil {
			return errcode.New(errcode.FailedPrecond, "catalog: API key %s was revoked; create a new one", k.ID)
		}
		if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
			return errcode.New(errcode.FailedPrecond, "catalog: API key %s expired at %s; set a later expiry first", k.ID, k.ExpiresAt.Format(time.RFC3339))
		}
		key := catalog.NewAPIKeyWithID(k.ID)
		hash, err := catalog.HashAPIKey(key)
		if err != nil {
			return err
		}
		k.Generation++
		k.RotatedAt = &now
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_api_keys SET hash = ?, generation = ?, rotated_at = ? WHERE id = ?`),
			hash, k.Generation, s.t(now), k.ID); err != nil {
			return dbErr(err, "rotate API key")
		}
		res = &catalog.APIKeyCreateResult{Key: key, APIKey: k}
		return nil
	})
	return res, err
}

func (s *Store) APIKeyExpire(ctx context.Context, p *catalog.APIKeyExpireParams) (*catalog.APIKey, error) {
	if p.At.IsZero() {
		return nil, catalog.Invalidf("at: required")
	}
	var k *catalog.APIKey
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if k, err = s.apiKeyForUpdate(ctx, tx, p.TenantID, p.ID); err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return errcode.New(errcode.FailedPrecond, "catalog: API key %s was revoked", k.ID)
		}
		at := micro(p.At).UTC()
		k.ExpiresAt = &at
		_, err = tx.ExecContext(ctx, s.q(`UPDATE cat_api_keys SET expires_at = ? WHERE id = ?`), s.t(at), k.ID)
		return dbErr(err, "expire API key")
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ---- media ----

const mediaCols = `id, tenant_id, bucket_key, filename, content_type, size, sha256, kind, status, version,
	created_at, updated_at, duration, execution_id, summary, insights, transcript_key, captions_key, error, cause`

func scanMedia(sc interface{ Scan(...any) error }) (*catalog.Media, error) {
	m := &catalog.Media{}
	var insights string
	var kind, status string
	err := sc.Scan(&m.ID, &m.TenantID, &m.BucketKey, &m.Filename, &m.ContentType, &m.Size, &m.SHA256, &kind, &status,
		&m.Version, timeScan{&m.CreatedAt}, timeScan{&m.UpdatedAt}, &m.Duration, &m.ExecutionID, &m.Summary,
		textScan{&insights}, &m.TranscriptKey, &m.CaptionsKey, &m.Error, &m.Cause)
	if err != nil {
		return nil, err
	}
	m.Kind, m.Status = types.Kind(kind), types.Status(status)
	if insights != "" {
		m.Insights = new(types.Insights)
		if err := json.Unmarshal([]byte(insights), m.Insights); err != nil {
			return nil, fmt.Errorf("media %s: stored insights: %w", m.ID, err)
		}
	}
	return m, nil
}

func checkText(field, v string, max int) error { return catalog.ValidateText(field, v, max) }

func (s *Store) MediaCreate(ctx context.Context, p *catalog.MediaCreateParams) (*catalog.Media, error) {
	m, err := catalog.NewMedia(p, s.clock())
	if err != nil {
		return nil, err
	}
	err = s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.tenantExists(ctx, tx, "tenant_id", m.TenantID); err != nil {
			return err
		}
		if p.MaxTenantBytes > 0 {
			if err := s.checkStoredBytes(ctx, tx, m.TenantID, m.Size, p.MaxTenantBytes); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_media (id, tenant_id, bucket_key, filename, content_type, size, sha256,
			kind, status, version, created_at, updated_at, duration, execution_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`),
			m.ID, m.TenantID, m.BucketKey, m.Filename, m.ContentType, m.Size, m.SHA256, string(m.Kind), string(m.Status),
			m.Version, s.t(m.CreatedAt), s.t(m.UpdatedAt), m.Duration, m.ExecutionID)
		if err != nil {
			return dbErr(err, "insert media")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errcode.New(errcode.AlreadyExists, "catalog: media %q already exists", m.ID)
		}
		return s.outboxInsert(ctx, tx, "events", p.Events)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// checkStoredBytes refuses adding size bytes to a tenant whose stored
// media would then pass max. The tenant's row is locked first (on
// PostgreSQL; SQLite's write transactions are exclusive), so concurrent
// creates for one tenant are checked one after the other.
func (s *Store) checkStoredBytes(ctx context.Context, tx *sql.Tx, tenant string, size, max int64) error {
	if s.d.ForUpdate != "" {
		var one int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT 1 FROM cat_tenants WHERE id = ?`+s.d.ForUpdate), tenant).Scan(&one); err != nil {
			return dbErr(err, "lock tenant")
		}
	}
	stored, err := s.storedBytes(ctx, tx, tenant)
	if err != nil {
		return err
	}
	if stored+size > max {
		return errcode.New(errcode.TooLarge, "catalog: tenant %q stores %d bytes of media; %d more would pass its limit of %d bytes (limits.stored_bytes)",
			tenant, stored, size, max)
	}
	return nil
}

func (s *Store) storedBytes(ctx context.Context, qr queryer, tenant string) (int64, error) {
	var n int64
	if err := qr.QueryRowContext(ctx, s.q(`SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM cat_media WHERE tenant_id = ?`), tenant).Scan(&n); err != nil {
		return 0, dbErr(err, "sum stored bytes")
	}
	return n, nil
}

func (s *Store) MediaStoredBytes(ctx context.Context, p *catalog.MediaStoredBytesParams) (int64, error) {
	if err := s.live(); err != nil {
		return 0, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return 0, err
	}
	return s.storedBytes(ctx, s.db, p.TenantID)
}

func (s *Store) mediaGet(ctx context.Context, qr queryer, id, tenant string, lock bool) (*catalog.Media, error) {
	query := `SELECT ` + mediaCols + ` FROM cat_media WHERE id = ?`
	if lock {
		query += s.d.ForUpdate
	}
	m, err := scanMedia(qr.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && tenant != "" && m.TenantID != tenant {
		return nil, catalog.NotFound("media", id)
	}
	if err != nil {
		return nil, dbErr(err, "read media")
	}
	return m, nil
}

func (s *Store) MediaGet(ctx context.Context, p *catalog.MediaGetParams) (*catalog.Media, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateID("id", p.ID); err != nil {
		return nil, err
	}
	if p.TenantID != "" {
		if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
			return nil, err
		}
	}
	return s.mediaGet(ctx, s.db, p.ID, p.TenantID, false)
}

func (s *Store) MediaUpdate(ctx context.Context, p *catalog.MediaUpdateParams) (*catalog.Media, error) {
	insights, err := catalog.ValidateMediaUpdate(p)
	if err != nil {
		return nil, err
	}
	var out *catalog.Media
	err = s.tx(ctx, func(tx *sql.Tx) error {
		m, err := s.mediaGet(ctx, tx, p.ID, p.TenantID, true)
		if err != nil {
			return err
		}
		if p.Version != 0 && p.Version != m.Version {
			return catalog.VersionConflict(m.ID, p.Version, m.Version)
		}
		if p.Reprocess && m.Status != types.StatusSucceeded && m.Status != types.StatusFailed && m.Status != types.StatusRejected {
			return errcode.New(errcode.FailedPrecond, "catalog: media %q is %s: only SUCCEEDED, FAILED or REJECTED media can be reprocessed", m.ID, m.Status)
		}
		if p.Status != "" {
			if err := catalog.CheckTransition(m.ID, m.Status, p.Status, p.Reprocess); err != nil {
				return err
			}
			if (m.Status == types.StatusFailed || m.Status == types.StatusSkipped || m.Status == types.StatusRejected) && p.Status != m.Status {
				m.Error, m.Cause = "", ""
			}
			m.Status = p.Status
		}
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&m.BucketKey, p.BucketKey)
		set(&m.Filename, p.Filename)
		set(&m.ContentType, p.ContentType)
		set(&m.SHA256, p.SHA256)
		set(&m.ExecutionID, p.ExecutionID)
		set(&m.TranscriptKey, p.TranscriptKey)
		set(&m.CaptionsKey, p.CaptionsKey)
		set(&m.Error, p.Error)
		set(&m.Cause, p.Cause)
		if p.Kind != "" {
			m.Kind = p.Kind
		}
		if p.Size != 0 {
			m.Size = p.Size
		}
		if p.Duration != 0 {
			m.Duration = p.Duration
		}
		oldSummary := m.Summary
		if p.Insights != nil {
			m.Insights = p.Insights
			if p.Summary == "" {
				m.Summary = p.Insights.Summary
			}
		}
		set(&m.Summary, p.Summary)
		var insightsArg any
		if m.Insights != nil {
			if insights == nil {
				insights, _ = json.Marshal(m.Insights)
			}
			insightsArg = string(insights)
		}
		prev := m.Version
		m.Version++
		m.UpdatedAt = s.clock()
		res, err := tx.ExecContext(ctx, s.q(`UPDATE cat_media SET bucket_key = ?, filename = ?, content_type = ?, size = ?,
			sha256 = ?, kind = ?, status = ?, version = ?, updated_at = ?, duration = ?, execution_id = ?, summary = ?,
			insights = ?, transcript_key = ?, captions_key = ?, error = ?, cause = ? WHERE id = ? AND version = ?`),
			m.BucketKey, m.Filename, m.ContentType, m.Size, m.SHA256, string(m.Kind), string(m.Status), m.Version,
			s.t(m.UpdatedAt), m.Duration, m.ExecutionID, m.Summary, insightsArg, m.TranscriptKey, m.CaptionsKey,
			m.Error, m.Cause, m.ID, prev)
		if err != nil {
			return dbErr(err, "update media")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return catalog.VersionConflict(m.ID, prev, prev+1)
		}
		if m.Summary != oldSummary {
			if err := s.replaceChunks(ctx, tx, m, catalog.SourceSummary, summaryChunks(m.Summary)); err != nil {
				return err
			}
		}
		if p.Transcript != nil {
			if err := s.replaceChunks(ctx, tx, m, catalog.SourceTranscript, catalog.ChunkTranscript(p.Transcript, catalog.ChunkOptions{})); err != nil {
				return err
			}
			if err := s.replaceChunks(ctx, tx, m, catalog.SourceSpeaker, catalog.SpeakerChunks(p.Transcript)); err != nil {
				return err
			}
		}
		if err := s.outboxInsert(ctx, tx, "events", p.Events); err != nil {
			return err
		}
		out = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func summaryChunks(summary string) []catalog.Chunk {
	if strings.TrimSpace(summary) == "" {
		return nil
	}
	return []catalog.Chunk{{Text: summary}}
}

func (s *Store) replaceChunks(ctx context.Context, tx *sql.Tx, m *catalog.Media, source string, chunks []catalog.Chunk) error {
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_chunks WHERE media_id = ? AND source = ?`), m.ID, source); err != nil {
		return dbErr(err, "delete search chunks")
	}
	if len(chunks) == 0 {
		return nil
	}
	return dbErr(s.d.InsertChunks(ctx, tx, m.TenantID, m.ID, source, chunks), "insert search chunks")
}

func (s *Store) MediaDelete(ctx context.Context, p *catalog.MediaDeleteParams) (*catalog.MediaDeleteResult, error) {
	if err := catalog.ValidateID("id", p.ID); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	res := &catalog.MediaDeleteResult{}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.mediaGet(ctx, tx, p.ID, p.TenantID, true); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_chunks WHERE media_id = ?`), p.ID)
		if err != nil {
			return dbErr(err, "delete search chunks")
		}
		res.SearchEntries, _ = r.RowsAffected()
		r, err = tx.ExecContext(ctx, s.q(`DELETE FROM cat_entries WHERE media_id = ?`), p.ID)
		if err != nil {
			return dbErr(err, "delete search entries")
		}
		n, _ := r.RowsAffected()
		res.SearchEntries += n
		r, err = tx.ExecContext(ctx, s.q(`DELETE FROM cat_vectors WHERE media_id = ?`), p.ID)
		if err != nil {
			return dbErr(err, "delete search vectors")
		}
		if n, _ := r.RowsAffected(); n > 0 {
			if _, err := s.vectorGen(ctx, tx, p.TenantID, 0, n); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_search_state WHERE media_id = ?`), p.ID); err != nil {
			return dbErr(err, "delete search state")
		}
		if p.Failures {
			r, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_failures WHERE tenant_id = ? AND media_id = ?`), p.TenantID, p.ID)
			if err != nil {
				return dbErr(err, "delete failures")
			}
			res.Failures, _ = r.RowsAffected()
		}
		// The review item and the versions of reviewed results go with
		// the item.
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_reviews WHERE tenant_id = ? AND media_id = ?`), p.TenantID, p.ID); err != nil {
			return dbErr(err, "delete review")
		}
		if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_media_versions WHERE tenant_id = ? AND media_id = ?`), p.TenantID, p.ID); err != nil {
			return dbErr(err, "delete media versions")
		}
		_, err = tx.ExecContext(ctx, s.q(`DELETE FROM cat_media WHERE id = ?`), p.ID)
		return dbErr(err, "delete media")
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

func limitOf(field string, n, def, max int) (int, error) {
	switch {
	case n == 0:
		return def, nil
	case n < 0:
		return 0, catalog.Invalidf("%s: negative (%d)", field, n)
	case n > max:
		return 0, catalog.Invalidf("%s: %d is more than %d", field, n, max)
	}
	return n, nil
}

func timeKey(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// mediaListQuery builds the MediaList query (fetching limit+1 rows).
func (s *Store) mediaListQuery(p *catalog.MediaListParams) (string, []any, int, error) {
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return "", nil, 0, err
	}
	if err := catalog.ValidateStatus("status", p.Status); err != nil {
		return "", nil, 0, err
	}
	if err := catalog.ValidateKind("kind", p.Kind); err != nil {
		return "", nil, 0, err
	}
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Until.After(p.Since) {
		return "", nil, 0, catalog.Invalidf("until: %s is not after since %s", p.Until.Format(time.RFC3339), p.Since.Format(time.RFC3339))
	}
	limit, err := limitOf("limit", p.Limit, 50, 1000)
	if err != nil {
		return "", nil, 0, err
	}
	filter := catalog.FilterHash("media", p.TenantID, string(p.Status), string(p.Kind), timeKey(p.Since), timeKey(p.Until))
	cur, err := catalog.CursorFor(p.Cursor, filter)
	if err != nil {
		return "", nil, 0, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{p.TenantID}
	if p.Status != "" {
		where = append(where, "status = ?")
		args = append(args, string(p.Status))
	}
	if p.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, string(p.Kind))
	}
	if !p.Since.IsZero() {
		where = append(where, "created_at >= ?")
		args = append(args, s.t(p.Since))
	}
	if !p.Until.IsZero() {
		where = append(where, "created_at < ?")
		args = append(args, s.t(p.Until))
	}
	if cur != nil {
		// The plain bound lets the index seek; the OR finishes the keyset.
		where = append(where, "created_at <= ?", "(created_at < ? OR id < ?)")
		args = append(args, s.t(cur.Time), s.t(cur.Time), cur.Key)
	}
	query := `SELECT ` + mediaCols + ` FROM cat_media WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY created_at DESC, id DESC LIMIT ` + strconv.Itoa(limit+1)
	return s.q(query), args, limit, nil
}

func (s *Store) MediaList(ctx context.Context, p *catalog.MediaListParams) (*catalog.MediaPage, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	query, args, limit, err := s.mediaListQuery(p)
	if err != nil {
		return nil, err
	}
	if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, dbErr(err, "list media")
	}
	defer rows.Close()
	page := &catalog.MediaPage{Media: []*catalog.Media{}}
	for rows.Next() {
		m, err := scanMedia(rows)
		if err != nil {
			return nil, dbErr(err, "list media")
		}
		page.Media = append(page.Media, m)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, "list media")
	}
	if len(page.Media) > limit {
		page.Media = page.Media[:limit]
		last := page.Media[limit-1]
		filter := catalog.FilterHash("media", p.TenantID, string(p.Status), string(p.Kind), timeKey(p.Since), timeKey(p.Until))
		page.Next = catalog.EncodeCursor(catalog.Cursor{Filter: filter, Time: last.CreatedAt, Key: last.ID})
	}
	return page, nil
}

func (s *Store) MediaListPlan(ctx context.Context, p *catalog.MediaListParams) (string, error) {
	if err := s.live(); err != nil {
		return "", err
	}
	query, args, _, err := s.mediaListQuery(p)
	if err != nil {
		return "", err
	}
	plan, err := s.d.Plan(ctx, s.db, query, args)
	return plan, dbErr(err, "explain media list")
}

// ---- failures ----

const failureCols = `id, media_id, tenant_id, bucket_key, execution_id, state_name, error_name, cause, failed_at, redriven_at, redrive_execution_id, retryable`

func scanFailure(sc interface{ Scan(...any) error }) (*catalog.Failure, error) {
	f := &catalog.Failure{}
	err := sc.Scan(&f.ID, &f.MediaID, &f.TenantID, &f.BucketKey, &f.ExecutionID, &f.StateName, &f.ErrorName, &f.Cause,
		timeScan{&f.FailedAt}, optTimeScan{&f.RedrivenAt}, &f.RedriveExecutionID, &f.Retryable)
	return f, err
}

func (s *Store) FailureRecord(ctx context.Context, p *catalog.FailureRecordParams) (*catalog.Failure, error) {
	f := &catalog.Failure{MediaID: p.MediaID, TenantID: p.TenantID, BucketKey: p.BucketKey, ExecutionID: p.ExecutionID,
		StateName: p.StateName, ErrorName: p.ErrorName, Cause: p.Cause, FailedAt: micro(p.FailedAt)}
	f.Retryable, _ = catalog.Retryable(f.ErrorName)
	if f.FailedAt.IsZero() {
		f.FailedAt = s.clock()
	}
	if err := catalog.ValidateTenantID("tenant_id", f.TenantID); err != nil {
		return nil, err
	}
	if f.MediaID != "" {
		if err := catalog.ValidateID("media_id", f.MediaID); err != nil {
			return nil, err
		}
	} else if p.UpdateMedia {
		return nil, catalog.Invalidf("media_id: required with update_media")
	}
	if f.ErrorName == "" {
		return nil, catalog.Invalidf("error_name: required")
	}
	for _, c := range []struct {
		name, v string
		max     int
	}{{"bucket_key", f.BucketKey, 1024}, {"execution_id", f.ExecutionID, 2048}, {"state_name", f.StateName, 256},
		{"error_name", f.ErrorName, 256}, {"cause", f.Cause, 32768}} {
		if err := checkText(c.name, c.v, c.max); err != nil {
			return nil, err
		}
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.tenantExists(ctx, tx, "tenant_id", f.TenantID); err != nil {
			return err
		}
		if p.UpdateMedia {
			m, err := s.mediaGet(ctx, tx, f.MediaID, f.TenantID, true)
			if err != nil {
				return err
			}
			if err := catalog.CheckTransition(m.ID, m.Status, types.StatusFailed, false); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_media SET status = ?, error = ?, cause = ?, version = version + 1,
				updated_at = ? WHERE id = ?`), string(types.StatusFailed), f.ErrorName, truncate(f.Cause, 32768), s.t(s.clock()), m.ID); err != nil {
				return dbErr(err, "mark media failed")
			}
		}
		if f.MediaID != "" && f.ExecutionID != "" {
			prev, err := scanFailure(tx.QueryRowContext(ctx, s.q(`SELECT `+failureCols+` FROM cat_failures
				WHERE tenant_id = ? AND media_id = ? AND execution_id = ?`), f.TenantID, f.MediaID, f.ExecutionID))
			if err == nil {
				f = prev
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return dbErr(err, "find failure")
			}
		}
		return dbErr(tx.QueryRowContext(ctx, s.q(`INSERT INTO cat_failures (media_id, tenant_id, bucket_key, execution_id,
			state_name, error_name, cause, failed_at, retryable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			f.MediaID, f.TenantID, f.BucketKey, f.ExecutionID, f.StateName, f.ErrorName, f.Cause, s.t(f.FailedAt), f.Retryable).Scan(&f.ID),
			"insert failure")
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

func (s *Store) failureGet(ctx context.Context, qr queryer, id int64, tenant string, lock bool) (*catalog.Failure, error) {
	query := `SELECT ` + failureCols + ` FROM cat_failures WHERE id = ?`
	if lock {
		query += s.d.ForUpdate
	}
	f, err := scanFailure(qr.QueryRowContext(ctx, s.q(query), id))
	if errors.Is(err, sql.ErrNoRows) || err == nil && tenant != "" && f.TenantID != tenant {
		return nil, catalog.NotFound("failure", strconv.FormatInt(id, 10))
	}
	return f, dbErr(err, "read failure")
}

func (s *Store) FailureGet(ctx context.Context, p *catalog.FailureGetParams) (*catalog.Failure, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if p.ID <= 0 {
		return nil, catalog.Invalidf("id: must be positive")
	}
	return s.failureGet(ctx, s.db, p.ID, p.TenantID, false)
}

func (s *Store) FailureList(ctx context.Context, p *catalog.FailureListParams) (*catalog.FailurePage, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if p.MediaID != "" {
		if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
			return nil, err
		}
	}
	limit, err := limitOf("limit", p.Limit, 50, 1000)
	if err != nil {
		return nil, err
	}
	filter := catalog.FilterHash("failures", p.TenantID, p.MediaID, timeKey(p.Since), timeKey(p.Until), strconv.FormatBool(p.NotRedriven))
	cur, err := catalog.CursorFor(p.Cursor, filter)
	if err != nil {
		return nil, err
	}
	var curID int64
	if cur != nil {
		if curID, err = strconv.ParseInt(cur.Key, 10, 64); err != nil {
			return nil, catalog.Invalidf("cursor: not a cursor returned by a failure listing")
		}
	}
	if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{p.TenantID}
	if p.MediaID != "" {
		where = append(where, "media_id = ?")
		args = append(args, p.MediaID)
	}
	if !p.Since.IsZero() {
		where = append(where, "failed_at >= ?")
		args = append(args, s.t(p.Since))
	}
	if !p.Until.IsZero() {
		where = append(where, "failed_at < ?")
		args = append(args, s.t(p.Until))
	}
	if p.NotRedriven {
		where = append(where, "redriven_at IS NULL")
	}
	if cur != nil {
		where = append(where, "failed_at <= ?", "(failed_at < ? OR id < ?)")
		args = append(args, s.t(cur.Time), s.t(cur.Time), curID)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+failureCols+` FROM cat_failures WHERE `+strings.Join(where, " AND ")+
		` ORDER BY failed_at DESC, id DESC LIMIT `+strconv.Itoa(limit+1)), args...)
	if err != nil {
		return nil, dbErr(err, "list failures")
	}
	defer rows.Close()
	page := &catalog.FailurePage{Failures: []*catalog.Failure{}}
	for rows.Next() {
		f, err := scanFailure(rows)
		if err != nil {
			return nil, dbErr(err, "list failures")
		}
		page.Failures = append(page.Failures, f)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, "list failures")
	}
	if len(page.Failures) > limit {
		page.Failures = page.Failures[:limit]
		last := page.Failures[limit-1]
		page.Next = catalog.EncodeCursor(catalog.Cursor{Filter: filter, Time: last.FailedAt, Key: strconv.FormatInt(last.ID, 10)})
	}
	return page, nil
}

func (s *Store) FailureMarkRedriven(ctx context.Context, p *catalog.FailureMarkRedrivenParams) (*catalog.Failure, error) {
	if p.ID <= 0 {
		return nil, catalog.Invalidf("id: must be positive")
	}
	if err := checkText("execution_id", p.ExecutionID, 2048); err != nil {
		return nil, err
	}
	at := micro(p.At)
	if at.IsZero() {
		at = s.clock()
	}
	var out *catalog.Failure
	err := s.tx(ctx, func(tx *sql.Tx) error {
		f, err := s.failureGet(ctx, tx, p.ID, p.TenantID, true)
		if err != nil {
			return err
		}
		if f.RedrivenAt != nil {
			return errcode.New(errcode.FailedPrecond, "catalog: failure %d was already redriven at %s", f.ID, f.RedrivenAt.Format(time.RFC3339))
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE cat_failures SET redriven_at = ?, redrive_execution_id = ? WHERE id = ?`),
			s.t(at), p.ExecutionID, f.ID); err != nil {
			return dbErr(err, "mark failure redriven")
		}
		f.RedrivenAt, f.RedriveExecutionID = &at, p.ExecutionID
		out = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ---- search ----

func (s *Store) SearchQuery(ctx context.Context, p *catalog.SearchQueryParams) ([]*catalog.SearchHit, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	switch p.Source {
	case "", catalog.SourceSummary, catalog.SourceTranscript, catalog.SourceSpeaker:
	default:
		return nil, catalog.Invalidf("source: %q is not %q, %q or %q", p.Source, catalog.SourceSummary, catalog.SourceTranscript, catalog.SourceSpeaker)
	}
	limit, err := limitOf("limit", p.Limit, 20, 200)
	if err != nil {
		return nil, err
	}
	q, err := catalog.ParseQuery(p.Query)
	if err != nil {
		return nil, err
	}
	if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	hits, err := s.d.Search(ctx, s.db, &SearchArgs{TenantID: p.TenantID, Query: q, Source: p.Source, Limit: limit})
	if err != nil {
		return nil, dbErr(err, "search")
	}
	if hits == nil {
		hits = []*catalog.SearchHit{}
	}
	return hits, nil
}

// ---- usage ----

func (s *Store) UsageRecord(ctx context.Context, p *catalog.UsageRecordParams) error {
	if len(p.Entries) == 0 {
		return catalog.Invalidf("entries: empty")
	}
	now := s.clock()
	tenants := map[string]bool{}
	for i, e := range p.Entries {
		field := fmt.Sprintf("entries[%d]", i)
		if err := catalog.ValidateTenantID(field+".tenant_id", e.TenantID); err != nil {
			return err
		}
		tenants[e.TenantID] = true
		if e.MediaID != "" {
			if err := catalog.ValidateID(field+".media_id", e.MediaID); err != nil {
				return err
			}
		}
		if e.Analyser == "" {
			return catalog.Invalidf("%s.analyser: required", field)
		}
		if err := checkText(field+".analyser", e.Analyser, 256); err != nil {
			return err
		}
		if e.CPUSeconds < 0 || e.AudioSeconds < 0 || e.Images < 0 || e.Tokens < 0 || e.CostUSD < 0 {
			return catalog.Invalidf("%s: quantities must not be negative", field)
		}
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for t := range tenants {
			if err := s.tenantExists(ctx, tx, "entries.tenant_id", t); err != nil {
				return err
			}
		}
		for _, e := range p.Entries {
			at := micro(e.RecordedAt)
			if at.IsZero() {
				at = now
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_usage (tenant_id, media_id, analyser, cpu_seconds, audio_seconds,
				images, tokens, cost_usd, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
				e.TenantID, e.MediaID, e.Analyser, e.CPUSeconds, e.AudioSeconds, e.Images, e.Tokens, e.CostUSD, s.t(at)); err != nil {
				return dbErr(err, "insert usage")
			}
		}
		return nil
	})
}

func (s *Store) UsageTotals(ctx context.Context, p *catalog.UsageTotalsParams) (*catalog.UsageReport, error) {
	if err := s.live(); err != nil {
		return nil, err
	}
	if err := catalog.ValidateTenantID("tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	if p.MediaID != "" {
		if err := catalog.ValidateID("media_id", p.MediaID); err != nil {
			return nil, err
		}
	}
	if !p.Since.IsZero() && !p.Until.IsZero() && !p.Until.After(p.Since) {
		return nil, catalog.Invalidf("until: not after since")
	}
	if err := s.tenantExists(ctx, s.db, "tenant_id", p.TenantID); err != nil {
		return nil, err
	}
	where := []string{"tenant_id = ?"}
	args := []any{p.TenantID}
	if p.MediaID != "" {
		where = append(where, "media_id = ?")
		args = append(args, p.MediaID)
	}
	if !p.Since.IsZero() {
		where = append(where, "recorded_at >= ?")
		args = append(args, s.t(p.Since))
	}
	if !p.Until.IsZero() {
		where = append(where, "recorded_at < ?")
		args = append(args, s.t(p.Until))
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT analyser, COUNT(*), COALESCE(SUM(cpu_seconds), 0), COALESCE(SUM(audio_seconds), 0),
		COALESCE(SUM(images), 0), COALESCE(SUM(tokens), 0), COALESCE(SUM(cost_usd), 0) FROM cat_usage WHERE `+
		strings.Join(where, " AND ")+` GROUP BY analyser ORDER BY analyser`), args...)
	if err != nil {
		return nil, dbErr(err, "sum usage")
	}
	defer rows.Close()
	r := &catalog.UsageReport{ByAnalyser: []catalog.UsageSum{}}
	for rows.Next() {
		var u catalog.UsageSum
		if err := rows.Scan(&u.Analyser, &u.Entries, &u.CPUSeconds, &u.AudioSeconds, &u.Images, &u.Tokens, &u.CostUSD); err != nil {
			return nil, dbErr(err, "sum usage")
		}
		r.ByAnalyser = append(r.ByAnalyser, u)
		r.Total.Entries += u.Entries
		r.Total.CPUSeconds += u.CPUSeconds
		r.Total.AudioSeconds += u.AudioSeconds
		r.Total.Images += u.Images
		r.Total.Tokens += u.Tokens
		r.Total.CostUSD += u.CostUSD
	}
	return r, dbErr(rows.Err(), "sum usage")
}

// ---- outbox ----

func (s *Store) outboxInsert(ctx context.Context, tx *sql.Tx, field string, evs []catalog.OutboxEvent) error {
	now := s.clock()
	for i, e := range evs {
		res, err := tx.ExecContext(ctx, s.q(`INSERT INTO cat_outbox (id, payload, created_at, available_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`), e.ID, string(e.Payload), s.t(now), s.t(now))
		if err != nil {
			return dbErr(err, "insert outbox event")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errcode.New(errcode.AlreadyExists, "catalog: %s[%d].id: event %q is already in the outbox", field, i, e.ID)
		}
	}
	return nil
}

func (s *Store) OutboxInsert(ctx context.Context, p *catalog.OutboxInsertParams) error {
	if len(p.Events) == 0 {
		return catalog.Invalidf("events: empty")
	}
	if err := catalog.ValidateOutboxEvents("events", p.Events); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.outboxInsert(ctx, tx, "events", p.Events) })
}

func (s *Store) OutboxClaim(ctx context.Context, p *catalog.OutboxClaimParams) ([]*catalog.OutboxEvent, error) {
	limit, err := limitOf("limit", p.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	lease := p.Lease
	switch {
	case lease == 0:
		lease = time.Minute
	case lease < time.Millisecond:
		return nil, catalog.Invalidf("lease: %s is shorter than 1ms", lease)
	}
	token := catalog.NewMediaID()
	now := s.clock()
	type row struct {
		seq int64
		ev  *catalog.OutboxEvent
	}
	var got []row
	err = s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, s.q(`UPDATE cat_outbox SET available_at = ?, attempts = attempts + 1, claim_token = ?
			WHERE seq IN (SELECT seq FROM cat_outbox WHERE available_at <= ? ORDER BY seq LIMIT ?`+s.d.SkipLocked+`)
			RETURNING seq, id, payload, created_at, attempts, last_error`),
			s.t(now.Add(lease)), token, s.t(now), limit)
		if err != nil {
			return dbErr(err, "claim outbox events")
		}
		defer rows.Close()
		for rows.Next() {
			e := &catalog.OutboxEvent{ClaimToken: token}
			var payload string
			var r row
			if err := rows.Scan(&r.seq, &e.ID, textScan{&payload}, timeScan{&e.CreatedAt}, &e.Attempts, &e.LastError); err != nil {
				return dbErr(err, "claim outbox events")
			}
			e.Payload = json.RawMessage(payload)
			r.ev = e
			got = append(got, r)
		}
		return dbErr(rows.Err(), "claim outbox events")
	})
	if err != nil {
		return nil, err
	}
	// RETURNING has no order; deliver oldest first.
	for i := 1; i < len(got); i++ {
		for j := i; j > 0 && got[j].seq < got[j-1].seq; j-- {
			got[j], got[j-1] = got[j-1], got[j]
		}
	}
	out := make([]*catalog.OutboxEvent, len(got))
	for i, r := range got {
		out[i] = r.ev
	}
	return out, nil
}

func validClaim(token string, ids []string) error {
	if token == "" {
		return catalog.Invalidf("claim_token: required")
	}
	if len(ids) == 0 {
		return catalog.Invalidf("ids: empty")
	}
	for i, id := range ids {
		if err := catalog.ValidateID(fmt.Sprintf("ids[%d]", i), id); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) OutboxAck(ctx context.Context, p *catalog.OutboxAckParams) (int, error) {
	if err := validClaim(p.ClaimToken, p.IDs); err != nil {
		return 0, err
	}
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range p.IDs {
			res, err := tx.ExecContext(ctx, s.q(`DELETE FROM cat_outbox WHERE id = ? AND claim_token = ?`), id, p.ClaimToken)
			if err != nil {
				return dbErr(err, "ack outbox event")
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

func (s *Store) OutboxRelease(ctx context.Context, p *catalog.OutboxReleaseParams) (int, error) {
	if err := validClaim(p.ClaimToken, p.IDs); err != nil {
		return 0, err
	}
	if p.Delay < 0 {
		return 0, catalog.Invalidf("delay: negative")
	}
	at := s.clock().Add(p.Delay)
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range p.IDs {
			res, err := tx.ExecContext(ctx, s.q(`UPDATE cat_outbox SET available_at = ?, claim_token = '', last_error = ?
				WHERE id = ? AND claim_token = ?`), s.t(at), truncate(p.Error, 4096), id, p.ClaimToken)
			if err != nil {
				return dbErr(err, "release outbox event")
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}

func (s *Store) DeliveryMark(ctx context.Context, p *catalog.DeliveryMarkParams) (bool, error) {
	if err := catalog.ValidateID("consumer", p.Consumer); err != nil {
		return false, err
	}
	if err := catalog.ValidateID("event_id", p.EventID); err != nil {
		return false, err
	}
	if err := s.live(); err != nil {
		return false, err
	}
	res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO cat_deliveries (consumer, event_id, delivered_at) VALUES (?, ?, ?)
		ON CONFLICT (consumer, event_id) DO NOTHING`), p.Consumer, p.EventID, s.t(s.clock()))
	if err != nil {
		return false, dbErr(err, "mark delivery")
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

func (s *Store) DeliveryPrune(ctx context.Context, p *catalog.DeliveryPruneParams) (int, error) {
	if p.Before.IsZero() {
		return 0, catalog.Invalidf("before: required")
	}
	if err := s.live(); err != nil {
		return 0, err
	}
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM cat_deliveries WHERE delivered_at < ?`), s.t(p.Before))
	if err != nil {
		return 0, dbErr(err, "prune deliveries")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

var _ catalog.Store = (*Store)(nil)
