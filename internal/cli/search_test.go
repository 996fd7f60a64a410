package cli

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/catalog/search/searchtest"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/types"
)

// TestSearchReindex indexes media finished before the index existed, from
// their records and stored transcripts; a rerun has nothing left to do.
func TestSearchReindex(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	if code, out, errs := run(t, "", "tenants", "create", "acme", "--data", data); code != 0 {
		t.Fatalf("tenants create: %d %s %s", code, out, errs)
	}
	cfg := config.Default(data)
	st, err := catalog.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	b, err := blob.OpenBucket(ctx, cfg.Blob)
	if err != nil {
		t.Fatal(err)
	}
	tr := &types.Transcript{Duration: 3, Words: []types.Word{{Text: "hello", Start: 0, End: 0.5}, {Text: "zanzibar", Start: 1, End: 1.6}}}
	tb, _ := json.Marshal(tr)
	key := "processed/acme/x/transcript.json"
	if err := b.WriteAll(ctx, key, tb, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"one.mp3", "two.mp3"} {
		m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/" + name, Filename: name, Status: types.StatusProcessing})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusSucceeded, TranscriptKey: key,
			Insights: &types.Insights{Summary: "A greeting."}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	b.Close()
	code, out, errs := run(t, "", "search", "reindex", "--data", data)
	if code != 0 || !strings.Contains(out, "one.mp3: 3 entries") || !strings.Contains(out, "reindexed 2 item(s), 6 entries; 0 failed") {
		t.Fatalf("reindex: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = run(t, "", "search", "reindex", "--data", data)
	if code != 0 || !strings.Contains(out, "reindexed 0 item(s)") {
		t.Fatalf("rerun: exit %d\n%s", code, out)
	}
	st, err = catalog.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := search.New(st.(catalog.SearchIndex), search.Options{}).Search(ctx, &search.Params{TenantID: "acme", Query: "zanzibar"})
	if err != nil || len(res.Groups) != 2 || res.Groups[0].Hits[0].Start != 1 {
		t.Fatalf("search after reindex: %+v %v", res, err)
	}
	if code, _, errs := run(t, "", "search", "reindex", "extra", "--data", data); code != ExitInvalid || !strings.Contains(errs, "unexpected argument") {
		t.Fatalf("extra argument: %d %s", code, errs)
	}
}

// TestSearchReembed embeds indexed media through an OpenAI-compatible
// embedding server on loopback; search then finds by meaning.
func TestSearchReembed(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(searchtest.Handler())
	defer srv.Close()
	data := t.TempDir()
	cfgPath := filepath.Join(data, "landfall.yaml")
	yaml := "data: " + data + "\nanalysers:\n  embed: openai\nopenai:\n  base_url: " + srv.URL + "/v1\n  embedding_model: concepts-384\n"
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := run(t, "", "tenants", "create", "acme", "--config", cfgPath); code != 0 {
		t.Fatalf("tenants create: %d %s %s", code, out, errs)
	}
	cfg := config.Default(data)
	st, err := catalog.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp3", Filename: "a.mp3", Status: types.StatusProcessing})
	if err != nil {
		t.Fatal(err)
	}
	m, err = st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusSucceeded, Insights: &types.Insights{Summary: "We bought a new car."}})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.(catalog.SearchIndex).SearchIndexReplace(ctx, &catalog.SearchIndexReplaceParams{TenantID: "acme", MediaID: m.ID,
		Entries: search.Entries(m, nil), Version: search.IndexVersion}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := run(t, "", "search", "reembed", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "embedded 1 item(s), 1 vectors with openai:concepts-384; 0 failed") {
		t.Fatalf("reembed: exit %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ = run(t, "", "search", "reembed", "--config", cfgPath); code != 0 || !strings.Contains(out, "embedded 0 item(s)") {
		t.Fatalf("rerun: %d %s", code, out)
	}
	if code, _, errs = run(t, "", "search", "reembed", "--data", t.TempDir()); code != ExitInvalid || !strings.Contains(errs, "analysers.embed") {
		t.Fatalf("without a provider: %d %s", code, errs)
	}
	st, err = catalog.Open(ctx, cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	emb, err := app.EmbedderFor(c)
	if err != nil {
		t.Fatal(err)
	}
	res, err := search.New(st.(catalog.SearchIndex), search.Options{Embedder: emb}).Search(ctx, &search.Params{TenantID: "acme", Query: "automobile"})
	if err != nil || len(res.Groups) != 1 || res.Groups[0].Hits[0].Match != search.MatchVector {
		t.Fatalf("search by meaning: %+v %v", res, err)
	}
}
