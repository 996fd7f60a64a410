package pipeline

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/types"
)

// Options configure the pipeline's tasks.
type Options struct {
	Config     *config.Config
	Bucket     *blob.Bucket
	BucketName string // the name events and media references carry
	Catalog    catalog.Store
	Bus        *bus.Bus // may be nil (no events)
	Webhook    *bus.Webhook
	Logger     *slog.Logger
	// WorkRoot holds the media items' work folders on this machine.
	WorkRoot string
	// ShareFiles uploads declared artefacts to the bucket for workers on
	// other machines; when every worker shares this machine's work folders
	// (SQLite) files stay where they are.
	ShareFiles bool
	// DomainText is the transcriber's domain text (config
	// transcribe.domain_text_file, read at start).
	DomainText string
	// Metrics are told of analyser runs and finished media; may be nil.
	Metrics Metrics
	// FailedState names the state whose failure an execution caught; may
	// be nil.
	FailedState func(ctx context.Context, executionARN string) string
	// Trace, when set, is told of every analyser run (benchmarks).
	Trace func(mediaID, task string, start, end time.Time)
	// Captions are the caption files persist writes beside a transcript,
	// by file name.
	Captions map[string]CaptionWriter
	// Analysers are the app's analysers (analyser.NewRegistry and the
	// configured remote providers); the built-in ones when nil.
	Analysers *analyser.Registry
	// Embedder computes the vectors of search entries (the Embed state);
	// nil when no embedding provider is configured.
	Embedder search.Embedder
	Now      func() time.Time
	// VisionUnavailable, when set, says why the vision worker cannot serve
	// the labels and moderate tasks of provider local ("" when it can).
	VisionUnavailable func() string
	// VisionDemand, when set, is called before frames are prepared for the
	// vision worker (the app starts its supervised worker on first need).
	VisionDemand func()
	// JobEnded, when set, is told of a provider job that had already ended
	// when its state started it (a retried attempt): no notice will come,
	// so it is finished now (FinishJob, then SendTaskSuccess/Failure).
	JobEnded func(service, id string)
}

// Metrics observe the pipeline.
type Metrics interface {
	AnalyserObserved(id string, d time.Duration, err error)
	MediaDone(status types.Status)
}

// CaptionWriter renders a transcript as a caption file.
type CaptionWriter struct {
	ContentType string
	Write       func(io.Writer, *types.Transcript) error
}

// Tasks serves the pipeline's Task states: register, the analysers,
// persist, move, record-failure and notify.
type Tasks struct {
	opt  Options
	cfg  *config.Config
	log  *slog.Logger
	work Workdirs
}

// New returns the pipeline's tasks.
func New(opt Options) *Tasks {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Config == nil {
		opt.Config = &config.Config{}
	}
	if opt.Webhook == nil {
		opt.Webhook = &bus.Webhook{}
	}
	if opt.Analysers == nil {
		opt.Analysers = analyser.NewRegistry()
	}
	return &Tasks{opt: opt, cfg: opt.Config, log: opt.Logger, work: Workdirs{Root: opt.WorkRoot}}
}

// SetTrace sets the function told of every analyser run.
func (t *Tasks) SetTrace(f func(mediaID, task string, start, end time.Time)) { t.opt.Trace = f }

// AnalyserTasks are the analysis tasks the pipeline serves.
var AnalyserTasks = []string{analyser.TaskClassify, analyser.TaskMedia, analyser.TaskTranscribe, analyser.TaskDiarise,
	analyser.TaskOCR, analyser.TaskFaces, analyser.TaskLabels, analyser.TaskModerate, analyser.TaskLanguage, analyser.TaskSummarise}

// Funcs returns every task by its function name (the part of the Lambda
// ARN after "landfall-").
func (t *Tasks) Funcs() map[string]TaskFunc {
	fns := map[string]TaskFunc{
		"register":        t.Register,
		"persist":         t.Persist,
		"embed":           t.Embed,
		"move":            t.Move,
		"record-failure":  t.RecordFailure,
		"notify":          t.Notify,
		"review-policy":   t.ReviewPolicyTask,
		"review-open":     t.ReviewOpenTask,
		"review-escalate": t.ReviewEscalateTask,
		"review-rerun":    t.ReviewRerunTask,
		"review-apply":    t.ReviewApplyTask,
		"review-reject":   t.ReviewRejectTask,
		"frames":          t.Frames,
	}
	for _, task := range AnalyserTasks {
		fns[task] = t.Analyse(task)
	}
	for _, task := range JobTasks {
		fns[task+"-job"] = t.StartJob(task)
	}
	return fns
}

// scope is the capability of one call: the execution's tenant's bucket
// prefixes and catalog rows.
func (t *Tasks) scope(c Call) (*Scope, error) {
	return NewScope(c.Tenant, t.opt.BucketName, t.opt.Bucket, t.opt.Catalog)
}

// scopedMedia is the call's scope and the key of the media the task
// input names at /media, checked to be the caller's.
func (t *Tasks) scopedMedia(ctx context.Context, c Call, m *Media) (*Scope, Key, error) {
	s, err := t.scope(c)
	if err != nil {
		return nil, Key{}, err
	}
	k, err := s.Media(ctx, m, "/media")
	return s, k, err
}

// providerFor returns the configured analyser of task, or nil when none
// is configured or available.
func (t *Tasks) providerFor(task string) analyser.Analyser {
	p := t.cfg.Provider(task)
	if p == "none" {
		return nil
	}
	a, err := t.opt.Analysers.ForTask(task, p)
	if err != nil {
		return nil
	}
	return a
}

func (t *Tasks) mediaDone(s types.Status) {
	if t.opt.Metrics != nil {
		t.opt.Metrics.MediaDone(s)
	}
}
