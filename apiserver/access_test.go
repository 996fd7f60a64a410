package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

var testSecret = bytes.Repeat([]byte{7}, 32)

// signedLinks asks POST /v1/media/{id}/links with key.
func signedLinks(t *testing.T, base, id, key string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/v1/media/"+id+"/links", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ExpiresAt string            `json:"expires_at"`
		Links     map[string]string `json:"links"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || out.Links["original"] == "" {
		t.Fatalf("links: %d %s", resp.StatusCode, b)
	}
	return out.Links
}

// recorder is a mounted handler that records the principal it saw.
type recorder struct {
	mu   sync.Mutex
	seen []identity.Principal
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := identity.FromContext(r.Context())
	if !ok {
		http.Error(w, "no principal", 500)
		return
	}
	rc.mu.Lock()
	rc.seen = append(rc.seen, p)
	rc.mu.Unlock()
	writeJSON(w, 200, map[string]string{"principal": p.String()})
}

func (rc *recorder) last() identity.Principal {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[len(rc.seen)-1]
}

type keyedFixture struct {
	srv                             *httptest.Server
	s                               *Server
	cat                             catalog.Store
	admin, operator, acme, reviewer string
	globex                          string
	reviewerID                      string
	media                           *catalog.Media
	mounted, sfn, metrics           *recorder
	clock                           *fakeClock
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func keyed(t testing.TB, cfg Config) *keyedFixture {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	f := &keyedFixture{cat: cat, mounted: &recorder{}, sfn: &recorder{}, metrics: &recorder{}, clock: &fakeClock{now: time.Now()}}
	for _, id := range []string{"acme", "globex"} {
		if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(role identity.Role, tenant string) *catalog.APIKeyCreateResult {
		k, err := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: role, TenantID: tenant})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	f.admin, f.operator = mk(identity.RoleAdmin, "").Key, mk(identity.RoleOperator, "").Key
	f.acme, f.globex = mk(identity.RoleTenant, "acme").Key, mk(identity.RoleTenant, "globex").Key
	rv := mk(identity.RoleReviewer, "acme")
	f.reviewer, f.reviewerID = rv.Key, rv.APIKey.ID
	f.media, err = cat.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/x.mp4", Kind: types.KindVideo})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Catalog, cfg.RequireKeys, cfg.Secret, cfg.Now = cat, true, testSecret, f.clock.Now
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.Mounts = map[string]http.Handler{"/v1/executions": f.mounted, "/v1/executions/": f.mounted}
	cfg.SFN, cfg.Metrics = f.sfn, f.metrics
	f.s = New(cfg)
	f.srv = httptest.NewServer(f.s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *keyedFixture) do(t *testing.T, method, path, key string, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, m, resp.Header
}

// concrete fills a route pattern's wildcards.
func concrete(pattern string) string {
	r := strings.NewReplacer("{id}", "x", "{export}", "original", "{name}", "r", "{$}", "")
	return r.Replace(pattern)
}

func TestEveryRouteNeedsACredential(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{UI: http.NotFoundHandler(), Resumable: http.NotFoundHandler()})
	routes := f.s.Routes()
	seen := map[string]bool{}
	for _, rt := range routes {
		seen[rt.Method+" "+rt.Pattern] = true
		method := rt.Method
		if method == "" {
			method = "GET"
		}
		code, body, hdr := f.do(t, method, concrete(rt.Pattern), "", "")
		if rt.Public {
			if code == 401 {
				t.Errorf("%s %s is public but answered 401", method, rt.Pattern)
			}
			continue
		}
		if rt.SigV4 {
			if code != 403 || body["__type"] != "MissingAuthenticationTokenException" {
				t.Errorf("%s %s without a key: %d %v", method, rt.Pattern, code, body)
			}
			continue
		}
		if code != 401 || body["code"] != "Unauthenticated" || hdr.Get("WWW-Authenticate") == "" {
			t.Errorf("%s %s without a key: %d %v", method, rt.Pattern, code, body)
		}
	}
	for _, want := range []string{"GET /healthz", "GET /openapi.json", "GET /ui/", "GET /metrics", "POST /{$}", " /v1/executions/",
		" /v1/uploads/tus/", "GET /v1/media/{id}/{export}", "POST /v1/admin/keys", "POST /v1/media/{id}/links"} {
		if !seen[want] {
			t.Errorf("route table lacks %q", want)
		}
	}
	if len(f.sfn.seen)+len(f.mounted.seen)+len(f.metrics.seen) != 0 {
		t.Fatal("an unauthenticated request reached a handler")
	}
}

func TestRolesOnEverySurface(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	type call struct {
		method, path, key string
		want              int
	}
	mid := f.media.ID
	for _, c := range []call{
		// metrics: operators and admins only.
		{"GET", "/metrics", f.operator, 200},
		{"GET", "/metrics", f.admin, 200},
		{"GET", "/metrics", f.acme, 403},
		{"GET", "/metrics", f.reviewer, 403},
		// tenant routes.
		{"GET", "/v1/media/" + mid, f.acme, 200},
		{"GET", "/v1/media/" + mid, f.reviewer, 403}, // not in review (TestReviewerReachesReviewWorkOnly)
		{"GET", "/v1/media/" + mid, f.globex, 404},
		{"GET", "/v1/media/" + mid, f.operator, 403},
		{"GET", "/v1/media/" + mid, f.admin, 400},
		{"GET", "/v1/media/" + mid + "?tenant=acme", f.admin, 200},
		{"GET", "/v1/media/" + mid + "?tenant=globex", f.admin, 404},
		{"GET", "/v1/media?tenant=acme", f.globex, 403},
		{"GET", "/v1/media?tenant=Bad!", f.admin, 400},
		{"POST", "/v1/uploads", f.reviewer, 403},
		{"POST", "/v1/failures/1/redrive", f.reviewer, 403},
		// installation routes.
		{"GET", "/v1/rules", f.acme, 403},
		{"POST", "/v1/events", f.acme, 403},
		{"POST", "/v1/intake/s3", f.reviewer, 403},
		{"GET", "/v1/admin/keys", f.acme, 403},
		{"GET", "/v1/admin/keys", f.operator, 403},
		{"GET", "/v1/admin/keys", f.admin, 200},
		// mounts: any caller but operators and reviewers; the Step
		// Functions endpoint: any caller but reviewers (operators run
		// activity workers; the engine refuses them everything else).
		{"GET", "/v1/executions", f.acme, 200},
		{"GET", "/v1/executions/abc", f.reviewer, 403},
		{"POST", "/", f.reviewer, 400},
		{"GET", "/v1/executions", f.operator, 403},
		{"POST", "/", f.globex, 200},
		{"POST", "/", f.operator, 200},
	} {
		code, body, _ := f.do(t, c.method, c.path, c.key, "")
		if code != c.want {
			t.Errorf("%s %s: %d %v, want %d", c.method, c.path, code, body, c.want)
		}
		if code >= 400 && c.path == "/" {
			if body["__type"] != "AccessDeniedException" {
				t.Errorf("%s %s: 403 not in the AWS shape: %v", c.method, c.path, body)
			}
		} else if code == 403 {
			if d, _ := body["detail"].(string); d == "" || body["code"] != "PermissionDenied" {
				t.Errorf("%s %s: 403 without a reason: %v", c.method, c.path, body)
			}
		}
	}
	// Handlers see the principal.
	f.do(t, "POST", "/", f.globex, "")
	if p := f.sfn.last(); p.Role != identity.RoleTenant || p.Tenant != "globex" || p.KeyID == "" {
		t.Fatalf("SFN principal = %v", p)
	}
	f.do(t, "GET", "/v1/executions?tenant=acme", f.admin, "")
	if p := f.mounted.last(); p.Role != identity.RoleAdmin || p.Tenant != "acme" {
		t.Fatalf("mount principal = %v", p)
	}
	f.do(t, "GET", "/metrics", f.operator, "")
	if p := f.metrics.last(); p.Role != identity.RoleOperator {
		t.Fatalf("metrics principal = %v", p)
	}
}

func TestRevokedKeysAndDisabledTenantsStopAtOnce(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	ctx := context.Background()
	path := "/v1/media/" + f.media.ID
	if code, _, _ := f.do(t, "GET", path, f.acme, ""); code != 200 {
		t.Fatal(code)
	}
	if _, err := f.cat.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	code, body, _ := f.do(t, "GET", path, f.acme, "")
	if code != 403 || !strings.Contains(body["detail"].(string), "disabled") {
		t.Fatalf("disabled tenant: %d %v", code, body)
	}
	if _, err := f.cat.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.cat.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: f.reviewerID}); err != nil {
		t.Fatal(err)
	}
	code, body, _ = f.do(t, "GET", path, f.reviewer, "")
	if code != 401 || !strings.Contains(body["detail"].(string), "revoked") {
		t.Fatalf("revoked key: %d %v", code, body)
	}
}

func TestAdminKeyLifecycleOverHTTP(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	code, body, hdr := f.do(t, "POST", "/v1/admin/keys", f.admin, `{"role":"tenant","tenant":"globex","name":"ci","expires_in":"720h"}`)
	if code != 201 || hdr.Get("Cache-Control") != "no-store" {
		t.Fatalf("create: %d %v", code, body)
	}
	key := body["key"].(string)
	akid, _ := body["access_key_id"].(string)
	sak, _ := body["secret_access_key"].(string)
	meta := body["api_key"].(map[string]any)
	id := meta["id"].(string)
	if akid != catalog.AccessKeyID(id) || len(akid) != 20 || len(sak) != 40 || meta["expires_at"] == nil {
		t.Fatalf("create: %v", body)
	}
	// The lookup the signature verifier uses gives the same secret.
	sec, p, err := f.s.LookupAccessKey(context.Background(), akid)
	if err != nil || sec != sak || p.Tenant != "globex" || p.Role != identity.RoleTenant {
		t.Fatalf("LookupAccessKey = %q %v %v", sec, p, err)
	}
	if code, _, _ := f.do(t, "GET", "/v1/media", key, ""); code != 200 {
		t.Fatalf("new key: %d", code)
	}
	// Listing never shows a secret.
	_, list, _ := f.do(t, "GET", "/v1/admin/keys?tenant=globex", f.admin, "")
	raw, _ := json.Marshal(list)
	if strings.Contains(string(raw), key[20:]) || strings.Contains(string(raw), sak) || len(list["keys"].([]any)) != 2 {
		t.Fatalf("list: %s", raw)
	}
	// Rotation: the old key and secret stop working, the new ones work.
	code, rot, _ := f.do(t, "POST", "/v1/admin/keys/"+id+"/rotate", f.admin, "")
	if code != 200 || rot["key"] == key || rot["secret_access_key"] == sak {
		t.Fatalf("rotate: %d %v", code, rot)
	}
	if code, _, _ := f.do(t, "GET", "/v1/media", key, ""); code != 401 {
		t.Fatalf("old key after rotation: %d", code)
	}
	if sec, _, _ := f.s.LookupAccessKey(context.Background(), akid); sec != rot["secret_access_key"] {
		t.Fatal("secret access key did not follow the rotation")
	}
	key = rot["key"].(string)
	code, ex, _ := f.do(t, "POST", "/v1/admin/keys/"+id+"/expire", f.admin, `{"at":"2000-01-01T00:00:00Z"}`)
	if code != 200 || ex["expires_at"] != "2000-01-01T00:00:00Z" {
		t.Fatalf("expire: %d %v", code, ex)
	}
	if code, body, _ := f.do(t, "GET", "/v1/media", key, ""); code != 401 || !strings.Contains(body["detail"].(string), "expired") {
		t.Fatalf("expired key: %d %v", code, body)
	}
	if code, _, _ := f.do(t, "POST", "/v1/admin/keys/"+id+"/revoke", f.admin, ""); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if _, _, err := f.s.LookupAccessKey(context.Background(), akid); err == nil {
		t.Fatal("a revoked key's access key id still resolves")
	}
	for body, want := range map[string]string{
		`{"role":"admin","tenant":"acme"}`:     "tenant_id",
		`{"role":"boss"}`:                      "role",
		`{"tenant":"acme","expires_in":"-1h"}`: "/expires_in",
		`{"tenant":"acme","colour":"red"}`:     "colour",
	} {
		code, b, _ := f.do(t, "POST", "/v1/admin/keys", f.admin, body)
		if code != 400 || !strings.Contains(b["detail"].(string), want) {
			t.Errorf("%s: %d %v, want 400 naming %s", body, code, b, want)
		}
	}
	// Tenants.
	if code, _, _ := f.do(t, "POST", "/v1/admin/tenants/globex/disable", f.admin, ""); code != 200 {
		t.Fatal(code)
	}
	if code, _, _ := f.do(t, "GET", "/v1/media", f.globex, ""); code != 403 {
		t.Fatalf("disabled tenant's key: %d", code)
	}
	if code, _, _ := f.do(t, "POST", "/v1/admin/tenants/globex/enable", f.admin, ""); code != 200 {
		t.Fatal(code)
	}
	if code, _, _ := f.do(t, "DELETE", "/v1/admin/tenants/acme", f.admin, ""); code != 409 {
		t.Fatalf("deleting a tenant with media: %d", code)
	}
	if code, _, _ := f.do(t, "POST", "/v1/admin/tenants", f.admin, `{"id":"initech"}`); code != 201 {
		t.Fatal(code)
	}
	_, ts, _ := f.do(t, "GET", "/v1/admin/tenants", f.admin, "")
	if len(ts["tenants"].([]any)) != 3 {
		t.Fatalf("tenants: %v", ts)
	}
	if code, _, _ := f.do(t, "DELETE", "/v1/admin/tenants/initech", f.admin, ""); code != 204 {
		t.Fatal(code)
	}
}

func TestSignedURLs(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	f.queue(t, f.media)
	links := signedLinks(t, f.srv.URL, f.media.ID, f.reviewer)
	orig := links["original"]
	if !strings.Contains(orig, "expires=") || strings.Contains(orig, f.reviewer[20:]) {
		t.Fatalf("link %q", orig)
	}
	// It reaches the handler (404: the mem bucket is not configured, so
	// anything but 401/403 means it was accepted).
	get := func(u string) (int, string) {
		code, body, _ := f.do(t, "GET", u, "", "")
		d, _ := body["detail"].(string)
		return code, d
	}
	if code, d := get(orig); code == 401 || code == 403 {
		t.Fatalf("signed URL refused: %d %s", code, d)
	}
	// Another object, another method, a changed tenant: refused.
	other := strings.Replace(orig, f.media.ID, "00000000-0000-0000-0000-000000000000", 1)
	if code, d := get(other); code != 401 || !strings.Contains(d, "signature") {
		t.Fatalf("other path: %d %s", code, d)
	}
	if code, d := get(strings.Replace(orig, "tenant=acme", "tenant=globex", 1)); code != 401 {
		t.Fatalf("other tenant: %d %s", code, d)
	}
	if code, _, _ := f.do(t, "POST", orig, "", ""); code != 405 && code != 401 {
		t.Fatalf("POST with a signed URL: %d", code)
	}
	if code, d := get("/v1/media/" + f.media.ID + "?" + strings.SplitN(orig, "?", 2)[1]); code != 401 || !strings.Contains(d, "media downloads only") {
		t.Fatalf("signed URL on a record route: %d %s", code, d)
	}
	// Expired after 15 minutes.
	f.clock.Advance(16 * time.Minute)
	if code, d := get(orig); code != 401 || !strings.Contains(d, "expired") {
		t.Fatalf("expired: %d %s", code, d)
	}
	// A revoked key's URLs stop working at once.
	links = signedLinks(t, f.srv.URL, f.media.ID, f.reviewer)
	if _, err := f.cat.APIKeyRevoke(context.Background(), &catalog.APIKeyRevokeParams{ID: f.reviewerID}); err != nil {
		t.Fatal(err)
	}
	if code, d := get(links["original"]); code != 401 || !strings.Contains(d, "revoked") {
		t.Fatalf("revoked key's URL: %d %s", code, d)
	}
}

// queue puts m in its tenant's review queue.
func (f *keyedFixture) queue(t *testing.T, m *catalog.Media) {
	t.Helper()
	if _, err := f.cat.ReviewOpen(context.Background(), &catalog.ReviewOpenParams{TenantID: m.TenantID, MediaID: m.ID,
		TaskToken: "token-" + m.ID, Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy, Detail: "test"}}}); err != nil {
		t.Fatal(err)
	}
}

// TestReviewerReachesReviewWorkOnly: a reviewer key reaches the review
// queue and, while an item waits in it or after it decided the item, that
// item's record, files, signed links and versions; nothing else of its
// tenant's (the media list, search, failures, usage, uploads, rules,
// executions, the Step Functions endpoint, items never queued or decided
// by someone else), each refused with a reason that says so.
func TestReviewerReachesReviewWorkOnly(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	ctx := context.Background()
	queued, other := f.media, must(f.cat.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/y.mp4", Kind: types.KindVideo}))
	f.queue(t, queued)
	item := func(m *catalog.Media) []string {
		return []string{"/v1/media/" + m.ID, "/v1/media/" + m.ID + "/transcript.json", "/v1/media/" + m.ID + "/original",
			"/v1/media/" + m.ID + "/frame.jpg?t=1", "/v1/media/" + m.ID + "/versions", "/v1/reviews/" + m.ID}
	}
	reached := func(code int) bool { return code != 401 && code != 403 }
	for _, path := range item(queued) {
		if code, body, _ := f.do(t, "GET", path, f.reviewer, ""); !reached(code) {
			t.Errorf("reviewer GET %s of an item in review: %d %v", path, code, body)
		}
	}
	links := signedLinks(t, f.srv.URL, queued.ID, f.reviewer)
	if code, body, _ := f.do(t, "GET", links["original"], "", ""); !reached(code) {
		t.Errorf("reviewer's signed link to an item in review: %d %v", code, body)
	}
	if code, body, _ := f.do(t, "GET", "/v1/reviews", f.reviewer, ""); code != 501 && code != 200 {
		t.Errorf("reviewer listing the queue: %d %v", code, body)
	}
	refused := func(method, path, want string) {
		t.Helper()
		code, body, _ := f.do(t, method, path, f.reviewer, "")
		d, _ := body["detail"].(string)
		if path == "/" {
			d, _ = body["message"].(string)
		}
		if code != 403 && !(path == "/" && code == 400 && body["__type"] == "AccessDeniedException") || !strings.Contains(d, want) {
			t.Errorf("reviewer %s %s: %d %v, want 403 saying %q", method, path, code, body, want)
		}
	}
	for _, path := range item(other) {
		refused("GET", path, "is not in the review queue")
	}
	refused("POST", "/v1/media/"+other.ID+"/links", "is not in the review queue")
	refused("POST", "/v1/reviews/"+other.ID+"/decision", "is not in the review queue")
	for _, rt := range []struct{ method, path string }{
		{"GET", "/v1/media"}, {"GET", "/v1/search?q=x"}, {"GET", "/v1/failures"}, {"GET", "/v1/usage"}, {"GET", "/v1/reviews/export"},
		{"GET", "/v1/executions"}, {"GET", "/v1/executions/abc"}, {"POST", "/"},
	} {
		refused(rt.method, rt.path, "reviewer keys reach review work only")
	}
	refused("POST", "/v1/uploads", "cannot change")
	refused("DELETE", "/v1/media/"+queued.ID, "cannot change")
	refused("GET", "/v1/rules", "admin key")
	if len(f.mounted.seen)+len(f.sfn.seen) != 0 {
		t.Fatal("a reviewer's request reached the workflow API")
	}

	// Decided by someone else: out of reach, links included. Decided by
	// the reviewer itself: still in reach.
	if _, err := f.cat.ReviewDecide(ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: queued.ID, Reviewer: "tenant:someone",
		Outcome: catalog.OutcomeApproved}); err != nil {
		t.Fatal(err)
	}
	for _, path := range item(queued) {
		refused("GET", path, "is not in the review queue")
	}
	if code, body, _ := f.do(t, "GET", links["original"], "", ""); code != 403 {
		t.Errorf("reviewer's signed link after someone else decided: %d %v", code, body)
	}
	f.queue(t, other)
	if _, err := f.cat.ReviewDecide(ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: other.ID, Reviewer: "reviewer:" + f.reviewerID,
		Outcome: catalog.OutcomeRejected, Reason: "test"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range item(other) {
		if code, body, _ := f.do(t, "GET", path, f.reviewer, ""); !reached(code) {
			t.Errorf("reviewer GET %s of an item it decided: %d %v", path, code, body)
		}
	}
	// The tenant's own key reaches both, whatever their review state.
	for _, m := range []*catalog.Media{queued, other} {
		if code, body, _ := f.do(t, "GET", "/v1/media/"+m.ID, f.acme, ""); code != 200 {
			t.Errorf("tenant GET %s: %d %v", m.ID, code, body)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{RequestsPerMinute: 3, UploadsPerMinute: 1})
	for i := 0; i < 3; i++ {
		if code, _, _ := f.do(t, "GET", "/v1/media", f.acme, ""); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	code, body, hdr := f.do(t, "GET", "/v1/media", f.acme, "")
	if code != 429 || body["code"] != "RateLimited" || hdr.Get("Retry-After") != "20" || !strings.Contains(body["detail"].(string), "requests_per_minute") {
		t.Fatalf("4th request: %d %v %v", code, body, hdr)
	}
	// Another key has its own bucket.
	if code, _, _ := f.do(t, "GET", "/v1/media", f.globex, ""); code != 200 {
		t.Fatalf("other key: %d", code)
	}
	f.clock.Advance(20 * time.Second)
	if code, _, _ := f.do(t, "GET", "/v1/media", f.acme, ""); code != 200 {
		t.Fatalf("after refill: %d", code)
	}
	// Uploads: one a minute.
	f.do(t, "POST", "/v1/uploads", f.globex, "x")
	code, body, _ = f.do(t, "POST", "/v1/uploads", f.globex, "x")
	if code != 429 || !strings.Contains(body["detail"].(string), "uploads_per_minute") {
		t.Fatalf("2nd upload: %d %v", code, body)
	}
}

func TestFailedAuthenticationsAreThrottledPerAddress(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	refused := map[string]int{}
	f := keyed(t, Config{FailedAuthPerMinute: 2, OnRefused: func(c errcode.Code) { mu.Lock(); refused[string(c)]++; mu.Unlock() }})
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		if refused["Unauthenticated"] != 2 || refused["RateLimited"] != 1 {
			t.Errorf("refusals counted: %v", refused)
		}
	}()
	for i := 0; i < 2; i++ {
		if code, _, _ := f.do(t, "GET", "/v1/media", "lf_bogus", ""); code != 401 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	// Even a good key from that address waits now.
	code, body, hdr := f.do(t, "GET", "/v1/media", f.acme, "")
	if code != 429 || hdr.Get("Retry-After") != "30" || !strings.Contains(body["detail"].(string), "failed authentications") {
		t.Fatalf("after the failures: %d %v %v", code, body, hdr)
	}
	f.clock.Advance(30 * time.Second)
	if code, _, _ := f.do(t, "GET", "/v1/media", f.acme, ""); code != 200 {
		t.Fatalf("after waiting: %d", code)
	}
	// Successes do not spend the failure budget.
	for i := 0; i < 5; i++ {
		if code, _, _ := f.do(t, "GET", "/v1/media", f.acme, ""); code != 200 {
			t.Fatalf("success %d: %d", i, code)
		}
	}
}

func TestOpenInstallation(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	f := setup(t, false)
	s := New(Config{Catalog: f.cat, DefaultTenant: "acme", Mounts: map[string]http.Handler{"/v1/executions": rec}, SFN: rec,
		Metrics: rec, RequestsPerMinute: 3, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(s)
	defer srv.Close()
	// AWS clients always sign; an open installation takes any signature.
	r, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader("{}"))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || rec.last().Role != identity.RoleAnonymous {
		t.Fatalf("signed request to an open installation: %d", resp.StatusCode)
	}
	rec.seen = nil
	for _, path := range []string{"/v1/executions", "/v1/executions?tenant=globex", "/metrics"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path == "/metrics" {
			if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("third request from one address: %d", resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	if p := rec.seen[0]; p.Role != identity.RoleAnonymous || p.Tenant != "acme" {
		t.Fatalf("principal = %v", p)
	}
	if p := rec.seen[1]; p.Tenant != "globex" {
		t.Fatalf("principal with ?tenant= = %v", p)
	}
}

// Every route the server serves is in the OpenAPI document with its
// method.
func TestRoutesAreDocumented(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{Resumable: http.NotFoundHandler(), UI: http.NotFoundHandler()})
	var doc struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openapiDoc, &doc); err != nil {
		t.Fatal(err)
	}
	for _, rt := range f.s.Routes() {
		path := strings.TrimSuffix(rt.Pattern, "{$}")
		if rt.Method == "" { // a mounted prefix: some documented path under it
			found := false
			for p := range doc.Paths {
				found = found || strings.HasPrefix(p+"/", strings.TrimSuffix(path, "/")+"/")
			}
			if !found {
				t.Errorf("mount %s: no documented path", rt.Pattern)
			}
			continue
		}
		ops, ok := doc.Paths[path]
		if !ok {
			t.Errorf("%s %s: not in openapi.json", rt.Method, path)
			continue
		}
		if _, ok := ops[strings.ToLower(rt.Method)]; !ok {
			t.Errorf("%s %s: method not in openapi.json", rt.Method, path)
		}
	}
}

// BenchmarkBearerRequest is one authenticated request end to end: the key
// is looked up in SQLite on every request (no cache), then the tenant's
// media list is read.
func BenchmarkBearerRequest(b *testing.B) {
	f := keyed(b, Config{})
	req, _ := http.NewRequest("GET", "/v1/media", nil)
	req.Header.Set("Authorization", "Bearer "+f.acme)
	for b.Loop() {
		w := httptest.NewRecorder()
		f.s.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
