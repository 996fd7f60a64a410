package ingest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// Uploads past the tenant's stored-bytes limit are refused with TooLarge
// naming the limit: before streaming when the size is declared, at the
// catalog's insert when it is not; nothing refused stays in the bucket.
func TestUploadRefusedPastStoredBytes(t *testing.T) {
	t.Parallel()
	s, b, _, _, _ := setup(t, 1<<20)
	s.opt.MaxTenantBytes = 1000
	ctx := context.Background()
	up := func(size int, declared bool) error {
		p := &UploadParams{Tenant: "acme", Filename: "a.wav", Size: -1, Body: bytes.NewReader(make([]byte, size))}
		if declared {
			p.Size = int64(size)
		}
		_, err := s.Upload(ctx, p)
		return err
	}
	if err := up(600, true); err != nil {
		t.Fatal(err)
	}
	for _, declared := range []bool{true, false} {
		err := up(500, declared)
		if errcode.Of(err) != errcode.TooLarge || !strings.Contains(err.Error(), "limit of 1000 bytes") || !strings.Contains(err.Error(), "stored_bytes") {
			t.Fatalf("declared=%v: %v, want TooLarge naming the limit", declared, err)
		}
	}
	if keys := listKeys(t, b); len(keys) != 1 {
		t.Fatalf("refused uploads left objects: %v", keys)
	}
	if err := up(400, false); err != nil {
		t.Fatalf("an upload that fills the limit exactly: %v", err)
	}
}

// A long name of multi-byte characters is cut on a character boundary.
func TestUploadLongUnicodeFilename(t *testing.T) {
	t.Parallel()
	s, _, _, _, _ := setup(t, 1<<20)
	m, err := s.Upload(context.Background(), &UploadParams{Tenant: "acme", Filename: strings.Repeat("é", 200) + ".wav", Size: -1,
		Body: strings.NewReader("RIFF")})
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.ValidString(m.Filename) || len(m.Filename) > 255 || !strings.HasPrefix(m.Filename, "éé") {
		t.Fatalf("filename %q (%d bytes)", m.Filename, len(m.Filename))
	}
}

// A resumable upload is refused at creation when its declared length
// would pass the tenant's stored-bytes limit, and when its metadata names
// are not text.
func TestResumableRefusedPastStoredBytes(t *testing.T) {
	t.Parallel()
	s, _, cat, _, _ := setup(t, 1<<20)
	s.opt.MaxTenantBytes = 1000
	k, err := cat.APIKeyCreate(context.Background(), &catalog.APIKeyCreateParams{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := tusServer(t, s, cat, time.Minute)
	if r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "1001"}); r.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("past the stored-bytes limit: %d", r.StatusCode)
	}
	// filename "a\x00b" and "\xff", base64.
	for _, md := range []string{"filename YQBi", "filename /w=="} {
		if r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "10", "Upload-Metadata": md}); r.StatusCode != http.StatusBadRequest {
			t.Fatalf("metadata %q: %d", md, r.StatusCode)
		}
	}
	if r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "1000", "Upload-Metadata": "filename YS53YXY="}); r.StatusCode != http.StatusCreated {
		t.Fatalf("within the limit: %d", r.StatusCode)
	}
}

// A failure inside the resumable upload store (here a full disk) answers the generic internal problem, never the
// file-system error that names the upload folder.
func TestResumableInternalErrorNamesNoPath(t *testing.T) {
	t.Parallel()
	s, _, cat, _, _ := setup(t, 1<<20)
	k, err := cat.APIKeyCreate(context.Background(), &catalog.APIKeyCreateParams{TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, dir := tusServer(t, s, cat, time.Minute)
	r := tusReq(t, "POST", srv.URL+ResumablePath, k.Key, nil, map[string]string{"Upload-Length": "10"})
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d", r.StatusCode)
	}
	loc := r.Header.Get("Location")
	id := loc[strings.LastIndexByte(loc, '/')+1:]
	chunk := filepath.Join(dir, id)
	if err := os.Remove(chunk); err != nil {
		t.Fatal(err)
	}
	// Every write to /dev/full fails with ENOSPC: a full disk.
	if err := os.Symlink("/dev/full", chunk); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PATCH", srv.URL+ResumablePath+id, strings.NewReader("0123456789"))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Authorization", "Bearer "+k.Key)
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode < 500 || strings.Contains(string(body), dir) || strings.Contains(string(body), "/tmp/") {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
}
