package identity

import (
	"context"
	"strings"
	"testing"
)

func TestWhoActsForWhom(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		p            Principal
		acme, globex bool
		installation bool
	}{
		{Principal{Role: RoleAdmin}, true, true, true},
		{Principal{Role: RoleAdmin, Tenant: "acme"}, true, true, true},
		{Principal{Role: RoleTenant, Tenant: "acme"}, true, false, false},
		{Principal{Role: RoleReviewer, Tenant: "acme"}, true, false, false},
		{Principal{Role: RoleAnonymous, Tenant: "acme"}, true, false, true},
		{Principal{Role: RoleOperator}, false, false, false},
		{Principal{Role: RoleTenant}, false, false, false},
		{Principal{}, false, false, false},
	} {
		if got := c.p.ActsFor("acme"); got != c.acme {
			t.Errorf("%v acts for acme: %v", c.p, got)
		}
		if got := c.p.ActsFor("globex"); got != c.globex {
			t.Errorf("%v acts for globex: %v", c.p, got)
		}
		if got := c.p.Installation(); got != c.installation {
			t.Errorf("%v administers: %v", c.p, got)
		}
		// Only an admin acts for work of no tenant.
		if got := c.p.ActsFor(""); got != (c.p.Role == RoleAdmin) {
			t.Errorf("%v acts for the empty tenant: %v", c.p, got)
		}
	}
	if s := (Principal{Role: RoleReviewer, Tenant: "acme", KeyID: "0123"}).String(); s != "reviewer:acme/0123" {
		t.Errorf("String = %q", s)
	}
	if _, err := ParseRole("anonymous"); err == nil {
		t.Error("keys cannot be anonymous")
	}
	ctx := NewContext(context.Background(), Principal{Role: RoleOperator})
	if p, ok := FromContext(ctx); !ok || p.Role != RoleOperator {
		t.Errorf("FromContext = %v %v", p, ok)
	}
	if _, ok := FromContext(context.Background()); ok {
		t.Error("a bare context has a principal")
	}
}

func FuzzCheckTenantID(f *testing.F) {
	for _, s := range []string{"acme", "a-b_c", "-a", "A", "", "a/b", "..", strings.Repeat("a", 64), "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckTenantID(s) != nil {
			return
		}
		// An accepted id is one safe path segment of bucket keys.
		if s == "" || len(s) > 63 || strings.ContainsAny(s, "/\\. \x00") || s[0] == '-' || s[0] == '_' || strings.ToLower(s) != s {
			t.Fatalf("CheckTenantID accepted %q", s)
		}
	})
}
