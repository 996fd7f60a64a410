package cli

import (
	"context"
	"fmt"

	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
)

func init() {
	Register(Command{Name: "search reindex", Usage: "[--tenant ID] [--all] [--data DIR|--config FILE]",
		Summary: "rebuild the search index of finished media (resumable: a rerun takes up what is left)", Run: searchReindex})
	Register(Command{Name: "search reembed", Usage: "[--tenant ID] [--data DIR|--config FILE]",
		Summary: "compute the embedding vectors of indexed media not embedded with the configured model (after a model change: all; resumable)", Run: searchReembed})
}

func searchReembed(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "search reembed")
	cf := addCatalogFlags(fs)
	tenant := fs.String("tenant", "", "only this tenant's media")
	quiet := fs.Bool("quiet", false, "print only the totals")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("search reembed: unexpected argument %q", rest[0])
	}
	st, cfg, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	emb, err := app.EmbedderFor(cfg)
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	if emb == nil {
		return &ExitError{Code: ExitInvalid, Err: fmt.Errorf("search reembed: no embedding provider is configured (set analysers.embed: openai, openai.base_url and openai.embedding_model, or analysers.embed: aws and aws.embedding_model, in --config)")}
	}
	rep, err := app.Reembed(ctx, st, emb, *tenant, func(m *catalog.Media, n int, err error) {
		name := m.Filename
		if name == "" {
			name = m.ID
		}
		switch {
		case err != nil:
			fmt.Fprintf(env.Stderr, "%s (%s, tenant %s): %v\n", name, m.ID, m.TenantID, err)
		case !*quiet:
			fmt.Fprintf(env.Stdout, "%s: %d vectors\n", name, n)
		}
	})
	if rep != nil {
		fmt.Fprintf(env.Stdout, "embedded %d item(s), %d vectors with %s; %d failed\n", rep.Items, rep.Entries, emb.Model(), rep.Failed)
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("search reembed: %d item(s) failed (listed above); a rerun retries them", rep.Failed)
	}
	return nil
}

func searchReindex(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "search reindex")
	cf := addCatalogFlags(fs)
	tenant := fs.String("tenant", "", "only this tenant's media")
	all := fs.Bool("all", false, "reindex every item, not only those not indexed by this version")
	quiet := fs.Bool("quiet", false, "print only the totals")
	rest, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return UsageError("search reindex: unexpected argument %q", rest[0])
	}
	st, cfg, err := cf.open(ctx, env)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := blob.OpenBucket(ctx, cfg.Blob)
	if err != nil {
		return fmt.Errorf("bucket: %w", err)
	}
	defer b.Close()
	rep, err := app.Reindex(ctx, st, b, app.ReindexParams{TenantID: *tenant, All: *all, Progress: func(m *catalog.Media, n int, err error) {
		name := m.Filename
		if name == "" {
			name = m.ID
		}
		switch {
		case err != nil:
			fmt.Fprintf(env.Stderr, "%s (%s, tenant %s): %v\n", name, m.ID, m.TenantID, err)
		case !*quiet:
			fmt.Fprintf(env.Stdout, "%s: %d entries\n", name, n)
		}
	}})
	if rep != nil {
		fmt.Fprintf(env.Stdout, "reindexed %d item(s), %d entries; %d failed\n", rep.Indexed, rep.Entries, rep.Failed)
	}
	if err != nil {
		return err
	}
	if rep.Failed > 0 {
		return fmt.Errorf("search reindex: %d item(s) failed (listed above); a rerun retries them", rep.Failed)
	}
	return nil
}
