package testutil

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// RequireNodeEnv names the environment variable that, set to 1, makes a
// missing Node.js fail the tests that run Node packages (the local
// DynamoDB, the CloudFormation specification) instead of skipping them.
// CI sets it.
const RequireNodeEnv = "LANDFALL_REQUIRE_NODE"

// NodeTools returns the folder holding the project's Node packages
// (tools/node, installed by scripts/setup with npm ci) and the node
// command. Without Node.js on PATH the test is skipped, or fails when
// $LANDFALL_REQUIRE_NODE is 1; with Node.js but without the packages it
// fails, naming the command that installs them.
func NodeTools(t testing.TB) (dir, node string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv(RequireNodeEnv) == "1" {
			t.Fatalf("node is not on PATH, and %s=1 requires it (install Node.js 20, then run scripts/setup)", RequireNodeEnv)
		}
		t.Skip("node is not on PATH: the tests that run Node packages need Node.js 20")
	}
	dir = filepath.Join(RepoRoot(t), "tools", "node")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", ".package-lock.json")); err != nil {
		t.Fatalf("the Node packages are not installed in %s: run scripts/setup (npm ci --ignore-scripts there)", dir)
	}
	return dir, node
}

// Dynalite starts a local DynamoDB (the dynalite package, in memory) on a
// loopback port for the test and returns its endpoint URL. It stops when
// the test ends.
func Dynalite(t testing.TB) string {
	t.Helper()
	dir, node := NodeTools(t)
	cmd := exec.Command(node, filepath.Join(dir, "dynalite-server.js"))
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dynalite: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		port, ok := strings.CutPrefix(strings.TrimSpace(s), "listening ")
		if !ok {
			t.Fatalf("dynalite did not start (printed %q)", s)
		}
		return "http://127.0.0.1:" + port
	case <-time.After(30 * time.Second):
		t.Fatal("dynalite did not start within 30 s")
	}
	return ""
}
