// Package testutil holds helpers shared by Landfall's tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the module root (the folder holding go.mod), found by
// walking up from the test's working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// ConformanceDir returns the shared conformance suite folder sub
// ("asl", "eventbridge") from ../shared/conformance next to the module
// root, or from $LANDFALL_CONFORMANCE_DIR when set. The test is skipped
// when the folder is missing (CI always has it).
func ConformanceDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("LANDFALL_CONFORMANCE_DIR")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "conformance")
	}
	dir := filepath.Join(base, sub)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Skipf("conformance suite %s not found at %s", sub, dir)
	}
	return dir
}

// PostgresURL returns $LANDFALL_TEST_POSTGRES_URL or skips the test when it
// is unset. CI always sets it.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("LANDFALL_TEST_POSTGRES_URL")
	if u == "" {
		t.Skip("LANDFALL_TEST_POSTGRES_URL is not set")
	}
	return u
}
