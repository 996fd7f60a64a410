package catalog

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"unicode/utf8"

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

// ValidateText checks a free-text value (a filename, a content type, a
// cause, a name) before any database sees it: valid UTF-8, no NUL byte,
// at most max bytes. PostgreSQL refuses NUL and invalid UTF-8 outright and
// SQLite would store them as they are; both are refused here, naming the
// field and the byte offset.
func ValidateText(field, v string, max int) error {
	if i := strings.IndexByte(v, 0); i >= 0 {
		return invalid("catalog: %s: has a NUL byte at byte %d", field, i)
	}
	if i := InvalidUTF8At(v); i >= 0 {
		return invalid("catalog: %s: not valid UTF-8 at byte %d", field, i)
	}
	if max > 0 && len(v) > max {
		return invalid("catalog: %s: longer than %d bytes", field, max)
	}
	return nil
}

// InvalidUTF8At returns the offset of the first byte of s that is not part
// of valid UTF-8, or -1.
func InvalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// TruncateText cuts s to at most max bytes on a character boundary, so a
// long name of multi-byte characters stays valid UTF-8.
func TruncateText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	cut := max
	// Step back over continuation bytes to the start of the character
	// that would be split.
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// ValidateJSONText checks encoded JSON for the escape \u0000, which
// PostgreSQL's jsonb refuses; the error names the field and the offset.
func ValidateJSONText(field string, b []byte) error {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 >= len(b) {
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "0000" {
			return invalid("catalog: %s: has a NUL character (\\u0000) at byte %d", field, i)
		}
		i++ // skip the escaped character
	}
	return nil
}
