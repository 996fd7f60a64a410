package workflow

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the advisory lock held while migrating PostgreSQL.
const migrationLockKey = 0x4c4657464c4f57 // "LFWFLOW"

// migrate brings the wf_ tables and River's tables up to date. It is safe
// to run from several processes at once.
func migrate(ctx context.Context, b backend, now func() time.Time) error {
	return b.withLock(ctx, migrationLockKey, func(ctx context.Context) error {
		if err := b.migrateRiver(ctx); err != nil {
			return fmt.Errorf("river migrations: %w", err)
		}
		return migrateOwn(ctx, b, now)
	})
}

func migrateOwn(ctx context.Context, b backend, now func() time.Time) error {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		body, err := migrationFS.ReadFile(name)
		if err != nil {
			return err
		}
		if err := applyMigration(ctx, b, version, string(body), now()); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

func applyMigration(ctx context.Context, b backend, version int, body string, now time.Time) error {
	tx, err := b.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx) //nolint:errcheck // after commit this is a no-op
	if _, err := tx.exec(ctx, `CREATE TABLE IF NOT EXISTS wf_migrations (version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)`); err != nil {
		return err
	}
	st := newStore(b.dialect())
	applied, err := st.MigrationApplied(ctx, tx, &migrationParams{Version: version})
	if err != nil {
		return err
	}
	if applied {
		return nil
	}
	for _, stmt := range splitSQL(body) {
		if _, err := tx.exec(ctx, stmt); err != nil {
			return fmt.Errorf("%w\nin: %s", err, stmt)
		}
	}
	if err := st.MigrationRecord(ctx, tx, &migrationParams{Version: version, AppliedUS: now.UnixMicro()}); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// splitSQL splits a migration into statements on semicolons at line ends,
// dropping comment lines.
func splitSQL(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			out = append(out, strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"))
			cur.Reset()
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		out = append(out, s)
	}
	return out
}
