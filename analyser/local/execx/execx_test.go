package execx

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
)

func TestRunCapturesStdout(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), Cmd{Name: "echo", Args: []string{"hello", "a b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "hello a b\n" {
		t.Fatalf("stdout = %q", got)
	}
}

func TestRunArgumentsAreNotShellExpanded(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), Cmd{Name: "echo", Args: []string{"$HOME;", "*", "`id`"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Stdout); got != "$HOME; * `id`\n" {
		t.Fatalf("stdout = %q", got)
	}
}

func TestRunStdinAndWriter(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := Run(context.Background(), Cmd{Name: "cat", Stdin: strings.NewReader("streamed"), Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	if out.String() != "streamed" {
		t.Fatalf("got %q", out.String())
	}
}

func TestMissingToolNamesPackage(t *testing.T) {
	t.Parallel()
	packages["landfall-no-such-tool"] = "landfall-pkg"
	_, err := Run(context.Background(), Cmd{Name: "landfall-no-such-tool"})
	if !errors.Is(err, errcode.ToolMissing) {
		t.Fatalf("err = %v, want Tool.Missing", err)
	}
	for _, want := range []string{"landfall-no-such-tool", "landfall-pkg"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if _, err := LookPath("landfall-other-missing"); !errors.Is(err, errcode.ToolMissing) {
		t.Fatalf("LookPath err = %v", err)
	}
}

func TestFailureKeepsStderrTail(t *testing.T) {
	t.Parallel()
	// 20 000 bytes of stderr, then a final reason line; only the tail is kept.
	script := `i=0; while [ $i -lt 2000 ]; do printf 'noise-line\n' >&2; i=$((i+1)); done; echo "the real reason" >&2; exit 3`
	res, err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", script}, MaxStderr: 1024})
	if !errors.Is(err, errcode.ToolFailed) {
		t.Fatalf("err = %v, want Tool.Failed", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "the real reason") {
		t.Fatalf("error lacks status or reason: %q", msg)
	}
	if len(res.Stderr) > 1024+len("…") {
		t.Fatalf("stderr kept %d bytes, limit 1024", len(res.Stderr))
	}
}

func TestStdoutCeiling(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), Cmd{Name: "head", Args: []string{"-c", "5000", "/dev/zero"}, MaxStdout: 1000})
	if !errors.Is(err, errcode.TooLarge) {
		t.Fatalf("err = %v, want TooLarge", err)
	}
}

func TestCancelKillsProcessGroup(t *testing.T) {
	t.Parallel()
	// The shell starts a grandchild that would outlive a plain kill of the
	// shell and keep stdout open; the process-group kill ends both.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Run(ctx, Cmd{Name: "sh", Args: []string{"-c", "sleep 60 & sleep 60; wait"}})
	if !errors.Is(err, errcode.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("Run returned after %v: the process group was not killed", el)
	}
}

func TestAlreadyCancelled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Cmd{Name: "true"}); !errors.Is(err, errcode.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func TestCPUSeconds(t *testing.T) {
	t.Parallel()
	res, err := Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", `i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done`}})
	if err != nil {
		t.Fatal(err)
	}
	if res.CPUSeconds <= 0 {
		t.Fatalf("CPUSeconds = %v, want > 0", res.CPUSeconds)
	}
	if res.Wall <= 0 {
		t.Fatalf("Wall = %v", res.Wall)
	}
}

func TestCmdString(t *testing.T) {
	t.Parallel()
	c := Cmd{Name: "ffmpeg", Args: []string{"-i", "a file.mp4", "-y"}}
	if got, want := c.String(), `ffmpeg -i "a file.mp4" -y`; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestKnownPackages(t *testing.T) {
	t.Parallel()
	for cmd, pkg := range map[string]string{"ffprobe": "ffmpeg", "tesseract": "tesseract-ocr", "convert": "imagemagick", "flite": "flite"} {
		if got := Package(cmd); got != pkg {
			t.Errorf("Package(%q) = %q, want %q", cmd, got, pkg)
		}
	}
	if err := Missing("tesseract"); !strings.Contains(err.Error(), "apt-get install tesseract-ocr") {
		t.Errorf("Missing: %v", err)
	}
}
