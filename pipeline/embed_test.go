package pipeline

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/analyser/aws/bedrocktest"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/searchtest"
	"github.com/landfall/landfall/types"
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

// A reviewed version that leaves the transcript as it was keeps the
// stored transcript's words in the search index.
func TestPublishedReviewKeepsTranscriptInIndex(t *testing.T) {
	b := setup(t)
	s, err := NewScope("a", "landfall", b.bucket, b.cat)
	if err != nil {
		t.Fatal(err)
	}
	tr := &types.Transcript{Duration: 3, Words: []types.Word{{Text: "zanzibar", Start: 1, End: 1.5}}}
	keys, err := b.tasks.writeTranscript(b.ctx, s, b.a.ID, tr)
	if err != nil {
		t.Fatal(err)
	}
	row, err := b.cat.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: b.a.ID, TranscriptKey: keys.transcript})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Catalog.SearchIndex(b.ctx, row, tr); err != nil {
		t.Fatal(err)
	}
	if _, err := b.tasks.PublishReviewDoc(b.ctx, s, b.a.ID, &ReviewDoc{Insights: &types.Insights{Summary: "Reviewed."}}); err != nil {
		t.Fatal(err)
	}
	res, err := search.New(b.cat.(catalog.SearchIndex), search.Options{}).Search(b.ctx, &search.Params{TenantID: "a", Query: "zanzibar"})
	if err != nil || len(res.Groups) != 1 || res.Groups[0].Hits[0].Start != 1 {
		t.Fatalf("after review: %+v %v", res, err)
	}
}

// The Embed state computes the item's vectors with Amazon Bedrock (Cohere
// Embed through signed InvokeModel calls to a loopback Bedrock runtime),
// records its tokens under the aws provider, and a search embeds its
// query as a query and finds the item by meaning.
func TestEmbedTaskBedrock(t *testing.T) {
	b := setup(t)
	srv := bedrocktest.New()
	defer srv.Close()
	ac := awssdk.Config{Region: bedrocktest.Region, Credentials: credentials.NewStaticCredentialsProvider(bedrocktest.AccessKey, bedrocktest.SecretKey, ""), RetryMaxAttempts: 1}
	c, err := awsprov.New(b.ctx, awsprov.Config{Endpoint: srv.URL, AWS: &ac})
	if err != nil {
		t.Fatal(err)
	}
	emb := &awsprov.Embedder{C: c, ModelID: "cohere.embed-english-v3"}
	m := *b.a
	m.Summary = "The physician explained the new clinic."
	idx := b.cat.(catalog.SearchIndex)
	if err := idx.SearchIndexReplace(b.ctx, &catalog.SearchIndexReplaceParams{TenantID: "a", MediaID: b.a.ID,
		Entries: search.Entries(&m, nil), Version: search.IndexVersion}); err != nil {
		t.Fatal(err)
	}
	b.tasks.opt.Embedder = emb
	out, err := b.call(t, b.tasks.Embed, "a", map[string]any{"media": ref(b.a)})
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Embedded int    `json:"embedded"`
		Model    string `json:"model"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.Embedded != 1 || res.Model != "aws:cohere.embed-english-v3" {
		t.Fatalf("embed: %s %v", out, err)
	}
	if r := srv.Requests(); len(r) != 1 || r[0].Body["input_type"] != "search_document" {
		t.Fatalf("requests: %+v", r)
	}
	rep, err := b.cat.UsageTotals(b.ctx, &catalog.UsageTotalsParams{TenantID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(rep); !strings.Contains(string(raw), "analyser.embed.aws") {
		t.Fatalf("usage ledger has no Bedrock embedding entry: %s", raw)
	}
	found, err := search.New(idx, search.Options{Embedder: emb}).Search(b.ctx, &search.Params{TenantID: "a", Query: "doctor"})
	if err != nil {
		t.Fatal(err)
	}
	if !found.Vectors || len(found.Groups) != 1 || found.Groups[0].Hits[0].Match != search.MatchVector {
		t.Fatalf("doctor by meaning: %+v", found)
	}
	if r := srv.Requests(); r[len(r)-1].Body["input_type"] != "search_query" {
		t.Fatalf("query embedded as %v", r[len(r)-1].Body["input_type"])
	}
}
