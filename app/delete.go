package app

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/workflow"
)

// deleter removes media items for the API.
type deleter struct{ a *App }

// DeleteMedia removes a tenant's media item: it stops the item's running
// executions, removes its original object and its processed/ and work/
// artefacts (and this process's work folder for it), then the record with
// its search entries and failures. Objects go before the record, so a
// delete cut short leaves a record to delete again rather than objects
// the reconciler would take for a new upload. Usage entries stay.
func (d deleter) DeleteMedia(ctx context.Context, tenant, id string) (*apiserver.MediaDeleted, error) {
	a := d.a
	if err := identity.CheckTenantID(tenant); err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "tenant")
	}
	if err := pipeline.CheckMediaID(id); err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "id")
	}
	m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id, TenantID: tenant})
	if err != nil {
		return nil, err
	}
	out := &apiserver.MediaDeleted{ID: id, StoppedExecutions: []string{}, Objects: []string{}}
	xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: id, Tenant: tenant,
		Status: workflow.StatusRunning, Limit: 1000})
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		_, err := a.Engine.StopExecution(ctx, x.ARN, "Landfall.Deleted", "the media item was deleted")
		if err != nil && !errors.Is(err, errcode.FailedPrecond) && !errors.Is(err, errcode.NotFound) {
			return nil, err
		}
		if err == nil {
			out.StoppedExecutions = append(out.StoppedExecutions, x.ARN)
		}
	}
	keys := []string{}
	if m.BucketKey != "" {
		keys = append(keys, m.BucketKey)
	}
	for _, area := range []string{pipeline.AreaProcessed, pipeline.AreaWork} {
		it := a.Bucket.List(&blob.ListOptions{Prefix: area + "/" + tenant + "/" + id + "/"})
		for {
			o, err := it.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, err
			}
			if !o.IsDir && o.Key != m.BucketKey {
				keys = append(keys, o.Key)
			}
		}
	}
	for _, k := range keys {
		err := a.Bucket.Delete(ctx, k)
		if errors.Is(err, errcode.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Objects = append(out.Objects, k)
	}
	dir := filepath.Join(a.Cfg.Data, "work", tenant, id)
	_ = filepath.WalkDir(dir, func(_ string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			out.WorkFiles++
		}
		return nil
	})
	if err := os.RemoveAll(dir); err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "removing the work folder")
	}
	res, err := a.Catalog.MediaDelete(ctx, &catalog.MediaDeleteParams{ID: id, TenantID: tenant, Failures: true})
	if err != nil {
		return nil, err
	}
	out.Record, out.SearchEntries, out.Failures = true, res.SearchEntries, res.Failures
	a.Log.Info("media deleted", "media_id", id, "tenant", tenant, "objects", len(out.Objects), "stopped", len(out.StoppedExecutions),
		"failures", out.Failures, "search_entries", out.SearchEntries)
	return out, nil
}
