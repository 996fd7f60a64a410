// Package memblob is the in-memory blob driver and the reference for the
// conformance suite. Objects live in the process and vanish with it.
//
// URL: mem://[?base_url=/blob]. base_url is where signed URLs point (the
// HTTP API's blob route; default "/blob"); they are signed with a random
// per-bucket secret and checked by blob.Bucket.VerifySignedURL. Every mem://
// URL opens a new, empty bucket.
//
// As: *memblob.Bucket is not exposed; As returns false.
// Gaps: no versioning, no local paths.
package memblob

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"maps"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/driver"
	"github.com/landfall/landfall/errcode"
)

// Scheme is the URL scheme memblob registers.
const Scheme = "mem"

func init() {
	blob.Register(Scheme, func(ctx context.Context, u *url.URL) (driver.Bucket, error) {
		params, err := blob.URLParams(u, "base_url")
		if err != nil {
			return nil, err
		}
		base := "/blob"
		if v, ok := params["base_url"]; ok {
			base = v
		}
		if u.Host != "" || (u.Path != "" && u.Path != "/") {
			return nil, errcode.New(errcode.Invalid, "memblob: URL %q has a host or path; use mem://", u.String())
		}
		return New(base)
	})
}

type object struct {
	data  []byte
	attrs driver.Attributes
}

type bucket struct {
	mu      sync.Mutex
	objects map[string]*object
	signer  *blob.URLSigner
}

// New returns an empty in-memory driver whose signed URLs point under
// baseURL. Wrap it with blob.NewBucket, or use OpenBucket("mem://").
func New(baseURL string) (driver.Bucket, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	s, err := blob.NewURLSigner(baseURL, secret)
	if err != nil {
		return nil, err
	}
	return &bucket{objects: map[string]*object{}, signer: s}, nil
}

// OpenBucket returns a new, empty in-memory bucket.
func OpenBucket() *blob.Bucket {
	d, err := New("/blob")
	if err != nil {
		panic(err) // the default base URL is valid
	}
	return blob.NewBucket(d)
}

func notFound(key string) error {
	return errcode.New(errcode.NotFound, "memblob: no object %q", key)
}

func (b *bucket) Attributes(ctx context.Context, key string, opts *driver.AttributesOptions) (*driver.Attributes, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[key]
	if !ok {
		return nil, notFound(key)
	}
	a := o.attrs
	a.Metadata = maps.Clone(o.attrs.Metadata)
	return &a, nil
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	o, ok := b.objects[key]
	b.mu.Unlock()
	if !ok {
		return nil, notFound(key)
	}
	data := o.data // never modified after commit
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	end := int64(len(data))
	if length >= 0 && offset+length < end {
		end = offset + length
	}
	return &reader{r: bytes.NewReader(data[offset:end]), attrs: &driver.ReaderAttributes{
		ContentType: o.attrs.ContentType,
		ModTime:     o.attrs.ModTime,
		Size:        o.attrs.Size,
		ETag:        o.attrs.ETag,
	}}, nil
}

type reader struct {
	r     *bytes.Reader
	attrs *driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.r.Read(p) }
func (r *reader) Close() error                         { return nil }
func (r *reader) Attributes() *driver.ReaderAttributes { return r.attrs }
func (r *reader) WriteTo(w io.Writer) (int64, error)   { return r.r.WriteTo(w) }
func (b *bucket) As(i any) bool                        { return false }
func (b *bucket) Close() error                         { return nil }
func (b *bucket) ErrorCode(err error) errcode.Code     { return errcode.Of(err) }
func (b *bucket) VerifySignedURL(method, u string, now time.Time) (string, string, error) {
	return b.signer.Verify(method, u, now)
}

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	return &writer{b: b, ctx: ctx, key: key, attrs: driver.Attributes{
		ContentType:        contentType,
		CacheControl:       opts.CacheControl,
		ContentDisposition: opts.ContentDisposition,
		Metadata:           maps.Clone(opts.Metadata),
	}}, nil
}

// writer holds the content in memory: this driver keeps everything in
// memory by design.
type writer struct {
	b     *bucket
	ctx   context.Context
	key   string
	buf   bytes.Buffer
	attrs driver.Attributes
	done  bool
}

func (w *writer) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *writer) Commit(sum string) error {
	if w.done {
		return errcode.New(errcode.FailedPrecond, "memblob: writer for %q already finished", w.key)
	}
	w.done = true
	if err := w.ctx.Err(); err != nil {
		return err
	}
	a := w.attrs
	a.Size = int64(w.buf.Len())
	a.SHA256 = sum
	a.ETag = `"` + sum[:32] + `"`
	a.ModTime = time.Now().UTC()
	w.b.mu.Lock()
	w.b.objects[w.key] = &object{data: w.buf.Bytes(), attrs: a}
	w.b.mu.Unlock()
	return nil
}

func (w *writer) Abort() error {
	w.done = true
	w.buf = bytes.Buffer{}
	return nil
}

func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	b.mu.Lock()
	keys := make([]string, 0, len(b.objects))
	for k := range b.objects {
		if strings.HasPrefix(k, opts.Prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	objs := make(map[string]*object, len(keys))
	for _, k := range keys {
		objs[k] = b.objects[k]
	}
	b.mu.Unlock()

	after := string(opts.PageToken)
	page := &driver.ListPage{}
	lastDir := ""
	for _, k := range keys {
		entry := &driver.ListObject{Key: k}
		if opts.Delimiter != "" {
			if i := strings.Index(k[len(opts.Prefix):], opts.Delimiter); i >= 0 {
				dir := k[:len(opts.Prefix)+i+len(opts.Delimiter)]
				if dir == lastDir {
					continue
				}
				lastDir = dir
				entry = &driver.ListObject{Key: dir, IsDir: true}
			}
		}
		if entry.Key <= after {
			continue
		}
		if !entry.IsDir {
			entry.Size = objs[k].attrs.Size
			entry.ModTime = objs[k].attrs.ModTime
		}
		if len(page.Objects) == opts.PageSize {
			page.NextPageToken = []byte(page.Objects[len(page.Objects)-1].Key)
			break
		}
		page.Objects = append(page.Objects, entry)
	}
	return page, nil
}

func (b *bucket) Copy(ctx context.Context, dst, src string, opts *driver.CopyOptions) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.objects[src]
	if !ok {
		return notFound(src)
	}
	c := &object{data: o.data, attrs: o.attrs}
	c.attrs.Metadata = maps.Clone(o.attrs.Metadata)
	c.attrs.ModTime = time.Now().UTC()
	b.objects[dst] = c
	return nil
}

func (b *bucket) Delete(ctx context.Context, key string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[key]; !ok {
		return notFound(key)
	}
	delete(b.objects, key)
	return nil
}

func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return b.signer.Sign(key, opts.Method, time.Now().Add(opts.Expiry), opts.ContentType), nil
}

var (
	_ driver.Bucket      = (*bucket)(nil)
	_ driver.URLVerifier = (*bucket)(nil)
)
