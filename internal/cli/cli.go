// Package cli implements the landfall command line.
//
// Each command lives in its own file and registers itself in init with
// Register. Commands are named by one or two words ("serve", "rules test");
// Run dispatches on the longest registered name that prefixes the arguments.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Env is what a command may touch of the outside world. Tests run commands
// in process with buffers in place of the standard streams.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Interrupt delivers the interrupts (Ctrl-C) that come after the first
	// one, which cancels the command's context. Nil means none come.
	Interrupt <-chan struct{}
	// InterruptGrace is how long a command that was interrupted waits for
	// a second interrupt before it exits (default 3s).
	InterruptGrace time.Duration
}

// Command is one landfall subcommand.
type Command struct {
	// Name is one or two words, e.g. "serve" or "rules test".
	Name string
	// Usage is the argument synopsis shown by help, e.g. "--pattern P --event E".
	Usage string
	// Summary is a one-line description.
	Summary string
	// Run executes the command. A returned *ExitError sets the exit code;
	// any other error exits 1 with the message on stderr.
	Run func(ctx context.Context, env *Env, args []string) error
}

// ExitError ends a command with a specific exit code. When Err is nil
// nothing is printed.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Exit codes shared by all commands.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and something failed
	ExitInvalid = 2 // invalid usage or invalid input (a pattern, a definition, a flag)
	// ExitInterrupted is the shell's code for a command ended by Ctrl-C
	// (128 + SIGINT).
	ExitInterrupted = 130
)

// UsageError reports bad command-line usage (exit code 2).
func UsageError(format string, args ...any) error {
	return &ExitError{Code: ExitInvalid, Err: fmt.Errorf(format, args...)}
}

var commands = map[string]*Command{}

// Register adds a command. It panics on a duplicate name, which is a
// programming error caught by any test that imports the package.
func Register(c Command) {
	if _, dup := commands[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	commands[c.Name] = &c
}

// Run runs the command named by args with the process's standard streams
// and returns the exit code.
func Run(args []string) int {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	again := make(chan struct{}, 1)
	go func() {
		// The first interrupt cancels the context; later ones are passed
		// on for commands that offer more (process: stop the run).
		if _, ok := <-sigs; !ok {
			return
		}
		cancel()
		for range sigs {
			select {
			case again <- struct{}{}:
			default:
			}
		}
	}()
	env := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Interrupt: again}
	return RunEnv(ctx, env, args)
}

// RunEnv is Run with an explicit context and environment.
func RunEnv(ctx context.Context, env *Env, args []string) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(env.Stdout, args)
		return ExitOK
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "landfall: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		printHelp(env.Stderr, nil)
		return ExitInvalid
	}
	err := cmd.Run(ctx, env, rest)
	if err == nil {
		return ExitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			fmt.Fprintf(env.Stderr, "landfall %s: %v\n", cmd.Name, ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(env.Stderr, "landfall %s: %v\n", cmd.Name, err)
	return ExitFailure
}

func lookup(args []string) (*Command, []string) {
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c, args[2:]
		}
	}
	if c, ok := commands[args[0]]; ok {
		return c, args[1:]
	}
	return nil, nil
}

func printHelp(w io.Writer, args []string) {
	prefix := ""
	if len(args) > 1 {
		prefix = args[1]
	}
	names := make([]string, 0, len(commands))
	for n := range commands {
		if prefix == "" || n == prefix || strings.HasPrefix(n, prefix+" ") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	fmt.Fprintln(w, "landfall — a file landed in storage; now what is in it?")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: landfall COMMAND [ARGS]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, n := range names {
		c := commands[n]
		fmt.Fprintf(w, "  %-22s %s\n", n, c.Summary)
		if c.Usage != "" {
			fmt.Fprintf(w, "  %-22s   landfall %s %s\n", "", n, c.Usage)
		}
	}
}

// NewFlagSet returns a flag set for a command that reports errors instead
// of exiting and prints its usage to env.Stderr.
func NewFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("landfall "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// ParseFlags parses args with fs, allowing flags after positional
// arguments ("states run FILE --input {}"). It returns the positional
// arguments. A parse error becomes a usage error (exit 2).
func ParseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &ExitError{Code: ExitInvalid}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if rest[0] == "--" {
			return append(positional, rest[1:]...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// ReadArg returns the bytes named by a command-line value that is either
// literal text or "@file" ("@-" reads standard input).
func ReadArg(env *Env, v string) ([]byte, error) {
	if !strings.HasPrefix(v, "@") {
		return []byte(v), nil
	}
	name := v[1:]
	if name == "-" {
		return io.ReadAll(env.Stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, &ExitError{Code: ExitInvalid, Err: err}
	}
	return b, nil
}
