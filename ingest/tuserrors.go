package ingest

import (
	"bytes"
	"log/slog"
	"net/http"

	"github.com/landfall/landfall/errcode"
)

// hideInternalErrors turns the tus handler's own server errors (a full
// disk, a chunk file that went missing) into the API's generic internal
// problem: the tus library writes an error's text into the response, and
// file-system errors name the upload folder. The text is logged instead.
func hideInternalErrors(h http.Handler, problem func(http.ResponseWriter, *http.Request, error), log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		iw := &internalErrorWriter{ResponseWriter: w}
		h.ServeHTTP(iw, r)
		if iw.status >= 500 {
			log.Error("resumable upload failed", "status", iw.status, "path", r.URL.Path, "err", iw.body.String())
			w.Header().Del("Content-Length")
			problem(w, r, errcode.New(errcode.Unknown, "resumable upload failed"))
		}
	})
}

// internalErrorWriter holds back a 5xx response's status and body.
type internalErrorWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *internalErrorWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if code < 500 {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *internalErrorWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status >= 500 {
		if w.body.Len() < 4096 {
			w.body.Write(p)
		}
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

func (w *internalErrorWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
