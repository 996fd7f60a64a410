// Package blobtest is the conformance suite that makes a blob driver a
// driver. Every driver's tests call RunConformanceTests; blob/memblob is
// the reference. Capabilities a driver may lack (versions, local paths,
// signed URLs that Landfall verifies) are probed through the portable API:
// a driver that answers NotImplemented skips that part, and the skip says
// why.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
)

// OpenFunc returns a new, empty bucket for one test. The suite closes it.
type OpenFunc func(t *testing.T) *blob.Bucket

// Option changes how the suite runs.
type Option func(*config)

type config struct {
	skip map[string]string
}

// KnownDivergence skips the named test (a top-level name such as
// "EmptyFolderNotListed") with reason: for a test server known to differ
// from the store it stands in for. The skip, with its reason, shows in the
// test output.
func KnownDivergence(test, reason string) Option {
	return func(c *config) { c.skip[test] = reason }
}

// RunConformanceTests runs the suite against the driver that open makes.
func RunConformanceTests(t *testing.T, open OpenFunc, opts ...Option) {
	cfg := &config{skip: map[string]string{}}
	for _, o := range opts {
		o(cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, b *blob.Bucket)
	}{
		{"WriteRead", testWriteRead},
		{"RangeRead", testRangeRead},
		{"NotFound", testNotFound},
		{"Overwrite", testOverwrite},
		{"AbortLeavesNothing", testAbort},
		{"CancelLeavesNothing", testCancel},
		{"FailedUploadLeavesNothing", testFailedUpload},
		{"ContentSHA256", testContentSHA256},
		{"ContentTypes", testContentTypes},
		{"Metadata", testMetadata},
		{"InvalidKeys", testInvalidKeys},
		{"AwkwardKeys", testAwkwardKeys},
		{"List", testList},
		{"ListPagination", testListPagination},
		{"Copy", testCopy},
		{"Move", testMove},
		{"Delete", testDelete},
		{"EmptyFolderNotListed", testEmptyFolderNotListed},
		{"KeyReuse", testKeyReuse},
		{"SignedURL", testSignedURL},
		{"Closed", testClosed},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Versions", testVersions},
		{"LocalPath", testLocalPath},
		{"SweepIncomplete", testSweep},
		{"LocalFile", testLocalFile},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if reason, ok := cfg.skip[tc.name]; ok {
				t.Skip("known divergence of the test server: " + reason)
			}
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tc.fn(t, b)
		})
	}
}

// payload returns n deterministic pseudo-random bytes.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x1a4df411))
	p := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			p[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		p[i] = byte(r.Uint32())
	}
	return p
}

func sum(p []byte) string {
	s := sha256.Sum256(p)
	return hex.EncodeToString(s[:])
}

func wantCode(t *testing.T, err error, code errcode.Code, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error; want %s", what, code)
	}
	if !errors.Is(err, code) {
		t.Fatalf("%s: error %v has code %s; want %s", what, err, errcode.Of(err), code)
	}
}

// write stores p under key in chunks of chunk bytes (0: one Write).
func write(t *testing.T, b *blob.Bucket, key string, p []byte, chunk int, opts *blob.WriterOptions) {
	t.Helper()
	w, err := b.NewWriter(context.Background(), key, opts)
	if err != nil {
		t.Fatalf("NewWriter(%q): %v", key, err)
	}
	if chunk <= 0 {
		chunk = len(p) + 1
	}
	for off := 0; off < len(p); off += chunk {
		end := min(off+chunk, len(p))
		if n, err := w.Write(p[off:end]); err != nil || n != end-off {
			t.Fatalf("Write(%q) at %d: n=%d err=%v", key, off, n, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close(%q): %v", key, err)
	}
	if w.SHA256() != sum(p) {
		t.Fatalf("Writer.SHA256 = %s; want %s", w.SHA256(), sum(p))
	}
}

func read(t *testing.T, b *blob.Bucket, key string) []byte {
	t.Helper()
	p, err := b.ReadAll(context.Background(), key)
	if err != nil {
		t.Fatalf("ReadAll(%q): %v", key, err)
	}
	return p
}

func mustNotExist(t *testing.T, b *blob.Bucket, key string) {
	t.Helper()
	ok, err := b.Exists(context.Background(), key)
	if err != nil {
		t.Fatalf("Exists(%q): %v", key, err)
	}
	if ok {
		t.Fatalf("%q exists; want it absent", key)
	}
	_, err = b.NewReader(context.Background(), key, nil)
	wantCode(t, err, errcode.NotFound, "NewReader of absent key")
}

func testWriteRead(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	sizes := []int{0, 1, 511, 512, 513, 65535, 65536, 65537, 1<<20 + 3, 13<<20 + 17}
	for i, n := range sizes {
		key := fmt.Sprintf("sizes/%d.bin", n)
		p := payload(n, uint64(i))
		start := time.Now().Add(-2 * time.Second)
		write(t, b, key, p, 100_000, &blob.WriterOptions{ContentType: "application/x-test"})
		got := read(t, b, key)
		if !bytes.Equal(got, p) {
			t.Fatalf("%s: read %d bytes (sha %s); wrote %d (sha %s)", key, len(got), sum(got), n, sum(p))
		}
		a, err := b.Attributes(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if a.Size != int64(n) || a.SHA256 != sum(p) || a.ContentType != "application/x-test" || a.ETag == "" {
			t.Fatalf("%s: attributes %+v; want size %d sha %s type application/x-test and an ETag", key, a, n, sum(p))
		}
		if a.ModTime.Before(start) || a.ModTime.After(time.Now().Add(2*time.Second)) {
			t.Fatalf("%s: ModTime %v is not about now", key, a.ModTime)
		}
		r, err := b.NewReader(ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Size() != int64(n) || r.ContentType() != "application/x-test" || r.ETag() != a.ETag {
			t.Fatalf("%s: reader says size %d type %q etag %q; attributes say %d %q %q", key, r.Size(), r.ContentType(), r.ETag(), n, a.ContentType, a.ETag)
		}
		r.Close()
	}
	// Upload streams from a reader.
	p := payload(3<<20+5, 99)
	if err := b.Upload(ctx, "upload/x.bin", bytes.NewReader(p), nil); err != nil {
		t.Fatal(err)
	}
	if got := read(t, b, "upload/x.bin"); !bytes.Equal(got, p) {
		t.Fatal("Upload: content differs")
	}
	var out bytes.Buffer
	if err := b.Download(ctx, "upload/x.bin", &out, nil); err != nil || !bytes.Equal(out.Bytes(), p) {
		t.Fatalf("Download: err=%v same=%v", err, bytes.Equal(out.Bytes(), p))
	}
}

func testRangeRead(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	for _, n := range []int{0, 10, 200_000} {
		p := payload(n, 7)
		key := fmt.Sprintf("range/%d", n)
		write(t, b, key, p, 0, nil)
		cases := []struct{ off, length int64 }{
			{0, -1}, {0, 0}, {0, 1}, {1, 3}, {5, -1}, {int64(n) - 1, 1}, {int64(n) - 1, 100},
			{int64(n), -1}, {int64(n) + 10, 5}, {65535, 2}, {65536, 65536}, {65530, 70000}, {131071, -1},
		}
		for _, c := range cases {
			if c.off < 0 {
				continue
			}
			r, err := b.NewRangeReader(ctx, key, c.off, c.length, nil)
			if err != nil {
				t.Fatalf("%s [%d,+%d): %v", key, c.off, c.length, err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatalf("%s [%d,+%d): read: %v", key, c.off, c.length, err)
			}
			lo := min(c.off, int64(n))
			hi := int64(n)
			if c.length >= 0 {
				hi = min(lo+c.length, int64(n))
			}
			if !bytes.Equal(got, p[lo:hi]) {
				t.Fatalf("%s [%d,+%d): got %d bytes; want %d (bytes %d..%d)", key, c.off, c.length, len(got), hi-lo, lo, hi)
			}
			if r.Size() != int64(n) {
				t.Fatalf("%s range reader Size = %d; want the whole object's %d", key, r.Size(), n)
			}
		}
	}
	_, err := b.NewRangeReader(ctx, "range/10", -1, 2, nil)
	wantCode(t, err, errcode.Invalid, "negative offset")
}

func testNotFound(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	_, err := b.Attributes(ctx, "missing/a")
	wantCode(t, err, errcode.NotFound, "Attributes")
	if !strings.Contains(err.Error(), "missing/a") {
		t.Fatalf("error %q does not name the key", err)
	}
	_, err = b.NewReader(ctx, "missing/a", nil)
	wantCode(t, err, errcode.NotFound, "NewReader")
	_, err = b.NewRangeReader(ctx, "missing/a", 10, 10, nil)
	wantCode(t, err, errcode.NotFound, "NewRangeReader")
	wantCode(t, b.Delete(ctx, "missing/a"), errcode.NotFound, "Delete")
	wantCode(t, b.Copy(ctx, "dst", "missing/a", nil), errcode.NotFound, "Copy")
	wantCode(t, b.Move(ctx, "dst", "missing/a"), errcode.NotFound, "Move")
	mustNotExist(t, b, "dst")
}

func testOverwrite(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "o/k", []byte("first version, longer than the second"), 0, &blob.WriterOptions{Metadata: map[string]string{"a": "1"}})
	a1, _ := b.Attributes(ctx, "o/k")
	write(t, b, "o/k", []byte("second"), 0, nil)
	if got := read(t, b, "o/k"); string(got) != "second" {
		t.Fatalf("after overwrite read %q", got)
	}
	a2, err := b.Attributes(ctx, "o/k")
	if err != nil {
		t.Fatal(err)
	}
	if a2.ETag == a1.ETag || a2.Size != 6 || a2.SHA256 != sum([]byte("second")) || len(a2.Metadata) != 0 {
		t.Fatalf("after overwrite attributes %+v (before %+v)", a2, a1)
	}
}

func testAbort(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	for _, n := range []int{0, 100, 6 << 20} {
		key := fmt.Sprintf("abort/new-%d", n)
		w, err := b.NewWriter(ctx, key, &blob.WriterOptions{ContentType: "text/plain"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(payload(n, 1)); err != nil {
			t.Fatal(err)
		}
		if err := w.Abort(); err != nil {
			t.Fatalf("Abort: %v", err)
		}
		mustNotExist(t, b, key)
		if _, err := w.Write([]byte("x")); err == nil {
			t.Fatal("Write after Abort succeeded")
		}
	}
	// Aborting a rewrite keeps the old content.
	write(t, b, "abort/old", []byte("old"), 0, nil)
	w, err := b.NewWriter(ctx, "abort/old", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(payload(2000, 2))
	w.Abort()
	if got := read(t, b, "abort/old"); string(got) != "old" {
		t.Fatalf("after an aborted rewrite read %q; want old", got)
	}
	// Nothing is visible before Close.
	w, _ = b.NewWriter(ctx, "abort/pending", nil)
	w.Write(payload(4096, 3))
	mustNotExist(t, b, "abort/pending")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("second Close succeeded")
	}
	assertListed(t, b, "abort/", []string{"abort/old", "abort/pending"})
}

func testCancel(t *testing.T, b *blob.Bucket) {
	for _, n := range []int{10, 700_000} {
		ctx, cancel := context.WithCancel(context.Background())
		key := fmt.Sprintf("cancel/%d", n)
		w, err := b.NewWriter(ctx, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload(n, 4))
		cancel()
		err = w.Close()
		wantCode(t, err, errcode.Canceled, "Close after cancel")
		mustNotExist(t, b, key)
	}
}

type failingReader struct {
	r     io.Reader
	after int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errors.New("source broke")
	}
	if len(p) > f.after {
		p = p[:f.after]
	}
	n, err := f.r.Read(p)
	f.after -= n
	return n, err
}

func testFailedUpload(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	src := &failingReader{r: bytes.NewReader(payload(8<<20, 5)), after: 6 << 20}
	err := b.Upload(ctx, "failed/upload", src, nil)
	if err == nil || !strings.Contains(err.Error(), "source broke") {
		t.Fatalf("Upload from a failing reader: %v", err)
	}
	mustNotExist(t, b, "failed/upload")
}

func testContentSHA256(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	p := payload(70_000, 6)
	write(t, b, "sha/ok", p, 1000, &blob.WriterOptions{ContentSHA256: strings.ToUpper(sum(p))})
	w, err := b.NewWriter(ctx, "sha/bad", &blob.WriterOptions{ContentSHA256: sum([]byte("other"))})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(p)
	err = w.Close()
	wantCode(t, err, errcode.Invalid, "Close with a wrong ContentSHA256")
	if !strings.Contains(err.Error(), sum(p)) {
		t.Fatalf("mismatch error %q does not give the actual SHA-256", err)
	}
	mustNotExist(t, b, "sha/bad")
	_, err = b.NewWriter(ctx, "sha/x", &blob.WriterOptions{ContentSHA256: "abc"})
	wantCode(t, err, errcode.Invalid, "malformed ContentSHA256")
}

func testContentTypes(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	cases := []struct {
		key, given string
		content    []byte
		want       string
	}{
		{"ct/given", "video/mp4", []byte("not really"), "video/mp4"},
		{"ct/params", "text/plain; charset=utf-8", []byte("x"), "text/plain; charset=utf-8"},
		{"ct/png", "", append([]byte("\x89PNG\r\n\x1a\n"), payload(600, 8)...), "image/png"},
		{"ct/text", "", []byte("hello, plain text"), "text/plain; charset=utf-8"},
		{"ct/wav", "", append([]byte("RIFF\x24\x00\x00\x00WAVEfmt "), make([]byte, 1000)...), "audio/wave"},
		{"ct/empty", "", nil, "text/plain; charset=utf-8"},
	}
	for _, c := range cases {
		write(t, b, c.key, c.content, 100, &blob.WriterOptions{ContentType: c.given})
		a, err := b.Attributes(ctx, c.key)
		if err != nil {
			t.Fatal(err)
		}
		if a.ContentType != c.want {
			t.Errorf("%s: content type %q; want %q", c.key, a.ContentType, c.want)
		}
	}
	_, err := b.NewWriter(ctx, "ct/bad", &blob.WriterOptions{ContentType: "no slash;;"})
	wantCode(t, err, errcode.Invalid, "malformed content type")
}

func testMetadata(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	md := map[string]string{"Tenant": "acme", "original-name": "Réunion été.mp4", "empty": "", "x_y": "a=b&c d"}
	write(t, b, "md/k", []byte("x"), 0, &blob.WriterOptions{Metadata: md, CacheControl: "no-cache", ContentDisposition: `attachment; filename="a.mp4"`})
	a, err := b.Attributes(ctx, "md/k")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tenant": "acme", "original-name": "Réunion été.mp4", "x_y": "a=b&c d", "empty": ""}
	for k, v := range want {
		if got, ok := a.Metadata[k]; !ok || got != v {
			t.Errorf("metadata %q = %q (present %v); want %q", k, got, ok, v)
		}
	}
	for k := range a.Metadata {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected metadata key %q", k)
		}
	}
	if a.CacheControl != "no-cache" || a.ContentDisposition != `attachment; filename="a.mp4"` {
		t.Errorf("cache control %q, disposition %q", a.CacheControl, a.ContentDisposition)
	}
	bad := []map[string]string{
		{"": "x"},
		{"a b": "x"},
		{"ünï": "x"},
		{"landfall-sha256": "x"},
		{"A": "1", "a": "2"},
		{"k": "line\nbreak"},
		{"k": string([]byte{0xff})},
		{"k": strings.Repeat("v", blob.MaxMetadataBytes)},
	}
	for _, m := range bad {
		_, err := b.NewWriter(ctx, "md/bad", &blob.WriterOptions{Metadata: m})
		wantCode(t, err, errcode.Invalid, fmt.Sprintf("metadata %q", m))
	}
}

// InvalidKeys are keys every driver must refuse.
var InvalidKeys = []string{
	"", "/abs", "a/../b", "..", "../x", "a/..", ".", "./a", "a/./b", "a//b", "a/", "a\\b", "\\", "a\x00b",
	"a\nb", "a\x7fb", string([]byte{0xff, 0xfe}), ".landfall-meta/x", "a/.landfall-tmp-1",
	strings.Repeat("k", blob.MaxKeyLen+1), "e\u0301", // NFD
}

func testInvalidKeys(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	for _, key := range InvalidKeys {
		_, err := b.NewWriter(ctx, key, nil)
		wantCode(t, err, errcode.Invalid, fmt.Sprintf("NewWriter(%q)", key))
		if key != "" && !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("error %q does not name the key %q", err, key)
		}
		_, err = b.NewReader(ctx, key, nil)
		wantCode(t, err, errcode.Invalid, fmt.Sprintf("NewReader(%q)", key))
		_, err = b.Attributes(ctx, key)
		wantCode(t, err, errcode.Invalid, fmt.Sprintf("Attributes(%q)", key))
		wantCode(t, b.Delete(ctx, key), errcode.Invalid, fmt.Sprintf("Delete(%q)", key))
		wantCode(t, b.Copy(ctx, key, "x", nil), errcode.Invalid, fmt.Sprintf("Copy to %q", key))
		wantCode(t, b.Move(ctx, "x", key), errcode.Invalid, fmt.Sprintf("Move from %q", key))
	}
	for _, prefix := range []string{"/a", "a//", "../", "a\\", "x/./"} {
		_, _, err := b.ListPage(ctx, nil, 0, &blob.ListOptions{Prefix: prefix})
		wantCode(t, err, errcode.Invalid, fmt.Sprintf("List prefix %q", prefix))
	}
	_, _, err := b.ListPage(ctx, nil, 0, &blob.ListOptions{Delimiter: ","})
	wantCode(t, err, errcode.Invalid, "List delimiter ,")
	_, _, err = b.ListPage(ctx, nil, 1001, nil)
	wantCode(t, err, errcode.Invalid, "List page size 1001")
}

// AwkwardKeys are valid keys that stress escaping in drivers.
var AwkwardKeys = []string{
	"incoming/tenant 1/Réunion été.mp4", "a+b=c&d?.txt", "%41%2F", "q?x=1#frag", "日本語/ファイル.wav",
	"dots.../..dots", "~tilde/!$'()*,;@", "emoji/🎞️.mov", "-dash", "a/b/c/d/e/f/g/h/i/j/k",
	"space ", " lead", "x.attrs", "UPPER/lower",
}

func testAwkwardKeys(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	for i, key := range AwkwardKeys {
		if err := blob.ValidateKey(key); err != nil {
			t.Fatalf("suite key %q is invalid: %v", key, err)
		}
		write(t, b, key, []byte(key), 0, &blob.WriterOptions{Metadata: map[string]string{"i": fmt.Sprint(i)}})
	}
	for _, key := range AwkwardKeys {
		if got := read(t, b, key); string(got) != key {
			t.Fatalf("read %q: got %q", key, got)
		}
	}
	assertListed(t, b, "", AwkwardKeys)
	for _, key := range AwkwardKeys {
		if err := b.Delete(ctx, key); err != nil {
			t.Fatalf("Delete(%q): %v", key, err)
		}
	}
	assertListed(t, b, "", nil)
}

func listAll(t *testing.T, b *blob.Bucket, opts *blob.ListOptions) []*blob.ListObject {
	t.Helper()
	var out []*blob.ListObject
	it := b.List(opts)
	for {
		o, err := it.Next(context.Background())
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		out = append(out, o)
	}
}

func keysOf(objs []*blob.ListObject) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func assertListed(t *testing.T, b *blob.Bucket, prefix string, want []string) {
	t.Helper()
	var got []string
	for _, o := range listAll(t, b, &blob.ListOptions{Prefix: prefix}) {
		got = append(got, o.Key)
	}
	want = append([]string(nil), want...)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("List(%q) = %q; want %q", prefix, got, want)
	}
}

// listKeys are chosen so that byte order differs from a naive directory
// walk: "a-b" and "a.txt" sort before "a/…", "ab" after it. No key names
// both an object and a folder ("b" and "b/c"), which the file driver cannot store.
var listKeys = []string{
	"a-b", "a.txt", "a/x", "a/y/z", "a/y/zz", "a/y0", "ab", "b!", "b/c/d/e", "b0", "c/1", "c/2", "c/3/x", "zz/top",
}

type listCase struct {
	prefix, delim string
	want          []string // keys; IsDir entries end in "/"
}

var listCases = []listCase{
	{"", "", []string{"a-b", "a.txt", "a/x", "a/y/z", "a/y/zz", "a/y0", "ab", "b!", "b/c/d/e", "b0", "c/1", "c/2", "c/3/x", "zz/top"}},
	{"", "/", []string{"a-b", "a.txt", "a/", "ab", "b!", "b/", "b0", "c/", "zz/"}},
	{"a", "/", []string{"a-b", "a.txt", "a/", "ab"}},
	{"a/", "/", []string{"a/x", "a/y/", "a/y0"}},
	{"a/y", "/", []string{"a/y/", "a/y0"}},
	{"a/y", "", []string{"a/y/z", "a/y/zz", "a/y0"}},
	{"a/y/", "", []string{"a/y/z", "a/y/zz"}},
	{"b/", "/", []string{"b/c/"}},
	{"b/c/d/", "/", []string{"b/c/d/e"}},
	{"c/", "/", []string{"c/1", "c/2", "c/3/"}},
	{"nothing", "/", nil},
	{"nothing/", "", nil},
	{"z", "/", []string{"zz/"}},
}

func setupList(t *testing.T, b *blob.Bucket) {
	for _, k := range listKeys {
		write(t, b, k, []byte(k), 0, nil)
	}
}

func testList(t *testing.T, b *blob.Bucket) {
	setupList(t, b)
	for _, c := range listCases {
		objs := listAll(t, b, &blob.ListOptions{Prefix: c.prefix, Delimiter: c.delim})
		var got []string
		for _, o := range objs {
			got = append(got, o.Key)
			if o.IsDir != strings.HasSuffix(o.Key, "/") {
				t.Errorf("prefix %q: %q IsDir=%v", c.prefix, o.Key, o.IsDir)
			}
			if !o.IsDir && (o.Size != int64(len(o.Key)) || o.ModTime.IsZero()) {
				t.Errorf("prefix %q: %q size %d modtime %v", c.prefix, o.Key, o.Size, o.ModTime)
			}
		}
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("List(prefix %q, delimiter %q) = %q; want %q", c.prefix, c.delim, got, c.want)
		}
	}
}

func testListPagination(t *testing.T, b *blob.Bucket) {
	setupList(t, b)
	ctx := context.Background()
	for _, c := range listCases {
		for _, size := range []int{1, 2, 3, 5} {
			var got []string
			var token []byte
			for pages := 0; ; pages++ {
				if pages > 50 {
					t.Fatalf("prefix %q size %d: listing does not end", c.prefix, size)
				}
				objs, next, err := b.ListPage(ctx, token, size, &blob.ListOptions{Prefix: c.prefix, Delimiter: c.delim})
				if err != nil {
					t.Fatal(err)
				}
				if len(objs) > size {
					t.Fatalf("page of %d entries; asked for %d", len(objs), size)
				}
				for _, o := range objs {
					got = append(got, o.Key)
				}
				if next == nil {
					break
				}
				if len(objs) == 0 {
					t.Fatalf("prefix %q size %d: empty page with a next token", c.prefix, size)
				}
				token = next
			}
			if strings.Join(got, " ") != strings.Join(c.want, " ") {
				t.Errorf("paged List(prefix %q, delimiter %q, size %d) = %q; want %q", c.prefix, c.delim, size, got, c.want)
			}
		}
	}
}

func testCopy(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	p := payload(6<<20+1, 9)
	write(t, b, "copy/src", p, 1<<20, &blob.WriterOptions{ContentType: "video/mp4", Metadata: map[string]string{"tenant": "acme"}})
	write(t, b, "copy/dst", []byte("to be replaced"), 0, nil)
	if err := b.Copy(ctx, "copy/dst", "copy/src", nil); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"copy/src", "copy/dst"} {
		if got := read(t, b, k); !bytes.Equal(got, p) {
			t.Fatalf("%s: content differs after copy", k)
		}
		a, err := b.Attributes(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if a.ContentType != "video/mp4" || a.Metadata["tenant"] != "acme" || a.SHA256 != sum(p) || a.Size != int64(len(p)) {
			t.Fatalf("%s attributes after copy: %+v", k, a)
		}
	}
	if err := b.Copy(ctx, "copy/new/deep/dst", "copy/src", nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, b.Copy(ctx, "copy/src", "copy/src", nil), errcode.Invalid, "copy onto itself")
}

func testMove(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	p := payload(100_000, 10)
	write(t, b, "incoming/t1/m.mp4", p, 0, &blob.WriterOptions{ContentType: "video/mp4", Metadata: map[string]string{"tenant": "t1"}})
	write(t, b, "processed/t1/id/m.mp4", []byte("old"), 0, nil)
	if err := b.Move(ctx, "processed/t1/id/m.mp4", "incoming/t1/m.mp4"); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, b, "incoming/t1/m.mp4")
	if got := read(t, b, "processed/t1/id/m.mp4"); !bytes.Equal(got, p) {
		t.Fatal("moved content differs")
	}
	a, err := b.Attributes(ctx, "processed/t1/id/m.mp4")
	if err != nil {
		t.Fatal(err)
	}
	if a.ContentType != "video/mp4" || a.Metadata["tenant"] != "t1" || a.SHA256 != sum(p) {
		t.Fatalf("attributes after move: %+v", a)
	}
	if err := b.Move(ctx, "processed/t1/id2/m.mp4", "processed/t1/id/m.mp4"); err != nil {
		t.Fatal(err)
	}
	assertListed(t, b, "", []string{"processed/t1/id2/m.mp4"})
	wantCode(t, b.Move(ctx, "a", "a"), errcode.Invalid, "move onto itself")
}

func testDelete(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "del/a/b/c", []byte("x"), 0, nil)
	write(t, b, "del/a/d", []byte("y"), 0, nil)
	if err := b.Delete(ctx, "del/a/b/c"); err != nil {
		t.Fatal(err)
	}
	mustNotExist(t, b, "del/a/b/c")
	wantCode(t, b.Delete(ctx, "del/a/b/c"), errcode.NotFound, "second Delete")
	assertListed(t, b, "del/", []string{"del/a/d"})
}

// testKeyReuse checks that a key may name an object where a folder was,
// and a folder where an object was, once the earlier objects are deleted.
func testKeyReuse(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "del/a/d", []byte("y"), 0, nil)
	if err := b.Delete(ctx, "del/a/d"); err != nil {
		t.Fatal(err)
	}
	write(t, b, "del/a", []byte("file where a folder was"), 0, nil)
	write(t, b, "del/x", []byte("x"), 0, nil)
	if err := b.Delete(ctx, "del/x"); err != nil {
		t.Fatal(err)
	}
	write(t, b, "del/x/y", []byte("folder where a file was"), 0, nil)
	assertListed(t, b, "del/", []string{"del/a", "del/x/y"})
}

func testEmptyFolderNotListed(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "del/a/b/c", []byte("x"), 0, nil)
	write(t, b, "del/a/d", []byte("y"), 0, nil)
	if err := b.Delete(ctx, "del/a/b/c"); err != nil {
		t.Fatal(err)
	}
	objs := listAll(t, b, &blob.ListOptions{Prefix: "del/a/", Delimiter: "/"})
	if len(objs) != 1 || objs[0].Key != "del/a/d" {
		t.Fatalf("after deleting del/a/b/c, List(del/a/, /) = %q; want only del/a/d", keysOf(objs))
	}
}

func testSignedURL(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	key := "signed/Réunion été.mp4"
	write(t, b, key, []byte("signed content"), 0, nil)
	getURL, err := b.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: time.Minute})
	if err != nil {
		if errors.Is(err, errcode.NotImplemented) || errors.Is(err, errcode.FailedPrecond) {
			t.Skipf("driver does not sign URLs: %v", err)
		}
		t.Fatal(err)
	}
	u, err := url.Parse(getURL)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.VerifySignedURL("GET", u)
	if errors.Is(err, errcode.NotImplemented) {
		testPresigned(t, b, key, getURL)
		return
	}
	sr, err := b.VerifySignedURL("GET", u)
	if err != nil {
		t.Fatalf("VerifySignedURL(%s): %v", getURL, err)
	}
	if sr.Key != key || sr.Method != "GET" {
		t.Fatalf("verified %+v; want key %q GET", sr, key)
	}
	// As an HTTP server sees it: path and query only.
	pathOnly := &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	if sr, err := b.VerifySignedURL("get", pathOnly); err != nil || sr.Key != key {
		t.Fatalf("VerifySignedURL(path only %s): %+v %v", pathOnly, sr, err)
	}
	_, err = b.VerifySignedURL("DELETE", u)
	wantCode(t, err, errcode.PermissionDenied, "signed GET used for DELETE")
	tampered := *u
	tampered.Path = strings.Replace(u.Path, "été", "ete", 1)
	tampered.RawPath = ""
	_, err = b.VerifySignedURL("GET", &tampered)
	wantCode(t, err, errcode.Unauthenticated, "tampered key")
	q := u.Query()
	q.Set("lf-expires", fmt.Sprint(time.Now().Add(time.Hour).Unix()))
	longer := *u
	longer.RawQuery = q.Encode()
	_, err = b.VerifySignedURL("GET", &longer)
	wantCode(t, err, errcode.Unauthenticated, "extended expiry")
	b.SetClock(func() time.Time { return time.Now().Add(2 * time.Minute) })
	_, err = b.VerifySignedURL("GET", u)
	wantCode(t, err, errcode.Unauthenticated, "expired URL")
	b.SetClock(time.Now)
	putURL, err := b.SignedURL(ctx, "signed/up.bin", &blob.SignedURLOptions{Method: "PUT", ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(putURL)
	sr, err = b.VerifySignedURL("PUT", pu)
	if err != nil || sr.Key != "signed/up.bin" || sr.ContentType != "video/mp4" {
		t.Fatalf("verify PUT: %+v %v", sr, err)
	}
	_, err = b.SignedURL(ctx, key, &blob.SignedURLOptions{Method: "POST"})
	wantCode(t, err, errcode.Invalid, "signed POST")
	_, err = b.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: 8 * 24 * time.Hour})
	wantCode(t, err, errcode.Invalid, "expiry past the limit")
}

// testPresigned checks URLs that the store itself verifies by using them.
func testPresigned(t *testing.T, b *blob.Bucket, key, getURL string) {
	ctx := context.Background()
	resp, err := http.Get(getURL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "signed content" {
		t.Fatalf("GET presigned: %d %q", resp.StatusCode, body)
	}
	putURL, err := b.SignedURL(ctx, "signed/up.bin", &blob.SignedURLOptions{Method: "PUT", ContentType: "video/mp4"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PUT", putURL, strings.NewReader("uploaded through a signed URL"))
	req.Header.Set("Content-Type", "video/mp4")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT presigned: %d %s", resp.StatusCode, body)
	}
	if got := read(t, b, "signed/up.bin"); string(got) != "uploaded through a signed URL" {
		t.Fatalf("after presigned PUT read %q", got)
	}
	delURL, err := b.SignedURL(ctx, "signed/up.bin", &blob.SignedURLOptions{Method: "DELETE"})
	if err != nil {
		t.Fatal(err)
	}
	req, _ = http.NewRequest("DELETE", delURL, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	mustNotExist(t, b, "signed/up.bin")
	// The GET URL does not allow a DELETE.
	req, _ = http.NewRequest("DELETE", getURL, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 400 {
		t.Fatalf("DELETE with a GET URL: status %d", resp.StatusCode)
	}
}

func testClosed(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "k", []byte("x"), 0, nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := b.Attributes(ctx, "k")
	wantCode(t, err, errcode.FailedPrecond, "Attributes after Close")
	_, err = b.NewWriter(ctx, "k", nil)
	wantCode(t, err, errcode.FailedPrecond, "NewWriter after Close")
	_, _, err = b.ListPage(ctx, nil, 0, nil)
	wantCode(t, err, errcode.FailedPrecond, "List after Close")
	wantCode(t, b.Delete(ctx, "k"), errcode.FailedPrecond, "Delete after Close")
	wantCode(t, b.Close(), errcode.FailedPrecond, "second Close")
}

func testConcurrentWriters(t *testing.T, b *blob.Bucket) {
	const n = 4
	contents := make([][]byte, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		contents[i] = payload(300_000+i, uint64(100+i))
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := b.NewWriter(context.Background(), "race/k", nil)
			if err != nil {
				errs <- err
				return
			}
			for off := 0; off < len(contents[i]); off += 10_000 {
				w.Write(contents[i][off:min(off+10_000, len(contents[i]))])
			}
			errs <- w.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := read(t, b, "race/k")
	a, err := b.Attributes(context.Background(), "race/k")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range contents {
		if bytes.Equal(got, c) {
			if a.SHA256 != sum(c) || a.Size != int64(len(c)) {
				t.Fatalf("attributes %+v do not describe the content read", a)
			}
			return
		}
	}
	t.Fatalf("content (%d bytes) is none of the writers' whole content", len(got))
}

func testVersions(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "v/k", []byte("one"), 0, nil)
	if _, err := b.ListVersions(ctx, "v/k"); errors.Is(err, errcode.NotImplemented) {
		_, err := b.NewReader(ctx, "v/k", &blob.ReaderOptions{VersionID: "x"})
		if c := errcode.Of(err); c != errcode.NotImplemented && c != errcode.Invalid && c != errcode.NotFound {
			t.Fatalf("read version \"x\" without versioning: %v; want NotImplemented, InvalidArgument or NotFound", err)
		}
		t.Skipf("driver keeps no versions: %v", err)
	}
	write(t, b, "v/k", []byte("two"), 0, nil)
	vs, err := b.ListVersions(ctx, "v/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || !vs[0].IsLatest || vs[1].IsLatest || vs[0].Size != 3 {
		t.Fatalf("%d versions; want 2, newest first", len(vs))
	}
	r, err := b.NewReader(ctx, "v/k", &blob.ReaderOptions{VersionID: vs[1].VersionID})
	if err != nil {
		t.Fatal(err)
	}
	old, _ := io.ReadAll(r)
	r.Close()
	if string(old) != "one" || r.VersionID() != vs[1].VersionID {
		t.Fatalf("old version read %q (version %q)", old, r.VersionID())
	}
	a, err := b.AttributesWith(ctx, "v/k", &blob.AttributesOptions{VersionID: vs[1].VersionID})
	if err != nil || a.SHA256 != sum([]byte("one")) {
		t.Fatalf("old version attributes %+v %v", a, err)
	}
	cur, _ := b.Attributes(ctx, "v/k")
	if cur.VersionID != vs[0].VersionID {
		t.Fatalf("current version %q; ListVersions says %q", cur.VersionID, vs[0].VersionID)
	}
	_, err = b.ListVersions(ctx, "v/none")
	wantCode(t, err, errcode.NotFound, "ListVersions of a missing key")
}

func testLocalPath(t *testing.T, b *blob.Bucket) {
	write(t, b, "lp/a b.wav", []byte("local content"), 0, nil)
	p, err := b.LocalPath("lp/a b.wav")
	switch {
	case errors.Is(err, errcode.NotImplemented):
		t.Skipf("driver has no local paths: %v", err)
	case errors.Is(err, errcode.FailedPrecond):
		t.Skipf("objects are not plain local files: %v", err)
	case err != nil:
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "local content" {
		t.Fatalf("LocalPath %s: %q %v", p, got, err)
	}
	_, err = b.LocalPath("lp/missing")
	wantCode(t, err, errcode.NotFound, "LocalPath of a missing key")
}

func testLocalFile(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	p := payload(300_000, 13)
	write(t, b, "lf/clip.wav", p, 0, nil)
	path, release, err := b.LocalFile(ctx, "lf/clip.wav", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(path, ".wav") {
		t.Errorf("local file %s lost the key's extension", path)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("local file %s: %v (same %v)", path, err, bytes.Equal(got, p))
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if own, err := b.LocalPath("lf/clip.wav"); err != nil || own != path {
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("release left the temporary copy %s", path)
		}
	}
	_, _, err = b.LocalFile(ctx, "lf/missing.wav", t.TempDir())
	wantCode(t, err, errcode.NotFound, "LocalFile of a missing key")
}

func testSweep(t *testing.T, b *blob.Bucket) {
	ctx := context.Background()
	write(t, b, "sweep/done", payload(7<<20, 11), 1<<20, nil)
	w, err := b.NewWriter(ctx, "sweep/pending", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(7<<20, 12)); err != nil {
		t.Fatal(err)
	}
	// Nothing is old enough yet.
	if n, err := b.SweepIncomplete(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("SweepIncomplete(1h) = %d, %v; want 0", n, err)
	}
	if _, err := b.SweepIncomplete(ctx, -time.Second); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("negative age: %v", err)
	}
	n, err := b.SweepIncomplete(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept %d incomplete writes", n)
	w.Abort()
	if got := read(t, b, "sweep/done"); !bytes.Equal(got, payload(7<<20, 11)) {
		t.Fatal("a sweep changed a committed object")
	}
	mustNotExist(t, b, "sweep/pending")
	if n, err := b.SweepIncomplete(ctx, 0); err != nil || n != 0 {
		t.Fatalf("second sweep = %d, %v; want 0", n, err)
	}
}
