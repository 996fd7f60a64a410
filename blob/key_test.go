package blob

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

type keyCase struct {
	Key       string `json:"key"`
	KeyHex    string `json:"key_hex"`
	KeyRepeat int    `json:"key_repeat"`
	Valid     bool   `json:"valid"`
	Why       string `json:"why"`
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
}

func TestValidateKey(t *testing.T) {
	var cases []keyCase
	loadJSON(t, "keys.json", &cases)
	for _, c := range cases {
		key := c.Key
		if c.KeyHex != "" {
			b, _ := hex.DecodeString(c.KeyHex)
			key = string(b)
		}
		if c.KeyRepeat > 0 {
			key = strings.Repeat("k", c.KeyRepeat)
		}
		err := ValidateKey(key)
		if c.Valid {
			if err != nil {
				t.Errorf("ValidateKey(%q) = %v; want valid", key, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateKey(%q) = nil; want an error mentioning %q", key, c.Why)
			continue
		}
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), c.Why) {
			t.Errorf("ValidateKey(%q) = %v; want InvalidArgument mentioning %q", key, err, c.Why)
		}
		if !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("ValidateKey(%q) error %q does not name the key", key, err)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	var cases []struct{ In, Out, Err string }
	loadJSON(t, "normalize.json", &cases)
	for _, c := range cases {
		got, err := NormalizeKey(c.In)
		switch {
		case c.Err != "":
			if err == nil || !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), c.Err) {
				t.Errorf("NormalizeKey(%q) = %q, %v; want InvalidArgument mentioning %q", c.In, got, err, c.Err)
			}
		case err != nil || got != c.Out:
			t.Errorf("NormalizeKey(%q) = %q, %v; want %q", c.In, got, err, c.Out)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "a", "a/", "a/b", "a/.", "a/..", "a/.landf", ".", "..", "x/.landfall-m", "incoming/acme/"} {
		if err := validatePrefix(p); err != nil {
			t.Errorf("validatePrefix(%q) = %v; want nil", p, err)
		}
	}
	for _, p := range []string{"/", "/a", "a//", "../x", "./", "a/../", ".landfall-meta/", "a\\", "a\x00", string([]byte{0xff})} {
		if err := validatePrefix(p); !errors.Is(err, errcode.Invalid) {
			t.Errorf("validatePrefix(%q) = %v; want InvalidArgument", p, err)
		}
	}
}

// FuzzKey checks that every key ValidateKey accepts stays inside a folder
// when joined to it, that NormalizeKey's results are valid and stable, and
// that neither panics.
func FuzzKey(f *testing.F) {
	var cases []keyCase
	raw, _ := os.ReadFile(filepath.Join("testdata", "keys.json"))
	json.Unmarshal(raw, &cases)
	for _, c := range cases {
		f.Add(c.Key)
	}
	f.Add("a/./b//c")
	f.Add("..\\x")
	root := filepath.FromSlash("/srv/landfall/media")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4*MaxKeyLen {
			return
		}
		if ValidateKey(s) == nil {
			p := filepath.Join(root, filepath.FromSlash(s))
			if !strings.HasPrefix(p, root+string(filepath.Separator)) {
				t.Fatalf("valid key %q escapes the root: %s", s, p)
			}
			if filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator))) != s {
				t.Fatalf("valid key %q does not round-trip through a path: %s", s, p)
			}
			if n, err := NormalizeKey(s); err != nil || n != s {
				t.Fatalf("NormalizeKey(valid %q) = %q, %v; want it unchanged", s, n, err)
			}
		}
		n, err := NormalizeKey(s)
		if err != nil {
			if !errors.Is(err, errcode.Invalid) {
				t.Fatalf("NormalizeKey(%q) error %v is not InvalidArgument", s, err)
			}
			return
		}
		if err := ValidateKey(n); err != nil {
			t.Fatalf("NormalizeKey(%q) = %q, which is invalid: %v", s, n, err)
		}
		if n2, err := NormalizeKey(n); err != nil || n2 != n {
			t.Fatalf("NormalizeKey is not idempotent on %q: %q, %v", n, n2, err)
		}
		_ = validatePrefix(s)
	})
}
