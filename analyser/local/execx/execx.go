// Package execx runs the external commands that Landfall's local analysers
// depend on (ffmpeg, ffprobe, tesseract, flite, …) from argument lists,
// never through a shell.
//
// Every run is bounded: cancelling the context kills the command's whole
// process group, stderr is kept only up to a limit (its tail, where tools
// print the reason they failed), captured stdout has a ceiling, and the
// CPU seconds the command spent are reported for the usage ledger. A
// command that is not installed fails with errcode.ToolMissing naming the
// command and the Debian package that provides it.
package execx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Default limits.
const (
	DefaultMaxStderr = 8 << 10  // bytes of stderr kept (the tail)
	DefaultMaxStdout = 64 << 20 // bytes of stdout captured when Cmd.Stdout is nil
)

// packages maps a command to the Debian package that provides it.
var packages = map[string]string{
	"ffmpeg":       "ffmpeg",
	"ffprobe":      "ffmpeg",
	"tesseract":    "tesseract-ocr",
	"flite":        "flite",
	"espeak-ng":    "espeak-ng",
	"convert":      "imagemagick",
	"identify":     "imagemagick",
	"sox":          "sox",
	"soxi":         "sox",
	"pocketsphinx": "pocketsphinx",
}

// Package returns the Debian package that provides command name, or "" when
// it is not known.
func Package(name string) string { return packages[name] }

var (
	lookMu sync.Mutex
	looked = map[string]string{}
)

// LookPath returns the absolute path of command name, or an
// errcode.ToolMissing error naming the command and its Debian package.
// Successful look-ups are cached.
func LookPath(name string) (string, error) {
	lookMu.Lock()
	defer lookMu.Unlock()
	if p, ok := looked[name]; ok {
		return p, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", Missing(name)
	}
	looked[name] = p
	return p, nil
}

// Missing returns the errcode.ToolMissing error for command name.
func Missing(name string) error {
	if pkg := Package(name); pkg != "" {
		return errcode.New(errcode.ToolMissing, "%s is not installed: install the Debian package %s (apt-get install %s)", name, pkg, pkg)
	}
	return errcode.New(errcode.ToolMissing, "%s is not installed or not on PATH", name)
}

// Cmd is one command to run.
type Cmd struct {
	Name string   // command, looked up on PATH
	Args []string // arguments, passed as they are (no shell)
	Dir  string   // working directory; empty means the current one
	Env  []string // extra environment entries appended to the process's own

	Stdin  io.Reader // nil means no input
	Stdout io.Writer // nil means capture into Result.Stdout, up to MaxStdout

	MaxStdout int // 0 means DefaultMaxStdout
	MaxStderr int // 0 means DefaultMaxStderr
}

// Result describes a finished command.
type Result struct {
	Stdout     []byte        // captured stdout when Cmd.Stdout was nil
	Stderr     string        // the tail of stderr, at most MaxStderr bytes
	CPUSeconds float64       // user + system CPU time of the process
	Wall       time.Duration // elapsed time
}

// String describes the command for error messages.
func (c *Cmd) String() string {
	var b strings.Builder
	b.WriteString(c.Name)
	for _, a := range c.Args {
		b.WriteByte(' ')
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$;&|<>*?()[]{}") {
			b.WriteString(fmt.Sprintf("%q", a))
		} else {
			b.WriteString(a)
		}
	}
	s := b.String()
	if len(s) > 400 {
		s = s[:400] + "…"
	}
	return s
}

// Run runs c and waits for it. A non-zero exit is an errcode.ToolFailed
// error carrying the command line and the tail of stderr; a cancelled or
// expired context kills the process group and returns errcode.Canceled or
// errcode.DeadlineExceeded. The Result is filled as far as the command got,
// also on error.
func Run(ctx context.Context, c Cmd) (*Result, error) {
	res := &Result{}
	path, err := LookPath(c.Name)
	if err != nil {
		return res, err
	}
	if err := ctx.Err(); err != nil {
		return res, ctxError(err, &c)
	}
	cmd := exec.Command(path, c.Args...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(cmd.Environ(), c.Env...)
	}
	cmd.Stdin = c.Stdin
	var stdout *limitBuffer
	if c.Stdout != nil {
		cmd.Stdout = c.Stdout
	} else {
		max := c.MaxStdout
		if max <= 0 {
			max = DefaultMaxStdout
		}
		stdout = &limitBuffer{max: max}
		cmd.Stdout = stdout
	}
	maxErr := c.MaxStderr
	if maxErr <= 0 {
		maxErr = DefaultMaxStderr
	}
	stderr := &tailBuffer{max: maxErr}
	cmd.Stderr = stderr
	// Own process group, so cancellation reaches the children a tool spawns.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A grandchild that escaped the group and holds stdout open does not
	// keep Wait blocked past the command's own exit.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return res, Missing(c.Name)
		}
		return res, errcode.Wrap(errcode.ToolFailed, err, "starting %s", c.String())
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		case <-done:
		}
	}()
	werr := cmd.Wait()
	close(done)
	res.Wall = time.Since(start)
	if ps := cmd.ProcessState; ps != nil {
		res.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
	}
	res.Stderr = stderr.String()
	if stdout != nil {
		res.Stdout = stdout.Bytes()
	}
	if werr != nil && ctx.Err() != nil {
		return res, ctxError(ctx.Err(), &c)
	}
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return res, &errcode.Error{
				Code:    errcode.ToolFailed,
				Message: fmt.Sprintf("%s: %s", c.String(), describeExit(ee, res.Stderr)),
			}
		}
		return res, errcode.Wrap(errcode.ToolFailed, werr, "%s", c.String())
	}
	if stdout != nil && stdout.overflow {
		return res, errcode.New(errcode.TooLarge, "%s: stdout passed %d bytes", c.String(), stdout.max)
	}
	return res, nil
}

func ctxError(err error, c *Cmd) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errcode.Wrap(errcode.DeadlineExceeded, err, "%s killed", c.Name)
	}
	return errcode.Wrap(errcode.Canceled, err, "%s killed", c.Name)
}

func describeExit(ee *exec.ExitError, stderr string) string {
	var how string
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		how = "killed by signal " + ws.Signal().String()
	} else {
		how = fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	stderr = strings.TrimSpace(stderr)
	if stderr == "" {
		return how
	}
	return how + ": " + stderr
}

// limitBuffer keeps at most max bytes and notes whether more were written.
type limitBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *limitBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *limitBuffer) Bytes() []byte { return b.buf.Bytes() }

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf     []byte
	max     int
	dropped bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= b.max {
		b.buf = append(b.buf[:0], p[len(p)-b.max:]...)
		b.dropped = true
		return n, nil
	}
	if over := len(b.buf) + len(p) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.dropped = true
	}
	b.buf = append(b.buf, p...)
	return n, nil
}

func (b *tailBuffer) String() string {
	s := strings.ToValidUTF8(string(b.buf), "�")
	if b.dropped {
		return "…" + s
	}
	return s
}
