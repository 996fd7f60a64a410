package pipeline

import (
	"context"
	"errors"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Error names recorded on media items that no execution processed.
const (
	// ErrNoRuleMatched: the object's event matched no rule that starts the
	// pipeline; the item is SKIPPED.
	ErrNoRuleMatched = "Landfall.NoRuleMatched"
	// ErrNotStarted: a rule matched but starting its execution failed for
	// good; the item is FAILED.
	ErrNotStarted = "Landfall.NotStarted"
)

// Unstarted settles the media item of an incoming object whose event
// started no execution: SKIPPED with reason, or FAILED with reason when
// gaveUp (a matching rule's start failed for good). The row is created
// when there is none and the object exists (a dropped file); an event
// naming no stored object changes nothing. An item that is already past
// PENDING is left as it is, so a redelivered event changes nothing.
// It returns the item and whether it changed it.
func Unstarted(ctx context.Context, s *Scope, k Key, etag string, size int64, reason string, gaveUp bool) (*catalog.Media, bool, error) {
	m, id, err := FindMedia(ctx, s.Catalog, k, etag)
	if err != nil {
		return nil, false, err
	}
	if m == nil {
		ok, err := s.Bucket.Exists(ctx, k.String())
		if err != nil || !ok {
			return nil, false, err
		}
		m, err = s.Catalog.MediaCreate(ctx, catalog.MediaCreateParams{ID: id, BucketKey: k.String(), Filename: k.Base(), Size: size})
		if errors.Is(err, errcode.AlreadyExists) {
			m, err = s.Catalog.MediaGet(ctx, id)
		}
		if err != nil {
			return nil, false, err
		}
	}
	if m.Status != types.StatusPending {
		return m, false, nil
	}
	if gaveUp {
		if _, err := s.Catalog.FailureRecord(ctx, catalog.FailureRecordParams{MediaID: m.ID, BucketKey: m.BucketKey,
			ErrorName: ErrNotStarted, Cause: reason, UpdateMedia: true}); err != nil {
			return nil, false, err
		}
		m, err = s.Catalog.MediaGet(ctx, m.ID)
		return m, err == nil, err
	}
	mid := m.ID
	m, err = s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: mid, Version: m.Version, Status: types.StatusSkipped,
		Error: ErrNoRuleMatched, Cause: reason})
	if errors.Is(err, catalog.ErrVersionConflict) {
		// An execution took it meanwhile: leave it to that.
		m, err = s.Catalog.MediaGet(ctx, mid)
		return m, false, err
	}
	return m, err == nil, err
}
