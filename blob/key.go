package blob

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/landfall/landfall/errcode"
)

// MaxKeyLen is the longest key in bytes (S3's limit).
const MaxKeyLen = 1024

// ReservedPrefix starts path segments that drivers use for their own files
// (temporary files, metadata sidecars); keys may not contain a segment that
// starts with it.
const ReservedPrefix = ".landfall"

// ValidateKey reports whether key is a valid object key. A valid key is
// non-empty, at most MaxKeyLen bytes of valid UTF-8 in Unicode NFC, made of
// "/"-separated segments none of which is empty, ".", ".." or starts with
// ReservedPrefix, and contains no NUL or other control character and no
// backslash. Every valid key is a relative path that stays inside a folder
// on every operating system Landfall runs on, and means the same object on
// every driver. The error is errcode.Invalid and names the key.
func ValidateKey(key string) error {
	if msg := keyProblem(key); msg != "" {
		return errcode.New(errcode.Invalid, "blob: invalid key %q: %s", key, msg)
	}
	return nil
}

func keyProblem(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > MaxKeyLen:
		return fmt.Sprintf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return "not valid UTF-8"
	case strings.HasPrefix(key, "/"):
		return "absolute (starts with /)"
	case strings.HasSuffix(key, "/"):
		return "ends with /"
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c == 0:
			return fmt.Sprintf("NUL byte at offset %d", i)
		case c == '\\':
			return fmt.Sprintf("backslash at offset %d", i)
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("control character %#x at offset %d", c, i)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return "empty path segment (//)"
		case seg == "." || seg == "..":
			return fmt.Sprintf("path segment %q", seg)
		case strings.HasPrefix(seg, ReservedPrefix):
			return fmt.Sprintf("path segment %q starts with the reserved %q", seg, ReservedPrefix)
		}
	}
	if !norm.NFC.IsNormalString(key) {
		return "not in Unicode NFC (use NormalizeKey)"
	}
	return ""
}

// validatePrefix checks a listing prefix: it may be empty, and its last
// segment (after the last "/") may be any partial segment; every complete
// segment before it must be valid as in ValidateKey.
func validatePrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	bad := func(msg string) error {
		return errcode.New(errcode.Invalid, "blob: invalid prefix %q: %s", prefix, msg)
	}
	switch {
	case len(prefix) > MaxKeyLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxKeyLen))
	case !utf8.ValidString(prefix):
		return bad("not valid UTF-8")
	case strings.HasPrefix(prefix, "/"):
		return bad("absolute (starts with /)")
	}
	for i := 0; i < len(prefix); i++ {
		if c := prefix[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return bad(fmt.Sprintf("character %#x at offset %d", c, i))
		}
	}
	segs := strings.Split(prefix, "/")
	for _, seg := range segs[:len(segs)-1] {
		switch {
		case seg == "":
			return bad("empty path segment (//)")
		case seg == "." || seg == "..":
			return bad(fmt.Sprintf("path segment %q", seg))
		case strings.HasPrefix(seg, ReservedPrefix):
			return bad(fmt.Sprintf("path segment %q starts with the reserved %q", seg, ReservedPrefix))
		}
	}
	return nil
}

// NormalizeKey turns a name from outside Landfall (an uploaded file name, a
// path typed by a person) into a key: it converts to Unicode NFC, drops
// "./" segments and collapses repeated slashes, then validates the result.
// It does not resolve "..", turn backslashes into slashes or strip a
// leading "/": those are errors, because guessing what they meant could
// move an object somewhere its owner did not intend.
func NormalizeKey(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", errcode.New(errcode.Invalid, "blob: invalid key %q: not valid UTF-8", name)
	}
	s := norm.NFC.String(name)
	segs := strings.Split(s, "/")
	out := segs[:0]
	for i, seg := range segs {
		switch {
		case seg == ".":
			continue
		case seg == "" && i != 0 && i != len(segs)-1:
			continue
		}
		out = append(out, seg)
	}
	key := strings.Join(out, "/")
	if err := ValidateKey(key); err != nil {
		return "", errcode.New(errcode.Invalid, "blob: invalid key %q (from %q): %s", key, name, keyProblem(key))
	}
	return key, nil
}
