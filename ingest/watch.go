package ingest

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
)

// Watch polls incoming/ in the bucket for objects that no upload created
// (files dropped into the bucket folder, or written by another tool) and
// registers each once it has stopped changing: a media row with its Object
// Created event. It returns when ctx ends.
func (s *Service) Watch(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 2 * time.Second
	}
	seen := map[string]obs{} // key → last observation
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.scan(ctx, seen); err != nil && ctx.Err() == nil {
			s.log.Warn("watch: scan failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

type obs struct {
	size    int64
	mod     time.Time
	settled bool // registered or known
}

func (s *Service) scan(ctx context.Context, seen map[string]obs) error {
	it := s.opt.Bucket.List(&blob.ListOptions{Prefix: pipeline.AreaIncoming + "/"})
	live := map[string]bool{}
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if o.IsDir {
			continue
		}
		live[o.Key] = true
		prev, ok := seen[o.Key]
		if ok && prev.settled {
			continue
		}
		cur := obs{size: o.Size, mod: o.ModTime}
		// Register only what has not changed since the last scan.
		if !ok || prev.size != cur.size || !prev.mod.Equal(cur.mod) {
			seen[o.Key] = cur
			continue
		}
		done, err := s.RegisterObject(ctx, o.Key, o.Size)
		if err != nil {
			s.log.Warn("watch: cannot register", "key", o.Key, "err", err)
			// A bad key will not get better; an unknown tenant is looked at
			// again after a restart or when the object changes.
			cur.settled = errcode.Of(err) == errcode.Invalid || errcode.Of(err) == errcode.NotFound
		} else {
			cur.settled = done
		}
		seen[o.Key] = cur
	}
	for k := range seen {
		if !live[k] {
			delete(seen, k)
		}
	}
	return nil
}

// RegisterObject creates the media row and Object Created event for an
// incoming object that has no row (a dropped file, or an upload stored
// before its row was written), so the pipeline starts as for any upload.
// An object named by an upload keeps that upload's media id. It reports
// whether the key is settled (registered now or before). The key's tenant
// folder must name an existing, enabled tenant (else errcode.NotFound or
// errcode.FailedPrecond): no tenant is created from a key; a key outside
// the incoming layout is errcode.Invalid.
func (s *Service) RegisterObject(ctx context.Context, key string, size int64) (bool, error) {
	k, err := pipeline.ParseIncoming(key)
	if err != nil {
		return false, errcode.Wrap(errcode.Invalid, err, "watch")
	}
	// Objects an upload created are named by their media id.
	if k.Uploaded() {
		if _, err := s.opt.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: k.MediaID, TenantID: k.Tenant}); err == nil {
			return true, nil
		}
	}
	if err := s.tenant(ctx, k.Tenant); err != nil {
		return false, err
	}
	attrs, err := s.opt.Bucket.Attributes(ctx, key)
	if err != nil {
		return false, err
	}
	id := pipeline.DroppedMediaID(key, attrs.ETag)
	if k.Uploaded() {
		id = k.MediaID
	}
	ev := bus.ObjectCreated(s.opt.BucketName, bus.ObjectDetail{Key: key, Size: size, ETag: attrs.ETag}, "PutObject", s.opt.Now())
	row, err := bus.OutboxEvent(ev)
	if err != nil {
		return false, err
	}
	_, err = s.opt.Catalog.MediaCreate(ctx, &catalog.MediaCreateParams{ID: id, TenantID: k.Tenant, BucketKey: key,
		Filename: k.Base(), ContentType: attrs.ContentType, Size: size, SHA256: attrs.SHA256, Events: []catalog.OutboxEvent{row}})
	if errors.Is(err, errcode.AlreadyExists) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if s.opt.Bus != nil {
		s.opt.Bus.Notify()
	}
	s.log.Info("ingest: registered incoming object without a record", "media_id", id, "tenant", k.Tenant, "key", key, "event_id", ev.ID)
	return true, nil
}
