package sqlstore

import (
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/errcode"
)

type migration struct {
	version int
	name    string
	sql     string
}

// readMigrations reads NNN_name.sql files from fsys in version order.
func readMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, errcode.Wrap(errcode.Unknown, err, "catalog: list migrations")
	}
	var out []migration
	seen := map[int]string{}
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, errcode.New(errcode.Unknown, "catalog: migration file %s is not named NNN_name.sql", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, errcode.New(errcode.Unknown, "catalog: migrations %s and %s share version %d", prev, n, v)
		}
		seen[v] = n
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, errcode.Wrap(errcode.Unknown, err, "catalog: read migration %s", n)
		}
		out = append(out, migration{version: v, name: n, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}
