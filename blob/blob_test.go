package blob

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
)

func TestOpenBucketUnknownScheme(t *testing.T) {
	_, err := OpenBucket(context.Background(), "gs://media")
	if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), `"gs"`) || !strings.Contains(err.Error(), "known:") {
		t.Fatalf("OpenBucket(gs://) = %v; want InvalidArgument naming the scheme and listing the known ones", err)
	}
	_, err = OpenBucket(context.Background(), "::bad")
	if !errors.Is(err, errcode.Invalid) {
		t.Fatalf("OpenBucket(::bad) = %v", err)
	}
}

func TestURLParams(t *testing.T) {
	cases := []struct {
		url  string
		want map[string]string
		err  string
	}{
		{"x://b?a=1&b=2", map[string]string{"a": "1", "b": "2"}, ""},
		{"x://b", map[string]string{}, ""},
		{"x://b?c=1", nil, `unknown parameter "c" (known: a, b)`},
		{"x://b?a=1&a=2", nil, `parameter "a" given 2 times`},
		{"x://b?a=%zz", nil, "malformed query"},
		{"x://user:secret@b?c=1", nil, "user@b"},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.url)
		got, err := URLParams(u, "a", "b")
		if c.err != "" {
			if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("URLParams(%s) = %v; want InvalidArgument containing %q", c.url, err, c.err)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("URLParams(%s) error leaks the password: %v", c.url, err)
			}
			continue
		}
		if err != nil || len(got) != len(c.want) {
			t.Errorf("URLParams(%s) = %v, %v; want %v", c.url, got, err, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("URLParams(%s)[%s] = %q; want %q", c.url, k, got[k], v)
			}
		}
	}
}

func TestURLSigner(t *testing.T) {
	secret := []byte("0123456789abcdef0123")
	now := time.Unix(1_800_000_000, 0)
	for _, base := range []string{"/blob", "/blob/", "https://media.example:8443/v1/files", "http://127.0.0.1/"} {
		s, err := NewURLSigner(base, secret)
		if err != nil {
			t.Fatal(err)
		}
		key := "incoming/acme/Réunion été #1?.mp4"
		signed := s.Sign(key, "GET", now.Add(time.Hour), "")
		got, ct, err := s.Verify("GET", signed, now)
		if err != nil || got != key || ct != "" {
			t.Fatalf("base %s: Verify(%s) = %q %q %v", base, signed, got, ct, err)
		}
		sr, err := VerifySignedURL(secret, base, "get", mustParse(t, signed), now)
		if err != nil || sr.Key != key || sr.Method != "GET" {
			t.Fatalf("VerifySignedURL = %+v, %v", sr, err)
		}
		u := mustParse(t, signed)
		tests := []struct {
			name   string
			mutate func(u *url.URL, q url.Values)
			method string
			at     time.Time
			code   errcode.Code
		}{
			{"wrong secret", nil, "GET", now, ""},
			{"expired", nil, "GET", now.Add(time.Hour + time.Second), errcode.Unauthenticated},
			{"other method", nil, "PUT", now, errcode.PermissionDenied},
			{"method changed", func(u *url.URL, q url.Values) { q.Set(ParamMethod, "PUT") }, "PUT", now, errcode.Unauthenticated},
			{"expiry changed", func(u *url.URL, q url.Values) { q.Set(ParamExpires, "9999999999") }, "GET", now, errcode.Unauthenticated},
			{"content type added", func(u *url.URL, q url.Values) { q.Set(ParamContentType, "text/html") }, "GET", now, errcode.Unauthenticated},
			{"no signature", func(u *url.URL, q url.Values) { q.Del(ParamSignature) }, "GET", now, errcode.Unauthenticated},
			{"bad expiry", func(u *url.URL, q url.Values) { q.Set(ParamExpires, "soon") }, "GET", now, errcode.Unauthenticated},
			{"other key", func(u *url.URL, q url.Values) { u.Path = strings.Replace(u.Path, "acme", "evil", 1); u.RawPath = "" }, "GET", now, errcode.Unauthenticated},
			{"outside base", func(u *url.URL, q url.Values) { u.Path = "/elsewhere/x"; u.RawPath = "" }, "GET", now, errcode.Unauthenticated},
		}
		for _, tc := range tests {
			if tc.mutate == nil {
				if tc.code == "" { // a signer with another secret
					other, _ := NewURLSigner(base, []byte("another secret of 16+ bytes"))
					if _, _, err := other.Verify("GET", signed, now); !errors.Is(err, errcode.Unauthenticated) {
						t.Errorf("%s: %v", tc.name, err)
					}
					continue
				}
				if _, _, err := s.Verify(tc.method, signed, tc.at); !errors.Is(err, tc.code) {
					t.Errorf("base %s, %s: %v; want %s", base, tc.name, err, tc.code)
				}
				continue
			}
			m := *u
			q := m.Query()
			tc.mutate(&m, q)
			m.RawQuery = q.Encode()
			if _, _, err := s.Verify(tc.method, m.String(), tc.at); !errors.Is(err, tc.code) {
				t.Errorf("base %s, %s: %v; want %s", base, tc.name, err, tc.code)
			}
		}
	}
	if _, err := NewURLSigner("/blob", []byte("short")); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("short secret: %v", err)
	}
	if _, err := NewURLSigner("/blob?x=1", secret); !errors.Is(err, errcode.Invalid) {
		t.Fatalf("base with query: %v", err)
	}
	s, _ := NewURLSigner("/blob", secret)
	put := s.Sign("k", "PUT", now.Add(time.Minute), "video/mp4")
	if _, ct, err := s.Verify("PUT", put, now); err != nil || ct != "video/mp4" {
		t.Fatalf("PUT: %q %v", ct, err)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestNormalizeMetadata(t *testing.T) {
	md, err := normalizeMetadata("k", map[string]string{"Tenant-ID": "acme", "x_y": "ü"})
	if err != nil || md["tenant-id"] != "acme" || md["x_y"] != "ü" || len(md) != 2 {
		t.Fatalf("normalizeMetadata = %v, %v", md, err)
	}
	if md, err := normalizeMetadata("k", nil); md != nil || err != nil {
		t.Fatalf("empty metadata = %v, %v", md, err)
	}
	bad := map[string]map[string]string{
		"empty metadata key": {"": "v"},
		`character ' '`:      {"a b": "v"},
		"reserved prefix":    {"Landfall-X": "v"},
		"given twice":        {"A": "1", "a": "2"},
		"not valid UTF-8":    {"k": "\xff"},
		"control character":  {"k": "a\rb"},
		"the limit is 2048":  {"k": strings.Repeat("x", 2048)},
	}
	for want, m := range bad {
		_, err := normalizeMetadata("the/key", m)
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), `"the/key"`) {
			t.Errorf("normalizeMetadata(%q) = %v; want InvalidArgument mentioning %q and the key", m, err, want)
		}
	}
}

// FuzzVerifySignedURL feeds arbitrary URLs to the verifier: it must not
// panic, and must accept only what the signer produced.
func FuzzVerifySignedURL(f *testing.F) {
	secret := []byte("0123456789abcdef0123")
	s, _ := NewURLSigner("/blob", secret)
	now := time.Unix(1_800_000_000, 0)
	good := s.Sign("incoming/acme/a b.mp4", "GET", now.Add(time.Hour), "")
	f.Add(good, "GET")
	f.Add(s.Sign("k", "PUT", now.Add(time.Minute), "video/mp4"), "PUT")
	f.Add("/blob/x?lf-signature=&lf-expires=1", "GET")
	f.Add("/blob/%zz", "GET")
	f.Add("http://[::1]:namedport/blob/x", "GET")
	f.Fuzz(func(t *testing.T, raw, method string) {
		if len(raw) > 4096 {
			return
		}
		key, _, err := s.Verify(method, raw, now)
		if err != nil {
			if c := errcode.Of(err); c != errcode.Invalid && c != errcode.Unauthenticated && c != errcode.PermissionDenied {
				t.Fatalf("Verify(%q) error has code %s: %v", raw, c, err)
			}
			return
		}
		if ValidateKey(key) != nil {
			t.Fatalf("Verify(%q) granted the invalid key %q", raw, key)
		}
		// Whatever verified must be exactly what the signer would make for
		// that key, method, expiry and content type.
		u, _ := url.Parse(raw)
		q := u.Query()
		var unix int64
		fmt.Sscan(q.Get(ParamExpires), &unix)
		again := s.Sign(key, q.Get(ParamMethod), time.Unix(unix, 0), q.Get(ParamContentType))
		au, _ := url.Parse(again)
		if au.Query().Get(ParamSignature) != q.Get(ParamSignature) {
			t.Fatalf("Verify(%q) accepted a signature the signer does not make", raw)
		}
	})
}
