package live

import (
	"context"

	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// SubscriberBuffer is how many messages a viewer may fall behind by. Past
// it the viewer misses partial results; a final result or the end it
// cannot take drops it.
const SubscriberBuffer = 256

// Subscription is one viewer of a session: first the captions so far
// (the start, every final result, the open utterance's latest partial),
// then each message as it is made.
type Subscription struct {
	s      *Session
	replay []types.LiveMessage
	ch     chan types.LiveMessage
	err    error
	closed bool
}

// Subscribe adds a viewer.
func (s *Session) Subscribe() *Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := &Subscription{s: s, ch: make(chan types.LiveMessage, SubscriberBuffer)}
	sub.replay = append(sub.replay, s.history...)
	if s.partial != nil {
		sub.replay = append(sub.replay, *s.partial)
	}
	if s.endMsg != nil {
		sub.replay = append(sub.replay, *s.endMsg)
		sub.closeLocked(nil)
		return sub
	}
	s.subs[sub] = struct{}{}
	return sub
}

// Next returns the next message; ok is false after the last one (the
// session ended, or the viewer fell too far behind: Err says which).
func (sub *Subscription) Next(ctx context.Context) (types.LiveMessage, bool, error) {
	if len(sub.replay) > 0 {
		m := sub.replay[0]
		sub.replay = sub.replay[1:]
		return m, true, nil
	}
	select {
	case m, ok := <-sub.ch:
		if !ok {
			sub.s.mu.Lock()
			err := sub.err
			sub.s.mu.Unlock()
			return m, false, err
		}
		return m, true, nil
	case <-ctx.Done():
		return types.LiveMessage{}, false, ctx.Err()
	}
}

// Close removes the viewer.
func (sub *Subscription) Close() {
	sub.s.mu.Lock()
	defer sub.s.mu.Unlock()
	sub.closeLocked(nil)
}

func (sub *Subscription) closeLocked(err error) {
	if sub.closed {
		return
	}
	sub.closed, sub.err = true, err
	delete(sub.s.subs, sub)
	close(sub.ch)
}

// publish numbers m, keeps it for late viewers when keep is set, and
// sends it to every viewer.
func (s *Session) publish(m types.LiveMessage, keep bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	m.Landfall.Seq = s.seq
	m.Landfall.SessionID = s.id
	m.Landfall.DecodedSeconds = round3(s.decoded)
	m.Landfall.AudioSeconds = round3(float64(s.pcmBytes.Load()) / 32000)
	if m.Landfall.Event == "started" {
		m.Landfall.CaptionsURL = "/v1/live/" + s.id + "/captions"
	}
	partial := m.Transcript != nil && len(m.Transcript.Results) > 0 && m.Transcript.Results[0].IsPartial
	switch {
	case m.Landfall.Event == "ended":
		s.endMsg = &m
		s.partial = nil
	case partial:
		s.partial = &m
	case keep:
		s.history = append(s.history, m)
		s.partial = nil
	}
	for sub := range s.subs {
		select {
		case sub.ch <- m:
		default:
			if !partial {
				sub.closeLocked(errcode.New(errcode.RateLimited, "viewer fell %d messages behind and was dropped", SubscriberBuffer))
			}
		}
	}
}

// publishResult sends a recogniser result as a Transcribe Streaming
// TranscriptEvent.
func (s *Session) publishResult(r realtime.Result) {
	s.publish(types.LiveMessage{Transcript: &types.LiveTranscript{Results: []types.LiveResult{ToResult(r)}},
		Landfall: types.LiveInfo{Event: "transcript"}}, !r.Partial)
}

// ToResult shapes a recogniser result as Transcribe Streaming does.
func ToResult(r realtime.Result) types.LiveResult {
	alt := types.LiveAlternative{Transcript: r.Text(), Items: make([]types.LiveItem, len(r.Words))}
	for i, w := range r.Words {
		c, st := w.Confidence, w.Stable
		alt.Items[i] = types.LiveItem{StartTime: w.Start, EndTime: w.End, Type: "pronunciation", Content: w.Text,
			Confidence: &c, Stable: &st, Speaker: w.Speaker}
	}
	return types.LiveResult{ResultId: r.ID, StartTime: r.Start, EndTime: r.End, IsPartial: r.Partial,
		ChannelId: r.Channel, LanguageCode: "en-US", Alternatives: []types.LiveAlternative{alt}}
}

func round3(x float64) float64 { return float64(int64(x*1000+0.5)) / 1000 }
