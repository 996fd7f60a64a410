package catalog

import (
	"encoding/base64"
	"encoding/binary"
	"hash/fnv"
	"time"
)

// Cursor is the position after the last row of a page in a keyset listing
// ordered by (time, key) descending. It is opaque to callers: EncodeCursor
// and DecodeCursor turn it into a short URL-safe string.
type Cursor struct {
	// Filter fingerprints the listing's filters (FilterHash) so a cursor
	// cannot be replayed against another query.
	Filter uint32
	Time   time.Time // microsecond precision
	Key    string    // the row's id
}

const cursorVersion = 1

// EncodeCursor returns c as base64url: version byte, filter hash, time in
// Unix microseconds (big-endian) and the key bytes.
func EncodeCursor(c Cursor) string {
	b := make([]byte, 0, 13+len(c.Key))
	b = append(b, cursorVersion)
	b = binary.BigEndian.AppendUint32(b, c.Filter)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
	b = append(b, c.Key...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor parses a cursor made by EncodeCursor. Anything else is an
// errcode.Invalid error naming the "cursor" parameter.
func DecodeCursor(s string) (Cursor, error) {
	if len(s) > 512 {
		return Cursor{}, invalid("catalog: cursor: longer than 512 characters")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, invalid("catalog: cursor: not a cursor returned by a listing (bad encoding)")
	}
	if len(b) < 14 {
		return Cursor{}, invalid("catalog: cursor: not a cursor returned by a listing (too short)")
	}
	if b[0] != cursorVersion {
		return Cursor{}, invalid("catalog: cursor: unknown cursor version %d", b[0])
	}
	c := Cursor{
		Filter: binary.BigEndian.Uint32(b[1:5]),
		Time:   time.UnixMicro(int64(binary.BigEndian.Uint64(b[5:13]))).UTC(),
		Key:    string(b[13:]),
	}
	if err := ValidateID("cursor", c.Key); err != nil {
		return Cursor{}, invalid("catalog: cursor: not a cursor returned by a listing (bad key)")
	}
	return c, nil
}

// FilterHash fingerprints a listing's filter values for Cursor.Filter.
func FilterHash(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

// CursorFor decodes s (nil when empty) and checks it was issued for a
// listing with the same filter hash.
func CursorFor(s string, filter uint32) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	c, err := DecodeCursor(s)
	if err != nil {
		return nil, err
	}
	if c.Filter != filter {
		return nil, invalid("catalog: cursor: issued for a listing with other filters")
	}
	return &c, nil
}
