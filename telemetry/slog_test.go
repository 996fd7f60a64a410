package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func TestLogHandler(t *testing.T) {
	t.Parallel()
	p := newProcess(t)
	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	spanCtx, span := p.tracer.Start(context.Background(), media, "workflow.task")
	defer span.End()
	sid := span.SpanContext().SpanID().String()

	for _, tc := range []struct {
		name   string
		ctx    context.Context
		logger func(*slog.Logger) *slog.Logger
		want   map[string]any // top-level keys; nil value: key absent
	}{
		{"no span", context.Background(), nil,
			map[string]any{"msg": "hello", LogTraceID: nil, LogSpanID: nil}},
		{"span", spanCtx, nil,
			map[string]any{"msg": "hello", LogTraceID: "0190f5c2a3b47c3d8e9f001122334455", LogSpanID: sid}},
		{"media context without a span of its own", MediaContext(context.Background(), media), nil,
			map[string]any{LogTraceID: "0190f5c2a3b47c3d8e9f001122334455", LogSpanID: MediaSpanContext(media).SpanID().String()}},
		{"with attrs", spanCtx, func(l *slog.Logger) *slog.Logger { return l.With("state", "Transcribe") },
			map[string]any{"state": "Transcribe", LogTraceID: "0190f5c2a3b47c3d8e9f001122334455"}},
		{"in a group", spanCtx, func(l *slog.Logger) *slog.Logger { return l.With("a", 1).WithGroup("task").With("b", 2) },
			map[string]any{"a": 1.0, LogTraceID: "0190f5c2a3b47c3d8e9f001122334455", LogSpanID: sid,
				"task": map[string]any{"b": 2.0, "n": 3.0}}},
		{"group without span", context.Background(), func(l *slog.Logger) *slog.Logger { return l.WithGroup("task") },
			map[string]any{LogTraceID: nil, "task": map[string]any{"n": 3.0}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil)))
			if tc.logger != nil {
				l = tc.logger(l)
			}
			l.InfoContext(tc.ctx, "hello", "n", 3)
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			for k, want := range tc.want {
				v, ok := got[k]
				if want == nil {
					if ok {
						t.Errorf("%s = %v, want absent (%s)", k, v, buf.Bytes())
					}
					continue
				}
				wb, _ := json.Marshal(want)
				vb, _ := json.Marshal(v)
				if string(wb) != string(vb) {
					t.Errorf("%s = %s, want %s (%s)", k, vb, wb, buf.Bytes())
				}
			}
		})
	}
}

func TestLogHandlerEnabled(t *testing.T) {
	t.Parallel()
	h := NewLogHandler(slog.NewTextHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if h.Enabled(context.Background(), slog.LevelInfo) || !h.Enabled(context.Background(), slog.LevelError) {
		t.Fatal("Enabled does not follow the wrapped handler")
	}
}

func BenchmarkLogHandler(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	ctx, span := NewTracer(tp).Start(context.Background(), "0190f5c2-a3b4-7c3d-8e9f-001122334455", "bench")
	defer span.End()
	l := slog.New(NewLogHandler(slog.NewJSONHandler(io.Discard, nil)))
	b.ReportAllocs()
	for b.Loop() {
		l.InfoContext(ctx, "task done", "state", "Transcribe")
	}
}
