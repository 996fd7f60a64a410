package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// run runs the landfall command line in process and returns its exit code
// and streams.
func run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}
	code = RunEnv(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := run(t, "", "no-such-command")
	if code != ExitInvalid || !strings.Contains(stderr, `unknown command "no-such-command"`) {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, stdout, _ := run(t, "", "help")
	if code != 0 || !strings.Contains(stdout, "version") {
		t.Fatalf("code %d, stdout %q", code, stdout)
	}
}
