package cli

import (
	"os"
	"strings"
	"testing"
)

// serveArgsEnv makes the test binary run the landfall command whose
// arguments it holds (separated by \x1f) instead of the tests: the crash
// tests kill such processes with SIGKILL.
const serveArgsEnv = "LANDFALL_TEST_CLI_ARGS"

func TestMain(m *testing.M) {
	if args := os.Getenv(serveArgsEnv); args != "" {
		os.Exit(Run(strings.Split(args, "\x1f")))
	}
	os.Exit(m.Run())
}
