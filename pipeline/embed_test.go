package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/searchtest"
)

// countingConcepts is the test embedding model, reporting a token per word.
type countingConcepts struct{ searchtest.Concepts }

func (c *countingConcepts) Model() string { return "test:concepts" }
func (c *countingConcepts) EmbedCounted(ctx context.Context, texts []string) ([][]float32, int, error) {
	v, err := c.Embed(ctx, texts)
	n := 0
	for _, t := range texts {
		n += len(strings.Fields(t))
	}
	return v, n, err
}

// The Embed state stores the vectors of the item's entries, records the
// tokens in the usage ledger, refuses another tenant's item, and says so
// when no provider is configured.
func TestEmbedTask(t *testing.T) {
	b := setup(t)
	idx := b.cat.(catalog.SearchIndex)
	if err := idx.SearchIndexReplace(b.ctx, &catalog.SearchIndexReplaceParams{TenantID: "a", MediaID: b.a.ID,
		Entries: search.Entries(b.a, nil), Version: search.IndexVersion}); err != nil {
		t.Fatal(err)
	}
	out, err := b.call(t, b.tasks.Embed, "a", map[string]any{"media": ref(b.a)})
	if err != nil || !strings.Contains(string(out), "no embedding provider is configured") {
		t.Fatalf("without a provider: %s %v", out, err)
	}
	b.tasks.opt.Embedder = &countingConcepts{}
	out, err = b.call(t, b.tasks.Embed, "a", map[string]any{"media": ref(b.a)})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Embedded int    `json:"embedded"`
		Model    string `json:"model"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Embedded != 1 || res.Model != "test:concepts" {
		t.Fatalf("embed: %s %v", out, err)
	}
	pend, err := b.cat.(catalog.VectorIndex).SearchEmbedPending(b.ctx, &catalog.SearchEmbedPendingParams{TenantID: "a", Model: "test:concepts"})
	if err != nil || len(pend) != 0 {
		t.Fatalf("still pending: %v %v", pend, err)
	}
	rep, err := b.cat.UsageTotals(b.ctx, &catalog.UsageTotalsParams{TenantID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(rep)
	if !strings.Contains(string(raw), "analyser.embed.test") {
		t.Fatalf("usage ledger has no embedding entry: %s", raw)
	}
	// B's execution naming A's item is refused.
	if _, err := b.call(t, b.tasks.Embed, "b", map[string]any{"media": ref(b.a)}); err == nil {
		t.Fatal("B embedded A's media")
	}
}
