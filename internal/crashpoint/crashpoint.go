// Package crashpoint lets crash tests stop a process at a named point of
// its work, so that they can kill it there with SIGKILL and check what a
// restart makes of it.
//
// A point is armed only by the environment variable LANDFALL_TEST_HALT_AT
// (a comma-separated list of point names), read once at start. Unarmed
// points cost one map lookup and do nothing; nothing sets the variable
// but a test that starts a child process. An armed point writes
// "crashpoint: halted at NAME" to standard error and blocks the goroutine
// that reached it for good: the test waits for that line, then kills the
// process.
package crashpoint

import (
	"fmt"
	"os"
	"strings"
)

// Env is the environment variable that arms points.
const Env = "LANDFALL_TEST_HALT_AT"

var armed = parse(os.Getenv(Env))

func parse(v string) map[string]bool {
	m := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		if name = strings.TrimSpace(name); name != "" {
			m[name] = true
		}
	}
	return m
}

// Halted is the line an armed point writes before it blocks.
func Halted(name string) string { return "crashpoint: halted at " + name }

// Reach blocks forever when the point name is armed, after saying so on
// standard error; otherwise it returns at once.
func Reach(name string) {
	if !armed[name] {
		return
	}
	fmt.Fprintln(os.Stderr, Halted(name))
	select {}
}
