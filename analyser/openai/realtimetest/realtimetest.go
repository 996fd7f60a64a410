// Package realtimetest is a loopback server speaking the OpenAI realtime
// transcription protocol, for tests: a WebSocket at /v1/realtime that
// takes a session.update of type "transcription", then
// input_audio_buffer.append events of 24 kHz audio/pcm, finds utterances
// with an energy detector using the session's silence_duration_ms, and
// answers each with input_audio_buffer.speech_started, speech_stopped,
// committed, conversation.item.input_audio_transcription.delta events
// (one a word, with logprobs) and .completed. It recognises nothing: the
// n-th utterance's transcript is Script[n].
package realtimetest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Server is the fake realtime endpoint.
type Server struct {
	*httptest.Server
	// Script is the transcript of each utterance, in order.
	Script []string
	// Key is the API key clients must send as a Bearer token.
	Key string
	// RejectModel is answered with an error event when a session asks
	// for it.
	RejectModel string
	// Reverse completes each pair of utterances second first (the
	// protocol lets transcripts of separate items finish in any order);
	// an utterance ended by a commit is transcribed at once.
	Reverse bool
	// DeltaDelay is the pause before each delta event.
	DeltaDelay time.Duration

	mu       sync.Mutex
	sessions []*Session
	conns    []*websocket.Conn
}

// Drop cuts every connection without a close handshake, as a server
// that goes away does.
func (s *Server) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.CloseNow()
	}
}

// Session records one connection.
type Session struct {
	mu sync.Mutex
	// Update is the session.update the client sent.
	Update map[string]any
	// Audio is the 24 kHz PCM16 received.
	Audio []byte
	// Commits counts input_audio_buffer.commit events.
	Commits int
	// Utterances are the [start, end] times (ms) the detector found.
	Utterances [][2]float64
	// Closed is set when the client closed the connection normally.
	Closed bool
}

// New starts a server; Close it when done.
func New(script ...string) *Server {
	s := &Server{Script: script, Key: "test-key"}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// BaseURL is what openai.Config.BaseURL takes.
func (s *Server) BaseURL() string { return s.URL + "/v1" }

// Sessions returns the sessions so far.
func (s *Server) Sessions() []*Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Session(nil), s.sessions...)
}

// Snapshot returns a copy of the session's record.
func (ss *Session) Snapshot() (audio []byte, commits int, utts [][2]float64, closed bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]byte(nil), ss.Audio...), ss.Commits, append([][2]float64(nil), ss.Utterances...), ss.Closed
}

type conn struct {
	s      *Server
	ss     *Session
	c      *websocket.Conn
	wmu    sync.Mutex
	events int
	items  int

	// detector
	silenceMS  float64
	samples    int64
	lastCommit int64 // samples at the last commit
	speaking   bool
	run        int // speech frames in a row, or silent frames while speaking
	startMS    float64
	item       string
	prevItem   string
	utterances int
	frame      []int16
	pending    []func() // transcripts held back by Reverse
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v1/realtime" || r.URL.Query().Get("intent") != "transcription" {
		http.Error(w, "not a realtime transcription URL", http.StatusNotFound)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+s.Key {
		http.Error(w, `{"error":{"message":"Incorrect API key provided","type":"invalid_request_error","code":"invalid_api_key"}}`, http.StatusUnauthorized)
		return
	}
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(16 << 20)
	ss := &Session{}
	s.mu.Lock()
	s.sessions = append(s.sessions, ss)
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	cn := &conn{s: s, ss: ss, c: c, silenceMS: 500}
	ctx := r.Context()
	cn.send(ctx, map[string]any{"type": "session.created", "session": map[string]any{"type": "transcription"}})
	for {
		typ, b, err := c.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
				ss.mu.Lock()
				ss.Closed = true
				ss.mu.Unlock()
			}
			return
		}
		if typ != websocket.MessageText {
			cn.fail(ctx, "invalid_request_error", "binary_frame", "send events as JSON text")
			continue
		}
		var ev map[string]any
		if json.Unmarshal(b, &ev) != nil {
			cn.fail(ctx, "invalid_request_error", "invalid_json", "not JSON")
			continue
		}
		switch ev["type"] {
		case "session.update":
			cn.update(ctx, ev)
		case "input_audio_buffer.append":
			a, _ := ev["audio"].(string)
			pcm, err := base64.StdEncoding.DecodeString(a)
			if err != nil || len(pcm)%2 != 0 {
				cn.fail(ctx, "invalid_request_error", "invalid_audio", "audio is not base64 PCM16")
				continue
			}
			ss.mu.Lock()
			ss.Audio = append(ss.Audio, pcm...)
			ss.mu.Unlock()
			cn.detect(ctx, pcm)
		case "input_audio_buffer.commit":
			ss.mu.Lock()
			ss.Commits++
			ss.mu.Unlock()
			switch {
			case cn.speaking:
				cn.stop(ctx, cn.ms(), true)
			case cn.samples-cn.lastCommit < 2400:
				cn.fail(ctx, "invalid_request_error", "input_audio_buffer_commit_empty",
					"buffer too small: at least 100ms of audio is needed")
			default:
				// Silence committed: an item whose transcript is empty.
				cn.items++
				cn.startMS, cn.item = float64(cn.lastCommit)/24, fmt.Sprintf("item_%03d", cn.items)
				cn.silent(ctx)
			}
		default:
			cn.fail(ctx, "invalid_request_error", "unknown_event", fmt.Sprintf("unknown event %v", ev["type"]))
		}
	}
}

func (cn *conn) send(ctx context.Context, ev map[string]any) {
	cn.wmu.Lock()
	defer cn.wmu.Unlock()
	cn.events++
	ev["event_id"] = fmt.Sprintf("event_%d", cn.events)
	b, _ := json.Marshal(ev)
	_ = cn.c.Write(ctx, websocket.MessageText, b)
}

func (cn *conn) fail(ctx context.Context, typ, code, msg string) {
	cn.send(ctx, map[string]any{"type": "error", "error": map[string]any{"type": typ, "code": code, "message": msg}})
}

func (cn *conn) update(ctx context.Context, ev map[string]any) {
	cn.ss.mu.Lock()
	cn.ss.Update = ev
	cn.ss.mu.Unlock()
	sess, _ := ev["session"].(map[string]any)
	audio, _ := sess["audio"].(map[string]any)
	in, _ := audio["input"].(map[string]any)
	format, _ := in["format"].(map[string]any)
	tr, _ := in["transcription"].(map[string]any)
	td, _ := in["turn_detection"].(map[string]any)
	switch {
	case sess["type"] != "transcription":
		cn.fail(ctx, "invalid_request_error", "invalid_value", "session.type must be transcription")
		return
	case format["type"] != "audio/pcm" || format["rate"] != float64(24000):
		cn.fail(ctx, "invalid_request_error", "invalid_value", "audio.input.format: only audio/pcm at 24000 Hz")
		return
	case tr["model"] == nil || tr["model"] == cn.s.RejectModel:
		cn.fail(ctx, "invalid_request_error", "invalid_model", fmt.Sprintf("model %v does not exist", tr["model"]))
		return
	}
	if ms, ok := td["silence_duration_ms"].(float64); ok && ms > 0 {
		cn.silenceMS = ms
	}
	cn.send(ctx, map[string]any{"type": "session.updated", "session": sess})
}

func (cn *conn) ms() float64 { return float64(cn.samples) / 24 }

// detect runs the energy detector over 10 ms frames.
func (cn *conn) detect(ctx context.Context, pcm []byte) {
	for i := 0; i+1 < len(pcm); i += 2 {
		cn.frame = append(cn.frame, int16(uint16(pcm[i])|uint16(pcm[i+1])<<8))
		cn.samples++
		if len(cn.frame) < 240 {
			continue
		}
		sum := 0.0
		for _, v := range cn.frame {
			sum += float64(v) * float64(v)
		}
		loud := math.Sqrt(sum/float64(len(cn.frame))) > 300
		cn.frame = cn.frame[:0]
		switch {
		case !cn.speaking && loud:
			cn.run++
			if cn.run >= 3 {
				cn.speaking, cn.run = true, 0
				cn.startMS = cn.ms() - 30
				cn.items++
				cn.item = fmt.Sprintf("item_%03d", cn.items)
				cn.send(ctx, map[string]any{"type": "input_audio_buffer.speech_started", "audio_start_ms": cn.startMS, "item_id": cn.item})
			}
		case !cn.speaking:
			cn.run = 0
		case loud:
			cn.run = 0
		default:
			cn.run++
			if float64(cn.run)*10 >= cn.silenceMS {
				cn.stop(ctx, cn.ms(), false)
			}
		}
	}
}

// silent commits the buffer holding no speech.
func (cn *conn) silent(ctx context.Context) {
	item, prev := cn.item, cn.prevItem
	cn.prevItem, cn.lastCommit = item, cn.samples
	cn.send(ctx, map[string]any{"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": prev})
	cn.send(ctx, map[string]any{"type": "conversation.item.input_audio_transcription.completed", "item_id": item,
		"content_index": 0, "transcript": ""})
}

// stop ends the utterance in progress at endMS and transcribes it.
func (cn *conn) stop(ctx context.Context, endMS float64, byCommit bool) {
	item, prev := cn.item, cn.prevItem
	cn.speaking, cn.run, cn.prevItem, cn.lastCommit = false, 0, item, cn.samples
	cn.send(ctx, map[string]any{"type": "input_audio_buffer.speech_stopped", "audio_end_ms": endMS, "item_id": item})
	cn.send(ctx, map[string]any{"type": "input_audio_buffer.committed", "item_id": item, "previous_item_id": prev})
	cn.ss.mu.Lock()
	cn.ss.Utterances = append(cn.ss.Utterances, [2]float64{cn.startMS, endMS})
	cn.ss.mu.Unlock()
	text := ""
	if cn.utterances < len(cn.s.Script) {
		text = cn.s.Script[cn.utterances]
	}
	cn.utterances++
	transcribe := func() {
		words := strings.Fields(text)
		var lps []map[string]any
		for i, w := range words {
			if i > 0 {
				w = " " + w
			}
			if cn.s.DeltaDelay > 0 {
				time.Sleep(cn.s.DeltaDelay)
			}
			lp := []map[string]any{{"token": w, "logprob": math.Log(0.9), "bytes": []byte(w)}}
			lps = append(lps, lp...)
			cn.send(ctx, map[string]any{"type": "conversation.item.input_audio_transcription.delta", "item_id": item,
				"content_index": 0, "delta": w, "logprobs": lp})
		}
		cn.send(ctx, map[string]any{"type": "conversation.item.input_audio_transcription.completed", "item_id": item,
			"content_index": 0, "transcript": strings.Join(words, " "), "logprobs": lps,
			"usage": map[string]any{"type": "duration", "seconds": (endMS - cn.startMS) / 1000}})
	}
	if cn.s.Reverse && len(cn.pending) == 0 && !byCommit {
		cn.pending = append(cn.pending, transcribe)
		return
	}
	transcribe()
	for _, f := range cn.pending {
		f()
	}
	cn.pending = nil
}
