package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
	"github.com/landfall/landfall/catalog/internal/sqlstore"
	"github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

func open(t *testing.T, opts ...catalog.Option) catalog.Store {
	t.Helper()
	st, err := catalog.Open(context.Background(), "sqlite://"+filepath.Join(t.TempDir(), "catalog.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, open)
}

// TestAPIKeyStoredAsHash reads the table directly: the plaintext key and
// its secret appear nowhere.
func TestAPIKeyStoredAsHash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	st, err := sqlite.Open(ctx, path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	res, err := st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme", Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	secret := res.Key[strings.LastIndexByte(res.Key, '_')+1:]
	var hash, id, tenant, name string
	if err := st.(*sqlstore.Store).DB().QueryRowContext(ctx, `SELECT hash, id, tenant_id, name FROM cat_api_keys`).Scan(&hash, &id, &tenant, &name); err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{hash, id, tenant, name} {
		if strings.Contains(col, secret) || strings.Contains(col, res.Key) {
			t.Fatalf("column %q holds the key", col)
		}
	}
	if want, _ := catalog.HashAPIKey(res.Key); hash != want {
		t.Fatalf("stored hash %s, want %s", hash, want)
	}
}

// TestReopenAndShare opens a file that already holds another component's
// tables and the catalog's own, twice: migrations apply once and leave
// other tables alone.
func TestReopenAndShare(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE wf_executions (id TEXT PRIMARY KEY); INSERT INTO wf_executions VALUES ('x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := range 2 {
		st, err := catalog.Open(ctx, "sqlite://"+path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		if i == 0 {
			if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
				t.Fatal(err)
			}
		}
		s := st.(*sqlstore.Store)
		var n, wf int
		files, _ := filepath.Glob("migrations/*.sql")
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM cat_migrations`).Scan(&n); err != nil || n != len(files) || n == 0 {
			t.Fatalf("open %d: %d migrations recorded for %d files, %v", i, n, len(files), err)
		}
		if err := s.DB().QueryRow(`SELECT COUNT(*) FROM wf_executions`).Scan(&wf); err != nil || wf != 1 {
			t.Fatalf("open %d: wf_executions has %d rows, %v", i, wf, err)
		}
		if _, err := st.TenantGet(ctx, &catalog.TenantGetParams{ID: "acme"}); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		st.Close()
	}
}

func TestOpenURLs(t *testing.T) { // not parallel: it changes directory
	ctx := context.Background()
	for _, c := range []struct{ url, want string }{
		{"sqlite://u@host:5/x.db", "no user or port"},
		{"sqlite://", "no file path"},
		{"sqlite:///tmp/x.db?cache=shared", "takes no parameters"},
	} {
		_, err := catalog.Open(ctx, c.url)
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v", c.url, err)
		}
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"sqlite:rel.db", "sqlite://sub/rel.db", "sqlite://" + filepath.Join(dir, "abs.db")} {
		st, err := catalog.Open(ctx, u)
		if err != nil {
			t.Fatalf("%s: %v", u, err)
		}
		st.Close()
	}
	for _, f := range []string{"rel.db", "sub/rel.db", "abs.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

// Keys made before roles existed keep working as tenant keys once
// migration 010 rebuilds their table.
func TestKeysSurviveTheRoleMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	old := fstest.MapFS{}
	for _, name := range []string{"001_init.sql"} {
		b, err := os.ReadFile(filepath.Join("migrations", name))
		if err != nil {
			t.Fatal(err)
		}
		old[name] = &fstest.MapFile{Data: b}
	}
	st, err := sqlstore.New(ctx, db, sqlite.Dialect(old), catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	key, id := catalog.NewAPIKey()
	hash, _ := catalog.HashAPIKey(key)
	if _, err := db.Exec(`INSERT INTO cat_api_keys (hash, id, tenant_id, name, created_at) VALUES (?, ?, 'acme', 'old', 1)`, hash, id); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cur, err := catalog.Open(ctx, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	k, err := cur.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: key})
	if err != nil || k.Role != identity.RoleTenant || k.TenantID != "acme" || k.Name != "old" || k.Generation != 1 {
		t.Fatalf("old key after the migration: %+v %v", k, err)
	}
	if _, err := cur.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleAdmin}); err != nil {
		t.Fatalf("admin key after the migration: %v", err)
	}
}
