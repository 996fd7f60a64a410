package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/landfall/landfall/errcode"
)

// Invocation is one attempt of a Task state handed to an Invoker.
type Invocation struct {
	ExecutionARN string
	// Tenant is the tenant the execution runs for, as stored when it
	// started. Task functions derive their capabilities (bucket prefixes,
	// catalog rows) from it, never from their input.
	Tenant string
	// StatePath names the state inside the execution: Parallel branches
	// and Map iterations appear as /index segments ("/2/Transcribe").
	StatePath string
	// Attempt is 0 for the first try and counts the state's retries.
	Attempt int
	// IdempotencyKey is the same for every delivery of one attempt (a
	// delivery repeated after a worker died reuses it) and differs between
	// attempts. Invokers with side effects dedupe on it.
	IdempotencyKey string
	Resource       string
	Input          json.RawMessage
	// Sync is set for .sync and .sync:2 tasks (Resource has no suffix; the
	// engine turns ".sync:2" into ":2"): the invoker waits for the work
	// it starts to end.
	Sync bool
	// TaskToken is set for .waitForTaskToken: the invoker hands it to
	// whoever will call SendTaskSuccess or SendTaskFailure.
	TaskToken string
	// syncToken is the token of a states:startExecution.sync task: the
	// child execution names it, and its end completes the task.
	syncToken string
	// Heartbeat records that the task is alive. It returns an error when
	// the attempt is no longer current (timed out, stopped, or handed to
	// another worker); the invoker should then give up.
	Heartbeat func(ctx context.Context) error
}

// Invoker runs Task resources. A returned error fails the task with the
// ASL error name from TaskError or errcode.Of.
type Invoker interface {
	Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error)
}

// InvokerFunc adapts a function to Invoker.
type InvokerFunc func(ctx context.Context, inv Invocation) (json.RawMessage, error)

// Invoke calls f.
func (f InvokerFunc) Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	return f(ctx, inv)
}

// TaskError fails a task with an ASL error name and cause.
type TaskError struct {
	Name  string // e.g. "Media.Corrupt", "States.TaskFailed"
	Cause string
}

func (e *TaskError) Error() string { return e.Name + ": " + e.Cause }

// taskErrorOf returns the ASL error name and cause of an invoker's error.
func taskErrorOf(err error) (string, string) {
	var te *TaskError
	if errors.As(err, &te) {
		return cleanText(te.Name), cleanText(te.Cause)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "States.Timeout", cleanText(err.Error())
	}
	code := errcode.Of(err)
	if code == errcode.Unknown {
		return "States.TaskFailed", cleanText(err.Error())
	}
	return cleanText(string(code)), cleanText(errcode.MessageOf(err))
}

// Resources maps Task resources to invokers by the longest registered
// prefix.
type Resources struct {
	mu       sync.RWMutex
	prefixes []string
	invokers map[string]Invoker
}

// NewResources returns an empty registry.
func NewResources() *Resources { return &Resources{invokers: map[string]Invoker{}} }

// Register routes resources starting with prefix to inv. Registering the
// same prefix again replaces the invoker.
func (r *Resources) Register(prefix string, inv Invoker) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.invokers[prefix]; !ok {
		r.prefixes = append(r.prefixes, prefix)
		sort.Slice(r.prefixes, func(i, j int) bool { return len(r.prefixes[i]) > len(r.prefixes[j]) })
	}
	r.invokers[prefix] = inv
}

// Lookup returns the invoker for resource.
func (r *Resources) Lookup(resource string) (Invoker, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, p := range r.prefixes {
		if strings.HasPrefix(resource, p) {
			return r.invokers[p], true
		}
	}
	return nil, false
}

// Prefixes lists the registered prefixes.
func (r *Resources) Prefixes() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return append([]string(nil), r.prefixes...)
}

// Functions is an Invoker over a table of Go functions, looked up by the
// part of the resource after the registered prefix (and before any
// ".sync" or ".waitForTaskToken" suffix).
type Functions struct {
	prefix string
	mu     sync.RWMutex
	funcs  map[string]InvokerFunc
}

// NewFunctions returns a function table for resources "<prefix><name>".
// Register it with Resources.Register(prefix, fns).
func NewFunctions(prefix string) *Functions {
	return &Functions{prefix: prefix, funcs: map[string]InvokerFunc{}}
}

// Add sets the function called for resource prefix+name.
func (f *Functions) Add(name string, fn InvokerFunc) {
	f.mu.Lock()
	f.funcs[name] = fn
	f.mu.Unlock()
}

// Invoke calls the function named by inv.Resource.
func (f *Functions) Invoke(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	name := strings.TrimPrefix(inv.Resource, f.prefix)
	f.mu.RLock()
	fn, ok := f.funcs[name]
	f.mu.RUnlock()
	if !ok {
		return nil, &TaskError{Name: "States.TaskFailed", Cause: fmt.Sprintf("no function %q in the table for %s", name, f.prefix)}
	}
	return fn(ctx, inv)
}

// activityName returns the activity named by resource, which is an
// activity ARN (arn:aws:states:REGION:ACCOUNT:activity:NAME, the region
// and account may be empty).
func activityName(resource string) (string, bool) {
	if !strings.HasPrefix(resource, "arn:") {
		return "", false
	}
	i := strings.Index(resource, ":activity:")
	if i < 0 {
		return "", false
	}
	name := resource[i+len(":activity:"):]
	return name, name != ""
}
