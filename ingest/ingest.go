package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"regexp"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/telemetry"
)

// Options configure the ingest service.
type Options struct {
	Bucket     *blob.Bucket
	BucketName string // the name events carry in detail.bucket.name
	Catalog    catalog.Store
	Bus        *bus.Bus
	MaxBytes   int64 // 0 = unlimited
	// MaxTenantBytes caps one tenant's stored media (config
	// limits.stored_bytes); 0 = unlimited.
	MaxTenantBytes int64
	Logger         *slog.Logger
	Now            func() time.Time
}

// UploadParams describe one upload.
type UploadParams struct {
	Tenant      string
	Filename    string
	ContentType string
	Size        int64 // -1 when unknown
	Body        io.Reader
	// Vocabulary are words (names, jargon) the transcriber should expect.
	Vocabulary []string
	// Profile names the insight profile to fill (podcast, lecture, …);
	// empty takes the tenant's.
	Profile string
}

// Service stores uploads and turns stored objects into events.
type Service struct {
	opt Options
	log *slog.Logger
}

// New returns the ingest service.
func New(opt Options) *Service {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.BucketName == "" {
		opt.BucketName = "landfall"
	}
	return &Service{opt: opt, log: opt.Logger}
}

// MetaVocabulary is the object metadata key holding an upload's
// comma-separated vocabulary.
const MetaVocabulary = pipeline.MetaVocabulary

var extRE = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

// extension picks the stored file extension: the filename's when it is
// sane, else one for the content type, else "bin".
func extension(filename, contentType string) string {
	e := strings.ToLower(strings.TrimPrefix(path.Ext(filename), "."))
	if extRE.MatchString(e) {
		return e
	}
	if contentType != "" {
		if exts, _ := mime.ExtensionsByType(contentType); len(exts) > 0 {
			if e := strings.TrimPrefix(exts[0], "."); extRE.MatchString(e) {
				return e
			}
		}
	}
	return "bin"
}

// cleanFilename keeps the base name of what the client sent, for display.
func cleanFilename(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" {
		return ""
	}
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, name)
	return catalog.TruncateText(name, 255) // on a character boundary
}

// Upload streams p.Body into incoming/<tenant>/<media id>.<ext>, then
// creates the media row and its Object Created event in one transaction.
// An empty body, an unknown tenant and a body past the size limit are
// refused and leave nothing behind.
func (s *Service) Upload(ctx context.Context, p *UploadParams) (_ *catalog.Media, err error) {
	if err := s.tenant(ctx, p.Tenant); err != nil {
		return nil, err
	}
	if s.opt.MaxBytes > 0 && p.Size > s.opt.MaxBytes {
		return nil, errcode.New(errcode.TooLarge, "upload of %d bytes is larger than the %d-byte limit", p.Size, s.opt.MaxBytes)
	}
	if err := s.checkStored(ctx, p.Tenant, max(p.Size, 1)); err != nil {
		return nil, err
	}
	id := catalog.NewMediaID()
	k, err := pipeline.UploadKey(p.Tenant, id, extension(p.Filename, p.ContentType))
	if err != nil {
		return nil, err
	}
	key := k.String()
	ctx, span := telemetry.Start(ctx, id, "ingest.upload", attribute.String("landfall.tenant", p.Tenant), attribute.String("landfall.key", key))
	defer func() { telemetry.End(span, err) }()
	log := s.log.With("media_id", id, "tenant", p.Tenant, "key", key)
	ct := p.ContentType
	if _, _, err := mime.ParseMediaType(ct); err != nil || strings.HasPrefix(ct, "multipart/") || ct == "application/x-www-form-urlencoded" {
		ct = "" // sniffed by the bucket
	}
	md := map[string]string{"media-id": id, "tenant": p.Tenant, "filename": asciiOnly(cleanFilename(p.Filename))}
	if len(p.Vocabulary) > 0 {
		v := strings.Join(p.Vocabulary, ",")
		if len(v) > 1024 {
			return nil, errcode.New(errcode.Invalid, "vocabulary: %d bytes, at most 1024 per upload (configure larger vocabularies per tenant)", len(v))
		}
		md[MetaVocabulary] = v
	}
	if p.Profile != "" {
		if _, err := profile.Find(p.Profile); err != nil {
			return nil, errcode.Wrap(errcode.Invalid, err, "profile")
		}
		md[pipeline.MetaProfile] = p.Profile
	}
	w, err := s.opt.Bucket.NewWriter(ctx, key, &blob.WriterOptions{ContentType: ct, Metadata: md})
	if err != nil {
		return nil, err
	}
	body := p.Body
	if s.opt.MaxBytes > 0 {
		body = io.LimitReader(body, s.opt.MaxBytes+1)
	}
	n, err := io.Copy(w, body)
	if err == nil && s.opt.MaxBytes > 0 && n > s.opt.MaxBytes {
		err = errcode.New(errcode.TooLarge, "upload is larger than the %d-byte limit", s.opt.MaxBytes)
	}
	if err == nil && n == 0 {
		err = errcode.New(errcode.Invalid, "upload is empty (0 bytes)")
	}
	if err == nil && p.Size > 0 && n != p.Size {
		err = errcode.New(errcode.Invalid, "upload ended after %d of %d bytes", n, p.Size)
	}
	if err != nil {
		_ = w.Abort()
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = errcode.New(errcode.TooLarge, "upload is larger than the %d-byte limit", mbe.Limit)
		}
		if errcode.Of(err) == errcode.Unknown {
			err = errcode.Wrap(errcode.Invalid, err, "upload interrupted")
		}
		log.Warn("upload refused", "err", err)
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	attrs, err := s.opt.Bucket.Attributes(ctx, key)
	if err != nil {
		return nil, err
	}
	ev := bus.ObjectCreated(s.opt.BucketName, bus.ObjectDetail{Key: key, Size: n, ETag: attrs.ETag}, "PutObject", s.opt.Now())
	row, err := bus.OutboxEvent(ev)
	if err != nil {
		return nil, err
	}
	m, err := s.opt.Catalog.MediaCreate(ctx, &catalog.MediaCreateParams{ID: id, TenantID: p.Tenant, BucketKey: key,
		Filename: cleanFilename(p.Filename), ContentType: w.ContentType(), Size: n, SHA256: w.SHA256(), Events: []catalog.OutboxEvent{row},
		MaxTenantBytes: s.opt.MaxTenantBytes})
	if err != nil {
		// The object has no row: remove it so nothing is half-stored.
		_ = s.opt.Bucket.Delete(context.WithoutCancel(ctx), key)
		return nil, err
	}
	if s.opt.Bus != nil {
		s.opt.Bus.Notify()
	}
	log.Info("upload stored", "size", n, "sha256", w.SHA256(), "event_id", ev.ID)
	return m, nil
}

// checkStored refuses, before anything is streamed, an upload of size
// bytes that would take the tenant past its stored-bytes limit. The
// catalog checks again, exactly, when the media row is created.
func (s *Service) checkStored(ctx context.Context, tenant string, size int64) error {
	if s.opt.MaxTenantBytes <= 0 {
		return nil
	}
	stored, err := s.opt.Catalog.MediaStoredBytes(ctx, &catalog.MediaStoredBytesParams{TenantID: tenant})
	if err != nil {
		return err
	}
	if stored+size > s.opt.MaxTenantBytes {
		return errcode.New(errcode.TooLarge, "tenant %q stores %d bytes of media; this upload would pass its limit of %d bytes (limits.stored_bytes)",
			tenant, stored, s.opt.MaxTenantBytes)
	}
	return nil
}

func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '_'
		}
		return r
	}, s)
}

// tenant checks that an existing, enabled tenant is named. No tenant is
// ever created here: tenants come from the configuration (or the default
// tenant of an open installation) and the admin API.
func (s *Service) tenant(ctx context.Context, id string) error {
	if id == "" {
		return errcode.New(errcode.Invalid, "tenant: required")
	}
	return pipeline.CheckTenant(ctx, s.opt.Catalog, id)
}
