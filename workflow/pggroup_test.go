package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/landfall/landfall/internal/testutil"
)

// groupBackend opens a PostgreSQL backend on a schema of its own with
// one table, rows 0..n-1 at version 0.
func groupBackend(t *testing.T, n int) *pgBackend {
	t.Helper()
	base := testutil.PostgresURL(t)
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "wfg_" + hex.EncodeToString(b)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	ctx := context.Background()
	be, err := openPostgres(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		be.close()
		if c, err := pgx.Connect(ctx, base); err == nil {
			_, _ = c.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	if _, err := be.pool.Exec(ctx, `CREATE TABLE g (id INT PRIMARY KEY, version INT NOT NULL, log TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := be.pool.Exec(ctx, `INSERT INTO g (id, version) SELECT i, 0 FROM generate_series(0, $1 - 1) i`, n); err != nil {
		t.Fatal(err)
	}
	return be
}

// bump is a transition of row id from version from: a compare-and-swap
// of the version and an unconditional write.
func bump(id, from int) ([]stmt, []int) {
	return []stmt{
		{`UPDATE g SET version = $1 WHERE id = $2 AND version = $3`, []any{from + 1, id, from}},
		{`UPDATE g SET log = log || $1 WHERE id = $2`, []any{fmt.Sprintf("%d>%d;", from, from+1), id}},
	}, []int{0}
}

// TestPGGroupCommit: transitions of many goroutines committed by the
// group commit each take effect exactly once; one whose compare-and-swap
// misses gets errCASMissed and changes nothing, while the others of its
// group are committed all the same; a statement failing otherwise fails
// only its own transition.
func TestPGGroupCommit(t *testing.T) {
	const rows, rounds = 24, 30
	be := groupBackend(t, rows)
	ctx := context.Background()
	commit := func(key string, stmts []stmt, cas []int) error {
		tx, _ := be.begin(ctx)
		pt := tx.(*pgTx)
		pt.groupKey = key
		err := pt.commitBatch(ctx, stmts, cas)
		if err != nil {
			_ = tx.rollback(ctx)
			return err
		}
		return tx.commit(ctx)
	}
	var wg sync.WaitGroup
	errs := make(chan error, rows*rounds*2)
	for id := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := range rounds {
				stmts, cas := bump(id, v)
				if err := commit(fmt.Sprint(id), stmts, cas); err != nil {
					errs <- fmt.Errorf("row %d, version %d: %w", id, v, err)
					return
				}
				if id%3 == 0 {
					// A stale transition (its version is gone) in the
					// same groups as the others.
					stale, cas := bump(id, v)
					if err := commit(fmt.Sprint(id), stale, cas); !errors.Is(err, errCASMissed) {
						errs <- fmt.Errorf("row %d: a stale transition from version %d: %v, want errCASMissed", id, v, err)
						return
					}
				}
				if id%5 == 1 && v == rounds/2 {
					bad := []stmt{{`UPDATE g SET version = version + 1 WHERE id = $1`, []any{id}}, {`SELECT 1 FROM no_such_table`, nil}}
					if err := commit(fmt.Sprint(id), bad, nil); err == nil || errors.Is(err, errCASMissed) {
						errs <- fmt.Errorf("row %d: a transition with a failing statement: %v, want the server's error", id, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	r, err := be.pool.Query(ctx, `SELECT id, version, log FROM g ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var id, version int
		var log string
		if err := r.Scan(&id, &version, &log); err != nil {
			t.Fatal(err)
		}
		want := ""
		for v := range rounds {
			want += fmt.Sprintf("%d>%d;", v, v+1)
		}
		if version != rounds || log != want {
			t.Errorf("row %d: version %d, log %q; want version %d, log %q", id, version, log, rounds, want)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
}
