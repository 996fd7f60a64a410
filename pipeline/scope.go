package pipeline

import (
	"context"
	"errors"
	"io"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

// Scope is what one task of one execution may touch: the bucket below its
// tenant's prefixes and the catalog rows of its tenant. It is the local
// form of a per-function IAM role and a per-tenant access point. The
// tenant comes from the execution (fixed when it started), never from the
// task's input, so a forged reference in the state cannot widen it.
type Scope struct {
	Tenant  string
	Bucket  *TenantBucket
	Catalog *TenantCatalog
	// bucketName is the bucket name events and references carry.
	bucketName string
}

// NewScope confines bucket and cat to tenant. An execution without a
// tenant (or with an id identity.CheckTenantID refuses) gets no scope: the
// media tasks cannot run in it.
func NewScope(tenant, bucketName string, bucket *blob.Bucket, cat catalog.Store) (*Scope, error) {
	if tenant == "" {
		return nil, errcode.New(errcode.ForbiddenReference, "the execution has no tenant: media tasks run only in executions started for a tenant")
	}
	if err := identity.CheckTenantID(tenant); err != nil {
		return nil, errcode.Wrap(errcode.ForbiddenReference, err, "the execution's tenant")
	}
	return &Scope{Tenant: tenant, bucketName: bucketName,
		Bucket:  &TenantBucket{tenant: tenant, b: bucket},
		Catalog: &TenantCatalog{tenant: tenant, st: cat}}, nil
}

// forbidden is the error of a reference outside the scope.
func forbidden(format string, args ...any) error {
	return errcode.New(errcode.ForbiddenReference, format, args...)
}

// Media checks a media reference from a task's input against the scope:
// the tenant, the bucket, a key of the tenant's (incoming/ or processed/,
// no ".."), and a media row of the tenant with that id. It returns the
// parsed key. Nothing is read or written before these checks pass.
func (s *Scope) Media(ctx context.Context, m *Media, field string) (Key, error) {
	if m == nil || m.ID == "" {
		return Key{}, forbidden("%s: no media reference", field)
	}
	if m.Tenant != s.Tenant {
		return Key{}, forbidden("%s/tenant: %q is not the execution's tenant %q", field, m.Tenant, s.Tenant)
	}
	if m.Bucket != s.bucketName {
		return Key{}, forbidden("%s/bucket: %q is not this installation's bucket %q", field, m.Bucket, s.bucketName)
	}
	if err := CheckMediaID(m.ID); err != nil {
		return Key{}, errcode.Wrap(errcode.ForbiddenReference, err, "%s/id", field)
	}
	k, err := s.Bucket.Key(m.Key)
	if err != nil {
		return Key{}, errcode.Wrap(errcode.ForbiddenReference, err, "%s/key", field)
	}
	if k.Area == AreaWork || (k.Area == AreaProcessed && k.MediaID != m.ID) {
		return Key{}, forbidden("%s/key: %q is not the media's original", field, m.Key)
	}
	if _, err := s.Catalog.MediaGet(ctx, m.ID); err != nil {
		if errors.Is(err, errcode.NotFound) {
			return Key{}, forbidden("%s/id: tenant %q has no media %q", field, s.Tenant, m.ID)
		}
		return Key{}, err
	}
	return k, nil
}

// TenantBucket is the bucket confined to one tenant's prefixes
// (incoming/<t>/, processed/<t>/, work/<t>/). Every method parses its keys
// with ParseKey first and refuses, with Landfall.ForbiddenReference, a key
// of another tenant, outside the layout or with a ".." component.
type TenantBucket struct {
	tenant string
	b      *blob.Bucket
}

// Key parses key and checks it is the tenant's.
func (b *TenantBucket) Key(key string) (Key, error) {
	k, err := ParseKey(key)
	if err != nil {
		return Key{}, errcode.Wrap(errcode.ForbiddenReference, err, "bucket")
	}
	if k.Tenant != b.tenant {
		return Key{}, forbidden("key %q is tenant %q's, not %q's", key, k.Tenant, b.tenant)
	}
	return k, nil
}

// ReadAll reads a whole (small) object.
func (b *TenantBucket) ReadAll(ctx context.Context, key string) ([]byte, error) {
	if _, err := b.Key(key); err != nil {
		return nil, err
	}
	return b.b.ReadAll(ctx, key)
}

// Download streams an object into w.
func (b *TenantBucket) Download(ctx context.Context, key string, w io.Writer) error {
	if _, err := b.Key(key); err != nil {
		return err
	}
	return b.b.Download(ctx, key, w, nil)
}

// NewRangeReader reads length bytes of an object from offset (to its
// end when length < 0).
func (b *TenantBucket) NewRangeReader(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if _, err := b.Key(key); err != nil {
		return nil, err
	}
	return b.b.NewRangeReader(ctx, key, offset, length, nil)
}

// WriteAll writes a whole (small) object.
func (b *TenantBucket) WriteAll(ctx context.Context, k Key, p []byte, opts *blob.WriterOptions) error {
	if _, err := b.Key(k.String()); err != nil {
		return err
	}
	return b.b.WriteAll(ctx, k.String(), p, opts)
}

// Upload streams r into an object.
func (b *TenantBucket) Upload(ctx context.Context, k Key, r io.Reader, opts *blob.WriterOptions) error {
	if _, err := b.Key(k.String()); err != nil {
		return err
	}
	return b.b.Upload(ctx, k.String(), r, opts)
}

// Move moves src to dst, both the tenant's.
func (b *TenantBucket) Move(ctx context.Context, dst Key, src string) error {
	if _, err := b.Key(dst.String()); err != nil {
		return err
	}
	if _, err := b.Key(src); err != nil {
		return err
	}
	return b.b.Move(ctx, dst.String(), src)
}

// Exists reports whether an object exists.
func (b *TenantBucket) Exists(ctx context.Context, key string) (bool, error) {
	if _, err := b.Key(key); err != nil {
		return false, err
	}
	return b.b.Exists(ctx, key)
}

// Attributes returns an object's attributes.
func (b *TenantBucket) Attributes(ctx context.Context, key string) (*blob.Attributes, error) {
	if _, err := b.Key(key); err != nil {
		return nil, err
	}
	return b.b.Attributes(ctx, key)
}

// LocalPath is the object's file on this machine, when the driver keeps
// objects as files.
func (b *TenantBucket) LocalPath(key string) (string, error) {
	if _, err := b.Key(key); err != nil {
		return "", err
	}
	return b.b.LocalPath(key)
}

// TenantCatalog is the catalog confined to one tenant's rows: every call
// is scoped by the tenant id, so another tenant's media is NotFound and
// failures and usage are recorded for this tenant only.
type TenantCatalog struct {
	tenant string
	st     catalog.Store
}

// MediaGet returns the tenant's media item id.
func (c *TenantCatalog) MediaGet(ctx context.Context, id string) (*catalog.Media, error) {
	return c.st.MediaGet(ctx, &catalog.MediaGetParams{ID: id, TenantID: c.tenant})
}

// SearchIndex replaces a media item's search entries with those built from
// its record and transcript (nil for none). A catalog without a search
// index is an error: every SQL catalog has one.
func (c *TenantCatalog) SearchIndex(ctx context.Context, m *catalog.Media, tr *types.Transcript) (int, error) {
	idx, ok := c.st.(catalog.SearchIndex)
	if !ok {
		return 0, errcode.New(errcode.NotImplemented, "catalog %s has no search index", c.st.Name())
	}
	if m.TenantID != c.tenant {
		return 0, errcode.New(errcode.PermissionDenied, "media %s is not tenant %s's", m.ID, c.tenant)
	}
	entries := search.Entries(m, tr)
	return len(entries), idx.SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: c.tenant, MediaID: m.ID,
		Entries: entries, Version: search.IndexVersion})
}

// MediaCreate creates a media row of the tenant.
func (c *TenantCatalog) MediaCreate(ctx context.Context, p catalog.MediaCreateParams) (*catalog.Media, error) {
	p.TenantID = c.tenant
	return c.st.MediaCreate(ctx, &p)
}

// MediaUpdate changes one of the tenant's media rows.
func (c *TenantCatalog) MediaUpdate(ctx context.Context, p catalog.MediaUpdateParams) (*catalog.Media, error) {
	p.TenantID = c.tenant
	return c.st.MediaUpdate(ctx, &p)
}

// FailureRecord records a failure of the tenant (and, with UpdateMedia,
// fails the tenant's media row).
func (c *TenantCatalog) FailureRecord(ctx context.Context, p catalog.FailureRecordParams) (*catalog.Failure, error) {
	p.TenantID = c.tenant
	return c.st.FailureRecord(ctx, &p)
}

// FailureList lists the tenant's failures.
func (c *TenantCatalog) FailureList(ctx context.Context, p catalog.FailureListParams) (*catalog.FailurePage, error) {
	p.TenantID = c.tenant
	return c.st.FailureList(ctx, &p)
}

// UsageRecord appends usage entries of the tenant.
func (c *TenantCatalog) UsageRecord(ctx context.Context, entries ...catalog.UsageEntry) error {
	for i := range entries {
		entries[i].TenantID = c.tenant
	}
	return c.st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: entries})
}

// CheckTenant reports whether media may come in for tenant id: it must
// exist and not be disabled. No tenant is ever created from a key.
func CheckTenant(ctx context.Context, cat catalog.Store, id string) error {
	if err := identity.CheckTenantID(id); err != nil {
		return errcode.Wrap(errcode.Invalid, err, "tenant")
	}
	t, err := cat.TenantGet(ctx, &catalog.TenantGetParams{ID: id})
	if errors.Is(err, errcode.NotFound) {
		return errcode.New(errcode.NotFound, "unknown tenant %q", id)
	}
	if err != nil {
		return err
	}
	if t.DisabledAt != nil {
		return errcode.New(errcode.FailedPrecond, "tenant %q is disabled", id)
	}
	return nil
}
