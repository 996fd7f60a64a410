package bus

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipelines"
	"github.com/landfall/landfall/rule"
)

type unroutedList struct {
	mu   sync.Mutex
	fail int // fail this many calls first
	got  []*UnroutedEvent
}

func (u *unroutedList) EventUnrouted(ctx context.Context, e *UnroutedEvent) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail > 0 {
		u.fail--
		return errors.New("catalog unavailable")
	}
	u.got = append(u.got, e)
	return nil
}

func (u *unroutedList) list() []*UnroutedEvent {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*UnroutedEvent(nil), u.got...)
}

func TestUnroutedEventNamesClosestRule(t *testing.T) {
	t.Parallel()
	b, st, _ := newBus(t)
	un := &unroutedList{fail: 1}
	b.opt.Unrouted = un
	if _, err := b.LoadRules(pipelines.MediaRules, "default"); err != nil {
		t.Fatal(err)
	}
	big := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/a.mp4", Size: 4096, ETag: "e1"}, "", time.Now())
	small := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/tiny.txt", Size: 64, ETag: "e2"}, "", time.Now())
	outside := ObjectCreated("media", ObjectDetail{Key: "other/acme/b.mp4", Size: 2048, ETag: "e3"}, "", time.Now())
	if err := b.Put(context.Background(), big, small, outside); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	// The first report failed: the event is redelivered after a backoff.
	if got := len(un.list()); got != 1 {
		t.Fatalf("after one failed report: %d unrouted events, want 1", got)
	}
	b.opt.Now = func() time.Time { return time.Now().Add(time.Hour) }
	b.opt.Store.(*MemoryStore).now = b.opt.Now
	drain(t, b)
	got := un.list()
	if len(got) != 2 || len(st.starts) != 1 {
		t.Fatalf("unrouted %d, started %d; want 2 and 1", len(got), len(st.starts))
	}
	reasons := map[string]string{}
	for _, u := range got {
		if u.GaveUp {
			t.Errorf("%s: GaveUp set for an event no rule matched", u.ID)
		}
		reasons[u.ID] = u.Reason
	}
	if r := reasons[small.ID]; r != `no rule matched: size 64 B ≤ 1 KiB (closest rule "media-uploaded")` {
		t.Errorf("small object: reason %q", r)
	}
	if r := reasons[outside.ID]; !strings.Contains(r, `detail.object.key is "other/acme/b.mp4", the rule wants [{"prefix":"incoming/"}]`) {
		t.Errorf("object outside incoming/: reason %q", r)
	}
}

func TestUnroutedEventWhenStartGivesUp(t *testing.T) {
	t.Parallel()
	b, _, dl := newBus(t)
	un := &unroutedList{}
	b.opt.Unrouted = un
	b.opt.Starter = starterFunc(func() error { return errcode.New(errcode.NotFound, "no state machine named media") })
	if _, err := b.LoadRules(pipelines.MediaRules, "default"); err != nil {
		t.Fatal(err)
	}
	ev := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/a.mp4", Size: 4096, ETag: "e1"}, "", time.Now())
	if err := b.Put(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	got := un.list()
	if len(got) != 1 || !got[0].GaveUp || !strings.Contains(got[0].Reason, "no state machine named media") || len(dl.dls) != 1 {
		t.Fatalf("unrouted %+v, dead letters %d", got, len(dl.dls))
	}
}

func TestUnroutedWithoutRules(t *testing.T) {
	t.Parallel()
	b, _, _ := newBus(t)
	un := &unroutedList{}
	b.opt.Unrouted = un
	b.opt.Logger = slog.New(slog.DiscardHandler)
	ev := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/a.mp4", Size: 4096, ETag: "e1"}, "", time.Now())
	if err := b.Put(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	drain(t, b)
	if got := un.list(); len(got) != 1 || !strings.Contains(got[0].Reason, "no enabled rule is loaded") {
		t.Fatalf("unrouted %+v", got)
	}
}

type starterFunc func() error

func (f starterFunc) StartExecution(ctx context.Context, sm, name string, input []byte) (string, error) {
	return "", f()
}

func TestHumanBytes(t *testing.T) {
	t.Parallel()
	for in, want := range map[float64]string{0: "0 B", 64: "64 B", 1024: "1 KiB", 1536: "1.5 KiB", 3 << 20: "3 MiB", 1.5 * (1 << 20): "1.5 MiB"} {
		if got := humanBytes(in); got != want {
			t.Errorf("humanBytes(%v) = %q, want %q", in, got, want)
		}
	}
}

// FuzzExplainNoMatch: explaining never panics, and a pattern that matches
// an event has no failed condition on it.
func FuzzExplainNoMatch(f *testing.F) {
	f.Add([]byte(`{"detail":{"object":{"key":[{"prefix":"incoming/"}],"size":[{"numeric":[">",1024]}]}}}`),
		[]byte(`{"detail":{"object":{"key":"incoming/a/b","size":64}}}`))
	f.Add([]byte(`{"source":["a"],"$or":[{"x":[1]},{"y":[{"exists":false}]}]}`), []byte(`{"source":"a","x":2}`))
	f.Add([]byte(`{"a":{"b":[{"numeric":[">=",0,"<",10]}]}}`), []byte(`{"a":{"b":[3,30]}}`))
	f.Fuzz(func(t *testing.T, pattern, event []byte) {
		p, err := rule.ParsePattern(pattern)
		if err != nil {
			return
		}
		e := &entry{spec: rule.RuleSpec{Name: "r", EventPattern: pattern, Pattern: p}}
		_ = explainNoMatch([]*entry{e}, event)
		if ok, err := p.Matches(event); err == nil && ok {
			if failed := failedConditions(&e.spec, event); len(failed) != 0 {
				t.Fatalf("pattern %s matches %s but conditions %v failed", pattern, event, failed)
			}
		}
	})
}
