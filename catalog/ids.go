package catalog

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/google/uuid"
	"github.com/landfall/landfall/errcode"
)

// NewMediaID returns a new media id: a UUIDv7, which sorts by creation time
// and is the correlation id carried through every event, log line and row.
func NewMediaID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidateID checks an id used as a key (media ids, event ids, consumers):
// 1–128 bytes of letters, digits and -_.:/@
func ValidateID(field, id string) error {
	if id == "" {
		return invalid("catalog: %s: required", field)
	}
	if len(id) > 128 {
		return invalid("catalog: %s: longer than 128 bytes", field)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("-_.:/@", c) >= 0:
		default:
			return invalid("catalog: %s: %q has a character other than letters, digits and -_.:/@ at byte %d", field, id, i)
		}
	}
	return nil
}

// ValidateTenantID checks a tenant id: 1–63 of a-z, 0-9, '-' and '_',
// starting with a letter or digit. Tenant ids appear in bucket keys.
func ValidateTenantID(field, id string) error {
	if id == "" {
		return invalid("catalog: %s: required", field)
	}
	if len(id) > 63 {
		return invalid("catalog: %s: %q is longer than 63 bytes", field, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || i > 0 && (c == '-' || c == '_')
		if !ok {
			return invalid("catalog: %s: %q must be lower-case letters, digits, '-' and '_', starting with a letter or digit (byte %d)", field, id, i)
		}
	}
	return nil
}

const apiKeyPrefix = "lf_"

// NewAPIKey returns a fresh plaintext API key and its public id. The key is
// "lf_<id>_<secret>" with a 16-hex-digit id and a 43-character secret.
func NewAPIKey() (key, id string) {
	var idb [8]byte
	var sec [32]byte
	_, _ = rand.Read(idb[:])
	_, _ = rand.Read(sec[:])
	id = hex.EncodeToString(idb[:])
	return apiKeyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(sec[:]), id
}

// HashAPIKey returns the stored form of a plaintext key (hex SHA-256) after
// checking its shape; a malformed key is errcode.Unauthenticated.
func HashAPIKey(key string) (string, error) {
	rest, ok := strings.CutPrefix(key, apiKeyPrefix)
	if !ok || len(rest) != 16+1+43 || rest[16] != '_' {
		return "", errcode.New(errcode.Unauthenticated, "catalog: API key is malformed (want lf_<id>_<secret>)")
	}
	if _, err := hex.DecodeString(rest[:16]); err != nil {
		return "", errcode.New(errcode.Unauthenticated, "catalog: API key is malformed (id is not hex)")
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), nil
}
