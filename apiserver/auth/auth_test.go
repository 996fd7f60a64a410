package auth

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

func TestLoadSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", SecretFile)
	a, err := LoadSecret(path)
	if err != nil || len(a) != 32 {
		t.Fatalf("create: %x %v", a, err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
	b, err := LoadSecret(path)
	if err != nil || !bytes.Equal(a, b) {
		t.Fatalf("reload: %v", err)
	}
	os.Chmod(path, 0o644)
	if _, err := LoadSecret(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable secret: %v", err)
	}
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte("abcd\n"), 0o600)
	if _, err := LoadSecret(short); err == nil || !strings.Contains(err.Error(), "want at least 32") {
		t.Fatalf("short secret: %v", err)
	}
}

func newAuth(t *testing.T) (*Authenticator, catalog.Store, *time.Time) {
	t.Helper()
	ctx := context.Background()
	cat, err := catalog.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cat.Close() })
	cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"})
	now := time.Unix(1_800_000_000, 0)
	return &Authenticator{Catalog: cat, Secret: bytes.Repeat([]byte{1}, 32), Now: func() time.Time { return now }}, cat, &now
}

func TestSecretAccessKeys(t *testing.T) {
	t.Parallel()
	a, cat, _ := newAuth(t)
	ctx := context.Background()
	k, _ := cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
	id, sec := a.Credentials(k.APIKey)
	if len(id) != 20 || len(sec) != 40 || !strings.HasPrefix(id, "LFAK") {
		t.Fatalf("credentials %q %q", id, sec)
	}
	if a.SecretAccessKey(k.APIKey.ID, 2) == sec {
		t.Fatal("the next generation has the same secret")
	}
	other := &Authenticator{Secret: bytes.Repeat([]byte{2}, 32)}
	if other.SecretAccessKey(k.APIKey.ID, 1) == sec {
		t.Fatal("another installation derives the same secret")
	}
	got, p, err := a.LookupAccessKey(ctx, id)
	if err != nil || got != sec || p != (identity.Principal{Role: identity.RoleTenant, Tenant: "acme", KeyID: k.APIKey.ID}) {
		t.Fatalf("lookup: %q %v %v", got, p, err)
	}
	for _, bad := range []string{"", "AKIAIOSFODNN7EXAMPLE", strings.ToLower(id), "LFAK0000000000000000"} {
		if _, _, err := a.LookupAccessKey(ctx, bad); errcode.Of(err) != errcode.Unauthenticated {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestSignedURLScope(t *testing.T) {
	t.Parallel()
	a, _, now := newAuth(t)
	ctx := context.Background()
	p := identity.Principal{Role: identity.RoleAnonymous, Tenant: "acme"}
	u, exp := a.SignURL(p, "acme", "/v1/media/m1/original", 0)
	if !exp.Equal(now.Add(DefaultURLTTL)) {
		t.Fatalf("expiry %v", exp)
	}
	got, err := a.VerifyURL(ctx, httptest.NewRequest("GET", u, nil))
	if err != nil || got.Tenant != "acme" || got.Role != identity.RoleAnonymous {
		t.Fatalf("verify: %v %v", got, err)
	}
	if _, err := a.VerifyURL(ctx, httptest.NewRequest("HEAD", u, nil)); err != nil {
		t.Fatalf("HEAD: %v", err)
	}
	for name, u := range map[string]string{
		"method": u,
		"path":   strings.Replace(u, "m1", "m2", 1),
		"twice":  u + "&tenant=acme",
		"exp":    strings.Replace(u, "expires=", "expires=1", 1),
	} {
		method := "GET"
		if name == "method" {
			method = "DELETE"
		}
		if _, err := a.VerifyURL(ctx, httptest.NewRequest(method, u, nil)); errcode.Of(err) != errcode.Unauthenticated {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, exp := a.SignURL(p, "acme", "/x", 48*time.Hour); exp.Sub(*now) != MaxURLTTL {
		t.Fatalf("ttl not capped: %v", exp.Sub(*now))
	}
}

func FuzzVerifyURL(f *testing.F) {
	a := &Authenticator{Secret: bytes.Repeat([]byte{1}, 32), Now: func() time.Time { return time.Unix(1_800_000_000, 0) }}
	good, _ := a.SignURL(identity.Principal{Role: identity.RoleAnonymous}, "acme", "/v1/media/m1/original", 0)
	f.Add(good)
	f.Add("/v1/media/m1/original?tenant=acme&key_id=&expires=1&signature=AAAA")
	f.Add("/?signature=%zz")
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t#") {
			return
		}
		r, err := http.NewRequest("GET", "http://x"+target, nil)
		if err != nil {
			return
		}
		p, err := a.VerifyURL(context.Background(), r)
		if err == nil {
			// Only what the server signed verifies.
			if target != good || p.Tenant != "acme" {
				t.Fatalf("%q verified as %v", target, p)
			}
			return
		}
		if c := errcode.Of(err); c != errcode.Unauthenticated {
			t.Fatalf("%q: code %s (%v)", target, c, err)
		}
	})
}
