package ingest

import (
	"bytes"
	"context"
	"net/http"
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
