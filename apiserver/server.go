package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// Uploader stores an uploaded stream as a new media item.
type Uploader interface {
	// Upload streams body into incoming/<tenant>/<id>.<ext>, creates the
	// media row and its Object Created event, and returns the row.
	Upload(ctx context.Context, p *UploadParams) (*catalog.Media, error)
	// Intake turns an S3 event notification (or EventBridge Object Created
	// event) into bus events.
	Intake(ctx context.Context, body []byte) (int, error)
}

// UploadParams describe one upload.
type UploadParams struct {
	Tenant      string
	Filename    string
	ContentType string
	Size        int64 // -1 when unknown
	Body        io.Reader
	// Vocabulary are words (names, jargon) the transcriber should expect.
	Vocabulary []string
}

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

// Config wires a server.
type Config struct {
	Catalog catalog.Store
	Bucket  *blob.Bucket
	Uploads Uploader
	Bus     EventBus
	Redrive Redriver
	Logger  *slog.Logger
	// RequireKeys makes every /v1 request present an API key (Bearer or
	// X-Api-Key); the key's tenant scopes what it sees. Without it the
	// server trusts its callers and takes the tenant from ?tenant= (for
	// loopback-only embedded use).
	RequireKeys bool
	// DefaultTenant is used in open mode when a request names none.
	DefaultTenant string
	// Mounts are further handlers by path prefix (the workflow REST API at
	// /v1/state-machines, /v1/executions, …; the Step Functions protocol at
	// POST /).
	Mounts map[string]http.Handler
	// SFN serves POST / with X-Amz-Target (the Step Functions protocol).
	SFN http.Handler
	// Metrics serves /metrics.
	Metrics http.Handler
	// UI serves the web UI under /ui/; GET / redirects there.
	UI http.Handler
	// Resumable serves resumable (tus) uploads under /v1/uploads/tus/;
	// requests reach it authenticated (TenantFrom gives the tenant).
	Resumable http.Handler
	// MaxUploadBytes bounds one upload.
	MaxUploadBytes int64
	// Version is shown by /healthz.
	Version string
	// Exports are the files served at /v1/media/{id}/{name} besides
	// insights.json and transcript.json (captions, interchange formats).
	Exports *export.Registry
}

// Server is the HTTP API.
type Server struct {
	cfg Config
	log *slog.Logger
	mux *http.ServeMux
}

// New builds the server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DefaultTenant == "" {
		cfg.DefaultTenant = "default"
	}
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s
}

const headerRequestID = "X-Request-Id"

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /openapi.json", s.openapi)
	if s.cfg.Metrics != nil {
		m.Handle("GET /metrics", s.cfg.Metrics)
	}
	m.Handle("GET /v1/media", s.auth(s.mediaList))
	m.Handle("GET /v1/media/{id}", s.auth(s.mediaGet))
	m.Handle("GET /v1/media/{id}/{export}", s.auth(s.mediaExport))
	m.Handle("GET /v1/search", s.auth(s.search))
	m.Handle("GET /v1/failures", s.auth(s.failureList))
	m.Handle("GET /v1/failures/{id}", s.auth(s.failureGet))
	m.Handle("POST /v1/failures/{id}/redrive", s.auth(s.failureRedrive))
	m.Handle("GET /v1/usage", s.auth(s.usage))
	m.Handle("POST /v1/uploads", s.auth(s.upload))
	m.Handle("POST /v1/intake/s3", s.auth(s.intake))
	m.Handle("POST /v1/events", s.auth(s.putEvents))
	m.Handle("GET /v1/rules", s.auth(s.ruleList))
	m.Handle("POST /v1/rules", s.auth(s.rulePut))
	m.Handle("DELETE /v1/rules/{name}", s.auth(s.ruleDelete))
	if s.cfg.UI != nil {
		m.Handle("GET /ui/", s.cfg.UI)
		m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ui/", http.StatusFound) })
	}
	if s.cfg.Resumable != nil {
		m.Handle("/v1/uploads/tus/", s.authHandler(s.cfg.Resumable))
	}
	for prefix, h := range s.cfg.Mounts {
		// Mounted APIs are installation-wide: with keys required, any
		// valid key may use them.
		m.Handle(prefix, s.authHandler(h))
	}
	if s.cfg.SFN != nil {
		m.Handle("POST /{$}", s.cfg.SFN)
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
	s.mux.ServeHTTP(rec, r)
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

// principal is who is calling: the tenant a key is scoped to, or any
// tenant in open mode.
type principal struct {
	tenant string
	open   bool
}

type ctxKey struct{}

func principalOf(ctx context.Context) principal { p, _ := ctx.Value(ctxKey{}).(principal); return p }

type handler func(w http.ResponseWriter, r *http.Request) error

// auth resolves the caller's tenant and turns a handler's error into a
// problem response.
func (s *Server) auth(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err == nil {
			err = h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
		}
		if err != nil {
			if errcode.Of(err) == errcode.Unknown {
				s.log.Error("request failed", "request_id", r.Header.Get(headerRequestID), "path", r.URL.Path, "err", err)
			}
			WriteProblem(w, r, err)
		}
	})
}

// authHandler authenticates requests for a plain handler.
func (s *Server) authHandler(h http.Handler) http.Handler {
	return s.auth(func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	})
}

// TenantFrom returns the tenant of an authenticated request's context.
func TenantFrom(ctx context.Context) (string, bool) {
	p, ok := ctx.Value(ctxKey{}).(principal)
	return p.tenant, ok
}

func (s *Server) authenticate(r *http.Request) (principal, error) {
	key := r.Header.Get("X-Api-Key")
	// Media elements cannot send headers: GET requests may carry the key
	// as access_token (keep such URLs out of shared logs).
	if key == "" && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" {
		key = r.URL.Query().Get("access_token")
	}
	if a := r.Header.Get("Authorization"); key == "" && a != "" {
		k, ok := strings.CutPrefix(a, "Bearer ")
		if !ok {
			return principal{}, errcode.New(errcode.Unauthenticated, "Authorization: want \"Bearer <api key>\"")
		}
		key = strings.TrimSpace(k)
	}
	if key == "" {
		if s.cfg.RequireKeys {
			return principal{}, errcode.New(errcode.Unauthenticated, "an API key is required (Authorization: Bearer <key> or X-Api-Key)")
		}
		t := r.URL.Query().Get("tenant")
		if t == "" {
			t = s.cfg.DefaultTenant
		}
		return principal{tenant: t, open: true}, nil
	}
	k, err := s.cfg.Catalog.APIKeyLookup(r.Context(), &catalog.APIKeyLookupParams{Key: key})
	if err != nil {
		return principal{}, err
	}
	if t := r.URL.Query().Get("tenant"); t != "" && t != k.TenantID {
		return principal{}, errcode.New(errcode.PermissionDenied, "tenant=%s: this API key belongs to another tenant", t)
	}
	return principal{tenant: k.TenantID}, nil
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.cfg.Version})
}
