package ingest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tus/tusd/v2/pkg/filelocker"
	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	expslog "golang.org/x/exp/slog"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// ResumablePath is where the tus protocol is served.
const ResumablePath = "/v1/uploads/tus/"

// ResumableOptions configure resumable uploads.
type ResumableOptions struct {
	// Dir holds the chunks of uploads in progress.
	Dir string
	// AbortAfter is how long an incomplete upload may sit unwritten
	// before Janitor removes it.
	AbortAfter time.Duration
	// Status maps an error code to the HTTP status of a tus error
	// response; WriteProblem writes an error as a problem response. The
	// HTTP API provides both, so that statuses are decided in one place.
	Status       func(errcode.Code) int
	WriteProblem func(w http.ResponseWriter, r *http.Request, err error)
}

// Resumable serves resumable uploads with the tus protocol (tus.io):
// chunks land in opt.Dir, and when the last byte arrives the file is
// streamed into the bucket through the same path as a plain upload (media
// row and Object Created event in one transaction); the final response
// carries the media id in Landfall-Media-Id. Requests reach it
// authenticated: each upload belongs to the tenant of the principal that
// created it (identity.FromContext), and another tenant's key sees no such
// upload. Uploads left incomplete longer than opt.AbortAfter are removed
// by Janitor.
func (s *Service) Resumable(opt ResumableOptions) (http.Handler, *Janitor, error) {
	if opt.Status == nil || opt.WriteProblem == nil {
		return nil, nil, errcode.New(errcode.Invalid, "resumable uploads: Status and WriteProblem are required")
	}
	dir, abortAfter := opt.Dir, opt.AbortAfter
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	store := filestore.New(dir)
	composer := tusd.NewStoreComposer()
	store.UseIn(composer)
	filelocker.New(dir).UseIn(composer)
	h, err := tusd.NewHandler(tusd.Config{
		BasePath:             ResumablePath,
		StoreComposer:        composer,
		MaxSize:              s.opt.MaxBytes,
		DisableDownload:      true,
		DisableConcatenation: true,
		Logger:               expslog.New(expslog.NewTextHandler(io.Discard, nil)),
		PreUploadCreateCallback: func(ev tusd.HookEvent) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
			return s.tusCreate(ev, opt.Status)
		},
		PreFinishResponseCallback: func(ev tusd.HookEvent) (tusd.HTTPResponse, error) {
			return s.tusFinish(ev, store, opt.Status)
		},
	})
	if err != nil {
		return nil, nil, err
	}
	stripped := hideInternalErrors(http.StripPrefix(ResumablePath, h), opt.WriteProblem, s.log)
	guard := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := strings.Trim(strings.TrimPrefix(r.URL.Path, ResumablePath), "/")
		if id != "" && r.Method != http.MethodOptions {
			tenant := tenantOf(r.Context())
			up, err := store.GetUpload(r.Context(), id)
			if err == nil {
				var info tusd.FileInfo
				if info, err = up.GetInfo(r.Context()); err == nil && (tenant == "" || info.MetaData["tenant"] != tenant) {
					err = errors.New("other tenant")
				}
			}
			if err != nil {
				opt.WriteProblem(w, r, errcode.New(errcode.NotFound, "no upload %q", id))
				return
			}
		}
		stripped.ServeHTTP(w, r)
	})
	return guard, &Janitor{dir: dir, store: store, after: abortAfter, s: s}, nil
}

// tenantOf is the tenant the request's principal acts for ("" for a
// principal of no tenant, such as an admin or operator key).
func tenantOf(ctx context.Context) string {
	p, _ := identity.FromContext(ctx)
	return p.Tenant
}

// tusCreate checks the tenant and the declared size, and records the
// tenant on the upload (the client cannot choose it).
func (s *Service) tusCreate(ev tusd.HookEvent, status func(errcode.Code) int) (tusd.HTTPResponse, tusd.FileInfoChanges, error) {
	tenant := tenantOf(ev.Context)
	if tenant == "" {
		err := errcode.New(errcode.PermissionDenied, "resumable uploads are made for a tenant; this caller acts for none")
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("TENANT", errcode.MessageOf(err), status(errcode.Of(err)))
	}
	if err := s.tenant(ev.Context, tenant); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("TENANT", errcode.MessageOf(err), status(errcode.Of(err)))
	}
	if !ev.Upload.SizeIsDeferred && ev.Upload.Size == 0 {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("EMPTY", "upload is empty (Upload-Length: 0)", http.StatusBadRequest)
	}
	if err := s.checkStored(ev.Context, tenant, max(ev.Upload.Size, 1)); err != nil {
		return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError(string(errcode.Of(err)), errcode.MessageOf(err), status(errcode.Of(err)))
	}
	md := tusd.MetaData{"tenant": tenant}
	for _, k := range []string{"filename", "filetype", "vocabulary"} {
		if v := ev.Upload.MetaData[k]; strings.IndexByte(v, 0) >= 0 || catalog.InvalidUTF8At(v) >= 0 {
			return tusd.HTTPResponse{}, tusd.FileInfoChanges{}, tusd.NewError("METADATA",
				"Upload-Metadata "+k+": has a NUL byte or is not valid UTF-8", http.StatusBadRequest)
		}
		if v := ev.Upload.MetaData[k]; v != "" {
			md[k] = v
		}
	}
	return tusd.HTTPResponse{}, tusd.FileInfoChanges{MetaData: md}, nil
}

// tusFinish moves a completed upload into the bucket.
func (s *Service) tusFinish(ev tusd.HookEvent, store filestore.FileStore, status func(errcode.Code) int) (tusd.HTTPResponse, error) {
	info := ev.Upload
	path := info.Storage["Path"]
	f, err := os.Open(path)
	if err != nil {
		s.log.Error("resumable upload: completed upload is missing", "id", info.ID, "err", err)
		return tusd.HTTPResponse{}, tusd.NewError("STORE", "completed upload is missing", http.StatusInternalServerError)
	}
	defer f.Close()
	var vocab []string
	for _, w := range strings.Split(info.MetaData["vocabulary"], ",") {
		if w = strings.TrimSpace(w); w != "" {
			vocab = append(vocab, w)
		}
	}
	m, err := s.Upload(ev.Context, &UploadParams{Tenant: info.MetaData["tenant"], Filename: info.MetaData["filename"],
		ContentType: info.MetaData["filetype"], Size: info.Size, Body: f, Vocabulary: vocab})
	if err != nil {
		return tusd.HTTPResponse{}, tusd.NewError(string(errcode.Of(err)), errcode.MessageOf(err), status(errcode.Of(err)))
	}
	if up, err := store.GetUpload(context.WithoutCancel(ev.Context), info.ID); err == nil {
		_ = store.AsTerminatableUpload(up).Terminate(context.WithoutCancel(ev.Context))
	}
	return tusd.HTTPResponse{Header: tusd.HTTPHeader{"Landfall-Media-Id": m.ID, "Location": "/v1/media/" + m.ID}}, nil
}

// Janitor removes resumable uploads left incomplete too long.
type Janitor struct {
	dir   string
	store filestore.FileStore
	after time.Duration
	s     *Service
}

// Sweep removes every incomplete upload not written to for longer than
// the abort age, and returns how many it removed.
func (j *Janitor) Sweep(ctx context.Context) (int, error) {
	infos, err := filepath.Glob(filepath.Join(j.dir, "*.info"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range infos {
		id := strings.TrimSuffix(filepath.Base(p), ".info")
		bin := filepath.Join(j.dir, id)
		last := time.Time{}
		for _, q := range []string{p, bin} {
			if fi, err := os.Stat(q); err == nil && fi.ModTime().After(last) {
				last = fi.ModTime()
			}
		}
		if time.Since(last) < j.after {
			continue
		}
		up, err := j.store.GetUpload(ctx, id)
		if err != nil {
			continue
		}
		if err := j.store.AsTerminatableUpload(up).Terminate(ctx); err == nil {
			n++
			j.s.log.Info("resumable upload aborted: incomplete past the abort age", "upload", id, "age", time.Since(last).Round(time.Second).String())
		}
	}
	return n, nil
}

// Run sweeps every interval until ctx ends.
func (j *Janitor) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := j.Sweep(ctx); err != nil && ctx.Err() == nil {
			j.s.log.Warn("resumable janitor", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
