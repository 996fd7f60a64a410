package workflow

import (
	"errors"
	"testing"

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
