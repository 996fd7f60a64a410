// Package catalogtest is the conformance suite every catalog driver passes:
// Run(t, open) exercises the whole Store against a fresh database per test.
package catalogtest

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/types"
)

//go:embed testdata/*.json
var testdata embed.FS

// Opener returns a new, empty store for one test, closed when the test
// ends (the opener registers the cleanup).
type Opener func(t *testing.T, opts ...catalog.Option) catalog.Store

// Clock is a settable clock for stores under test.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type bundle struct {
	ctx   context.Context
	st    catalog.Store
	clock *Clock
}

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	setup := func(t *testing.T) *bundle {
		t.Helper()
		clock := NewClock(t0)
		st := open(t, catalog.WithClock(clock.Now))
		b := &bundle{ctx: context.Background(), st: st, clock: clock}
		for _, id := range []string{"acme", "globex"} {
			if _, err := st.TenantCreate(b.ctx, &catalog.TenantCreateParams{ID: id, Name: strings.ToUpper(id)}); err != nil {
				t.Fatal(err)
			}
		}
		return b
	}
	tests := []struct {
		name  string
		fn    func(t *testing.T, b *bundle)
		needs catalog.Feature // "" when every driver has what the test uses
	}{
		{"Tenants", testTenants, ""},
		{"APIKeys", testAPIKeys, catalog.FeatureAPIKeys},
		{"APIKeyRoles", testAPIKeyRoles, catalog.FeatureAPIKeys},
		{"APIKeyLifecycle", testAPIKeyLifecycle, catalog.FeatureAPIKeys},
		{"TenantLifecycle", testTenantLifecycle, ""},
		{"MediaCreateGet", testMediaCreateGet, ""},
		{"MediaCreateInvalid", testMediaCreateInvalid, ""},
		{"MediaTransitions", testMediaTransitions, ""},
		{"MediaUpdateFields", testMediaUpdateFields, ""},
		{"MediaVersionConflict", testMediaVersionConflict, ""},
		{"MediaList", testMediaList, ""},
		{"MediaListPaging", testMediaListPaging, ""},
		{"MediaListBadInput", testMediaListBadInput, ""},
		{"MediaListPlan", testMediaListPlan, ""},
		{"MediaDelete", testMediaDelete, ""},
		{"Failures", testFailures, ""},
		{"FailureOncePerExecution", testFailureOncePerExecution, ""},
		{"Search", testSearch, catalog.FeatureSearch},
		{"SearchBadInput", testSearchBadInput, catalog.FeatureSearch},
		{"SearchRankBound", testSearchRankBound, catalog.FeatureSearch},
		{"Usage", testUsage, ""},
		{"OutboxAtomic", testOutboxAtomic, catalog.FeatureOutbox},
		{"OutboxClaimAckRelease", testOutboxClaimAckRelease, catalog.FeatureOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims, catalog.FeatureOutbox},
		{"Deliveries", testDeliveries, catalog.FeatureOutbox},
		{"Rules", testRules, catalog.FeatureRules},
		{"RulesInvalid", testRulesInvalid, catalog.FeatureRules},
		{"RulesConcurrent", testRulesConcurrent, catalog.FeatureRules},
		{"Closed", testClosed, ""},
		{"TextValidation", testTextValidation, ""},
		{"DriverErrorText", testDriverErrorText, ""},
		{"StoredBytes", testStoredBytes, ""},
		{"ReviewQueue", testReviewQueue, catalog.FeatureReviews},
		{"ReviewClaims", testReviewClaims, catalog.FeatureReviews},
		{"ReviewDecideOnce", testReviewDecideOnce, catalog.FeatureReviews},
		{"ReviewVisibleTo", testReviewVisibleTo, catalog.FeatureReviews},
		{"ReviewOpenOnce", testReviewOpenOnce, catalog.FeatureReviews},
		{"MediaVersions", testMediaVersions, catalog.FeatureReviews},
		{"SpeakerSearch", testSpeakerSearch, catalog.FeatureSearch},
		{"Vocabulary", testVocabulary, catalog.FeatureReviews},
		{"Jobs", testJobs, catalog.FeatureJobs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tc.needs != "" && !catalog.Supports(b.st, tc.needs) {
				// A driver that declares a feature missing must say so
				// from every method of it, not fail some other way.
				t.Logf("the %s driver declares %s missing: checking that its methods return NotImplemented", b.st.Name(), tc.needs)
				testNotImplemented(t, b, tc.needs)
				return
			}
			tc.fn(t, b)
		})
	}
}

// testNotImplemented checks that each method of a feature the driver
// declares missing returns errcode.NotImplemented naming the feature.
func testNotImplemented(t *testing.T, b *bundle, f catalog.Feature) {
	ctx, st := b.ctx, b.st
	var errs []error
	switch f {
	case catalog.FeatureAPIKeys:
		_, e1 := st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"})
		_, e2 := st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: "k"})
		_, e3 := st.APIKeyList(ctx, &catalog.APIKeyListParams{})
		_, e4 := st.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: "k"})
		_, e5 := st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{ID: "k"})
		_, e6 := st.APIKeyExpire(ctx, &catalog.APIKeyExpireParams{ID: "k", At: t0})
		errs = []error{e1, e2, e3, e4, e5, e6}
	case catalog.FeatureSearch:
		// MediaUpdate still takes a Transcript (the pipeline always
		// passes one); it is not indexed.
		_, e1 := st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "rockets"})
		errs = []error{e1}
	case catalog.FeatureOutbox:
		e1 := st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{event("e1")}})
		_, e2 := st.OutboxClaim(ctx, &catalog.OutboxClaimParams{})
		_, e3 := st.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: "c", IDs: []string{"e1"}})
		_, e4 := st.OutboxRelease(ctx, &catalog.OutboxReleaseParams{ClaimToken: "c", IDs: []string{"e1"}})
		_, e5 := st.DeliveryMark(ctx, &catalog.DeliveryMarkParams{Consumer: "c", EventID: "e1"})
		_, e6 := st.DeliveryPrune(ctx, &catalog.DeliveryPruneParams{Before: t0})
		_, e7 := st.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/x.mp4", Events: []catalog.OutboxEvent{event("e2")}})
		errs = []error{e1, e2, e3, e4, e5, e6, e7}
	case catalog.FeatureRules:
		_, e1 := st.RulePut(ctx, rulePut("r1", "default", `{}`))
		_, e2 := st.RuleGet(ctx, &catalog.RuleGetParams{Name: "r1"})
		_, e3 := st.RuleList(ctx, &catalog.RuleListParams{})
		e4 := st.RuleDelete(ctx, &catalog.RuleDeleteParams{Name: "r1"})
		_, e5 := st.RulesVersion(ctx, &catalog.RulesVersionParams{})
		errs = []error{e1, e2, e3, e4, e5}
	case catalog.FeatureReviews:
		m := &catalog.ReviewGetParams{TenantID: "acme", MediaID: "m1"}
		_, e1 := st.ReviewOpen(ctx, &catalog.ReviewOpenParams{TenantID: "acme", MediaID: "m1", TaskToken: "t",
			Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy}}})
		_, e2 := st.ReviewGet(ctx, m)
		_, e3 := st.ReviewList(ctx, &catalog.ReviewListParams{TenantID: "acme"})
		_, e4 := st.ReviewCounts(ctx, &catalog.ReviewCountsParams{TenantID: "acme"})
		_, e5 := st.ReviewClaim(ctx, &catalog.ReviewClaimParams{TenantID: "acme", MediaID: "m1", Reviewer: "r"})
		_, e6 := st.ReviewRelease(ctx, &catalog.ReviewReleaseParams{TenantID: "acme", MediaID: "m1", Reviewer: "r"})
		_, e7 := st.ReviewDecide(ctx, &catalog.ReviewDecideParams{TenantID: "acme", MediaID: "m1", Reviewer: "r", Outcome: catalog.OutcomeApproved})
		_, e8 := st.ReviewResumed(ctx, &catalog.ReviewResumedParams{TenantID: "acme", MediaID: "m1", Round: 1})
		_, e9 := st.ReviewUnresumed(ctx, &catalog.ReviewUnresumedParams{})
		_, e10 := st.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: "acme", MediaID: "m1", Kind: catalog.VersionEdit, Author: "r"})
		_, e11 := st.MediaVersionList(ctx, &catalog.MediaVersionListParams{TenantID: "acme", MediaID: "m1"})
		e12 := st.VocabularySuggest(ctx, &catalog.VocabularySuggestParams{TenantID: "acme", Terms: []catalog.VocabularyTerm{{Term: "x", Source: "word"}}})
		_, e13 := st.VocabularyList(ctx, &catalog.VocabularyListParams{TenantID: "acme"})
		_, e14 := st.VocabularyAccept(ctx, &catalog.VocabularyAcceptParams{TenantID: "acme", All: true})
		errs = []error{e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14}
	case catalog.FeatureJobs:
		e1 := st.JobPut(ctx, &catalog.JobPutParams{Job: catalog.Job{Service: "transcribe", ID: "j", Task: "transcribe", TenantID: "acme", MediaID: "m1", TaskToken: "t"}})
		_, e2 := st.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: "j"})
		e3 := st.JobDelete(ctx, &catalog.JobDeleteParams{Service: "transcribe", ID: "j"})
		errs = []error{e1, e2, e3}
	default:
		t.Fatalf("no check for feature %q", f)
	}
	for i, err := range errs {
		if errcode.Of(err) != errcode.NotImplemented || !strings.Contains(err.Error(), string(f)) {
			t.Errorf("%s call %d: err = %v, want NotImplemented naming %q", f, i+1, err, f)
		}
	}
}

// wantCode fails unless err carries code and its message contains each of
// contains.
func wantCode(t *testing.T, err error, code errcode.Code, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want %s", code)
	}
	if got := errcode.Of(err); got != code {
		t.Fatalf("code = %s, want %s (err: %v)", got, code, err)
	}
	for _, c := range contains {
		if !strings.Contains(err.Error(), c) {
			t.Fatalf("error %q does not mention %q", err, c)
		}
	}
}

func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) media(t *testing.T, p catalog.MediaCreateParams) *catalog.Media {
	t.Helper()
	if p.TenantID == "" {
		p.TenantID = "acme"
	}
	if p.BucketKey == "" {
		p.BucketKey = "incoming/" + p.TenantID + "/file.mp4"
	}
	return must[*catalog.Media](t)(b.st.MediaCreate(b.ctx, &p))
}

func (b *bundle) setStatus(t *testing.T, id string, path ...types.Status) *catalog.Media {
	t.Helper()
	var m *catalog.Media
	for _, s := range path {
		m = must[*catalog.Media](t)(b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: id, Status: s}))
	}
	return m
}

func testTenants(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	got := must[*catalog.Tenant](t)(st.TenantGet(ctx, &catalog.TenantGetParams{ID: "acme"}))
	if got.Name != "ACME" || !got.CreatedAt.Equal(t0) {
		t.Fatalf("tenant = %+v", got)
	}
	_, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"})
	wantCode(t, err, errcode.AlreadyExists, `"acme"`)
	again := must[*catalog.Tenant](t)(st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme", Name: "other", IfNotExists: true}))
	if again.Name != "ACME" {
		t.Fatalf("IfNotExists returned %+v, want the existing tenant", again)
	}
	_, err = st.TenantGet(ctx, &catalog.TenantGetParams{ID: "initech"})
	wantCode(t, err, errcode.NotFound, `tenant "initech" does not exist`)
	for _, bad := range []string{"", "Acme", "-acme", "a b", strings.Repeat("a", 64), "ä"} {
		_, err = st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: bad})
		wantCode(t, err, errcode.Invalid, "id")
	}
	list := must[[]*catalog.Tenant](t)(st.TenantList(ctx, &catalog.TenantListParams{}))
	if len(list) != 2 || list[0].ID != "acme" || list[1].ID != "globex" {
		t.Fatalf("TenantList = %v", list)
	}
}

func testAPIKeys(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	res := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme", Name: "ci"}))
	if !strings.HasPrefix(res.Key, "lf_"+res.APIKey.ID+"_") {
		t.Fatalf("key %q does not carry its id %q", res.Key, res.APIKey.ID)
	}
	other := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex"}))
	k := must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: res.Key}))
	if k.TenantID != "acme" || k.Name != "ci" || k.ID != res.APIKey.ID {
		t.Fatalf("lookup = %+v", k)
	}
	k2 := must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: other.Key}))
	if k2.TenantID != "globex" {
		t.Fatalf("lookup other = %+v", k2)
	}
	_, err := st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: "hunter2"})
	wantCode(t, err, errcode.Unauthenticated, "malformed")
	// Right shape, wrong secret.
	forged := res.Key[:len(res.Key)-4] + "AAAA"
	if forged == res.Key {
		forged = res.Key[:len(res.Key)-4] + "EEEE"
	}
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: forged})
	wantCode(t, err, errcode.Unauthenticated, "not known")

	_, err = st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "initech"})
	wantCode(t, err, errcode.NotFound, "initech")
	// A tenant cannot revoke another tenant's key.
	_, err = st.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{TenantID: "globex", ID: res.APIKey.ID})
	wantCode(t, err, errcode.NotFound)
	rev := must[*catalog.APIKey](t)(st.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{TenantID: "acme", ID: res.APIKey.ID}))
	if rev.RevokedAt == nil || !rev.RevokedAt.Equal(t0) {
		t.Fatalf("revoked key = %+v", rev)
	}
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: res.Key})
	wantCode(t, err, errcode.Unauthenticated, "revoked")
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: res.APIKey.ID})
	wantCode(t, err, errcode.Unauthenticated, "revoked")
	keys := must[[]*catalog.APIKey](t)(st.APIKeyList(ctx, &catalog.APIKeyListParams{TenantID: "acme"}))
	if len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Fatalf("APIKeyList = %+v", keys)
	}
	_, err = st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{ID: res.APIKey.ID})
	wantCode(t, err, errcode.FailedPrecond, "revoked")
}

func testAPIKeyRoles(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	admin := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleAdmin, Name: "root"}))
	op := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleOperator}))
	rv := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleReviewer, TenantID: "globex"}))
	tn := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme"}))
	for _, c := range []struct {
		key  string
		want identity.Principal
	}{
		{admin.Key, identity.Principal{Role: identity.RoleAdmin, KeyID: admin.APIKey.ID}},
		{op.Key, identity.Principal{Role: identity.RoleOperator, KeyID: op.APIKey.ID}},
		{rv.Key, identity.Principal{Role: identity.RoleReviewer, Tenant: "globex", KeyID: rv.APIKey.ID}},
		{tn.Key, identity.Principal{Role: identity.RoleTenant, Tenant: "acme", KeyID: tn.APIKey.ID}},
	} {
		k := must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: c.key}))
		if k.Principal() != c.want || k.Generation != 1 {
			t.Fatalf("lookup = %+v, want %v", k, c.want)
		}
		byID := must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: k.ID}))
		if byID.Principal() != c.want {
			t.Fatalf("lookup by id = %+v", byID)
		}
	}
	_, err := st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleAdmin, TenantID: "acme"})
	wantCode(t, err, errcode.Invalid, "tenant_id", "admin")
	_, err = st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleReviewer})
	wantCode(t, err, errcode.Invalid, "tenant_id", "required")
	_, err = st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleAnonymous})
	wantCode(t, err, errcode.Invalid, "role")
	_, err = st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme", ExpiresAt: t0.Add(-time.Second)})
	wantCode(t, err, errcode.Invalid, "expires_at")
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: tn.Key, ID: tn.APIKey.ID})
	wantCode(t, err, errcode.Invalid, "not both")
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: "0000000000000000"})
	wantCode(t, err, errcode.Unauthenticated, "not known")
	all := must[[]*catalog.APIKey](t)(st.APIKeyList(ctx, &catalog.APIKeyListParams{}))
	if len(all) != 4 {
		t.Fatalf("APIKeyList(all) = %d keys, want 4", len(all))
	}
	globex := must[[]*catalog.APIKey](t)(st.APIKeyList(ctx, &catalog.APIKeyListParams{TenantID: "globex"}))
	if len(globex) != 1 || globex[0].ID != rv.APIKey.ID || globex[0].Role != identity.RoleReviewer {
		t.Fatalf("APIKeyList(globex) = %+v", globex)
	}
}

func testAPIKeyLifecycle(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	res := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "acme", ExpiresAt: t0.Add(time.Hour)}))
	if res.APIKey.ExpiresAt == nil || !res.APIKey.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("created = %+v", res.APIKey)
	}
	// Rotation: same id, next generation, the old plaintext stops working.
	b.clock.Advance(time.Minute)
	rot := must[*catalog.APIKeyCreateResult](t)(st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{TenantID: "acme", ID: res.APIKey.ID}))
	if rot.APIKey.ID != res.APIKey.ID || rot.APIKey.Generation != 2 || rot.Key == res.Key || rot.APIKey.RotatedAt == nil {
		t.Fatalf("rotated = %+v", rot.APIKey)
	}
	_, err := st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: res.Key})
	wantCode(t, err, errcode.Unauthenticated, "not known")
	k := must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: rot.Key}))
	if k.Generation != 2 {
		t.Fatalf("lookup after rotation = %+v", k)
	}
	_, err = st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{TenantID: "globex", ID: res.APIKey.ID})
	wantCode(t, err, errcode.NotFound)
	_, err = st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{ID: "not-an-id"})
	wantCode(t, err, errcode.Invalid, "id")
	// Expiry: the key stops working at its time.
	b.clock.Advance(time.Hour)
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: rot.Key})
	wantCode(t, err, errcode.Unauthenticated, "expired")
	_, err = st.APIKeyRotate(ctx, &catalog.APIKeyRotateParams{ID: res.APIKey.ID})
	wantCode(t, err, errcode.FailedPrecond, "expired")
	later := b.clock.Now().Add(24 * time.Hour)
	ex := must[*catalog.APIKey](t)(st.APIKeyExpire(ctx, &catalog.APIKeyExpireParams{ID: res.APIKey.ID, At: later}))
	if !ex.ExpiresAt.Equal(later) {
		t.Fatalf("expire = %+v", ex)
	}
	must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: rot.Key}))
	must[*catalog.APIKey](t)(st.APIKeyExpire(ctx, &catalog.APIKeyExpireParams{ID: res.APIKey.ID, At: b.clock.Now()}))
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: res.APIKey.ID})
	wantCode(t, err, errcode.Unauthenticated, "expired")
	_, err = st.APIKeyExpire(ctx, &catalog.APIKeyExpireParams{ID: res.APIKey.ID})
	wantCode(t, err, errcode.Invalid, "at")
}

func testTenantLifecycle(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	keys := catalog.Supports(st, catalog.FeatureAPIKeys)
	if !keys {
		testTenantLifecycleNoKeys(t, b)
		return
	}
	k := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex"}))
	admin := must[*catalog.APIKeyCreateResult](t)(st.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{Role: identity.RoleAdmin}))
	d := must[*catalog.Tenant](t)(st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "globex"}))
	if d.DisabledAt == nil || !d.DisabledAt.Equal(t0) {
		t.Fatalf("disabled = %+v", d)
	}
	b.clock.Advance(time.Minute)
	d = must[*catalog.Tenant](t)(st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "globex"}))
	if !d.DisabledAt.Equal(t0) {
		t.Fatalf("disabling twice moved the time: %+v", d)
	}
	_, err := st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: k.Key})
	wantCode(t, err, errcode.PermissionDenied, "globex", "disabled")
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{ID: k.APIKey.ID})
	wantCode(t, err, errcode.PermissionDenied, "disabled")
	// Keys of no tenant are not affected.
	must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: admin.Key}))
	list := must[[]*catalog.Tenant](t)(st.TenantList(ctx, &catalog.TenantListParams{}))
	if list[1].ID != "globex" || list[1].DisabledAt == nil || list[0].DisabledAt != nil {
		t.Fatalf("TenantList = %+v", list)
	}
	e := must[*catalog.Tenant](t)(st.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "globex"}))
	if e.DisabledAt != nil {
		t.Fatalf("enabled = %+v", e)
	}
	must[*catalog.APIKey](t)(st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: k.Key}))
	_, err = st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "initech"})
	wantCode(t, err, errcode.NotFound, "initech")
	_, err = st.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "Bad"})
	wantCode(t, err, errcode.Invalid, "id")

	// Delete: refused while the tenant has media, else the tenant and its
	// keys go.
	b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp3"})
	err = st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "acme"})
	wantCode(t, err, errcode.FailedPrecond, "acme", "media")
	ok(t, st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "globex"}))
	_, err = st.APIKeyLookup(ctx, &catalog.APIKeyLookupParams{Key: k.Key})
	wantCode(t, err, errcode.Unauthenticated, "not known")
	_, err = st.TenantGet(ctx, &catalog.TenantGetParams{ID: "globex"})
	wantCode(t, err, errcode.NotFound)
	err = st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "globex"})
	wantCode(t, err, errcode.NotFound)
}

// testTenantLifecycleNoKeys is testTenantLifecycle for a driver without
// API keys: disable, enable and delete of the tenant rows alone.
func testTenantLifecycleNoKeys(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	d := must[*catalog.Tenant](t)(st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "globex"}))
	if d.DisabledAt == nil || !d.DisabledAt.Equal(t0) {
		t.Fatalf("disabled = %+v", d)
	}
	b.clock.Advance(time.Minute)
	d = must[*catalog.Tenant](t)(st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "globex"}))
	if !d.DisabledAt.Equal(t0) {
		t.Fatalf("disabling twice moved the time: %+v", d)
	}
	list := must[[]*catalog.Tenant](t)(st.TenantList(ctx, &catalog.TenantListParams{}))
	if list[1].ID != "globex" || list[1].DisabledAt == nil || list[0].DisabledAt != nil {
		t.Fatalf("TenantList = %+v", list)
	}
	e := must[*catalog.Tenant](t)(st.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "globex"}))
	if e.DisabledAt != nil {
		t.Fatalf("enabled = %+v", e)
	}
	_, err := st.TenantDisable(ctx, &catalog.TenantDisableParams{ID: "initech"})
	wantCode(t, err, errcode.NotFound, "initech")
	_, err = st.TenantEnable(ctx, &catalog.TenantEnableParams{ID: "Bad"})
	wantCode(t, err, errcode.Invalid, "id")
	b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/a.mp3"})
	err = st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "acme"})
	wantCode(t, err, errcode.FailedPrecond, "acme", "media")
	ok(t, st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "globex"}))
	_, err = st.TenantGet(ctx, &catalog.TenantGetParams{ID: "globex"})
	wantCode(t, err, errcode.NotFound)
	err = st.TenantDelete(ctx, &catalog.TenantDeleteParams{ID: "globex"})
	wantCode(t, err, errcode.NotFound)
}

func testMediaCreateGet(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	sum := strings.Repeat("ab", 32)
	m := b.media(t, catalog.MediaCreateParams{TenantID: "acme", BucketKey: "incoming/acme/talk.mp4", Filename: "talk.mp4",
		ContentType: "video/mp4", Size: 12345, SHA256: sum, Kind: types.KindVideo})
	if len(m.ID) != 36 || m.Status != types.StatusPending || m.Version != 1 || !m.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", m)
	}
	got := must[*catalog.Media](t)(st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID, TenantID: "acme"}))
	if got.BucketKey != "incoming/acme/talk.mp4" || got.Filename != "talk.mp4" || got.ContentType != "video/mp4" ||
		got.Size != 12345 || got.SHA256 != sum || got.Kind != types.KindVideo || got.Status != types.StatusPending ||
		!got.CreatedAt.Equal(t0) || !got.UpdatedAt.Equal(t0) || got.Insights != nil {
		t.Fatalf("MediaGet = %+v", got)
	}
	_, err := st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID, TenantID: "globex"})
	wantCode(t, err, errcode.NotFound, m.ID)
	_, err = st.MediaGet(ctx, &catalog.MediaGetParams{ID: "no-such-id"})
	wantCode(t, err, errcode.NotFound)
	_, err = st.MediaCreate(ctx, &catalog.MediaCreateParams{ID: m.ID, TenantID: "acme", BucketKey: "x"})
	wantCode(t, err, errcode.AlreadyExists, m.ID)

	ids := map[string]bool{}
	for range 50 {
		id := catalog.NewMediaID()
		if ids[id] {
			t.Fatal("NewMediaID repeated")
		}
		ids[id] = true
	}
}

func testMediaCreateInvalid(t *testing.T, b *bundle) {
	raw, err := testdata.ReadFile("testdata/media_create_invalid.json")
	ok(t, err)
	var cases []struct {
		Name     string
		Params   catalog.MediaCreateParams
		Code     errcode.Code
		Contains string
	}
	ok(t, json.Unmarshal(raw, &cases))
	if len(cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range cases {
		_, err := b.st.MediaCreate(b.ctx, &c.Params)
		if err == nil {
			t.Errorf("%s: no error", c.Name)
			continue
		}
		if errcode.Of(err) != c.Code || !strings.Contains(err.Error(), c.Contains) {
			t.Errorf("%s: err = %v, want %s containing %q", c.Name, err, c.Code, c.Contains)
		}
	}
	// Nothing was written by the failed creates.
	page := must[*catalog.MediaPage](t)(b.st.MediaList(b.ctx, &catalog.MediaListParams{TenantID: "acme"}))
	if len(page.Media) != 0 {
		t.Fatalf("failed creates left %d rows", len(page.Media))
	}
}

func testMediaTransitions(t *testing.T, b *bundle) {
	raw, err := testdata.ReadFile("testdata/transitions.json")
	ok(t, err)
	var cases []struct {
		From, To  types.Status
		Reprocess bool
		OK        bool
	}
	ok(t, json.Unmarshal(raw, &cases))
	paths := map[types.Status][]types.Status{
		types.StatusPending:    nil,
		types.StatusProcessing: {types.StatusProcessing},
		types.StatusSucceeded:  {types.StatusProcessing, types.StatusSucceeded},
		types.StatusFailed:     {types.StatusProcessing, types.StatusFailed},
		types.StatusSkipped:    {types.StatusSkipped},
		types.StatusInReview:   {types.StatusProcessing, types.StatusInReview},
		types.StatusRejected:   {types.StatusProcessing, types.StatusRejected},
	}
	for _, c := range cases {
		m := b.media(t, catalog.MediaCreateParams{})
		if p := paths[c.From]; len(p) > 0 {
			m = b.setStatus(t, m.ID, p...)
		}
		got, err := b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: c.To, Reprocess: c.Reprocess})
		name := fmt.Sprintf("%s→%s reprocess=%v", c.From, c.To, c.Reprocess)
		if c.OK {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if got.Status != c.To || got.Version != m.Version+1 {
				t.Errorf("%s: got status %s version %d", name, got.Status, got.Version)
			}
			continue
		}
		if errcode.Of(err) != errcode.FailedPrecond || !strings.Contains(err.Error(), string(c.To)) {
			t.Errorf("%s: err = %v, want FailedPrecondition naming %s", name, err, c.To)
		}
		after := must[*catalog.Media](t)(b.st.MediaGet(b.ctx, &catalog.MediaGetParams{ID: m.ID}))
		if after.Status != c.From || after.Version != m.Version {
			t.Errorf("%s: a refused update changed the row to %s v%d", name, after.Status, after.Version)
		}
	}
	m := b.media(t, catalog.MediaCreateParams{})
	_, err = b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: "DONE"})
	wantCode(t, err, errcode.Invalid, `unknown status "DONE"`)
	_, err = b.st.MediaUpdate(b.ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing, Reprocess: true})
	wantCode(t, err, errcode.FailedPrecond, "reprocessed")
}

func testMediaUpdateFields(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	b.clock.Advance(time.Minute)
	ins := &types.Insights{Summary: "A talk about orbital mechanics and rocket launches.", Topics: []string{"space"},
		Chapters: []types.Chapter{{Title: "Intro", StartSeconds: 0}}, Entities: types.Entities{Places: []string{"Cape Canaveral"}}}
	got := must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: "acme", Version: 1,
		Status: types.StatusProcessing, ExecutionID: "exec-1", Kind: types.KindVideo, Duration: 61.5}))
	if got.Version != 2 || got.ExecutionID != "exec-1" || got.Kind != types.KindVideo || got.Duration != 61.5 ||
		!got.UpdatedAt.Equal(t0.Add(time.Minute)) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update: %+v", got)
	}
	key := "processed/acme/" + m.ID + "/"
	got = must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Version: 2, Status: types.StatusSucceeded,
		Insights: ins, BucketKey: key + "file.mp4", TranscriptKey: key + "transcript.json", CaptionsKey: key + "captions.vtt"}))
	read := must[*catalog.Media](t)(st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID}))
	if read.Summary != ins.Summary || read.Insights == nil || read.Insights.Entities.Places[0] != "Cape Canaveral" ||
		read.TranscriptKey != key+"transcript.json" || read.CaptionsKey != key+"captions.vtt" || read.BucketKey != key+"file.mp4" ||
		read.Status != types.StatusSucceeded || read.Version != 3 || read.ExecutionID != "exec-1" {
		t.Fatalf("after success: %+v", read)
	}
	if got.Version != read.Version {
		t.Fatalf("returned version %d, stored %d", got.Version, read.Version)
	}
	// A tenant scope that does not match is NotFound, and changes nothing.
	_, err := st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, TenantID: "globex", Summary: "x"})
	wantCode(t, err, errcode.NotFound)

	// FAILED carries error and cause; leaving FAILED clears them.
	f := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, f.ID, types.StatusProcessing)
	failed := must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: f.ID, Status: types.StatusFailed,
		Error: "Media.Corrupt", Cause: "moov atom not found"}))
	if failed.Error != "Media.Corrupt" || failed.Cause != "moov atom not found" {
		t.Fatalf("failed: %+v", failed)
	}
	retried := must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: f.ID, Status: types.StatusProcessing}))
	if retried.Error != "" || retried.Cause != "" {
		t.Fatalf("retry kept the error: %+v", retried)
	}
	_, err = st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: f.ID, SHA256: "xyz"})
	wantCode(t, err, errcode.Invalid, "sha256")
}

func testMediaVersionConflict(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Version: 1, ExecutionID: "a"}))
	_, err := st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Version: 1, ExecutionID: "b"})
	wantCode(t, err, errcode.FailedPrecond, "version 2, not 1")
	if !errors.Is(err, catalog.ErrVersionConflict) {
		t.Fatalf("err %v is not ErrVersionConflict", err)
	}
	// Racing writers holding the same version: exactly one wins.
	const n = 6
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Version: 2, ExecutionID: fmt.Sprintf("w%d", i)})
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case errors.Is(err, catalog.ErrVersionConflict):
		default:
			t.Fatalf("racing update: %v", err)
		}
	}
	if wins != 1 {
		t.Fatalf("%d racing updates won, want 1", wins)
	}
	got := must[*catalog.Media](t)(st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID}))
	if got.Version != 3 {
		t.Fatalf("version = %d, want 3", got.Version)
	}
}

func ids(ms []*catalog.Media) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func testMediaList(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	// Ten items an hour apart, alternating kind; some done.
	var all []*catalog.Media
	for i := range 10 {
		kind := types.KindVideo
		if i%2 == 1 {
			kind = types.KindAudio
		}
		m := b.media(t, catalog.MediaCreateParams{ID: fmt.Sprintf("m%02d", i), Kind: kind, CreatedAt: t0.Add(time.Duration(i) * time.Hour)})
		if i%3 == 0 {
			b.setStatus(t, m.ID, types.StatusProcessing, types.StatusSucceeded)
		}
		all = append(all, m)
	}
	b.media(t, catalog.MediaCreateParams{ID: "other", TenantID: "globex", Kind: types.KindVideo, CreatedAt: t0.Add(5 * time.Hour)})
	now := t0.Add(10 * time.Hour)
	cases := []struct {
		name string
		p    catalog.MediaListParams
		want []string
	}{
		{"all newest first", catalog.MediaListParams{}, []string{"m09", "m08", "m07", "m06", "m05", "m04", "m03", "m02", "m01", "m00"}},
		{"videos", catalog.MediaListParams{Kind: types.KindVideo}, []string{"m08", "m06", "m04", "m02", "m00"}},
		{"succeeded", catalog.MediaListParams{Status: types.StatusSucceeded}, []string{"m09", "m06", "m03", "m00"}},
		{"succeeded videos in the last 5 hours", catalog.MediaListParams{Kind: types.KindVideo, Status: types.StatusSucceeded, Since: now.Add(-5 * time.Hour)}, []string{"m06"}},
		{"window", catalog.MediaListParams{Since: t0.Add(2 * time.Hour), Until: t0.Add(5 * time.Hour)}, []string{"m04", "m03", "m02"}},
		{"pending audio", catalog.MediaListParams{Kind: types.KindAudio, Status: types.StatusPending}, []string{"m07", "m05", "m01"}},
	}
	for _, c := range cases {
		c.p.TenantID = "acme"
		page := must[*catalog.MediaPage](t)(st.MediaList(ctx, &c.p))
		if got := strings.Join(ids(page.Media), ","); got != strings.Join(c.want, ",") {
			t.Errorf("%s: got %s, want %s", c.name, got, strings.Join(c.want, ","))
		}
		if page.Next != "" {
			t.Errorf("%s: Next = %q on the only page", c.name, page.Next)
		}
	}
	g := must[*catalog.MediaPage](t)(st.MediaList(ctx, &catalog.MediaListParams{TenantID: "globex"}))
	if len(g.Media) != 1 || g.Media[0].ID != "other" {
		t.Fatalf("globex sees %v", ids(g.Media))
	}
	_ = all
}

func testMediaListPaging(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	// 23 items, many sharing a created time, so the keyset must break ties.
	want := map[string]bool{}
	for i := range 23 {
		m := b.media(t, catalog.MediaCreateParams{Kind: types.KindImage, CreatedAt: t0.Add(time.Duration(i/4) * time.Second)})
		want[m.ID] = true
	}
	for _, limit := range []int{1, 5, 22, 23, 50} {
		seen := map[string]bool{}
		var prev *catalog.Media
		cursor := ""
		pages := 0
		for {
			page := must[*catalog.MediaPage](t)(st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Kind: types.KindImage, Limit: limit, Cursor: cursor}))
			pages++
			for _, m := range page.Media {
				if seen[m.ID] {
					t.Fatalf("limit %d: %s listed twice", limit, m.ID)
				}
				seen[m.ID] = true
				if prev != nil && (m.CreatedAt.After(prev.CreatedAt) || m.CreatedAt.Equal(prev.CreatedAt) && m.ID > prev.ID) {
					t.Fatalf("limit %d: %s after %s is out of order", limit, m.ID, prev.ID)
				}
				prev = m
			}
			if page.Next == "" {
				break
			}
			if len(page.Media) != limit {
				t.Fatalf("limit %d: short page %d with a next cursor", limit, len(page.Media))
			}
			cursor = page.Next
		}
		if len(seen) != len(want) {
			t.Fatalf("limit %d: listed %d of %d", limit, len(seen), len(want))
		}
		if wantPages := (23 + limit - 1) / limit; pages != wantPages {
			t.Fatalf("limit %d: %d pages, want %d", limit, pages, wantPages)
		}
	}
}

func testMediaListBadInput(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	for range 3 {
		b.media(t, catalog.MediaCreateParams{})
	}
	page := must[*catalog.MediaPage](t)(st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Limit: 1}))
	_, err := st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Limit: 1, Cursor: "%%%"})
	wantCode(t, err, errcode.Invalid, "cursor")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Limit: 1, Cursor: "AQAAAAA"})
	wantCode(t, err, errcode.Invalid, "cursor")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Limit: 1, Status: types.StatusPending, Cursor: page.Next})
	wantCode(t, err, errcode.Invalid, "cursor: issued for a listing with other filters")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "globex", Limit: 1, Cursor: page.Next})
	wantCode(t, err, errcode.Invalid, "cursor")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "initech"})
	wantCode(t, err, errcode.NotFound, `tenant "initech" does not exist`)
	_, err = st.MediaList(ctx, &catalog.MediaListParams{})
	wantCode(t, err, errcode.Invalid, "tenant_id: required")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Limit: 5000})
	wantCode(t, err, errcode.Invalid, "limit")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Kind: "film"})
	wantCode(t, err, errcode.Invalid, "kind")
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Since: t0, Until: t0})
	wantCode(t, err, errcode.Invalid, "until")
}

// testMediaListPlan checks that "all videos processed in the last 24 hours
// for tenant T" is answered from an index.
func testMediaListPlan(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	tenants := []string{"acme", "globex"}
	for i := range 10 {
		id := fmt.Sprintf("t%02d", i)
		must[*catalog.Tenant](t)(st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: id}))
		tenants = append(tenants, id)
	}
	kinds := []types.Kind{types.KindVideo, types.KindAudio, types.KindImage}
	for i := range 1200 {
		b.media(t, catalog.MediaCreateParams{TenantID: tenants[i%len(tenants)], Kind: kinds[i%3],
			CreatedAt: t0.Add(-time.Duration(i) * time.Minute)})
	}
	cases := []catalog.MediaListParams{
		{TenantID: "acme", Kind: types.KindVideo, Status: types.StatusSucceeded, Since: t0.Add(-24 * time.Hour)},
		{TenantID: "acme", Kind: types.KindVideo, Since: t0.Add(-24 * time.Hour)},
		{TenantID: "acme", Status: types.StatusSucceeded, Since: t0.Add(-24 * time.Hour)},
		{TenantID: "acme", Since: t0.Add(-24 * time.Hour)},
	}
	for _, p := range cases {
		plan := must[string](t)(st.MediaListPlan(ctx, &p))
		if !strings.Contains(plan, "cat_media_tenant_") {
			t.Errorf("%+v: plan does not use a (tenant, …, created) index:\n%s", p, plan)
		}
		if strings.Contains(plan, "SCAN cat_media") && !strings.Contains(plan, "USING INDEX") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("%+v: plan scans the table:\n%s", p, plan)
		}
		if strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%+v: plan sorts instead of reading the index in order:\n%s", p, plan)
		}
		t.Logf("%s/%s:\n%s", p.Kind, p.Status, plan)
	}
}

func testMediaDelete(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, m.ID, types.StatusProcessing)
	search := catalog.Supports(st, catalog.FeatureSearch)
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Summary: "penguins waddle on the ice",
		Transcript: &types.Transcript{Text: "The penguins waddle. They swim.", Duration: 4}}))
	// A driver without search keeps the summary in the row only.
	if search {
		if hits := must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "penguins"})); len(hits) != 2 {
			t.Fatalf("before delete: %d hits", len(hits))
		}
	}
	must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: "acme",
		ExecutionID: "exec-1", ErrorName: "Provider.Failed", UpdateMedia: true}))
	other := b.media(t, catalog.MediaCreateParams{})
	must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: other.ID, TenantID: "acme",
		ExecutionID: "exec-2", ErrorName: "Provider.Failed", UpdateMedia: true}))
	_, err := st.MediaDelete(ctx, &catalog.MediaDeleteParams{ID: m.ID, TenantID: "globex", Failures: true})
	wantCode(t, err, errcode.NotFound)
	res := must[*catalog.MediaDeleteResult](t)(st.MediaDelete(ctx, &catalog.MediaDeleteParams{ID: m.ID, TenantID: "acme", Failures: true}))
	if search && res.SearchEntries < 2 || !search && res.SearchEntries != 0 || res.Failures != 1 {
		t.Fatalf("delete removed %+v, want ≥2 search entries and 1 failure", res)
	}
	_, err = st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID})
	wantCode(t, err, errcode.NotFound)
	if search {
		if hits := must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "penguins"})); len(hits) != 0 {
			t.Fatalf("after delete: %d hits", len(hits))
		}
	}
	if fl := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", MediaID: other.ID})); len(fl.Failures) != 1 {
		t.Fatalf("another item's failures went too: %d left", len(fl.Failures))
	}
	// Without Failures the history stays.
	res = must[*catalog.MediaDeleteResult](t)(st.MediaDelete(ctx, &catalog.MediaDeleteParams{ID: other.ID, TenantID: "acme"}))
	if res.Failures != 0 {
		t.Fatalf("removed %d failures without Failures set", res.Failures)
	}
	if fl := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", MediaID: other.ID})); len(fl.Failures) != 1 {
		t.Fatalf("failures removed without Failures set: %d left", len(fl.Failures))
	}
}

func testFailureOncePerExecution(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, m.ID, types.StatusProcessing)
	rec := func(exec string) *catalog.Failure {
		return must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: "acme",
			ExecutionID: exec, StateName: "ClassifyMedia", ErrorName: "Media.Unsupported", Cause: `"notes.zip" is not audio`, UpdateMedia: true}))
	}
	first := rec("exec-1")
	if first.Retryable {
		t.Fatalf("Media.Unsupported recorded as retryable: %+v", first)
	}
	// The same execution again (a retried task, a reconciler pass): the
	// first row, no second one.
	if again := rec("exec-1"); again.ID != first.ID {
		t.Fatalf("second record of exec-1 made row %d, want %d", again.ID, first.ID)
	}
	b.setStatus(t, m.ID, types.StatusProcessing)
	if other := rec("exec-2"); other.ID == first.ID {
		t.Fatal("another execution's failure reused the first row")
	}
	page := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", MediaID: m.ID}))
	if len(page.Failures) != 2 {
		t.Fatalf("%d failure rows, want 2 (one per execution)", len(page.Failures))
	}
	got := must[*catalog.Failure](t)(st.FailureGet(ctx, &catalog.FailureGetParams{ID: first.ID}))
	if got.Retryable {
		t.Fatalf("stored as retryable: %+v", got)
	}
	transient := must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{TenantID: "acme", ErrorName: "States.Timeout"}))
	if !transient.Retryable {
		t.Fatalf("States.Timeout recorded as not retryable")
	}
}

func testFailures(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, m.ID, types.StatusProcessing)
	b.clock.Advance(time.Hour)
	f := must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: m.ID, TenantID: "acme",
		BucketKey: m.BucketKey, ExecutionID: "exec-1", StateName: "Transcribe", ErrorName: "Provider.Failed",
		Cause: "model not loaded", UpdateMedia: true}))
	if f.ID <= 0 || !f.FailedAt.Equal(t0.Add(time.Hour)) || f.RedrivenAt != nil {
		t.Fatalf("recorded %+v", f)
	}
	got := must[*catalog.Media](t)(st.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID}))
	if got.Status != types.StatusFailed || got.Error != "Provider.Failed" || got.Cause != "model not loaded" || got.Version != 3 {
		t.Fatalf("media after failure: %+v", got)
	}
	// A failure with no media row yet, and more over time.
	for i := range 5 {
		b.clock.Advance(time.Minute)
		must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{TenantID: "acme", BucketKey: fmt.Sprintf("incoming/acme/%d", i),
			StateName: "ClassifyMedia", ErrorName: "Media.Unsupported"}))
	}
	must[*catalog.Failure](t)(st.FailureRecord(ctx, &catalog.FailureRecordParams{TenantID: "globex", ErrorName: "States.Timeout"}))

	all := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme"}))
	if len(all.Failures) != 6 || all.Failures[5].ID != f.ID || all.Failures[0].BucketKey != "incoming/acme/4" {
		t.Fatalf("FailureList = %+v", all.Failures)
	}
	var paged []*catalog.Failure
	cursor := ""
	for {
		p := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", Limit: 4, Cursor: cursor}))
		paged = append(paged, p.Failures...)
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if len(paged) != 6 || paged[5].ID != f.ID {
		t.Fatalf("paged %d failures", len(paged))
	}
	window := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme",
		Since: t0.Add(time.Hour + 2*time.Minute), Until: t0.Add(time.Hour + 4*time.Minute)}))
	if len(window.Failures) != 2 {
		t.Fatalf("window has %d failures, want 2", len(window.Failures))
	}
	byMedia := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", MediaID: m.ID}))
	if len(byMedia.Failures) != 1 {
		t.Fatalf("by media: %d", len(byMedia.Failures))
	}

	_, err := st.FailureMarkRedriven(ctx, &catalog.FailureMarkRedrivenParams{ID: f.ID, TenantID: "globex", ExecutionID: "exec-2"})
	wantCode(t, err, errcode.NotFound)
	r := must[*catalog.Failure](t)(st.FailureMarkRedriven(ctx, &catalog.FailureMarkRedrivenParams{ID: f.ID, TenantID: "acme", ExecutionID: "exec-2"}))
	if r.RedrivenAt == nil || r.RedriveExecutionID != "exec-2" {
		t.Fatalf("redriven %+v", r)
	}
	_, err = st.FailureMarkRedriven(ctx, &catalog.FailureMarkRedrivenParams{ID: f.ID, ExecutionID: "exec-3"})
	wantCode(t, err, errcode.FailedPrecond, "already redriven")
	pending := must[*catalog.FailurePage](t)(st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", NotRedriven: true}))
	if len(pending.Failures) != 5 {
		t.Fatalf("not redriven: %d, want 5", len(pending.Failures))
	}
	read := must[*catalog.Failure](t)(st.FailureGet(ctx, &catalog.FailureGetParams{ID: f.ID}))
	if read.RedrivenAt == nil || !read.RedrivenAt.Equal(b.clock.Now()) {
		t.Fatalf("FailureGet = %+v", read)
	}

	// A succeeded item cannot be marked failed.
	s := b.media(t, catalog.MediaCreateParams{})
	b.setStatus(t, s.ID, types.StatusProcessing, types.StatusSucceeded)
	_, err = st.FailureRecord(ctx, &catalog.FailureRecordParams{MediaID: s.ID, TenantID: "acme", ErrorName: "X", UpdateMedia: true})
	wantCode(t, err, errcode.FailedPrecond)
	_, err = st.FailureRecord(ctx, &catalog.FailureRecordParams{TenantID: "initech", ErrorName: "X"})
	wantCode(t, err, errcode.NotFound, "initech")
	_, err = st.FailureRecord(ctx, &catalog.FailureRecordParams{TenantID: "acme"})
	wantCode(t, err, errcode.Invalid, "error_name: required")
	_, err = st.FailureList(ctx, &catalog.FailureListParams{TenantID: "acme", Cursor: "garbage!"})
	wantCode(t, err, errcode.Invalid, "cursor")
}

var talk = &types.Transcript{
	Duration: 48,
	Words: slices.Concat(
		words(0, "spk_0", "Welcome to the launch briefing.", "Today we talk about rockets.", "The engines are running hot.",
			"Weather looks clear."),
		words(20, "spk_1", "Thank you.", "Our telescope found a new comet near Jupiter.", "It is bright.", "Astronomers are thrilled."),
		words(40, "spk_0", "Back to the rockets.", "Rockets launch at dawn.")),
}

// words makes timed words, one second each, from sentences.
func words(start float64, speaker string, sentences ...string) []types.Word {
	var out []types.Word
	t := start
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			out = append(out, types.Word{Text: w, Start: t, End: t + 0.8, Confidence: 0.9, Speaker: speaker})
			t++
		}
	}
	return out
}

func testSearch(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{Kind: types.KindVideo})
	b.setStatus(t, m.ID, types.StatusProcessing)
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Transcript: talk,
		Insights: &types.Insights{Summary: "A launch briefing about rockets, then a comet sighting."}}))
	other := b.media(t, catalog.MediaCreateParams{TenantID: "globex"})
	b.setStatus(t, other.ID, types.StatusProcessing)
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: other.ID, Summary: "Secret comet plans.",
		Transcript: &types.Transcript{Text: "The comet is ours.", Duration: 2}}))

	search := func(q string, source string) []*catalog.SearchHit {
		t.Helper()
		return must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: q, Source: source}))
	}
	hits := search("comet", "")
	if len(hits) != 2 {
		t.Fatalf("comet: %d hits: %+v", len(hits), hits)
	}
	var tr *catalog.SearchHit
	for _, h := range hits {
		if h.MediaID != m.ID {
			t.Fatalf("hit from another media or tenant: %+v", h)
		}
		if !strings.Contains(h.Snippet, catalog.SnippetOpen+"comet"+catalog.SnippetClose) {
			t.Fatalf("snippet %q does not mark the match", h.Snippet)
		}
		if h.Source == catalog.SourceTranscript {
			tr = h
		}
	}
	if tr == nil || tr.Start != 20 || tr.End != 32.8 {
		t.Fatalf("transcript hit %+v: want the chunk from 20s to 32.8s", tr)
	}
	if h := search("comet", catalog.SourceSummary); len(h) != 1 || h[0].Source != catalog.SourceSummary || h[0].Start != 0 {
		t.Fatalf("summary only: %+v", h)
	}
	// Stemming: "rocket" finds "rockets"; the chunk saying it twice ranks first.
	h := search("rocket", catalog.SourceTranscript)
	if len(h) != 2 || h[0].Start != 40 || h[1].Start != 0 {
		t.Fatalf("rocket: %+v", h)
	}
	if h[0].Score < h[1].Score {
		t.Fatalf("hits not best first: %+v", h)
	}
	for _, c := range []struct {
		q    string
		want []float64 // start times of transcript hits, any order
	}{
		{`"new comet"`, []float64{20}},
		{`"comet new"`, nil},
		{`teles*`, []float64{20}},
		{`rockets -engines`, []float64{40}},
		{`rockets NOT engines`, []float64{40}},
		{`dawn OR telescope`, []float64{20, 40}},
		{`launch rockets`, []float64{0, 40}},
		{`comet!! Jupiter?`, []float64{20}},
		{`(comet) AND [jupiter] +bright`, []float64{20}},
		{`astronomer`, []float64{33}},
		{`zebra`, nil},
	} {
		h := search(c.q, catalog.SourceTranscript)
		var got []float64
		for _, x := range h {
			got = append(got, x.Start)
		}
		if !sameSet(got, c.want) {
			t.Errorf("query %s: starts %v, want %v", c.q, got, c.want)
		}
	}
	// Re-indexing replaces the transcript chunks.
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID,
		Transcript: &types.Transcript{Duration: 3, Words: words(0, "", "Only penguins now.")}}))
	if h := search("telescope", ""); len(h) != 0 {
		t.Fatalf("old transcript still found: %+v", h)
	}
	if h := search("penguin", ""); len(h) != 1 || h[0].Start != 0 || h[0].End != 2.8 {
		t.Fatalf("new transcript: %+v", h)
	}
	// The other tenant sees its own.
	g := must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "globex", Query: "comet"}))
	if len(g) != 2 || g[0].MediaID != other.ID {
		t.Fatalf("globex: %+v", g)
	}
}

func sameSet(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[float64]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

// testSearchRankBound checks that a query matching more than
// MaxRankedMatches chunks ranks the newest ones: the oldest chunk, the best
// match by far, is left out.
func testSearchRankBound(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	n := catalog.MaxRankedMatches + 30
	tr := &types.Transcript{}
	at := 0.0
	add := func(w string) {
		tr.Words = append(tr.Words, types.Word{Text: w, Start: at, End: at + 0.5})
		at++
	}
	add("comet comet comet comet.")
	add("comet comet comet comet.")
	add("comet comet comet comet.")
	for range n - 1 {
		add("comet.")
		add("filler words here.")
		add("more filler words.")
	}
	tr.Duration = at
	m := b.media(t, catalog.MediaCreateParams{Status: types.StatusProcessing})
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Transcript: tr}))
	hits := must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "comet", Limit: 50}))
	if len(hits) != 50 {
		t.Fatalf("%d hits, want 50", len(hits))
	}
	for _, h := range hits {
		if h.Start < float64(3*(n-catalog.MaxRankedMatches)) {
			t.Fatalf("hit at %gs is older than the newest %d matches", h.Start, catalog.MaxRankedMatches)
		}
	}
	// A rarer word in that old chunk is still found.
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Summary: "comet summary"}))
	if h := must[[]*catalog.SearchHit](t)(st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: "summary"})); len(h) != 1 {
		t.Fatalf("rare word: %d hits", len(h))
	}
}

func testSearchBadInput(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	for _, c := range []struct {
		p        catalog.SearchQueryParams
		code     errcode.Code
		contains string
	}{
		{catalog.SearchQueryParams{TenantID: "acme", Query: ""}, errcode.Invalid, "empty"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: "   "}, errcode.Invalid, "empty"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: `"" () * - OR AND NOT`}, errcode.Invalid, "no words"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: "-comet"}, errcode.Invalid, "not excluded"},
		{catalog.SearchQueryParams{TenantID: "initech", Query: "comet"}, errcode.NotFound, "initech"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: "comet", Source: "ocr"}, errcode.Invalid, "source"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: "comet", Limit: 1000}, errcode.Invalid, "limit"},
		{catalog.SearchQueryParams{TenantID: "acme", Query: strings.Repeat("a ", 600)}, errcode.Invalid, "longer"},
	} {
		_, err := st.SearchQuery(ctx, &c.p)
		wantCode(t, err, c.code, c.contains)
	}
	// Operator soup with words in it is a query, not an error.
	for _, q := range []string{`comet AND OR NOT`, `NEAR(comet jupiter)`, `"unbalanced comet`, `comet^2 body:x {a b}:c`, `'; DROP TABLE cat_media; --`} {
		if _, err := st.SearchQuery(ctx, &catalog.SearchQueryParams{TenantID: "acme", Query: q}); err != nil {
			t.Errorf("query %q: %v", q, err)
		}
	}
}

func testUsage(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{})
	ok(t, st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{
		{TenantID: "acme", MediaID: m.ID, Analyser: "analyser.transcribe.pocketsphinx", CPUSeconds: 12.5, AudioSeconds: 60},
		{TenantID: "acme", MediaID: m.ID, Analyser: "analyser.summarise.openai", Tokens: 1500, CostUSD: 0.003},
		{TenantID: "globex", Analyser: "analyser.ocr.tesseract", Images: 4},
	}}))
	b.clock.Advance(2 * time.Hour)
	ok(t, st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{
		{TenantID: "acme", Analyser: "analyser.transcribe.pocketsphinx", CPUSeconds: 7.5, AudioSeconds: 30},
	}}))
	all := must[*catalog.UsageReport](t)(st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "acme"}))
	if all.Total.Entries != 3 || all.Total.CPUSeconds != 20 || all.Total.AudioSeconds != 90 || all.Total.Tokens != 1500 ||
		all.Total.Images != 0 || all.Total.CostUSD != 0.003 || len(all.ByAnalyser) != 2 ||
		all.ByAnalyser[1].Analyser != "analyser.transcribe.pocketsphinx" || all.ByAnalyser[1].Entries != 2 {
		t.Fatalf("totals: %+v", all)
	}
	early := must[*catalog.UsageReport](t)(st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "acme", Since: t0, Until: t0.Add(time.Hour)}))
	if early.Total.Entries != 2 || early.Total.CPUSeconds != 12.5 {
		t.Fatalf("window: %+v", early.Total)
	}
	perMedia := must[*catalog.UsageReport](t)(st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "acme", MediaID: m.ID}))
	if perMedia.Total.Entries != 2 {
		t.Fatalf("per media: %+v", perMedia.Total)
	}
	none := must[*catalog.UsageReport](t)(st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "acme", Since: t0.Add(5 * time.Hour)}))
	if none.Total.Entries != 0 || len(none.ByAnalyser) != 0 {
		t.Fatalf("empty window: %+v", none)
	}
	err := st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{{TenantID: "acme", Analyser: "a"}, {TenantID: "initech", Analyser: "a"}}})
	wantCode(t, err, errcode.NotFound, "initech")
	err = st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{{TenantID: "acme", Analyser: "a", CPUSeconds: -1}}})
	wantCode(t, err, errcode.Invalid, "entries[0]")
	err = st.UsageRecord(ctx, &catalog.UsageRecordParams{Entries: []catalog.UsageEntry{{TenantID: "acme"}}})
	wantCode(t, err, errcode.Invalid, "entries[0].analyser: required")
	after := must[*catalog.UsageReport](t)(st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "acme"}))
	if after.Total.Entries != 3 {
		t.Fatalf("a refused batch wrote entries: %+v", after.Total)
	}
	_, err = st.UsageTotals(ctx, &catalog.UsageTotalsParams{TenantID: "initech"})
	wantCode(t, err, errcode.NotFound)
}

func event(id string) catalog.OutboxEvent {
	return catalog.OutboxEvent{ID: id, Payload: json.RawMessage(`{"detail-type":"Object Created","id":"` + id + `"}`)}
}

func testOutboxAtomic(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	m := b.media(t, catalog.MediaCreateParams{ID: "m1", Events: []catalog.OutboxEvent{event("ev-1")}})
	// The second create collides on the media id: its event must not be written.
	_, err := st.MediaCreate(ctx, &catalog.MediaCreateParams{ID: m.ID, TenantID: "acme", BucketKey: "k", Events: []catalog.OutboxEvent{event("ev-2")}})
	wantCode(t, err, errcode.AlreadyExists)
	// A colliding event id rolls back its media row.
	_, err = st.MediaCreate(ctx, &catalog.MediaCreateParams{ID: "m2", TenantID: "acme", BucketKey: "k", Events: []catalog.OutboxEvent{event("ev-1")}})
	wantCode(t, err, errcode.AlreadyExists, "ev-1")
	_, err = st.MediaGet(ctx, &catalog.MediaGetParams{ID: "m2"})
	wantCode(t, err, errcode.NotFound)
	// Events with an update, and on their own.
	b.clock.Advance(time.Second)
	must[*catalog.Media](t)(st.MediaUpdate(ctx, &catalog.MediaUpdateParams{ID: m.ID, Status: types.StatusProcessing, Events: []catalog.OutboxEvent{event("ev-3")}}))
	b.clock.Advance(time.Second)
	ok(t, st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{event("ev-4")}}))
	err = st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{{ID: "ev-5", Payload: json.RawMessage(`{not json`)}}})
	wantCode(t, err, errcode.Invalid, "events[0].payload: not valid JSON")

	evs := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 10}))
	var got []string
	for _, e := range evs {
		got = append(got, e.ID)
		var v map[string]any
		if err := json.Unmarshal(e.Payload, &v); err != nil || v["id"] != e.ID {
			t.Fatalf("payload %s: %v", e.Payload, err)
		}
	}
	if strings.Join(got, ",") != "ev-1,ev-3,ev-4" {
		t.Fatalf("claimed %v, want ev-1,ev-3,ev-4 in order", got)
	}
	if !evs[0].CreatedAt.Equal(t0) || evs[0].Attempts != 1 {
		t.Fatalf("event %+v", evs[0])
	}
	// Payloads come back byte for byte.
	raw := `{"z": 1,  "a": [true, null], "id":"ev-raw"}`
	ok(t, st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{{ID: "ev-raw", Payload: json.RawMessage(raw)}}}))
	got2 := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{}))
	if len(got2) != 1 || string(got2[0].Payload) != raw {
		t.Fatalf("payload changed: %+v", got2)
	}
}

func testOutboxClaimAckRelease(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	ok(t, st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{event("a"), event("b"), event("c")}}))
	first := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 2, Lease: 30 * time.Second}))
	if len(first) != 2 || first[0].ID != "a" || first[1].ID != "b" || first[0].ClaimToken == "" {
		t.Fatalf("first claim: %+v", first)
	}
	second := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 10, Lease: 30 * time.Second}))
	if len(second) != 1 || second[0].ID != "c" || second[0].ClaimToken == first[0].ClaimToken {
		t.Fatalf("second claim: %+v", second)
	}
	if again := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{})); len(again) != 0 {
		t.Fatalf("leased events claimed again: %+v", again)
	}
	// Ack a; let b's lease run out; it is reclaimed with a new token.
	if n := must[int](t)(st.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: first[0].ClaimToken, IDs: []string{"a"}})); n != 1 {
		t.Fatalf("ack a = %d", n)
	}
	b.clock.Advance(31 * time.Second)
	re := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 10, Lease: time.Minute}))
	if len(re) != 2 || re[0].ID != "b" || re[0].Attempts != 2 || re[1].ID != "c" {
		t.Fatalf("reclaim: %+v", re)
	}
	// The stale claim can no longer ack or release b.
	if n := must[int](t)(st.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: first[0].ClaimToken, IDs: []string{"b"}})); n != 0 {
		t.Fatalf("stale ack = %d", n)
	}
	if n := must[int](t)(st.OutboxRelease(ctx, &catalog.OutboxReleaseParams{ClaimToken: first[0].ClaimToken, IDs: []string{"b"}})); n != 0 {
		t.Fatalf("stale release = %d", n)
	}
	// Release b with a delay and an error; ack c.
	if n := must[int](t)(st.OutboxRelease(ctx, &catalog.OutboxReleaseParams{ClaimToken: re[0].ClaimToken, IDs: []string{"b"},
		Delay: 10 * time.Second, Error: "target returned 503"})); n != 1 {
		t.Fatalf("release = %d", n)
	}
	if n := must[int](t)(st.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: re[0].ClaimToken, IDs: []string{"c", "zzz"}})); n != 1 {
		t.Fatalf("ack c = %d", n)
	}
	if early := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{})); len(early) != 0 {
		t.Fatalf("released event claimed before its delay: %+v", early)
	}
	b.clock.Advance(10 * time.Second)
	last := must[[]*catalog.OutboxEvent](t)(st.OutboxClaim(ctx, &catalog.OutboxClaimParams{}))
	if len(last) != 1 || last[0].ID != "b" || last[0].Attempts != 3 || last[0].LastError != "target returned 503" {
		t.Fatalf("after delay: %+v", last)
	}
	_, err := st.OutboxAck(ctx, &catalog.OutboxAckParams{IDs: []string{"b"}})
	wantCode(t, err, errcode.Invalid, "claim_token")
	_, err = st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: -1})
	wantCode(t, err, errcode.Invalid, "limit")
	err = st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: []catalog.OutboxEvent{event("b")}})
	wantCode(t, err, errcode.AlreadyExists, `"b"`)
}

func testOutboxConcurrentClaims(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	const n = 60
	var evs []catalog.OutboxEvent
	for i := range n {
		evs = append(evs, event(fmt.Sprintf("e%03d", i)))
	}
	ok(t, st.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: evs}))
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := st.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 7})
				if err != nil {
					errs <- err
					return
				}
				if len(got) == 0 {
					return
				}
				var ids []string
				mu.Lock()
				for _, e := range got {
					seen[e.ID]++
					ids = append(ids, e.ID)
				}
				mu.Unlock()
				if _, err := st.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: got[0].ClaimToken, IDs: ids}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != n {
		t.Fatalf("claimed %d distinct events, want %d", len(seen), n)
	}
	for id, c := range seen {
		if c != 1 {
			t.Fatalf("%s claimed %d times under one lease", id, c)
		}
	}
}

func testDeliveries(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	mark := func(consumer, id string) bool {
		t.Helper()
		return must[bool](t)(st.DeliveryMark(ctx, &catalog.DeliveryMarkParams{Consumer: consumer, EventID: id}))
	}
	if !mark("pipeline", "ev-1") || mark("pipeline", "ev-1") || !mark("webhook:https", "ev-1") || !mark("pipeline", "ev-2") {
		t.Fatal("DeliveryMark first/again wrong")
	}
	b.clock.Advance(time.Hour)
	mark("pipeline", "ev-3")
	if n := must[int](t)(st.DeliveryPrune(ctx, &catalog.DeliveryPruneParams{Before: t0.Add(time.Minute)})); n != 3 {
		t.Fatalf("pruned %d, want 3", n)
	}
	if !mark("pipeline", "ev-1") || mark("pipeline", "ev-3") {
		t.Fatal("after prune")
	}
	_, err := st.DeliveryMark(ctx, &catalog.DeliveryMarkParams{Consumer: "", EventID: "x"})
	wantCode(t, err, errcode.Invalid, "consumer: required")
	_, err = st.DeliveryMark(ctx, &catalog.DeliveryMarkParams{Consumer: "c", EventID: "bad id"})
	wantCode(t, err, errcode.Invalid, "event_id")
}

func testClosed(t *testing.T, b *bundle) {
	ok(t, b.st.Close())
	ok(t, b.st.Close())
	_, err := b.st.MediaGet(b.ctx, &catalog.MediaGetParams{ID: "x"})
	wantCode(t, err, errcode.FailedPrecond, "closed")
	_, err = b.st.MediaCreate(b.ctx, &catalog.MediaCreateParams{TenantID: "acme", BucketKey: "k"})
	wantCode(t, err, errcode.FailedPrecond, "closed")
}
