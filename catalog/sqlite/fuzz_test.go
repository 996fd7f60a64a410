package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// FuzzSearchQuery runs sanitised user queries against a real FTS5 index:
// whatever the input, the answer is hits or an Invalid error, never an
// SQLite syntax error.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{"comet", `"new comet" -x OR y*`, "NEAR(a b)", `body:x`, `a AND OR NOT b`, `"`, `*`, `^a`, "\u0301x", "ÿ*"} {
		f.Add(s)
	}
	ctx := context.Background()
	st, err := catalog.Open(ctx, "sqlite://"+filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		f.Fatal(err)
	}
	m, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "k", Status: types.StatusProcessing})
	if err != nil {
		f.Fatal(err)
	}
	if _, err := st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Summary: "A new comet near Jupiter; e-mail the astronomers.",
		Transcript: &types.Transcript{Text: "Naïve café owners watched the comet. NEAR the body of water.", Duration: 5}}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: s})
		if err != nil && errcode.Of(err) != errcode.Invalid {
			t.Fatalf("query %q: %v", s, err)
		}
	})
}
