package app

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	scrub "github.com/landfall/landfall/internal/redact"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// FunctionPrefix is the resource prefix of Landfall's pipeline tasks in the
// embedded mode: the default pipeline's Lambda ARNs with the local
// substitutions.
const FunctionPrefix = "arn:aws:lambda:local:000000000000:function:landfall-"

// registerTasks serves the pipeline's tasks on the engine. A task gets the
// execution's stored tenant from the invocation, never from its input.
// Every task's error leaves through red: failure causes, history and
// events never name this machine's folders.
func registerTasks(fns *workflow.Functions, t *pipeline.Tasks, red *scrub.Redactor) {
	for name, f := range t.Funcs() {
		f := pipeline.Traced(name, f)
		fns.Add(name, redacting(red, func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
			return f(ctx, pipeline.Call{ExecutionARN: inv.ExecutionARN, Tenant: inv.Tenant, StatePath: inv.StatePath,
				Attempt: inv.Attempt, Resource: inv.Resource, Input: inv.Input, Heartbeat: inv.Heartbeat})
		}))
	}
}

// pipelineMetrics tells the process's metrics what the pipeline did.
type pipelineMetrics struct{ m *Metrics }

func (p pipelineMetrics) AnalyserObserved(id string, d time.Duration, err error) {
	p.m.observeAnalyser(id, d, err)
}
func (p pipelineMetrics) MediaDone(s types.Status) { p.m.mediaDone(string(s)) }

// failedState finds the state whose failure the execution caught, from its
// history: the last state entered before RecordFailure.
func failedState(e *workflow.Engine) func(ctx context.Context, execARN string) string {
	return func(ctx context.Context, execARN string) string {
		if e == nil || execARN == "" {
			return ""
		}
		evs, _, err := e.History(ctx, execARN, workflow.HistoryParams{Reverse: true, Limit: 1000})
		if err != nil {
			return ""
		}
		for _, ev := range evs {
			if !strings.HasSuffix(ev.Type, "StateEntered") {
				continue
			}
			var d struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(ev.Details, &d) == nil && d.Name != "" && d.Name != "RecordFailure" && d.Name != "Unsupported" {
				return d.Name
			}
		}
		return ""
	}
}
