package catalogtest

import (
	"database/sql"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// testTextValidation: NUL bytes and invalid UTF-8 in ids, names, filenames
// and queries are refused as InvalidArgument naming the field, before
// the database sees them (PostgreSQL would fail with an encoding error);
// a long name of multi-byte characters cut with catalog.TruncateText is
// stored and read back intact.
func testTextValidation(t *testing.T, b *bundle) {
	m := b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp4", Filename: "a.mp4"})
	for _, bad := range []struct {
		field, v string
	}{{"filename", "a\x00b.mp4"}, {"filename", "a\xffb.mp4"}, {"content_type", "video/mp4\x00"}} {
		p := catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/b.mp4", Filename: "b.mp4"}
		switch bad.field {
		case "filename":
			p.Filename = bad.v
		case "content_type":
			p.ContentType = bad.v
		}
		_, err := b.st.MediaCreate(b.ctx, &p)
		wantCode(t, err, errcode.Invalid, bad.field)
	}
	_, err := b.st.MediaGet(b.ctx, &catalog.MediaGetParams{ID: "a\x00b", TenantID: "acme"})
	wantCode(t, err, errcode.Invalid, "id")
	_, err = b.st.MediaGet(b.ctx, &catalog.MediaGetParams{ID: m.ID, TenantID: "ac\xffme"})
	wantCode(t, err, errcode.Invalid, "tenant_id")
	_, err = b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: "acme", Summary: "a\x00b"})
	wantCode(t, err, errcode.Invalid, "summary")
	_, err = b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: "acme", Insights: &types.Insights{Summary: "a\x00b"}})
	wantCode(t, err, errcode.Invalid, "insights")
	_, err = b.st.FailureRecord(b.ctx, &catalog.FailureRecordParams{TenantID: "acme", MediaID: m.ID, ErrorName: "Media.Corrupt", Cause: "bad\x00cause"})
	wantCode(t, err, errcode.Invalid, "cause")
	if catalog.Supports(b.st, catalog.FeatureSearch) {
		_, err = b.st.SearchQuery(b.ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "hello\x00"})
		wantCode(t, err, errcode.Invalid, "query")
		_, err = b.st.SearchQuery(b.ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "hel\xfflo"})
		wantCode(t, err, errcode.Invalid, "query")
	}
	_, err = b.st.TenantCreate(b.ctx, &catalog.TenantCreateParams{ID: "initech", Name: "Ini\x00tech"})
	wantCode(t, err, errcode.Invalid, "name")
	if catalog.Supports(b.st, catalog.FeatureAPIKeys) {
		_, err = b.st.APIKeyCreate(b.ctx, &catalog.APIKeyCreateParams{TenantID: "acme", Name: "c\xffi"})
		wantCode(t, err, errcode.Invalid, "name")
	}

	// 200 × "é" is 400 bytes; cut to 255 it must stay valid UTF-8.
	name := catalog.TruncateText(strings.Repeat("é", 200), 255)
	long := b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/c.mp4", Filename: name})
	got := must[*catalog.Media](t)(b.st.MediaGet(b.ctx, &catalog.MediaGetParams{ID: long.ID, TenantID: "acme"}))
	if got.Filename != name || !utf8.ValidString(got.Filename) {
		t.Fatalf("filename stored as %q (%d bytes), want %d bytes of é", got.Filename, len(got.Filename), len(name))
	}
}

// testDriverErrorText: a failure inside the database reaches callers as
// Unavailable with a message naming the catalog operation, never the
// driver's text (SQL, table names, SQLSTATE).
func testDriverErrorText(t *testing.T, b *bundle) {
	dber, ok := b.st.(interface{ DB() *sql.DB })
	if !ok {
		t.Skip("the store does not expose its database")
	}
	// Break the usage table the way a failed migration or an operator's
	// mistake would.
	if _, err := dber.DB().ExecContext(b.ctx, `DROP TABLE cat_usage`); err != nil {
		t.Fatal(err)
	}
	_, err := b.st.UsageTotals(b.ctx, &catalog.UsageTotalsParams{TenantID: "acme"})
	wantCode(t, err, errcode.Unavailable, "sum usage")
	for _, text := range []string{err.Error(), errcode.MessageOf(err)} {
		low := strings.ToLower(text)
		for _, leak := range []string{"cat_usage", "sqlstate", "select", "no such table", "does not exist", "relation"} {
			if strings.Contains(low, leak) {
				t.Errorf("error text names driver detail %q: %s", leak, text)
			}
		}
	}
}

// testStoredBytes: a tenant's stored media is the sum of its items' sizes,
// and MediaCreate with MaxTenantBytes refuses an item that would pass it,
// leaving nothing behind; other tenants are not counted.
func testStoredBytes(t *testing.T, b *bundle) {
	b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp4", Size: 100})
	b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/b.mp4", Size: 200})
	b.media(t, catalog.MediaCreateParams{TenantID: "globex", BucketKey: "incoming/globex/c.mp4", Size: 5000})
	stored := func(tenant string) int64 {
		return must[int64](t)(b.st.MediaStoredBytes(b.ctx, &catalog.MediaStoredBytesParams{TenantID: tenant}))
	}
	if got := stored("acme"); got != 300 {
		t.Fatalf("acme stores %d bytes, want 300", got)
	}
	_, err := b.st.MediaCreate(b.ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/d.mp4", Size: 60, MaxTenantBytes: 350})
	wantCode(t, err, errcode.TooLarge, "350", "stored_bytes")
	if got := stored("acme"); got != 300 {
		t.Fatalf("after a refused create acme stores %d bytes, want 300", got)
	}
	b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/e.mp4", Size: 50, MaxTenantBytes: 350})
	if got := stored("acme"); got != 350 {
		t.Fatalf("acme stores %d bytes, want 350", got)
	}
	_, err = b.st.MediaStoredBytes(b.ctx, &catalog.MediaStoredBytesParams{TenantID: "Bad\x00"})
	wantCode(t, err, errcode.Invalid, "tenant_id")
}
