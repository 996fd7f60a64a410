package auth

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Signed URLs let a media element (<audio>, <video>, <img>, <track>) fetch
// one object without sending a header. A signed URL names one path, for
// GET (and HEAD) only, until an expiry; it carries the tenant it reads and
// the id of the key that asked for it, never a key. The query parameters
// are:
//
//	tenant     the tenant whose object it is
//	key_id     the key that asked for it (empty on open installations)
//	expires    Unix seconds after which it is refused
//	signature  base64url HMAC-SHA256 under the installation secret of
//	           "GET", the path, tenant, key_id and expires
//
// A URL whose key has since been revoked or expired, or whose tenant was
// disabled, is refused: verification reads the key's row.
const (
	// DefaultURLTTL is how long a signed URL lasts unless asked otherwise.
	DefaultURLTTL = 15 * time.Minute
	// MaxURLTTL is the longest a signed URL may last.
	MaxURLTTL = 24 * time.Hour
)

// SignURL returns path with a signature that lets anyone holding the URL GET
// it for ttl, acting as p for tenant.
func (a *Authenticator) SignURL(p identity.Principal, tenant, path string, ttl time.Duration) (signed string, expires time.Time) {
	if ttl <= 0 {
		ttl = DefaultURLTTL
	}
	if ttl > MaxURLTTL {
		ttl = MaxURLTTL
	}
	expires = a.now().Add(ttl).Truncate(time.Second)
	exp := strconv.FormatInt(expires.Unix(), 10)
	q := url.Values{"tenant": {tenant}, "key_id": {p.KeyID}, "expires": {exp},
		"signature": {base64.RawURLEncoding.EncodeToString(a.mac("signed-url", http.MethodGet, path, tenant, p.KeyID, exp))}}
	return path + "?" + q.Encode(), expires
}

// SignedURL reports whether r carries a URL signature.
func SignedURL(r *http.Request) bool { return r.URL.Query().Has("signature") }

// VerifyURL checks r's URL signature and returns the principal it acts as
// (with Tenant set to the URL's tenant). Every refusal is
// errcode.Unauthenticated naming what is wrong, except a key whose tenant
// was disabled (errcode.PermissionDenied).
func (a *Authenticator) VerifyURL(ctx context.Context, r *http.Request) (identity.Principal, error) {
	fail := func(format string, args ...any) (identity.Principal, error) {
		return identity.Principal{}, errcode.New(errcode.Unauthenticated, "signed URL: "+format, args...)
	}
	if len(a.Secret) == 0 {
		return identity.Principal{}, errcode.New(errcode.Unavailable, "signed URL: no installation secret is configured")
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return fail("good for GET only, not %s", r.Method)
	}
	q := r.URL.Query()
	for _, name := range []string{"tenant", "key_id", "expires", "signature"} {
		if len(q[name]) != 1 {
			return fail("want exactly one %s parameter", name)
		}
	}
	tenant, keyID, exp := q.Get("tenant"), q.Get("key_id"), q.Get("expires")
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("signature"))
	if err != nil {
		return fail("signature is not base64url")
	}
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil {
		return fail("expires %q is not Unix seconds", exp)
	}
	if !hmac.Equal(sig, a.mac("signed-url", http.MethodGet, r.URL.Path, tenant, keyID, exp)) {
		return fail("signature does not match this path")
	}
	now := a.now()
	if expires := time.Unix(secs, 0); !now.Before(expires) {
		return fail("expired at %s", expires.UTC().Format(time.RFC3339))
	} else if expires.Sub(now) > MaxURLTTL+time.Minute {
		return fail("expires more than %s ahead", MaxURLTTL)
	}
	if err := identity.CheckTenantID(tenant); err != nil {
		return fail("%v", err)
	}
	if keyID == "" {
		return identity.Principal{Role: identity.RoleAnonymous, Tenant: tenant}, nil
	}
	k, err := a.Catalog.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: keyID})
	if err != nil {
		return identity.Principal{}, err
	}
	p := k.Principal()
	if !p.ActsFor(tenant) {
		return fail("key %s no longer acts for tenant %s", keyID, tenant)
	}
	p.Tenant = tenant
	return p, nil
}
