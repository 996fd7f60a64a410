package workflow

import "testing"

func TestSQLiteSQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = $1 AND y = $2`, `SELECT a FROM t WHERE x = ? AND y = ?`},
		{`UPDATE t SET a = $2 WHERE id = $1`, `UPDATE t SET a = ?2 WHERE id = ?1`},
		{`SELECT $1, $1`, `SELECT ?1, ?1`},
		{`SELECT a FROM t WHERE id = $1 FOR UPDATE`, `SELECT a FROM t WHERE id = ?`},
		{`SELECT a FROM t LIMIT 1 FOR UPDATE SKIP LOCKED`, `SELECT a FROM t LIMIT 1`},
		{`SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11`, `SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?`},
	} {
		if got := sqliteSQL(tc.in); got != tc.want {
			t.Errorf("sqliteSQL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
