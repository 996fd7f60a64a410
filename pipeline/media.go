// Package pipeline owns the media model that flows through Landfall's
// state machine and the tasks that act on it: the one media reference
// ($.media), the one bucket key layout (keys.go), the scope each task runs
// in (a bucket and a catalog confined to the execution's tenant), work
// folders, stored results and the artefacts analysers hand to later tasks,
// usage, failure recording and notification.
//
// It sits below app (which wires it to the workflow engine) and ingest
// (which builds keys with it), and above analyser, catalog, bus and blob.
// It does not import the workflow engine: tasks receive a Call, which app
// fills from the engine's invocation.
package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Media is the media reference the pipeline carries in $.media. It is
// input, not authority: every task checks it against its Scope.
type Media struct {
	ID       string          `json:"id"`
	Tenant   string          `json:"tenant"`
	Bucket   string          `json:"bucket"`
	Key      string          `json:"key"`
	Size     int64           `json:"size"`
	Filename string          `json:"filename"`
	Features map[string]bool `json:"features"`
	Options  map[string]any  `json:"options"`
}

// MetaVocabulary is the object metadata key holding an upload's
// comma-separated vocabulary.
const MetaVocabulary = "vocabulary"

// MetaProfile is the object metadata key holding an upload's insight
// profile.
const MetaProfile = "profile"

// Call is one attempt of a pipeline task: the workflow engine's
// invocation as the pipeline sees it.
type Call struct {
	ExecutionARN string
	// Tenant is the execution's tenant, fixed when it started. It is the
	// only source of a task's tenant.
	Tenant    string
	StatePath string
	Attempt   int
	Resource  string
	Input     json.RawMessage
	// Heartbeat, when set, tells the engine the attempt is alive.
	Heartbeat func(ctx context.Context) error
}

// TaskFunc runs one pipeline task.
type TaskFunc func(ctx context.Context, c Call) (json.RawMessage, error)

// ErrRuntime is the ASL error of an input that is not what a task expects.
const ErrRuntime errcode.Code = "States.Runtime"

func decodeInput(c Call, v any) error {
	if err := json.Unmarshal(c.Input, v); err != nil {
		return errcode.New(ErrRuntime, "%s: input is not what the task expects: %v", c.Resource, err)
	}
	return nil
}

// heartbeat keeps a long analyser's attempt alive until stop is called.
func heartbeat(ctx context.Context, c Call) (stop func()) {
	if c.Heartbeat == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				_ = c.Heartbeat(ctx)
			}
		}
	}()
	return cancel
}
