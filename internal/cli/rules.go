package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/landfall/landfall/rule"
)

func init() {
	Register(Command{
		Name:    "rules test",
		Usage:   "--pattern P --event E",
		Summary: "test one event against one EventBridge event pattern (JSON text or @file); prints true or false",
		Run:     rulesTest,
	})
	Register(Command{
		Name:    "rules validate",
		Usage:   "FILE",
		Summary: "check a rules file, JSON or YAML (event patterns, targets, input transformers); every error is located",
		Run:     rulesValidate,
	})
	Register(Command{
		Name:    "rules match",
		Usage:   "--rules FILE --events FILE.jsonl [--inputs]",
		Summary: "match each event of a JSON Lines file against the enabled rules; one JSON line per event",
		Run:     rulesMatch,
	})
}

func rulesTest(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "rules test")
	pattern := fs.String("pattern", "", "event pattern: JSON text, @file or @- for standard input")
	event := fs.String("event", "", "event: JSON text, @file or @- for standard input")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("unexpected argument %q", rest[0])
	}
	if *pattern == "" || *event == "" {
		return UsageError("both --pattern and --event are required")
	}
	ptext, err := ReadArg(env, *pattern)
	if err != nil {
		return err
	}
	etext, err := ReadArg(env, *event)
	if err != nil {
		return err
	}
	p, err := rule.ParsePattern(ptext)
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("pattern %s", describeErr(err))}
	}
	ok, err := p.Matches(etext)
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("event %s", describeErr(err))}
	}
	fmt.Fprintln(env.Stdout, ok)
	return nil
}

// describeErr renders a pattern or JSON error with its location.
func describeErr(err error) string {
	var pe *rule.PatternError
	var se *rule.SyntaxError
	switch {
	case errors.As(err, &pe):
		p := pe.Pointer
		if p == "" {
			p = "(root)"
		}
		return fmt.Sprintf("at %s (offset %d): %s", p, pe.Offset, pe.Message)
	case errors.As(err, &se):
		return fmt.Sprintf("is not valid JSON: line %d, column %d: %s", se.Line, se.Column, se.Msg)
	}
	return err.Error()
}

// loadRules reads and validates a rules file, reporting every problem as
// FILE:LINE:COL: POINTER: MESSAGE.
func loadRules(env *Env, name string) ([]rule.RuleSpec, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(env.Stdin)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, &ExitError{Code: ExitInvalid, Err: err}
	}
	specs, err := rule.ParseRulesFile(data)
	if err == nil {
		return specs, nil
	}
	var fe rule.FileErrors
	var se *rule.SyntaxError
	switch {
	case errors.As(err, &fe):
		for _, e := range fe {
			line, col := lineCol(data, e.Offset)
			ptr := e.Pointer
			if ptr == "" {
				ptr = "(root)"
			}
			fmt.Fprintf(env.Stderr, "%s:%d:%d: %s: %s\n", name, line, col, ptr, e.Message)
		}
		return nil, &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s: %d error(s)", name, len(fe))}
	case errors.As(err, &se):
		return nil, &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s:%d:%d: not valid JSON: %s", name, se.Line, se.Column, se.Msg)}
	}
	return nil, &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%s: %w", name, err)}
}

func lineCol(data []byte, off int) (int, int) {
	if off < 0 || off > len(data) {
		return 0, 0
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - bytes.LastIndexByte(data[:off], '\n')
	return line, col
}

func rulesValidate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "rules validate")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return UsageError("want exactly one rules file (or - for standard input)")
	}
	specs, err := loadRules(env, rest[0])
	if err != nil {
		return err
	}
	enabled, targets := 0, 0
	for _, s := range specs {
		if s.Enabled() {
			enabled++
		}
		targets += len(s.Targets)
	}
	fmt.Fprintf(env.Stdout, "%s: valid: %d rule(s), %d enabled, %d target(s)\n", rest[0], len(specs), enabled, targets)
	return nil
}

// matchLine is the output of rules match for one event.
type matchLine struct {
	Line    int           `json:"line"`
	ID      string        `json:"id,omitempty"`
	Matched []string      `json:"matched"`
	Targets []targetInput `json:"targets,omitempty"`
}

// targetInput is what one target of a matched rule would receive.
type targetInput struct {
	Rule   string          `json:"rule"`
	Target string          `json:"target"`
	Type   string          `json:"type"`
	Input  json.RawMessage `json:"input,omitempty"`
	Text   string          `json:"text,omitempty"` // a text (non-JSON) input
	Error  string          `json:"error,omitempty"`
}

func rulesMatch(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "rules match")
	rulesFile := fs.String("rules", "", "rules file (JSON or YAML)")
	eventsFile := fs.String("events", "", "events, one JSON object per line (- for standard input)")
	inputs := fs.Bool("inputs", false, "also show the input each target of a matched rule would receive")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("unexpected argument %q", rest[0])
	}
	if *rulesFile == "" || *eventsFile == "" {
		return UsageError("both --rules and --events are required")
	}
	specs, err := loadRules(env, *rulesFile)
	if err != nil {
		return err
	}
	set := rule.RuleSetOf(specs)
	byName := map[string]*rule.RuleSpec{}
	for i := range specs {
		byName[specs[i].Name] = &specs[i]
	}
	var in io.Reader = env.Stdin
	if *eventsFile != "-" {
		f, err := os.Open(*eventsFile)
		if err != nil {
			return &ExitError{Code: ExitInvalid, Err: err}
		}
		defer f.Close()
		in = f
	}
	r := bufio.NewReaderSize(in, 64<<10)
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	bad := 0
	var matched []string
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, rerr := r.ReadBytes('\n')
		if rerr != nil && rerr != io.EOF {
			return fmt.Errorf("%s: %w", *eventsFile, rerr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			matched, err = set.AppendMatches(matched[:0], line)
			if err != nil {
				bad++
				fmt.Fprintf(env.Stderr, "%s:%d: event %s\n", *eventsFile, lineNo, describeErr(err))
			} else {
				ml := matchLine{Line: lineNo, ID: eventID(line), Matched: append([]string{}, matched...)}
				if *inputs {
					ml.Targets = targetInputs(byName, matched, bytes.TrimSpace(line))
				}
				if err := enc.Encode(ml); err != nil {
					return err
				}
			}
		}
		if rerr == io.EOF {
			break
		}
	}
	if bad > 0 {
		return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("%d invalid event(s) in %s", bad, *eventsFile)}
	}
	return nil
}

func targetInputs(byName map[string]*rule.RuleSpec, matched []string, event []byte) []targetInput {
	var out []targetInput
	for _, name := range matched {
		spec := byName[name]
		for _, t := range spec.Targets {
			ti := targetInput{Rule: name, Target: t.ID, Type: t.Type}
			in, err := t.TargetInput(event, rule.TransformContext{
				RuleName: name,
				RuleARN:  "arn:landfall:events:local:rule/" + name,
			})
			switch {
			case err != nil:
				ti.Error = err.Error()
			case json.Valid(in):
				ti.Input = in
			default:
				ti.Text = string(in)
			}
			out = append(out, ti)
		}
	}
	return out
}

// eventID returns the event's top-level "id" when it is a string.
func eventID(line []byte) string {
	var e struct {
		ID any `json:"id"`
	}
	if json.Unmarshal(line, &e) != nil {
		return ""
	}
	if s, ok := e.ID.(string); ok {
		return s
	}
	return ""
}
