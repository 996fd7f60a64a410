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
	"testing"

	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/types"
)

type fixture struct {
	srv        *httptest.Server
	cat        catalog.Store
	keyA, keyB string
	mediaA     *catalog.Media
}

func setup(t *testing.T, requireKeys bool) *fixture {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	f := &fixture{cat: cat}
	for _, id := range []string{"acme", "globex"} {
		if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	ka, err := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme", Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex", Name: "test"})
	f.keyA, f.keyB = ka.Key, kb.Key
	f.mediaA, err = cat.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/x.mp4", Kind: types.KindVideo})
	if err != nil {
		t.Fatal(err)
	}
	s := New(Config{Catalog: cat, RequireKeys: requireKeys, DefaultTenant: "acme", Logger: slog.New(slog.DiscardHandler)})
	f.srv = httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) get(t *testing.T, path, key string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
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
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: not JSON: %s", path, b)
	}
	return resp.StatusCode, m, resp.Header
}

func TestTenantScoping(t *testing.T) {
	f := setup(t, true)
	code, body, _ := f.get(t, "/v1/media/"+f.mediaA.ID, f.keyA)
	if code != 200 || body["id"] != f.mediaA.ID {
		t.Fatalf("own media: %d %v", code, body)
	}
	// Another tenant's key never sees it.
	code, body, hdr := f.get(t, "/v1/media/"+f.mediaA.ID, f.keyB)
	if code != 404 || body["code"] != "NotFound" || hdr.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("other tenant: %d %v", code, body)
	}
	code, body, _ = f.get(t, "/v1/media?tenant=acme", f.keyB)
	if code != 403 || body["code"] != "PermissionDenied" {
		t.Fatalf("naming another tenant: %d %v", code, body)
	}
	code, body, _ = f.get(t, "/v1/media", f.keyB)
	if code != 200 || len(body["media"].([]any)) != 0 {
		t.Fatalf("other tenant's list: %d %v", code, body)
	}
	code, body, _ = f.get(t, "/v1/media", "")
	if code != 401 || body["code"] != "Unauthenticated" {
		t.Fatalf("no key: %d %v", code, body)
	}
	code, _, _ = f.get(t, "/v1/media", "lf_bogus")
	if code != 401 {
		t.Fatalf("bad key: %d", code)
	}
}

func TestBadInputIsLocated(t *testing.T) {
	f := setup(t, false)
	for path, want := range map[string]string{
		"/v1/media?since=yesterday":     "since:",
		"/v1/media?limit=0":             "limit:",
		"/v1/media?cursor=not-a-cursor": "cursor",
		"/v1/search?q=":                 "empty",
		"/v1/failures/abc":              "not a number",
		"/v1/media/nope/captions.xyz":   "no export",
	} {
		code, body, _ := f.get(t, path, "")
		if code != 400 && code != 404 {
			t.Errorf("%s: status %d", path, code)
		}
		if d, _ := body["detail"].(string); !strings.Contains(d, want) {
			t.Errorf("%s: detail %q lacks %q", path, d, want)
		}
	}
}

func TestListAndOpenAPI(t *testing.T) {
	f := setup(t, false)
	code, body, _ := f.get(t, "/v1/media?since=24h&kind=video", "")
	if code != 200 || len(body["media"].([]any)) != 1 {
		t.Fatalf("%d %v", code, body)
	}
	code, body, _ = f.get(t, "/openapi.json", "")
	if code != 200 || body["openapi"] != "3.1.0" {
		t.Fatalf("openapi: %d", code)
	}
}

func TestPutEventsWithoutBusIsNotImplemented(t *testing.T) {
	f := setup(t, false)
	resp, err := http.Post(f.srv.URL+"/v1/events", "application/json", bytes.NewReader([]byte(`{"Entries":[]}`)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 501 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestOriginalSupportsRangesAndSignedURLs(t *testing.T) {
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"})
	k, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
	body := []byte("0123456789abcdefghij")
	b.WriteAll(ctx, "incoming/acme/x.mp3", body, &blob.WriterOptions{ContentType: "audio/mpeg"})
	m, _ := cat.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/x.mp3"})
	srv := httptest.NewServer(New(Config{Catalog: cat, Bucket: b, RequireKeys: true, Secret: testSecret, Logger: slog.New(slog.DiscardHandler)}))
	defer srv.Close()
	links := signedLinks(t, srv.URL, m.ID, k.Key)
	req, _ := http.NewRequest("GET", srv.URL+links["original"], nil)
	req.Header.Set("Range", "bytes=5-9")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != "56789" || resp.Header.Get("Content-Type") != "audio/mpeg" {
		t.Fatalf("%d %q %v", resp.StatusCode, got, resp.Header)
	}
	resp, _ = http.Get(srv.URL + "/v1/media/" + m.ID + "/original")
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("no key: %d", resp.StatusCode)
	}
	// The whole key in the URL is refused, even a good one.
	resp, _ = http.Get(srv.URL + "/v1/media/" + m.ID + "/original?access_token=" + k.Key)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("access_token: %d", resp.StatusCode)
	}
}
