package telemetry_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/telemetry"
)

// A process sets up export once; an empty Endpoint turns tracing off.
func ExampleSetup() {
	ctx := context.Background()
	shutdown, err := telemetry.Setup(ctx, telemetry.Config{Endpoint: os.Getenv("LANDFALL_EXAMPLE_OTLP"), Role: "worker"})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = shutdown(ctx)
	}()
	fmt.Println("tracing configured")
	// Output: tracing configured
}

// Every span about a media item is in the trace whose id is the media id.
func ExampleStart() {
	ctx, span := telemetry.Start(context.Background(), "0190f5c2-a3b4-7c3d-8e9f-001122334455", "workflow.task",
		attribute.String("landfall.task", "transcribe"))
	defer span.End()
	_ = ctx
	fmt.Println(span.SpanContext().TraceID())
	// Output: 0190f5c2a3b47c3d8e9f001122334455
}

// Log lines in a media's context carry its trace id.
func ExampleNewLogHandler() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	log := slog.New(telemetry.NewLogHandler(h))
	ctx := telemetry.MediaContext(context.Background(), "0190f5c2-a3b4-7c3d-8e9f-001122334455")
	log.InfoContext(ctx, "analyser done", "task", "ocr")
	log.Info("no media")
	// Output:
	// level=INFO msg="analyser done" task=ocr trace_id=0190f5c2a3b47c3d8e9f001122334455 span_id=916c42b909c03344
	// level=INFO msg="no media"
}
