// Package blob is Landfall's portable bucket: a flat namespace of objects
// addressed by "/"-separated keys, over drivers chosen by URL.
//
//	b, err := blob.OpenBucket(ctx, "file:///var/lib/landfall/media")
//	b, err := blob.OpenBucket(ctx, "s3://media?endpoint=http://127.0.0.1:9000&region=us-east-1&path_style=true")
//	b, err := blob.OpenBucket(ctx, "mem://")
//
// Drivers register their URL scheme when their package is imported
// (blob/fileblob, blob/s3blob, blob/memblob; blob/allblob imports all
// three). Bucket validates keys and options, applies defaults, refuses use
// after Close, computes each object's SHA-256 while it streams in, and
// wraps every driver error once in an *errcode.Error, so callers test
// errors with errors.Is(err, errcode.NotFound) and never match text.
//
// Content always streams: NewWriter returns an io.WriteCloser whose object
// becomes visible only when Close returns nil, and NewReader/NewRangeReader
// return io.ReadClosers. Memory use does not grow with object size.
package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/landfall/landfall/blob/driver"
	"github.com/landfall/landfall/errcode"
)

// Attributes describes a stored object.
type Attributes = driver.Attributes

// ListObject is one entry of a listing.
type ListObject = driver.ListObject

// Version describes one version of an object (drivers with versioning).
type Version = driver.Version

// Limits.
const (
	DefaultPageSize      = 1000
	MaxPageSize          = 1000
	MaxMetadataBytes     = 2048 // keys plus values, as S3 allows
	DefaultSignedExpiry  = time.Hour
	MaxSignedExpiry      = 7 * 24 * time.Hour
	sniffLen             = 512
	defaultContentType   = "application/octet-stream"
	reservedMetadataHead = "landfall-"
)

// Bucket is a portable bucket. Its methods are safe for concurrent use.
type Bucket struct {
	d driver.Bucket

	mu     sync.RWMutex
	closed bool
	now    func() time.Time
}

// NewBucket wraps a driver. Most code calls OpenBucket instead.
func NewBucket(d driver.Bucket) *Bucket {
	return &Bucket{d: d, now: time.Now}
}

var (
	schemesMu sync.RWMutex
	schemes   = map[string]func(context.Context, *url.URL) (driver.Bucket, error){}
)

// Register makes a driver available to OpenBucket under scheme. Drivers
// call it from init; registering a scheme twice panics.
func Register(scheme string, open func(ctx context.Context, u *url.URL) (driver.Bucket, error)) {
	schemesMu.Lock()
	defer schemesMu.Unlock()
	if _, dup := schemes[scheme]; dup {
		panic("blob: scheme registered twice: " + scheme)
	}
	schemes[scheme] = open
}

// Schemes returns the registered URL schemes, sorted.
func Schemes() []string {
	schemesMu.RLock()
	defer schemesMu.RUnlock()
	out := make([]string, 0, len(schemes))
	for s := range schemes {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// OpenBucket opens the bucket that urlstr names. The scheme chooses the
// driver; each driver's package documents its URL's form and parameters.
// Unknown parameters are errors. An unknown scheme's error lists the
// registered ones.
func OpenBucket(ctx context.Context, urlstr string) (*Bucket, error) {
	u, err := url.Parse(urlstr)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "blob: bucket URL %q", urlstr)
	}
	schemesMu.RLock()
	open, ok := schemes[u.Scheme]
	schemesMu.RUnlock()
	if !ok {
		known := Schemes()
		list := strings.Join(known, ", ")
		if len(known) == 0 {
			list = "none registered; import github.com/landfall/landfall/blob/allblob"
		}
		return nil, errcode.New(errcode.Invalid, "blob: unknown URL scheme %q in %q (known: %s)", u.Scheme, redact(u), list)
	}
	d, err := open(ctx, u)
	if err != nil {
		if errcode.Of(err) == errcode.Unknown {
			return nil, errcode.Wrap(errcode.Invalid, err, "blob: open %q", redact(u))
		}
		return nil, err
	}
	return NewBucket(d), nil
}

// redact hides secrets that a bucket URL may carry.
func redact(u *url.URL) string {
	c := *u
	if c.User != nil {
		c.User = url.User(c.User.Username())
	}
	return c.String()
}

func (b *Bucket) check(op string) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errcode.New(errcode.FailedPrecond, "blob: %s on a closed bucket", op)
	}
	return nil
}

// wrap gives a driver error its code, once.
func (b *Bucket) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var ce *errcode.Error
	if errors.As(err, &ce) {
		return err
	}
	code := b.d.ErrorCode(err)
	switch {
	case errors.Is(err, context.Canceled):
		code = errcode.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = errcode.DeadlineExceeded
	case code == "":
		code = errcode.Unknown
	}
	err = pathless(err)
	if key == "" {
		return &errcode.Error{Code: code, Message: "blob: " + op, Err: err}
	}
	return &errcode.Error{Code: code, Message: fmt.Sprintf("blob: %s %q", op, key), Err: err}
}

// pathless hides the local paths of file-system errors in err's text (a
// full disk, a missing folder): messages name the key, which the portable
// type adds, not where a driver keeps it. errors.Is and errors.As still
// see the original.
func pathless(err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		return &pathlessError{err: err, text: pe.Op + ": " + pe.Err.Error()}
	case errors.As(err, &le):
		return &pathlessError{err: err, text: le.Op + ": " + le.Err.Error()}
	}
	return err
}

type pathlessError struct {
	err  error
	text string
}

func (e *pathlessError) Error() string { return e.text }
func (e *pathlessError) Unwrap() error { return e.err }

// As exposes driver-specific types; see each driver's documentation.
func (b *Bucket) As(i any) bool { return b.d.As(i) }

// Close releases the bucket. Calls after Close fail with FailedPrecondition.
func (b *Bucket) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return errcode.New(errcode.FailedPrecond, "blob: bucket closed twice")
	}
	b.closed = true
	b.mu.Unlock()
	return b.wrap("close", "", b.d.Close())
}

// AttributesOptions selects what Attributes describes.
type AttributesOptions = driver.AttributesOptions

// Attributes returns key's attributes. A missing key is errcode.NotFound.
func (b *Bucket) Attributes(ctx context.Context, key string) (*Attributes, error) {
	return b.AttributesWith(ctx, key, nil)
}

// AttributesWith is Attributes with options (a version on drivers with
// versioning).
func (b *Bucket) AttributesWith(ctx context.Context, key string, opts *AttributesOptions) (*Attributes, error) {
	if err := b.check("attributes"); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &AttributesOptions{}
	}
	if err := b.checkVersion(opts.VersionID); err != nil {
		return nil, err
	}
	a, err := b.d.Attributes(ctx, key, opts)
	if err != nil {
		return nil, b.wrap("attributes", key, err)
	}
	return a, nil
}

func (b *Bucket) checkVersion(v string) error {
	if v == "" {
		return nil
	}
	if _, ok := b.d.(driver.Versioner); !ok {
		return errcode.New(errcode.NotImplemented, "blob: this bucket's driver keeps no versions (asked for version %q)", v)
	}
	return nil
}

// Exists reports whether key exists.
func (b *Bucket) Exists(ctx context.Context, key string) (bool, error) {
	_, err := b.Attributes(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, errcode.NotFound):
		return false, nil
	}
	return false, err
}

// ReaderOptions controls reads.
type ReaderOptions = driver.ReaderOptions

// Reader reads an object. It is an io.ReadCloser; Close it.
type Reader struct {
	b      *Bucket
	key    string
	r      driver.Reader
	attrs  *driver.ReaderAttributes
	closed bool
}

// NewReader reads all of key.
func (b *Bucket) NewReader(ctx context.Context, key string, opts *ReaderOptions) (*Reader, error) {
	return b.NewRangeReader(ctx, key, 0, -1, opts)
}

// NewRangeReader reads length bytes of key from offset (length < 0: to the
// end). An offset past the end reads nothing. A missing key is NotFound.
func (b *Bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *ReaderOptions) (*Reader, error) {
	if err := b.check("read"); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, errcode.New(errcode.Invalid, "blob: read %q: negative offset %d", key, offset)
	}
	if opts == nil {
		opts = &ReaderOptions{}
	}
	if err := b.checkVersion(opts.VersionID); err != nil {
		return nil, err
	}
	r, err := b.d.NewRangeReader(ctx, key, offset, length, opts)
	if err != nil {
		return nil, b.wrap("read", key, err)
	}
	return &Reader{b: b, key: key, r: r, attrs: r.Attributes()}, nil
}

// Read reads content.
func (r *Reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil && err != io.EOF {
		err = r.b.wrap("read", r.key, err)
	}
	return n, err
}

// Close releases the reader.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return r.b.wrap("close reader", r.key, r.r.Close())
}

// Size is the size of the whole object, not of the range read.
func (r *Reader) Size() int64 { return r.attrs.Size }

// ContentType is the object's content type.
func (r *Reader) ContentType() string { return r.attrs.ContentType }

// ModTime is the object's modification time.
func (r *Reader) ModTime() time.Time { return r.attrs.ModTime }

// ETag is the object's ETag.
func (r *Reader) ETag() string { return r.attrs.ETag }

// VersionID is the version read, on drivers with versioning.
func (r *Reader) VersionID() string { return r.attrs.VersionID }

// ReadAll returns all of key's content. Use it for small objects only
// (artefacts, JSON); stream media with NewReader.
func (b *Bucket) ReadAll(ctx context.Context, key string) ([]byte, error) {
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Download streams key's content to w.
func (b *Bucket) Download(ctx context.Context, key string, w io.Writer, opts *ReaderOptions) error {
	r, err := b.NewReader(ctx, key, opts)
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := io.Copy(w, r); err != nil {
		return err
	}
	return r.Close()
}

// WriterOptions controls writes.
type WriterOptions struct {
	// ContentType of the object; when empty it is sniffed from the first
	// 512 bytes (net/http.DetectContentType).
	ContentType        string
	CacheControl       string
	ContentDisposition string
	// Metadata is user metadata. Keys are case-insensitive (stored in lower
	// case), made of letters, digits, "-" and "_", and may not start with
	// "landfall-"; values are UTF-8. Keys and values together are at most
	// MaxMetadataBytes.
	Metadata map[string]string
	// ContentSHA256, when set (lower-case or upper-case hex), is the SHA-256
	// the content must have: Close fails with InvalidArgument and nothing is
	// stored when it differs.
	ContentSHA256 string
	// BufferSize is a hint for the driver's buffer (S3: the part size).
	BufferSize int
}

// Writer writes an object. It is an io.WriteCloser: the object becomes
// visible only when Close returns nil. Abort, or cancelling the context
// passed to NewWriter before Close, discards everything written. Always
// end a Writer with Close or Abort: it may hold a goroutine until then.
type Writer struct {
	b           *Bucket
	ctx         context.Context
	key         string
	contentType string
	dopts       *driver.WriterOptions
	want        string

	w    driver.Writer // nil until the content type is known
	buf  []byte        // content held back for sniffing
	hs   *hasher
	n    int64
	sum  string
	done bool
	err  error
}

// NewWriter starts writing key.
func (b *Bucket) NewWriter(ctx context.Context, key string, opts *WriterOptions) (*Writer, error) {
	if err := b.check("write"); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &WriterOptions{}
	}
	md, err := normalizeMetadata(key, opts.Metadata)
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(opts.ContentSHA256)
	if want != "" {
		if raw, err := hex.DecodeString(want); err != nil || len(raw) != sha256.Size {
			return nil, errcode.New(errcode.Invalid, "blob: write %q: ContentSHA256 %q is not 64 hex digits", key, opts.ContentSHA256)
		}
	}
	if opts.BufferSize < 0 {
		return nil, errcode.New(errcode.Invalid, "blob: write %q: negative BufferSize %d", key, opts.BufferSize)
	}
	if opts.ContentType != "" {
		if _, _, err := mime.ParseMediaType(opts.ContentType); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "blob: write %q: ContentType %q", key, opts.ContentType)
		}
	}
	w := &Writer{
		b:           b,
		ctx:         ctx,
		key:         key,
		contentType: opts.ContentType,
		want:        want,
		hs:          newHasher(),
		dopts: &driver.WriterOptions{
			CacheControl:       opts.CacheControl,
			ContentDisposition: opts.ContentDisposition,
			Metadata:           md,
			BufferSize:         opts.BufferSize,
		},
	}
	if w.contentType != "" {
		if err := w.open(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

func (w *Writer) open() error {
	dw, err := w.b.d.NewTypedWriter(w.ctx, w.key, w.contentType, w.dopts)
	if err != nil {
		return w.b.wrap("write", w.key, err)
	}
	w.w = dw
	return nil
}

// Write writes content.
func (w *Writer) Write(p []byte) (int, error) {
	n, wait, err := w.write(p)
	wait()
	return n, err
}

// write is Write that may leave p being hashed: wait, which must be
// called before p changes (and before the next write's wait), returns
// once it is hashed.
func (w *Writer) write(p []byte) (int, func(), error) {
	if w.done {
		return 0, noWait, errcode.New(errcode.FailedPrecond, "blob: write %q after Close or Abort", w.key)
	}
	if w.err != nil {
		return 0, noWait, w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.fail(w.b.wrap("write", w.key, err))
		return 0, noWait, w.err
	}
	w.n += int64(len(p))
	if w.w != nil {
		// Hash p while the driver writes it: no copy, and the two
		// overlap.
		wait := w.hs.WriteShared(p)
		n, err := w.w.Write(p)
		if err != nil {
			wait()
			w.fail(w.b.wrap("write", w.key, err))
			return n, noWait, w.err
		}
		return n, wait, nil
	}
	// The content type is still to be sniffed: buffer up to sniffLen.
	w.hs.Write(p)
	w.buf = append(w.buf, p...)
	if len(w.buf) < sniffLen {
		return len(p), noWait, nil
	}
	if err := w.flushSniffed(); err != nil {
		return 0, noWait, err
	}
	return len(p), noWait, nil
}

func noWait() {}

func (w *Writer) flushSniffed() error {
	w.contentType = http.DetectContentType(w.buf)
	if err := w.open(); err != nil {
		w.fail(err)
		return err
	}
	buf := w.buf
	w.buf = nil
	if _, err := w.w.Write(buf); err != nil {
		w.fail(w.b.wrap("write", w.key, err))
		return w.err
	}
	return nil
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
	w.hs.Stop()
	if w.w != nil {
		w.w.Abort()
	}
}

// readFromBuf is the size of ReadFrom's chunks.
const readFromBuf = 1 << 20

// ReadFrom copies r into the object in large chunks; io.Copy uses it. It
// reads into two buffers in turn, so the next chunk is read while the
// last one is still being hashed: reading, writing and hashing all
// overlap, and memory stays at two chunks.
func (w *Writer) ReadFrom(r io.Reader) (total int64, err error) {
	var bufs [2][]byte
	waits := [2]func(){noWait, noWait}
	defer func() {
		// Every chunk is hashed before ReadFrom returns: the hasher's
		// acknowledgements stay in step with later writes.
		waits[0]()
		waits[1]()
	}()
	for i := 0; ; i ^= 1 {
		waits[i]()
		waits[i] = noWait
		if bufs[i] == nil {
			bufs[i] = make([]byte, readFromBuf)
		}
		n, rerr := io.ReadFull(r, bufs[i])
		if n > 0 {
			_, wait, err := w.write(bufs[i][:n])
			waits[i] = wait
			if err != nil {
				return total, err
			}
			total += int64(n)
		}
		switch rerr {
		case nil:
		case io.EOF, io.ErrUnexpectedEOF:
			return total, nil
		default:
			return total, rerr
		}
	}
}

// Close commits the object. It fails, storing nothing, when a Write failed,
// the context was cancelled, or the content's SHA-256 differs from
// WriterOptions.ContentSHA256.
func (w *Writer) Close() error {
	if w.done {
		return errcode.New(errcode.FailedPrecond, "blob: write %q closed twice", w.key)
	}
	defer func() { w.done = true }()
	if w.err != nil {
		return w.err
	}
	if err := w.ctx.Err(); err != nil {
		w.fail(w.b.wrap("write", w.key, err))
		return w.err
	}
	if w.w == nil {
		if err := w.flushSniffed(); err != nil {
			return err
		}
	}
	// Finish the hash while the driver makes the content durable.
	if f, ok := w.w.(driver.Flusher); ok {
		flushed := make(chan error, 1)
		go func() { flushed <- f.Flush() }()
		w.sum = w.hs.Sum()
		if err := <-flushed; err != nil {
			w.fail(w.b.wrap("write", w.key, err))
			return w.err
		}
	} else {
		w.sum = w.hs.Sum()
	}
	if w.want != "" && w.want != w.sum {
		w.fail(errcode.New(errcode.Invalid, "blob: write %q: content SHA-256 is %s, want %s; nothing stored", w.key, w.sum, w.want))
		return w.err
	}
	if err := w.w.Commit(w.sum); err != nil {
		w.err = w.b.wrap("write", w.key, err)
		return w.err
	}
	return nil
}

// Abort discards everything written; the key is left as it was.
func (w *Writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.hs.Stop()
	if w.w != nil {
		return w.b.wrap("abort write", w.key, w.w.Abort())
	}
	return nil
}

// Size is the number of bytes written so far.
func (w *Writer) Size() int64 { return w.n }

// SHA256 is the lower-case hex SHA-256 of the content, after a successful
// Close.
func (w *Writer) SHA256() string { return w.sum }

// ContentType is the content type stored (given or sniffed), once known.
func (w *Writer) ContentType() string { return w.contentType }

// WriteAll stores p under key.
func (b *Bucket) WriteAll(ctx context.Context, key string, p []byte, opts *WriterOptions) error {
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		return err
	}
	if _, err := w.Write(p); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}

// Upload streams r into key. On a read error nothing is stored.
func (b *Bucket) Upload(ctx context.Context, key string, r io.Reader, opts *WriterOptions) error {
	w, err := b.NewWriter(ctx, key, opts)
	if err != nil {
		return err
	}
	if _, err := w.ReadFrom(r); err != nil {
		w.Abort()
		if errcode.Of(err) == errcode.Unknown {
			return errcode.Wrap(errcode.Unavailable, err, "blob: upload %q: reading the source", key)
		}
		return err
	}
	return w.Close()
}

func normalizeMetadata(key string, md map[string]string) (map[string]string, error) {
	if len(md) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(md))
	total := 0
	for k, v := range md {
		lk := strings.ToLower(k)
		if lk == "" {
			return nil, errcode.New(errcode.Invalid, "blob: write %q: empty metadata key", key)
		}
		for i := 0; i < len(lk); i++ {
			c := lk[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata key %q: character %q at offset %d (allowed: letters, digits, - and _)", key, k, c, i)
			}
		}
		if strings.HasPrefix(lk, reservedMetadataHead) {
			return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata key %q uses the reserved prefix %q", key, k, reservedMetadataHead)
		}
		if _, dup := out[lk]; dup {
			return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata key %q given twice (keys are case-insensitive)", key, k)
		}
		if !utf8.ValidString(v) {
			return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata %q: value is not valid UTF-8", key, k)
		}
		for _, r := range v {
			if r < 0x20 && r != '\t' || r == 0x7f {
				return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata %q: control character %U in value", key, k, r)
			}
		}
		total += len(lk) + len(v)
		out[lk] = v
	}
	if total > MaxMetadataBytes {
		return nil, errcode.New(errcode.Invalid, "blob: write %q: metadata is %d bytes; the limit is %d", key, total, MaxMetadataBytes)
	}
	return out, nil
}

// ListOptions controls a listing.
type ListOptions struct {
	// Prefix limits the listing to keys that start with it.
	Prefix string
	// Delimiter, when set (normally "/"), rolls up keys that contain it
	// after the prefix into one IsDir entry per common prefix.
	Delimiter string
}

func (b *Bucket) listOpts(opts *ListOptions) (*driver.ListOptions, error) {
	if opts == nil {
		opts = &ListOptions{}
	}
	if err := validatePrefix(opts.Prefix); err != nil {
		return nil, err
	}
	if opts.Delimiter != "" && opts.Delimiter != "/" {
		return nil, errcode.New(errcode.Invalid, "blob: list: delimiter %q: only \"/\" is supported", opts.Delimiter)
	}
	return &driver.ListOptions{Prefix: opts.Prefix, Delimiter: opts.Delimiter}, nil
}

// ListPage returns one page of at most pageSize entries (0: the default,
// 1000) in key order, and the token for the next page, nil on the last.
// Pass nil as pageToken for the first page.
func (b *Bucket) ListPage(ctx context.Context, pageToken []byte, pageSize int, opts *ListOptions) ([]*ListObject, []byte, error) {
	if err := b.check("list"); err != nil {
		return nil, nil, err
	}
	dopts, err := b.listOpts(opts)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case pageSize == 0:
		pageSize = DefaultPageSize
	case pageSize < 0 || pageSize > MaxPageSize:
		return nil, nil, errcode.New(errcode.Invalid, "blob: list: page size %d is outside 1..%d", pageSize, MaxPageSize)
	}
	dopts.PageSize = pageSize
	dopts.PageToken = pageToken
	p, err := b.d.ListPaged(ctx, dopts)
	if err != nil {
		return nil, nil, b.wrap("list prefix", dopts.Prefix, err)
	}
	return p.Objects, p.NextPageToken, nil
}

// ListIterator walks a listing page by page.
type ListIterator struct {
	b     *Bucket
	opts  *ListOptions
	page  []*ListObject
	token []byte
	more  bool
	err   error
}

// List returns an iterator over the keys that opts selects, in key order.
func (b *Bucket) List(opts *ListOptions) *ListIterator {
	return &ListIterator{b: b, opts: opts, more: true}
}

// Next returns the next entry, or io.EOF after the last.
func (it *ListIterator) Next(ctx context.Context) (*ListObject, error) {
	for len(it.page) == 0 {
		if it.err != nil {
			return nil, it.err
		}
		if !it.more {
			return nil, io.EOF
		}
		page, next, err := it.b.ListPage(ctx, it.token, 0, it.opts)
		if err != nil {
			it.err = err
			return nil, err
		}
		it.page, it.token, it.more = page, next, next != nil
	}
	o := it.page[0]
	it.page = it.page[1:]
	return o, nil
}

// CopyOptions controls copies.
type CopyOptions = driver.CopyOptions

// Copy copies src's content and attributes to dst, replacing dst.
func (b *Bucket) Copy(ctx context.Context, dst, src string, opts *CopyOptions) error {
	if err := b.check("copy"); err != nil {
		return err
	}
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	if src == dst {
		return errcode.New(errcode.Invalid, "blob: copy %q onto itself", src)
	}
	if opts == nil {
		opts = &CopyOptions{}
	}
	return b.wrap("copy", src+" -> "+dst, b.d.Copy(ctx, dst, src, opts))
}

// Move renames src to dst, replacing dst: one rename on drivers that can
// (file), copy-then-delete elsewhere.
func (b *Bucket) Move(ctx context.Context, dst, src string) error {
	if err := b.check("move"); err != nil {
		return err
	}
	if err := ValidateKey(src); err != nil {
		return err
	}
	if err := ValidateKey(dst); err != nil {
		return err
	}
	if src == dst {
		return errcode.New(errcode.Invalid, "blob: move %q onto itself", src)
	}
	op := "move"
	if m, ok := b.d.(driver.Mover); ok {
		return b.wrap(op, src+" -> "+dst, m.Move(ctx, dst, src))
	}
	if err := b.d.Copy(ctx, dst, src, &CopyOptions{}); err != nil {
		return b.wrap(op, src+" -> "+dst, err)
	}
	return b.wrap(op, src+" -> "+dst, b.d.Delete(ctx, src))
}

// Delete removes key. A missing key is NotFound.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := b.check("delete"); err != nil {
		return err
	}
	if err := ValidateKey(key); err != nil {
		return err
	}
	return b.wrap("delete", key, b.d.Delete(ctx, key))
}

// SignedURLOptions controls signed URLs.
type SignedURLOptions struct {
	// Expiry is how long the URL stays valid: 0 means DefaultSignedExpiry;
	// at most MaxSignedExpiry.
	Expiry time.Duration
	// Method is GET (the default), PUT or DELETE.
	Method string
	// ContentType, for PUT, is the content type the upload must carry.
	ContentType string
}

// SignedURL returns a URL through which its holder may perform
// opts.Method on key until the expiry. For s3:// buckets it is an S3
// presigned URL; for file:// and mem:// it is a Landfall URL that the HTTP
// API checks with VerifySignedURL.
func (b *Bucket) SignedURL(ctx context.Context, key string, opts *SignedURLOptions) (string, error) {
	if err := b.check("signed URL"); err != nil {
		return "", err
	}
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	if opts == nil {
		opts = &SignedURLOptions{}
	}
	d := &driver.SignedURLOptions{Expiry: opts.Expiry, Method: strings.ToUpper(opts.Method), ContentType: opts.ContentType}
	if d.Expiry == 0 {
		d.Expiry = DefaultSignedExpiry
	}
	if d.Expiry < 0 || d.Expiry > MaxSignedExpiry {
		return "", errcode.New(errcode.Invalid, "blob: signed URL for %q: expiry %v is outside (0, %v]", key, opts.Expiry, MaxSignedExpiry)
	}
	if d.Method == "" {
		d.Method = http.MethodGet
	}
	switch d.Method {
	case http.MethodGet, http.MethodDelete:
		if d.ContentType != "" {
			return "", errcode.New(errcode.Invalid, "blob: signed URL for %q: ContentType applies to PUT only, not %s", key, d.Method)
		}
	case http.MethodPut:
	default:
		return "", errcode.New(errcode.Invalid, "blob: signed URL for %q: method %q is not GET, PUT or DELETE", key, opts.Method)
	}
	s, err := b.d.SignedURL(ctx, key, d)
	if err != nil {
		return "", b.wrap("signed URL", key, err)
	}
	return s, nil
}

// SignedRequest is what a verified signed URL grants.
type SignedRequest struct {
	Key         string
	Method      string
	ContentType string // for PUT: the content type the upload must carry
}

// VerifySignedURL checks a URL that SignedURL returned, as the HTTP API
// receives it (the request's method and its URL, absolute or path plus
// query), and returns what it grants. Errors are errcode.Unauthenticated
// (bad signature, expired), errcode.PermissionDenied (another method) or
// errcode.NotImplemented (drivers whose URLs their store checks, s3).
func (b *Bucket) VerifySignedURL(method string, u *url.URL) (*SignedRequest, error) {
	if err := b.check("verify signed URL"); err != nil {
		return nil, err
	}
	v, ok := b.d.(driver.URLVerifier)
	if !ok {
		return nil, errcode.New(errcode.NotImplemented, "blob: this bucket's signed URLs are checked by its store, not by Landfall")
	}
	key, ct, err := v.VerifySignedURL(strings.ToUpper(method), u.String(), b.now())
	if err != nil {
		return nil, b.wrap("verify signed URL", "", err)
	}
	return &SignedRequest{Key: key, Method: strings.ToUpper(method), ContentType: ct}, nil
}

// VerifySignedURL checks u against secret and the base URL that the
// signing bucket was configured with (for a server that holds the secret
// but not the bucket). See URLSigner.Verify.
func VerifySignedURL(secret []byte, baseURL, method string, u *url.URL, now time.Time) (*SignedRequest, error) {
	s, err := NewURLSigner(baseURL, secret)
	if err != nil {
		return nil, err
	}
	key, ct, err := s.Verify(strings.ToUpper(method), u.String(), now)
	if err != nil {
		return nil, err
	}
	return &SignedRequest{Key: key, Method: strings.ToUpper(method), ContentType: ct}, nil
}

// ListVersions returns every version of key, newest first, on drivers with
// versioning (s3 with a versioned bucket); NotImplemented elsewhere.
func (b *Bucket) ListVersions(ctx context.Context, key string) ([]*Version, error) {
	if err := b.check("list versions"); err != nil {
		return nil, err
	}
	if err := ValidateKey(key); err != nil {
		return nil, err
	}
	v, ok := b.d.(driver.Versioner)
	if !ok {
		return nil, errcode.New(errcode.NotImplemented, "blob: list versions of %q: this bucket's driver keeps no versions", key)
	}
	vs, err := v.ListVersions(ctx, key)
	if err != nil {
		return nil, b.wrap("list versions", key, err)
	}
	return vs, nil
}

// LocalPath returns the path of key's content on this machine, for tools
// that need a file (ffmpeg, tesseract). Only the file driver without
// encryption has one; elsewhere it is FailedPrecondition (encrypted) or
// NotImplemented, and the caller should download to a temporary file.
func (b *Bucket) LocalPath(key string) (string, error) {
	if err := b.check("local path"); err != nil {
		return "", err
	}
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	lp, ok := b.d.(driver.LocalPather)
	if !ok {
		return "", errcode.New(errcode.NotImplemented, "blob: local path of %q: objects of this bucket are not local files", key)
	}
	p, err := lp.LocalPath(key)
	if err != nil {
		return "", b.wrap("local path", key, err)
	}
	return p, nil
}

// LocalFile returns a path on this machine holding key's content, for
// tools that need a file (ffmpeg, tesseract): the object's own file where
// the driver has one (file driver, not encrypted), otherwise a private
// temporary file in dir (os.TempDir() when empty) that the content is
// streamed into. Call release when done; it removes a temporary copy and
// does nothing for the object's own file. The extension of key is kept,
// since some tools go by it.
func (b *Bucket) LocalFile(ctx context.Context, key, dir string) (path string, release func() error, err error) {
	p, err := b.LocalPath(key)
	if err == nil {
		return p, func() error { return nil }, nil
	}
	if c := errcode.Of(err); c != errcode.NotImplemented && c != errcode.FailedPrecond {
		return "", nil, err
	}
	r, err := b.NewReader(ctx, key, nil)
	if err != nil {
		return "", nil, err
	}
	defer r.Close()
	f, err := os.CreateTemp(dir, "landfall-*"+filepath.Ext(key))
	if err != nil {
		return "", nil, errcode.Wrap(errcode.Unavailable, err, "blob: local copy of %q", key)
	}
	release = func() error { return os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		release()
		if errcode.Of(err) == errcode.Unknown {
			err = errcode.Wrap(errcode.Unavailable, err, "blob: local copy of %q", key)
		}
		return "", nil, err
	}
	if err := f.Close(); err != nil {
		release()
		return "", nil, errcode.Wrap(errcode.Unavailable, err, "blob: local copy of %q", key)
	}
	return f.Name(), release, nil
}

// SweepIncomplete removes what crashed writes left behind (the file
// driver's temporary files, S3's open multipart uploads) that started more
// than olderThan ago, and returns how many it removed. Choose olderThan
// longer than the longest upload: a write still in progress that started
// earlier fails at Close. The memory driver has nothing to sweep and
// returns 0.
func (b *Bucket) SweepIncomplete(ctx context.Context, olderThan time.Duration) (int, error) {
	if err := b.check("sweep"); err != nil {
		return 0, err
	}
	if olderThan < 0 {
		return 0, errcode.New(errcode.Invalid, "blob: sweep: negative age %v", olderThan)
	}
	s, ok := b.d.(driver.Sweeper)
	if !ok {
		return 0, nil
	}
	n, err := s.SweepIncomplete(ctx, b.now().Add(-olderThan))
	return n, b.wrap("sweep incomplete writes", "", err)
}

// SetClock replaces the clock used to check signed URLs (tests).
func (b *Bucket) SetClock(now func() time.Time) { b.now = now }

var _ io.ReaderFrom = (*Writer)(nil)
