// Package auth authenticates callers of the HTTP API: plaintext API keys
// (Bearer or X-Api-Key), the AWS-style access keys that sign Step Functions
// requests (Signature Version 4), and short-lived signed URLs for media
// elements that cannot send headers.
//
// # Secret access keys are derived, not stored
//
// A request signature is an HMAC keyed by the key's secret access key, so
// the server must know that secret, while the catalog only keeps a hash of
// each plaintext API key. Two designs fit: store each secret encrypted
// (AES-GCM under an installation key), or derive it. Landfall derives it:
//
//	secret access key = base64(HMAC-SHA256(installation secret,
//	    "landfall/secret-access-key" ‖ 0 ‖ key id ‖ 0 ‖ generation))[:40]
//
// Derivation needs no column, no ciphertext to migrate and no nonce
// bookkeeping; rotating a key (its generation goes up) changes its secret
// access key, and revoking or expiring it ends it because every lookup
// reads the key's row. What it protects is the same as with encryption:
// whoever holds the installation secret can sign as any key, exactly as
// whoever holds an AES key could decrypt every stored secret. The
// installation secret therefore lives in a 0600 file in the data folder
// (created on first start), or at a configured path that every process of
// a scale-out installation shares. Signed media URLs use the same secret
// under their own label.
package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Authenticator checks credentials against the catalog. Every check reads
// the key's row (and its tenant's), so revoking a key, expiring it or
// disabling its tenant holds on every process from the next request: there
// is no cache.
type Authenticator struct {
	Catalog catalog.Store
	// Secret is the installation secret (see LoadSecret).
	Secret []byte
	// Now is the clock for signed URLs (time.Now when nil).
	Now func() time.Time
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Bearer authenticates a plaintext API key ("lf_<id>_<secret>").
func (a *Authenticator) Bearer(ctx context.Context, key string) (identity.Principal, error) {
	k, err := a.Catalog.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: key})
	if err != nil {
		return identity.Principal{}, err
	}
	return k.Principal(), nil
}

// mac returns HMAC-SHA256 of the parts, NUL-separated, under the
// installation secret and a label that keeps each use's MACs apart.
func (a *Authenticator) mac(label string, parts ...string) []byte {
	m := hmac.New(sha256.New, a.Secret)
	m.Write([]byte("landfall/" + label))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// SecretAccessKey derives the secret access key of a key's generation: 40
// characters of base64, like AWS's.
func (a *Authenticator) SecretAccessKey(keyID string, generation int64) string {
	return base64.StdEncoding.EncodeToString(a.mac("secret-access-key", keyID, strconv.FormatInt(generation, 10))[:30])
}

// Credentials returns the AWS-style credentials of a key as it is now (to
// show once, when the key is created or rotated).
func (a *Authenticator) Credentials(k *catalog.APIKey) (accessKeyID, secretAccessKey string) {
	return catalog.AccessKeyID(k.ID), a.SecretAccessKey(k.ID, k.Generation)
}

// LookupAccessKey returns the secret access key and the principal of an
// access key id, for verifying a Signature Version 4 request. A malformed
// or unknown id, or a revoked or expired key, is errcode.Unauthenticated;
// a key of a disabled tenant errcode.PermissionDenied.
func (a *Authenticator) LookupAccessKey(ctx context.Context, accessKeyID string) (secret string, p identity.Principal, err error) {
	if len(a.Secret) == 0 {
		return "", identity.Principal{}, errcode.New(errcode.Unavailable, "auth: no installation secret is configured")
	}
	id, err := catalog.ParseAccessKeyID(accessKeyID)
	if err != nil {
		return "", identity.Principal{}, err
	}
	k, err := a.Catalog.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: id})
	if err != nil {
		return "", identity.Principal{}, err
	}
	return a.SecretAccessKey(k.ID, k.Generation), k.Principal(), nil
}
