// Package fileblob is the blob driver over a local folder: Landfall's
// embedded default.
//
// URL: file:///var/lib/landfall/media[?params]. Parameters:
//
//	create_dir=false           fail when the folder is missing (default: create it, mode 0750)
//	encryption_key_file=PATH   encrypt objects at rest with the AES-256 key in PATH
//	                           (32 raw bytes, 64 hex digits or base64)
//	base_url=/blob             where signed URLs point (the HTTP API's blob route)
//	signing_key_file=PATH      secret for signed URLs (default: ROOT/.landfall-signing-key,
//	                           created with 32 random bytes on first use)
//
// An object with key "a/b.mp4" is the file ROOT/a/b.mp4. Writes go to a
// temporary file in the same folder, are fsynced, renamed into place and
// the folder fsynced, so a reader sees the old object or the whole new
// one, never a part. Attributes (content type, user metadata, SHA-256,
// ETag) live in a sidecar, ROOT/a/.landfall-meta/b.mp4.json, which records
// the size, modification time and inode of the file it describes: a file
// replaced by hand, or a crash between the two renames, leaves a sidecar
// that no longer matches, and the object is then described from the file
// alone (type application/octet-stream, no SHA-256). Names starting with
// ".landfall" are the driver's own and never listed; so are files put in the
// folder by hand under names that are not valid keys (see
// blob.ValidateKey: for example names in Unicode NFD), which no key could
// read.
//
// Encryption at rest (format "LFBLOBE1"): a 48-byte header (magic, chunk
// size, 32-byte random salt) then the content in 64 KiB chunks, each sealed
// with AES-256-GCM under a per-file key derived with HKDF-SHA256 from the
// configured key and the salt. A chunk's nonce is its index and a flag
// marking the last chunk, and the header is authenticated with every
// chunk, so reordered, truncated, extended or altered files fail to read.
// Sidecars are not encrypted. Encrypted objects have no LocalPath.
//
// As: *fileblob.Info.
//
// Gaps: no versions. A key cannot name both an object and a folder ("a"
// and "a/b"), which S3 allows: writing one when the other exists fails
// with FailedPrecondition.
package fileblob

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/driver"
	"github.com/landfall/landfall/errcode"
)

// Scheme is the URL scheme fileblob registers.
const Scheme = "file"

const (
	metaDir    = ".landfall-meta"
	tmpPrefix  = ".landfall-tmp-"
	signingKey = ".landfall-signing-key"
	dirPerm    = 0o750
	filePerm   = 0o640
	bufSize    = 1 << 20
)

func init() {
	blob.Register(Scheme, openURL)
}

// Options configure a bucket.
type Options struct {
	// CreateDir creates the root folder when it is missing.
	CreateDir bool
	// EncryptionKey, when set (32 bytes), encrypts objects at rest.
	EncryptionKey []byte
	// BaseURL is where signed URLs point; default "/blob".
	BaseURL string
	// SigningKey is the secret for signed URLs; default: the contents of
	// ROOT/.landfall-signing-key, created on first use.
	SigningKey []byte
}

// Info is what As reveals.
type Info struct {
	Root      string
	Encrypted bool
}

func openURL(ctx context.Context, u *url.URL) (driver.Bucket, error) {
	params, err := blob.URLParams(u, "create_dir", "encryption_key_file", "base_url", "signing_key_file")
	if err != nil {
		return nil, err
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, errcode.New(errcode.Invalid, "fileblob: URL %q names host %q; use file:///absolute/path", u.String(), u.Host)
	}
	if u.Path == "" || !strings.HasPrefix(u.Path, "/") {
		return nil, errcode.New(errcode.Invalid, "fileblob: URL %q has no absolute path; use file:///absolute/path", u.String())
	}
	opts := &Options{CreateDir: true, BaseURL: params["base_url"]}
	switch v := params["create_dir"]; v {
	case "", "true", "1":
	case "false", "0":
		opts.CreateDir = false
	default:
		return nil, errcode.New(errcode.Invalid, "fileblob: URL parameter create_dir=%q: want true or false", v)
	}
	if f := params["encryption_key_file"]; f != "" {
		key, err := ReadKeyFile(f)
		if err != nil {
			return nil, err
		}
		opts.EncryptionKey = key
	}
	if f := params["signing_key_file"]; f != "" {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "fileblob: signing_key_file")
		}
		opts.SigningKey = []byte(strings.TrimSpace(string(raw)))
	}
	return New(filepath.FromSlash(u.Path), opts)
}

type bucket struct {
	root   string
	crypt  *cipherKey // nil: plain
	signer *blob.URLSigner
	locks  [64]sync.Mutex
}

// New returns a driver over the folder root. Most code calls
// blob.OpenBucket("file:///…") instead.
func New(root string, opts *Options) (driver.Bucket, error) {
	if opts == nil {
		opts = &Options{}
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "fileblob: root %q", root)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.CreateDir:
		if err := os.MkdirAll(abs, dirPerm); err != nil {
			return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: create root %q", abs)
		}
	case errors.Is(err, fs.ErrNotExist):
		return nil, errcode.New(errcode.NotFound, "fileblob: root folder %q does not exist (set create_dir=true to create it)", abs)
	case err != nil:
		return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: root %q", abs)
	case !fi.IsDir():
		return nil, errcode.New(errcode.Invalid, "fileblob: root %q is not a folder", abs)
	}
	b := &bucket{root: abs}
	if opts.EncryptionKey != nil {
		if b.crypt, err = newCipherKey(opts.EncryptionKey); err != nil {
			return nil, err
		}
	}
	secret := opts.SigningKey
	if secret == nil {
		if secret, err = loadOrCreateSecret(filepath.Join(abs, signingKey)); err != nil {
			return nil, err
		}
	}
	base := opts.BaseURL
	if base == "" {
		base = "/blob"
	}
	if b.signer, err = blob.NewURLSigner(base, secret); err != nil {
		return nil, err
	}
	return b, nil
}

// ReadKeyFile reads a 32-byte AES-256 key stored raw, as 64 hex digits or
// as base64.
func ReadKeyFile(name string) ([]byte, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "fileblob: encryption_key_file")
	}
	if len(raw) == 32 {
		return raw, nil
	}
	s := strings.TrimSpace(string(raw))
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := decodeBase64(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errcode.New(errcode.Invalid, "fileblob: encryption_key_file %q does not hold a 32-byte key (raw, 64 hex digits or base64)", name)
}

func loadOrCreateSecret(name string) ([]byte, error) {
	raw, err := os.ReadFile(name)
	if err == nil {
		if len(raw) < 16 {
			return nil, errcode.New(errcode.Invalid, "fileblob: signing key %q is shorter than 16 bytes", name)
		}
		return raw, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: signing key")
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) { // another process made it first
		return loadOrCreateSecret(name)
	}
	if err != nil {
		return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: create signing key")
	}
	if _, err := f.Write(secret); err != nil {
		f.Close()
		return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: write signing key")
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, errcode.Wrap(errcode.Unavailable, err, "fileblob: write signing key")
	}
	return secret, f.Close()
}

// path maps a key to its file, refusing keys that would leave the root.
func (b *bucket) path(key string) (string, error) {
	if err := blob.ValidateKey(key); err != nil {
		return "", err
	}
	p := filepath.Join(b.root, filepath.FromSlash(key))
	if !strings.HasPrefix(p, b.root+string(filepath.Separator)) {
		return "", errcode.New(errcode.Invalid, "fileblob: key %q leaves the root folder", key)
	}
	return p, nil
}

func sidecarPath(p string) string {
	return filepath.Join(filepath.Dir(p), metaDir, filepath.Base(p)+".json")
}

func (b *bucket) stripe(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(b.locks)))
}

// lock returns the mutex that serialises installs of key.
func (b *bucket) lock(key string) *sync.Mutex { return &b.locks[b.stripe(key)] }

// lockPair locks the stripes of two keys in a fixed order.
func (b *bucket) lockPair(k1, k2 string) func() {
	i, j := b.stripe(k1), b.stripe(k2)
	if i == j {
		b.locks[i].Lock()
		return b.locks[i].Unlock
	}
	if i > j {
		i, j = j, i
	}
	b.locks[i].Lock()
	b.locks[j].Lock()
	return func() { b.locks[j].Unlock(); b.locks[i].Unlock() }
}

// sidecar is the JSON a metadata sidecar holds.
type sidecar struct {
	Version            int               `json:"v"`
	ContentType        string            `json:"content_type"`
	CacheControl       string            `json:"cache_control,omitempty"`
	ContentDisposition string            `json:"content_disposition,omitempty"`
	Metadata           map[string]string `json:"metadata,omitempty"`
	SHA256             string            `json:"sha256,omitempty"`
	ETag               string            `json:"etag"`
	Size               int64             `json:"size"` // of the content
	// Identity of the file described.
	FileSize int64  `json:"file_size"`
	MtimeNs  int64  `json:"mtime_ns"`
	Inode    uint64 `json:"inode"`
}

// object is a stored object's file and what is known about it.
type object struct {
	path  string
	fi    fs.FileInfo
	attrs driver.Attributes
	side  *sidecar // nil when missing or stale
}

func (b *bucket) stat(key string) (*object, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, errcode.New(errcode.NotFound, "fileblob: no object %q", key)
		}
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errcode.New(errcode.NotFound, "fileblob: no object %q (%s is a folder)", key, p)
	}
	o := &object{path: p, fi: fi}
	if raw, err := os.ReadFile(sidecarPath(p)); err == nil {
		var s sidecar
		if json.Unmarshal(raw, &s) == nil && s.Version == 1 && s.FileSize == fi.Size() &&
			s.MtimeNs == fi.ModTime().UnixNano() && s.Inode == inode(fi) {
			o.side = &s
		}
	}
	if o.side != nil {
		s := o.side
		o.attrs = driver.Attributes{
			ContentType: s.ContentType, CacheControl: s.CacheControl, ContentDisposition: s.ContentDisposition,
			Metadata: s.Metadata, SHA256: s.SHA256, ETag: s.ETag, Size: s.Size, ModTime: fi.ModTime().UTC(),
		}
		return o, nil
	}
	// No sidecar that matches: describe the object from the file alone.
	size := fi.Size()
	if b.crypt != nil {
		if size, err = plainSize(size, key); err != nil {
			return nil, err
		}
	}
	ct := mime.TypeByExtension(path.Ext(key))
	if ct == "" {
		ct = "application/octet-stream"
	}
	o.attrs = driver.Attributes{
		ContentType: ct,
		Size:        size,
		ModTime:     fi.ModTime().UTC(),
		ETag:        fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()),
	}
	return o, nil
}

func (b *bucket) Attributes(ctx context.Context, key string, opts *driver.AttributesOptions) (*driver.Attributes, error) {
	o, err := b.stat(key)
	if err != nil {
		return nil, err
	}
	return &o.attrs, nil
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var o *object
	var f *os.File
	for attempt := 0; ; attempt++ {
		var err error
		if o, err = b.stat(key); err != nil {
			return nil, err
		}
		if f, err = os.Open(o.path); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, errcode.New(errcode.NotFound, "fileblob: no object %q", key)
			}
			return nil, err
		}
		// Describe the file actually opened: it may have been replaced
		// since the stat.
		fi, err := f.Stat()
		if err == nil && inode(fi) == inode(o.fi) && fi.Size() == o.fi.Size() {
			break
		}
		f.Close()
		if attempt == 4 {
			return nil, errcode.New(errcode.Unavailable, "fileblob: %q was replaced %d times while being opened", key, attempt+1)
		}
	}
	ra := &driver.ReaderAttributes{ContentType: o.attrs.ContentType, ModTime: o.attrs.ModTime, Size: o.attrs.Size, ETag: o.attrs.ETag}
	if offset > o.attrs.Size {
		offset = o.attrs.Size
	}
	remain := o.attrs.Size - offset
	if length >= 0 && length < remain {
		remain = length
	}
	if b.crypt != nil {
		r, err := b.crypt.newReader(f, o.fi.Size(), key, offset, remain)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &reader{r: r, c: f, attrs: ra}, nil
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &reader{r: io.LimitReader(f, remain), c: f, attrs: ra}, nil
}

type reader struct {
	r     io.Reader
	c     io.Closer
	attrs *driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.r.Read(p) }
func (r *reader) Close() error                         { return r.c.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return r.attrs }

// createTemp makes a temporary file in dir, creating dir when needed (a
// concurrent Delete may remove an empty folder at any time).
func createTemp(dir string) (*os.File, error) {
	var err error
	for range 5 {
		if err = os.MkdirAll(dir, dirPerm); err != nil {
			return nil, err
		}
		var f *os.File
		f, err = os.CreateTemp(dir, tmpPrefix+"*")
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return nil, err
}

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	p, err := b.path(key)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return nil, errcode.New(errcode.FailedPrecond, "fileblob: cannot write %q: objects exist under %q/", key, key)
	}
	f, err := createTemp(filepath.Dir(p))
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return nil, errcode.New(errcode.FailedPrecond, "fileblob: cannot write %q: a parent of it is an object, not a folder", key)
		}
		return nil, err
	}
	w := &writer{b: b, ctx: ctx, key: key, path: p, f: f, side: sidecar{
		Version: 1, ContentType: contentType, CacheControl: opts.CacheControl,
		ContentDisposition: opts.ContentDisposition, Metadata: opts.Metadata,
	}}
	size := opts.BufferSize
	if size <= 0 {
		size = bufSize
	}
	w.bw = bufio.NewWriterSize(f, size)
	w.out = w.bw
	if b.crypt != nil {
		ew, err := b.crypt.newWriter(w.bw)
		if err != nil {
			w.Abort()
			return nil, err
		}
		w.enc = ew
		w.out = ew
	}
	return w, nil
}

type writer struct {
	b       *bucket
	ctx     context.Context
	key     string
	path    string
	f       *os.File
	bw      *bufio.Writer
	enc     *encWriter
	out     io.Writer
	n       int64
	side    sidecar
	flushed bool
	done    bool
	// Early write-back: the file's data is handed to the disk a window
	// at a time while it is written (wbStarted: up to where write-back
	// was started; wbDone: up to where it was waited for), so the fsync
	// at commit finds little left to write and the copy and the disk
	// work at the same time.
	wbCheck, wbStarted, wbDone int64
}

// writebackWindow is how much written data is handed to the disk at once;
// at most about two windows are in flight.
const writebackWindow = 8 << 20

// writeback starts the write-back of what was written since the last
// window and waits for the window before it.
func (w *writer) writeback() {
	if w.n-w.wbCheck < writebackWindow {
		return
	}
	w.wbCheck = w.n
	off, err := w.f.Seek(0, io.SeekCurrent)
	if err != nil || off-w.wbStarted < writebackWindow {
		return
	}
	startWriteback(w.f, w.wbStarted, off-w.wbStarted)
	if w.wbStarted > w.wbDone {
		waitWriteback(w.f, w.wbDone, w.wbStarted-w.wbDone)
		w.wbDone = w.wbStarted
	}
	w.wbStarted = off
}

func (w *writer) Write(p []byte) (int, error) {
	if w.enc == nil && len(p) >= w.bw.Size() {
		// Large writes skip the buffer (bufio copies a write that only
		// fills it).
		if err := w.bw.Flush(); err != nil {
			return 0, err
		}
		n, err := w.f.Write(p)
		w.n += int64(n)
		w.writeback()
		return n, err
	}
	n, err := w.out.Write(p)
	w.n += int64(n)
	w.writeback()
	return n, err
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return ignoreNotExist(os.Remove(w.f.Name()))
}

func (w *writer) Commit(sum string) error {
	if w.done {
		return errcode.New(errcode.FailedPrecond, "fileblob: writer for %q already finished", w.key)
	}
	err := w.commit(sum)
	if err != nil {
		w.Abort()
	}
	w.done = true
	return err
}

// Flush writes what is buffered (and the last encrypted chunk) and fsyncs
// the temporary file; the object stays invisible until Commit.
func (w *writer) Flush() error {
	if w.flushed {
		return nil
	}
	w.flushed = true
	if w.enc != nil {
		if err := w.enc.Close(); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	return w.f.Sync()
}

func (w *writer) commit(sum string) error {
	if err := w.Flush(); err != nil {
		return err
	}
	fi, err := w.f.Stat()
	if err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return err
	}
	w.side.SHA256 = sum
	w.side.ETag = `"` + sum[:32] + `"`
	w.side.Size = w.n
	w.side.FileSize = fi.Size()
	w.side.MtimeNs = fi.ModTime().UnixNano()
	w.side.Inode = inode(fi)
	if err := w.ctx.Err(); err != nil {
		return err
	}
	m := w.b.lock(w.key)
	m.Lock()
	defer m.Unlock()
	return w.b.install(w.key, w.path, w.f.Name(), &w.side)
}

// install puts a finished temporary file tmp (and its sidecar s) in place
// of p. The caller holds key's lock.
func (b *bucket) install(key, p, tmp string, s *sidecar) error {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		return errcode.New(errcode.FailedPrecond, "fileblob: cannot write %q: objects exist under %q/", key, key)
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return err
	}
	sp := sidecarPath(p)
	sf, err := createTemp(filepath.Dir(sp))
	if err != nil {
		return err
	}
	if _, err = sf.Write(raw); err == nil {
		err = sf.Sync()
	}
	if cerr := sf.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// The sidecar first: a crash before the data rename leaves a
		// sidecar that does not match the old file, and so is ignored.
		err = os.Rename(sf.Name(), sp)
	}
	if err != nil {
		os.Remove(sf.Name())
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		return err
	}
	return syncDirs(filepath.Dir(sp), filepath.Dir(p))
}

func syncDirs(dirs ...string) error {
	for _, d := range dirs {
		f, err := os.Open(d)
		if errors.Is(err, fs.ErrNotExist) {
			continue // pruned since: nothing left in it to make durable
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func ignoreNotExist(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (b *bucket) Copy(ctx context.Context, dst, src string, opts *driver.CopyOptions) error {
	o, err := b.stat(src)
	if err != nil {
		return err
	}
	dp, err := b.path(dst)
	if err != nil {
		return err
	}
	in, err := os.Open(o.path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := createTemp(filepath.Dir(dp))
	if err != nil {
		if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
			return errcode.New(errcode.FailedPrecond, "fileblob: cannot write %q: a parent of it is an object, not a folder", dst)
		}
		return err
	}
	fail := func(err error) error {
		out.Close()
		os.Remove(out.Name())
		return err
	}
	// Encrypted files are copied as they are: the per-file salt in the
	// header, not the key, binds their encryption.
	if _, err := io.Copy(out, in); err != nil {
		return fail(err)
	}
	if err := out.Sync(); err != nil {
		return fail(err)
	}
	fi, err := out.Stat()
	if err != nil {
		return fail(err)
	}
	if err := out.Close(); err != nil {
		return fail(err)
	}
	s := sidecar{
		Version: 1, ContentType: o.attrs.ContentType, CacheControl: o.attrs.CacheControl,
		ContentDisposition: o.attrs.ContentDisposition, Metadata: o.attrs.Metadata, SHA256: o.attrs.SHA256,
		ETag: o.attrs.ETag, Size: o.attrs.Size, FileSize: fi.Size(), MtimeNs: fi.ModTime().UnixNano(), Inode: inode(fi),
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	m := b.lock(dst)
	m.Lock()
	defer m.Unlock()
	if err := b.install(dst, dp, out.Name(), &s); err != nil {
		os.Remove(out.Name())
		return err
	}
	return nil
}

func (b *bucket) Move(ctx context.Context, dst, src string) error {
	unlock := b.lockPair(src, dst)
	defer unlock()
	o, err := b.stat(src)
	if err != nil {
		return err
	}
	dp, err := b.path(dst)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(dp); err == nil && fi.IsDir() {
		return errcode.New(errcode.FailedPrecond, "fileblob: cannot move to %q: objects exist under %q/", dst, dst)
	}
	for range 5 {
		if err = os.MkdirAll(filepath.Join(filepath.Dir(dp), metaDir), dirPerm); err != nil {
			if errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist) {
				return errcode.New(errcode.FailedPrecond, "fileblob: cannot move to %q: a parent of it is an object, not a folder", dst)
			}
			return err
		}
		if o.side != nil {
			err = os.Rename(sidecarPath(o.path), sidecarPath(dp))
		} else {
			err = ignoreNotExist(os.Remove(sidecarPath(dp)))
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return err
	}
	err = os.Rename(o.path, dp)
	if errors.Is(err, fs.ErrNotExist) {
		// A concurrent Delete pruned the (empty) destination folder.
		if err = os.MkdirAll(filepath.Join(filepath.Dir(dp), metaDir), dirPerm); err == nil {
			err = os.Rename(o.path, dp)
		}
	}
	if err != nil {
		return err
	}
	if err := syncDirs(filepath.Dir(dp), filepath.Join(filepath.Dir(dp), metaDir), filepath.Dir(o.path)); err != nil {
		return err
	}
	b.prune(filepath.Dir(o.path))
	return nil
}

func (b *bucket) Delete(ctx context.Context, key string) error {
	m := b.lock(key)
	m.Lock()
	defer m.Unlock()
	o, err := b.stat(key)
	if err != nil {
		return err
	}
	if err := os.Remove(o.path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errcode.New(errcode.NotFound, "fileblob: no object %q", key)
		}
		return err
	}
	if err := ignoreNotExist(os.Remove(sidecarPath(o.path))); err != nil {
		return err
	}
	if err := syncDirs(filepath.Dir(o.path)); err != nil {
		return err
	}
	b.prune(filepath.Dir(o.path))
	return nil
}

// prune removes dir and its parents below the root while they hold
// nothing but an empty metadata folder, so that listings stay cheap and a
// key can later name an object where a folder was.
func (b *bucket) prune(dir string) {
	for dir != b.root && strings.HasPrefix(dir, b.root+string(filepath.Separator)) {
		os.Remove(filepath.Join(dir, metaDir)) // fails unless empty
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// SweepIncomplete removes temporary files, and sidecars whose object is
// gone, last modified before before.
func (b *bucket) SweepIncomplete(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := filepath.WalkDir(b.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if e.IsDir() {
			return nil
		}
		name := e.Name()
		stale := func() bool {
			fi, err := e.Info()
			return err == nil && fi.ModTime().Before(before)
		}
		switch {
		case strings.HasPrefix(name, tmpPrefix):
			if stale() && os.Remove(p) == nil {
				n++
			}
		case filepath.Base(filepath.Dir(p)) == metaDir && strings.HasSuffix(name, ".json"):
			data := filepath.Join(filepath.Dir(filepath.Dir(p)), strings.TrimSuffix(name, ".json"))
			if _, err := os.Stat(data); errors.Is(err, fs.ErrNotExist) && stale() && os.Remove(p) == nil {
				n++
			}
		}
		return nil
	})
	return n, err
}

func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	return b.signer.Sign(key, opts.Method, time.Now().Add(opts.Expiry), opts.ContentType), nil
}

func (b *bucket) VerifySignedURL(method, u string, now time.Time) (string, string, error) {
	return b.signer.Verify(method, u, now)
}

func (b *bucket) LocalPath(key string) (string, error) {
	if b.crypt != nil {
		return "", errcode.New(errcode.FailedPrecond, "fileblob: %q is encrypted at rest; it has no plain local file (download it instead)", key)
	}
	o, err := b.stat(key)
	if err != nil {
		return "", err
	}
	return o.path, nil
}

func (b *bucket) As(i any) bool {
	if p, ok := i.(*Info); ok {
		*p = Info{Root: b.root, Encrypted: b.crypt != nil}
		return true
	}
	return false
}

func (b *bucket) Close() error { return nil }

func (b *bucket) ErrorCode(err error) errcode.Code {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errcode.NotFound
	case errors.Is(err, fs.ErrExist):
		return errcode.AlreadyExists
	case errors.Is(err, fs.ErrPermission):
		return errcode.PermissionDenied
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EIO):
		return errcode.Unavailable
	}
	return errcode.Of(err)
}

// ListPaged walks the folders under the prefix in key order. It reads only
// the folder that the prefix names and, without a delimiter, the folders
// below it; with a delimiter it reads one folder (and looks into
// subfolders only far enough to see that they hold an object).
func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	dirKey, partial := "", opts.Prefix
	if i := strings.LastIndexByte(opts.Prefix, '/'); i >= 0 {
		dirKey, partial = opts.Prefix[:i+1], opts.Prefix[i+1:]
	}
	l := &lister{b: b, ctx: ctx, after: string(opts.PageToken), size: opts.PageSize, delim: opts.Delimiter != ""}
	start := filepath.Join(b.root, filepath.FromSlash(dirKey))
	err := l.walk(start, dirKey, partial)
	if err != nil && err != errPageFull {
		return nil, err
	}
	page := &driver.ListPage{Objects: l.out}
	if l.more {
		page.NextPageToken = []byte(l.out[len(l.out)-1].Key)
	}
	return page, nil
}

var errPageFull = errors.New("page full")

type lister struct {
	b     *bucket
	ctx   context.Context
	after string
	size  int
	delim bool
	out   []*driver.ListObject
	more  bool
}

type dirEntry struct {
	name  string
	isDir bool
	sort  string
}

// readDir returns dir's entries that may be part of a key, in key order
// (a folder sorts as its name plus "/").
func readDir(dir string) ([]dirEntry, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return nil, nil
		}
		return nil, err
	}
	out := make([]dirEntry, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, blob.ReservedPrefix) {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(filepath.Join(dir, name)); err == nil {
				isDir = fi.IsDir()
			}
		}
		s := name
		if isDir {
			s += "/"
		}
		out = append(out, dirEntry{name: name, isDir: isDir, sort: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].sort < out[j].sort })
	return out, nil
}

func (l *lister) emit(o *driver.ListObject) error {
	if len(l.out) == l.size {
		l.more = true
		return errPageFull
	}
	l.out = append(l.out, o)
	return nil
}

// walk lists dir, whose entries have keys keyDir+name; only names that
// start with partial are considered.
func (l *lister) walk(dir, keyDir, partial string) error {
	if err := l.ctx.Err(); err != nil {
		return err
	}
	ents, err := readDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !strings.HasPrefix(e.name, partial) {
			continue
		}
		key := keyDir + e.name
		if blob.ValidateKey(key) != nil {
			continue // a file put here by hand that no key can name
		}
		if !e.isDir {
			if key <= l.after {
				continue
			}
			fi, err := os.Stat(filepath.Join(dir, e.name))
			if err != nil {
				continue // removed since the folder was read
			}
			size := fi.Size()
			if l.b.crypt != nil {
				if size, err = plainSize(size, key); err != nil {
					continue
				}
			}
			if err := l.emit(&driver.ListObject{Key: key, Size: size, ModTime: fi.ModTime().UTC()}); err != nil {
				return err
			}
			continue
		}
		sub := key + "/"
		// Every key below sub is ≤ after: skip the whole folder.
		if sub <= l.after && !strings.HasPrefix(l.after, sub) {
			continue
		}
		if l.delim {
			if sub <= l.after {
				continue
			}
			if ok, err := hasObject(filepath.Join(dir, e.name)); err != nil || !ok {
				continue
			}
			if err := l.emit(&driver.ListObject{Key: sub, IsDir: true}); err != nil {
				return err
			}
			continue
		}
		if err := l.walk(filepath.Join(dir, e.name), sub, ""); err != nil {
			return err
		}
	}
	return nil
}

// hasObject reports whether a folder holds an object at any depth.
func hasObject(dir string) (bool, error) {
	ents, err := readDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range ents {
		if !e.isDir {
			return true, nil
		}
		if ok, _ := hasObject(filepath.Join(dir, e.name)); ok {
			return true, nil
		}
	}
	return false, nil
}

var (
	_ driver.Bucket      = (*bucket)(nil)
	_ driver.Mover       = (*bucket)(nil)
	_ driver.URLVerifier = (*bucket)(nil)
	_ driver.LocalPather = (*bucket)(nil)
	_ driver.Sweeper     = (*bucket)(nil)
	_ driver.Flusher     = (*writer)(nil)
)
