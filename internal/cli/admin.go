package cli

import (
	"context"
	"fmt"

	"github.com/landfall/landfall/catalog"
	_ "github.com/landfall/landfall/catalog/postgres"
	_ "github.com/landfall/landfall/catalog/sqlite"
)

func init() {
	Register(Command{Name: "tenants create", Usage: "ID [--name NAME] [--data DIR|--config FILE]", Summary: "create a tenant in the catalog", Run: tenantsCreate})
	Register(Command{Name: "tenants list", Usage: "[--data DIR|--config FILE]", Summary: "list tenants", Run: tenantsList})
	Register(Command{Name: "keys create", Usage: "--tenant ID [--name NAME] [--data DIR|--config FILE]", Summary: "create an API key scoped to one tenant (printed once)", Run: keysCreate})
}

func openCatalog(ctx context.Context, env *Env, cfgPath, data string) (catalog.Store, error) {
	cfg, err := loadConfig(env, cfgPath, data)
	if err != nil {
		return nil, err
	}
	return catalog.Open(ctx, cfg.DB)
}

func tenantsCreate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "tenants create")
	data := fs.String("data", "", "data folder")
	cfgPath := fs.String("config", "", "configuration file")
	name := fs.String("name", "", "display name")
	id, err := oneArg(fs, args, "tenant id")
	if err != nil {
		return err
	}
	st, err := openCatalog(ctx, env, *cfgPath, *data)
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
	data := fs.String("data", "", "data folder")
	cfgPath := fs.String("config", "", "configuration file")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	st, err := openCatalog(ctx, env, *cfgPath, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	ts, err := st.TenantList(ctx, &catalog.TenantListParams{})
	if err != nil {
		return err
	}
	for _, t := range ts {
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format("2006-01-02T15:04:05Z07:00"))
	}
	return nil
}

func keysCreate(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "keys create")
	data := fs.String("data", "", "data folder")
	cfgPath := fs.String("config", "", "configuration file")
	tenant := fs.String("tenant", "", "tenant the key is scoped to")
	name := fs.String("name", "", "what the key is for")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	if *tenant == "" {
		return UsageError("keys create: --tenant is required")
	}
	st, err := openCatalog(ctx, env, *cfgPath, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: *tenant, Name: *name})
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "%s\n", k.Key)
	fmt.Fprintf(env.Stderr, "API key %s for tenant %s: shown once, store it now\n", k.APIKey.ID, *tenant)
	return nil
}
