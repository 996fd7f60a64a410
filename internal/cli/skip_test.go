package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcessEndsAtOnceWhenNoRuleMatches: a file the default rule does not
// start the pipeline for ends SKIPPED with the reason and a failing exit,
// without waiting for a run that never comes.
func TestProcessEndsAtOnceWhenNoRuleMatches(t *testing.T) {
	dir := t.TempDir()
	tiny := filepath.Join(dir, "tiny.txt")
	if err := os.WriteFile(tiny, []byte(strings.Repeat("x", 64)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, "", "process", "--data", filepath.Join(dir, "data"), "--timeout", "1m", tiny)
	if code != ExitFailure {
		t.Fatalf("code %d, want %d\nstdout: %s\nstderr: %s", code, ExitFailure, stdout, stderr)
	}
	for _, want := range []string{"tiny.txt: SKIPPED", "Landfall.NoRuleMatched", `size 64 B ≤ 1 KiB (closest rule "media-uploaded")`} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
}
