package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

func notification(bucket string, keys ...string) []byte {
	var recs []string
	for _, k := range keys {
		recs = append(recs, fmt.Sprintf(`{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":%q},"object":{"key":%q,"size":2048,"eTag":"e1"}}}`,
			bucket, url.QueryEscape(k)))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

func TestIntakeAcceptsOnlyTheCallersKeys(t *testing.T) {
	t.Parallel()
	s, _, cat, bs, r := setup(t, 0)
	ctx := context.Background()
	for _, id := range []string{"globex", "initech"} {
		if _, err := cat.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "initech"}); err != nil {
		t.Fatal(err)
	}
	acme := identity.NewContext(ctx, identity.Principal{Role: identity.RoleTenant, Tenant: "acme"})
	admin := identity.NewContext(ctx, identity.Principal{Role: identity.RoleAdmin})
	refused := map[string]struct {
		ctx  context.Context
		body []byte
		code errcode.Code
		want string
	}{
		"another tenant's key": {acme, notification("media", "incoming/globex/talk.mp4"), errcode.PermissionDenied, "tenant \"globex\""},
		"dot-dot":              {acme, notification("media", "incoming/acme/../globex/talk.mp4"), errcode.Invalid, `".." is not a name`},
		"unknown tenant":       {admin, notification("media", "incoming/evilcorp/x.mp4"), errcode.NotFound, "unknown tenant \"evilcorp\""},
		"disabled tenant":      {admin, notification("media", "incoming/initech/x.mp4"), errcode.FailedPrecond, "tenant \"initech\" is disabled"},
		"outside the layout":   {acme, notification("media", "uploads/acme/x.mp4"), errcode.Invalid, "not under incoming/"},
		"another bucket":       {acme, notification("other", "incoming/acme/x.mp4"), errcode.PermissionDenied, "not this installation's bucket"},
		"one bad record":       {acme, notification("media", "incoming/acme/ok.mp4", "incoming/globex/x.mp4"), errcode.PermissionDenied, "record 1"},
		"no caller":            {ctx, notification("media", "incoming/acme/x.mp4"), errcode.Unauthenticated, "no authenticated caller"},
	}
	for name, tc := range refused {
		res, err := s.Intake(tc.ctx, tc.body)
		if !errors.Is(err, tc.code) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %+v, %v; want %s naming %q", name, res, err, tc.code, tc.want)
		}
	}
	if _, err := cat.TenantGet(ctx, &catalog.TenantGetParams{ID: "evilcorp"}); !errors.Is(err, errcode.NotFound) {
		t.Fatalf("a tenant was created from a key: %v", err)
	}
	bs.DispatchOnce(ctx)
	if len(r.inputs) != 0 {
		t.Fatalf("refused notifications started %d executions", len(r.inputs))
	}
	// The caller's own key, and an admin naming an existing tenant.
	for _, c := range []struct {
		ctx context.Context
		key string
	}{{acme, "incoming/acme/talk.mp4"}, {admin, "incoming/globex/talk.mp4"}} {
		res, err := s.Intake(c.ctx, notification("media", c.key, "processed/acme/01890a5d-ac96-774b-bcce-b302099a8057/original.mp4"))
		if err != nil || res.Events != 1 || len(res.Ignored) != 1 {
			t.Fatalf("%s: %+v %v", c.key, res, err)
		}
	}
}

func TestIntakeDoesNotRerunFinishedMedia(t *testing.T) {
	t.Parallel()
	s, _, cat, bs, r := setup(t, 0)
	ctx := identity.NewContext(context.Background(), identity.Principal{Role: identity.RoleTenant, Tenant: "acme"})
	m, err := s.Upload(ctx, &UploadParams{Tenant: "acme", Filename: "talk.wav", Body: bytes.NewReader(bytes.Repeat([]byte{1}, 2048))})
	if err != nil {
		t.Fatal(err)
	}
	bs.DispatchOnce(ctx)
	started := len(r.inputs)
	for _, st := range []types.Status{types.StatusProcessing, types.StatusFailed} {
		if _, err := cat.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: st}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := s.Intake(ctx, notification("media", m.BucketKey))
	if err != nil || res.Events != 0 || len(res.AlreadyProcessed) != 1 || res.AlreadyProcessed[0] != m.BucketKey {
		t.Fatalf("re-delivery of a finished upload: %+v %v", res, err)
	}
	bs.DispatchOnce(ctx)
	if len(r.inputs) != started {
		t.Fatal("a finished upload was started again")
	}
	got, _ := cat.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
	if got.Status != types.StatusFailed {
		t.Fatalf("status %s", got.Status)
	}
}

func TestWatchCreatesNoTenant(t *testing.T) {
	t.Parallel()
	s, b, cat, _, _ := setup(t, 0)
	ctx := context.Background()
	for _, k := range []string{"incoming/evilcorp/x.wav", "incoming/Evil/y.wav", "incoming/z.wav"} {
		if err := b.WriteAll(ctx, k, bytes.Repeat([]byte{1}, 2048), nil); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]obs{}
	for i := 0; i < 3; i++ {
		if err := s.scan(ctx, seen); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cat.TenantGet(ctx, &catalog.TenantGetParams{ID: "evilcorp"}); !errors.Is(err, errcode.NotFound) {
		t.Fatalf("a tenant was created from a dropped file's key: %v", err)
	}
	for _, tn := range []string{"acme", "evilcorp"} {
		if page, err := cat.MediaList(ctx, &catalog.MediaListParams{TenantID: tn}); err == nil && len(page.Media) != 0 {
			t.Fatalf("%s: registered %d", tn, len(page.Media))
		}
	}
	for k, o := range seen {
		if !o.settled {
			t.Errorf("%s: not settled: it would be retried every scan", k)
		}
	}
}
