package ingest

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

func tusServer(t *testing.T, s *Service, cat catalog.Store, abort time.Duration) (*httptest.Server, *Janitor, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "tus")
	h, j, err := s.Resumable(ResumableOptions{Dir: dir, AbortAfter: abort, Status: testStatus, WriteProblem: testProblem})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(keyAuth(cat, h))
	t.Cleanup(srv.Close)
	return srv, j, dir
}

// keyAuth stands in for the HTTP API's authentication: the bearer key's
// tenant becomes the request's principal.
func keyAuth(cat catalog.Store, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, err := cat.APIKeyLookup(r.Context(), &catalog.APIKeyLookupParams{Key: strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")})
		if err != nil {
			testProblem(w, r, err)
			return
		}
		ctx := identity.NewContext(r.Context(), identity.Principal{Role: identity.RoleTenant, Tenant: k.TenantID, KeyID: k.ID})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

func testStatus(c errcode.Code) int {
	switch c {
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.Invalid:
		return http.StatusBadRequest
	case errcode.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errcode.Unauthenticated:
		return http.StatusUnauthorized
	case errcode.PermissionDenied:
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

func testProblem(w http.ResponseWriter, r *http.Request, err error) {
	http.Error(w, errcode.MessageOf(err), testStatus(errcode.Of(err)))
}

func tusReq(t *testing.T, method, url, key string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+key)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestResumableUpload(t *testing.T) {
	s, b, cat, _, _ := setup(t, 1<<20)
	ctx := context.Background()
	k, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
	cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "globex"})
	other, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex"})
	srv, _, _ := tusServer(t, s, cat, time.Hour)
	data := strings.Repeat("resumable landfall upload ", 400)
	meta := "filename " + base64.StdEncoding.EncodeToString([]byte("talk.wav")) + ",tenant " + base64.StdEncoding.EncodeToString([]byte("globex"))
	resp := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": strconv.Itoa(len(data)), "Upload-Metadata": meta})
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, "http") {
		loc = srv.URL + loc
	}
	half := len(data) / 2
	patch := func(key string, off int, part string) *http.Response {
		return tusReq(t, "PATCH", loc, key, strings.NewReader(part), map[string]string{"Upload-Offset": strconv.Itoa(off), "Content-Type": "application/offset+octet-stream"})
	}
	if r := patch(k.Key, 0, data[:half]); r.StatusCode != 204 {
		t.Fatalf("first part: %d", r.StatusCode)
	}
	// Another tenant's key sees no such upload, even though it claimed
	// the tenant in its metadata.
	if r := tusReq(t, "HEAD", loc, other.Key, nil, nil); r.StatusCode != 404 {
		t.Fatalf("other tenant HEAD: %d", r.StatusCode)
	}
	if r := patch(other.Key, half, data[half:]); r.StatusCode != 404 {
		t.Fatalf("other tenant PATCH: %d", r.StatusCode)
	}
	// Resume: ask where we are, send the rest.
	r := tusReq(t, "HEAD", loc, k.Key, nil, nil)
	if r.Header.Get("Upload-Offset") != strconv.Itoa(half) {
		t.Fatalf("offset %q", r.Header.Get("Upload-Offset"))
	}
	r = patch(k.Key, half, data[half:])
	if r.StatusCode != 204 || r.Header.Get("Landfall-Media-Id") == "" {
		t.Fatalf("last part: %d %v", r.StatusCode, r.Header)
	}
	m, err := cat.MediaGet(ctx, &catalog.MediaGetParams{ID: r.Header.Get("Landfall-Media-Id"), TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := b.ReadAll(ctx, m.BucketKey)
	if string(got) != data || m.Filename != "talk.wav" || !strings.HasPrefix(m.BucketKey, "incoming/acme/") {
		t.Fatalf("%+v (%d bytes)", m, len(got))
	}
}

func TestResumableLimitsAndJanitor(t *testing.T) {
	s, _, cat, _, _ := setup(t, 1000)
	ctx := context.Background()
	k, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
	srv, j, dir := tusServer(t, s, cat, time.Minute)
	if r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "5000"}); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversize: %d", r.StatusCode)
	}
	if r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "0"}); r.StatusCode != 400 {
		t.Fatalf("empty: %d", r.StatusCode)
	}
	r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "500"})
	if r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	if n, _ := j.Sweep(ctx); n != 0 {
		t.Fatalf("swept a fresh upload")
	}
	old := time.Now().Add(-2 * time.Minute)
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, f := range files {
		os.Chtimes(f, old, old)
	}
	if n, _ := j.Sweep(ctx); n != 1 {
		t.Fatalf("swept %d, want the stale upload", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.info")); len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}
