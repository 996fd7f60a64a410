package telemetry

import (
	"bufio"
	"net"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/landfall/landfall/errcode"
)

// ErrorTypeKey is the span attribute that End sets to a failure's ASL
// error name (errcode), e.g. "Media.Corrupt".
const ErrorTypeKey = attribute.Key("error.type")

// End ends span, first marking it failed when err is not nil: the error is
// recorded as an event, the status is Error with the error's text, and
// error.type is its errcode name (Media.Corrupt, Provider.Throttled, …),
// so a trace shows which Retry or Catch the failure met. Use it with a
// named result:
//
//	ctx, span := telemetry.Start(ctx, id, "analyser.run")
//	defer func() { telemetry.End(span, err) }()
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
		span.SetAttributes(ErrorTypeKey.String(string(errcode.Of(err))))
	}
	span.End()
}

// HTTPHandler wraps an HTTP handler with one server span per request, named
// "METHOD route" once a ServeMux has matched the route ("POST /v1/media"),
// as a child of the caller's span when the request carries W3C
// traceparent headers, with the method, route, path and response status. A 5xx status marks the span
// failed. Requests for which skip returns true (health checks, metrics
// scrapes) get no span; skip may be nil.
//
// A handler that learns the request's media id calls Start with it: the
// media span joins the media's trace and links to the request span.
func HTTPHandler(next http.Handler, skip func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		globalTracer().serveHTTP(next, skip, w, r)
	})
}

// HTTPHandler is the package-level HTTPHandler with t's provider.
func (t *Tracer) HTTPHandler(next http.Handler, skip func(*http.Request) bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.serveHTTP(next, skip, w, r)
	})
}

// propagator reads W3C trace context and baggage from request headers.
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

func (t *Tracer) serveHTTP(next http.Handler, skip func(*http.Request) bool, w http.ResponseWriter, r *http.Request) {
	if skip != nil && skip(r) {
		next.ServeHTTP(w, r)
		return
	}
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := t.tracer.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
		))
	defer span.End()
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(ctx)
	next.ServeHTTP(sw, r)
	if r.Pattern != "" {
		route := r.Pattern
		if i := strings.IndexByte(route, ' '); i >= 0 { // "GET /v1/media/{id}"
			route = route[i+1:]
		}
		span.SetName(r.Method + " " + route)
		span.SetAttributes(attribute.String("http.route", route))
	}
	status := sw.status
	if status == 0 {
		status = http.StatusOK
	}
	span.SetAttributes(attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
}

// statusWriter remembers the response status.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client (server-sent progress).
func (w *statusWriter) Flush() {
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands the connection over (WebSocket upgrades).
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

// Unwrap lets http.ResponseController reach Flush, Hijack (WebSockets) and
// deadlines on the wrapped writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

var (
	_ http.Flusher  = (*statusWriter)(nil)
	_ http.Hijacker = (*statusWriter)(nil)
)
