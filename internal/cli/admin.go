package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/landfall/landfall/apiserver/auth"
	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/postgres"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

func init() {
	Register(Command{Name: "tenants create", Usage: "ID [--name NAME] [--data DIR|--config FILE]", Summary: "create a tenant in the catalog", Run: tenantsCreate})
	Register(Command{Name: "tenants list", Usage: "[--data DIR|--config FILE]", Summary: "list tenants", Run: tenantsList})
	Register(Command{Name: "tenants disable", Usage: "ID [--data DIR|--config FILE]", Summary: "disable a tenant: its keys stop working at once, its data stays", Run: tenantsSet("disable")})
	Register(Command{Name: "tenants enable", Usage: "ID [--data DIR|--config FILE]", Summary: "enable a disabled tenant again", Run: tenantsSet("enable")})
	Register(Command{Name: "tenants delete", Usage: "ID [--data DIR|--config FILE]", Summary: "delete a tenant without media, and its keys", Run: tenantsSet("delete")})
	Register(Command{Name: "keys create", Usage: "--tenant ID [--role tenant|reviewer] | --role admin|operator [--name NAME] [--expires 720h] [--data DIR|--config FILE]",
		Summary: "create an API key (printed once, with its access key id and secret access key)", Run: keysCreate})
	Register(Command{Name: "keys list", Usage: "[--tenant ID] [--data DIR|--config FILE]", Summary: "list API keys (never their secrets)", Run: keysList})
	Register(Command{Name: "keys revoke", Usage: "ID [--data DIR|--config FILE]", Summary: "revoke an API key for good", Run: keysRevoke})
	Register(Command{Name: "keys rotate", Usage: "ID [--data DIR|--config FILE]", Summary: "replace an API key's secrets (printed once); the old ones stop working", Run: keysRotate})
	Register(Command{Name: "keys expire", Usage: "ID --at TIME [--data DIR|--config FILE]", Summary: "set when an API key stops working (RFC 3339, or now)", Run: keysExpire})
}

// catalogFlags are the flags every catalog command takes.
type catalogFlags struct{ data, cfgPath *string }

func addCatalogFlags(fs interface {
	String(name, value, usage string) *string
}) catalogFlags {
	return catalogFlags{data: fs.String("data", "", "data folder"), cfgPath: fs.String("config", "", "configuration file")}
}

func (c catalogFlags) open(ctx context.Context, env *Env) (catalog.Store, *config.Config, error) {
	cfg, err := loadConfig(env, *c.cfgPath, *c.data)
	if err != nil {
		return nil, nil, err
	}
	if strings.HasPrefix(cfg.DB, "sqlite://") {
		// Keys may be made before the first start, which makes the folder.
		if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
			return nil, nil, err
		}
	}
	st, err := catalog.Open(ctx, cfg.DB)
	return st, cfg, err
}

func tenantsCreate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "tenants create")
	cf := addCatalogFlags(fs)
	name := fs.String("name", "", "display name")
	id, err := oneArg(fs, args, "tenant id")
	if err != nil {
		return err
	}
	st, _, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id, Name: *name})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "tenant %s created\n", t.ID)
	return nil
}

func tenantsList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "tenants list")
	cf := addCatalogFlags(fs)
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.TenantList(ctx, &catalog.TenantListParams{})
	if err != nil {
		return err
	}
	for _, t := range ts {
		state := "enabled"
		if t.DisabledAt != nil {
			state = "disabled since " + t.DisabledAt.Format(time.RFC3339)
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339), state)
	}
	return nil
}

func tenantsSet(op string) func(ctx context.Context, env *Env, args []string) error {
	return func(ctx context.Context, env *Env, args []string) error {
		fs := NewFlagSet(env, "tenants "+op)
		cf := addCatalogFlags(fs)
		id, err := oneArg(fs, args, "tenant id")
		if err != nil {
			return err
		}
		st, _, err := cf.open(ctx, env)
		if err != nil {
			return err
		}
		defer st.Close()
		switch op {
		case "disable":
			_, err = st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: id})
		case "enable":
			_, err = st.TenantEnable(ctx, &catalog.TenantEnableParams{ID: id})
		case "delete":
			err = st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: id})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "tenant %s %sd\n", id, strings.TrimSuffix(op, "e"))
		return nil
	}
}

// printNewKey prints a key's secrets, shown this once: the API key on
// stdout's first line, then its access key id and secret access key.
func printNewKey(env *Env, cfg *config.Config, res *catalog.APIKeyCreateResult, what string) error {
	secret, err := auth.LoadSecret(cfg.SecretFile)
	if err != nil {
		return err
	}
	a := &auth.Authenticator{Secret: secret}
	akid, sak := a.Credentials(res.APIKey)
	fmt.Fprintf(env.Stdout, "%s\naccess_key_id=%s\nsecret_access_key=%s\n", res.Key, akid, sak)
	scope := string(res.APIKey.Role) + " key"
	if res.APIKey.TenantID != "" {
		scope += " for tenant " + res.APIKey.TenantID
	}
	exp := ""
	if res.APIKey.ExpiresAt != nil {
		exp = ", expires " + res.APIKey.ExpiresAt.Format(time.RFC3339)
	}
	fmt.Fprintf(env.Stderr, "API key %s (%s%s) %s: shown once, store it now\n", res.APIKey.ID, scope, exp, what)
	return nil
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys create")
	cf := addCatalogFlags(fs)
	tenant := fs.String("tenant", "", "tenant a tenant or reviewer key belongs to")
	role := fs.String("role", "", "tenant (default with --tenant), reviewer, admin or operator")
	name := fs.String("name", "", "what the key is for")
	expires := fs.Duration("expires", 0, "the key stops working after this long (e.g. 720h); default never")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return UsageError("keys create: unexpected argument %q", rest[0])
	}
	r := identity.RoleTenant
	if *role != "" {
		if r, err = identity.ParseRole(*role); err != nil {
			return UsageError("keys create: --role: %v", err)
		}
	}
	switch {
	case (r == identity.RoleTenant || r == identity.RoleReviewer) && *tenant == "":
		return UsageError("keys create: --tenant is required for a %s key", r)
	case (r == identity.RoleAdmin || r == identity.RoleOperator) && *tenant != "":
		return UsageError("keys create: %s keys belong to no tenant; drop --tenant", r)
	case *expires < 0:
		return UsageError("keys create: --expires: %s is negative", *expires)
	}
	st, cfg, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, t := range cfg.Tenants {
		if t.ID == *tenant {
			// A configured tenant exists from the first start on; create
			// it now so keys can be made before that.
			if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: t.ID, IfNotExists: true}); err != nil {
				return err
			}
		}
	}
	p := &catalog.APIKeyCreateParams{Role: r, TenantID: *tenant, Name: *name}
	if *expires > 0 {
		p.ExpiresAt = time.Now().Add(*expires)
	}
	res, err := st.APIKeyCreate(ctx, p)
	if errcode.Of(err) == errcode.NotFound && *tenant != "" {
		return fmt.Errorf("%w\n  create the tenant first with `landfall tenants create %s`, or list it under tenants: in the configuration", err, *tenant)
	}
	if err != nil {
		return err
	}
	return printNewKey(env, cfg, res, "created")
}

func keysList(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys list")
	cf := addCatalogFlags(fs)
	tenant := fs.String("tenant", "", "only this tenant's keys")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	st, _, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := st.APIKeyList(ctx, &catalog.APIKeyListParams{TenantID: *tenant})
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "ID\tACCESS KEY ID\tROLE\tTENANT\tNAME\tCREATED\tGENERATION\tSTATE")
	now := time.Now()
	for _, k := range keys {
		state := "active"
		switch {
		case k.RevokedAt != nil:
			state = "revoked " + k.RevokedAt.Format(time.RFC3339)
		case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
			state = "expired " + k.ExpiresAt.Format(time.RFC3339)
		case k.ExpiresAt != nil:
			state = "expires " + k.ExpiresAt.Format(time.RFC3339)
		}
		tenant := k.TenantID
		if tenant == "" {
			tenant = "-"
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", k.ID, catalog.AccessKeyID(k.ID), k.Role, tenant, k.Name,
			k.CreatedAt.Format(time.RFC3339), k.Generation, state)
	}
	return nil
}

func keysRevoke(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys revoke")
	cf := addCatalogFlags(fs)
	id, err := oneArg(fs, args, "key id")
	if err != nil {
		return err
	}
	st, _, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: id})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "API key %s revoked at %s\n", k.ID, k.RevokedAt.Format(time.RFC3339))
	return nil
}

func keysRotate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys rotate")
	cf := addCatalogFlags(fs)
	id, err := oneArg(fs, args, "key id")
	if err != nil {
		return err
	}
	st, cfg, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{ID: id})
	if err != nil {
		return err
	}
	return printNewKey(env, cfg, res, fmt.Sprintf("rotated to generation %d", res.APIKey.Generation))
}

func keysExpire(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys expire")
	cf := addCatalogFlags(fs)
	at := fs.String("at", "", "when the key stops working: an RFC 3339 time, or now")
	id, err := oneArg(fs, args, "key id")
	if err != nil {
		return err
	}
	var when time.Time
	switch *at {
	case "":
		return UsageError("keys expire: --at is required (an RFC 3339 time, or now)")
	case "now":
		when = time.Now()
	default:
		if when, err = time.Parse(time.RFC3339, *at); err != nil {
			return UsageError("keys expire: --at: %q is not an RFC 3339 time such as 2026-12-31T23:59:59Z", *at)
		}
	}
	st, _, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.APIKeyExpire(ctx, &catalog.APIKeyExpireParams{ID: id, At: when})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "API key %s expires at %s\n", k.ID, k.ExpiresAt.Format(time.RFC3339))
	return nil
}
