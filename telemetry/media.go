package telemetry

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of Landfall's spans.
const ScopeName = "github.com/landfall/landfall/telemetry"

// MediaIDKey is the span attribute that Start sets to the media id.
const MediaIDKey = attribute.Key("landfall.media_id")

// TraceID returns the trace id of a media item.
//
// A media id in the canonical UUID form (8-4-4-4-12 hexadecimal digits, of
// any case) is its own trace id: the UUID's 16 bytes, so that trace
// 0190f5c2a3b47c3d8e9f001122334455 is media 0190f5c2-a3b4-7c3d-8e9f-001122334455.
// Any other id, and the nil UUID (an all-zero trace id is invalid), maps to
// the first 16 bytes of the SHA-256 of the id's text. The empty id has no
// trace id: TraceID returns the invalid, all-zero one.
func TraceID(mediaID string) trace.TraceID {
	var id trace.TraceID
	if mediaID == "" {
		return id
	}
	if parseUUID(mediaID, &id) && id.IsValid() {
		return id
	}
	sum := sha256.Sum256([]byte(mediaID))
	copy(id[:], sum[:16])
	if !id.IsValid() { // 2⁻¹²⁸: keep the id valid all the same
		id[15] = 1
	}
	return id
}

// parseUUID decodes the canonical 36-character UUID form into id.
func parseUUID(s string, id *trace.TraceID) bool {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := unhex(s[i])
		lo, ok2 := unhex(s[i+1])
		if !ok1 || !ok2 {
			return false
		}
		id[j] = hi<<4 | lo
		j++
		i += 2
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// rootSpanID is the span id of a media trace's synthetic parent: the first
// 8 bytes of the SHA-256 of "landfall.media" and the trace id.
func rootSpanID(tid trace.TraceID) trace.SpanID {
	h := sha256.New()
	h.Write([]byte("landfall.media"))
	h.Write(tid[:])
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var sid trace.SpanID
	copy(sid[:], sum[:8])
	if !sid.IsValid() {
		sid[7] = 1
	}
	return sid
}

// MediaSpanContext returns the synthetic parent of every root span about
// the media item: remote, sampled, with TraceID(mediaID) and a span id
// derived from it. No process exports this span; trace viewers show the
// media's first spans as children of a missing root, one trace per item.
// It returns an invalid span context for the empty id.
func MediaSpanContext(mediaID string) trace.SpanContext {
	tid := TraceID(mediaID)
	if !tid.IsValid() {
		return trace.SpanContext{}
	}
	return trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    tid,
		SpanID:     rootSpanID(tid),
		TraceFlags: trace.FlagsSampled,
		Remote:     true,
	})
}

// isMediaRoot reports whether sc is a MediaSpanContext.
func isMediaRoot(sc trace.SpanContext) bool {
	return sc.IsRemote() && sc.SpanID() == rootSpanID(sc.TraceID())
}

// MediaContext returns ctx with the media item's synthetic remote parent
// (MediaSpanContext) as its span context, so that a span started from it
// joins the media's trace. A context whose span already belongs to that
// trace is returned unchanged, so spans nest as they ran; so is ctx for
// the empty id.
func MediaContext(ctx context.Context, mediaID string) context.Context {
	sc := MediaSpanContext(mediaID)
	if !sc.IsValid() || trace.SpanContextFromContext(ctx).TraceID() == sc.TraceID() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// Start starts a span about a media item with the global tracer provider
// (the one Setup installed; a no-op one without Setup). The span is a child
// of ctx's span when that belongs to the media's trace, else a child of the
// media's synthetic parent (MediaContext), linked to ctx's span if there is
// one, so that an HTTP request span and the media trace it touched point to
// each other. The span carries landfall.media_id and attrs. With an empty
// mediaID Start is an ordinary tracer.Start.
//
// End the span: ctx, span := telemetry.Start(ctx, id, "workflow.task"); defer span.End().
func Start(ctx context.Context, mediaID, spanName string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return globalTracer().Start(ctx, mediaID, spanName, attrs...)
}

// Tracer starts media spans with one tracer provider; Start uses the
// global one. Use NewTracer where a component holds its own provider.
type Tracer struct {
	tracer trace.Tracer
}

// NewTracer returns a Tracer over tp.
func NewTracer(tp trace.TracerProvider) *Tracer {
	return &Tracer{tracer: tp.Tracer(ScopeName)}
}

// Start is the package-level Start with t's provider.
func (t *Tracer) Start(ctx context.Context, mediaID, spanName string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if mediaID == "" {
		return t.tracer.Start(ctx, spanName, trace.WithAttributes(attrs...))
	}
	all := make([]attribute.KeyValue, 0, len(attrs)+1)
	all = append(all, MediaIDKey.String(mediaID))
	all = append(all, attrs...)
	opts := []trace.SpanStartOption{trace.WithAttributes(all...)}
	cur := trace.SpanContextFromContext(ctx)
	mctx := MediaContext(ctx, mediaID)
	if cur.IsValid() && trace.SpanContextFromContext(mctx).TraceID() != cur.TraceID() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: cur}))
	}
	return t.tracer.Start(mctx, spanName, opts...)
}

// cachedTracer is the Tracer of the current global provider; it is renewed
// when the global provider changes.
type cachedTracer struct {
	tp trace.TracerProvider
	t  *Tracer
}

var global atomic.Pointer[cachedTracer]

func globalTracer() *Tracer {
	tp := otel.GetTracerProvider()
	if c := global.Load(); c != nil && c.tp == tp {
		return c.t
	}
	c := &cachedTracer{tp: tp, t: NewTracer(tp)}
	global.Store(c)
	return c.t
}

// NewSampler returns Landfall's sampler. It keeps the fraction ratio of
// traces (0 means 1) by a hash of the trace id, and so decides the same for
// one media item in every process, both for root spans and for children of
// a media's synthetic parent (MediaSpanContext); other spans follow their
// parent's decision. The SDK's TraceIDRatioBased is not used because it
// reads the trace id's last 8 bytes as uniformly random, which the variant
// bits of a UUID are not: at a ratio of 0.5 it would keep no UUID trace.
func NewSampler(ratio float64) (sdktrace.Sampler, error) {
	if math.IsNaN(ratio) || ratio < 0 || ratio > 1 {
		return nil, &ConfigError{Field: "SampleRatio", Value: fmt.Sprint(ratio), Msg: "must be between 0 and 1"}
	}
	if ratio == 0 {
		ratio = 1
	}
	h := hashRatioSampler{ratio: ratio, bound: uint64(ratio * (1 << 53))}
	return mediaSampler{hash: h, parent: sdktrace.ParentBased(h)}, nil
}

// hashRatioSampler keeps a trace when the top 53 bits of the SHA-256 of its
// trace id, as a fraction of 2⁵³, are below the ratio.
type hashRatioSampler struct {
	ratio float64
	bound uint64
}

func (s hashRatioSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	res := sdktrace.SamplingResult{Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState()}
	if s.ratio >= 1 || keep(p.TraceID, s.bound) {
		res.Decision = sdktrace.RecordAndSample
	}
	return res
}

func keep(tid trace.TraceID, bound uint64) bool {
	sum := sha256.Sum256(tid[:])
	return binary.BigEndian.Uint64(sum[:8])>>11 < bound
}

func (s hashRatioSampler) Description() string {
	return fmt.Sprintf("LandfallTraceIDHash{%g}", s.ratio)
}

type mediaSampler struct {
	hash   hashRatioSampler
	parent sdktrace.Sampler
}

func (s mediaSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if isMediaRoot(trace.SpanContextFromContext(p.ParentContext)) {
		return s.hash.ShouldSample(p)
	}
	return s.parent.ShouldSample(p)
}

func (s mediaSampler) Description() string {
	return "LandfallMedia{" + s.parent.Description() + "}"
}

var (
	_ sdktrace.Sampler = hashRatioSampler{}
	_ sdktrace.Sampler = mediaSampler{}
)
