package analyser

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

// fake is an analyser with an optional lifecycle that logs its calls.
type fake struct {
	id, task, provider string
	log                *[]string
	openErr            error
}

func (f *fake) Spec() Spec { return Spec{ID: f.id, Task: f.task, Provider: f.provider} }
func (f *fake) Run(ctx context.Context, env *Env, in *Input) (any, error) {
	return nil, nil
}

type lifecycle struct{ fake }

func (l *lifecycle) Open(ctx context.Context) error {
	*l.log = append(*l.log, "open "+l.id)
	return l.openErr
}

func (l *lifecycle) Close() error {
	*l.log = append(*l.log, "close "+l.id)
	if l.id == "analyser.b" {
		return errors.New("b would not close")
	}
	return nil
}

func TestRegistryIsPerInstance(t *testing.T) {
	t.Parallel()
	r1, r2 := NewRegistry(), NewRegistry()
	if err := r1.Register(&fake{id: "analyser.test.remote", task: "test-task", provider: "remote"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r1.ForTask("test-task", "remote"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r2.Lookup("analyser.test.remote"); ok {
		t.Fatal("an analyser registered in one registry is in another")
	}
	if _, ok := Lookup("analyser.test.remote"); ok {
		t.Fatal("an analyser registered in a registry is in the built-in catalogue")
	}
	err := r1.Register(&fake{id: "analyser.test.remote", task: "test-task", provider: "remote"})
	if !errors.Is(err, errcode.AlreadyExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := r1.Register(&fake{id: "analyser.x"}); !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), "task") {
		t.Fatalf("incomplete spec: %v", err)
	}
	_, err = r1.ForTask("test-task", "other")
	if !errors.Is(err, errcode.ProviderNotConfigured) || !strings.Contains(err.Error(), "have: remote") {
		t.Fatalf("missing provider: %v", err)
	}
	if n := len(r1.All()); n != len(r2.All())+1 {
		t.Fatalf("All: %d vs %d", n, len(r2.All()))
	}
}

func TestRegistryLifecycle(t *testing.T) {
	t.Parallel()
	var log []string
	r := &Registry{byID: map[string]Analyser{}}
	for _, id := range []string{"analyser.c", "analyser.a", "analyser.b"} {
		if err := r.Register(&lifecycle{fake{id: id, task: id, provider: "p", log: &log}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Register(&fake{id: "analyser.plain", task: "plain", provider: "p"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := r.Open(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Open(ctx); !errors.Is(err, errcode.FailedPrecond) {
		t.Fatalf("second open: %v", err)
	}
	err := r.Close()
	if err == nil || !strings.Contains(err.Error(), "analyser analyser.b: close: b would not close") {
		t.Fatalf("close error %v", err)
	}
	want := "open analyser.a,open analyser.b,open analyser.c,close analyser.c,close analyser.b,close analyser.a"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("calls %s\nwant  %s", got, want)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("closing a closed registry: %v", err)
	}

	// A failed open closes what was opened and names the analyser.
	log = nil
	c, _ := r.Lookup("analyser.c")
	c.(*lifecycle).openErr = errors.New("no model")
	err = r.Open(ctx)
	if err == nil || !strings.Contains(err.Error(), "analyser analyser.c: open: no model") {
		t.Fatalf("open error %v", err)
	}
	want = "open analyser.a,open analyser.b,open analyser.c,close analyser.b,close analyser.a"
	if got := strings.Join(log, ","); got != want {
		t.Fatalf("calls %s\nwant  %s", got, want)
	}
}
