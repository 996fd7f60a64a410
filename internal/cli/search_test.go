package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
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
