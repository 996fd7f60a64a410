package pipeline

import (
	"context"
	"encoding/json"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Event returns a Landfall pipeline event for the bus.
func Event(detailType string, detail any) bus.Event {
	raw, _ := json.Marshal(detail)
	return bus.Event{Version: "0", ID: bus.NewID(), DetailType: detailType, Source: "landfall.pipeline",
		Account: bus.DefaultAccount, Time: time.Now().UTC().Truncate(time.Second), Region: bus.DefaultRegion,
		Resources: []string{}, Detail: raw}
}

// RecordFailure writes the failure to the execution's tenant's failures
// table and marks the media FAILED. The media is only touched when the
// state's reference checks out against the scope and the error is not one
// that refused the reference or the repeated delivery in the first place
// (Landfall.ForbiddenReference, Landfall.AlreadyProcessed): those are
// recorded for the tenant without a media item.
func (t *Tasks) RecordFailure(ctx context.Context, c Call) (json.RawMessage, error) {
	var in struct {
		State struct {
			Media    *Media `json:"media"`
			Key      string `json:"key"`
			Classify struct {
				Kind types.Kind `json:"kind"`
			} `json:"classify"`
			Error struct {
				Error string `json:"Error"`
				Cause string `json:"Cause"`
			} `json:"error"`
		} `json:"state"`
		Execution string `json:"execution"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	// The execution is the one running this task, whatever the input says.
	p := catalog.FailureRecordParams{ExecutionID: c.ExecutionARN, ErrorName: in.State.Error.Error, Cause: in.State.Error.Cause}
	if p.ExecutionID == "" {
		p.ExecutionID = in.Execution
	}
	if t.opt.FailedState != nil {
		p.StateName = t.opt.FailedState(ctx, p.ExecutionID)
	}
	if p.ErrorName == "" {
		p.ErrorName = string(ErrRuntime)
	}
	refused := p.ErrorName == string(errcode.ForbiddenReference) || p.ErrorName == string(errcode.AlreadyProcessed)
	if m := in.State.Media; m != nil && m.ID != "" && !refused {
		if _, err := s.Media(ctx, m, "/state/media"); err != nil {
			// A forged reference is recorded for the tenant, not on the
			// media it names.
			p.Cause += " (media reference refused: " + errcode.MessageOf(err) + ")"
		} else {
			p.MediaID, p.BucketKey, p.UpdateMedia = m.ID, m.Key, true
		}
	} else if k, err := s.Bucket.Key(in.State.Key); err == nil {
		p.BucketKey = k.String()
	}
	f, err := s.Catalog.FailureRecord(ctx, p)
	if err != nil {
		return nil, err
	}
	kind := in.State.Classify.Kind
	if kind == "" && p.ErrorName == string(errcode.MediaUnsupported) {
		kind = types.KindUnsupported // refused by the probe itself
	}
	if p.UpdateMedia && kind != "" {
		// The kind filter finds failed items too (unsupported ones above all).
		if _, err := s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: p.MediaID, Kind: kind}); err != nil {
			t.log.Warn("pipeline: recording the kind of a failed item", "media_id", p.MediaID, "kind", kind, "err", err)
		}
	}
	t.mediaDone(types.StatusFailed)
	t.log.Warn("pipeline: media failed", "media_id", p.MediaID, "tenant", s.Tenant, "state", p.StateName, "error", p.ErrorName, "cause", p.Cause)
	return json.Marshal(f)
}

// Notify announces a failure of the execution's tenant: an event on the
// bus, the configured signed webhook, and an alert when the tenant's
// failures in the window pass the threshold.
func (t *Tasks) Notify(ctx context.Context, c Call) (json.RawMessage, error) {
	var in struct {
		Failure *catalog.Failure `json:"failure"`
	}
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	f := in.Failure
	if f == nil {
		return nil, errcode.New(errcode.Invalid, "notify: no failure in the input")
	}
	if f.TenantID != s.Tenant {
		return nil, forbidden("/failure/tenant_id: %q is not the execution's tenant %q", f.TenantID, s.Tenant)
	}
	detail := map[string]any{"failure": f}
	n := t.cfg.Notify
	recent, err := s.Catalog.FailureList(ctx, catalog.FailureListParams{Since: t.opt.Now().Add(-n.AlertWindow.Duration), Limit: 1000})
	alert := err == nil && len(recent.Failures) >= n.AlertThreshold
	if alert {
		detail["alert"] = map[string]any{"failures_in_window": len(recent.Failures), "window": n.AlertWindow.String(), "threshold": n.AlertThreshold}
	}
	ev := Event("Media Processing Failed", detail)
	if alert {
		ev = Event("Media Failure Alert", detail)
	}
	if t.opt.Bus != nil {
		if err := t.opt.Bus.Put(ctx, ev); err != nil {
			return nil, err
		}
	}
	sent := false
	if n.WebhookURL != "" {
		body, _ := json.Marshal(ev)
		if err := t.opt.Webhook.Deliver(ctx, n.WebhookURL, ev.ID, body); err != nil {
			return nil, errcode.Wrap(errcode.ProviderTransient, err, "notify webhook")
		}
		sent = true
	}
	return json.Marshal(map[string]any{"event_id": ev.ID, "webhook": sent, "alert": alert})
}
