// Package telemetry gives Landfall OpenTelemetry traces in which every span
// about one media item, in any process, belongs to one trace.
//
// Media ids are UUIDs, 16 bytes, and so is a W3C trace id: the trace id of a
// media item IS its id's bytes (TraceID). The API that accepts an upload,
// the bus that routes its Object Created event and every worker that runs
// one of its workflow's tasks call Start with the media id; each span's
// parent is then either a span of the same trace already in the context or
// a synthetic remote parent (MediaContext) whose ids are computed from the
// media id alone. Nothing is carried through the database or the job queue,
// yet a trace viewer shows the whole life of the file under one trace id,
// and an operator who knows a media id knows its trace id: the id without
// its hyphens.
//
// Setup installs the process-wide tracer provider that exports spans over
// OTLP/HTTP; without an endpoint it installs nothing and every span is a
// no-op. NewLogHandler adds trace_id and span_id to slog lines written in
// the context of a span.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// Config configures trace export.
type Config struct {
	// Endpoint is the OTLP/HTTP collector's base URL, e.g.
	// "http://127.0.0.1:4318"; spans are POSTed to its /v1/traces path
	// (a URL that already ends in /v1/traces is used as it is). The scheme
	// must be http or https. Empty turns tracing off.
	Endpoint string
	// ServiceName is the resource's service.name; "landfall" when empty.
	ServiceName string
	// Version is the resource's service.version; the binary's module
	// version from its build information when empty.
	Version string
	// Role is the resource's landfall.role: "all", "api" or "worker".
	Role string
	// SampleRatio is the fraction of media items (and of other root spans)
	// whose traces are recorded, in [0, 1]; 0 means 1, every trace. The
	// decision is a function of the trace id alone, so every process makes
	// the same one for a media item and a trace is kept or dropped whole.
	// To record nothing, leave Endpoint empty.
	SampleRatio float64
	// Headers are sent with every export request, e.g. an authorisation
	// header for a hosted collector.
	Headers map[string]string
}

// ConfigError reports an invalid Config field.
type ConfigError struct {
	Field string // "Endpoint", "SampleRatio", …
	Value string
	Msg   string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("telemetry: %s %q: %s", e.Field, e.Value, e.Msg)
}

// Setup installs a global tracer provider that batches spans and exports
// them to cfg.Endpoint over OTLP/HTTP (protobuf, gzip), with the resource
// attributes service.name, service.version and landfall.role (and the SDK's
// defaults, including OTEL_RESOURCE_ATTRIBUTES), the W3C trace-context and
// baggage propagators, and an OpenTelemetry error handler that logs export
// failures with slog.
//
// When cfg.Endpoint is empty Setup installs nothing: the global provider
// stays the no-op one, Start returns non-recording spans, and the returned
// shutdown does nothing.
//
// The returned shutdown flushes the spans still queued and stops the
// exporter; call it once, with a deadline, as the process stops. Spans
// started after it are dropped.
func Setup(ctx context.Context, cfg Config) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if cfg.Endpoint == "" {
		return noop, nil
	}
	endpoint, err := tracesURL(cfg.Endpoint)
	if err != nil {
		return noop, err
	}
	sampler, err := NewSampler(cfg.SampleRatio)
	if err != nil {
		return noop, err
	}
	for k := range cfg.Headers {
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return noop, &ConfigError{Field: "Headers", Value: k, Msg: "not a valid header name"}
		}
	}
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(endpoint),
		otlptracehttp.WithHeaders(cfg.Headers),
		otlptracehttp.WithCompression(otlptracehttp.GzipCompression),
	)
	if err != nil {
		return noop, fmt.Errorf("telemetry: OTLP/HTTP exporter for %s: %w", endpoint, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(ResourceAttributes(cfg)...))
	if err != nil {
		return noop, fmt.Errorf("telemetry: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		slog.Warn("telemetry: "+err.Error(), "endpoint", endpoint)
	}))
	return func(ctx context.Context) error {
		// ForceFlush reports a failed export; Shutdown alone only logs it.
		err := errors.Join(tp.ForceFlush(ctx), tp.Shutdown(ctx))
		if err != nil {
			return fmt.Errorf("telemetry: flush spans to %s: %w", endpoint, err)
		}
		return nil
	}, nil
}

// ResourceAttributes returns the attributes that Setup puts on the
// resource of every span: service.name, service.version and landfall.role.
func ResourceAttributes(cfg Config) []attribute.KeyValue {
	name := cfg.ServiceName
	if name == "" {
		name = "landfall"
	}
	version := cfg.Version
	if version == "" {
		version = "(devel)"
		if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
			version = bi.Main.Version
		}
	}
	attrs := []attribute.KeyValue{
		attribute.String("service.name", name),
		attribute.String("service.version", version),
	}
	if cfg.Role != "" {
		attrs = append(attrs, attribute.String("landfall.role", cfg.Role))
	}
	return attrs
}

// tracesURL turns a collector's base URL into its traces URL.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "", &ConfigError{Field: "Endpoint", Value: endpoint, Msg: err.Error()}
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", &ConfigError{Field: "Endpoint", Value: endpoint, Msg: "scheme must be http or https (OTLP/HTTP)"}
	case u.Host == "":
		return "", &ConfigError{Field: "Endpoint", Value: endpoint, Msg: "no host"}
	case u.User != nil:
		return "", &ConfigError{Field: "Endpoint", Value: endpoint, Msg: "credentials belong in Headers, not in the URL"}
	case u.RawQuery != "" || u.Fragment != "":
		return "", &ConfigError{Field: "Endpoint", Value: endpoint, Msg: "no query or fragment allowed"}
	}
	if !strings.HasSuffix(u.Path, "/v1/traces") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	}
	return u.String(), nil
}
