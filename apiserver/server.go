package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/apiserver/auth"
	"github.com/landfall/landfall/apiserver/sigv4"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/types"
)

// Uploader stores an uploaded stream as a new media item.
type Uploader interface {
	// Upload streams body into incoming/<tenant>/<id>.<ext>, creates the
	// media row and its Object Created event, and returns the row.
	Upload(ctx context.Context, p *UploadParams) (*catalog.Media, error)
	// Intake turns an S3 event notification (or EventBridge Object Created
	// event) into bus events.
	Intake(ctx context.Context, body []byte) (*ingest.IntakeResult, error)
}

// UploadParams describe one upload.
type UploadParams = ingest.UploadParams

// EventBus is what the API needs of the bus.
type EventBus interface {
	PutEvents(ctx context.Context, entries []bus.PutEventsEntry) ([]bus.PutEventsResultEntry, error)
	Rules() []RuleInfo
	PutRule(ctx context.Context, spec []byte) (*RuleInfo, error)
	DeleteRule(ctx context.Context, name string) error
}

// RuleInfo describes a loaded rule.
type RuleInfo struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	State       string `json:"state"`
	Source      string `json:"source"` // "file", "api" or "default"
	Spec        any    `json:"spec"`
}

// Redriver starts a failed media item's execution again.
type Redriver interface {
	RedriveMedia(ctx context.Context, f *catalog.Failure) (executionID string, err error)
}

// MediaDeleter deletes a tenant's media item and everything made from it.
type MediaDeleter interface {
	DeleteMedia(ctx context.Context, tenant, id string) (*MediaDeleted, error)
}

// MediaDeleted says what deleting a media item removed.
type MediaDeleted = types.MediaDeleted

// ActivityTasks tells which tenant's execution a running activity task
// belongs to.
type ActivityTasks interface {
	// ActivityTaskTenant returns the tenant of the execution whose running
	// activity task token names; an error (NotFound) for any other token.
	ActivityTaskTenant(ctx context.Context, token string) (string, error)
}

// Config wires a server.
type Config struct {
	Catalog catalog.Store
	// Search answers /v1/search over the catalog's search index.
	Search  *search.Engine
	Bucket  *blob.Bucket
	Uploads Uploader
	Bus     EventBus
	Redrive Redriver
	Delete  MediaDeleter
	Logger  *slog.Logger
	// RequireKeys makes every route but health, the OpenAPI document and
	// the web UI's files need a credential (an API key, or a signed URL
	// for media downloads); the key's role and tenant decide what it may
	// do. Without it the installation is open: every caller is the
	// anonymous principal acting for ?tenant= or DefaultTenant, which is
	// why open installations bind to loopback unless told otherwise.
	RequireKeys bool
	// DefaultTenant is used in open mode when a request names none.
	DefaultTenant string
	// Secret is the installation secret: it derives secret access keys
	// and signs media URLs (see package auth). Without it signed URLs and
	// Signature Version 4 are refused.
	Secret []byte
	// RequestsPerMinute and UploadsPerMinute rate-limit each API key (each
	// remote address on open installations); 0 is unlimited.
	RequestsPerMinute int
	UploadsPerMinute  int
	// FailedAuthPerMinute bounds failed authentications from one remote
	// address; past it the address is refused (429) before its
	// credentials are looked up. 0 is unlimited.
	FailedAuthPerMinute int
	// OnRefused, when set, is told the code of each request the access
	// layer refuses (Unauthenticated, PermissionDenied, RateLimited, …),
	// for metrics.
	OnRefused func(errcode.Code)
	// Now is the clock for rate limits and signed URLs (time.Now when nil).
	Now func() time.Time
	// Mounts are further handlers by path prefix (the workflow REST API at
	// /v1/state-machines, /v1/executions, …). Requests reach them
	// authenticated, with the principal in their context.
	Mounts map[string]http.Handler
	// SFN serves POST / with X-Amz-Target (the Step Functions protocol),
	// authenticated like the mounts.
	SFN http.Handler
	// Metrics serves /metrics to operators and admins.
	Metrics http.Handler
	// UI serves the web UI under /ui/; GET / redirects there.
	UI http.Handler
	// Resumable serves resumable (tus) uploads under /v1/uploads/tus/;
	// requests reach it authenticated, with the principal (and the tenant
	// it acts for) in their context.
	Resumable http.Handler
	// MaxUploadBytes bounds one upload.
	MaxUploadBytes int64
	// Version is shown by /healthz.
	Version string
	// ActivityTasks, when set, lets activity workers read the files their
	// running tasks name (GET /v1/activity-files/{key}).
	ActivityTasks ActivityTasks
	// Live runs live caption sessions (GET /v1/live); nil answers those
	// routes with NotImplemented.
	Live *live.Manager
	// Exports are the files served at /v1/media/{id}/{name} besides
	// insights.json and transcript.json (captions, interchange formats).
	Exports *export.Registry
	// Reviews serves the review queue (/v1/reviews, media versions).
	Reviews Reviews
	// Jobs takes the completion notices of asynchronous provider jobs
	// (POST /v1/intake/aws-events, POST /v1/intake/sns).
	Jobs Jobs
}

// Server is the HTTP API.
type Server struct {
	cfg  Config
	log  *slog.Logger
	mux  *http.ServeMux
	auth *auth.Authenticator

	requests, uploads, failures *limiter
	routeTable                  []Route
}

// New builds the server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = "default"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		auth:     &auth.Authenticator{Catalog: cfg.Catalog, Secret: cfg.Secret, Now: cfg.Now},
		requests: newLimiter(cfg.RequestsPerMinute, cfg.Now), uploads: newLimiter(cfg.UploadsPerMinute, cfg.Now),
		failures: newLimiter(cfg.FailedAuthPerMinute, cfg.Now)}
	s.routes()
	return s
}

const headerRequestID = "X-Request-Id"

func (s *Server) routes() {
	pub := func(method, pattern string, h http.HandlerFunc) {
		s.handle(Route{Method: method, Pattern: pattern, Access: AccessPublic}, h)
	}
	api := func(method, pattern string, access Access, h handler) {
		s.handle(Route{Method: method, Pattern: pattern, Access: access}, s.errors(h))
	}
	pub("GET", "/healthz", s.healthz)
	pub("GET", "/openapi.json", s.openapi)
	if s.cfg.Metrics != nil {
		s.handle(Route{Method: "GET", Pattern: "/metrics", Access: AccessOperator}, s.cfg.Metrics)
	}
	api("GET", "/v1/media", AccessTenantRead, s.mediaList)
	api("GET", "/v1/media/{id}", AccessReviewItem, s.mediaGet)
	api("DELETE", "/v1/media/{id}", AccessTenantWrite, s.mediaDelete)
	s.handle(Route{Method: "GET", Pattern: "/v1/media/{id}/{export}", Access: AccessReviewItem, SignedURL: true}, s.errors(s.mediaExport))
	api("POST", "/v1/media/{id}/links", AccessReviewItem, s.mediaLinks)
	api("GET", "/v1/search", AccessTenantRead, s.search)
	api("GET", "/v1/failures", AccessTenantRead, s.failureList)
	api("GET", "/v1/failures/{id}", AccessTenantRead, s.failureGet)
	api("POST", "/v1/failures/{id}/redrive", AccessTenantWrite, s.failureRedrive)
	api("GET", "/v1/usage", AccessTenantRead, s.usage)
	if s.cfg.ActivityTasks != nil {
		api("GET", "/v1/activity-files/{key...}", AccessWorker, s.activityFile)
	}
	s.handle(Route{Method: "POST", Pattern: "/v1/uploads", Access: AccessTenantWrite, Upload: true}, s.errors(s.upload))
	api("POST", "/v1/intake/s3", AccessInstallation, s.intake)
	api("POST", "/v1/intake/aws-events", AccessInstallation, s.jobEvent)
	// SNS sends no credential: the handler authenticates each message by
	// its signature and topic.
	s.handle(Route{Method: "POST", Pattern: "/v1/intake/sns", Access: AccessPublic}, s.errors(s.snsMessage))
	api("POST", "/v1/events", AccessInstallation, s.putEvents)
	api("GET", "/v1/rules", AccessInstallation, s.ruleList)
	api("POST", "/v1/rules", AccessInstallation, s.rulePut)
	api("DELETE", "/v1/rules/{name}", AccessInstallation, s.ruleDelete)
	s.adminRoutes(api)
	s.reviewRoutes(api)
	s.liveRoutes(api)
	if s.cfg.UI != nil {
		s.handle(Route{Method: "GET", Pattern: "/ui/", Access: AccessPublic}, s.cfg.UI)
		pub("GET", "/{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	}
	if s.cfg.Resumable != nil {
		// tus: POST creates an upload (counted as one), PATCH sends its
		// bytes, HEAD resumes, DELETE abandons.
		s.handle(Route{Pattern: "/v1/uploads/tus/", Access: AccessTenantWrite, Upload: true}, s.cfg.Resumable)
	}
	for prefix, h := range s.cfg.Mounts {
		// Mounted APIs see the principal in the request's context and
		// scope what it may see and do themselves.
		s.handle(Route{Pattern: prefix, Access: AccessCaller}, h)
	}
	if s.cfg.SFN != nil {
		// The Step Functions protocol: AWS clients sign with a key's
		// access key id and secret access key (Signature Version 4);
		// other callers send the API key as a Bearer token.
		rt := Route{Method: "POST", Pattern: "/{$}", Access: AccessEngine, SigV4: true}
		if !s.cfg.RequireKeys {
			// Open installation: every caller is anonymous, and the
			// signature an AWS client always sends (with whatever
			// credentials it has) is not checked.
			s.handle(rt, s.cfg.SFN)
			return
		}
		s.register(rt, &sigv4.Handler{
			// The endpoint serves the SQS protocol too (queues of the
			// workflow engine), which SDKs sign for "sqs".
			Verifier: sigv4.Verifier{Lookup: s.LookupAccessKey, Service: "states", AlsoServices: []string{"sqs"}},
			Next:     s.authorized(rt, s.cfg.SFN),
			Unsigned: s.guard(rt, s.cfg.SFN),
			Now:      s.cfg.Now,
			Log:      s.log,
		})
	}
}

// ServeHTTP adds a request id, recovers panics into a 500 problem, and
// logs each request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(headerRequestID)
	if id == "" || len(id) > 64 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		id = hex.EncodeToString(b[:])
		r.Header.Set(headerRequestID, id)
	}
	w.Header().Set(headerRequestID, id)
	rec := &statusRecorder{ResponseWriter: w, status: 200}
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("panic in handler", "request_id", id, "path", r.URL.Path, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				WriteProblem(rec, r, fmt.Errorf("panic: %v", p))
			}
		}
		attrs := []any{"request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration_ms", time.Since(start).Milliseconds()}
		if mid := r.PathValue("id"); mid != "" && strings.HasPrefix(r.URL.Path, "/v1/media/") {
			attrs = append(attrs, "media_id", mid)
		}
		s.log.Info("http", attrs...)
	}()
	if s.screen(rec, r) {
		s.mux.ServeHTTP(rec, r)
	}
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	r.wrote = true
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

type handler func(w http.ResponseWriter, r *http.Request) error

// errors turns a handler's error into a problem response.
func (s *Server) errors(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// TenantFrom returns the tenant an authenticated request acts for.
func TenantFrom(ctx context.Context) (string, bool) {
	p, ok := identity.FromContext(ctx)
	return p.Tenant, ok && p.Tenant != ""
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}
