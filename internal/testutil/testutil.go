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

// RequireConformanceEnv names the environment variable that, set to 1,
// makes a missing conformance suite fail the tests that read it instead
// of skipping them. CI sets it, so that a run cannot pass with no
// conformance case executed.
const RequireConformanceEnv = "LANDFALL_REQUIRE_CONFORMANCE"

// ConformanceDir returns the shared conformance suite folder sub
// ("asl", "eventbridge") from ../shared/conformance next to the module
// root, or from $LANDFALL_CONFORMANCE_DIR when set. When the folder is
// missing the test is skipped, or fails when $LANDFALL_REQUIRE_CONFORMANCE
// is 1.
func ConformanceDir(t testing.TB, sub string) string {
	t.Helper()
	base := os.Getenv("LANDFALL_CONFORMANCE_DIR")
	if base == "" {
		base = filepath.Join(RepoRoot(t), "..", "shared", "conformance")
	}
	dir := filepath.Join(base, sub)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if os.Getenv(RequireConformanceEnv) == "1" {
			t.Fatalf("conformance suite %s not found at %s, and %s=1 requires it (set LANDFALL_CONFORMANCE_DIR to the folder holding asl/ and eventbridge/)", sub, dir, RequireConformanceEnv)
		}
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
