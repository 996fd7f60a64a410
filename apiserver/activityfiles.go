package apiserver

import (
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
)

// HeaderTaskToken carries the task token of the activity task whose files
// a worker reads.
const HeaderTaskToken = "Landfall-Task-Token"

// activityFile serves an activity worker one file its running task names:
// the caller presents the task token (Landfall-Task-Token), and the key must
// lie in the prepared frames of a media item of the tenant whose execution
// waits on that task (work/<tenant>/<media id>/vision/…). Once the task
// ends (settled, timed out, stopped) its token reads nothing.
func (s *Server) activityFile(w http.ResponseWriter, r *http.Request) error {
	return serveActivityFile(w, r, r.PathValue("key"), s.cfg.Bucket, s.cfg.ActivityTasks)
}

// ActivityFiles serves GET /v1/activity-files/{key} as the server does, to
// callers its owner has already authenticated (a process's own supervised
// workers on a private loopback endpoint).
func ActivityFiles(bucket *blob.Bucket, tasks ActivityTasks) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/v1/activity-files/")
		if r.Method != http.MethodGet || !ok {
			WriteProblem(w, r, errcode.New(errcode.NotFound, "%s %s: not served here", r.Method, r.URL.Path))
			return
		}
		if err := serveActivityFile(w, r, key, bucket, tasks); err != nil {
			WriteProblem(w, r, err)
		}
	})
}

func serveActivityFile(w http.ResponseWriter, r *http.Request, key string, bucket *blob.Bucket, tasks ActivityTasks) error {
	token := r.Header.Get(HeaderTaskToken)
	if token == "" {
		return errcode.New(errcode.Invalid, "header %s: required (the token of the running activity task whose file this is)", HeaderTaskToken)
	}
	k, err := pipeline.ParseKey(key)
	if err != nil {
		return err
	}
	if k.Area != pipeline.AreaWork || !strings.HasPrefix(k.Name, "vision/") {
		return errcode.New(errcode.PermissionDenied, "%s: activity workers read a media item's prepared frames only (work/<tenant>/<media id>/vision/…)", key)
	}
	tenant, err := tasks.ActivityTaskTenant(r.Context(), token)
	if err != nil {
		return err
	}
	if tenant != k.Tenant {
		// Another tenant's file looks like a missing one.
		return errcode.New(errcode.NotFound, "%s: no such file for this task", key)
	}
	rd, err := bucket.NewReader(r.Context(), k.String(), nil)
	if err != nil {
		return err
	}
	defer rd.Close()
	w.Header().Set("Content-Type", rd.ContentType())
	w.Header().Set("Content-Length", strconv.FormatInt(rd.Size(), 10))
	w.Header().Set("Cache-Control", "no-store")
	_, err = io.Copy(w, rd)
	return err
}
