package live

import (
	"context"
	"testing"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func testSession() *Session {
	return &Session{id: "live-test", subs: map[*Subscription]struct{}{}}
}

func result(id string, partial bool, words ...string) stream.Result {
	r := stream.Result{ID: id, Partial: partial}
	for i, w := range words {
		r.Words = append(r.Words, stream.Word{Text: w, Start: float64(i), End: float64(i) + 0.5, Confidence: 0.9, Stable: !partial})
	}
	return r
}

func next(t *testing.T, sub *Subscription) types.LiveMessage {
	t.Helper()
	m, ok, err := sub.Next(context.Background())
	if !ok {
		t.Fatalf("subscription ended: %v", err)
	}
	return m
}

// A late viewer gets the start, every final result and the open
// utterance's latest partial, then what follows.
func TestLateViewerReplay(t *testing.T) {
	t.Parallel()
	s := testSession()
	s.publish(types.LiveMessage{Landfall: types.LiveInfo{Event: "started"}}, true)
	s.publishResult(result("u1", true, "good"))
	s.publishResult(result("u1", true, "good", "morning"))
	s.publishResult(result("u1", false, "good", "morning"))
	s.publishResult(result("u2", true, "welcome"))
	s.publishResult(result("u2", true, "welcome", "to"))
	sub := s.Subscribe()
	var got []string
	for i := 0; i < 3; i++ {
		m := next(t, sub)
		switch {
		case m.Transcript == nil:
			got = append(got, m.Landfall.Event)
		default:
			r := m.Transcript.Results[0]
			got = append(got, r.ResultId+":"+r.Alternatives[0].Transcript+map[bool]string{true: "…", false: "."}[r.IsPartial])
		}
	}
	want := []string{"started", "u1:good morning.", "u2:welcome to…"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("replay %v, want %v", got, want)
		}
	}
	s.publishResult(result("u2", false, "welcome", "to", "the"))
	if m := next(t, sub); m.Transcript.Results[0].IsPartial || m.Landfall.Seq != 7 {
		t.Fatalf("after the replay: %+v", m)
	}
	r := ToResult(result("u2", false, "welcome"))
	if r.Alternatives[0].Items[0].Type != "pronunciation" || *r.Alternatives[0].Items[0].Stable != true || r.LanguageCode != "en-US" {
		t.Errorf("Transcribe Streaming shape: %+v", r)
	}
}

// A viewer that falls behind misses partial results, and is dropped with
// a reason when it cannot take a final one; the others go on.
func TestSlowViewerDropped(t *testing.T) {
	t.Parallel()
	s := testSession()
	slow, fast := s.Subscribe(), s.Subscribe()
	done := make(chan int)
	go func() {
		n := 0
		for {
			if _, ok, _ := fast.Next(context.Background()); !ok {
				break
			}
			n++
		}
		done <- n
	}()
	for i := 0; i < SubscriberBuffer+10; i++ {
		s.publishResult(result("u1", true, "word"))
	}
	// Partials past the buffer are skipped, not queued: still subscribed.
	s.mu.Lock()
	_, still := s.subs[slow]
	s.mu.Unlock()
	if !still {
		t.Fatal("a viewer behind on partials was dropped")
	}
	s.publishResult(result("u1", false, "word"))
	s.mu.Lock()
	_, still = s.subs[slow]
	s.mu.Unlock()
	if still {
		t.Fatal("a viewer that cannot take a final result is still subscribed")
	}
	for i := 0; i < SubscriberBuffer; i++ {
		next(t, slow)
	}
	if _, ok, err := slow.Next(context.Background()); ok || errcode.Of(err) != errcode.RateLimited {
		t.Fatalf("dropped viewer: ok %v, err %v", ok, err)
	}
	fast.Close()
	if n := <-done; n == 0 {
		t.Error("the fast viewer got nothing")
	}
}
