// Package identity names who is calling Landfall and for whom work runs: a
// Principal (role, tenant, key) travels in a request's context, and an
// execution's tenant is fixed from it when the execution starts. It is a
// leaf package: every layer may import it, it imports nothing of Landfall's.
package identity

import (
	"context"
	"fmt"
)

// Role is what a principal may do.
type Role string

const (
	// RoleAnonymous is a caller of an open installation (no tenants
	// configured, loopback by default): it acts for the default tenant and
	// may administer the installation.
	RoleAnonymous Role = "anonymous"
	// RoleAdmin administers the installation: its state machines, tenants
	// and keys. It may act for any tenant.
	RoleAdmin Role = "admin"
	// RoleTenant uses one tenant's media, executions and rules.
	RoleTenant Role = "tenant"
	// RoleReviewer reviews one tenant's work: it reaches the tenant's
	// review queue and the items in it (while they wait, or after it
	// decided them), and decides them; nothing else of the tenant's.
	RoleReviewer Role = "reviewer"
	// RoleOperator reads metrics and health, and nothing of any tenant.
	RoleOperator Role = "operator"
)

// Roles lists the roles a key may be created with.
var Roles = []Role{RoleAdmin, RoleTenant, RoleReviewer, RoleOperator}

// ParseRole checks a role name.
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("role %q: want one of admin, tenant, reviewer, operator", s)
}

// Principal is an authenticated caller.
type Principal struct {
	Role Role
	// Tenant is the tenant a tenant or reviewer key is scoped to, or the
	// tenant an open installation's caller names (?tenant=, else the
	// default). An admin has one only while acting for a tenant it named
	// with ?tenant=; an operator never has one.
	Tenant string
	// KeyID is the public id of the key that authenticated the request
	// (empty on open installations).
	KeyID string
}

// Installation reports whether p may administer the installation (state
// machines, tenants, keys).
func (p Principal) Installation() bool { return p.Role == RoleAdmin || p.Role == RoleAnonymous }

// ActsFor reports whether p may read and change tenant's work.
func (p Principal) ActsFor(tenant string) bool {
	switch p.Role {
	case RoleAdmin:
		return true
	case RoleTenant, RoleReviewer, RoleAnonymous:
		return p.Tenant != "" && p.Tenant == tenant
	}
	return false
}

// String names the principal for logs and audit trails.
func (p Principal) String() string {
	s := string(p.Role)
	if p.Tenant != "" {
		s += ":" + p.Tenant
	}
	if p.KeyID != "" {
		s += "/" + p.KeyID
	}
	return s
}

type ctxKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal ctx carries.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// CheckTenantID checks a tenant id: 1–63 of a-z, 0-9, '-' and '_', starting
// with a letter or digit. Tenant ids appear in bucket keys and paths, so
// nothing else is ever accepted as one.
func CheckTenantID(id string) error {
	if len(id) == 0 || len(id) > 63 {
		return fmt.Errorf("tenant id %q: want 1–63 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return fmt.Errorf("tenant id %q: want a-z, 0-9, '-' and '_', starting with a letter or digit", id)
		}
	}
	return nil
}
