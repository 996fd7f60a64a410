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
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// starter starts workflow targets on the engine.
type starter struct{ a *App }

// StartExecution starts an execution for a rule's target. When the input
// names an incoming object (the default rule's {"bucket","key",…}), the
// execution's tenant is the key's tenant folder and its correlation id the
// object's media id (the upload's, or the dropped file's derived one); a
// key outside the layout starts nothing. An object whose media item already
// finished is not run again: a repeated delivery of the event starts no
// execution.
func (s starter) StartExecution(ctx context.Context, stateMachine, name string, input []byte) (_ string, err error) {
	k, etag, named, err := pipeline.ObjectOf(input)
	if err != nil {
		return "", err
	}
	var tenant, correlation string
	if named {
		tenant, correlation = k.Tenant, pipeline.MediaIDOf(k, etag)
	}
	ctx, span := telemetry.Start(ctx, correlation, "bus.start_execution", attribute.String("landfall.state_machine", stateMachine))
	defer func() { telemetry.End(span, err) }()
	if named {
		if err := pipeline.CheckTenant(ctx, s.a.Catalog, tenant); err != nil {
			return "", err
		}
		scope, err := pipeline.NewScope(tenant, BucketName(s.a.Cfg.Blob), s.a.Bucket, s.a.Catalog)
		if err != nil {
			return "", err
		}
		m, _, err := pipeline.FindMedia(ctx, scope.Catalog, k, etag)
		if err != nil {
			return "", err
		}
		if m != nil && pipeline.Finished(m.Status) {
			s.a.Log.Info("bus: object already processed; no new execution", "key", k.String(), "media_id", m.ID, "status", m.Status)
			return "", nil
		}
		// A second notification of an object whose execution is still
		// running (S3 may notify twice) joins that execution.
		if m != nil && m.Status == types.StatusProcessing && m.ExecutionID != "" {
			if ex, err := s.a.Engine.DescribeExecution(ctx, m.ExecutionID); err == nil && ex.Status == "RUNNING" {
				s.a.Log.Info("bus: object already being processed; no new execution", "key", k.String(), "media_id", m.ID, "execution", ex.ARN)
				return ex.ARN, nil
			}
		}
		if m != nil {
			correlation = m.ID
		}
	}
	sm, err := s.a.Engine.DescribeStateMachine(ctx, stateMachine)
	if err != nil {
		return "", err
	}
	ex, err := s.a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: sm.ARN, Name: name, Input: input,
		CorrelationID: correlation, Tenant: tenant})
	if err != nil {
		return "", err
	}
	s.a.Metrics.executionStarted()
	return ex.ARN, nil
}

// unrouted settles the media item of an incoming object whose event
// started no execution: SKIPPED with the bus's reason when no rule matched,
// FAILED when a matching rule could not start the pipeline. Events that do
// not name an object of this installation's incoming/ folder are ignored,
// and so is an object whose tenant is unknown or disabled (nothing may be
// created for it).
type unrouted struct{ a *App }

func (u unrouted) EventUnrouted(ctx context.Context, e *bus.UnroutedEvent) error {
	var ev struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
		Detail     struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object struct {
				Key  string `json:"key"`
				Size int64  `json:"size"`
				ETag string `json:"etag"`
			} `json:"object"`
		} `json:"detail"`
	}
	if json.Unmarshal(e.Event, &ev) != nil || ev.Source != "aws.s3" || ev.DetailType != "Object Created" ||
		ev.Detail.Bucket.Name != BucketName(u.a.Cfg.Blob) {
		return nil
	}
	k, err := pipeline.ParseIncoming(ev.Detail.Object.Key)
	if err != nil {
		return nil
	}
	if err := pipeline.CheckTenant(ctx, u.a.Catalog, k.Tenant); err != nil {
		if errcode.Of(err) == errcode.NotFound || errcode.Of(err) == errcode.FailedPrecond || errcode.Of(err) == errcode.Invalid {
			u.a.Log.Warn("bus: object started no execution and its tenant takes no media; left for the reconciler", "key", k.String(), "reason", e.Reason, "err", err)
			return nil
		}
		return err
	}
	scope, err := pipeline.NewScope(k.Tenant, BucketName(u.a.Cfg.Blob), u.a.Bucket, u.a.Catalog)
	if err != nil {
		return err
	}
	m, changed, err := pipeline.Unstarted(ctx, scope, k, ev.Detail.Object.ETag, ev.Detail.Object.Size, e.Reason, e.GaveUp)
	if err != nil {
		return err
	}
	if m == nil {
		u.a.Log.Warn("bus: event names no stored object; nothing to settle", "key", k.String(), "reason", e.Reason)
		return nil
	}
	if changed {
		u.a.Metrics.mediaDone(string(m.Status))
		u.a.Log.Info("bus: object started no execution", "media_id", m.ID, "key", k.String(), "status", m.Status, "reason", e.Reason)
	}
	return nil
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
	var m *catalog.Media
	if f.MediaID != "" {
		// The media goes back to PENDING first: the register task does not
		// reset an item that finished. A missing original (moved or
		// deleted) fails the new execution with a recorded reason.
		if m, err = r.a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: f.MediaID, TenantID: f.TenantID}); err != nil {
			return "", err
		}
		if m.BucketKey != "" {
			var in map[string]any
			if json.Unmarshal(ex.Input, &in) == nil {
				in["key"] = m.BucketKey
				ex.Input, _ = json.Marshal(in)
			}
		}
		if m.Status == types.StatusFailed {
			if _, err := r.a.Catalog.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: f.TenantID, Status: types.StatusPending}); err != nil {
				return "", err
			}
		}
	}
	n, err := r.a.Engine.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: ex.StateMachineARN,
		Name: fmt.Sprintf("redrive-%d-%d", f.ID, time.Now().Unix()), Input: ex.Input, CorrelationID: f.MediaID, Tenant: f.TenantID})
	if err != nil {
		if m != nil && m.Status == types.StatusFailed {
			// Nothing runs it: the item stays FAILED, as it was.
			_, _ = r.a.Catalog.MediaUpdate(context.WithoutCancel(ctx), &catalog.MediaUpdateParams{ID: m.ID, TenantID: f.TenantID, Status: types.StatusFailed,
				Error: m.Error, Cause: m.Cause})
		}
		return "", err
	}
	return n.ARN, nil
}
