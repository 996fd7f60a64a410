package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/sqsapi"
	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/internal/testutil"
)

// testKey is an API key as a client holds it: the plaintext for Bearer
// and the AWS-style credentials for signing.
type testKey struct {
	plain           string
	key             *catalog.APIKey
	accessKeyID     string
	secretAccessKey string
}

// keyedBundle is a full app with two tenants and keys of every role, the
// workflow REST API and the Step Functions protocol mounted, on a loopback
// test server.
type keyedBundle struct {
	app *App
	srv *httptest.Server
	wf  *workflowapi.Handler
	sfn *sfnapi.Handler

	admin, operator, tenantA, tenantB, reviewerA testKey
}

const (
	tenantA = "tenant-a"
	tenantB = "tenant-b"
)

// keyedApp starts the bundle on SQLite (db "") or on the database URL db.
func keyedApp(t *testing.T, db string) *keyedBundle {
	t.Helper()
	cfg := config.Default(t.TempDir())
	cfg.Workers = 2
	cfg.Tenants = []config.Tenant{{ID: tenantA}, {ID: tenantB}}
	// The tests make many requests with one key; rate limits have their
	// own tests.
	cfg.Limits.RequestsPerMinute, cfg.Limits.UploadsPerMinute, cfg.Limits.FailedAuthPerMinute = 1<<20, 1<<20, 1<<20
	if db != "" {
		cfg.DB = db
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &keyedBundle{}
	a, err := New(ctx, cfg, Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mounts: func(a *App) (map[string]http.Handler, http.Handler) {
			b.wf, b.sfn = workflowapi.New(a.Engine), sfnapi.New(a.Engine)
			// Activity polls and synchronous executions end quickly: a
			// call that is wrongly let through must not stall the test.
			b.wf.MaxPoll, b.sfn.MaxPoll, b.sfn.MaxSync = time.Second, time.Second, time.Second
			return b.wf.Mounts(), sqsapi.New(a.Engine, b.sfn)
		}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	b.app, b.srv = a, httptest.NewServer(a.API)
	t.Cleanup(func() {
		b.srv.Close()
		cancel()
		a.Close(context.Background())
	})
	mk := func(role identity.Role, tenant string) testKey {
		t.Helper()
		res, err := a.Catalog.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: role, TenantID: tenant, Name: string(role) + " " + tenant})
		if err != nil {
			t.Fatalf("key %s %s: %v", role, tenant, err)
		}
		akid, secret := a.API.Authenticator().Credentials(res.APIKey)
		return testKey{plain: res.Key, key: res.APIKey, accessKeyID: akid, secretAccessKey: secret}
	}
	b.admin, b.operator = mk(identity.RoleAdmin, ""), mk(identity.RoleOperator, "")
	b.tenantA, b.tenantB, b.reviewerA = mk(identity.RoleTenant, tenantA), mk(identity.RoleTenant, tenantB), mk(identity.RoleReviewer, tenantA)
	return b
}

// postgresDB returns a database URL on its own fresh schema, or skips.
func postgresDB(t *testing.T, name string) string {
	t.Helper()
	pg := testutil.PostgresURL(t)
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	return fmt.Sprintf("%s%sschema=lf_%s_%d", pg, sep, name, rand.Uint32())
}

// response is an answer of the API, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string {
	b := r.body
	if len(b) > 300 {
		b = b[:300]
	}
	return fmt.Sprintf("%d %s", r.status, bytes.TrimSpace(b))
}

// code is the error code of a problem document or of an AWS protocol
// error.
func (r response) code() string {
	if t := r.header.Get("X-Amzn-Errortype"); t != "" {
		return t
	}
	var p struct {
		Code string `json:"code"`
		Type string `json:"__type"`
	}
	_ = json.Unmarshal(r.body, &p)
	if p.Code != "" {
		return p.Code
	}
	return p.Type
}

// do sends a request with key's Bearer credential (none when key is nil).
func (b *keyedBundle) do(t *testing.T, key *testKey, method, path string, hdr http.Header, body []byte) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if key != nil {
		req.Header.Set("Authorization", "Bearer "+key.plain)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: rb}
}

// mustJSON sends a request that must succeed and decodes its answer.
func (b *keyedBundle) mustJSON(t *testing.T, key *testKey, method, path string, body any, out any) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	r := b.do(t, key, method, path, http.Header{"Content-Type": {"application/json"}}, raw)
	if r.status/100 != 2 {
		t.Fatalf("%s %s: %s", method, path, r)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, r)
		}
	}
}
