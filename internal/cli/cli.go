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
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/landfall/landfall/errcode"
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
		if len(args) > 1 && !helpTopic(args[1]) {
			fmt.Fprintln(env.Stderr, unknownCommand(args[1:]))
			fmt.Fprintln(env.Stderr, "Run `landfall help` to list the commands.")
			return ExitInvalid
		}
		printHelp(env.Stdout, args)
		return ExitOK
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintln(env.Stderr, unknownCommand(args))
		fmt.Fprintln(env.Stderr, "Run `landfall help` to list the commands.")
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
			printHint(env.Stderr, ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintf(env.Stderr, "landfall %s: %v\n", cmd.Name, err)
	printHint(env.Stderr, err)
	return ExitFailure
}

// unknownCommand says which command is unknown and the nearest known one.
func unknownCommand(args []string) string {
	var one, two []string
	groups := map[string]bool{}
	for n := range commands {
		if g, _, ok := strings.Cut(n, " "); ok {
			two = append(two, n)
			groups[g] = true
		} else {
			one = append(one, n)
		}
	}
	for g := range groups {
		one = append(one, g)
	}
	sort.Strings(one)
	sort.Strings(two)
	if groups[args[0]] && (len(args) == 1 || strings.HasPrefix(args[1], "-")) {
		var subs []string
		for _, n := range two {
			if g, sub, _ := strings.Cut(n, " "); g == args[0] {
				subs = append(subs, sub)
			}
		}
		return fmt.Sprintf("landfall: %q needs one of: %s", args[0], strings.Join(subs, ", "))
	}
	typed := args[0]
	guess := ""
	if len(args) >= 2 && groups[args[0]] && !strings.HasPrefix(args[1], "-") {
		typed = args[0] + " " + args[1]
		guess = nearest(typed, two)
	} else {
		guess = nearest(args[0], one)
	}
	msg := fmt.Sprintf("landfall: unknown command %q", typed)
	if guess != "" {
		msg += fmt.Sprintf("; did you mean %q?", guess)
	}
	return msg
}

// printHint adds what to do next to errors whose cause the user can fix.
func printHint(w io.Writer, err error) {
	var pe *fs.PathError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Fprintln(w, "  no landfall server is answering there: start one with `landfall serve`, "+
			"or name a running one with --server URL (or LANDFALL_SERVER)")
	case errcode.Of(err) == errcode.Unauthenticated:
		fmt.Fprintln(w, "  this server needs an API key: give it with --api-key KEY or LANDFALL_API_KEY "+
			"(an admin makes one with `landfall keys create --tenant ID`)")
	case strings.Contains(err.Error(), "data folder"):
		// already says which folder and what to do
	case errors.Is(err, fs.ErrPermission) && errors.As(err, &pe):
		fmt.Fprintf(w, "  %s is not writable: give yourself write access to it, or choose another data folder with --data DIR (or LANDFALL_DATA)\n",
			filepath.Dir(pe.Path))
	case notWritable(err):
		fmt.Fprintln(w, "  the data folder is not writable: give yourself write access to it, or choose another with --data DIR (or LANDFALL_DATA)")
	}
}

// helpTopic reports whether help has something to say about a word: a
// command or a group of commands.
func helpTopic(w string) bool {
	for n := range commands {
		if n == w || strings.HasPrefix(n, w+" ") {
			return true
		}
	}
	return false
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

// flagOutputs remembers where each command's flag set prints its usage.
var flagOutputs sync.Map // *flag.FlagSet → *Env

// NewFlagSet returns a flag set for a command that reports errors instead
// of exiting. ParseFlags prints its errors and usage (with double-dash
// flags) to env.Stderr.
func NewFlagSet(env *Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("landfall "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	flagOutputs.Store(fs, env)
	return fs
}

// printUsage prints a command's synopsis and flags, spelled --flag.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	name := strings.TrimPrefix(fs.Name(), "landfall ")
	if c, ok := commands[name]; ok && c.Usage != "" {
		fmt.Fprintf(w, "Usage: landfall %s %s\n", name, c.Usage)
	} else {
		fmt.Fprintf(w, "Usage: landfall %s\n", name)
	}
	var lines [][2]string
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		left := "--" + f.Name
		if len(f.Name) == 1 {
			left = "-" + f.Name
		}
		if typ, _ := flag.UnquoteUsage(f); typ != "" {
			left += " " + strings.ToUpper(typ)
		}
		help := f.Usage
		if d := f.DefValue; d != "" && d != "false" && d != "0" && d != "0s" && !strings.Contains(help, "default") {
			help += " (default " + d + ")"
		}
		width = max(width, len(left))
		lines = append(lines, [2]string{left, help})
	})
	if len(lines) > 0 {
		fmt.Fprintln(w, "Flags:")
	}
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

// flagError rewrites the flag package's messages in the spelling the
// command line uses (--flag) and suggests the nearest known flag.
func flagError(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		var known []string
		fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
		out := "unknown flag --" + name
		if s := nearest(name, known); s != "" {
			out += "; did you mean --" + s + "?"
		}
		return out
	}
	if name, ok := strings.CutPrefix(msg, "flag needs an argument: "); ok {
		return strings.TrimLeft(name, "-") + ": give a value, e.g. --" + strings.TrimLeft(name, "-") + " VALUE"
	}
	// invalid value "x" for flag -timeout: parse error
	if i := strings.Index(msg, " for flag -"); i >= 0 {
		msg = msg[:i] + " for flag --" + msg[i+len(" for flag -"):]
	}
	return msg
}

// nearest returns the candidate closest to s (by edit distance, at most
// a third of its length and at least 2), or a candidate s is a prefix
// of, or "".
func nearest(s string, candidates []string) string {
	best, bestD := "", max(2, len(s)/3)+1
	for _, c := range candidates {
		d := editDistance(s, c)
		if strings.HasPrefix(c, s) || strings.HasPrefix(s, c) {
			d = min(d, 1)
		}
		if d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			// a swap of two neighbours counts as one edit
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev[j-1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ParseFlags parses args with fs, allowing flags after positional
// arguments ("states run FILE --input {}"). It returns the positional
// arguments. A parse error is printed with the command's usage and
// becomes a usage error (exit 2); --help prints the usage.
func ParseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	out, help := io.Discard, io.Discard
	if e, ok := flagOutputs.Load(fs); ok {
		out, help = e.(*Env).Stderr, e.(*Env).Stdout
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(help, fs)
				return nil, err
			}
			fmt.Fprintf(out, "%s: %s\n", fs.Name(), flagError(fs, err))
			printUsage(out, fs)
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
