package pipeline

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/errcode"
)

// Embed computes the embedding vectors of the item's search entries with
// the configured embedding provider and stores them in the catalog, so
// search can rank by meaning. Without a provider it returns at once and
// says so in its output (the execution's history shows it).
func (t *Tasks) Embed(ctx context.Context, c Call) (json.RawMessage, error) {
	var in TaskInput
	if err := decodeInput(c, &in); err != nil {
		return nil, err
	}
	s, err := t.scope(c)
	if err != nil {
		return nil, err
	}
	if _, err := s.Media(ctx, &in.Media, "/media"); err != nil {
		return nil, err
	}
	if t.opt.Embedder == nil {
		return json.Marshal(map[string]any{"media_id": in.Media.ID, "embedded": 0,
			"skipped": "no embedding provider is configured (analysers.embed: openai, with openai.embedding_model; or aws, with aws.embedding_model)"})
	}
	n, tokens, err := s.Catalog.Embed(ctx, t.opt.Embedder, in.Media.ID)
	if tokens > 0 {
		// Spent tokens are priced and recorded even when storing failed.
		provider, _, _ := strings.Cut(t.opt.Embedder.Model(), ":")
		t.recordUsage(ctx, s, in.Media.ID, analyser.Usage{Analyser: "analyser.embed." + provider, InputTokens: tokens})
	}
	if err != nil {
		return nil, err
	}
	t.log.Info("pipeline: embedded", "media_id", in.Media.ID, "tenant", s.Tenant, "entries", n, "model", t.opt.Embedder.Model())
	return json.Marshal(map[string]any{"media_id": in.Media.ID, "embedded": n, "model": t.opt.Embedder.Model()})
}

// Embed stores the vectors of one of the tenant's media items' search
// entries, computed with emb.
func (c *TenantCatalog) Embed(ctx context.Context, emb search.Embedder, mediaID string) (entries, tokens int, err error) {
	vi, ok := c.st.(catalog.VectorIndex)
	if !ok {
		return 0, 0, errcode.New(errcode.NotImplemented, "catalog %s stores no vectors", c.st.Name())
	}
	return search.EmbedMediaCounted(ctx, vi, emb, c.tenant, mediaID)
}
