package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/workflow"
)

// starter starts workflow targets on the engine.
type starter struct{ a *App }

func (s starter) StartExecution(ctx context.Context, stateMachine, name string, input []byte) (_ string, err error) {
	ctx, span := telemetry.Start(ctx, correlationOf(input), "bus.start_execution", attribute.String("landfall.state_machine", stateMachine))
	defer func() { telemetry.End(span, err) }()
	sm, err := s.a.Engine.DescribeStateMachine(ctx, stateMachine)
	if err != nil {
		return "", err
	}
	ex, err := s.a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: input,
		CorrelationID: correlationOf(input)})
	if err != nil {
		return "", err
	}
	s.a.Metrics.executionStarted()
	return ex.ARN, nil
}

// correlationOf is the media id in an upload's key (incoming/<t>/<id>.<ext>),
// or the key itself, so executions can be found by media.
func correlationOf(input []byte) string {
	var in struct {
		Key string `json:"key"`
	}
	if json.Unmarshal(input, &in) != nil || in.Key == "" {
		return ""
	}
	base := in.Key[strings.LastIndexByte(in.Key, '/')+1:]
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

// deadLetters keeps undeliverable events in the bucket under dead-letters/.
type deadLetters struct{ b *blob.Bucket }

func (d deadLetters) KeepDeadLetter(ctx context.Context, dl *bus.DeadLetter) error {
	raw, err := json.MarshalIndent(dl, "", " ")
	if err != nil {
		return err
	}
	key := fmt.Sprintf("dead-letters/%s/%s-%s.json", dl.At.Format("2006-01-02"), dl.At.Format("150405.000000000"), sanitize(dl.Rule+"-"+dl.Target))
	return d.b.WriteAll(ctx, key, raw, &blob.WriterOptions{ContentType: "application/json"})
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// busAPI adapts the bus to the API.
type busAPI struct{ b *bus.Bus }

func (x busAPI) PutEvents(ctx context.Context, e []bus.PutEventsEntry) ([]bus.PutEventsResultEntry, error) {
	return x.b.PutEvents(ctx, e)
}

func (x busAPI) Rules() []apiserver.RuleInfo {
	var out []apiserver.RuleInfo
	for _, r := range x.b.Rules() {
		out = append(out, apiserver.RuleInfo{Name: r.Spec.Name, Description: r.Spec.Description, State: r.Spec.State, Source: r.Source, Spec: r.Spec})
	}
	return out
}

func (x busAPI) PutRule(ctx context.Context, spec []byte) (*apiserver.RuleInfo, error) {
	r, err := x.b.PutRule(ctx, spec)
	if err != nil {
		return nil, err
	}
	return &apiserver.RuleInfo{Name: r.Name, Description: r.Description, State: r.State, Source: bus.SourceAPI, Spec: r}, nil
}

func (x busAPI) DeleteRule(ctx context.Context, name string) error { return x.b.DeleteRule(ctx, name) }

// redriver runs a failed media item's pipeline again from the start with
// the input of the execution that failed.
type redriver struct{ a *App }

func (r redriver) RedriveMedia(ctx context.Context, f *catalog.Failure) (string, error) {
	if f.ExecutionID == "" {
		return "", errcode.New(errcode.FailedPrecond, "failure %d has no execution to redrive", f.ID)
	}
	ex, err := r.a.Engine.DescribeExecution(ctx, f.ExecutionID)
	if err != nil {
		return "", err
	}
	if f.MediaID != "" {
		// The media goes back to processing; a missing original (moved or
		// deleted) fails the new execution with a recorded reason.
		if m, err := r.a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: f.MediaID}); err == nil && m.BucketKey != "" {
			var in map[string]any
			if json.Unmarshal(ex.Input, &in) == nil {
				in["key"] = m.BucketKey
				ex.Input, _ = json.Marshal(in)
			}
		}
	}
	n, err := r.a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: ex.StateMachineARN,
		Name: fmt.Sprintf("redrive-%d-%d", f.ID, time.Now().Unix()), Input: ex.Input, CorrelationID: f.MediaID})
	if err != nil {
		return "", err
	}
	return n.ARN, nil
}
