package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/landfall/landfall/errcode"
)

func TestEnd(t *testing.T) {
	t.Parallel()
	p := newProcess(t)
	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	_, ok := p.tracer.Start(context.Background(), media, "analyser.run")
	End(ok, nil)
	_, bad := p.tracer.Start(context.Background(), media, "analyser.run")
	End(bad, errcode.Wrap(errcode.MediaCorrupt, errors.New("moov atom not found"), "probe %s", "clip.mp4"))
	_, plain := p.tracer.Start(context.Background(), media, "analyser.run")
	End(plain, errors.New("boom"))
	spans := p.rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	if spans[0].Status().Code != codes.Unset || attr(spans[0], ErrorTypeKey) != "" || len(spans[0].Events()) != 0 {
		t.Errorf("a span ended without error is marked failed: %v", spans[0].Status())
	}
	for i, want := range []string{string(errcode.MediaCorrupt), string(errcode.Unknown)} {
		s := spans[i+1]
		if s.Status().Code != codes.Error || attr(s, ErrorTypeKey) != want {
			t.Errorf("span %d: status %v, error.type %q, want Error and %q", i+1, s.Status(), attr(s, ErrorTypeKey), want)
		}
		if len(s.Events()) != 1 || s.Events()[0].Name != "exception" {
			t.Errorf("span %d: events %v, want the recorded error", i+1, s.Events())
		}
	}
	if !strings.Contains(spans[1].Status().Description, "moov atom not found") {
		t.Errorf("status description %q", spans[1].Status().Description)
	}
}

func TestHTTPHandler(t *testing.T) {
	t.Parallel()
	p := newProcess(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/media/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, s := p.tracer.Start(r.Context(), r.PathValue("id"), "catalog.get")
		s.End()
		w.Write([]byte("{}"))
	})
	mux.HandleFunc("POST /v1/media", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bucket down", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	h := p.tracer.HTTPHandler(mux, func(r *http.Request) bool { return r.URL.Path == "/healthz" })

	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	caller := "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tc := range []struct {
		method, path, traceparent string
		status                    int
	}{
		{"GET", "/v1/media/" + media, "00-" + caller + "-00f067aa0ba902b7-01", 200},
		{"POST", "/v1/media", "", 503},
		{"GET", "/healthz", "", 200},
		{"GET", "/nowhere", "", 404},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		if tc.traceparent != "" {
			req.Header.Set("traceparent", tc.traceparent)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Fatalf("%s %s: status %d", tc.method, tc.path, rec.Code)
		}
	}
	spans := p.rec.Ended()
	names := []string{}
	for _, s := range spans {
		names = append(names, s.Name())
	}
	if strings.Join(names, "|") != "catalog.get|GET /v1/media/{id}|POST /v1/media|GET" {
		t.Fatalf("spans %v", names)
	}
	get, mediaSpan, post, notFound := spans[1], spans[0], spans[2], spans[3]
	if get.SpanKind() != trace.SpanKindServer || get.SpanContext().TraceID().String() != caller || get.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("request span %v in trace %s with parent %s, want a server span continuing the caller's trace", get.SpanKind(), get.SpanContext().TraceID(), get.Parent().SpanID())
	}
	if attr(get, "http.route") != "/v1/media/{id}" || attr(get, "http.response.status_code") != "200" || attr(get, "url.path") != "/v1/media/"+media {
		t.Errorf("request span attributes %v", get.Attributes())
	}
	if mediaSpan.SpanContext().TraceID() != TraceID(media) || len(mediaSpan.Links()) != 1 || mediaSpan.Links()[0].SpanContext.SpanID() != get.SpanContext().SpanID() {
		t.Errorf("media span in trace %s with links %v, want the media trace linked to the request", mediaSpan.SpanContext().TraceID(), mediaSpan.Links())
	}
	if post.Status().Code != codes.Error || attr(post, "http.response.status_code") != "503" {
		t.Errorf("503 span status %v", post.Status())
	}
	if notFound.Status().Code != codes.Unset || attr(notFound, "http.response.status_code") != "404" {
		t.Errorf("404 span status %v, %v", notFound.Status(), notFound.Attributes())
	}
}
