package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
)

var benchDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// benchOpen opens a fixture database in a temporary folder removed at
// exit, or with LANDFALL_BENCH_KEEP=dir in dir, kept and reused by later
// runs.
func benchOpen(b *testing.B, name string) (catalog.Store, bool, func()) {
	b.Helper()
	dir := os.Getenv("LANDFALL_BENCH_KEEP")
	if dir == "" {
		if benchDir == "" {
			d, err := os.MkdirTemp("", "landfall-catalog-bench-")
			if err != nil {
				b.Fatal(err)
			}
			benchDir = d
		}
		dir = benchDir
	}
	path := filepath.Join(dir, name+".db")
	_, err := os.Stat(path + ".done")
	reused := err == nil
	st, err := catalog.Open(context.Background(), "sqlite://"+path)
	if err != nil {
		b.Fatal(err)
	}
	return st, reused, func() { _ = os.WriteFile(path+".done", nil, 0o644) }
}

func BenchmarkCatalog(b *testing.B) { catalogtest.Benchmark(b, benchOpen) }
