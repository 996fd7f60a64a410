package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
	_ "github.com/landfall/landfall/catalog/sqlite"
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
