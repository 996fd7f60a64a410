package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
	_ "github.com/landfall/landfall/catalog/postgres"
	"github.com/landfall/landfall/internal/testutil"
)

// open gives each test its own schema, dropped when the test ends.
func open(t *testing.T, opts ...catalog.Option) catalog.Store {
	t.Helper()
	base := testutil.PostgresURL(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "cat_test_" + hex.EncodeToString(b[:])
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	ctx := context.Background()
	st, err := catalog.Open(ctx, u.String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Close()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return st
}

func TestConformance(t *testing.T) {
	t.Parallel()
	testutil.PostgresURL(t)
	catalogtest.Run(t, open)
}
