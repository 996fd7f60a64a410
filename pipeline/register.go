package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/types"
)

// RegisterInput is the register task's input: the object that started the
// execution.
type RegisterInput struct {
	Bucket  string `json:"bucket"`
	Key     string `json:"key"`
	Size    int64  `json:"size"`
	ETag    string `json:"etag"`
	EventID string `json:"event_id"`
	// Execution is the execution's whole input: a rule's input
	// transformer may name an insight profile there ("profile").
	Execution struct {
		Profile string `json:"profile"`
	} `json:"execution"`
}

// Finished reports whether a media status is final: a repeated delivery of
// the object does not run the pipeline again.
func Finished(s types.Status) bool {
	return s == types.StatusSucceeded || s == types.StatusFailed || s == types.StatusRejected
}

// FindMedia returns the media row of an incoming object of scope's
// tenant: the row an upload's name carries, else the dropped file's. It
// returns the media id to create when there is no row.
func FindMedia(ctx context.Context, c *TenantCatalog, k Key, etag string) (*catalog.Media, string, error) {
	if k.Uploaded() {
		m, err := c.MediaGet(ctx, k.MediaID)
		if err == nil {
			return m, m.ID, nil
		}
		if !errors.Is(err, errcode.NotFound) {
			return nil, "", err
		}
	}
	id := DroppedMediaID(k.String(), etag)
	m, err := c.MediaGet(ctx, id)
	if errors.Is(err, errcode.NotFound) {
		return nil, id, nil
	}
	return m, id, err
}

// Register finds or creates the media row for the object that started the
// execution and marks it PROCESSING. The object must be under the
// execution's tenant's incoming/ folder in this installation's bucket; its
// tenant must exist (no tenant is created from a key). A media item that
// already finished is not reset: the task fails with
// Landfall.AlreadyProcessed and the row stays as it is. (A redrive first
// moves a failed item back to PENDING.)
func (t *Tasks) Register(ctx context.Context, c Call) (json.RawMessage, error) {
	var in RegisterInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if in.Bucket != t.opt.BucketName {
		return nil, forbidden("bucket: %q is not this installation's bucket %q", in.Bucket, t.opt.BucketName)
	}
	k, err := s.Bucket.Key(in.Key)
	if err != nil {
		return nil, errcode.Wrap(errcode.ForbiddenReference, err, "key")
	}
	if k.Area != AreaIncoming {
		return nil, forbidden("key: %q is not under incoming/%s/", in.Key, s.Tenant)
	}
	if err := CheckTenant(ctx, t.opt.Catalog, s.Tenant); err != nil {
		return nil, err
	}
	m, id, err := FindMedia(ctx, s.Catalog, k, in.ETag)
	if err != nil {
		return nil, err
	}
	if m == nil {
		// No record for an object that is gone (deleted while its event
		// waited): create none.
		if ok, err := s.Bucket.Exists(ctx, k.String()); err != nil {
			return nil, err
		} else if !ok {
			return nil, errcode.New(errcode.NotFound, "%s is no longer stored (deleted?); nothing to process", k)
		}
		m, err = s.Catalog.MediaCreate(ctx, catalog.MediaCreateParams{ID: id, BucketKey: k.String(), Filename: k.Base(), Size: in.Size})
		if errors.Is(err, errcode.AlreadyExists) {
			m, err = s.Catalog.MediaGet(ctx, id)
		}
		if err != nil {
			return nil, err
		}
	}
	if Finished(m.Status) {
		return nil, errcode.New(errcode.AlreadyProcessed, "media %s (%s) already finished %s; a repeated delivery does not run it again", m.ID, k, m.Status)
	}
	if m.Status != types.StatusProcessing {
		if m, err = s.Catalog.MediaUpdate(ctx, catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing, ExecutionID: c.ExecutionARN}); err != nil {
			return nil, err
		}
	}
	// Files dropped without a media-id name got their id just now: this span
	// joins the media's trace and links back to the register span.
	_, span := telemetry.Start(ctx, m.ID, "media.registered", attribute.String("landfall.key", in.Key))
	span.End()
	t.log.Info("pipeline: media registered", "media_id", m.ID, "tenant", s.Tenant, "key", in.Key, "execution", c.ExecutionARN)
	ref := Media{ID: m.ID, Tenant: s.Tenant, Bucket: in.Bucket, Key: k.String(), Size: m.Size, Filename: m.Filename,
		Features: map[string]bool{
			"labels":              t.providerFor(analyser.TaskLabels) != nil,
			"moderation":          t.providerFor(analyser.TaskModerate) != nil,
			"labels_activity":     t.visionActivity(analyser.TaskLabels),
			"moderation_activity": t.visionActivity(analyser.TaskModerate),
			"transcribe_job":      t.runsAsJob(analyser.TaskTranscribe),
			"labels_job":          t.runsAsJob(analyser.TaskLabels),
			"moderation_job":      t.runsAsJob(analyser.TaskModerate),
		},
		Options: map[string]any{"transcribe": t.transcribeOptions(ctx, s, k, m.Filename), "media": map[string]any{},
			"summarise": t.summariseOptions(ctx, s, k, in.Execution.Profile), "job": t.jobOptions()},
	}
	return json.Marshal(ref)
}

// summariseOptions names the insight profile to fill: the execution
// input's (a rule's input transformer may set one), else the upload's,
// else the tenant's — the first that names a known profile; none when
// none does.
func (t *Tasks) summariseOptions(ctx context.Context, s *Scope, k Key, fromInput string) map[string]any {
	candidates := []string{fromInput}
	if attrs, err := s.Bucket.Attributes(ctx, k.String()); err == nil {
		candidates = append(candidates, attrs.Metadata[MetaProfile])
	}
	for _, tn := range t.cfg.Tenants {
		if tn.ID == s.Tenant {
			candidates = append(candidates, tn.Profile)
		}
	}
	for _, name := range candidates {
		if name == "" {
			continue
		}
		if _, err := profile.Find(name); err != nil {
			t.log.Warn("pipeline: unknown insight profile ignored", "tenant", s.Tenant, "key", k.String(), "profile", name, "error", err)
			continue
		}
		return map[string]any{"profile": name}
	}
	return map[string]any{}
}

// transcribeOptions gathers the vocabulary and domain text for one media
// item: the installation's, the tenant's and the upload's own, and the
// words of its file name as media text.
func (t *Tasks) transcribeOptions(ctx context.Context, s *Scope, k Key, filename string) map[string]any {
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
		if tn.ID == s.Tenant {
			add(tn.Vocabulary...)
		}
	}
	// The tenant's vocabulary accepted from reviewers' corrections.
	if vs, err := t.opt.Catalog.VocabularyList(ctx, &catalog.VocabularyListParams{TenantID: s.Tenant, State: catalog.VocabularyAccepted}); err == nil {
		for _, v := range vs {
			add(v.Term)
		}
	} else if errcode.Of(err) != errcode.NotImplemented {
		t.log.Warn("pipeline: the tenant's accepted vocabulary could not be read", "tenant", s.Tenant, "err", err)
	}
	if attrs, err := s.Bucket.Attributes(ctx, k.String()); err == nil {
		add(strings.Split(attrs.Metadata[MetaVocabulary], ",")...)
	}
	opts := map[string]any{}
	if len(vocab) > 0 {
		opts["vocabulary"] = vocab
	}
	if t.opt.DomainText != "" {
		opts["domain_text"] = t.opt.DomainText
	}
	if words := speech.FilenameWords(filename); words != "" {
		opts["media_text"] = words
	}
	return opts
}

// visionActivity reports whether task (labels or moderate) is handed to
// the vision worker's activity: its provider is local, the configuration
// routes it to the worker, and the worker can run.
func (t *Tasks) visionActivity(task string) bool {
	if t.cfg.Provider(task) != "local" || !t.cfg.VisionActivity() {
		return false
	}
	return t.opt.VisionUnavailable == nil || t.opt.VisionUnavailable() == ""
}

// runsAsJob reports whether task's state starts an asynchronous provider
// job and waits by task token (aws.async_jobs with a provider that runs
// jobs) rather than running the analyser in a worker.
func (t *Tasks) runsAsJob(task string) bool {
	if !t.cfg.AWS.AsyncJobs {
		return false
	}
	a := t.providerFor(task)
	if _, ok := a.(analyser.Job); !ok {
		return false
	}
	c, ok := a.(analyser.JobsConfigurer)
	return !ok || c.JobsConfigured()
}

// jobOptions are the job states' settings ($.media.options.job): the
// heartbeat, the longest a job may run without its completion arriving.
func (t *Tasks) jobOptions() map[string]any {
	hb := t.cfg.AWS.JobHeartbeat.Duration
	if hb <= 0 {
		hb = 2 * time.Hour
	}
	return map[string]any{"heartbeat_seconds": max(1, int(hb.Seconds()))}
}
