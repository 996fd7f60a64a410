package app

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// FunctionPrefix is the resource prefix of Landfall's pipeline tasks in the
// embedded mode: the default pipeline's Lambda ARNs with the local
// substitutions.
const FunctionPrefix = "arn:aws:lambda:local:000000000000:function:landfall-"

// Tasks serves the pipeline's Task states: register, the analysers,
// persist, move, record-failure and notify.
type Tasks struct {
	cfg        *config.Config
	bucket     *blob.Bucket
	bucketName string
	cat        catalog.Store
	bus        *bus.Bus
	engine     *workflow.Engine
	webhook    *bus.Webhook
	log        *slog.Logger
	workRoot   string
	metrics    *Metrics
	now        func() time.Time
	domainText string // config transcribe.domain_text_file, read at start
	// shareFiles uploads analyser artefacts to the bucket for workers on
	// other machines; on SQLite every worker shares this machine's data
	// folder, so files stay where they are.
	shareFiles bool
	// trace, when set, is told of every analyser run (benchmarks).
	trace func(mediaID, task string, start, end time.Time)
}

// mediaRef is the media object the pipeline carries in $.media.
type mediaRef struct {
	ID       string          `json:"id"`
	Tenant   string          `json:"tenant"`
	Bucket   string          `json:"bucket"`
	Key      string          `json:"key"`
	Size     int64           `json:"size"`
	Filename string          `json:"filename,omitempty"`
	Features map[string]bool `json:"features"`
	Options  map[string]any  `json:"options"`
}

// taskInput is what every analysis Task state passes.
type taskInput struct {
	Media    mediaRef                   `json:"media"`
	Classify json.RawMessage            `json:"classify"`
	Results  map[string]json.RawMessage `json:"results"`
	Options  json.RawMessage            `json:"options"`
}

// resultRef is what a task returns into $.results: where its full output
// is stored, and the output itself when it is small.
type resultRef struct {
	Ref    string          `json:"ref"`
	Output json.RawMessage `json:"output,omitempty"`
}

// inlineLimit keeps state small: Step Functions limits payloads to 256 KiB.
const inlineLimit = 8 << 10

func (t *Tasks) register(fns *workflow.Functions) {
	// Every task's error leaves through redacting: failure causes,
	// history and events never name this machine's folders.
	red := newRedactor(t.cfg, t.workRoot)
	add := func(name string, f workflow.InvokerFunc) { fns.Add(name, traced(name, redacting(red, f))) }
	add("register", t.registerMedia)
	for _, task := range []string{analyser.TaskClassify, analyser.TaskMedia, analyser.TaskTranscribe, analyser.TaskDiarise,
		analyser.TaskOCR, analyser.TaskFaces, analyser.TaskLabels, analyser.TaskModerate, analyser.TaskLanguage, analyser.TaskSummarise} {
		add(task, t.analyse(task))
	}
	add("persist", t.persist)
	add("move", t.move)
	add("record-failure", t.recordFailure)
	add("notify", t.notify)
}

func decodeInput(inv workflow.Invocation, v any) error {
	if err := json.Unmarshal(inv.Input, v); err != nil {
		return &workflow.TaskError{Name: "States.Runtime", Cause: fmt.Sprintf("%s: input is not what the task expects: %v", inv.Resource, err)}
	}
	return nil
}

// registerMedia finds or creates the media row for the object that
// started the execution and marks it PROCESSING.
func (t *Tasks) registerMedia(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in struct {
		Bucket  string `json:"bucket"`
		Key     string `json:"key"`
		Size    int64  `json:"size"`
		ETag    string `json:"etag"`
		EventID string `json:"event_id"`
	}
	if err := decodeInput(inv, &in); err != nil {
		return nil, err
	}
	if in.Bucket != t.bucketName {
		return nil, errcode.New(errcode.NotFound, "bucket %q is not this installation's bucket %q", in.Bucket, t.bucketName)
	}
	rest, ok := strings.CutPrefix(in.Key, "incoming/")
	tenant, _, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || tenant == "" {
		return nil, errcode.New(errcode.Invalid, "key %q is not incoming/<tenant>/<file>", in.Key)
	}
	base := strings.TrimSuffix(path.Base(in.Key), path.Ext(in.Key))
	var m *catalog.Media
	if _, err := uuid.Parse(base); err == nil {
		m, _ = t.cat.MediaGet(ctx, &catalog.MediaGetParams{ID: base, TenantID: tenant})
	}
	if m == nil {
		id := ingest.DroppedMediaID(in.Key, in.ETag)
		var err error
		m, err = t.cat.MediaGet(ctx, &catalog.MediaGetParams{ID: id})
		if errors.Is(err, errcode.NotFound) {
			if _, err := t.cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: tenant, IfNotExists: true}); err != nil {
				return nil, err
			}
			m, err = t.cat.MediaCreate(ctx, &catalog.MediaCreateParams{ID: id, TenantID: tenant, BucketKey: in.Key, Filename: path.Base(in.Key), Size: in.Size})
			if errors.Is(err, errcode.AlreadyExists) {
				m, err = t.cat.MediaGet(ctx, &catalog.MediaGetParams{ID: id})
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if m.Status != types.StatusProcessing {
		var err error
		m, err = t.cat.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing, ExecutionID: inv.ExecutionARN, Reprocess: m.Status == types.StatusSucceeded})
		if err != nil {
			return nil, err
		}
	}
	// Files dropped without a media-id name got their id just now: this span
	// joins the media's trace and links back to the register span.
	_, span := telemetry.Start(ctx, m.ID, "media.registered", attribute.String("landfall.key", in.Key))
	span.End()
	t.log.Info("pipeline: media registered", "media_id", m.ID, "tenant", m.TenantID, "key", in.Key, "execution", inv.ExecutionARN)
	ref := mediaRef{ID: m.ID, Tenant: m.TenantID, Bucket: in.Bucket, Key: in.Key, Size: m.Size, Filename: m.Filename,
		Features: map[string]bool{
			"labels":     t.providerFor(analyser.TaskLabels) != nil,
			"moderation": t.providerFor(analyser.TaskModerate) != nil,
		},
		Options: map[string]any{"transcribe": t.transcribeOptions(ctx, m.TenantID, in.Key), "media": map[string]any{}},
	}
	return json.Marshal(ref)
}

// transcribeOptions gathers the vocabulary and domain text for one media
// item: the installation's, the tenant's and the upload's own.
func (t *Tasks) transcribeOptions(ctx context.Context, tenant, key string) map[string]any {
	seen := map[string]bool{}
	var vocab []string
	add := func(ws ...string) {
		for _, w := range ws {
			if w = strings.TrimSpace(w); w != "" && !seen[strings.ToLower(w)] {
				seen[strings.ToLower(w)] = true
				vocab = append(vocab, w)
			}
		}
	}
	add(t.cfg.Transcribe.Vocabulary...)
	for _, tn := range t.cfg.Tenants {
		if tn.ID == tenant {
			add(tn.Vocabulary...)
		}
	}
	if attrs, err := t.bucket.Attributes(ctx, key); err == nil {
		add(strings.Split(attrs.Metadata[ingest.MetaVocabulary], ",")...)
	}
	opts := map[string]any{}
	if len(vocab) > 0 {
		opts["vocabulary"] = vocab
	}
	if t.domainText != "" {
		opts["domain_text"] = t.domainText
	}
	return opts
}

// providerFor returns the configured analyser of task, or nil when none
// is configured or available.
func (t *Tasks) providerFor(task string) analyser.Analyser {
	p := t.cfg.Provider(task)
	if p == "none" {
		return nil
	}
	a, err := analyser.ForTask(task, p)
	if err != nil {
		return nil
	}
	return a
}

// workdir is the scratch folder of one media item.
func (t *Tasks) workdir(m *mediaRef) (string, error) {
	dir := filepath.Join(t.workRoot, m.Tenant, m.ID)
	return dir, os.MkdirAll(dir, 0o755)
}

// localMedia returns a path on this machine holding the media: the file
// driver's own file, or a streamed download into the work folder.
func (t *Tasks) localMedia(ctx context.Context, m *mediaRef, dir string) (string, error) {
	if p, err := t.bucket.LocalPath(m.Key); err == nil {
		return p, nil
	}
	dst := filepath.Join(dir, "source"+path.Ext(m.Key))
	if fi, err := os.Stat(dst); err == nil && fi.Size() == m.Size {
		return dst, nil
	}
	f, err := os.CreateTemp(dir, "download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := t.bucket.Download(ctx, m.Key, f, nil); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(f.Name(), dst)
}

// loadResult returns a task's full output from its reference.
func (t *Tasks) loadResult(ctx context.Context, raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var r resultRef
	if err := json.Unmarshal(raw, &r); err != nil || r.Ref == "" {
		return raw, nil // not a reference: the output itself
	}
	return t.bucket.ReadAll(ctx, r.Ref)
}

func (t *Tasks) storeResult(ctx context.Context, m *mediaRef, name string, out []byte) (json.RawMessage, error) {
	key := "work/" + m.Tenant + "/" + m.ID + "/" + name + ".json"
	if err := t.bucket.WriteAll(ctx, key, out, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return nil, err
	}
	ref := resultRef{Ref: key}
	if len(out) <= inlineLimit {
		ref.Output = out
	}
	return json.Marshal(ref)
}

// analyse runs the configured analyser of task on the media.
func (t *Tasks) analyse(task string) workflow.InvokerFunc {
	return func(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		var in taskInput
		if err := decodeInput(inv, &in); err != nil {
			return nil, err
		}
		a := t.providerFor(task)
		if a == nil {
			return nil, errcode.New(errcode.ProviderNotConfigured, "no %s provider is configured (analysers.%s = %q)", task, task, t.cfg.Provider(task))
		}
		log := t.log.With("media_id", in.Media.ID, "tenant", in.Media.Tenant, "task", task, "analyser", a.Spec().ID, "attempt", inv.Attempt)
		dir, err := t.workdir(&in.Media)
		if err != nil {
			return nil, err
		}
		src, err := t.localMedia(ctx, &in.Media, dir)
		if err != nil {
			return nil, err
		}
		ain := &analyser.Input{MediaID: in.Media.ID, Tenant: in.Media.Tenant, Key: in.Media.Key, Path: src,
			Options: in.Options, Results: map[string]json.RawMessage{}}
		if len(in.Classify) > 0 {
			var c struct {
				Kind types.Kind `json:"kind"`
			}
			if raw, err := t.loadResult(ctx, in.Classify); err == nil && raw != nil {
				_ = json.Unmarshal(raw, &c)
			}
			ain.Kind = c.Kind
		}
		for name, raw := range in.Results {
			full, err := t.loadResult(ctx, raw)
			if err != nil {
				return nil, err
			}
			if full != nil {
				if full, err = t.localiseArtefacts(ctx, &in.Media, dir, full); err != nil {
					return nil, err
				}
				ain.Results[name] = full
			}
		}
		env := &analyser.Env{Workdir: dir, Logger: log, Usage: func(u analyser.Usage) { t.recordUsage(ctx, &in.Media, u) }}
		start := time.Now()
		stop := heartbeat(ctx, inv)
		rctx, span := telemetry.Start(ctx, in.Media.ID, "analyser.run", attribute.String("landfall.analyser", a.Spec().ID))
		out, err := a.Run(rctx, env, ain)
		telemetry.End(span, err)
		stop()
		t.metrics.observeAnalyser(a.Spec().ID, time.Since(start), err)
		if t.trace != nil {
			t.trace(in.Media.ID, task, start, time.Now())
		}
		if err != nil {
			log.Warn("analyser failed", "err", err, "seconds", time.Since(start).Seconds())
			return nil, err
		}
		// Every output is checked against its analyser's schema, so a
		// provider's drift fails here, named, not three states later.
		if err := analyser.ValidateOutput(a.Spec(), out); err != nil {
			log.Error("analyser output rejected", "err", err)
			return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "%s", a.Spec().ID)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		log.Info("analyser done", "seconds", time.Since(start).Seconds(), "bytes", len(b))
		// Paths into the work folder become artefact references, so
		// outputs (and the history that holds them) name no server path.
		if b, err = t.shareArtefacts(ctx, &in.Media, dir, b); err != nil {
			return nil, err
		}
		name := task
		if task == analyser.TaskDiarise {
			name = "transcript-diarised"
		}
		ref, err := t.storeResult(ctx, &in.Media, name, b)
		if err != nil {
			return nil, err
		}
		if task == analyser.TaskClassify {
			// The Choice states read the kind: classify's output is small
			// and always inline, at the top level.
			return b, nil
		}
		return ref, nil
	}
}

// heartbeat keeps a long analyser's attempt alive until stop is called.
func heartbeat(ctx context.Context, inv workflow.Invocation) (stop func()) {
	if inv.Heartbeat == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				_ = inv.Heartbeat(ctx)
			}
		}
	}()
	return cancel
}

func (t *Tasks) recordUsage(ctx context.Context, m *mediaRef, u analyser.Usage) {
	price := t.cfg.Prices[u.Analyser]
	cost := u.CPUSeconds*price.PerCPUSecond + u.AudioSeconds/60*price.PerAudioMinute + float64(u.Images)*price.PerImage +
		float64(u.InputTokens)/1000*price.PerInputKTokens + float64(u.OutputTokens)/1000*price.PerOutputKTokens
	err := t.cat.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{{TenantID: m.Tenant, MediaID: m.ID,
		Analyser: u.Analyser, CPUSeconds: u.CPUSeconds, AudioSeconds: u.AudioSeconds, Images: int64(u.Images),
		Tokens: int64(u.InputTokens + u.OutputTokens), CostUSD: cost}}})
	if err != nil {
		t.log.Warn("usage not recorded", "media_id", m.ID, "err", err)
	}
}

// persist writes the transcript and its captions beside the media, and the
// insights, summary and search index into the catalog row.
func (t *Tasks) persist(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in taskInput
	if err := decodeInput(inv, &in); err != nil {
		return nil, err
	}
	m := &in.Media
	full := map[string]json.RawMessage{}
	for name, raw := range in.Results {
		b, err := t.loadResult(ctx, raw)
		if err != nil {
			return nil, err
		}
		if b != nil {
			full[name] = b
		}
	}
	var ins types.Insights
	if raw := full[analyser.TaskSummarise]; raw != nil {
		if err := json.Unmarshal(raw, &ins); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "results/summarise")
		}
	}
	var kind struct {
		Kind     types.Kind `json:"kind"`
		Duration float64    `json:"duration"`
	}
	_ = json.Unmarshal(in.Classify, &kind)
	upd := &catalog.MediaUpdateParams{ID: m.ID, Insights: &ins, Summary: ins.Summary, Kind: kind.Kind, Duration: kind.Duration}
	prefix := "processed/" + m.Tenant + "/" + m.ID + "/"
	if raw := full[analyser.TaskTranscribe]; raw != nil {
		var tr types.Transcript
		if err := json.Unmarshal(raw, &tr); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "results/transcribe")
		}
		b, _ := json.MarshalIndent(&tr, "", " ")
		if err := t.bucket.WriteAll(ctx, prefix+"transcript.json", b, &blob.WriterOptions{ContentType: "application/json"}); err != nil {
			return nil, err
		}
		upd.TranscriptKey = prefix + "transcript.json"
		upd.Transcript = &tr
		for name, e := range captionWriters {
			var buf bytes.Buffer
			if err := e.write(&buf, &tr); err != nil {
				return nil, err
			}
			if err := t.bucket.WriteAll(ctx, prefix+name, buf.Bytes(), &blob.WriterOptions{ContentType: e.contentType}); err != nil {
				return nil, err
			}
			if name == "captions.vtt" {
				upd.CaptionsKey = prefix + name
			}
		}
	}
	if _, err := t.cat.MediaUpdate(ctx, upd); err != nil {
		return nil, err
	}
	t.log.Info("pipeline: persisted", "media_id", m.ID, "tenant", m.Tenant, "transcript", upd.TranscriptKey)
	return json.Marshal(map[string]any{"media_id": m.ID, "tenant": m.Tenant, "transcript_key": upd.TranscriptKey,
		"captions_key": upd.CaptionsKey, "summary": ins.Summary})
}

type captionWriter struct {
	contentType string
	write       func(io.Writer, *types.Transcript) error
}

// captionWriters are the caption files written beside the media; the app
// fills it from the export package.
var captionWriters = map[string]captionWriter{}

// move moves the original to processed/<tenant>/<id>/ and marks the media
// SUCCEEDED. A repeated move (a retried attempt) finds the file already
// there.
func (t *Tasks) move(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in struct {
		Media  mediaRef        `json:"media"`
		Record json.RawMessage `json:"record"`
	}
	if err := decodeInput(inv, &in); err != nil {
		return nil, err
	}
	m := &in.Media
	dst := "processed/" + m.Tenant + "/" + m.ID + "/original" + strings.ToLower(path.Ext(m.Key))
	if err := t.bucket.Move(ctx, dst, m.Key); err != nil {
		if !errors.Is(err, errcode.NotFound) {
			return nil, err
		}
		if ok, _ := t.bucket.Exists(ctx, dst); !ok {
			return nil, err
		}
	}
	cur, err := t.cat.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
	if err != nil {
		return nil, err
	}
	// The Media Processed event is written in the same transaction as the
	// status change (outbox), so a consumer never misses a finished item.
	ev := Event("Media Processed", map[string]any{"media_id": m.ID, "tenant": m.Tenant, "key": dst, "kind": cur.Kind, "summary": cur.Summary})
	row, err := bus.OutboxEvent(ev)
	if err != nil {
		return nil, err
	}
	if _, err := t.cat.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, BucketKey: dst, Status: types.StatusSucceeded,
		Events: []catalog.OutboxEvent{row}}); err != nil {
		return nil, err
	}
	if t.bus != nil {
		t.bus.Notify()
	}
	t.metrics.mediaDone(string(types.StatusSucceeded))
	t.log.Info("pipeline: media processed", "media_id", m.ID, "tenant", m.Tenant, "key", dst)
	return json.Marshal(map[string]string{"key": dst})
}

// Event returns a Landfall pipeline event for the bus.
func Event(detailType string, detail any) bus.Event {
	raw, _ := json.Marshal(detail)
	return bus.Event{Version: "0", ID: bus.NewID(), DetailType: detailType, Source: "landfall.pipeline",
		Account: bus.DefaultAccount, Time: time.Now().UTC().Truncate(time.Second), Region: bus.DefaultRegion,
		Resources: []string{}, Detail: raw}
}

// recordFailure writes the failures table (and marks the media FAILED).
func (t *Tasks) recordFailure(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in struct {
		State struct {
			Media *mediaRef `json:"media"`
			Key   string    `json:"key"`
			Error struct {
				Error string `json:"Error"`
				Cause string `json:"Cause"`
			} `json:"error"`
		} `json:"state"`
		Execution string `json:"execution"`
	}
	if err := decodeInput(inv, &in); err != nil {
		return nil, err
	}
	p := &catalog.FailureRecordParams{ExecutionID: in.Execution, ErrorName: in.State.Error.Error, Cause: in.State.Error.Cause,
		StateName: t.failedState(ctx, in.Execution)}
	if p.ErrorName == "" {
		p.ErrorName = "States.Runtime"
	}
	if m := in.State.Media; m != nil && m.ID != "" {
		p.MediaID, p.TenantID, p.BucketKey, p.UpdateMedia = m.ID, m.Tenant, m.Key, true
	} else {
		p.BucketKey = in.State.Key
		rest, _ := strings.CutPrefix(in.State.Key, "incoming/")
		p.TenantID, _, _ = strings.Cut(rest, "/")
		if p.TenantID == "" {
			p.TenantID = "default"
		}
	}
	f, err := t.cat.FailureRecord(ctx, p)
	if err != nil {
		return nil, err
	}
	t.metrics.mediaDone(string(types.StatusFailed))
	t.log.Warn("pipeline: media failed", "media_id", p.MediaID, "tenant", p.TenantID, "state", p.StateName, "error", p.ErrorName, "cause", p.Cause)
	return json.Marshal(f)
}

// failedState finds the state whose failure the execution caught, from its
// history: the last state entered before RecordFailure.
func (t *Tasks) failedState(ctx context.Context, execARN string) string {
	if t.engine == nil || execARN == "" {
		return ""
	}
	evs, _, err := t.engine.History(ctx, execARN, workflow.HistoryParams{Reverse: true, Limit: 1000})
	if err != nil {
		return ""
	}
	for _, e := range evs {
		if !strings.HasSuffix(e.Type, "StateEntered") {
			continue
		}
		var d struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(e.Details, &d) == nil && d.Name != "" && d.Name != "RecordFailure" && d.Name != "Unsupported" {
			return d.Name
		}
	}
	return ""
}

// notify announces a failure: an event on the bus, the configured signed
// webhook, and an alert when failures in the window pass the threshold.
func (t *Tasks) notify(ctx context.Context, inv workflow.Invocation) (json.RawMessage, error) {
	var in struct {
		Failure *catalog.Failure `json:"failure"`
	}
	if err := decodeInput(inv, &in); err != nil {
		return nil, err
	}
	f := in.Failure
	if f == nil {
		return nil, errcode.New(errcode.Invalid, "notify: no failure in the input")
	}
	detail := map[string]any{"failure": f}
	recent, err := t.cat.FailureList(ctx, &catalog.FailureListParams{TenantID: f.TenantID, Since: t.now().Add(-t.cfg.Notify.AlertWindow.Duration), Limit: 1000})
	alert := err == nil && len(recent.Failures) >= t.cfg.Notify.AlertThreshold
	if alert {
		detail["alert"] = map[string]any{"failures_in_window": len(recent.Failures), "window": t.cfg.Notify.AlertWindow.String(), "threshold": t.cfg.Notify.AlertThreshold}
	}
	ev := Event("Media Processing Failed", detail)
	if alert {
		ev = Event("Media Failure Alert", detail)
	}
	if t.bus != nil {
		if err := t.bus.Put(ctx, ev); err != nil {
			return nil, err
		}
	}
	sent := false
	if t.cfg.Notify.WebhookURL != "" {
		body, _ := json.Marshal(ev)
		if err := t.webhook.Deliver(ctx, t.cfg.Notify.WebhookURL, ev.ID, body); err != nil {
			return nil, errcode.Wrap(errcode.ProviderTransient, err, "notify webhook")
		}
		sent = true
	}
	return json.Marshal(map[string]any{"event_id": ev.ID, "webhook": sent, "alert": alert})
}

// artefactScheme marks a file an analyser wrote into the work folder, in
// stored results: "landfall-work:<relative path>". Results name files this
// way, not by absolute path, so the next task can run on another worker:
// the file is in the bucket under work/<tenant>/<id>/files/ and is fetched
// into that worker's own work folder when it is not already there.
const artefactScheme = "landfall-work:"

// shareArtefacts rewrites the paths into the work folder that out names as
// artefact references, uploading each file first when workers do not
// share the data folder.
func (t *Tasks) shareArtefacts(ctx context.Context, m *mediaRef, dir string, out []byte) ([]byte, error) {
	v, err := decodeNumbers(out)
	if err != nil {
		return out, nil
	}
	prefix := dir + string(filepath.Separator)
	var firstErr error
	v = walkStrings(v, func(s string) string {
		rel, ok := strings.CutPrefix(s, prefix)
		if !ok || firstErr != nil {
			return s
		}
		key := "work/" + m.Tenant + "/" + m.ID + "/files/" + filepath.ToSlash(rel)
		if !t.shareFiles {
			if _, err := os.Stat(s); err != nil {
				return s // not a file after all
			}
		} else if ok, _ := t.bucket.Exists(ctx, key); !ok {
			f, err := os.Open(s)
			if err != nil {
				return s // not a file after all
			}
			defer f.Close()
			if err := t.bucket.Upload(ctx, key, f, nil); err != nil {
				firstErr = err
				return s
			}
		}
		return artefactScheme + filepath.ToSlash(rel)
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return json.Marshal(v)
}

// localiseArtefacts turns artefact references back into paths in this
// worker's work folder, downloading files that are not there yet.
func (t *Tasks) localiseArtefacts(ctx context.Context, m *mediaRef, dir string, raw []byte) ([]byte, error) {
	if !bytes.Contains(raw, []byte(artefactScheme)) {
		return raw, nil
	}
	v, err := decodeNumbers(raw)
	if err != nil {
		return raw, nil
	}
	var firstErr error
	v = walkStrings(v, func(s string) string {
		rel, ok := strings.CutPrefix(s, artefactScheme)
		if !ok || firstErr != nil || strings.Contains(rel, "..") {
			return s
		}
		local := filepath.Join(dir, filepath.FromSlash(rel))
		if _, err := os.Stat(local); err == nil {
			return local
		}
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			firstErr = err
			return s
		}
		tmp := local + ".part"
		f, err := os.Create(tmp)
		if err != nil {
			firstErr = err
			return s
		}
		err = t.bucket.Download(ctx, "work/"+m.Tenant+"/"+m.ID+"/files/"+rel, f, nil)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp, local)
		}
		if err != nil {
			os.Remove(tmp)
			firstErr = err
			return s
		}
		return local
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return json.Marshal(v)
}

// decodeNumbers decodes JSON keeping numbers as written.
func decodeNumbers(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// walkStrings applies f to every string in a decoded JSON value.
func walkStrings(v any, f func(string) string) any {
	switch x := v.(type) {
	case string:
		return f(x)
	case []any:
		for i := range x {
			x[i] = walkStrings(x[i], f)
		}
	case map[string]any:
		for k := range x {
			x[k] = walkStrings(x[k], f)
		}
	}
	return v
}

// traced runs a pipeline task inside a span of its media item's trace.
func traced(name string, f workflow.InvokerFunc) workflow.InvokerFunc {
	return func(ctx context.Context, inv workflow.Invocation) (out json.RawMessage, err error) {
		ctx, span := telemetry.Start(ctx, mediaIDOf(inv.Input), "task."+name,
			attribute.String("landfall.execution", inv.ExecutionARN), attribute.String("landfall.state", inv.StatePath),
			attribute.Int("landfall.attempt", inv.Attempt))
		defer func() { telemetry.End(span, err) }()
		return f(ctx, inv)
	}
}

// mediaIDOf is $.media.id of a task's input or, before register has run,
// the media id in the object key.
func mediaIDOf(input []byte) string {
	var in struct {
		Media struct {
			ID string `json:"id"`
		} `json:"media"`
	}
	if json.Unmarshal(input, &in) == nil && in.Media.ID != "" {
		return in.Media.ID
	}
	return correlationOf(input)
}
