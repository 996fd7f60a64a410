package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// Reconciler timing: how often the api and all roles reconcile, and how
// old an incoming object without a record must be before it counts as
// orphaned (an upload writes its object before its record).
const (
	ReconcileEvery = time.Minute
	ReconcileGrace = 5 * time.Minute
)

// Error names the reconciler records.
const (
	// ErrAborted: the item's execution was stopped before it finished.
	ErrAborted = "Landfall.Aborted"
	// ErrResultsMissing: the execution succeeded but never recorded the
	// item's results.
	ErrResultsMissing = "Landfall.ResultsMissing"
	// ErrObjectMissing: a PENDING item's stored object is gone.
	ErrObjectMissing = "Landfall.ObjectMissing"
)

// AsideArea is where the reconciler moves incoming objects that no tenant
// can own (an unknown tenant folder, or a key outside the layout).
const AsideArea = "orphaned"

// ReconcileParams tune one reconciliation pass.
type ReconcileParams struct {
	// Grace is how old an incoming object without a record must be to be
	// registered or moved aside; ReconcileGrace when zero.
	Grace time.Duration
	// Stale is how long a PENDING item with no execution waits before its
	// Object Created event is put on the bus again (its event was lost, or
	// dead-lettered before the bus settled unrouted objects);
	// ReconcileStale when zero.
	Stale time.Duration
}

// ReconcileStale is ReconcileParams.Stale's default.
const ReconcileStale = 30 * time.Minute

// ReconcileReport says what one pass changed.
type ReconcileReport struct {
	// Settled are media ids whose ended execution's outcome was recorded.
	Settled []string `json:"settled,omitempty"`
	// Republished are media ids of stale PENDING items whose event was put
	// on the bus again.
	Republished []string `json:"republished,omitempty"`
	// Registered are incoming keys that got a record and their pipeline.
	Registered []string `json:"registered,omitempty"`
	// MovedAside maps incoming keys no tenant owns to where they went.
	MovedAside map[string]string `json:"moved_aside,omitempty"`
}

// Reconcile settles what a crash or a failing store left half-done:
//
//   - a media item PENDING or PROCESSING whose execution has ended
//     (FAILED, TIMED_OUT, ABORTED or SUCCEEDED per the engine) gets that
//     outcome: a failure with the execution's error and cause (one row per
//     media and execution), or SUCCEEDED when the pipeline recorded its
//     results;
//   - a media item PENDING with no execution for longer than Stale gets
//     its Object Created event put on the bus again, which starts its
//     pipeline or settles it SKIPPED (FAILED when its object is gone);
//   - an object under incoming/<tenant>/ older than the grace period with
//     no record is registered, which starts its pipeline as for a dropped
//     file; one whose tenant is unknown, or whose key is outside the
//     layout, is moved under orphaned/ with a logged reason.
//
// Each step is idempotent: a pass repeated or run by two processes at once
// records nothing twice.
func (a *App) Reconcile(ctx context.Context, p ReconcileParams) (*ReconcileReport, error) {
	if p.Grace <= 0 {
		p.Grace = ReconcileGrace
	}
	if p.Stale <= 0 {
		p.Stale = ReconcileStale
	}
	rep := &ReconcileReport{MovedAside: map[string]string{}}
	var errs []error
	if err := a.reconcileMedia(ctx, p, rep); err != nil {
		errs = append(errs, fmt.Errorf("reconcile media: %w", err))
	}
	if err := a.reconcileObjects(ctx, p.Grace, rep); err != nil {
		errs = append(errs, fmt.Errorf("reconcile incoming objects: %w", err))
	}
	return rep, errors.Join(errs...)
}

// runReconciler reconciles at once and then every interval until ctx
// ends.
func (a *App) runReconciler(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		rep, err := a.Reconcile(ctx, ReconcileParams{})
		if err != nil && ctx.Err() == nil {
			a.Log.Error("reconcile", "err", err)
		}
		if rep != nil && len(rep.Settled)+len(rep.Republished)+len(rep.Registered)+len(rep.MovedAside) > 0 {
			a.Log.Info("reconcile: settled", "media", rep.Settled, "republished", rep.Republished, "registered", rep.Registered,
				"moved_aside", rep.MovedAside)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (a *App) reconcileMedia(ctx context.Context, p ReconcileParams, rep *ReconcileReport) error {
	tenants, err := a.Catalog.TenantList(ctx, &catalog.TenantListParams{})
	if err != nil {
		return err
	}
	var errs []error
	for _, tn := range tenants {
		for _, st := range []types.Status{types.StatusProcessing, types.StatusPending} {
			cursor := ""
			for {
				page, err := a.Catalog.MediaList(ctx, &catalog.MediaListParams{TenantID: tn.ID, Status: st, Limit: 500, Cursor: cursor})
				if err != nil {
					errs = append(errs, err)
					break
				}
				for _, m := range page.Media {
					if m.Status == types.StatusPending && time.Since(m.UpdatedAt) < p.Grace {
						// Just stored or just redriven: its execution is
						// starting.
						continue
					}
					settled, ran, err := a.settleMedia(ctx, m)
					switch {
					case err != nil:
						errs = append(errs, fmt.Errorf("media %s: %w", m.ID, err))
					case settled:
						rep.Settled = append(rep.Settled, m.ID)
					case !ran && m.Status == types.StatusPending && time.Since(m.UpdatedAt) >= p.Stale:
						if err := a.republish(ctx, m); err != nil {
							errs = append(errs, fmt.Errorf("media %s: %w", m.ID, err))
						} else {
							rep.Republished = append(rep.Republished, m.ID)
						}
					}
				}
				if cursor = page.Next; cursor == "" {
					break
				}
			}
		}
	}
	return errors.Join(errs...)
}

// executionOf finds the media item's current execution: for a PROCESSING
// item the one its row names (the register task sets both at once), else
// the newest one correlated with it (a redrive starts a new one).
func (a *App) executionOf(ctx context.Context, m *catalog.Media) (*workflow.Execution, error) {
	if m.Status == types.StatusProcessing && m.ExecutionID != "" {
		ex, err := a.Engine.DescribeExecution(ctx, m.ExecutionID)
		if errors.Is(err, errcode.NotFound) {
			return nil, nil
		}
		return ex, err
	}
	xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Tenant: m.TenantID, Limit: 1})
	if err != nil || len(xs) == 0 {
		return nil, err
	}
	return a.Engine.DescribeExecution(ctx, xs[0].ARN)
}

// settleMedia records the outcome of a PENDING or PROCESSING item's ended
// execution. It reports whether it changed the item, and whether the item
// has an execution at all.
func (a *App) settleMedia(ctx context.Context, m *catalog.Media) (settled, ran bool, err error) {
	ex, err := a.executionOf(ctx, m)
	if err != nil || ex == nil {
		return false, false, err
	}
	if ex.Status == workflow.StatusRunning {
		return false, true, nil
	}
	settled, err = a.settleEnded(ctx, m, ex)
	return settled, true, err
}

// republish puts a stale PENDING item's Object Created event on the bus
// again, under an event id fixed per item so repeated passes start at most
// one execution; the bus then starts its pipeline or settles it. An item
// whose object is gone fails with the reason.
func (a *App) republish(ctx context.Context, m *catalog.Media) error {
	attrs, err := a.Bucket.Attributes(ctx, m.BucketKey)
	if errors.Is(err, errcode.NotFound) {
		_, err := a.Catalog.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: m.TenantID, BucketKey: m.BucketKey,
			ErrorName: ErrObjectMissing, Cause: fmt.Sprintf("the stored object of %s (%s) is gone", displayName(m), m.BucketKey), UpdateMedia: true})
		return err
	}
	if err != nil {
		return err
	}
	ev := bus.ObjectCreated(BucketName(a.Cfg.Blob), bus.ObjectDetail{Key: m.BucketKey, Size: attrs.Size, ETag: attrs.ETag}, "PutObject", time.Now())
	ev.ID = uuid.NewSHA1(republishNamespace, []byte(m.TenantID+"/"+m.ID)).String()
	err = a.Bus.Put(ctx, ev)
	if errors.Is(err, errcode.AlreadyExists) {
		return nil // still in the outbox from an earlier pass
	}
	if err == nil {
		a.Log.Warn("reconcile: put the event of a stale PENDING item on the bus again", "media_id", m.ID, "key", m.BucketKey, "event_id", ev.ID)
	}
	return err
}

// republishNamespace derives the event ids of republished items.
var republishNamespace = uuid.MustParse("6f1d3c1e-5a55-4c1b-9a57-2a4f3e0c9b71")

// settleEnded records the outcome of an item's ended execution.
func (a *App) settleEnded(ctx context.Context, m *catalog.Media, ex *workflow.Execution) (bool, error) {
	if ex.Status == workflow.StatusSucceeded {
		if m.Insights != nil || m.TranscriptKey != "" {
			_, err := a.Catalog.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: m.TenantID, Version: m.Version,
				Status: types.StatusSucceeded, ExecutionID: ex.ARN})
			if err == nil {
				a.Log.Warn("reconcile: media succeeded but was not marked so", "media_id", m.ID, "execution", ex.ARN)
			}
			return err == nil, ignoreConflict(err)
		}
		return a.recordEnded(ctx, m, ex, ErrResultsMissing, fmt.Sprintf("execution %s succeeded without recording the results of %s", ex.ARN, displayName(m)))
	}
	name, cause := ex.Error, ex.Cause
	if name == "" {
		switch ex.Status {
		case workflow.StatusTimedOut:
			name = "States.Timeout"
		case workflow.StatusAborted:
			name = ErrAborted
		default:
			name = "States.Runtime"
		}
	}
	if cause == "" {
		cause = fmt.Sprintf("execution %s ended %s while processing %s", ex.ARN, ex.Status, displayName(m))
	}
	return a.recordEnded(ctx, m, ex, name, cause)
}

// recordEnded marks the item FAILED for its ended execution, adding the
// failure row unless one for this media and execution exists.
func (a *App) recordEnded(ctx context.Context, m *catalog.Media, ex *workflow.Execution, name, cause string) (bool, error) {
	fl, err := a.Catalog.FailureList(ctx, &catalog.FailureListParams{TenantID: m.TenantID, MediaID: m.ID, Limit: 1000})
	if err != nil {
		return false, err
	}
	for _, f := range fl.Failures {
		if f.ExecutionID == ex.ARN {
			_, err := a.Catalog.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: m.TenantID, Version: m.Version,
				Status: types.StatusFailed, Error: f.ErrorName, Cause: f.Cause, ExecutionID: ex.ARN})
			return err == nil, ignoreConflict(err)
		}
	}
	cur, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID, TenantID: m.TenantID})
	if err != nil || cur.Version != m.Version {
		return false, ignoreConflict(err) // changed meanwhile: the next pass looks again
	}
	f, err := a.Catalog.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: m.TenantID, BucketKey: m.BucketKey,
		ExecutionID: ex.ARN, StateName: failedState(a.Engine)(ctx, ex.ARN), ErrorName: name, Cause: cause, UpdateMedia: true})
	if err != nil {
		return false, err
	}
	a.Metrics.mediaDone(string(types.StatusFailed))
	a.Log.Warn("reconcile: recorded the failure of an ended execution", "media_id", m.ID, "tenant", m.TenantID,
		"execution", ex.ARN, "status", ex.Status, "error", f.ErrorName, "cause", f.Cause)
	return true, nil
}

func ignoreConflict(err error) error {
	if errors.Is(err, catalog.ErrVersionConflict) {
		return nil
	}
	return err
}

// displayName names a media item for people: its file name, else its id.
func displayName(m *catalog.Media) string {
	if m.Filename != "" {
		return fmt.Sprintf("%q", m.Filename)
	}
	return m.ID
}

func (a *App) reconcileObjects(ctx context.Context, grace time.Duration, rep *ReconcileReport) error {
	it := a.Bucket.List(&blob.ListOptions{Prefix: pipeline.AreaIncoming + "/"})
	cutoff := time.Now().Add(-grace)
	var errs []error
	for {
		o, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		if o.IsDir || o.ModTime.After(cutoff) {
			continue
		}
		k, perr := pipeline.ParseIncoming(o.Key)
		if perr == nil {
			if m, _, err := a.findObjectMedia(ctx, k, o.Key); err != nil {
				errs = append(errs, err)
				continue
			} else if m {
				continue
			}
		}
		registered := false
		if perr == nil {
			registered, err = a.Ingest.RegisterObject(ctx, o.Key, o.Size)
		} else {
			err = errcode.Wrap(errcode.Invalid, perr, "key")
		}
		switch {
		case err == nil && registered:
			rep.Registered = append(rep.Registered, o.Key)
			a.Log.Warn("reconcile: registered an incoming object that had no record", "key", o.Key, "age", time.Since(o.ModTime).Round(time.Second))
		case err == nil:
		case errcode.Of(err) == errcode.NotFound || errcode.Of(err) == errcode.Invalid:
			dst := AsideArea + "/" + o.Key
			if merr := a.Bucket.Move(ctx, dst, o.Key); merr != nil {
				errs = append(errs, fmt.Errorf("moving %s aside: %w", o.Key, merr))
				continue
			}
			rep.MovedAside[o.Key] = dst
			a.Log.Warn("reconcile: moved aside an incoming object no tenant owns", "key", o.Key, "to", dst, "reason", errcode.MessageOf(err))
		case errcode.Of(err) == errcode.FailedPrecond:
			// A disabled tenant: its objects wait until it is enabled.
		default:
			errs = append(errs, fmt.Errorf("registering %s: %w", o.Key, err))
		}
	}
	return errors.Join(errs...)
}

// findObjectMedia reports whether an incoming object has a media record.
func (a *App) findObjectMedia(ctx context.Context, k pipeline.Key, key string) (bool, string, error) {
	if k.Uploaded() {
		_, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: k.MediaID, TenantID: k.Tenant})
		if err == nil {
			return true, k.MediaID, nil
		}
		if !errors.Is(err, errcode.NotFound) {
			return false, "", err
		}
	}
	attrs, err := a.Bucket.Attributes(ctx, key)
	if err != nil {
		return false, "", err
	}
	id := pipeline.DroppedMediaID(key, attrs.ETag)
	_, err = a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id, TenantID: k.Tenant})
	if errors.Is(err, errcode.NotFound) {
		return false, id, nil
	}
	return err == nil, id, err
}
