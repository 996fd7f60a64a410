package busstore_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/busstore"
	_ "github.com/landfall/landfall/catalog/postgres"
	_ "github.com/landfall/landfall/catalog/sqlite"
	"github.com/landfall/landfall/internal/testutil"
)

type starts struct {
	mu    sync.Mutex
	names []string
}

func (s *starts) StartExecution(ctx context.Context, sm, name string, input []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names = append(s.names, sm+"/"+name)
	return name, nil
}

func (s *starts) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.names)
}

// process is one API process: its own catalog connection and bus, running.
type process struct {
	cat    catalog.Store
	bus    *bus.Bus
	starts *starts
}

func start(t *testing.T, dbURL string) *process {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cat, err := catalog.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cat: cat, starts: &starts{}}
	p.bus = bus.New(bus.Options{Store: busstore.New(cat), Starter: p.starts, Logger: slog.New(slog.DiscardHandler),
		Poll: 10 * time.Millisecond, RulesPoll: 20 * time.Millisecond})
	if _, err := p.bus.LoadRules([]byte(`[{"name":"from-file","event_pattern":{"source":["file"]},"state":"ENABLED"}]`), "file"); err != nil {
		t.Fatal(err)
	}
	if err := p.bus.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = p.bus.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; cat.Close() })
	return p
}

// eventually polls cond until it holds or 10 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasRule(b *bus.Bus, name, source string) bool {
	for _, r := range b.Rules() {
		if r.Spec.Name == name && r.Source == source {
			return true
		}
	}
	return false
}

// exerciseSharedRules: a rule put through one process is routed by another
// within a bounded time, survives a restart, and its deletion reaches
// every process; rules-file rules stay through every reload.
func exerciseSharedRules(t *testing.T, dbURL string) {
	ctx := context.Background()
	a, b := start(t, dbURL), start(t, dbURL)
	if _, err := a.bus.PutRule(ctx, []byte(`{"name":"orders","event_pattern":{"source":["shop"]},"state":"ENABLED",
		"targets":[{"id":"w","type":"workflow","state_machine":"fulfil"}]}`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "process b routes by the rule put through a", func() bool { return hasRule(b.bus, "orders", bus.SourceAPI) })
	if !hasRule(b.bus, "from-file", "file") {
		t.Fatal("reload dropped the rules-file rule")
	}
	// An event put through b starts the rule's target once, whichever
	// process's dispatcher claims it.
	if err := b.bus.Put(ctx, bus.Event{Version: "0", ID: "ev-1", Source: "shop", DetailType: "Order",
		Detail: []byte(`{}`), Time: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the event starts the target", func() bool { return a.starts.count()+b.starts.count() == 1 })

	// A restart (a new process on the same database) has the rule.
	c := start(t, dbURL)
	if !hasRule(c.bus, "orders", bus.SourceAPI) {
		t.Fatalf("restarted process rules: %+v", c.bus.Rules())
	}
	if err := c.bus.DeleteRule(ctx, "orders"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deletion reaches a and b", func() bool {
		return !hasRule(a.bus, "orders", bus.SourceAPI) && !hasRule(b.bus, "orders", bus.SourceAPI)
	})
	if a.bus.RulesVersion() != 2 || !hasRule(a.bus, "from-file", "file") {
		t.Fatalf("a at rules version %d with %+v", a.bus.RulesVersion(), a.bus.Rules())
	}
}

func TestSharedRulesSQLite(t *testing.T) {
	t.Parallel()
	exerciseSharedRules(t, "sqlite://"+filepath.Join(t.TempDir(), "landfall.db"))
}

func TestSharedRulesPostgres(t *testing.T) {
	t.Parallel()
	exerciseSharedRules(t, testutil.PostgresSchemaURL(t, "bus_test"))
}
