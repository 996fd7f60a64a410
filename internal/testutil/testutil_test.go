package testutil

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestConformanceDirRequired runs a probe test in a child process with the
// suite's folder pointing nowhere: it skips by default and fails when
// LANDFALL_REQUIRE_CONFORMANCE=1.
func TestConformanceDirRequired(t *testing.T) {
	if os.Getenv("LANDFALL_TESTUTIL_PROBE") == "1" {
		ConformanceDir(t, "asl")
		return
	}
	t.Parallel()
	missing := t.TempDir() + "/absent"
	run := func(require string) (string, error) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceDirRequired$", "-test.v")
		cmd.Env = append(os.Environ(), "LANDFALL_TESTUTIL_PROBE=1", "LANDFALL_CONFORMANCE_DIR="+missing, RequireConformanceEnv+"="+require)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("")
	if err != nil || !strings.Contains(out, "--- SKIP") {
		t.Fatalf("without %s: %v\n%s", RequireConformanceEnv, err, out)
	}
	out, err = run("1")
	if err == nil || !strings.Contains(out, "--- FAIL") || !strings.Contains(out, RequireConformanceEnv+"=1 requires it") {
		t.Fatalf("with %s=1: want a failure naming the variable, got %v\n%s", RequireConformanceEnv, err, out)
	}
}
