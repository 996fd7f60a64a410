package s3blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
)

// recorder is an HTTP client that records the requests it sends.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, query string
	header        http.Header
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.RawQuery, req.Header.Clone()})
	r.mu.Unlock()
	return http.DefaultClient.Do(req)
}

// sent returns the recorded requests whose query has q (e.g. "uploads")
// or, with q empty, the PUTs without a query.
func (r *recorder) find(match func(recorded) bool) []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []recorded
	for _, q := range r.reqs {
		if match(q) {
			out = append(out, q)
		}
	}
	return out
}

func newClient(rec *recorder) *s3.Client {
	return s3.New(s3.Options{
		Region:       server.Region,
		BaseEndpoint: aws.String(server.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(server.AccessKey, server.SecretKey, ""),
		HTTPClient:   rec,
		DisableLogOutputChecksumValidationSkipped: true,
	})
}

func newBucket(t *testing.T, opts *Options) (*blob.Bucket, *recorder, string) {
	t.Helper()
	rec := &recorder{}
	name := server.NewBucket(t, false)
	d, err := New(newClient(rec), name, opts)
	if err != nil {
		t.Fatal(err)
	}
	b := blob.NewBucket(d)
	t.Cleanup(func() { b.Close() })
	return b, rec, name
}

func data(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*13 + i/977)
	}
	return p
}

func TestSSEIsSent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, rec, _ := newBucket(t, &Options{SSE: "aws:kms", KMSKeyID: "arn:aws:kms:us-east-1:111122223333:key/landfall-test"})
	if err := b.WriteAll(ctx, "small", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Upload(ctx, "large", bytes.NewReader(data(11<<20)), nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(ctx, "copied", "small", nil); err != nil {
		t.Fatal(err)
	}
	writes := rec.find(func(r recorded) bool {
		return strings.Contains(r.query, "x-id=PutObject") || r.method == "POST" && strings.HasPrefix(r.query, "uploads") ||
			strings.Contains(r.query, "x-id=CopyObject")
	})
	if len(writes) != 3 { // PutObject, CreateMultipartUpload, CopyObject
		t.Fatalf("saw %d object-creating requests; want 3", len(writes))
	}
	for _, w := range writes {
		if w.header.Get("X-Amz-Server-Side-Encryption") != "aws:kms" ||
			w.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id") != "arn:aws:kms:us-east-1:111122223333:key/landfall-test" {
			t.Errorf("%s ?%s sent SSE headers %q %q", w.method, w.query,
				w.header.Get("X-Amz-Server-Side-Encryption"), w.header.Get("X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"))
		}
	}
	// Parts and reads carry no SSE headers (S3 refuses them there).
	for _, r := range rec.find(func(r recorded) bool { return strings.Contains(r.query, "partNumber") || r.method == "GET" }) {
		if r.header.Get("X-Amz-Server-Side-Encryption") != "" {
			t.Errorf("%s ?%s carries an SSE header", r.method, r.query)
		}
	}
}

func TestAbortedUploadsLeaveNoParts(t *testing.T) {
	t.Parallel()
	b, rec, name := newBucket(t, &Options{PartSize: MinPartSize})
	ctx := context.Background()
	client := server.Client()

	w, _ := b.NewWriter(ctx, "aborted", nil)
	w.Write(data(12 << 20))
	w.Abort()

	cctx, cancel := context.WithCancel(ctx)
	w, _ = b.NewWriter(cctx, "cancelled", nil)
	w.Write(data(12 << 20))
	cancel()
	if err := w.Close(); !errors.Is(err, errcode.Canceled) {
		t.Fatalf("Close after cancel: %v", err)
	}

	err := b.Upload(ctx, "failed", io.MultiReader(bytes.NewReader(data(11<<20)), errReader{}), nil)
	if err == nil {
		t.Fatal("Upload from a failing reader succeeded")
	}
	if n := len(rec.find(func(r recorded) bool { return r.method == "POST" && strings.HasPrefix(r.query, "uploads") })); n != 3 {
		t.Fatalf("%d multipart uploads started; want 3", n)
	}
	out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &name})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Uploads) != 0 {
		t.Fatalf("%d multipart uploads left open", len(out.Uploads))
	}
	objs, _, err := b.ListPage(ctx, nil, 0, nil)
	if err != nil || len(objs) != 0 {
		t.Fatalf("objects after failed uploads: %d %v", len(objs), err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("source broke") }

func TestCopyInParts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, rec, _ := newBucket(t, &Options{CopyThreshold: MinPartSize})
	p := data(12<<20 + 5)
	err := b.Upload(ctx, "src.mp4", bytes.NewReader(p), &blob.WriterOptions{
		ContentType: "video/mp4", Metadata: map[string]string{"tenant": "acme", "name": "Réunion"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Copy(ctx, "dst.mp4", "src.mp4", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(rec.find(func(r recorded) bool {
		return r.method == "PUT" && strings.Contains(r.query, "partNumber") && r.header.Get("X-Amz-Copy-Source") != ""
	})); n != 3 {
		t.Fatalf("%d UploadPartCopy requests; want 3", n)
	}
	got, err := b.ReadAll(ctx, "dst.mp4")
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("copied content: %v (same %v)", err, bytes.Equal(got, p))
	}
	src, _ := b.Attributes(ctx, "src.mp4")
	dst, err := b.Attributes(ctx, "dst.mp4")
	if err != nil || dst.SHA256 == "" || dst.SHA256 != src.SHA256 || dst.ContentType != "video/mp4" ||
		dst.Metadata["tenant"] != "acme" || dst.Metadata["name"] != "Réunion" {
		t.Fatalf("copied attributes %+v; source %+v", dst, src)
	}
}

func TestMetadataEncoding(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _, _ := newBucket(t, nil)
	md := map[string]string{"a": "=?UTF-8?B?aGk=?=", "b": " lead", "c": "trail ", "d": "tab\there", "e": "plain"}
	if err := b.WriteAll(ctx, "k", []byte("x"), &blob.WriterOptions{Metadata: md}); err != nil {
		t.Fatal(err)
	}
	a, err := b.Attributes(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range md {
		if a.Metadata[k] != v {
			t.Errorf("metadata %s = %q; want %q", k, a.Metadata[k], v)
		}
	}
	var c *s3.Client
	if !b.As(&c) || c == nil {
		t.Fatal("As(**s3.Client) = false")
	}
}

func TestOpenURLErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct{ url, want string }{
		{"s3://", "no bucket name"},
		{"s3://b/path", "has a path"},
		{"s3://b?sse=DES", `sse="DES"`},
		{"s3://b?kms_key_id=k", "kms_key_id needs sse=aws:kms"},
		{"s3://b?part_size=1024", "below S3's minimum"},
		{"s3://b?part_size=big", "part_size"},
		{"s3://b?endpoint=127.0.0.1:9000", "endpoint"},
		{"s3://b?path_style=yes", "path_style"},
		{"s3://b?secret_access_key=x", `unknown parameter "secret_access_key"`},
	}
	for _, c := range cases {
		_, err := blob.OpenBucket(ctx, c.url)
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenBucket(%s) = %v; want InvalidArgument mentioning %q", c.url, err, c.want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	d := &bucket{}
	cases := []struct {
		err  error
		want errcode.Code
	}{
		{&smithy.GenericAPIError{Code: "NoSuchKey"}, errcode.NotFound},
		{&smithy.GenericAPIError{Code: "NoSuchBucket"}, errcode.NotFound},
		{&smithy.GenericAPIError{Code: "AccessDenied"}, errcode.PermissionDenied},
		{&smithy.GenericAPIError{Code: "SignatureDoesNotMatch"}, errcode.Unauthenticated},
		{&smithy.GenericAPIError{Code: "SlowDown"}, errcode.Unavailable},
		{&smithy.GenericAPIError{Code: "EntityTooLarge"}, errcode.TooLarge},
		{&smithy.GenericAPIError{Code: "PreconditionFailed"}, errcode.FailedPrecond},
		{errors.New("something else"), errcode.Unknown},
	}
	for _, c := range cases {
		if got := d.ErrorCode(c.err); got != c.want {
			t.Errorf("ErrorCode(%v) = %s; want %s", c.err, got, c.want)
		}
	}
	// Wrong credentials against the real server.
	client := s3.New(s3.Options{
		Region: server.Region, BaseEndpoint: aws.String(server.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider("nobody", "wrong-secret", ""),
	})
	nd, _ := New(client, server.NewBucket(t, false), nil)
	err := blob.NewBucket(nd).WriteAll(context.Background(), "k", []byte("x"), nil)
	if c := errcode.Of(err); c != errcode.Unauthenticated && c != errcode.PermissionDenied {
		t.Errorf("wrong credentials: %v; want Unauthenticated or PermissionDenied", err)
	}
}

func TestSweepAbortsOpenUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, _, name := newBucket(t, &Options{PartSize: MinPartSize})
	w, _ := b.NewWriter(ctx, "pending", nil)
	w.Write(data(12 << 20))
	// The upload has started once parts are in flight.
	client := server.Client()
	for range 100 {
		out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &name})
		if err == nil && len(out.Uploads) > 0 {
			break
		}
	}
	n, err := b.SweepIncomplete(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("SweepIncomplete = %d, %v; want 1", n, err)
	}
	w.Abort()
	out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &name})
	if err != nil || len(out.Uploads) != 0 {
		t.Fatalf("uploads left: %v %v", out, err)
	}
}
