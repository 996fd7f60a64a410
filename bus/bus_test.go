package bus

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipelines"
)

type fakeStarter struct {
	mu     sync.Mutex
	starts map[string][]byte
	fail   atomic.Int32 // fail this many calls first
}

func (f *fakeStarter) StartExecution(ctx context.Context, sm, name string, input []byte) (string, error) {
	if f.fail.Load() > 0 {
		f.fail.Add(-1)
		return "", errcode.New(errcode.Unavailable, "engine busy")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.starts == nil {
		f.starts = map[string][]byte{}
	}
	f.starts[sm+"/"+name] = input
	return "exec-" + name, nil
}

type deadList struct {
	mu  sync.Mutex
	dls []*DeadLetter
}

func (d *deadList) KeepDeadLetter(ctx context.Context, dl *DeadLetter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dls = append(d.dls, dl)
	return nil
}

func newBus(t *testing.T) (*Bus, *fakeStarter, *deadList) {
	t.Helper()
	st, dl := &fakeStarter{}, &deadList{}
	b := New(Options{Store: NewMemoryStore(nil), Starter: st, Dead: dl, Logger: slog.New(slog.DiscardHandler),
		Webhook: &Webhook{Sleep: noSleep, MaxAttempts: 1}})
	return b, st, dl
}

// drain dispatches until the outbox has nothing available now.
func drain(t *testing.T, b *Bus) {
	t.Helper()
	for i := 0; i < 20; i++ {
		n, err := b.DispatchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

func TestDefaultPipelineRuleStartsExecution(t *testing.T) {
	b, st, _ := newBus(t)
	if _, err := b.LoadRules(pipelines.MediaRules, "default"); err != nil {
		t.Fatal(err)
	}
	big := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/a.mp4", Size: 4096, ETag: "e1"}, "", time.Now())
	small := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/tiny.txt", Size: 10, ETag: "e2"}, "", time.Now())
	other := ObjectCreated("media", ObjectDetail{Key: "processed/acme/x/a.mp4", Size: 4096, ETag: "e3"}, "", time.Now())
	if err := b.Put(context.Background(), big, small, other); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	// Redelivery of the same event starts nothing new: the name is the same.
	if err := b.Put(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	if len(st.starts) != 1 {
		t.Fatalf("starts = %v", st.starts)
	}
	for k, in := range st.starts {
		if !strings.HasPrefix(k, "media/") {
			t.Errorf("state machine %q", k)
		}
		var got map[string]any
		if err := json.Unmarshal(in, &got); err != nil {
			t.Fatalf("input %s: %v", in, err)
		}
		if got["bucket"] != "media" || got["key"] != "incoming/acme/a.mp4" || got["size"].(float64) != 4096 || got["event_id"] != big.ID {
			t.Errorf("input %s", in)
		}
	}
}

func TestRetryThenDeadLetter(t *testing.T) {
	b, st, dl := newBus(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusUnprocessableEntity)
	}))
	defer srv.Close()
	rules := `[{"name":"hook","event_pattern":{"source":["app"]},"state":"ENABLED","targets":[{"id":"h","type":"webhook","url":"` + srv.URL + `"}]},
	 {"name":"wf","event_pattern":{"source":["app"]},"state":"ENABLED","targets":[{"id":"w","type":"workflow","state_machine":"sm"}]}]`
	if _, err := b.LoadRules([]byte(rules), "file"); err != nil {
		t.Fatal(err)
	}
	st.fail.Store(1) // the engine refuses once: the event is released and redelivered
	res, err := b.PutEvents(context.Background(), []PutEventsEntry{{Source: "app", DetailType: "x", Detail: `{"a":1}`}, {Source: "", DetailType: "x", Detail: "{}"}})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].EventID == "" || res[1].ErrorCode != string(errcode.Invalid) {
		t.Fatalf("results %+v", res)
	}
	drain(t, b)
	// Released with a backoff of about a second: dispatch until it is
	// claimed and delivered again.
	deadline := time.Now().Add(10 * time.Second)
	for started := 0; started == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the released event was not delivered again within 10 s")
		}
		time.Sleep(50 * time.Millisecond)
		drain(t, b)
		st.mu.Lock()
		started = len(st.starts)
		st.mu.Unlock()
	}
	if len(st.starts) != 1 {
		t.Fatalf("starts %v", st.starts)
	}
	// The webhook's 422 is permanent: one dead letter, no hammering.
	if len(dl.dls) != 1 || dl.dls[0].Rule != "hook" || !strings.Contains(dl.dls[0].Error, "422") {
		t.Fatalf("dead letters %+v", dl.dls)
	}
}

func TestPutAndDeleteRule(t *testing.T) {
	b, _, _ := newBus(t)
	if _, err := b.PutRule(context.Background(), []byte(`{"name":"r","event_pattern":{"source":[{"prefix":""}]},"state":"ENABLED"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PutRule(context.Background(), []byte(`{"name":"bad","event_pattern":{"source":[]},"state":"ENABLED"}`)); err == nil || !strings.Contains(err.Error(), "/0/event_pattern/source") {
		t.Fatalf("invalid rule: %v", err)
	}
	if len(b.Rules()) != 1 {
		t.Fatal(b.Rules())
	}
	if err := b.DeleteRule(context.Background(), "r"); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteRule(context.Background(), "r"); !errors.Is(err, errcode.NotFound) {
		t.Fatal(err)
	}
}
