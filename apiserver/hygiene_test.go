package apiserver

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/types"
)

// recordingUploads is an Uploader that stores nothing and counts calls.
type recordingUploads struct{ calls int }

func (u *recordingUploads) Upload(ctx context.Context, p *UploadParams) (*catalog.Media, error) {
	u.calls++
	_, _ = io.Copy(io.Discard, p.Body)
	return &catalog.Media{ID: "m1", TenantID: p.Tenant, Filename: p.Filename}, nil
}

func (u *recordingUploads) Intake(ctx context.Context, body []byte) (*ingest.IntakeResult, error) {
	return &ingest.IntakeResult{}, nil
}

// recordingBus is an EventBus that accepts every entry.
type recordingBus struct{ EventBus }

func (recordingBus) PutEvents(ctx context.Context, entries []bus.PutEventsEntry) ([]bus.PutEventsResultEntry, error) {
	return make([]bus.PutEventsResultEntry, len(entries)), nil
}

type hygiene struct {
	srv     *httptest.Server
	cat     catalog.Store
	bucket  *blob.Bucket
	uploads *recordingUploads
}

func setupHygiene(t *testing.T) *hygiene {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "cat.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	h := &hygiene{cat: cat, bucket: b, uploads: &recordingUploads{}}
	s := New(Config{Catalog: cat, Bucket: b, Uploads: h.uploads, Bus: recordingBus{}, DefaultTenant: "acme",
		Logger: slog.New(slog.DiscardHandler)})
	h.srv = httptest.NewServer(s)
	t.Cleanup(h.srv.Close)
	return h
}

// original stores an object and its media row.
func (h *hygiene) original(t *testing.T, filename, ctype, body string) *catalog.Media {
	t.Helper()
	ctx := context.Background()
	key := "incoming/acme/" + strings.ReplaceAll(filename, " ", "_")
	if err := h.bucket.WriteAll(ctx, key, []byte(body), &blob.WriterOptions{ContentType: ctype}); err != nil {
		t.Fatal(err)
	}
	m, err := h.cat.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: key, Filename: filename,
		ContentType: ctype, Kind: types.KindVideo})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (h *hygiene) do(t *testing.T, method, path string, body io.Reader, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// wantProblem checks a 400 problem whose detail names want.
func wantProblem(t *testing.T, resp *http.Response, body []byte, want string) {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("status %d, not a problem: %s", resp.StatusCode, body)
	}
	if resp.StatusCode != http.StatusBadRequest || p.Code != string(errcode.Invalid) || !strings.Contains(p.Detail, want) {
		t.Fatalf("status %d %+v, want 400 InvalidArgument naming %q", resp.StatusCode, p, want)
	}
}

// NUL bytes and invalid UTF-8 in path values, query parameters, JSON
// members and upload names are refused with 400 naming the field, before
// any store sees them.
func TestTextRefusedAtTheBoundary(t *testing.T) {
	t.Parallel()
	h := setupHygiene(t)
	for _, c := range []struct {
		method, path string
		body         string
		hdr          map[string]string
		want         string
	}{
		{"GET", "/v1/media/abc%00def", "", nil, "path value {id} has a NUL byte at byte 3"},
		{"GET", "/v1/media/abc%FFdef/insights.json", "", nil, "path value {id} is not valid UTF-8 at byte 3"},
		{"GET", "/v1/media/abc/x%00.json", "", nil, "path value {export} has a NUL byte"},
		{"GET", "/v1/search?q=hello%00", "", nil, `query parameter "q" has a NUL byte at byte 5`},
		{"GET", "/v1/media?status=%C3", "", nil, `query parameter "status" is not valid UTF-8 at byte 0`},
		{"GET", "/v1/failures?media_id=a%00", "", nil, `query parameter "media_id"`},
		{"POST", "/v1/uploads?filename=%FF.mp4", "data", nil, `query parameter "filename" is not valid UTF-8`},
		{"POST", "/v1/uploads", "data", map[string]string{"X-Filename": "caf\xe9.mp4"}, "filename is not valid UTF-8 at byte 3"},
		{"POST", "/v1/uploads", "data", map[string]string{"X-Landfall-Vocabulary": "a,\xffb"}, "vocabulary is not valid UTF-8"},
		{"POST", "/v1/events", `{"Entries":[{"Source":"x","DetailType":"y\u0000","Detail":"{}"}]}`, nil,
			"/Entries/0/DetailType: has a NUL character"},
		{"POST", "/v1/events", "{\"Entries\":[{\"Source\":\"x\xff\",\"DetailType\":\"y\",\"Detail\":\"{}\"}]}", nil,
			"/Entries/0/Source: is not valid UTF-8"},
		{"POST", "/v1/rules", `{"Name":"r\u0000"}`, nil, "/Name: has a NUL character"},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		resp, b := h.do(t, c.method, c.path, body, c.hdr)
		t.Run(c.method+" "+c.path, func(t *testing.T) { wantProblem(t, resp, b, c.want) })
	}
	if h.uploads.calls != 0 {
		t.Fatalf("%d uploads reached the uploader", h.uploads.calls)
	}
	// Good text in the same places passes.
	resp, b := h.do(t, "POST", "/v1/uploads?filename=caf%C3%A9.mp4", strings.NewReader("data"), nil)
	if resp.StatusCode != http.StatusCreated || h.uploads.calls != 1 {
		t.Fatalf("good upload: %d %s", resp.StatusCode, b)
	}
}

func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"a":"ok","b":["x","y"]}`, ""},
		{`{"a":"\\u0000"}`, ""}, // an escaped backslash, not a NUL
		{`{"a":{"b":[1,"x\u0000"]}}`, "/a/b/1: has a NUL character"},
		{`["ok",{"k/~":"\u0000"}]`, "/1/k~1~0: has a NUL character"},
		{`{"x":{"a\u0000":1}}`, `/x: member name "a\x00" has a NUL character`},
		{"{\"a\":[\"ok\",\"\xc3\"]}", "/a/1: is not valid UTF-8"},
		{"\"\xff\"", "/: is not valid UTF-8"},
		{`{"a":`, ""}, // not JSON: left to the decoder
	} {
		err := CheckJSONText([]byte(c.in))
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.in, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: err = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzCheckJSONText(f *testing.F) {
	f.Add([]byte(`{"a":["x\u0000"]}`))
	f.Add([]byte("{\"a\xff\":1}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<16 {
			return
		}
		err := CheckJSONText(b)
		if err != nil && errcode.Of(err) != errcode.Invalid {
			t.Fatalf("code %s", errcode.Of(err))
		}
		// Valid JSON without NUL in any string and valid UTF-8 passes.
		var v any
		if err != nil || !json.Valid(b) || json.Unmarshal(b, &v) != nil {
			return
		}
		if strings.Contains(string(b), `\u0000`) {
			return
		}
		if !strings.Contains(string(b), "\x00") && catalogValid(b) && err != nil {
			t.Fatalf("valid document refused: %v", err)
		}
	})
}

func catalogValid(b []byte) bool { return catalog.InvalidUTF8At(string(b)) < 0 }

// Every response says nosniff and sends no Referer; originals are shown
// inline only when they are audio, video or raster images, and an
// uploaded HTML page or SVG is a download that never renders as HTML.
func TestOriginalsAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	h := setupHygiene(t)
	for _, path := range []string{"/healthz", "/v1/media", "/v1/media/nope", "/nope"} {
		resp, _ := h.do(t, "GET", path, nil, nil)
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, resp.Header)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
	for _, c := range []struct {
		filename, stored, wantType, wantDisp string
	}{
		{"page.html", "text/html; charset=utf-8", "application/octet-stream", `attachment; filename="page.html"; filename*=UTF-8''page.html`},
		{"drawing.svg", "image/svg+xml", "application/octet-stream", "attachment; "},
		{"feed.xml", "application/xml", "application/octet-stream", "attachment; "},
		{"notes.txt", "text/plain", "text/plain", "attachment; "},
		{"été 2026.mp4", "video/mp4", "video/mp4", `inline; filename="_t_ 2026.mp4"; filename*=UTF-8''%C3%A9t%C3%A9%202026.mp4`},
		{"talk.wav", "audio/wav", "audio/wav", "inline; "},
		{"photo.png", "image/png", "image/png", "inline; "},
	} {
		m := h.original(t, c.filename, c.stored, "<html><script>alert(1)</script></html>")
		resp, body := h.do(t, "GET", "/v1/media/"+m.ID+"/original", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<script>") {
			t.Fatalf("%s: %d %s", c.filename, resp.StatusCode, body)
		}
		if got := resp.Header.Get("Content-Type"); got != c.wantType {
			t.Errorf("%s: Content-Type %q, want %q", c.filename, got, c.wantType)
		}
		if got := resp.Header.Get("Content-Disposition"); !strings.HasPrefix(got, c.wantDisp) {
			t.Errorf("%s: Content-Disposition %q, want %q…", c.filename, got, c.wantDisp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("%s: headers %v", c.filename, resp.Header)
		}
	}
}

// A database failure behind an endpoint answers 503 with a detail naming
// the catalog operation, never SQL, a table or the driver's text.
func TestDriverErrorNamesNoSQL(t *testing.T) {
	t.Parallel()
	h := setupHygiene(t)
	db, ok := h.cat.(interface{ DB() *sql.DB })
	if !ok {
		t.Skip("the catalog does not expose its database")
	}
	if _, err := db.DB().Exec(`DROP TABLE cat_usage`); err != nil {
		t.Fatal(err)
	}
	resp, body := h.do(t, "GET", "/v1/usage", nil, nil)
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || resp.StatusCode != http.StatusServiceUnavailable || p.Code != string(errcode.Unavailable) {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for _, leak := range []string{"cat_usage", "SQL", "no such table", "SELECT"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("problem names %q: %s", leak, body)
		}
	}
}

// checkRequestText refuses a request exactly when its path or a query
// parameter is not text, and always names where.
func FuzzCheckRequestText(f *testing.F) {
	f.Add("/v1/media/abc", "q=hello")
	f.Add("/v1/media/a\x00b/x", "q=%FF")
	f.Add("/v1/rules/\xff", "")
	f.Fuzz(func(t *testing.T, p, rawQuery string) {
		if len(p) > 1024 || len(rawQuery) > 1024 {
			return
		}
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/" + p, RawQuery: rawQuery}}
		err := checkRequestText(r, "GET /v1/media/{id}/{export}")
		bad := textProblem(r.URL.Path) != ""
		for k, vs := range r.URL.Query() {
			bad = bad || textProblem(k) != ""
			for _, v := range vs {
				bad = bad || textProblem(v) != ""
			}
		}
		if bad != (err != nil) {
			t.Fatalf("path %q query %q: err %v, bad %v", r.URL.Path, rawQuery, err, bad)
		}
		if err != nil && (errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "path") && !strings.Contains(err.Error(), "query parameter")) {
			t.Fatalf("error does not name the place: %v", err)
		}
	})
}
