package telemetry

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

func TestTracesURL(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/endpoints.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if strings.HasPrefix(sc.Text(), "#") || sc.Text() == "" {
			continue
		}
		cols := strings.Split(sc.Text(), "\t")
		got, err := tracesURL(cols[0])
		if cols[1] == "error" {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != cols[2] || ce.Value != cols[0] {
				t.Errorf("testdata/endpoints.tsv:%d: tracesURL(%q) = %q, %v; want a ConfigError on %s", line, cols[0], got, err, cols[2])
			}
			continue
		}
		if err != nil || got != cols[1] {
			t.Errorf("testdata/endpoints.tsv:%d: tracesURL(%q) = %q, %v; want %q", line, cols[0], got, err, cols[1])
		}
	}
}

func TestSetupRejectsInvalidConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Endpoint: "grpc://127.0.0.1:4317"}, "Endpoint"},
		{Config{Endpoint: "http://127.0.0.1:4318", SampleRatio: 1.01}, "SampleRatio"},
		{Config{Endpoint: "http://127.0.0.1:4318", Headers: map[string]string{"Bad Name": "x"}}, "Headers"},
	} {
		shutdown, err := Setup(context.Background(), tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("Setup(%+v) error %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
		if shutdown == nil || shutdown(context.Background()) != nil {
			t.Errorf("Setup(%+v): shutdown must be a no-op after an error", tc.cfg)
		}
	}
}

// The tests below change the global tracer provider and do not run in
// parallel.

func TestSetupWithoutEndpointInstallsNothing(t *testing.T) {
	before := otel.GetTracerProvider()
	shutdown, err := Setup(context.Background(), Config{ServiceName: "landfall", Role: "api"})
	if err != nil {
		t.Fatal(err)
	}
	if otel.GetTracerProvider() != before {
		t.Fatal("Setup without an endpoint replaced the global tracer provider")
	}
	if err := shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// receiver is a loopback OTLP/HTTP trace collector.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []*coltracepb.ExportTraceServiceRequest
	hdr []http.Header
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msg coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(b, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, &msg)
		r.hdr = append(r.hdr, req.Header.Clone())
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// exported is one received span with its resource.
type exported struct {
	span     *tracepb.Span
	resource map[string]string
}

func (r *receiver) spans() []exported {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []exported
	for _, req := range r.got {
		for _, rs := range req.GetResourceSpans() {
			res := attrs(rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					out = append(out, exported{span: s, resource: res})
				}
			}
		}
	}
	return out
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return m
}

func TestSetupExportsSpansOnShutdown(t *testing.T) {
	rcv := newReceiver(t)
	ctx := context.Background()
	shutdown, err := Setup(ctx, Config{
		Endpoint:    rcv.srv.URL,
		ServiceName: "landfall-test",
		Version:     "v1.2.3",
		Role:        "worker",
		Headers:     map[string]string{"X-Landfall-Collector-Key": "k1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	tctx, task := Start(ctx, media, "workflow.task")
	_, run := Start(tctx, media, "analyser.run")
	run.End()
	task.End()
	_, other := Start(ctx, "incoming/acme/clip.mp4", "bus.deliver")
	other.End()

	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	spans := rcv.spans()
	if len(spans) != 3 {
		t.Fatalf("received %d spans, want 3", len(spans))
	}
	byName := map[string]exported{}
	for _, s := range spans {
		byName[s.span.GetName()] = s
		for k, want := range map[string]string{"service.name": "landfall-test", "service.version": "v1.2.3", "landfall.role": "worker", "telemetry.sdk.language": "go"} {
			if got := s.resource[k]; got != want {
				t.Errorf("%s: resource %s = %q, want %q", s.span.GetName(), k, got, want)
			}
		}
	}
	want := []byte{0x01, 0x90, 0xf5, 0xc2, 0xa3, 0xb4, 0x7c, 0x3d, 0x8e, 0x9f, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55}
	for _, name := range []string{"workflow.task", "analyser.run"} {
		s := byName[name].span
		if string(s.GetTraceId()) != string(want) {
			t.Errorf("%s: trace id %x, want the media id's bytes %x", name, s.GetTraceId(), want)
		}
		if got := attrs(s.GetAttributes())[string(MediaIDKey)]; got != media {
			t.Errorf("%s: %s = %q", name, MediaIDKey, got)
		}
	}
	if got, want := byName["workflow.task"].span.GetParentSpanId(), MediaSpanContext(media).SpanID(); string(got) != string(want[:]) {
		t.Errorf("workflow.task parent %x, want the media's synthetic parent %s", got, want)
	}
	if string(byName["analyser.run"].span.GetParentSpanId()) != string(byName["workflow.task"].span.GetSpanId()) {
		t.Errorf("analyser.run is not a child of workflow.task")
	}
	if got, want := byName["bus.deliver"].span.GetTraceId(), TraceID("incoming/acme/clip.mp4"); string(got) != string(want[:]) {
		t.Errorf("bus.deliver: trace id %x, want %s", got, want)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, h := range rcv.hdr {
		if h.Get("X-Landfall-Collector-Key") != "k1" {
			t.Errorf("export request without the configured header: %v", h)
		}
	}
}

func TestShutdownReportsAFailedExport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unknown tenant", http.StatusBadRequest)
	}))
	defer srv.Close()
	shutdown, err := Setup(context.Background(), Config{Endpoint: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, s := Start(context.Background(), "0190f5c2-a3b4-7c3d-8e9f-001122334455", "workflow.task")
	s.End()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = shutdown(ctx)
	if err == nil || !strings.Contains(err.Error(), srv.URL+"/v1/traces") || !strings.Contains(err.Error(), "400") {
		t.Fatalf("shutdown error %v, want the failed export to %s/v1/traces", err, srv.URL)
	}
}

func FuzzTracesURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:4318", "https://h/otlp/", "http://[::1]:4318/v1/traces", "ftp://x", "http://u@h", "%zz", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, endpoint string) {
		if len(endpoint) > 2048 {
			return
		}
		got, err := tracesURL(endpoint)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != "Endpoint" {
				t.Fatalf("tracesURL(%q) error %v is not a ConfigError on Endpoint", endpoint, err)
			}
			return
		}
		u, err := url.Parse(got)
		if err != nil {
			t.Fatalf("tracesURL(%q) = %q, which does not parse: %v", endpoint, got, err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !strings.HasSuffix(u.Path, "/v1/traces") || u.User != nil {
			t.Fatalf("tracesURL(%q) = %q", endpoint, got)
		}
		if again, err := tracesURL(got); err != nil || again != got {
			t.Fatalf("tracesURL(%q) = %q, then %q, %v: not idempotent", endpoint, got, again, err)
		}
	})
}
