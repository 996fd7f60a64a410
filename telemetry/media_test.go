package telemetry

import (
	"bufio"
	"context"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestTraceIDTable(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/trace_ids.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if strings.HasPrefix(text, "#") || text == "" {
			continue
		}
		id, want, ok := strings.Cut(text, "\t")
		if !ok {
			t.Fatalf("testdata/trace_ids.tsv:%d: no tab", line)
		}
		n++
		got := TraceID(id)
		if got.String() != want {
			t.Errorf("testdata/trace_ids.tsv:%d: TraceID(%q) = %s, want %s", line, id, got, want)
		}
		if got.IsValid() != (id != "") {
			t.Errorf("testdata/trace_ids.tsv:%d: TraceID(%q).IsValid() = %v", line, id, got.IsValid())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n < 8 {
		t.Fatalf("only %d cases read", n)
	}
}

// process is one Landfall process's tracing: its own provider and an
// in-memory recorder of the spans it ended.
type process struct {
	rec    *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	tracer *Tracer
}

func newProcess(t *testing.T, opts ...sdktrace.TracerProviderOption) *process {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithSpanProcessor(rec)}, opts...)...)
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &process{rec: rec, tp: tp, tracer: NewTracer(tp)}
}

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) string {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value.String()
		}
	}
	return ""
}

func TestTwoProcessesShareOneTracePerMedia(t *testing.T) {
	t.Parallel()
	api, worker := newProcess(t), newProcess(t)
	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	other := "0190f5c2-a3b4-7c3d-8e9f-0011223344ff"

	// The API accepts the upload; a child span stores the object.
	ctx, upload := api.tracer.Start(context.Background(), media, "api.upload", attribute.String("landfall.tenant", "acme"))
	_, store := api.tracer.Start(ctx, media, "blob.put")
	store.End()
	upload.End()
	// The worker, another process with nothing but the media id, runs a
	// task of the media's execution, and one of another media item.
	_, task := worker.tracer.Start(context.Background(), media, "workflow.task")
	task.End()
	_, otherTask := worker.tracer.Start(context.Background(), other, "workflow.task")
	otherTask.End()

	apiSpans, workerSpans := api.rec.Ended(), worker.rec.Ended()
	if len(apiSpans) != 2 || len(workerSpans) != 2 {
		t.Fatalf("ended spans: api %d, worker %d", len(apiSpans), len(workerSpans))
	}
	want := "0190f5c2a3b47c3d8e9f001122334455"
	root := MediaSpanContext(media)
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range append(apiSpans, workerSpans[0]) {
		byName[s.Name()] = s
		if got := s.SpanContext().TraceID().String(); got != want {
			t.Errorf("%s: trace id %s, want the media id's bytes %s", s.Name(), got, want)
		}
		if !s.SpanContext().IsSampled() {
			t.Errorf("%s: not sampled", s.Name())
		}
		if got := attr(s, MediaIDKey); got != media {
			t.Errorf("%s: %s = %q", s.Name(), MediaIDKey, got)
		}
	}
	if byName["api.upload"].Parent().SpanID() != root.SpanID() || !byName["api.upload"].Parent().IsRemote() {
		t.Errorf("api.upload parent %v, want the media's synthetic parent %v", byName["api.upload"].Parent(), root)
	}
	if byName["workflow.task"].Parent().SpanID() != root.SpanID() {
		t.Errorf("workflow.task parent %v, want the media's synthetic parent %v", byName["workflow.task"].Parent(), root)
	}
	if byName["blob.put"].Parent().SpanID() != byName["api.upload"].SpanContext().SpanID() {
		t.Errorf("blob.put is not a child of api.upload")
	}
	if got := attr(byName["api.upload"], "landfall.tenant"); got != "acme" {
		t.Errorf("api.upload landfall.tenant = %q", got)
	}
	if workerSpans[1].SpanContext().TraceID() == workerSpans[0].SpanContext().TraceID() {
		t.Errorf("two media items share trace %s", workerSpans[1].SpanContext().TraceID())
	}
	if got := workerSpans[1].SpanContext().TraceID().String(); got != strings.ReplaceAll(other, "-", "") {
		t.Errorf("other media's trace id %s", got)
	}
}

func TestStartLinksTheSpanItLeaves(t *testing.T) {
	t.Parallel()
	p := newProcess(t)
	media := uuid.Must(uuid.NewV7()).String()
	// An HTTP request span of its own trace, e.g. GET /v1/media/{id}.
	ctx, req := p.tracer.Start(context.Background(), "", "GET /v1/media/{id}")
	_, span := p.tracer.Start(ctx, media, "catalog.get")
	span.End()
	req.End()
	spans := p.rec.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	s, r := spans[0], spans[1]
	if s.SpanContext().TraceID() != TraceID(media) {
		t.Fatalf("media span in trace %s, want %s", s.SpanContext().TraceID(), TraceID(media))
	}
	if r.SpanContext().TraceID() == TraceID(media) {
		t.Fatalf("request span joined the media trace")
	}
	if attr(r, MediaIDKey) != "" {
		t.Errorf("span without media id has %s", MediaIDKey)
	}
	if len(s.Links()) != 1 || s.Links()[0].SpanContext.SpanID() != r.SpanContext().SpanID() {
		t.Errorf("media span links %v, want the request span %v", s.Links(), r.SpanContext())
	}
}

func TestMediaContext(t *testing.T) {
	t.Parallel()
	media := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	ctx := MediaContext(context.Background(), media)
	sc := trace.SpanContextFromContext(ctx)
	if sc.TraceID() != TraceID(media) || !sc.IsRemote() || !sc.IsSampled() || !sc.SpanID().IsValid() {
		t.Fatalf("MediaContext span context %+v", sc)
	}
	if again := trace.SpanContextFromContext(MediaContext(context.Background(), media)); again.SpanID() != sc.SpanID() {
		t.Errorf("span id not derived from the media id alone: %s then %s", sc.SpanID(), again.SpanID())
	}
	if MediaContext(ctx, media) != ctx {
		t.Errorf("a context already in the media's trace was replaced")
	}
	bg := context.Background()
	if MediaContext(bg, "") != bg {
		t.Errorf("the empty media id changed the context")
	}
	if MediaSpanContext("").IsValid() {
		t.Errorf("the empty media id has a span context")
	}
}

func TestSamplerKeepsOrDropsAMediaTraceWhole(t *testing.T) {
	t.Parallel()
	s, err := NewSampler(0.25)
	if err != nil {
		t.Fatal(err)
	}
	api := newProcess(t, sdktrace.WithSampler(s))
	worker := newProcess(t, sdktrace.WithSampler(s))
	const n = 2000
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.Must(uuid.NewV7()).String()
		ctx, a := api.tracer.Start(context.Background(), ids[i], "api.upload")
		_, c := api.tracer.Start(ctx, ids[i], "blob.put") // follows its parent
		c.End()
		a.End()
		_, w := worker.tracer.Start(context.Background(), ids[i], "workflow.task")
		w.End()
	}
	kept := map[trace.TraceID]int{}
	for _, sp := range api.rec.Ended() {
		kept[sp.SpanContext().TraceID()]++
	}
	for _, sp := range worker.rec.Ended() {
		kept[sp.SpanContext().TraceID()] += 10
	}
	for tid, c := range kept {
		if c != 12 {
			t.Errorf("trace %s: kept in part (%d)", tid, c)
		}
	}
	frac := float64(len(kept)) / n
	// 2000 draws at p = 0.25: the standard deviation is about 0.0097.
	if frac < 0.20 || frac > 0.30 {
		t.Errorf("kept %.3f of UUIDv7 traces at ratio 0.25", frac)
	}
}

func TestSamplerRatios(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ratio  float64
		ok     bool
		sample bool
	}{
		{0, true, true}, {1, true, true}, {-0.1, false, false}, {1.5, false, false},
	} {
		s, err := NewSampler(tc.ratio)
		if (err == nil) != tc.ok {
			t.Errorf("NewSampler(%g) error %v", tc.ratio, err)
			continue
		}
		if err != nil {
			if ce, ok := err.(*ConfigError); !ok || ce.Field != "SampleRatio" {
				t.Errorf("NewSampler(%g) error %v does not name SampleRatio", tc.ratio, err)
			}
			continue
		}
		res := s.ShouldSample(sdktrace.SamplingParameters{ParentContext: context.Background(), TraceID: TraceID("x")})
		if (res.Decision == sdktrace.RecordAndSample) != tc.sample {
			t.Errorf("ratio %g: decision %v", tc.ratio, res.Decision)
		}
	}
}

func FuzzTraceID(f *testing.F) {
	for _, s := range []string{"", "0190f5c2-a3b4-7c3d-8e9f-001122334455", "00000000-0000-0000-0000-000000000000", "x", "0190f5c2-a3b4-7c3d-8e9f-00112233445G"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if len(id) > 1024 {
			return
		}
		got := TraceID(id)
		if got != TraceID(id) {
			t.Fatalf("TraceID(%q) not deterministic", id)
		}
		if got.IsValid() != (id != "") {
			t.Fatalf("TraceID(%q) = %s: validity", id, got)
		}
		if u, err := uuid.Parse(id); err == nil && len(id) == 36 && u != uuid.Nil {
			if got != trace.TraceID(u) {
				t.Fatalf("TraceID(%q) = %s, want the UUID's bytes %s", id, got, hex.EncodeToString(u[:]))
			}
		}
		sc := MediaSpanContext(id)
		if sc.IsValid() != (id != "") || (id != "" && !isMediaRoot(sc)) {
			t.Fatalf("MediaSpanContext(%q) = %+v", id, sc)
		}
	})
}

func BenchmarkTraceID(b *testing.B) {
	for _, id := range []string{"0190f5c2-a3b4-7c3d-8e9f-001122334455", "incoming/acme/some-object-key.mp4"} {
		b.Run(map[bool]string{true: "uuid", false: "hashed"}[len(id) == 36], func(b *testing.B) {
			for b.Loop() {
				_ = TraceID(id)
			}
		})
	}
}

func BenchmarkStart(b *testing.B) {
	tp := sdktrace.NewTracerProvider()
	defer tp.Shutdown(context.Background())
	tr := NewTracer(tp)
	id := "0190f5c2-a3b4-7c3d-8e9f-001122334455"
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, s := tr.Start(ctx, id, "workflow.task")
		s.End()
	}
}
