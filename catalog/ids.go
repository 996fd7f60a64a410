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
	_, _ = rand.Read(idb[:])
	id = hex.EncodeToString(idb[:])
	return NewAPIKeyWithID(id), id
}

// NewAPIKeyWithID returns a fresh plaintext key with an existing id (a
// rotation).
func NewAPIKeyWithID(id string) string {
	var sec [32]byte
	_, _ = rand.Read(sec[:])
	return apiKeyPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(sec[:])
}

// ParseAPIKey checks the shape of a plaintext key and returns its id; a
// malformed key is errcode.Unauthenticated (the message never repeats the
// key).
func ParseAPIKey(key string) (id string, err error) {
	rest, ok := strings.CutPrefix(key, apiKeyPrefix)
	if !ok || len(rest) != 16+1+43 || rest[16] != '_' {
		return "", errcode.New(errcode.Unauthenticated, "catalog: API key is malformed (want lf_<id>_<secret>)")
	}
	if !lowerHex(rest[:16]) {
		return "", errcode.New(errcode.Unauthenticated, "catalog: API key is malformed (id is not lower-case hex)")
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(rest[17:]); err != nil {
		return "", errcode.New(errcode.Unauthenticated, "catalog: API key is malformed (secret is not base64url)")
	}
	return rest[:16], nil
}

// HashAPIKey returns the stored form of a plaintext key (hex SHA-256) after
// checking its shape; a malformed key is errcode.Unauthenticated.
func HashAPIKey(key string) (string, error) {
	if _, err := ParseAPIKey(key); err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:]), nil
}

// ValidateAPIKeyID checks a key id named in a request (16 lower-case hex
// digits).
func ValidateAPIKeyID(field, id string) error {
	if len(id) != 16 || !lowerHex(id) {
		return invalid("catalog: %s: %q is not a key id (16 lower-case hex digits)", field, id)
	}
	return nil
}

const accessKeyPrefix = "LFAK"

// AccessKeyID is the AWS-style access key id of a key: "LFAK" and the key
// id in upper-case hex, 20 characters like AWS's. Clients of the Step
// Functions protocol sign requests with it and the key's secret access key.
func AccessKeyID(keyID string) string { return accessKeyPrefix + strings.ToUpper(keyID) }

// ParseAccessKeyID returns the key id of an access key id; anything else is
// errcode.Unauthenticated.
func ParseAccessKeyID(s string) (keyID string, err error) {
	rest, ok := strings.CutPrefix(s, accessKeyPrefix)
	if !ok || len(rest) != 16 {
		return "", errcode.New(errcode.Unauthenticated, "catalog: access key id %q is malformed (want LFAK and 16 upper-case hex digits)", clip(s))
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return "", errcode.New(errcode.Unauthenticated, "catalog: access key id %q is malformed (want LFAK and 16 upper-case hex digits)", clip(s))
		}
	}
	return strings.ToLower(rest), nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// clip bounds untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
