package search_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// The catalog keeps vector index parts per tenant and model: another
// tenant reads none of them, a header with Parts drops the parts past
// it, an unknown tenant is refused, and deleting a tenant drops its
// parts.
func TestVectorIndexStore(t *testing.T) {
	drivers(t, func(t *testing.T, open opener) {
		st := open(t)
		ctx := context.Background()
		for _, id := range []string{"acme", "globex"} {
			if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
				t.Fatal(err)
			}
		}
		vs := st.(catalog.VectorIndexStore)
		put := func(tenant string, part, parts int, data string) error {
			return vs.SearchVectorIndexPut(ctx, &catalog.SearchVectorIndexPutParams{TenantID: tenant, Model: "m", Part: part, Parts: parts, Data: []byte(data)})
		}
		for i, d := range []string{"head", "one", "two", "three"} {
			if err := put("acme", i, 0, d); err != nil {
				t.Fatal(err)
			}
		}
		if err := put("acme", 0, 3, "head2"); err != nil {
			t.Fatal(err)
		}
		get := func(tenant string, part int) []byte {
			b, err := vs.SearchVectorIndexGet(ctx, tenant, "m", part)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		if !bytes.Equal(get("acme", 0), []byte("head2")) || !bytes.Equal(get("acme", 2), []byte("two")) || get("acme", 3) != nil {
			t.Fatalf("parts: %q %q %q", get("acme", 0), get("acme", 2), get("acme", 3))
		}
		if get("globex", 0) != nil || get("globex", 1) != nil {
			t.Fatal("another tenant read acme's vector index")
		}
		if err := put("nobody", 0, 0, "x"); errcode.Of(err) != errcode.NotFound {
			t.Fatalf("unknown tenant: %v", err)
		}
		if err := st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "acme"}); err != nil {
			t.Fatal(err)
		}
		if get("acme", 0) != nil {
			t.Fatal("a deleted tenant's vector index remains")
		}
	})
}
