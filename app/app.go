// Package app wires one Landfall process from a configuration: the bucket,
// the catalog, the workflow engine with the pipeline's tasks, the event bus
// with its rules, ingest, and the HTTP API. Provision creates what the
// process needs (the media state machine, the default rules, the default
// tenant); Start begins working; Close releases everything.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/analyser"
	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/analyser/openai"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/apiserver/auth"
	"github.com/landfall/landfall/apiserver/webui"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/busstore"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/wordnet"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/internal/snsmsg"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/pipelines"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/workflow"

	// Drivers and the local analysers register themselves.
	_ "github.com/landfall/landfall/analyser/local/diarise"
	_ "github.com/landfall/landfall/analyser/local/faces"
	_ "github.com/landfall/landfall/analyser/local/language"
	_ "github.com/landfall/landfall/analyser/local/mediatools"
	_ "github.com/landfall/landfall/analyser/local/nlp"
	_ "github.com/landfall/landfall/analyser/local/ocr"
	_ "github.com/landfall/landfall/analyser/local/probe"
	_ "github.com/landfall/landfall/analyser/local/speech"
	_ "github.com/landfall/landfall/blob/fileblob"
	_ "github.com/landfall/landfall/blob/memblob"
	_ "github.com/landfall/landfall/blob/s3blob"
	_ "github.com/landfall/landfall/catalog/postgres"
	_ "github.com/landfall/landfall/catalog/sqlite"
)

// App is one wired Landfall process.
type App struct {
	Cfg     *config.Config
	Log     *slog.Logger
	Bucket  *blob.Bucket
	Catalog catalog.Store
	// Analysers are this app's analysers: the built-in ones and the
	// remote providers its configuration sets up.
	Analysers *analyser.Registry
	// Exports are the transcript and chapter files this app serves and
	// writes.
	Exports *export.Registry
	Engine  *workflow.Engine
	Bus     *bus.Bus
	Ingest  *ingest.Service
	Tasks   *pipeline.Tasks
	Metrics *Metrics
	API     *apiserver.Server
	// Search answers queries over the catalog's search index.
	Search *search.Engine
	// Live runs the live caption sessions of this process.
	Live *live.Manager

	// StateMachineARN is the media pipeline's ARN.
	StateMachineARN string

	cancel context.CancelFunc
	wg     sync.WaitGroup
	// checkedAddr is the address CheckBinding last allowed and warned
	// about, so Serve does not warn twice.
	checkedAddr string
	janitor     *ingest.Janitor
	// sns verifies the messages of the SNS subscription endpoint.
	sns     *snsmsg.Verifier
	wordnet *wordnet.DB
	// reconcileEvery is Options.ReconcileEvery with its default.
	reconcileEvery time.Duration
	// vision is the offline vision worker (nil when not used).
	vision *visionWorker
	// runCtx is Start's context: the supervised worker stops with it.
	runCtx context.Context
}

// Options adjust New.
type Options struct {
	Logger *slog.Logger
	// Version is reported by /healthz.
	Version string
	// Mounts add HTTP handlers (the workflow and Step Functions APIs).
	Mounts func(a *App) (mounts map[string]http.Handler, sfn http.Handler)
	// WrapCatalog, when set, wraps the opened catalog before anything uses
	// it (fault injection in tests, instrumentation).
	WrapCatalog func(catalog.Store) catalog.Store
	// SNSFetch, when set, replaces the HTTPS fetch of SNS signing
	// certificates and subscription URLs (tests serve a test certificate);
	// the URLs must still be https on sns.<region>.amazonaws.com.
	SNSFetch snsmsg.Fetcher
	// ReconcileEvery is how often the api and all roles reconcile
	// (ReconcileEvery when zero; negative: never, Reconcile is called
	// directly).
	ReconcileEvery time.Duration
}

// BucketName is the bucket name events carry: the S3 bucket's own name,
// or "landfall" for local drivers.
func BucketName(blobURL string) string {
	u, err := url.Parse(blobURL)
	if err == nil && u.Scheme == "s3" && u.Host != "" {
		return u.Host
	}
	return "landfall"
}

// workflowDB is the engine's database: the same PostgreSQL database (its
// tables are prefixed) or, on SQLite, a file beside the catalog's so the
// two never contend for one writer lock.
func workflowDB(catalogDB string) string {
	if p, ok := strings.CutPrefix(catalogDB, "sqlite://"); ok {
		path, query, _ := strings.Cut(p, "?")
		out := "sqlite://" + filepath.Join(filepath.Dir(path), "workflow.db")
		if query != "" {
			out += "?" + query
		}
		return out
	}
	// The catalog names its PostgreSQL schema with ?schema=; the engine
	// takes the search_path runtime parameter.
	if u, err := url.Parse(catalogDB); err == nil {
		q := u.Query()
		if sc := q.Get("schema"); sc != "" {
			q.Del("schema")
			q.Set("search_path", sc)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return catalogDB
}

// New opens everything the configuration names and provisions the
// pipeline. On error everything opened so far is closed.
func New(ctx context.Context, cfg *config.Config, opt Options) (_ *App, err error) {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	a := &App{Cfg: cfg, Log: log, Metrics: NewMetrics(), sns: &snsmsg.Verifier{Fetch: opt.SNSFetch}}
	defer func() {
		if err != nil {
			a.Close(context.Background())
		}
	}()
	if strings.HasPrefix(cfg.DB, "sqlite://") || strings.HasPrefix(cfg.Blob, "file://") {
		if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
			return nil, err
		}
	}
	if p, ok := strings.CutPrefix(cfg.Blob, "file://"); ok {
		if err := os.MkdirAll(strings.SplitN(p, "?", 2)[0], 0o755); err != nil {
			return nil, err
		}
	}
	if a.Bucket, err = blob.OpenBucket(ctx, cfg.Blob); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", redact(cfg.Blob), err)
	}
	if a.Catalog, err = catalog.Open(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("catalog %s: %w", redact(cfg.DB), err)
	}
	if opt.WrapCatalog != nil {
		a.Catalog = opt.WrapCatalog(a.Catalog)
	}
	a.reconcileEvery = opt.ReconcileEvery
	if a.reconcileEvery == 0 {
		a.reconcileEvery = ReconcileEvery
	}
	a.Analysers = analyser.NewRegistry()
	a.Exports = export.NewRegistry()
	if err := registerRemote(a.Analysers, cfg); err != nil {
		return nil, err
	}
	if err := registerAWS(ctx, a.Analysers, cfg); err != nil {
		return nil, err
	}
	resources := workflow.NewResources()
	fns := workflow.NewFunctions(FunctionPrefix)
	resources.Register(FunctionPrefix, fns)
	resources.Register(LambdaInvokePrefix, lambdaInvoker{fns})
	a.Engine, err = workflow.Open(ctx, workflow.Config{DB: workflowDB(cfg.DB), Resources: resources,
		Role: workflow.Role(cfg.Role), Workers: cfg.Workers, Logger: log.With("component", "workflow"),
		HistoryEvents: cfg.Limits.HistoryEvents, ExecutionTimeout: cfg.Limits.ExecutionTimeout.Duration,
		ConcurrentExecutions: cfg.Limits.ConcurrentExecutions, Region: cfg.StepFunctions.Region, Account: cfg.StepFunctions.Account,
		QueueURLBase: queueURLBase(cfg.Addr), Retention: cfg.StepFunctions.Retention.Duration,
		MapIO: bucketMapIO{o: bucketObjects{b: a.Bucket, name: BucketName(cfg.Blob)}}})
	if err != nil {
		return nil, fmt.Errorf("workflow engine: %w", err)
	}
	integ, err := a.integrations()
	if err != nil {
		return nil, err
	}
	a.Engine.RegisterIntegrations(resources, integ)
	a.Bus = bus.New(bus.Options{Store: busstore.New(a.Catalog), Starter: starter{a}, Dead: deadLetters{a.Bucket},
		Unrouted: unrouted{a}, Logger: log.With("component", "bus"), Webhook: &bus.Webhook{Secret: []byte(cfg.Notify.Secret)}})
	var domainText string
	if p := cfg.Transcribe.DomainTextFile; p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("transcribe.domain_text_file: %w", err)
		}
		domainText = string(b)
	}
	if cfg.VisionActivity() {
		a.vision = newVisionWorker(cfg.Vision.Dir, cfg.Vision.Node)
		if cfg.Vision.Worker == "external" {
			a.vision.unavailable = "" // it runs elsewhere; this process only hands it tasks
		}
	}
	embedder, err := EmbedderFor(cfg)
	if err != nil {
		return nil, err
	}
	a.Tasks = pipeline.New(pipeline.Options{VisionUnavailable: a.VisionUnavailable, VisionDemand: a.demandVision, Config: cfg, Embedder: embedder, Bucket: a.Bucket, BucketName: BucketName(cfg.Blob), Catalog: a.Catalog, Bus: a.Bus,
		Webhook: &bus.Webhook{Secret: []byte(cfg.Notify.Secret), MaxAttempts: 3}, Logger: log.With("component", "pipeline"),
		WorkRoot: filepath.Join(cfg.Data, "work"), Metrics: pipelineMetrics{a.Metrics}, FailedState: failedState(a.Engine),
		ShareFiles: !strings.HasPrefix(cfg.DB, "sqlite:"), DomainText: domainText, Captions: captionFiles(a.Exports),
		Analysers: a.Analysers, JobEnded: jobs{a}.ended})
	registerTasks(fns, a.Tasks, newRedactor(cfg, filepath.Join(cfg.Data, "work")))
	a.Ingest = ingest.New(ingest.Options{Bucket: a.Bucket, BucketName: BucketName(cfg.Blob), Catalog: a.Catalog, Bus: a.Bus,
		MaxBytes: cfg.Uploads.MaxBytes, MaxTenantBytes: cfg.Limits.StoredBytes, Logger: log.With("component", "ingest")})
	if err := a.provision(ctx); err != nil {
		return nil, err
	}
	resumable, janitor, err := a.Ingest.Resumable(ingest.ResumableOptions{Dir: filepath.Join(cfg.Data, "uploads"),
		AbortAfter: cfg.Uploads.AbortAfter.Duration, Status: apiserver.StatusOf, WriteProblem: apiserver.WriteProblem})
	if err != nil {
		return nil, fmt.Errorf("resumable uploads: %w", err)
	}
	a.janitor = janitor
	var mounts map[string]http.Handler
	var sfn http.Handler
	if opt.Mounts != nil {
		mounts, sfn = opt.Mounts(a)
	}
	secret, err := auth.LoadSecret(cfg.SecretFile)
	if err != nil {
		return nil, fmt.Errorf("secret_file: %w", err)
	}
	if !strings.HasPrefix(cfg.DB, "sqlite:") && cfg.SecretFile == filepath.Join(cfg.Data, auth.SecretFile) {
		// Several processes share this database: unless they share the data
		// folder too, each made its own secret, and signed URLs and Step
		// Functions signatures work on one process only.
		log.Warn("secret_file is the data folder's own; every API process of a shared database must load the same installation secret: set secret_file to one shared file",
			"secret_file", cfg.SecretFile)
	}
	var vocab []string
	vocab = append(vocab, cfg.Transcribe.Vocabulary...)
	engine, err := liveEngine(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.Live = live.New(live.Options{Engine: engine, Uploads: a.Ingest, Bucket: a.Bucket, Versions: a.Catalog, TempDir: filepath.Join(cfg.Data, "live"),
		Vocabulary: vocab, DomainText: domainText, Logger: log.With("component", "live"),
		MaxSeconds: cfg.Live.MaxSeconds, MaxSessions: cfg.Live.MaxSessions, IdleTimeout: cfg.Live.IdleTimeout.Duration})
	if err := os.MkdirAll(filepath.Join(cfg.Data, "live"), 0o755); err != nil {
		return nil, fmt.Errorf("live: %w", err)
	}
	if a.Search, a.wordnet, err = newSearch(a.Catalog, embedder, log.With("component", "search")); err != nil {
		// A wrapped catalog in tests: /v1/search answers 501 naming this.
		log.Warn("search: off", "err", err)
	}
	a.API = apiserver.New(apiserver.Config{Catalog: a.Catalog, Search: a.Search, Bucket: a.Bucket, Uploads: a.Ingest, Bus: busAPI{a.Bus},
		Redrive: redriver{a}, Delete: deleter{a}, Logger: log.With("component", "api"), RequireKeys: len(cfg.Tenants) > 0, Secret: secret,
		RequestsPerMinute: cfg.Limits.RequestsPerMinute, UploadsPerMinute: cfg.Limits.UploadsPerMinute,
		FailedAuthPerMinute: cfg.Limits.FailedAuthPerMinute, OnRefused: a.Metrics.Refused,
		Mounts: mounts, SFN: sfn, Metrics: a.Metrics.Handler(a), MaxUploadBytes: cfg.Uploads.MaxBytes, Version: opt.Version,
		Resumable: resumable, UI: webui.Handler(), Exports: a.Exports, Live: a.Live, Reviews: reviews{a}, ActivityTasks: a.Engine,
		Jobs: jobs{a}})
	return a, nil
}

var _ apiserver.Uploader = (*ingest.Service)(nil)

func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	p.User = url.User(p.User.Username())
	return p.String()
}

// registerRemote registers the analysers of the configured
// OpenAI-compatible server into reg.
func registerRemote(reg *analyser.Registry, cfg *config.Config) error {
	if cfg.OpenAI.BaseURL == "" {
		for task, p := range cfg.Analysers {
			if p == "openai" {
				return fmt.Errorf("analysers.%s is openai but openai.base_url is not set", task)
			}
		}
		return nil
	}
	key := cfg.OpenAI.APIKey
	if cfg.OpenAI.APIKeyEnv != "" {
		key = os.Getenv(cfg.OpenAI.APIKeyEnv)
	}
	c, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: key, TranscribeModel: cfg.OpenAI.TranscribeModel,
		ChatModel: cfg.OpenAI.ChatModel, EmbeddingModel: cfg.OpenAI.EmbeddingModel, Timeout: cfg.OpenAI.Timeout.Duration, TokenBudget: cfg.OpenAI.MaxTokens})
	if err != nil {
		return err
	}
	return registerAll(reg, openai.Transcriber{C: c}, openai.Summariser{C: c})
}

// registerAWS registers the AWS analysers into reg when any task is
// configured to use them.
func registerAWS(ctx context.Context, reg *analyser.Registry, cfg *config.Config) error {
	use := false
	for _, p := range cfg.Analysers {
		use = use || p == "aws"
	}
	if !use {
		return nil
	}
	c, err := awsprov.New(ctx, awsprov.Config{Region: cfg.AWS.Region, Profile: cfg.AWS.Profile, Endpoint: cfg.AWS.Endpoint,
		StagingBucket: cfg.AWS.TranscribeBucket, BedrockModel: cfg.AWS.BedrockModel,
		RekognitionTopic: cfg.AWS.RekognitionSNSTopic, RekognitionRole: cfg.AWS.RekognitionRoleARN,
		MediaURI: func(key string) string {
			if name := BucketName(cfg.Blob); strings.HasPrefix(cfg.Blob, "s3://") {
				return "s3://" + name + "/" + key
			}
			return ""
		}})
	if err != nil {
		return err
	}
	return registerAll(reg, awsprov.Transcriber{C: c}, awsprov.Labeller{C: c}, awsprov.Moderator{C: c}, awsprov.Summariser{C: c})
}

func registerAll(reg *analyser.Registry, as ...analyser.Analyser) error {
	for _, an := range as {
		if err := reg.Register(an); err != nil {
			return err
		}
	}
	return nil
}

// substitute applies ASL definition substitutions (${Name}).
func substitute(def string, subs map[string]string) string {
	for k, v := range subs {
		def = strings.ReplaceAll(def, "${"+k+"}", v)
	}
	return def
}

// queueURLBase starts the URLs of the engine's queues: this server's
// address (the SQS protocol is served on its endpoint).
func queueURLBase(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// MediaRoleARN is the role the built-in media machine shows: Landfall
// runs its tasks with its own rights, and the role names them.
func MediaRoleARN(account string) string {
	return "arn:aws:iam::" + account + ":role/landfall-media-pipeline"
}

func (a *App) provision(ctx context.Context) error {
	def := string(pipelines.MediaDefinition)
	if p := a.Cfg.Pipeline.Definition; p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("pipeline.definition: %w", err)
		}
		def = string(b)
	}
	subs := map[string]string{}
	for k, v := range pipelines.LocalSubstitutions {
		subs[k] = v
	}
	for k, v := range a.Cfg.Pipeline.Substitutions {
		subs[k] = v
	}
	if a.Engine.Role() != workflow.RoleWorker {
		// Put: create, or update when a new release or the configuration
		// changed the definition; running executions keep their revision.
		sm, err := a.Engine.PutStateMachine(ctx, workflow.CreateStateMachineParams{Name: pipelines.MediaName, Definition: substitute(def, subs),
			RoleARN: MediaRoleARN(a.Engine.Account())})
		if err != nil {
			return fmt.Errorf("pipeline definition: %w", err)
		}
		a.StateMachineARN = sm.ARN
	}
	rules := pipelines.MediaRules
	source := "default"
	if p := a.Cfg.Pipeline.Rules; p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("pipeline.rules: %w", err)
		}
		rules, source = b, "file"
	}
	if _, err := a.Bus.LoadRules(rules, source); err != nil {
		return fmt.Errorf("pipeline rules: %w", err)
	}
	// The rules added through the API, kept in the catalog; Bus.Run
	// reloads them when any process changes them.
	if err := a.Bus.Reload(ctx); err != nil {
		return fmt.Errorf("stored rules: %w", err)
	}
	if err := a.provisionVision(ctx); err != nil {
		return err
	}
	if len(a.Cfg.Tenants) == 0 {
		if _, err := a.Catalog.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "default", IfNotExists: true}); err != nil {
			return err
		}
		return nil
	}
	return a.provisionTenants(ctx)
}

// provisionTenants makes the catalog's tenants follow the configuration:
// configured tenants are created, or enabled again if an earlier
// configuration dropped them; catalog tenants the configuration no longer
// names are disabled (their keys stop working; their data stays). An open
// installation (no tenants configured) changes nothing here.
func (a *App) provisionTenants(ctx context.Context) error {
	want := map[string]bool{}
	for _, t := range a.Cfg.Tenants {
		want[t.ID] = true
		if _, err := a.Catalog.TenantCreate(ctx, &catalog.TenantCreateParams{ID: t.ID, IfNotExists: true}); err != nil {
			return fmt.Errorf("tenant %s: %w", t.ID, err)
		}
	}
	have, err := a.Catalog.TenantList(ctx, &catalog.TenantListParams{})
	if err != nil {
		return err
	}
	for _, t := range have {
		switch {
		case want[t.ID] && t.DisabledAt != nil:
			if _, err := a.Catalog.TenantEnable(ctx, &catalog.TenantEnableParams{ID: t.ID}); err != nil {
				return fmt.Errorf("tenant %s: %w", t.ID, err)
			}
			a.Log.Info("tenant is configured again: enabled", "tenant", t.ID, "disabled_at", *t.DisabledAt)
		case !want[t.ID] && t.DisabledAt == nil:
			if _, err := a.Catalog.TenantDisable(ctx, &catalog.TenantDisableParams{ID: t.ID}); err != nil {
				return fmt.Errorf("tenant %s: %w", t.ID, err)
			}
			a.Log.Warn("tenant is no longer configured: disabled, its API keys stop working (its data stays)", "tenant", t.ID)
		}
	}
	return nil
}

// Start begins working: the engine's workers, the bus dispatcher and the
// bucket watcher, as the role asks.
func (a *App) Start(ctx context.Context) error {
	ctx, a.cancel = context.WithCancel(ctx)
	a.runCtx = ctx
	if msg := a.VisionUnavailable(); msg != "" && a.Cfg.VisionWorkerServes() {
		a.Log.Error(msg + "; labels and moderation are not run")
	}
	if err := a.Analysers.Open(ctx); err != nil {
		return err
	}
	if err := a.Engine.Start(ctx); err != nil {
		return err
	}
	if a.Cfg.Role != "api" {
		// Task rows name their worker by this id.
		a.Log.Info("workflow worker started", "worker", a.Engine.WorkerID(), "pid", os.Getpid(), "slots", a.Cfg.Workers)
	}
	if a.Cfg.Role != "worker" {
		a.goRun(func() { _ = a.Bus.Run(ctx) })
		a.goRun(func() { a.janitor.Run(ctx, 10*time.Minute) })
		a.goRun(func() { a.sweepBucket(ctx, 10*time.Minute) })
		if a.reconcileEvery > 0 {
			a.goRun(func() { a.runReconciler(ctx, a.reconcileEvery) })
		}
		a.goRun(func() { a.runReviewResumer(ctx, ReviewResumeEvery) })
		if a.Cfg.Uploads.Watch {
			a.goRun(func() { _ = a.Ingest.Watch(ctx, 2*time.Second) })
		}
	}
	return nil
}

func (a *App) goRun(f func()) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		f()
	}()
}

// ErrOpenBeyondLoopback refuses to serve an open installation beyond
// loopback.
var ErrOpenBeyondLoopback = errcode.New(errcode.FailedPrecond, "no tenants are configured, so every caller may read and change everything")

// CheckBinding refuses an open installation (no tenants, no keys) on an
// address other than loopback, unless the configuration says open: true;
// then it logs a warning saying what that means.
func (a *App) CheckBinding(addr net.Addr) error {
	if len(a.Cfg.Tenants) > 0 || loopback(addr) {
		return nil
	}
	if !a.Cfg.Open {
		return fmt.Errorf("listen %s: %w: an open installation listens on loopback only; configure tenants and API keys, or set open: true (serve --open) to serve it anyway", addr, ErrOpenBeyondLoopback)
	}
	a.checkedAddr = addr.String()
	a.Log.Warn("open installation on a non-loopback address: anyone who can reach " + addr.String() + " can read and change everything (media, rules, state machines, keys); configure tenants and API keys to require credentials")
	return nil
}

func loopback(addr net.Addr) bool {
	switch a := addr.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true // reachable through the file system only
	}
	return false
}

// Serve serves the HTTP API on ln until ctx ends. An open installation
// serves on loopback only (see CheckBinding).
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	if a.checkedAddr != ln.Addr().String() {
		if err := a.CheckBinding(ln.Addr()); err != nil {
			return err
		}
	}
	skip := func(r *http.Request) bool { return r.URL.Path == "/healthz" || r.URL.Path == "/metrics" }
	lim := a.Cfg.Limits
	// No ReadTimeout or WriteTimeout: uploads and downloads of any size
	// take as long as they take while bytes keep flowing. A body that
	// stalls for BodyReadTimeout ends its request; headers get the same
	// bound (capped at 10s); idle keep-alive connections close after
	// IdleTimeout.
	header := 10 * time.Second
	if d := lim.BodyReadTimeout.Duration; d > 0 && d < header {
		header = d
	}
	srv := &http.Server{
		Handler:           apiserver.BodyReadTimeout(telemetry.HTTPHandler(a.API, skip), lim.BodyReadTimeout.Duration),
		ReadHeaderTimeout: header,
		IdleTimeout:       lim.IdleTimeout.Duration,
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops work and releases everything.
func (a *App) Close(ctx context.Context) {
	if a.cancel != nil {
		a.cancel()
	}
	if a.Live != nil {
		// Running live sessions end and are stored before the stores close.
		a.Live.Close(ctx)
	}
	a.wg.Wait()
	if a.Engine != nil {
		_ = a.Engine.Close(ctx)
	}
	if a.Analysers != nil {
		if err := a.Analysers.Close(); err != nil {
			a.Log.Warn("closing analysers", "err", err)
		}
	}
	if a.Catalog != nil {
		_ = a.Catalog.Close()
	}
	if a.wordnet != nil {
		_ = a.wordnet.Close()
	}
	if a.Bucket != nil {
		_ = a.Bucket.Close()
	}
}

// sweepBucket removes what crashed writes left in the bucket (temporary
// files, open multipart uploads) once they are older than the upload abort
// age.
func (a *App) sweepBucket(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := a.Bucket.SweepIncomplete(ctx, a.Cfg.Uploads.AbortAfter.Duration)
		switch {
		case err != nil && ctx.Err() == nil && !errors.Is(err, errcode.NotImplemented):
			a.Log.Warn("bucket sweep", "err", err)
		case n > 0:
			a.Log.Info("bucket sweep: removed incomplete writes", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
