package openai

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/coder/websocket"

	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// RealtimeEngineID names the OpenAI realtime engine in live results.
const RealtimeEngineID = "openai-realtime"

// realtimeRate is the sample rate of audio/pcm in a realtime session.
const realtimeRate = 24000

// Realtime is live captioning through an OpenAI-compatible realtime
// transcription session: a WebSocket to <base_url>/realtime?intent=
// transcription (or Config.RealtimeURL), a session.update of type
// "transcription" (24 kHz audio/pcm, the model, the language, the
// vocabulary and domain text as the prompt, server voice activity
// detection with the stream's pause), the audio in
// input_audio_buffer.append events, and the server's events back:
// input_audio_buffer.speech_started/speech_stopped bound each utterance,
// conversation.item.input_audio_transcription.delta grows its partial
// result and .completed gives its final one. Closing commits the audio
// still in the buffer and waits for its transcript.
//
// What the protocol does not give is made up as follows, and said here so
// nobody mistakes it for measurement: word times are the utterance's
// span (from the voice activity events) shared out over its words by
// length; a word is stable once the text after it has started (deltas
// only ever append); confidence is the mean token probability from the
// session's logprobs, or 1 when the server sends none. The server tells
// no speakers apart: words carry no speaker label.
type Realtime struct {
	C *Client
}

var _ realtime.Engine = Realtime{}

// realtimeURL is the WebSocket URL of a transcription session.
func (c *Client) realtimeURL() (string, error) {
	raw := c.cfg.RealtimeURL
	if raw == "" {
		raw = c.cfg.BaseURL + "/realtime?intent=transcription"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errcode.Wrap(errcode.Invalid, err, "openai: realtime URL %q", raw)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", errcode.New(errcode.Invalid, "openai: realtime URL %q: want http(s) or ws(s)", raw)
	}
	return u.String(), nil
}

func (c *Client) realtimeModel() string {
	switch {
	case c.cfg.RealtimeModel != "":
		return c.cfg.RealtimeModel
	case c.cfg.TranscribeModel != "":
		return c.cfg.TranscribeModel
	}
	return "gpt-4o-transcribe"
}

// rtEvent is the part of the server's events Landfall reads.
type rtEvent struct {
	Type         string       `json:"type"`
	ItemID       string       `json:"item_id"`
	AudioStartMS *float64     `json:"audio_start_ms"`
	AudioEndMS   *float64     `json:"audio_end_ms"`
	Delta        string       `json:"delta"`
	Transcript   string       `json:"transcript"`
	Logprobs     []rtLogprob  `json:"logprobs"`
	Error        *rtError     `json:"error"`
	Session      *rtSessionID `json:"session"`
}

type rtLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
}

type rtError struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type rtSessionID struct {
	Model string `json:"model"`
}

// rtItem is one utterance (a conversation item of the session).
type rtItem struct {
	id         string
	n          int     // result number
	start, end float64 // seconds; end < 0 while speech goes on
	text       string
	probs      []tokenProb // token start offsets in text, with probabilities
	committed  bool
	done       bool
	final      string
	finalProbs []tokenProb
}

type tokenProb struct {
	off  int
	prob float64
}

type rtStream struct {
	c      *websocket.Conn
	emit   func(realtime.Result)
	prefix string
	info   realtime.Info
	up     upsampler

	mu        sync.Mutex
	items     map[string]*rtItem
	order     []*rtItem // in the order the server opened them
	n         int
	err       error
	samples   int64   // 16 kHz samples appended
	speaking  *rtItem // the utterance whose speech has not stopped
	update    map[string]any
	updated   int // session.updated events
	changed   chan struct{}
	stab      realtime.Stabiliser
	readDone  chan struct{}
	ready     chan error
	readyOnce sync.Once
}

// Open connects a transcription session and configures it.
func (r Realtime) Open(ctx context.Context, p realtime.Params, emit func(realtime.Result)) (realtime.Stream, error) {
	if r.C == nil {
		return nil, errcode.New(errcode.ProviderNotConfigured, "openai realtime: no client")
	}
	u, err := r.C.realtimeURL()
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	if r.C.cfg.APIKey != "" {
		h.Set("Authorization", "Bearer "+r.C.cfg.APIKey)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: r.C.http, HTTPHeader: h})
	if err != nil {
		code := errcode.ProviderTransient
		if resp != nil {
			switch {
			case resp.StatusCode == http.StatusTooManyRequests:
				code = errcode.ProviderThrottled
			case resp.StatusCode/100 == 4:
				code = errcode.ProviderFailed
			}
		}
		return nil, errcode.Wrap(code, err, "openai realtime: connecting to %s", redactURL(u))
	}
	c.SetReadLimit(4 << 20)
	model := r.C.realtimeModel()
	s := &rtStream{c: c, emit: emit, prefix: p.IDPrefix, items: map[string]*rtItem{}, changed: make(chan struct{}, 1),
		readDone: make(chan struct{}), ready: make(chan error, 1),
		info: realtime.Info{Engine: RealtimeEngineID, Model: model}}
	go s.read()
	pause := p.Pause
	if pause <= 0 {
		pause = 0.5
	}
	lang := p.Language
	if i := strings.IndexByte(lang, '-'); i > 0 {
		lang = lang[:i] // ISO-639-1
	}
	tr := map[string]any{"model": model}
	if lang != "" {
		tr["language"] = lang
	}
	if prompt := realtimePrompt(p.Vocabulary, p.DomainText); prompt != "" {
		tr["prompt"] = prompt
	}
	upd := map[string]any{"type": "session.update", "session": map[string]any{
		"type": "transcription",
		"audio": map[string]any{"input": map[string]any{
			"format":        map[string]any{"type": "audio/pcm", "rate": realtimeRate},
			"transcription": tr,
			"turn_detection": map[string]any{"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
				"silence_duration_ms": int(math.Round(pause * 1000))},
		}},
		"include": []string{"item.input_audio_transcription.logprobs"},
	}}
	s.update = upd
	if err := s.send(ctx, upd); err != nil {
		c.CloseNow()
		<-s.readDone
		return nil, err
	}
	// The session is ready when the server confirms the update; an error
	// event (an unknown model, a refused key) fails the open.
	select {
	case err := <-s.ready:
		if err != nil {
			c.CloseNow()
			<-s.readDone
			return nil, err
		}
	case <-dctx.Done():
		c.CloseNow()
		<-s.readDone
		return nil, errcode.New(errcode.ProviderTransient, "openai realtime: the server did not confirm the session within 30 s")
	}
	return s, nil
}

// realtimePrompt is the transcription prompt: the vocabulary, then the
// end of the domain text, within what a prompt usefully holds.
func realtimePrompt(vocab []string, domain string) string {
	var b strings.Builder
	if len(vocab) > 0 {
		b.WriteString(strings.Join(vocab, ", "))
	}
	if d := strings.TrimSpace(domain); d != "" {
		room := 1000 - b.Len()
		if room > 50 {
			if len(d) > room {
				d = d[len(d)-room:]
				if i := strings.IndexByte(d, ' '); i >= 0 {
					d = d[i+1:]
				}
			}
			if b.Len() > 0 {
				b.WriteString(". ")
			}
			b.WriteString(d)
		}
	}
	return b.String()
}

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	p.User, p.RawQuery = nil, ""
	return p.String()
}

func (s *rtStream) Info() realtime.Info { return s.info }

func (s *rtStream) send(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.c.Write(wctx, websocket.MessageText, b); err != nil {
		if e := s.failure(); e != nil {
			return e
		}
		return errcode.Wrap(errcode.ProviderTransient, err, "openai realtime: sending")
	}
	return nil
}

func (s *rtStream) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *rtStream) Write(ctx context.Context, pcm []byte) error {
	if err := s.failure(); err != nil {
		return err
	}
	out := s.up.write(pcm)
	s.mu.Lock()
	s.samples += int64(len(pcm) / 2)
	s.mu.Unlock()
	if len(out) == 0 {
		return nil
	}
	return s.send(ctx, map[string]string{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(out)})
}

// Close commits the audio still in the buffer, waits for every
// utterance's final result, and closes the session.
func (s *rtStream) Close(ctx context.Context) error {
	defer func() {
		_ = s.c.Close(websocket.StatusNormalClosure, "")
		<-s.readDone
	}()
	if err := s.failure(); err != nil {
		return err
	}
	if out := s.up.flush(); len(out) > 0 {
		if err := s.send(ctx, map[string]string{"type": "input_audio_buffer.append", "audio": base64.StdEncoding.EncodeToString(out)}); err != nil {
			return err
		}
	}
	// The buffer is committed by hand, so that speech still going on at
	// the end becomes an utterance (a buffer of silence comes back as an
	// empty transcript, which makes no result, or as an error that the
	// buffer is empty). The same session.update follows as a barrier:
	// the server takes events in order, so once it confirms that update
	// its voice activity detection has seen all the audio and every
	// utterance it found is committed.
	s.mu.Lock()
	commit := s.samples > 0
	s.mu.Unlock()
	if commit {
		if err := s.send(ctx, map[string]string{"type": "input_audio_buffer.commit"}); err != nil {
			return err
		}
	}
	if err := s.send(ctx, s.update); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		s.mu.Lock()
		pending := s.updated < 2
		for _, it := range s.order {
			pending = pending || (it.committed && !it.done)
		}
		err := s.err
		s.mu.Unlock()
		if err != nil {
			return err
		}
		if !pending {
			break
		}
		select {
		case <-s.changed:
			continue
		case <-s.readDone:
			if err := s.failure(); err != nil {
				return err
			}
		case <-wait.Done():
		}
		break
	}
	// Utterances the server did not finish keep the words their deltas
	// gave, as final results: nothing said is dropped.
	s.mu.Lock()
	for _, it := range s.order {
		if !it.done {
			it.done, it.final, it.finalProbs = true, it.text, it.probs
		}
	}
	finals := s.finals()
	s.mu.Unlock()
	for _, r := range finals {
		s.emit(r)
	}
	return nil
}

// read takes the server's events until the connection ends.
func (s *rtStream) read() {
	defer close(s.readDone)
	defer s.notify()
	for {
		typ, b, err := s.c.Read(context.Background())
		if err != nil {
			s.mu.Lock()
			if s.err == nil && websocket.CloseStatus(err) != websocket.StatusNormalClosure && !errors.Is(err, context.Canceled) {
				s.err = errcode.Wrap(errcode.ProviderTransient, err, "openai realtime: the connection ended")
			}
			s.mu.Unlock()
			s.readyOnce.Do(func() {
				s.ready <- errcode.Wrap(errcode.ProviderTransient, err, "openai realtime: the connection ended")
			})
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		var ev rtEvent
		if err := json.Unmarshal(b, &ev); err != nil {
			s.fail(errcode.Wrap(errcode.ProviderBadOutput, err, "openai realtime: an event that is not JSON"))
			return
		}
		s.handle(&ev)
		s.notify()
	}
}

func (s *rtStream) notify() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

func (s *rtStream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.readyOnce.Do(func() { s.ready <- err })
	s.c.CloseNow()
}

// item returns the utterance id, opening it if new.
func (s *rtStream) item(id string) *rtItem {
	it := s.items[id]
	if it == nil {
		s.n++
		start := 0.0
		if k := len(s.order); k > 0 && s.order[k-1].end >= 0 {
			start = s.order[k-1].end
		}
		it = &rtItem{id: id, n: s.n, start: start, end: -1}
		s.items[id] = it
		s.order = append(s.order, it)
	}
	return it
}

func (s *rtStream) handle(ev *rtEvent) {
	switch ev.Type {
	case "session.updated", "transcription_session.updated":
		s.mu.Lock()
		s.updated++
		s.mu.Unlock()
		s.readyOnce.Do(func() { s.ready <- nil })
	case "error":
		e := ev.Error
		if e == nil {
			e = &rtError{Message: "an error event without an error"}
		}
		if e.Code == "input_audio_buffer_commit_empty" {
			return // the commit at the end found nothing left
		}
		code := errcode.ProviderFailed
		switch {
		case e.Type == "server_error":
			code = errcode.ProviderTransient
		case strings.Contains(e.Code, "rate_limit"):
			code = errcode.ProviderThrottled
		}
		s.fail(errcode.New(code, "openai realtime: %s", strings.TrimSpace(e.Message+" ("+e.Code+")")))
	case "input_audio_buffer.speech_started":
		s.mu.Lock()
		it := s.item(ev.ItemID)
		if ev.AudioStartMS != nil {
			it.start = *ev.AudioStartMS / 1000
		}
		s.speaking = it
		s.mu.Unlock()
	case "input_audio_buffer.speech_stopped":
		s.mu.Lock()
		it := s.item(ev.ItemID)
		if ev.AudioEndMS != nil {
			it.end = *ev.AudioEndMS / 1000
		}
		if s.speaking == it {
			s.speaking = nil
		}
		s.mu.Unlock()
	case "input_audio_buffer.committed":
		s.mu.Lock()
		if s.items[ev.ItemID] == nil && s.speaking != nil && !s.speaking.committed {
			// A commit of speech in progress: the utterance the server
			// opened, whatever id the commit gives it.
			s.items[ev.ItemID] = s.speaking
		}
		it := s.item(ev.ItemID)
		it.committed = true
		if it.end < 0 {
			it.end = float64(s.samples) / 16000
		}
		if s.speaking == it {
			s.speaking = nil
		}
		s.mu.Unlock()
	case "conversation.item.input_audio_transcription.delta":
		s.mu.Lock()
		it := s.item(ev.ItemID)
		if it.done {
			s.mu.Unlock()
			return
		}
		it.probs = appendProbs(it.probs, len(it.text), ev.Logprobs)
		it.text += ev.Delta
		res := s.result(it, true)
		s.mu.Unlock()
		if len(res.Words) > 0 {
			s.emit(res)
		}
	case "conversation.item.input_audio_transcription.completed":
		s.mu.Lock()
		it := s.item(ev.ItemID)
		it.done, it.final = true, ev.Transcript
		it.finalProbs = appendProbs(nil, 0, ev.Logprobs)
		finals := s.finals()
		s.mu.Unlock()
		for _, r := range finals {
			s.emit(r)
		}
	case "conversation.item.input_audio_transcription.failed":
		// The utterance keeps the words its deltas gave.
		s.mu.Lock()
		it := s.item(ev.ItemID)
		it.done, it.final, it.finalProbs = true, it.text, it.probs
		finals := s.finals()
		s.mu.Unlock()
		for _, r := range finals {
			s.emit(r)
		}
	}
}

// finals makes the final results of the finished utterances at the
// front of the order, so finals come in speaking order even when the
// server completes a later utterance first.
func (s *rtStream) finals() []realtime.Result {
	var out []realtime.Result
	for len(s.order) > 0 && s.order[0].done {
		it := s.order[0]
		s.order = s.order[1:]
		res := s.result(it, false)
		if len(res.Words) > 0 {
			out = append(out, res)
		}
	}
	return out
}

// result builds an utterance's result (mu held).
func (s *rtStream) result(it *rtItem, partial bool) realtime.Result {
	text, probs := it.text, it.probs
	if !partial {
		text, probs = it.final, it.finalProbs
	}
	spans := fieldSpans(text)
	endsOpen := partial && (len(text) == 0 || !unicode.IsSpace(rune(text[len(text)-1])))
	words := make([]realtime.Word, len(spans))
	for i, sp := range spans {
		words[i] = realtime.Word{Text: text[sp[0]:sp[1]], Confidence: confidence(probs, sp[0], sp[1]),
			Stable: !partial || i < len(spans)-1 || !endsOpen}
	}
	now := float64(s.samples) / 16000
	res := realtime.Result{ID: fmt.Sprintf("%s%d", s.prefix, it.n), Partial: partial, Start: it.start, Decoded: now}
	end := it.end
	if end < 0 {
		end = now
	}
	res.End = max(end, it.start)
	res.Words = words
	// Times: the stable words keep the times they were first sent with
	// (the Stabiliser puts them back); the others share what is left of
	// the utterance by length.
	prev := s.stab.Prefix(res.ID)
	k := min(len(prev), len(words))
	from := it.start
	if k > 0 {
		from = prev[k-1].End
	}
	spread(words[k:], from, max(res.End, from))
	return s.stab.Apply(res)
}

// spread shares [from, to] out over ws by their length.
func spread(ws []realtime.Word, from, to float64) {
	total := 0
	for _, w := range ws {
		total += len(w.Text) + 1
	}
	if total == 0 {
		return
	}
	t := from
	for i := range ws {
		d := (to - from) * float64(len(ws[i].Text)+1) / float64(total)
		ws[i].Start, ws[i].End = round3(t), round3(t+d)
		t += d
	}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// fieldSpans returns the byte spans of the whitespace-separated words.
func fieldSpans(s string) [][2]int {
	var out [][2]int
	start := -1
	for i, r := range s {
		if unicode.IsSpace(r) {
			if start >= 0 {
				out = append(out, [2]int{start, i})
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(s)})
	}
	return out
}

// appendProbs records the tokens of lps as starting at offsets from off.
func appendProbs(ps []tokenProb, off int, lps []rtLogprob) []tokenProb {
	for _, lp := range lps {
		ps = append(ps, tokenProb{off: off, prob: math.Exp(lp.Logprob)})
		off += len(lp.Token)
	}
	return ps
}

// confidence is the mean probability of the tokens that start within
// [from, to) or run into it, or 1 without token probabilities.
func confidence(ps []tokenProb, from, to int) float64 {
	sum, n := 0.0, 0
	for i, p := range ps {
		next := to
		if i+1 < len(ps) {
			next = ps[i+1].off
		}
		if p.off < to && next > from {
			sum += p.prob
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return round3(sum / float64(n))
}
