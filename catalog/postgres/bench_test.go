package postgres_test

import (
	"context"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
)

var benchSchemas []string

func TestMain(m *testing.M) {
	code := m.Run()
	if base := os.Getenv("LANDFALL_TEST_POSTGRES_URL"); base != "" && len(benchSchemas) > 0 && os.Getenv("LANDFALL_BENCH_KEEP") == "" {
		ctx := context.Background()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			for _, s := range benchSchemas {
				conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+s+" CASCADE")
			}
			conn.Close(ctx)
		}
	}
	os.Exit(code)
}

// benchOpen opens a fixture schema cat_bench_<name>, dropped at exit unless
// LANDFALL_BENCH_KEEP is set, in which case a complete one is reused.
func benchOpen(b *testing.B, name string) (catalog.Store, bool, func()) {
	b.Helper()
	base := os.Getenv("LANDFALL_TEST_POSTGRES_URL")
	if base == "" {
		b.Skip("LANDFALL_TEST_POSTGRES_URL is not set")
	}
	ctx := context.Background()
	schema := "cat_bench_" + name
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	var reused bool
	keep := os.Getenv("LANDFALL_BENCH_KEEP") != ""
	if keep {
		_ = conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'bench_done')`, schema).Scan(&reused)
	}
	if !reused {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			b.Fatal(err)
		}
	}
	benchSchemas = append(benchSchemas, schema)
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("schema", schema)
	u.RawQuery = q.Encode()
	st, err := catalog.Open(ctx, u.String())
	if err != nil {
		b.Fatal(err)
	}
	done := func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "CREATE TABLE "+schema+".bench_done (); ANALYZE "+schema+".cat_media; ANALYZE "+schema+".cat_chunks")
	}
	return st, reused, done
}

func BenchmarkCatalog(b *testing.B) { catalogtest.Benchmark(b, benchOpen) }
