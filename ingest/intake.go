package ingest

import (
	"context"
	"encoding/json"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/pipeline"
)

// IntakeResult is the answer to an S3 event notification.
type IntakeResult struct {
	// Events is how many Object Created events went on the bus.
	Events int `json:"events"`
	// AlreadyProcessed are keys whose media item already finished
	// (SUCCEEDED or FAILED): a repeated delivery does not run it again.
	AlreadyProcessed []string `json:"already_processed,omitempty"`
	// Ignored are keys of Landfall's own writes (processed/, work/) that a
	// bucket's notifications echo back; they start nothing.
	Ignored []string `json:"ignored,omitempty"`
}

// Intake puts the Object Created events of an S3 event notification on
// the bus. The caller (identity.FromContext) may name only keys under its
// own tenant's incoming/ folder, in this installation's bucket; an admin
// may name any existing tenant's. A key with "..", of an unknown tenant
// or outside the layout refuses the whole notification, naming the
// record: no tenant is ever created from a key. Objects whose media
// already finished are answered as such and not put on the bus.
func (s *Service) Intake(ctx context.Context, body []byte) (*IntakeResult, error) {
	p, ok := identity.FromContext(ctx)
	if !ok {
		return nil, errcode.New(errcode.Unauthenticated, "intake: no authenticated caller")
	}
	evs, err := ParseNotification(body)
	if err != nil {
		return nil, err
	}
	res := &IntakeResult{}
	var put []bus.Event
	known := map[string]bool{}
	for i, ev := range evs {
		var d bus.ObjectCreatedDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "record %d: detail", i)
		}
		key := d.Object.Key
		if d.Bucket.Name != s.opt.BucketName {
			return nil, errcode.New(errcode.PermissionDenied, "record %d: bucket %q is not this installation's bucket %q", i, d.Bucket.Name, s.opt.BucketName)
		}
		k, err := pipeline.ParseKey(key)
		if err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "record %d", i)
		}
		if !p.ActsFor(k.Tenant) {
			return nil, errcode.New(errcode.PermissionDenied, "record %d: key %q is under tenant %q's folder; this caller acts for %q", i, key, k.Tenant, p.Tenant)
		}
		if !known[k.Tenant] {
			if err := s.tenant(ctx, k.Tenant); err != nil {
				return nil, errcode.Wrap(errcode.Of(err), err, "record %d: key %q", i, key)
			}
			known[k.Tenant] = true
		}
		if k.Area != pipeline.AreaIncoming {
			res.Ignored = append(res.Ignored, key)
			continue
		}
		scope, err := pipeline.NewScope(k.Tenant, s.opt.BucketName, s.opt.Bucket, s.opt.Catalog)
		if err != nil {
			return nil, err
		}
		m, _, err := pipeline.FindMedia(ctx, scope.Catalog, k, d.Object.ETag)
		if err != nil {
			return nil, err
		}
		if m != nil && pipeline.Finished(m.Status) {
			res.AlreadyProcessed = append(res.AlreadyProcessed, key)
			continue
		}
		put = append(put, ev)
	}
	if len(put) == 0 {
		return res, nil
	}
	if s.opt.Bus == nil {
		return nil, errcode.New(errcode.Unavailable, "no event bus on this server role")
	}
	if err := s.opt.Bus.Put(ctx, put...); err != nil {
		return nil, err
	}
	res.Events = len(put)
	return res, nil
}
