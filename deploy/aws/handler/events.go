package handler

import (
	"context"
	"encoding/json"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// eventCatalog publishes the events a task writes with a media row (the
// outbox of the local engine) to EventBridge's default bus, after the row
// is written. A publish that fails fails the task, and Step Functions
// retries it: consumers get each event at least once, as locally.
type eventCatalog struct {
	catalog.Store
	eb *eventbridge.Client
}

func (c *eventCatalog) MediaCreate(ctx context.Context, p *catalog.MediaCreateParams) (*catalog.Media, error) {
	q := *p
	q.Events = nil
	m, err := c.Store.MediaCreate(ctx, &q)
	if err != nil {
		return nil, err
	}
	return m, c.publish(ctx, p.Events)
}

func (c *eventCatalog) MediaUpdate(ctx context.Context, p *catalog.MediaUpdateParams) (*catalog.Media, error) {
	q := *p
	q.Events = nil
	m, err := c.Store.MediaUpdate(ctx, &q)
	if err != nil {
		return nil, err
	}
	return m, c.publish(ctx, p.Events)
}

// publish puts events (bus.Event JSON) on the default bus, ten at a time.
func (c *eventCatalog) publish(ctx context.Context, evs []catalog.OutboxEvent) error {
	for len(evs) > 0 {
		n := min(len(evs), 10)
		var entries []ebtypes.PutEventsRequestEntry
		for _, e := range evs[:n] {
			// The outbox row is the bus's envelope: {"bus", "event"}.
			var env struct {
				Bus   string          `json:"bus"`
				Event json.RawMessage `json:"event"`
			}
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detail-type"`
				Resources  []string        `json:"resources"`
				Detail     json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(e.Payload, &env); err != nil || json.Unmarshal(env.Event, &ev) != nil || ev.Source == "" || ev.DetailType == "" {
				return errcode.New(errcode.Invalid, "event %s: not a bus event with source and detail-type", e.ID)
			}
			if env.Bus == "" {
				env.Bus = "default"
			}
			entries = append(entries, ebtypes.PutEventsRequestEntry{Source: awssdk.String(ev.Source), DetailType: awssdk.String(ev.DetailType),
				Detail: awssdk.String(string(ev.Detail)), Resources: ev.Resources, EventBusName: awssdk.String(env.Bus)})
		}
		out, err := c.eb.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return errcode.Wrap(errcode.ProviderTransient, err, "EventBridge PutEvents")
		}
		if out.FailedEntryCount > 0 {
			for _, r := range out.Entries {
				if r.ErrorCode != nil {
					return errcode.New(errcode.ProviderTransient, "EventBridge PutEvents: %d of %d events refused: %s: %s", out.FailedEntryCount, n,
						awssdk.ToString(r.ErrorCode), awssdk.ToString(r.ErrorMessage))
				}
			}
			return errcode.New(errcode.ProviderTransient, "EventBridge PutEvents: %d events refused", out.FailedEntryCount)
		}
		evs = evs[n:]
	}
	return nil
}
