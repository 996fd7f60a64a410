package layers_test

import (
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testutil"
)

const module = "github.com/landfall/landfall"

// tiers is the layer list of /work/shared/DESIGN.md ("Layout (imports point
// down this list only)"), top first. An entry names a package and every
// package under it. A package may import packages of its own entry, of the
// other entries of its tier, and of any tier below its own; never of a
// tier above. Keep this table and DESIGN.md's list the same.
var tiers = [][]string{
	{"cmd"},
	{"internal/cli"},
	{"deploy"},
	{"app"},
	{"apiserver"},
	{"client"},
	{"workflow"},
	{"ingest"},
	// pipeline owns the media model and key layout ingest builds keys with;
	// app hands it the workflow engine's invocations.
	{"pipeline"},
	// config validates analyser options against the analysers' task names.
	{"config"},
	// mediagen makes test media with the analysers' tools.
	{"analyser", "internal/mediagen"},
	{"catalog"},
	{"bus"},
	{"blob"},
	{"asl"},
	{"rule"},
	{"telemetry"},
	// The leaves: they import nothing of Landfall's above this tier.
	{"errcode", "types", "identity", "pipelines", "internal/jsonata", "internal/redact", "internal/crashpoint", "internal/snsmsg", "internal/testutil", "internal/layers"},
}

// exempt lists imports that point up the list and are being removed. The
// test fails when one of them is no longer there, so the list only
// shrinks: delete the line with the import.
var exempt = map[string]bool{}

// entryOf returns the table entry a package belongs to and its tier.
func entryOf(pkg string) (entry string, tier int, ok bool) {
	for i, t := range tiers {
		for _, e := range t {
			if (pkg == e || strings.HasPrefix(pkg, e+"/")) && len(e) > len(entry) {
				entry, tier, ok = e, i, true
			}
		}
	}
	return entry, tier, ok
}

// imports returns, for every package directory of the module (relative
// path), the module packages its Go files import (tests included, under
// every build tag), with the files that import each.
func imports(t *testing.T, root string) map[string]map[string][]string {
	t.Helper()
	out := map[string]map[string][]string{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (name == "testdata" || name == "vendor" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if out[pkg] == nil {
			out[pkg] = map[string][]string{}
		}
		for _, spec := range f.Imports {
			ip, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return fmt.Errorf("%s: import %s: %w", path, spec.Path.Value, err)
			}
			if !strings.HasPrefix(ip, module+"/") {
				continue
			}
			dep := strings.TrimPrefix(ip, module+"/")
			out[pkg][dep] = append(out[pkg][dep], filepath.ToSlash(filepath.Join(rel, name)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestImportsPointDown fails on an import from a package to one in a
// higher tier, and on a package the table does not place.
func TestImportsPointDown(t *testing.T) {
	t.Parallel()
	graph := imports(t, testutil.RepoRoot(t))
	if len(graph) < 20 {
		t.Fatalf("found only %d package folders: is the walk at the module root?", len(graph))
	}
	seen := map[string]bool{}
	var bad []string
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, pkg := range pkgs {
		if pkg == "." {
			t.Errorf("Go files at the module root: every package belongs in a folder of the layer list")
			continue
		}
		from, fromTier, ok := entryOf(pkg)
		if !ok {
			t.Errorf("package %s is not in the layer table: add it to DESIGN.md's layout list and to tiers in this test", pkg)
			continue
		}
		deps := make([]string, 0, len(graph[pkg]))
		for d := range graph[pkg] {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		for _, dep := range deps {
			to, toTier, ok := entryOf(dep)
			if !ok {
				continue // reported as a package of its own
			}
			if toTier >= fromTier {
				continue
			}
			edge := from + " -> " + to
			seen[edge] = true
			if exempt[edge] {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s imports %s (%s), which is higher in the layer list, in %s", pkg, dep, edge, strings.Join(graph[pkg][dep], ", ")))
		}
	}
	for _, b := range bad {
		t.Error(b)
	}
	for edge := range exempt {
		if !seen[edge] {
			t.Errorf("exempted import %q is gone: delete it from exempt so that it cannot come back", edge)
		}
	}
}

// TestEntryOf checks the table's matching: the longest entry wins, and an
// entry matches whole path segments only.
func TestEntryOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pkg, entry string
		ok         bool
	}{
		{"internal/cli", "internal/cli", true},
		{"internal/jsonata/jparse", "internal/jsonata", true},
		{"pipelines", "pipelines", true},
		{"pipeline", "pipeline", true},
		{"pipeline/steps", "pipeline", true},
		{"analyser/local/faces", "analyser", true},
		{"apiserver/sfnapi", "apiserver", true},
		{"internal/unknown", "", false},
		{"blobs", "", false},
	} {
		e, _, ok := entryOf(c.pkg)
		if e != c.entry || ok != c.ok {
			t.Errorf("entryOf(%q) = %q, %v; want %q, %v", c.pkg, e, ok, c.entry, c.ok)
		}
	}
	_, app, _ := entryOf("app")
	_, api, _ := entryOf("apiserver")
	_, ing, _ := entryOf("ingest")
	_, pipe, _ := entryOf("pipeline")
	_, an, _ := entryOf("analyser")
	_, leaf, _ := entryOf("identity")
	if !(app < api && api < ing && ing < pipe && pipe < an && leaf == len(tiers)-1) {
		t.Errorf("tiers out of order: app %d, apiserver %d, ingest %d, pipeline %d, analyser %d, identity %d", app, api, ing, pipe, an, leaf)
	}
}

// pure are the packages DESIGN.md declares pure (no I/O): they, and every
// package under them, never import storage or the network.
var pure = []string{"asl", "rule", "internal/jsonata"}

// ioPackages are the standard packages that reach storage, the network or
// other processes.
var ioPackages = []string{"os", "os/exec", "os/signal", "io/fs", "io/ioutil", "net", "net/http", "net/rpc", "net/smtp", "database/sql", "syscall", "plugin"}

// TestPurePackagesDoNoIO fails when a non-test file of a pure package
// imports one of ioPackages.
func TestPurePackagesDoNoIO(t *testing.T) {
	t.Parallel()
	root := testutil.RepoRoot(t)
	fset := token.NewFileSet()
	files := 0
	for _, p := range pure {
		err := filepath.WalkDir(filepath.Join(root, p), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			files++
			for _, spec := range f.Imports {
				ip, _ := strconv.Unquote(spec.Path.Value)
				for _, bad := range ioPackages {
					if ip == bad {
						rel, _ := filepath.Rel(root, path)
						t.Errorf("%s imports %s: %s is pure (no I/O) in DESIGN.md", filepath.ToSlash(rel), ip, p)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 10 {
		t.Fatalf("read only %d files of the pure packages", files)
	}
}
