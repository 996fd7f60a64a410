package bus

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
)

func newStoredBus(t *testing.T, st Store) (*Bus, *fakeStarter) {
	t.Helper()
	fs := &fakeStarter{}
	b := New(Options{Store: st, Starter: fs, Logger: slog.New(slog.DiscardHandler), Webhook: &Webhook{Sleep: noSleep, MaxAttempts: 1}})
	if err := b.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return b, fs
}

func ruleNames(b *Bus) map[string]string {
	out := map[string]string{}
	for _, r := range b.Rules() {
		out[r.Spec.Name] = r.Source + "/" + r.Spec.State
	}
	return out
}

func TestStoredRulesSurviveRestartAndReachOtherBuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := NewMemoryStore(nil)
	a, _ := newStoredBus(t, st)
	other, otherStarts := newStoredBus(t, st)
	if _, err := a.PutRule(ctx, []byte(`{"name":"api-rule","event_pattern":{"source":["app"]},"state":"ENABLED",
		"targets":[{"id":"w","type":"workflow","state_machine":"sm"}]}`)); err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(a)["api-rule"]; got != "api/ENABLED" {
		t.Fatalf("putting bus sees %q", got)
	}
	// The other bus routes by it after its reload.
	if _, ok := ruleNames(other)["api-rule"]; ok {
		t.Fatal("other bus has the rule before reloading")
	}
	if err := other.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if err := other.Put(ctx, Event{Version: "0", ID: "ev-1", Source: "app", DetailType: "x", Detail: []byte(`{}`), Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	drain(t, other)
	if len(otherStarts.starts) != 1 {
		t.Fatalf("other bus started %v", otherStarts.starts)
	}
	// A new bus over the same store (a restart) has it from the first reload.
	restarted, _ := newStoredBus(t, st)
	if r := restarted.Rules(); len(r) != 1 || r[0].Version != 1 || r[0].Source != SourceAPI {
		t.Fatalf("after restart %+v", r)
	}
	if err := a.DeleteRule(ctx, "api-rule"); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if len(restarted.Rules()) != 0 {
		t.Fatalf("deleted rule still in effect: %+v", restarted.Rules())
	}
}

func TestFileRulesStayThroughReloads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := NewMemoryStore(nil)
	a, _ := newStoredBus(t, st)
	b, _ := newStoredBus(t, st)
	file := []byte(`[{"name":"from-file","event_pattern":{"source":["app"]},"state":"ENABLED"}]`)
	for _, x := range []*Bus{a, b} {
		if _, err := x.LoadRules(file, "file"); err != nil {
			t.Fatal(err)
		}
	}
	// A file rule is not stored: deleting it through the API is refused.
	if err := a.DeleteRule(ctx, "from-file"); !errors.Is(err, errcode.FailedPrecond) {
		t.Fatalf("delete of a file rule: %v", err)
	}
	// An API rule of the same name shadows it everywhere …
	if _, err := a.PutRule(ctx, []byte(`{"name":"from-file","event_pattern":{"source":["app"]},"state":"DISABLED"}`)); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := ruleNames(b)["from-file"]; got != "api/DISABLED" {
		t.Fatalf("shadowed rule on the other bus: %q", got)
	}
	// … and deleting it brings the file's rule back, on every bus.
	if err := a.DeleteRule(ctx, "from-file"); err != nil {
		t.Fatal(err)
	}
	if err := b.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*Bus{a, b} {
		if got := ruleNames(x)["from-file"]; got != "file/ENABLED" {
			t.Fatalf("after delete: %q", got)
		}
	}
	if err := a.DeleteRule(ctx, "missing"); !errors.Is(err, errcode.NotFound) {
		t.Fatalf("delete of a missing rule: %v", err)
	}
}

// TestRunReloadsRules: Run's watcher picks up a rule put elsewhere.
func TestRunReloadsRules(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	st := NewMemoryStore(nil)
	writer, _ := newStoredBus(t, st)
	reader := New(Options{Store: st, Logger: slog.New(slog.DiscardHandler), RulesPoll: 10 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); _ = reader.Run(ctx) }()
	defer func() { cancel(); <-done }()
	if _, err := writer.PutRule(ctx, []byte(`{"name":"late","event_pattern":{"source":["x"]},"state":"ENABLED"}`)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for reader.RulesVersion() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("reader never reloaded the rule")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, ok := ruleNames(reader)["late"]; !ok {
		t.Fatal("version moved but the rule is not in effect")
	}
}
