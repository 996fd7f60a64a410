package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log attribute keys that LogHandler adds.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// LogHandler wraps a slog.Handler and adds trace_id and span_id (lowercase
// hexadecimal, as trace viewers show them) to every record logged with a
// context that holds a valid span context, recording or not, so a log line
// leads to its trace and, for a media item, to its media id. The two
// attributes are always at the top level, also under WithGroup. Records
// logged without a span pass through unchanged.
type LogHandler struct {
	base  slog.Handler // the wrapped handler before any With call
	next  slog.Handler // base with ops applied
	ops   []logOp
	group bool // some op is a WithGroup
}

type logOp struct {
	group string
	attrs []slog.Attr
}

// NewLogHandler wraps next; use it as slog.New(telemetry.NewLogHandler(h)).
func NewLogHandler(next slog.Handler) *LogHandler {
	return &LogHandler{base: next, next: next}
}

// Enabled reports whether the wrapped handler handles level.
func (h *LogHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

// Handle adds the trace attributes when ctx has a span context and passes
// r on.
func (h *LogHandler) Handle(ctx context.Context, r slog.Record) error {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return h.next.Handle(ctx, r)
	}
	ids := []slog.Attr{
		slog.String(LogTraceID, sc.TraceID().String()),
		slog.String(LogSpanID, sc.SpanID().String()),
	}
	if !h.group {
		r = r.Clone()
		r.AddAttrs(ids...)
		return h.next.Handle(ctx, r)
	}
	// A record's attributes go into the innermost open group: put the ids
	// on the handler before the groups instead.
	next := h.base.WithAttrs(ids)
	for _, op := range h.ops {
		if op.group != "" {
			next = next.WithGroup(op.group)
		} else {
			next = next.WithAttrs(op.attrs)
		}
	}
	return next.Handle(ctx, r)
}

// WithAttrs returns a handler whose records carry attrs.
func (h *LogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	return h.with(logOp{attrs: attrs}, h.next.WithAttrs(attrs))
}

// WithGroup returns a handler that nests later attributes under name.
func (h *LogHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := h.with(logOp{group: name}, h.next.WithGroup(name))
	c.group = true
	return c
}

func (h *LogHandler) with(op logOp, next slog.Handler) *LogHandler {
	ops := make([]logOp, len(h.ops), len(h.ops)+1)
	copy(ops, h.ops)
	return &LogHandler{base: h.base, next: next, ops: append(ops, op), group: h.group}
}

var _ slog.Handler = (*LogHandler)(nil)
