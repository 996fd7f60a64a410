package workflow

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
)

// FuzzPageToken: tokens from clients either decode or fail with Invalid;
// tokens the engine issues always decode to what was encoded.
func FuzzPageToken(f *testing.F) {
	f.Add("", int64(0), "")
	f.Add(encodeToken(pageToken{Start: 1700000000000000, ARN: "arn:aws:states:local:0:execution:m:x"}), int64(5), "a")
	f.Add("!!", int64(-1), "\x00")
	f.Fuzz(func(t *testing.T, s string, n int64, arn string) {
		if _, err := decodeToken(s); err != nil && !errors.Is(err, errcode.Invalid) {
			t.Fatalf("decodeToken(%q): %v", s, err)
		}
		p := pageToken{Start: n, ARN: arn, ID: n}
		got, err := decodeToken(encodeToken(p))
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if got.Start != p.Start || got.ID != p.ID || (got.ARN != p.ARN && validUTF8(p.ARN)) {
			t.Fatalf("round trip %+v -> %+v", p, got)
		}
	})
}

func validUTF8(s string) bool {
	for _, r := range s {
		if r == '\uFFFD' {
			return false
		}
	}
	return true
}

// FuzzValidName: names are accepted or refused with Invalid, and an
// accepted name never holds a character ARNs or URLs reserve.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"pipeline20", "a b", "", "x:y", "media-42_ok", "ünïcödé", "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := validName("execution", name)
		if err != nil && !errors.Is(err, errcode.Invalid) {
			t.Fatalf("%q: %v", name, err)
		}
		if err == nil {
			for _, bad := range []rune{':', '/', ' ', '?', '#'} {
				for _, r := range name {
					if r == bad {
						t.Fatalf("accepted %q with %q", name, bad)
					}
				}
			}
		}
	})
}

// FuzzValidText: what validText and validName accept is valid UTF-8
// without NUL or other control characters (so it can reach any driver);
// what they refuse is Invalid and names the field; cleanText always
// returns storable text.
func FuzzValidText(f *testing.F) {
	for _, s := range []string{"", "media-1", "a\x00b", "a\xffb", "\xc3", "tab\there", "ünïcode", "arn:aws:states:local:0:execution:m:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		storable := func(v string) bool {
			if !utf8.ValidString(v) {
				return false
			}
			for _, r := range v {
				if unicode.IsControl(r) {
					return false
				}
			}
			return true
		}
		if err := validText("the field", s, 1<<20, false); err == nil {
			if !storable(s) {
				t.Fatalf("validText accepted %q", s)
			}
		} else if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "the field") {
			t.Fatalf("validText(%q): %v", s, err)
		}
		if err := validName("execution", s); err == nil {
			if !storable(s) || s == "" {
				t.Fatalf("validName accepted %q", s)
			}
		} else if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "execution name") {
			t.Fatalf("validName(%q): %v", s, err)
		}
		if c := cleanText(s); !utf8.ValidString(c) || strings.ContainsRune(c, 0) {
			t.Fatalf("cleanText(%q) = %q", s, c)
		}
	})
}

// FuzzPageIndex: a map run page token is accepted as a non-negative
// index or refused with Invalid.
func FuzzPageIndex(f *testing.F) {
	f.Add("")
	f.Add("1000")
	f.Add("-1")
	f.Add("9999999999999999999999")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := pageIndex(s)
		if err != nil && !errors.Is(err, errcode.Invalid) {
			t.Fatalf("pageIndex(%q): %v", s, err)
		}
		if err == nil && n < 0 {
			t.Fatalf("pageIndex(%q) = %d", s, n)
		}
	})
}
