package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
	_ "github.com/landfall/landfall/catalog/postgres"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
)

// open gives each test its own schema, dropped when the test ends.
func open(t *testing.T, opts ...catalog.Option) catalog.Store {
	t.Helper()
	st, err := catalog.Open(context.Background(), testutil.PostgresSchemaURL(t, "cat_test"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testutil.PostgresURL(t)
	catalogtest.Run(t, open)
}

// TestConcurrentOpen opens one new schema from several goroutines at once:
// the advisory lock lets exactly one apply the migrations.
func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	base := testutil.PostgresURL(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cat_test_" + hex.EncodeToString(b[:])
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	const n = 4
	errs := make(chan error, n)
	stores := make(chan catalog.Store, n)
	for range n {
		go func() {
			st, err := catalog.Open(ctx, u.String())
			errs <- err
			stores <- st
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		st := <-stores
		defer st.Close()
	}
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	files, err := fs.Glob(os.DirFS("migrations"), "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v %v", files, err)
	}
	var migrations int
	if err := conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+schema+".cat_migrations").Scan(&migrations); err != nil || migrations != len(files) {
		t.Fatalf("%d migrations recorded for %d files, %v", migrations, len(files), err)
	}
}

func TestBadSchema(t *testing.T) {
	t.Parallel()
	base := testutil.PostgresURL(t)
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("schema", "Robert'); DROP")
	u.RawQuery = q.Encode()
	_, err := catalog.Open(context.Background(), u.String())
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("Open: %v", err)
	}
}

// A tenant disabled or a key revoked through one process's store stops
// working at once for every other process: lookups read the database.
func TestRevocationReachesEveryProcess(t *testing.T) {
	t.Parallel()
	base := testutil.PostgresURL(t)
	ctx := context.Background()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cat_test_" + hex.EncodeToString(b[:])
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	var stores [2]catalog.Store
	for i := range stores {
		st, err := catalog.Open(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		stores[i] = st
	}
	admin, other := stores[0], stores[1]
	if _, err := admin.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	k, err := admin.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: k.Key}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: k.Key}); errcode.Of(err) != errcode.PermissionDenied {
		t.Fatalf("after disabling the tenant elsewhere: %v", err)
	}
	if _, err := admin.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: k.APIKey.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: k.APIKey.ID}); errcode.Of(err) != errcode.Unauthenticated {
		t.Fatalf("after revoking elsewhere: %v", err)
	}
}
