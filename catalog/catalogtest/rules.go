package catalogtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

func rulePut(name, bus, spec string) *catalog.RulePutParams {
	return &catalog.RulePutParams{Name: name, EventBus: bus, Spec: json.RawMessage(spec), State: catalog.RuleEnabled, Source: "api"}
}

func testRules(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	version := func() int64 { t.Helper(); return must[int64](t)(st.RulesVersion(ctx, &catalog.RulesVersionParams{})) }
	if v := version(); v != 0 {
		t.Fatalf("rules version of a new store = %d, want 0", v)
	}
	if set := must[*catalog.RuleSet](t)(st.RuleList(ctx, &catalog.RuleListParams{})); set.Version != 0 || len(set.Rules) != 0 {
		t.Fatalf("empty list = %+v", set)
	}

	// The spec is kept byte for byte (no key reordering or respacing).
	spec := `{"name":"zeta",  "event_pattern":{"source":["app"]},"targets":[]}`
	r := must[*catalog.Rule](t)(st.RulePut(ctx, rulePut("zeta", "default", spec)))
	if r.Version != 1 || r.Source != "api" || r.State != catalog.RuleEnabled || !r.UpdatedAt.Equal(t0) {
		t.Fatalf("first put = %+v", r)
	}
	b.clock.Advance(time.Second)
	p := rulePut("zeta", "orders", `{"name":"zeta"}`)
	p.State = catalog.RuleDisabled
	r = must[*catalog.Rule](t)(st.RulePut(ctx, p))
	if r.Version != 2 || r.EventBus != "orders" || r.State != catalog.RuleDisabled || !r.UpdatedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("second put = %+v", r)
	}
	must[*catalog.Rule](t)(st.RulePut(ctx, rulePut("alpha", "aws.partner/acme.com/1", spec)))
	if v := version(); v != 3 {
		t.Fatalf("rules version after three puts = %d", v)
	}
	got := must[*catalog.Rule](t)(st.RuleGet(ctx, &catalog.RuleGetParams{Name: "alpha"}))
	if string(got.Spec) != spec {
		t.Fatalf("spec = %s, want %s byte for byte", got.Spec, spec)
	}

	// Optimistic concurrency on the rule's version.
	p = rulePut("zeta", "orders", `{}`)
	p.Version = 1
	_, err := st.RulePut(ctx, p)
	wantCode(t, err, errcode.FailedPrecond, "zeta", "version 2")
	if !errors.Is(err, catalog.ErrVersionConflict) {
		t.Fatalf("stale put: %v is not ErrVersionConflict", err)
	}
	p.Version = 2
	if r := must[*catalog.Rule](t)(st.RulePut(ctx, p)); r.Version != 3 {
		t.Fatalf("put at version 2 gave version %d", r.Version)
	}
	p = rulePut("new", "default", `{}`)
	p.Version = 4
	_, err = st.RulePut(ctx, p)
	wantCode(t, err, errcode.FailedPrecond, "new")
	if v := version(); v != 4 {
		t.Fatalf("rules version after failed puts = %d, want 4 (failures change nothing)", v)
	}

	set := must[*catalog.RuleSet](t)(st.RuleList(ctx, &catalog.RuleListParams{}))
	if set.Version != 4 || len(set.Rules) != 2 || set.Rules[0].Name != "alpha" || set.Rules[1].Name != "zeta" {
		t.Fatalf("list = %+v", set)
	}

	ok(t, st.RuleDelete(ctx, &catalog.RuleDeleteParams{Name: "alpha"}))
	wantCode(t, st.RuleDelete(ctx, &catalog.RuleDeleteParams{Name: "alpha"}), errcode.NotFound, "alpha")
	_, err = st.RuleGet(ctx, &catalog.RuleGetParams{Name: "alpha"})
	wantCode(t, err, errcode.NotFound, "alpha")
	if v := version(); v != 5 {
		t.Fatalf("rules version after a delete and a missed delete = %d, want 5", v)
	}
	// A deleted rule put again starts over at version 1.
	if r := must[*catalog.Rule](t)(st.RulePut(ctx, rulePut("alpha", "default", `{}`))); r.Version != 1 {
		t.Fatalf("re-created rule at version %d", r.Version)
	}
}

func testRulesInvalid(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	cases := []struct {
		mod  func(p *catalog.RulePutParams)
		want string
	}{
		{func(p *catalog.RulePutParams) { p.Name = "" }, "name: required"},
		{func(p *catalog.RulePutParams) { p.Name = "has space" }, "name:"},
		{func(p *catalog.RulePutParams) { p.Name = string(make([]byte, 65)) }, "name: longer than 64"},
		{func(p *catalog.RulePutParams) { p.EventBus = "" }, "event_bus: required"},
		{func(p *catalog.RulePutParams) { p.EventBus = "a b" }, "event_bus:"},
		{func(p *catalog.RulePutParams) { p.Spec = nil }, "spec: required"},
		{func(p *catalog.RulePutParams) { p.Spec = json.RawMessage(`[1]`) }, "spec: not a JSON object"},
		{func(p *catalog.RulePutParams) { p.Spec = json.RawMessage(`{"a":`) }, "spec: not a JSON object"},
		{func(p *catalog.RulePutParams) { p.State = "ON" }, `state: "ON"`},
		{func(p *catalog.RulePutParams) { p.Source = "" }, "source:"},
		{func(p *catalog.RulePutParams) { p.Source = "a.b" }, "source:"},
		{func(p *catalog.RulePutParams) { p.Version = -1 }, "version: negative"},
	}
	for i, c := range cases {
		p := rulePut("r", "default", `{}`)
		c.mod(p)
		_, err := st.RulePut(ctx, p)
		t.Run(fmt.Sprint(i), func(t *testing.T) { wantCode(t, err, errcode.Invalid, c.want) })
	}
	wantCode(t, st.RuleDelete(ctx, &catalog.RuleDeleteParams{Name: "a b"}), errcode.Invalid, "name:")
	_, err := st.RuleGet(ctx, &catalog.RuleGetParams{})
	wantCode(t, err, errcode.Invalid, "name: required")
	if v := must[int64](t)(st.RulesVersion(ctx, &catalog.RulesVersionParams{})); v != 0 {
		t.Fatalf("rules version after invalid puts = %d", v)
	}
}

// testRulesConcurrent puts one rule from many goroutines: every put gets a
// distinct rule version and the installation version counts them all.
func testRulesConcurrent(t *testing.T, b *bundle) {
	ctx, st := b.ctx, b.st
	const n = 8
	var wg sync.WaitGroup
	versions := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := st.RulePut(ctx, rulePut("same", "default", fmt.Sprintf(`{"i":%d}`, i)))
			errs[i] = err
			if err == nil {
				versions[i] = r.Version
			}
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i := range n {
		ok(t, errs[i])
		if seen[versions[i]] {
			t.Fatalf("version %d given twice: %v", versions[i], versions)
		}
		seen[versions[i]] = true
	}
	if v := must[int64](t)(st.RulesVersion(ctx, &catalog.RulesVersionParams{})); v != n {
		t.Fatalf("rules version = %d, want %d", v, n)
	}
	if r := must[*catalog.Rule](t)(st.RuleGet(ctx, &catalog.RuleGetParams{Name: "same"})); r.Version != n {
		t.Fatalf("rule version = %d, want %d", r.Version, n)
	}
}
