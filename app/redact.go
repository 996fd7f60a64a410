package app

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"

	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	scrub "github.com/landfall/landfall/internal/redact"
	"github.com/landfall/landfall/workflow"
)

// newRedactor returns the Redactor of the installation's folders: a file
// bucket's paths become object keys, work files their names in the media
// item's work folder, everything else in the data folder a relative name.
func newRedactor(cfg *config.Config, workRoot string) *scrub.Redactor {
	roots := []scrub.Root{
		{Dir: cfg.Data, Name: "the data folder"},
		{Dir: workRoot, Name: "the work folder", Skip: 2},
		{Dir: filepath.Join(cfg.Data, "uploads"), Name: "the upload folder", Skip: 1 << 20},
	}
	if p, ok := strings.CutPrefix(cfg.Blob, "file://"); ok {
		roots = append(roots, scrub.Root{Dir: strings.SplitN(p, "?", 2)[0], Name: "the bucket"})
	}
	return scrub.New(append(roots, scrub.Default()...)...)
}

// redacting runs a task and rewrites its error's cause through red. The
// ASL error name is kept; the original error stays in the chain (for
// errors.Is) behind the redacted TaskError, which the engine reads.
//
// Its output is rewritten too: what a task returns goes into the state and
// the execution's history, which users read. Later tasks read full
// results from the bucket (the state holds references and, for small
// outputs, a copy for display), never paths from the state.
func redacting(red *scrub.Redactor, f workflow.InvokerFunc) workflow.InvokerFunc {
	return func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		out, err := f(ctx, inv)
		if err == nil {
			// Paths end at a JSON string's closing quote and their
			// replacements hold no quote or backslash, so the rewritten
			// text stays JSON; it is checked anyway.
			if r := red.String(string(out)); r != string(out) && json.Valid([]byte(r)) {
				out = json.RawMessage(r)
			}
			return out, nil
		}
		name, cause := taskErrorOf(err)
		return out, &redactedError{te: &workflow.TaskError{Name: name, Cause: red.String(cause)}, err: err}
	}
}

// taskErrorOf is the ASL error name and cause the engine gives err.
func taskErrorOf(err error) (name, cause string) {
	var te *workflow.TaskError
	if errors.As(err, &te) {
		return te.Name, te.Cause
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "States.Timeout", err.Error()
	}
	if code := errcode.Of(err); code != errcode.Unknown {
		return string(code), errcode.MessageOf(err)
	}
	return "States.TaskFailed", err.Error()
}

// redactedError is a task's error with its cause redacted.
type redactedError struct {
	te  *workflow.TaskError
	err error
}

func (e *redactedError) Error() string   { return e.te.Error() }
func (e *redactedError) Unwrap() []error { return []error{e.te, e.err} }
