package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/asltest"
	"github.com/landfall/landfall/asl/expr"
)

func init() {
	Register(Command{
		Name:    "states validate",
		Usage:   "FILE [--express] [--subst NAME=VALUE]...",
		Summary: "check a States Language definition (JSON or YAML) and list every error",
		Run:     statesValidate,
	})
	Register(Command{
		Name:    "states test",
		Usage:   "FILE [--state NAME] [--input JSON|@FILE] [--mock-result JSON | --mock-error NAME --mock-cause TEXT] [--variables JSON] [--retry-count N]",
		Summary: "run one state with a mocked result or error, like Step Functions' TestState",
		Run:     statesTest,
	})
	Register(Command{
		Name:    "states run",
		Usage:   "FILE [--input JSON|@FILE] [--mocks FILE] [--items-dir DIR] [--subst NAME=VALUE]... [--trace] [--real-time]",
		Summary: "run a state machine in memory and print its result as one JSON line",
		Run:     statesRun,
	})
}

// substFlag collects repeated --subst NAME=VALUE flags.
type substFlag map[string]string

func (s substFlag) String() string { return "" }

func (s substFlag) Set(v string) error {
	name, value, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", v)
	}
	s[name] = value
	return nil
}

// loadMachine reads and parses a definition file.
func loadMachine(path string, opts asl.ParseOptions) (*asl.Machine, error) {
	def, err := os.ReadFile(path)
	if err != nil {
		return nil, &ExitError{Code: ExitInvalid, Err: err}
	}
	return asl.Parse(def, opts)
}

func statesValidate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "states validate")
	express := fs.Bool("express", false, "validate for an EXPRESS state machine")
	subst := substFlag{}
	fs.Var(subst, "subst", "definition substitution NAME=VALUE for ${NAME} (repeatable)")
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError("want one definition file, got %d arguments", len(pos))
	}
	opts := asl.ParseOptions{Express: *express}
	if len(subst) > 0 {
		opts.Substitutions = subst
	}
	_, err = loadMachine(pos[0], opts)
	var verrs asl.ValidationErrors
	if errors.As(err, &verrs) {
		for _, e := range verrs {
			loc := pos[0]
			if e.Line > 0 {
				loc = fmt.Sprintf("%s:%d:%d", loc, e.Line, e.Column)
			}
			fmt.Fprintf(env.Stdout, "%s: %s\n", loc, e.Error())
		}
		return &ExitError{Code: ExitInvalid}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s: valid\n", pos[0])
	return nil
}

// runResult is the one line states run prints.
type runResult struct {
	Status string                `json:"status"`
	Output any                   `json:"output,omitempty"`
	Error  *string               `json:"error,omitempty"`
	Cause  *string               `json:"cause,omitempty"`
	Errors []asl.ValidationError `json:"errors,omitempty"`
}

func statesRun(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "states run")
	inputArg := fs.String("input", "{}", "execution input: JSON text, or @FILE (@- for standard input)")
	mocksPath := fs.String("mocks", "", "task mocks file (the conformance suite's format, plus sequence mocks)")
	itemsDir := fs.String("items-dir", "", "folder of bucket objects (DIR/BUCKET/KEY) that Map ItemReaders read and ResultWriters write")
	trace := fs.Bool("trace", false, "print the states entered, with their virtual time, on standard error")
	realTime := fs.Bool("real-time", false, "sleep for real on Waits, retry delays and mock delays")
	subst := substFlag{}
	fs.Var(subst, "subst", "definition substitution NAME=VALUE for ${NAME} (repeatable)")
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError("want one definition file, got %d arguments", len(pos))
	}
	opts := asl.ParseOptions{}
	if len(subst) > 0 {
		opts.Substitutions = subst
	}
	m, err := loadMachine(pos[0], opts)
	var verrs asl.ValidationErrors
	if errors.As(err, &verrs) {
		writeResult(env.Stdout, runResult{Status: "INVALID", Errors: verrs})
		return &ExitError{Code: ExitInvalid}
	}
	if err != nil {
		return err
	}
	inText, err := ReadArg(env, *inputArg)
	if err != nil {
		return err
	}
	input, err := expr.Decode(inText)
	if err != nil {
		return UsageError("--input: not valid JSON: %v", err)
	}
	ropts := asl.RunOptions{}
	if *mocksPath != "" {
		b, err := os.ReadFile(*mocksPath)
		if err != nil {
			return &ExitError{Code: ExitInvalid, Err: err}
		}
		mocks, err := asltest.ParseMocks(b)
		if err != nil {
			return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s: %v", *mocksPath, err)}
		}
		ropts.Tasks = mocks
	}
	if *itemsDir != "" {
		ropts.ItemReader = dirItems(*itemsDir)
		ropts.ResultWriter = dirItems(*itemsDir)
	}
	if *realTime {
		ropts.Clock = asl.RealClock{}
	} else {
		ropts.Clock = asl.NewVirtualClock(time.Now().UTC().Truncate(time.Millisecond))
	}
	start := ropts.Clock.Now()
	if *trace {
		ropts.Trace = func(e asl.TraceEvent) {
			name := e.State
			if e.Path != "" {
				name = strings.TrimPrefix(e.Path, "/") + "/" + e.State
			}
			switch e.Event {
			case "entered":
				fmt.Fprintf(env.Stderr, "%s +%s %-8s %s\n", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Time.Sub(start), e.Type, name)
			case "retry":
				fmt.Fprintf(env.Stderr, "%s +%s %-8s %s retry %d in %s after %s\n", e.Time.UTC().Format("2006-01-02T15:04:05.000Z"), e.Time.Sub(start), e.Type, name, e.Attempt, e.Delay, e.Error)
			}
		}
	}
	res, err := asl.Run(ctx, m, input, ropts)
	if err != nil {
		return err
	}
	out := runResult{Status: res.Status}
	if res.Status == "SUCCEEDED" {
		out.Output = res.Output
		if out.Output == nil {
			out.Output = json.RawMessage("null")
		}
		writeResult(env.Stdout, out)
		return nil
	}
	errName, cause := res.Error, res.Cause
	out.Error, out.Cause = &errName, &cause
	writeResult(env.Stdout, out)
	return &ExitError{Code: ExitFailure}
}

func statesTest(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "states test")
	stateName := fs.String("state", "", "the state to run when FILE is a whole machine (default: StartAt)")
	inputArg := fs.String("input", "{}", "state input: JSON text, or @FILE (@- for standard input)")
	mockResult := fs.String("mock-result", "", "the task's (or Parallel/Map's) result: JSON text or @FILE")
	mockError := fs.String("mock-error", "", "fail the task with this error name")
	mockCause := fs.String("mock-cause", "", "the cause of --mock-error")
	varsArg := fs.String("variables", "", "variables in scope: a JSON object, or @FILE")
	retryCount := fs.Int("retry-count", 0, "retries the matching retrier has already made")
	pos, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return UsageError("want one definition file, got %d arguments", len(pos))
	}
	if *mockResult != "" && *mockError != "" {
		return UsageError("--mock-result and --mock-error are exclusive")
	}
	def, err := os.ReadFile(pos[0])
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	req := asl.TestStateRequest{Definition: def, StateName: *stateName, RetrierRetryCount: *retryCount}
	if req.Input, err = decodeArg(env, "--input", *inputArg); err != nil {
		return err
	}
	if *varsArg != "" {
		v, err := decodeArg(env, "--variables", *varsArg)
		if err != nil {
			return err
		}
		vars, ok := v.(map[string]any)
		if !ok {
			return UsageError("--variables: must be a JSON object")
		}
		req.Variables = vars
	}
	switch {
	case *mockResult != "":
		v, err := decodeArg(env, "--mock-result", *mockResult)
		if err != nil {
			return err
		}
		req.Mock = &asl.TestStateMock{Result: v, HasResult: true}
	case *mockError != "":
		req.Mock = &asl.TestStateMock{Error: *mockError, Cause: *mockCause}
	}
	res, err := asl.TestState(ctx, req, asl.RunOptions{})
	var verrs asl.ValidationErrors
	if errors.As(err, &verrs) {
		writeResult(env.Stdout, runResult{Status: "INVALID", Errors: verrs})
		return &ExitError{Code: ExitInvalid}
	}
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	b, err := expr.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\n", b)
	if res.Status == "FAILED" {
		return &ExitError{Code: ExitFailure}
	}
	return nil
}

// decodeArg reads a JSON flag value given as text or @FILE.
func decodeArg(env *Env, name, v string) (any, error) {
	b, err := ReadArg(env, v)
	if err != nil {
		return nil, err
	}
	x, err := expr.Decode(b)
	if err != nil {
		return nil, UsageError("%s: not valid JSON: %v", name, err)
	}
	return x, nil
}

func writeResult(w io.Writer, r runResult) {
	b, err := expr.Marshal(r)
	if err != nil {
		fmt.Fprintf(w, `{"status":"FAILED","error":"States.Runtime","cause":%q}`+"\n", err.Error())
		return
	}
	fmt.Fprintf(w, "%s\n", b)
}

// dirItems serves ItemReader objects from a local folder: DIR/BUCKET/KEY.
type dirItems string

func (d dirItems) OpenItems(_ context.Context, read *asl.ItemRead) (io.ReadCloser, error) {
	p, _ := read.Parameters.(map[string]any)
	bucket, _ := p["Bucket"].(string)
	if strings.HasSuffix(read.Resource, ":listObjectsV2") {
		return d.list(bucket, p)
	}
	key, _ := p["Key"].(string)
	if bucket == "" || key == "" {
		return nil, fmt.Errorf("the ItemReader needs Bucket and Key parameters, got %s", expr.MarshalString(read.Parameters))
	}
	path := filepath.Join(string(d), filepath.FromSlash(bucket), filepath.FromSlash(key))
	rel, err := filepath.Rel(string(d), path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return nil, fmt.Errorf("object %s/%s is outside %s", bucket, key, string(d))
	}
	return os.Open(path)
}

// list describes the files under DIR/BUCKET/PREFIX as a JSON array of
// {"Key", "Size"}, as an s3:listObjectsV2 ItemReader reads them.
func (d dirItems) list(bucket string, p map[string]any) (io.ReadCloser, error) {
	if bucket == "" {
		return nil, fmt.Errorf("the ItemReader needs a Bucket parameter, got %s", expr.MarshalString(p))
	}
	prefix, _ := p["Prefix"].(string)
	root := filepath.Join(string(d), filepath.FromSlash(bucket))
	var list []any
	err := filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		list = append(list, map[string]any{"Key": key, "Size": expr.Int(info.Size())})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if list == nil {
		list = []any{}
	}
	b, err := expr.Marshal(list)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// WriteResults stores a Map's results under DIR/BUCKET/.
func (d dirItems) WriteResults(_ context.Context, w *asl.ResultWrite) (any, error) {
	bucket, files, details, err := w.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		path := filepath.Join(string(d), filepath.FromSlash(bucket), filepath.FromSlash(f.Key))
		if rel, err := filepath.Rel(string(d), path); err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("object %s/%s is outside %s", bucket, f.Key, string(d))
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(path, f.Body, 0o644); err != nil {
			return nil, err
		}
	}
	return details, nil
}

var (
	_ asl.ItemReader   = dirItems("")
	_ asl.ResultWriter = dirItems("")
)
