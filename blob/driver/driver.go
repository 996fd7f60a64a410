// Package driver defines the interface that blob drivers implement. The
// portable type blob.Bucket validates keys and options, applies defaults,
// checks for a closed bucket, computes the content SHA-256 and wraps errors
// with errcode codes before calling a driver, so drivers may assume that
// every key they receive has passed blob.ValidateKey and that every option
// struct is non-nil.
//
// Package blob/blobtest holds the conformance suite that every driver must
// pass; blob/memblob is the reference driver.
package driver

import (
	"context"
	"io"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Bucket is a flat namespace of objects addressed by key.
type Bucket interface {
	// Attributes returns the attributes of the current version of key, or an
	// error for which ErrorCode returns errcode.NotFound when there is none.
	Attributes(ctx context.Context, key string, opts *AttributesOptions) (*Attributes, error)

	// NewRangeReader returns a reader of length bytes of key's content from
	// offset. offset is ≥ 0; length < 0 means "to the end". An offset past
	// the end reads zero bytes; it is not an error. A missing key is
	// NotFound. The returned reader's Attributes describe the whole object.
	NewRangeReader(ctx context.Context, key string, offset, length int64, opts *ReaderOptions) (Reader, error)

	// NewTypedWriter returns a writer of key's new content. contentType is
	// never empty. Nothing is visible to readers until Commit returns nil;
	// after Abort, or a Commit that fails, the previous object (if any) is
	// unchanged and no partial data remains. The driver must not retain p
	// after Write returns. The writer must stream: memory use must not grow
	// with the size written.
	NewTypedWriter(ctx context.Context, key, contentType string, opts *WriterOptions) (Writer, error)

	// ListPaged returns up to opts.PageSize objects whose keys begin with
	// opts.Prefix, in ascending byte order of key. With a non-empty
	// opts.Delimiter, keys that contain the delimiter after the prefix are
	// rolled up into one entry per common prefix (IsDir true, Key ending in
	// the delimiter), placed in key order among the objects. The returned
	// NextPageToken is nil on the last page; passing it back as
	// opts.PageToken continues after the last entry returned.
	ListPaged(ctx context.Context, opts *ListOptions) (*ListPage, error)

	// Copy copies srcKey's content, content type and metadata (including the
	// stored SHA-256) to dstKey, replacing dstKey. A missing source is
	// NotFound. srcKey and dstKey differ.
	Copy(ctx context.Context, dstKey, srcKey string, opts *CopyOptions) error

	// Delete removes key. A missing key is NotFound.
	Delete(ctx context.Context, key string) error

	// SignedURL returns a URL through which the holder may perform
	// opts.Method on key until opts.Expiry has passed. Drivers that cannot
	// sign return an error for which ErrorCode is errcode.NotImplemented or
	// errcode.FailedPrecond (signing not configured).
	SignedURL(ctx context.Context, key string, opts *SignedURLOptions) (string, error)

	// ErrorCode maps an error returned by this driver to an errcode.Code.
	// Errors the driver does not recognise map to errcode.Unknown.
	ErrorCode(err error) errcode.Code

	// As lets callers reach driver-specific types (see each driver's
	// package documentation). It returns false when i is not supported.
	As(i any) bool

	// Close releases the driver's resources.
	Close() error
}

// Mover is implemented by drivers that can rename an object more cheaply
// than copy-then-delete. Move replaces dstKey with srcKey's object,
// including its metadata, and removes srcKey; a missing source is NotFound.
// A reader open on srcKey when Move happens may keep reading the old
// content.
type Mover interface {
	Move(ctx context.Context, dstKey, srcKey string) error
}

// Versioner is implemented by drivers whose store keeps earlier versions of
// an object. ListVersions returns every version of key, newest first; a key
// with no versions is NotFound. ReaderOptions.VersionID and
// AttributesOptions.VersionID select a version on such drivers; on other
// drivers a non-empty VersionID is rejected by blob with NotImplemented.
type Versioner interface {
	ListVersions(ctx context.Context, key string) ([]*Version, error)
}

// URLVerifier is implemented by drivers whose signed URLs are served by
// Landfall itself (file, mem). VerifySignedURL checks that u was returned by
// SignedURL for method and has not expired at now, and returns the key and
// content type it grants.
type URLVerifier interface {
	VerifySignedURL(method string, u string, now time.Time) (key, contentType string, err error)
}

// LocalPather is implemented by drivers whose objects are plain files on
// this machine. LocalPath returns the path of key's content; a missing key
// is NotFound; an object stored in a form other than its plain content (for
// example encrypted at rest) is FailedPrecond.
type LocalPather interface {
	LocalPath(key string) (string, error)
}

// Sweeper is implemented by drivers whose writes can outlive their
// process when it crashes (temporary files, open multipart uploads).
// SweepIncomplete removes those started before before and returns how
// many it removed. It never touches committed objects; it does break a
// write still in progress that started before before.
type Sweeper interface {
	SweepIncomplete(ctx context.Context, before time.Time) (int, error)
}

// Reader reads an object's content.
type Reader interface {
	io.ReadCloser
	// Attributes describes the whole object (not just the range read).
	Attributes() *ReaderAttributes
}

// Writer writes an object's content.
type Writer interface {
	io.Writer
	// Commit makes the content written so far visible under the key,
	// recording sha256 (the lower-case hex SHA-256 of everything written,
	// computed by blob) as an attribute. After Commit the Writer is done.
	Commit(sha256 string) error
	// Abort discards everything written; the key is left as it was. Abort
	// after Commit, or a second Abort, does nothing.
	Abort() error
}

// Flusher is implemented by Writers that can make their content durable
// before they know its SHA-256. blob calls Flush once, after the last
// Write and before Commit, on another goroutine while it finishes hashing
// (never at the same time as another method of the Writer). The content
// stays invisible until Commit.
type Flusher interface {
	Flush() error
}

// Attributes describes a stored object.
type Attributes struct {
	ContentType        string
	CacheControl       string
	ContentDisposition string
	// Metadata holds user metadata with lower-case keys; nil when empty.
	Metadata map[string]string
	ModTime  time.Time
	Size     int64
	// ETag is an opaque quoted token that changes when the content does.
	ETag string
	// SHA256 is the lower-case hex SHA-256 of the content, or empty when the
	// object was stored without one (for example a file copied into the
	// folder by hand).
	SHA256    string
	VersionID string // empty on drivers without versioning
}

// ReaderAttributes describes the object a Reader reads.
type ReaderAttributes struct {
	ContentType string
	ModTime     time.Time
	Size        int64 // of the whole object
	ETag        string
	VersionID   string
}

// AttributesOptions selects what Attributes describes.
type AttributesOptions struct {
	VersionID string // a specific version (Versioner drivers only)
}

// ReaderOptions controls reads.
type ReaderOptions struct {
	VersionID string // a specific version (Versioner drivers only)
}

// WriterOptions controls writes. blob fills in defaults before calling the
// driver.
type WriterOptions struct {
	CacheControl       string
	ContentDisposition string
	Metadata           map[string]string // lower-case keys
	// BufferSize is a hint for the driver's internal buffer (for S3, the
	// multipart part size). Zero means the driver's default.
	BufferSize int
}

// CopyOptions controls copies.
type CopyOptions struct{}

// ListOptions controls a page of a listing.
type ListOptions struct {
	Prefix    string
	Delimiter string
	PageSize  int // 1..1000, filled in by blob
	PageToken []byte
}

// ListObject is one entry of a listing.
type ListObject struct {
	Key     string
	ModTime time.Time // zero for IsDir entries
	Size    int64     // zero for IsDir entries
	IsDir   bool      // a common prefix rolled up by the delimiter
}

// ListPage is one page of a listing.
type ListPage struct {
	Objects       []*ListObject
	NextPageToken []byte
}

// SignedURLOptions controls signed URLs.
type SignedURLOptions struct {
	Expiry      time.Duration // > 0, filled in by blob
	Method      string        // GET, PUT or DELETE
	ContentType string        // PUT only: the content type the uploader must send
}

// Version describes one version of an object.
type Version struct {
	VersionID      string
	IsLatest       bool
	IsDeleteMarker bool
	Size           int64
	ModTime        time.Time
	ETag           string
}
