package workflow

import (
	"reflect"
	"strings"
	"testing"
)

// TestStoreSQLIsPerDriver: the store's SQLite statements are SQLite's
// own (nothing for sqliteSQL to rewrite) and its PostgreSQL ones use
// numbered placeholders only; both drivers have every statement.
func TestStoreSQLIsPerDriver(t *testing.T) {
	t.Parallel()
	pg, lite := reflect.ValueOf(postgresStoreSQL), reflect.ValueOf(sqliteStoreSQL)
	for i := 0; i < pg.NumField(); i++ {
		name := pg.Type().Field(i).Name
		p, l := pg.Field(i).String(), lite.Field(i).String()
		if p == "" || l == "" {
			t.Errorf("%s: a driver has no statement", name)
			continue
		}
		if got := sqliteSQL(l); got != l {
			t.Errorf("%s: the SQLite statement is rewritten: %q → %q", name, l, got)
		}
		if strings.Contains(l, "$") {
			t.Errorf("%s: the SQLite statement has a PostgreSQL placeholder: %q", name, l)
		}
		if strings.Contains(p, "?") {
			t.Errorf("%s: the PostgreSQL statement has a SQLite placeholder: %q", name, p)
		}
	}
}
