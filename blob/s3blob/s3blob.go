// Package s3blob is the blob driver for Amazon S3 and S3-compatible stores
// (MinIO, Ceph RGW, versitygw, Garage…).
//
// URL: s3://BUCKET[?params]. Parameters:
//
//	endpoint=http://127.0.0.1:9000   an S3-compatible store (default: AWS)
//	region=us-east-1                 (default: from the AWS configuration, else us-east-1)
//	path_style=true                  path-style addressing (most S3-compatible stores need it)
//	sse=AES256|aws:kms|aws:kms:dsse  server-side encryption for every object written or copied
//	kms_key_id=ARN                   the KMS key for sse=aws:kms
//	part_size=8388608                multipart part size in bytes (≥ 5 MiB; default 8 MiB)
//	profile=NAME                     a profile of the shared AWS configuration
//
// Credentials come from the AWS default chain (environment, shared
// configuration, web identity, instance role), never from the URL.
//
// Writes buffer one part (part_size bytes): content that fits is stored with
// one PutObject; larger content streams as a multipart upload through
// feature/s3/manager (at most 5 parts in flight), completed on Close and
// aborted on Abort, on a failed write or on cancellation, so nothing
// partial remains. The SHA-256 is stored as user metadata
// (x-amz-meta-landfall-sha256) for single-part objects; multipart uploads
// cannot set metadata after their content, so theirs is stored as the
// object tag landfall-sha256, set right after the upload completes (if
// tagging fails the new object is deleted and Close fails). Non-ASCII
// metadata values are stored as RFC 2047 encoded words and decoded on read.
//
// Versioning: on a bucket with versioning enabled, Attributes and readers
// report version ids, ReaderOptions.VersionID reads an earlier version and
// blob.Bucket.ListVersions lists them.
//
// Signed URLs are S3 presigned URLs, checked by S3. Presigned PUTs do not
// carry the sse setting: such uploads get the bucket's default encryption.
//
// As: **s3.Client.
//
// Gaps: Delete and Move are not atomic with respect to a concurrent
// writer of the same key (S3 has no rename).
package s3blob

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/driver"
	"github.com/landfall/landfall/errcode"
)

// Scheme is the URL scheme s3blob registers.
const Scheme = "s3"

// Limits and defaults.
const (
	DefaultPartSize = 8 << 20
	MinPartSize     = manager.MinUploadPartSize
	// MaxCopySize is the largest object one CopyObject copies; larger ones
	// are copied part by part.
	MaxCopySize  = 5 << 30
	copyPartSize = 512 << 20
	shaKey       = "landfall-sha256" // metadata key and tag key
)

func init() {
	blob.Register(Scheme, openURL)
}

// Options configure a bucket.
type Options struct {
	// SSE is the server-side encryption for objects written or copied:
	// "", "AES256", "aws:kms" or "aws:kms:dsse".
	SSE string
	// KMSKeyID is the KMS key for SSE "aws:kms".
	KMSKeyID string
	// PartSize is the multipart part size; 0 means DefaultPartSize.
	PartSize int64
	// CopyThreshold is the size above which Copy copies part by part; 0
	// means MaxCopySize. Tests lower it.
	CopyThreshold int64
}

func openURL(ctx context.Context, u *url.URL) (driver.Bucket, error) {
	params, err := blob.URLParams(u, "endpoint", "region", "path_style", "sse", "kms_key_id", "part_size", "profile")
	if err != nil {
		return nil, err
	}
	if u.Host == "" {
		return nil, errcode.New(errcode.Invalid, "s3blob: URL %q has no bucket name; use s3://BUCKET", u.String())
	}
	if u.Path != "" && u.Path != "/" {
		return nil, errcode.New(errcode.Invalid, "s3blob: URL %q has a path; use s3://BUCKET?…", u.String())
	}
	var loadOpts []func(*config.LoadOptions) error
	if r := params["region"]; r != "" {
		loadOpts = append(loadOpts, config.WithRegion(r))
	}
	if p := params["profile"]; p != "" {
		loadOpts = append(loadOpts, config.WithSharedConfigProfile(p))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "s3blob: AWS configuration")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	pathStyle := false
	switch v := params["path_style"]; v {
	case "", "false", "0":
	case "true", "1":
		pathStyle = true
	default:
		return nil, errcode.New(errcode.Invalid, "s3blob: URL parameter path_style=%q: want true or false", v)
	}
	endpoint := params["endpoint"]
	if endpoint != "" {
		eu, err := url.Parse(endpoint)
		if err != nil || (eu.Scheme != "http" && eu.Scheme != "https") || eu.Host == "" {
			return nil, errcode.New(errcode.Invalid, "s3blob: URL parameter endpoint=%q: want http(s)://host[:port]", endpoint)
		}
	}
	opts := &Options{SSE: params["sse"], KMSKeyID: params["kms_key_id"]}
	if v := params["part_size"]; v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, errcode.New(errcode.Invalid, "s3blob: URL parameter part_size=%q: not a number of bytes", v)
		}
		opts.PartSize = n
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Objects read by range or uploaded in parts carry no whole-object
		// checksum to validate; Landfall keeps its own SHA-256.
		o.DisableLogOutputChecksumValidationSkipped = true
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(client, u.Host, opts)
}

type bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
	opts    Options
	up      *manager.Uploader
}

// New returns a driver over bucket name reached through client. Most code
// calls blob.OpenBucket("s3://…") instead.
func New(client *s3.Client, name string, opts *Options) (driver.Bucket, error) {
	if opts == nil {
		opts = &Options{}
	}
	o := *opts
	switch types.ServerSideEncryption(o.SSE) {
	case "", types.ServerSideEncryptionAes256, types.ServerSideEncryptionAwsKms, types.ServerSideEncryptionAwsKmsDsse:
	default:
		return nil, errcode.New(errcode.Invalid, "s3blob: sse=%q: want AES256, aws:kms or aws:kms:dsse", o.SSE)
	}
	if o.KMSKeyID != "" && !strings.HasPrefix(o.SSE, "aws:kms") {
		return nil, errcode.New(errcode.Invalid, "s3blob: kms_key_id needs sse=aws:kms (sse is %q)", o.SSE)
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		return nil, errcode.New(errcode.Invalid, "s3blob: part size %d is below S3's minimum of %d", o.PartSize, MinPartSize)
	}
	if o.CopyThreshold == 0 {
		o.CopyThreshold = MaxCopySize
	}
	b := &bucket{client: client, presign: s3.NewPresignClient(client), name: name, opts: o}
	b.up = manager.NewUploader(client, func(u *manager.Uploader) {
		u.PartSize = o.PartSize
		u.Concurrency = 5
	})
	return b, nil
}

func (b *bucket) sse() types.ServerSideEncryption { return types.ServerSideEncryption(b.opts.SSE) }

func (b *bucket) kms() *string {
	if b.opts.KMSKeyID == "" {
		return nil
	}
	return aws.String(b.opts.KMSKeyID)
}

func notFound(key string) error {
	return errcode.New(errcode.NotFound, "s3blob: no object %q", key)
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

// encodeMetadata makes metadata values safe for HTTP headers.
func encodeMetadata(md map[string]string) map[string]string {
	if len(md) == 0 {
		return nil
	}
	out := make(map[string]string, len(md))
	for k, v := range md {
		out[k] = encodeValue(v)
	}
	return out
}

func encodeValue(v string) string {
	plain := !strings.HasPrefix(v, "=?")
	for i := 0; i < len(v) && plain; i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			plain = false
		}
	}
	if plain && strings.TrimSpace(v) == v {
		return v
	}
	// An RFC 2047 encoded word, written out by hand: mime.BEncoding leaves
	// ASCII unchanged, and these values must survive HTTP header trimming.
	return "=?UTF-8?B?" + base64.StdEncoding.EncodeToString([]byte(v)) + "?="
}

func decodeMetadata(md map[string]string) (map[string]string, string) {
	var out map[string]string
	sha := ""
	dec := new(mime.WordDecoder)
	for k, v := range md {
		k = strings.ToLower(k)
		if k == shaKey {
			sha = v
			continue
		}
		if strings.HasPrefix(v, "=?") {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out, sha
}

func (b *bucket) Attributes(ctx context.Context, key string, opts *driver.AttributesOptions) (*driver.Attributes, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key, VersionId: optString(opts.VersionID)})
	if err != nil {
		return nil, b.keyErr(key, err)
	}
	md, sha := decodeMetadata(out.Metadata)
	if sha == "" {
		if sha, err = b.shaTag(ctx, key, opts.VersionID); err != nil {
			return nil, err
		}
	}
	return &driver.Attributes{
		ContentType:        aws.ToString(out.ContentType),
		CacheControl:       aws.ToString(out.CacheControl),
		ContentDisposition: aws.ToString(out.ContentDisposition),
		Metadata:           md,
		ModTime:            aws.ToTime(out.LastModified).UTC(),
		Size:               aws.ToInt64(out.ContentLength),
		ETag:               aws.ToString(out.ETag),
		SHA256:             sha,
		VersionID:          aws.ToString(out.VersionId),
	}, nil
}

func (b *bucket) shaTag(ctx context.Context, key, version string) (string, error) {
	out, err := b.client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b.name, Key: &key, VersionId: optString(version)})
	if err != nil {
		return "", b.keyErr(key, err)
	}
	for _, t := range out.TagSet {
		if aws.ToString(t.Key) == shaKey {
			return aws.ToString(t.Value), nil
		}
	}
	return "", nil
}

// keyErr turns "no such key" answers into NotFound errors naming the key.
func (b *bucket) keyErr(key string, err error) error {
	if b.ErrorCode(err) == errcode.NotFound {
		return errcode.Wrap(errcode.NotFound, err, "s3blob: no object %q in bucket %q", key, b.name)
	}
	return err
}

func (b *bucket) NewRangeReader(ctx context.Context, key string, offset, length int64, opts *driver.ReaderOptions) (driver.Reader, error) {
	in := &s3.GetObjectInput{Bucket: &b.name, Key: &key, VersionId: optString(opts.VersionID)}
	if length == 0 {
		return b.emptyReader(ctx, key, opts.VersionID)
	}
	if offset > 0 || length > 0 {
		r := fmt.Sprintf("bytes=%d-", offset)
		if length > 0 {
			r += strconv.FormatInt(offset+length-1, 10)
		}
		in.Range = &r
	}
	out, err := b.client.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		if errors.As(err, &re) && re.HTTPStatusCode() == http.StatusRequestedRangeNotSatisfiable {
			return b.emptyReader(ctx, key, opts.VersionID)
		}
		return nil, b.keyErr(key, err)
	}
	size := aws.ToInt64(out.ContentLength)
	if cr := aws.ToString(out.ContentRange); cr != "" {
		if i := strings.LastIndexByte(cr, '/'); i >= 0 {
			if n, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
				size = n
			}
		}
	}
	return &reader{body: out.Body, attrs: &driver.ReaderAttributes{
		ContentType: aws.ToString(out.ContentType),
		ModTime:     aws.ToTime(out.LastModified).UTC(),
		Size:        size,
		ETag:        aws.ToString(out.ETag),
		VersionID:   aws.ToString(out.VersionId),
	}}, nil
}

// emptyReader serves a range that holds no bytes of an existing object.
func (b *bucket) emptyReader(ctx context.Context, key, version string) (driver.Reader, error) {
	out, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key, VersionId: optString(version)})
	if err != nil {
		return nil, b.keyErr(key, err)
	}
	return &reader{body: io.NopCloser(bytes.NewReader(nil)), attrs: &driver.ReaderAttributes{
		ContentType: aws.ToString(out.ContentType),
		ModTime:     aws.ToTime(out.LastModified).UTC(),
		Size:        aws.ToInt64(out.ContentLength),
		ETag:        aws.ToString(out.ETag),
		VersionID:   aws.ToString(out.VersionId),
	}}, nil
}

type reader struct {
	body  io.ReadCloser
	attrs *driver.ReaderAttributes
}

func (r *reader) Read(p []byte) (int, error)           { return r.body.Read(p) }
func (r *reader) Close() error                         { return r.body.Close() }
func (r *reader) Attributes() *driver.ReaderAttributes { return r.attrs }

func (b *bucket) NewTypedWriter(ctx context.Context, key, contentType string, opts *driver.WriterOptions) (driver.Writer, error) {
	part := b.opts.PartSize
	if opts.BufferSize > 0 {
		part = max(int64(opts.BufferSize), MinPartSize)
	}
	return &writer{
		b: b, ctx: ctx, key: key, part: int(part), contentType: contentType, opts: opts,
		buf: make([]byte, 0, min(part, 1<<20)),
	}, nil
}

// writer buffers one part; past that it streams a multipart upload through
// a pipe.
type writer struct {
	b           *bucket
	ctx         context.Context
	key         string
	part        int
	contentType string
	opts        *driver.WriterOptions

	buf []byte

	pw     *io.PipeWriter
	cancel context.CancelFunc
	result chan uploadResult
	done   bool
}

type uploadResult struct {
	out *manager.UploadOutput
	err error
}

var errAborted = errors.New("s3blob: write aborted")

func (w *writer) Write(p []byte) (int, error) {
	if w.pw != nil {
		return w.pw.Write(p)
	}
	if len(w.buf)+len(p) <= w.part {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	w.startMultipart()
	return w.pw.Write(p)
}

func (w *writer) startMultipart() {
	pr, pw := io.Pipe()
	w.pw = pw
	// The upload runs on a context that a cancelled caller does not cancel,
	// so that the manager can still abort the multipart upload; the caller's
	// cancellation reaches it through the pipe.
	ctx, cancel := context.WithCancel(context.WithoutCancel(w.ctx))
	w.cancel = cancel
	stop := context.AfterFunc(w.ctx, func() { pw.CloseWithError(w.ctx.Err()) })
	w.result = make(chan uploadResult, 1)
	in := &s3.PutObjectInput{
		Bucket:               &w.b.name,
		Key:                  &w.key,
		Body:                 io.MultiReader(bytes.NewReader(w.buf), pr),
		ContentType:          aws.String(w.contentType),
		CacheControl:         optString(w.opts.CacheControl),
		ContentDisposition:   optString(w.opts.ContentDisposition),
		Metadata:             encodeMetadata(w.opts.Metadata),
		ServerSideEncryption: w.b.sse(),
		SSEKMSKeyId:          w.b.kms(),
	}
	w.buf = nil
	go func() {
		defer stop()
		out, err := w.b.up.Upload(ctx, in, func(u *manager.Uploader) { u.PartSize = int64(w.part) })
		// Unblock a Write waiting on an upload that ended early.
		if err != nil {
			pr.CloseWithError(err)
		} else {
			pr.CloseWithError(errAborted)
		}
		w.result <- uploadResult{out, err}
	}()
}

func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.buf = nil
	if w.pw != nil {
		w.pw.CloseWithError(errAborted)
		<-w.result
		w.cancel()
	}
	return nil
}

func (w *writer) Commit(sum string) error {
	if w.done {
		return errcode.New(errcode.FailedPrecond, "s3blob: writer for %q already finished", w.key)
	}
	w.done = true
	if err := w.ctx.Err(); err != nil {
		if w.pw != nil {
			w.pw.CloseWithError(err)
			<-w.result
			w.cancel()
		}
		return err
	}
	if w.pw == nil {
		md := encodeMetadata(w.opts.Metadata)
		if md == nil {
			md = map[string]string{}
		}
		md[shaKey] = sum
		_, err := w.b.client.PutObject(w.ctx, &s3.PutObjectInput{
			Bucket:               &w.b.name,
			Key:                  &w.key,
			Body:                 bytes.NewReader(w.buf),
			ContentLength:        aws.Int64(int64(len(w.buf))),
			ContentType:          aws.String(w.contentType),
			CacheControl:         optString(w.opts.CacheControl),
			ContentDisposition:   optString(w.opts.ContentDisposition),
			Metadata:             md,
			ServerSideEncryption: w.b.sse(),
			SSEKMSKeyId:          w.b.kms(),
		})
		w.buf = nil
		return err
	}
	w.pw.Close()
	res := <-w.result
	defer w.cancel()
	if res.err != nil {
		return res.err
	}
	ctx := context.WithoutCancel(w.ctx)
	_, err := w.b.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
		Bucket:    &w.b.name,
		Key:       &w.key,
		VersionId: res.out.VersionID,
		Tagging:   &types.Tagging{TagSet: []types.Tag{{Key: aws.String(shaKey), Value: aws.String(sum)}}},
	})
	if err != nil {
		// Take the untagged object back out, so that a failed Close leaves
		// nothing new behind.
		w.b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &w.b.name, Key: &w.key, VersionId: res.out.VersionID})
		return fmt.Errorf("s3blob: tag %q with its SHA-256: %w", w.key, err)
	}
	return nil
}

func (b *bucket) ListPaged(ctx context.Context, opts *driver.ListOptions) (*driver.ListPage, error) {
	token := opts.PageToken
	for {
		in := &s3.ListObjectsV2Input{
			Bucket:  &b.name,
			Prefix:  optString(opts.Prefix),
			MaxKeys: aws.Int32(int32(opts.PageSize)),
		}
		if opts.Delimiter != "" {
			in.Delimiter = aws.String(opts.Delimiter)
		}
		if len(token) > 0 {
			in.ContinuationToken = aws.String(string(token))
		}
		out, err := b.client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, err
		}
		page := &driver.ListPage{}
		for _, o := range out.Contents {
			k := aws.ToString(o.Key)
			if blob.ValidateKey(k) != nil {
				continue // written by another tool under a key Landfall cannot name
			}
			page.Objects = append(page.Objects, &driver.ListObject{Key: k, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified).UTC()})
		}
		for _, p := range out.CommonPrefixes {
			page.Objects = append(page.Objects, &driver.ListObject{Key: aws.ToString(p.Prefix), IsDir: true})
		}
		sort.Slice(page.Objects, func(i, j int) bool { return page.Objects[i].Key < page.Objects[j].Key })
		if aws.ToBool(out.IsTruncated) && out.NextContinuationToken != nil {
			page.NextPageToken = []byte(*out.NextContinuationToken)
		}
		if len(page.Objects) > 0 || page.NextPageToken == nil {
			return page, nil
		}
		token = page.NextPageToken
	}
}

func copySource(bucket, key string, version string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	s := bucket + "/" + strings.Join(segs, "/")
	if version != "" {
		s += "?versionId=" + url.QueryEscape(version)
	}
	return s
}

func (b *bucket) Copy(ctx context.Context, dst, src string, opts *driver.CopyOptions) error {
	head, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &src})
	if err != nil {
		return b.keyErr(src, err)
	}
	version := aws.ToString(head.VersionId)
	size := aws.ToInt64(head.ContentLength)
	if size <= b.opts.CopyThreshold {
		_, err := b.client.CopyObject(ctx, &s3.CopyObjectInput{
			Bucket:               &b.name,
			Key:                  &dst,
			CopySource:           aws.String(copySource(b.name, src, version)),
			ServerSideEncryption: b.sse(),
			SSEKMSKeyId:          b.kms(),
		})
		return b.keyErr(src, err)
	}
	return b.copyParts(ctx, dst, src, version, head)
}

// copyParts copies an object too large for CopyObject with UploadPartCopy,
// keeping its attributes and tags.
func (b *bucket) copyParts(ctx context.Context, dst, src, version string, head *s3.HeadObjectOutput) error {
	tags, err := b.client.GetObjectTagging(ctx, &s3.GetObjectTaggingInput{Bucket: &b.name, Key: &src, VersionId: optString(version)})
	if err != nil {
		return b.keyErr(src, err)
	}
	mp, err := b.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:               &b.name,
		Key:                  &dst,
		ContentType:          head.ContentType,
		CacheControl:         head.CacheControl,
		ContentDisposition:   head.ContentDisposition,
		Metadata:             head.Metadata,
		ServerSideEncryption: b.sse(),
		SSEKMSKeyId:          b.kms(),
	})
	if err != nil {
		return err
	}
	abort := func(err error) error {
		b.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: &b.name, Key: &dst, UploadId: mp.UploadId})
		return err
	}
	size := aws.ToInt64(head.ContentLength)
	partSize := int64(copyPartSize)
	if b.opts.CopyThreshold < MaxCopySize {
		partSize = max(b.opts.CopyThreshold, MinPartSize)
	}
	var parts []types.CompletedPart
	for n, off := int32(1), int64(0); off < size; n, off = n+1, off+partSize {
		end := min(off+partSize, size) - 1
		out, err := b.client.UploadPartCopy(ctx, &s3.UploadPartCopyInput{
			Bucket:          &b.name,
			Key:             &dst,
			UploadId:        mp.UploadId,
			PartNumber:      aws.Int32(n),
			CopySource:      aws.String(copySource(b.name, src, version)),
			CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, end)),
		})
		if err != nil {
			return abort(b.keyErr(src, err))
		}
		parts = append(parts, types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(n)})
	}
	done, err := b.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          &b.name,
		Key:             &dst,
		UploadId:        mp.UploadId,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
	})
	if err != nil {
		return abort(err)
	}
	if len(tags.TagSet) > 0 {
		_, err = b.client.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{
			Bucket: &b.name, Key: &dst, VersionId: done.VersionId, Tagging: &types.Tagging{TagSet: tags.TagSet},
		})
	}
	return err
}

func (b *bucket) Delete(ctx context.Context, key string) error {
	// S3 answers a delete of a missing key with success; the contract
	// wants NotFound.
	if _, err := b.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &b.name, Key: &key}); err != nil {
		return b.keyErr(key, err)
	}
	_, err := b.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key})
	return err
}

func (b *bucket) SignedURL(ctx context.Context, key string, opts *driver.SignedURLOptions) (string, error) {
	expires := func(o *s3.PresignOptions) { o.Expires = opts.Expiry }
	var req *v4.PresignedHTTPRequest
	var err error
	switch opts.Method {
	case http.MethodGet:
		req, err = b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &b.name, Key: &key}, expires)
	case http.MethodPut:
		req, err = b.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &b.name, Key: &key, ContentType: optString(opts.ContentType)}, expires)
	case http.MethodDelete:
		req, err = b.presign.PresignDeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &b.name, Key: &key}, expires)
	default:
		return "", errcode.New(errcode.Invalid, "s3blob: cannot presign method %q", opts.Method)
	}
	if err != nil {
		return "", err
	}
	return req.URL, nil
}

func (b *bucket) ListVersions(ctx context.Context, key string) ([]*driver.Version, error) {
	st, err := b.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: &b.name})
	if err != nil {
		return nil, err
	}
	if st.Status == "" {
		return nil, errcode.New(errcode.NotImplemented, "s3blob: bucket %q does not have versioning enabled", b.name)
	}
	var out []*driver.Version
	in := &s3.ListObjectVersionsInput{Bucket: &b.name, Prefix: &key}
	for {
		page, err := b.client.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) != key {
				continue
			}
			out = append(out, &driver.Version{
				VersionID: aws.ToString(v.VersionId), IsLatest: aws.ToBool(v.IsLatest),
				Size: aws.ToInt64(v.Size), ModTime: aws.ToTime(v.LastModified).UTC(), ETag: aws.ToString(v.ETag),
			})
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) != key {
				continue
			}
			out = append(out, &driver.Version{
				VersionID: aws.ToString(m.VersionId), IsLatest: aws.ToBool(m.IsLatest), IsDeleteMarker: true,
				ModTime: aws.ToTime(m.LastModified).UTC(),
			})
		}
		if !aws.ToBool(page.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = page.NextKeyMarker, page.NextVersionIdMarker
	}
	if len(out) == 0 {
		return nil, notFound(key)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].IsLatest != out[j].IsLatest {
			return out[i].IsLatest
		}
		return out[i].ModTime.After(out[j].ModTime)
	})
	return out, nil
}

// SweepIncomplete aborts multipart uploads initiated before before.
func (b *bucket) SweepIncomplete(ctx context.Context, before time.Time) (int, error) {
	n := 0
	in := &s3.ListMultipartUploadsInput{Bucket: &b.name}
	for {
		out, err := b.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return n, err
		}
		for _, u := range out.Uploads {
			if !aws.ToTime(u.Initiated).Before(before) {
				continue
			}
			_, err := b.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &b.name, Key: u.Key, UploadId: u.UploadId})
			if err != nil && b.ErrorCode(err) != errcode.NotFound {
				return n, err
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

func (b *bucket) As(i any) bool {
	if p, ok := i.(**s3.Client); ok {
		*p = b.client
		return true
	}
	return false
}

func (b *bucket) Close() error { return nil }

func (b *bucket) ErrorCode(err error) errcode.Code {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchBucket", "NoSuchVersion", "NoSuchUpload":
			return errcode.NotFound
		case "AccessDenied", "AllAccessDisabled", "AccountProblem":
			return errcode.PermissionDenied
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken",
			"XAdminUserNotFound": // versitygw's answer to an unknown access key
			return errcode.Unauthenticated
		case "SlowDown", "ServiceUnavailable", "RequestTimeout", "InternalError", "Throttling":
			return errcode.Unavailable
		case "PreconditionFailed", "InvalidObjectState":
			return errcode.FailedPrecond
		case "EntityTooLarge":
			return errcode.TooLarge
		case "InvalidArgument", "InvalidRequest", "KeyTooLongError", "MetadataTooLarge", "InvalidBucketName":
			return errcode.Invalid
		case "NotImplemented":
			return errcode.NotImplemented
		}
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		switch s := re.HTTPStatusCode(); {
		case s == http.StatusNotFound:
			return errcode.NotFound
		case s == http.StatusForbidden:
			return errcode.PermissionDenied
		case s == http.StatusUnauthorized:
			return errcode.Unauthenticated
		case s == http.StatusPreconditionFailed:
			return errcode.FailedPrecond
		case s == http.StatusNotImplemented:
			return errcode.NotImplemented
		case s >= 500:
			return errcode.Unavailable
		case s >= 400:
			return errcode.Invalid
		}
	}
	if c := errcode.Of(err); c != errcode.Unknown {
		return c
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return errcode.Unavailable
	}
	return errcode.Unknown
}

var (
	_ driver.Bucket    = (*bucket)(nil)
	_ driver.Versioner = (*bucket)(nil)
	_ driver.Sweeper   = (*bucket)(nil)
)
