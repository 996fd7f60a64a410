package apiserver

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/apiserver/auth"
	"github.com/landfall/landfall/apiserver/sigv4"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Access is who may call a route.
type Access string

const (
	// AccessPublic routes need no credential: health, the OpenAPI
	// document, the web UI's static files, and the SNS subscription
	// endpoint (each message authenticated by its own signature).
	AccessPublic Access = "public"
	// AccessOperator routes (metrics) are for operators and admins.
	AccessOperator Access = "operator"
	// AccessTenantRead routes read one tenant's work: tenant keys of that
	// tenant and admins naming it with ?tenant= (not reviewers).
	AccessTenantRead Access = "tenant-read"
	// AccessTenantWrite routes change one tenant's work: tenant keys of
	// that tenant and admins naming it with ?tenant= (not reviewers).
	AccessTenantWrite Access = "tenant-write"
	// AccessReview routes read and decide one tenant's review work as a
	// whole (the queue, its counts, vocabulary suggestions): tenant and
	// reviewer keys of that tenant, and admins naming it with ?tenant=.
	// A reviewer key's list shows the items waiting in the queue and the
	// ones it decided.
	AccessReview Access = "review"
	// AccessReviewItem routes read or decide one media item ({id}): its
	// review, record, artefacts, frames and media stream, and versions.
	// Tenant keys and admins reach every item of their tenant; a reviewer
	// key reaches an item only while it waits in the review queue or after
	// it decided the item itself (catalog.Review.VisibleTo).
	AccessReviewItem Access = "review-item"
	// AccessInstallation routes change the installation (rules, raw events
	// and notifications, tenants and keys): admins only.
	AccessInstallation Access = "installation"
	// AccessCaller routes (the workflow APIs) take any authenticated
	// caller except operators; the engine scopes what each principal sees
	// by the principal in the request's context.
	AccessCaller Access = "caller"
	// AccessEngine is the Step Functions endpoint's: any authenticated
	// caller. Operators reach only what activity workers do (poll activity
	// tasks, heartbeat and settle the running ones); the engine refuses
	// them everything else and scopes every other principal.
	AccessEngine Access = "engine"
	// AccessWorker routes serve activity workers: operator and admin keys,
	// which must also present the token of a running activity task (the
	// handler checks it and what it may reach).
	AccessWorker Access = "worker"
)

// Route is one entry of the server's route table.
type Route struct {
	// Method is the HTTP method, or "" when a mounted handler takes any.
	Method string
	// Pattern is the path pattern (net/http ServeMux syntax; a pattern
	// ending in "/" covers the subtree).
	Pattern string
	// Public routes need no credential.
	Public bool
	Access Access
	// SignedURL routes also accept a signed URL (GET only).
	SignedURL bool
	// Upload routes count against the upload rate as well.
	Upload bool
	// SigV4 routes (the Step Functions endpoint) accept Signature Version
	// 4 as well as API keys.
	SigV4 bool
}

// Routes lists every route the server serves, mounts and the Step
// Functions endpoint included, sorted by pattern and method.
func (s *Server) Routes() []Route {
	out := append([]Route(nil), s.routeTable...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pattern != out[j].Pattern {
			return out[i].Pattern < out[j].Pattern
		}
		return out[i].Method < out[j].Method
	})
	return out
}

// handle registers h for rt: requests are authenticated, authorised by the
// route's access, rate-limited, and reach h with the principal in their
// context (identity.NewContext).
func (s *Server) handle(rt Route, h http.Handler) {
	if rt.Access == AccessPublic {
		s.register(rt, h)
		return
	}
	s.register(rt, s.guard(rt, h))
}

// register adds rt to the route table and serves it with h as it is (h
// authenticates, or the route is public).
func (s *Server) register(rt Route, h http.Handler) {
	rt.Public = rt.Access == AccessPublic
	s.routeTable = append(s.routeTable, rt)
	pattern := rt.Pattern
	if rt.Method != "" {
		pattern = rt.Method + " " + pattern
	}
	s.mux.Handle(pattern, h)
}

// guard authenticates a request and hands it to authorized.
func (s *Server) guard(rt Route, h http.Handler) http.Handler {
	next, fail := s.authorized(rt, h), s.failer(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An address that keeps failing to authenticate is refused before
		// its next credential is even looked up.
		addr := "addr:" + remoteHost(r)
		if ok, wait := s.failures.check(addr); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			fail(w, r, errcode.New(errcode.RateLimited, "too many failed authentications from this address (%d a minute); retry in %s", s.failures.perMinute, wait.Round(100*time.Millisecond)))
			return
		}
		p, err := s.authenticate(r, rt)
		if err != nil {
			if c := errcode.Of(err); c == errcode.Unauthenticated || c == errcode.PermissionDenied {
				s.failures.take(addr)
			}
			fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), p)))
	})
}

// authorized serves requests whose context already holds the caller's
// principal (set by guard, or by a signature verifier in front of it): it
// settles the tenant the request acts for, checks the route's access and
// the caller's rates, then calls h.
func (s *Server) authorized(rt Route, h http.Handler) http.Handler {
	fail := s.failer(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := identity.FromContext(r.Context())
		if !ok {
			fail(w, r, errcode.New(errcode.Unauthenticated, "no principal: the request was not authenticated"))
			return
		}
		p, err := s.authorize(r, rt, p)
		if err == nil {
			err = s.limit(w, r, rt, p)
		}
		if err != nil {
			fail(w, r, err)
			return
		}
		h.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), p)))
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errcode.Of(err) == errcode.Unknown {
		s.log.Error("request failed", "request_id", r.Header.Get(headerRequestID), "path", r.URL.Path, "err", err)
	}
	WriteProblem(w, r, err)
}

// failAWS answers a refused request to the Step Functions endpoint in the
// AWS JSON protocol's error shape, as AWS clients expect.
func (s *Server) failAWS(w http.ResponseWriter, r *http.Request, err error) {
	status, typ := http.StatusBadRequest, "InternalFailure"
	switch errcode.Of(err) {
	case errcode.Unauthenticated:
		status, typ = http.StatusForbidden, sigv4.CodeMissingAuthenticationToken
		if _, err := credential(r); err == nil && r.Header.Get("Authorization")+r.Header.Get("X-Api-Key") != "" {
			status, typ = http.StatusBadRequest, sigv4.CodeUnrecognizedClient
		}
	case errcode.PermissionDenied:
		typ = sigv4.CodeAccessDenied
	case errcode.RateLimited:
		typ = "ThrottlingException"
	case errcode.Invalid:
		typ = "ValidationException"
	default:
		s.log.Error("request failed", "request_id", r.Header.Get(headerRequestID), "path", r.URL.Path, "err", err)
		status, err = http.StatusInternalServerError, errcode.New(errcode.Unknown, "internal error; quote request id %s", r.Header.Get(headerRequestID))
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": errcode.MessageOf(err)})
}

// failer is how the access layer writes a route's refusals: counted
// (Config.OnRefused), in the route's error shape.
func (s *Server) failer(rt Route) func(http.ResponseWriter, *http.Request, error) {
	write := s.fail
	if rt.SigV4 {
		write = s.failAWS
	}
	return func(w http.ResponseWriter, r *http.Request, err error) {
		if s.cfg.OnRefused != nil {
			s.cfg.OnRefused(errcode.Of(err))
		}
		write(w, r, err)
	}
}

// credential returns the API key a request presents (X-Api-Key or
// Authorization: Bearer), "" when it presents none.
func credential(r *http.Request) (string, error) {
	key := r.Header.Get("X-Api-Key")
	if a := r.Header.Get("Authorization"); a != "" {
		if key != "" {
			return "", errcode.New(errcode.Unauthenticated, "both X-Api-Key and Authorization are set: send one credential")
		}
		if strings.HasPrefix(a, "AWS4-") {
			return "", errcode.New(errcode.Unauthenticated, "Authorization: Signature Version 4 is accepted on the Step Functions endpoint (POST /) only; send \"Bearer <api key>\"")
		}
		k, ok := strings.CutPrefix(a, "Bearer ")
		if !ok {
			return "", errcode.New(errcode.Unauthenticated, "Authorization: want \"Bearer <api key>\"")
		}
		key = strings.TrimSpace(k)
		if key == "" {
			return "", errcode.New(errcode.Unauthenticated, "Authorization: the Bearer key is empty")
		}
	}
	return key, nil
}

// authenticate finds who is calling: the key presented, a signed URL on
// routes that take one, or, on an open installation, the anonymous
// principal acting for ?tenant= or the default tenant.
func (s *Server) authenticate(r *http.Request, rt Route) (identity.Principal, error) {
	if rt.SigV4 && sigv4.Present(r) && !s.cfg.RequireKeys {
		// An open installation does not check the signatures AWS clients
		// always send: every caller is anonymous there.
		return identity.Principal{Role: identity.RoleAnonymous, Tenant: s.cfg.DefaultTenant}, nil
	}
	if r.URL.Query().Has("access_token") {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "access_token: API keys are not accepted in URLs; ask POST /v1/media/{id}/links for signed URLs")
	}
	key, err := credential(r)
	if err != nil {
		return identity.Principal{}, err
	}
	if auth.SignedURL(r) {
		if !rt.SignedURL {
			return identity.Principal{}, errcode.New(errcode.Unauthenticated, "signed URLs are accepted for media downloads only")
		}
		if key != "" {
			return identity.Principal{}, errcode.New(errcode.Unauthenticated, "a signed URL and an API key: send one credential")
		}
		p, err := s.auth.VerifyURL(r.Context(), r)
		if err == nil && p.Role == identity.RoleAnonymous && s.cfg.RequireKeys {
			err = errcode.New(errcode.Unauthenticated, "signed URL: signed by an open installation, but this one requires keys")
		}
		return p, err
	}
	if key != "" {
		return s.auth.Bearer(r.Context(), key)
	}
	if s.cfg.RequireKeys {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "an API key is required (Authorization: Bearer <key> or X-Api-Key)")
	}
	return identity.Principal{Role: identity.RoleAnonymous, Tenant: s.cfg.DefaultTenant}, nil
}

// authorize settles the tenant a request acts for (?tenant=) and checks
// the route's access.
func (s *Server) authorize(r *http.Request, rt Route, p identity.Principal) (identity.Principal, error) {
	if t := r.URL.Query().Get("tenant"); t != "" {
		if err := identity.CheckTenantID(t); err != nil {
			return p, errcode.New(errcode.Invalid, "tenant: %v", err)
		}
		switch p.Role {
		case identity.RoleAdmin, identity.RoleAnonymous:
			p.Tenant = t // an admin, or an open installation, acts for the tenant named
		case identity.RoleOperator:
			return p, errcode.New(errcode.PermissionDenied, "tenant=%s: operator keys act for no tenant", t)
		default:
			if t != p.Tenant {
				return p, errcode.New(errcode.PermissionDenied, "tenant=%s: this API key belongs to another tenant", t)
			}
		}
	}
	deny := func(what string) (identity.Principal, error) {
		return p, errcode.New(errcode.PermissionDenied, "%s %s: %s", r.Method, r.URL.Path, what)
	}
	switch rt.Access {
	case AccessOperator:
		if p.Role != identity.RoleOperator && !p.Installation() {
			return deny("needs an operator or admin key")
		}
	case AccessTenantRead, AccessTenantWrite, AccessReview, AccessReviewItem:
		if p.Role == identity.RoleOperator {
			return deny("operator keys read metrics and health only")
		}
		if p.Role == identity.RoleAdmin && p.Tenant == "" {
			return p, errcode.New(errcode.Invalid, "tenant: required with an admin key (add ?tenant=ID)")
		}
		if !p.ActsFor(p.Tenant) {
			return deny("this key does not act for tenant " + p.Tenant)
		}
		if p.Role == identity.RoleReviewer {
			switch rt.Access {
			case AccessTenantWrite:
				return deny("reviewer keys decide review items; they cannot change a tenant's work")
			case AccessTenantRead:
				return deny(reviewerReach)
			case AccessReviewItem:
				if err := s.reviewerMay(r, p); err != nil {
					return p, err
				}
			}
		}
	case AccessCaller, AccessEngine:
		if p.Role == identity.RoleOperator && rt.Access == AccessCaller {
			return deny("operator keys read metrics and health only")
		}
		if p.Role == identity.RoleReviewer {
			return deny(reviewerReach + "; decisions resume executions through POST /v1/reviews/{id}/decision")
		}
	case AccessInstallation:
		if !p.Installation() {
			return deny("changes the whole installation and needs an admin key")
		}
	case AccessWorker:
		if p.Role != identity.RoleOperator && !p.Installation() {
			return deny("serves activity workers and needs an operator or admin key")
		}
	}
	return p, nil
}

// reviewerReach is what a reviewer key's refusals say it may reach.
const reviewerReach = "reviewer keys reach review work only: the review queue (/v1/reviews) and, while an item waits in it " +
	"or after they decided it, that item's record, files and versions"

// ReviewerName is how decisions, edits and claims made with a key are
// attributed ("reviewer:KEYID" for a reviewer key).
func ReviewerName(p identity.Principal) string { return string(p.Role) + ":" + p.KeyID }

// reviewerMay checks that a reviewer key may reach the media item the
// request names ({id}): it waits in the review queue, or its current
// decision is the key's own. Anything else (another item, one decided by
// someone else, one never reviewed or that does not exist) is refused
// the same way, so the refusal tells nothing of the item.
func (s *Server) reviewerMay(r *http.Request, p identity.Principal) error {
	id := r.PathValue("id")
	refuse := func() error {
		return errcode.New(errcode.PermissionDenied, "%s %s: %s; media %q is not in the review queue and was not decided by this key",
			r.Method, r.URL.Path, reviewerReach, id)
	}
	if id == "" || s.cfg.Catalog == nil {
		return refuse()
	}
	rv, err := s.cfg.Catalog.ReviewGet(r.Context(), &catalog.ReviewGetParams{TenantID: p.Tenant, MediaID: id})
	switch {
	case err == nil:
	case errcode.Of(err) == errcode.NotFound, errcode.Of(err) == errcode.Invalid:
		return refuse()
	case errcode.Of(err) == errcode.NotImplemented:
		return errcode.New(errcode.PermissionDenied, "%s %s: %s, and this installation's catalog (%s) keeps no review queue",
			r.Method, r.URL.Path, reviewerReach, s.cfg.Catalog.Name())
	default:
		return err
	}
	if !rv.VisibleTo(ReviewerName(p)) {
		return refuse()
	}
	return nil
}

// limit spends the caller's request token, and an upload token on upload
// routes; an empty bucket is a 429 naming the limit, with Retry-After.
func (s *Server) limit(w http.ResponseWriter, r *http.Request, rt Route, p identity.Principal) error {
	caller := "key:" + p.KeyID
	if p.KeyID == "" {
		caller = "addr:" + remoteHost(r)
	}
	check := func(l *limiter, name string) error {
		ok, wait := l.take(caller)
		if ok {
			return nil
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return errcode.New(errcode.RateLimited, "limits.%s: %d a minute for this %s; retry in %s", name, l.perMinute, who(p), wait.Round(100*time.Millisecond))
	}
	if err := check(s.requests, "requests_per_minute"); err != nil {
		return err
	}
	if rt.Upload && (r.Method == http.MethodPost) {
		return check(s.uploads, "uploads_per_minute")
	}
	return nil
}

func who(p identity.Principal) string {
	if p.KeyID == "" {
		return "address"
	}
	return "key (" + p.KeyID + ")"
}

func remoteHost(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

// LookupAccessKey returns the secret access key and principal of an
// AWS-style access key id, for verifying Signature Version 4 requests to
// the Step Functions endpoint (see package auth).
func (s *Server) LookupAccessKey(ctx context.Context, accessKeyID string) (string, identity.Principal, error) {
	return s.auth.LookupAccessKey(ctx, accessKeyID)
}

// Authenticator is the server's credential checker.
func (s *Server) Authenticator() *auth.Authenticator { return s.auth }
