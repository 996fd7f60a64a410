// Package streamingtest is a loopback server speaking Amazon Transcribe
// Streaming's StartStreamTranscription, for tests: HTTP/2 over TLS with a
// test certificate, the request's x-amzn-transcribe-* headers read, the
// body decoded as the event stream the SDK sends (each signed frame's
// payload an AudioEvent message; an empty signed frame ends the audio),
// and TranscriptEvent frames answered. An energy detector finds the
// utterances; it recognises nothing: the n-th utterance's words are
// Script[n], shared out over its span. While an utterance goes on, a
// partial result with one more word is sent every 300 ms of audio (with
// partial-results stabilisation, all but its last word Stable); its end
// sends the final result, with a "." punctuation item. With speaker
// labels asked for, utterances alternate between speakers "0" and "1".
package streamingtest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// Server is the fake Transcribe Streaming endpoint.
type Server struct {
	*httptest.Server
	Script []string

	mu       sync.Mutex
	requests []*Request
}

// Request records one StartStreamTranscription call.
type Request struct {
	mu sync.Mutex
	// Header is the request's header (x-amzn-transcribe-*, Authorization).
	Header http.Header
	// Audio is the PCM the AudioEvents carried.
	Audio []byte
	// Signed counts frames carrying :chunk-signature and :date headers;
	// Ended is set when the empty end frame came.
	Signed int
	Ended  bool
	// Utterances are the [start, end] seconds the detector found.
	Utterances [][2]float64
}

// Snapshot copies the record.
func (r *Request) Snapshot() (audio []byte, signed int, ended bool, utts [][2]float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]byte(nil), r.Audio...), r.Signed, r.Ended, append([][2]float64(nil), r.Utterances...)
}

// New starts a server; Close it when done. Its Client() trusts its
// certificate and speaks HTTP/2.
func New(script ...string) *Server {
	s := &Server{Script: script}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.EnableHTTP2 = true
	s.StartTLS()
	return s
}

// NewH2C starts a server speaking HTTP/2 without TLS (prior knowledge)
// on an http:// URL.
func NewH2C(script ...string) *Server {
	s := &Server{Script: script}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Config.Protocols = new(http.Protocols)
	s.Config.Protocols.SetUnencryptedHTTP2(true)
	s.Start()
	return s
}

// Requests returns the calls so far.
func (s *Server) Requests() []*Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Request(nil), s.requests...)
}

func id() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func fail(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Message": msg})
}

type result struct {
	ResultId     string
	StartTime    float64
	EndTime      float64
	IsPartial    bool
	ChannelId    string `json:",omitempty"`
	Alternatives []alternative
}

type alternative struct {
	Transcript string
	Items      []item
}

type item struct {
	StartTime  float64
	EndTime    float64
	Type       string
	Content    string
	Confidence *float64 `json:",omitempty"`
	Speaker    string   `json:",omitempty"`
	Stable     *bool    `json:",omitempty"`
}

type session struct {
	s        *Server
	rq       *Request
	w        io.Writer
	fl       http.Flusher
	enc      *eventstream.Encoder
	stable   bool
	speakers bool

	samples   int64
	frame     []int16
	speaking  bool
	run       int
	start     float64
	sincePart int64
	utt       int
	rid       string
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/stream-transcription" {
		fail(w, http.StatusNotFound, "UnknownOperationException", "not StartStreamTranscription")
		return
	}
	if r.ProtoMajor != 2 {
		fail(w, http.StatusBadRequest, "BadRequestException", "HTTP/2 is required")
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		fail(w, http.StatusForbidden, "UnrecognizedClientException", "the request is not signed")
		return
	}
	rq := &Request{Header: r.Header.Clone()}
	s.mu.Lock()
	s.requests = append(s.requests, rq)
	s.mu.Unlock()
	if lang := r.Header.Get("x-amzn-transcribe-language-code"); lang != "en-US" && lang != "en-GB" {
		fail(w, http.StatusBadRequest, "BadRequestException", fmt.Sprintf("the language code %q is not supported", lang))
		return
	}
	if r.Header.Get("x-amzn-transcribe-sample-rate") != "16000" || r.Header.Get("x-amzn-transcribe-media-encoding") != "pcm" {
		fail(w, http.StatusBadRequest, "BadRequestException", "this server takes 16000 Hz pcm")
		return
	}
	fl, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "application/vnd.amazon.eventstream")
	w.Header().Set("x-amzn-request-id", id())
	w.Header().Set("x-amzn-transcribe-session-id", id())
	w.WriteHeader(http.StatusOK)
	if fl != nil {
		fl.Flush()
	}
	ss := &session{s: s, rq: rq, w: w, fl: fl, enc: eventstream.NewEncoder(),
		stable:   r.Header.Get("x-amzn-transcribe-enable-partial-results-stabilization") == "true",
		speakers: r.Header.Get("x-amzn-transcribe-show-speaker-label") == "true"}
	dec := eventstream.NewDecoder()
	for {
		outer, err := dec.Decode(r.Body, nil)
		if err != nil {
			return // the client went away
		}
		if outer.Headers.Get(":chunk-signature") == nil || outer.Headers.Get(":date") == nil {
			ss.exception("BadRequestException", "an unsigned event frame")
			return
		}
		rq.mu.Lock()
		rq.Signed++
		rq.mu.Unlock()
		if len(outer.Payload) == 0 {
			rq.mu.Lock()
			rq.Ended = true
			rq.mu.Unlock()
			ss.stop(ss.now())
			return // the response ends with the audio
		}
		inner, err := eventstream.NewDecoder().Decode(bytes.NewReader(outer.Payload), nil)
		if err != nil {
			ss.exception("BadRequestException", "a frame whose payload is not an event message: "+err.Error())
			return
		}
		if et := inner.Headers.Get(":event-type"); et == nil || et.String() != "AudioEvent" {
			ss.exception("BadRequestException", fmt.Sprintf("an event of type %v, not AudioEvent", et))
			return
		}
		if len(inner.Payload)%2 != 0 {
			ss.exception("BadRequestException", "an AudioEvent of an odd number of bytes")
			return
		}
		rq.mu.Lock()
		rq.Audio = append(rq.Audio, inner.Payload...)
		rq.mu.Unlock()
		ss.detect(inner.Payload)
	}
}

func (ss *session) send(msg eventstream.Message) {
	_ = ss.enc.Encode(ss.w, msg)
	if ss.fl != nil {
		ss.fl.Flush()
	}
}

func (ss *session) exception(typ, msg string) {
	var m eventstream.Message
	m.Headers.Set(":message-type", eventstream.StringValue("exception"))
	m.Headers.Set(":exception-type", eventstream.StringValue(typ))
	m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	m.Payload, _ = json.Marshal(map[string]string{"Message": msg})
	ss.send(m)
}

func (ss *session) transcript(r result) {
	var m eventstream.Message
	m.Headers.Set(":message-type", eventstream.StringValue("event"))
	m.Headers.Set(":event-type", eventstream.StringValue("TranscriptEvent"))
	m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	m.Payload, _ = json.Marshal(map[string]any{"Transcript": map[string]any{"Results": []result{r}}})
	ss.send(m)
}

func (ss *session) now() float64 { return float64(ss.samples) / 16000 }

// detect runs the energy detector over 10 ms frames.
func (ss *session) detect(pcm []byte) {
	for i := 0; i+1 < len(pcm); i += 2 {
		ss.frame = append(ss.frame, int16(uint16(pcm[i])|uint16(pcm[i+1])<<8))
		ss.samples++
		if ss.speaking {
			ss.sincePart++
		}
		if len(ss.frame) < 160 {
			continue
		}
		sum := 0.0
		for _, v := range ss.frame {
			sum += float64(v) * float64(v)
		}
		loud := math.Sqrt(sum/float64(len(ss.frame))) > 300
		ss.frame = ss.frame[:0]
		switch {
		case !ss.speaking && loud:
			ss.run++
			if ss.run >= 3 {
				ss.speaking, ss.run, ss.sincePart = true, 0, 0
				ss.start, ss.rid = ss.now()-0.03, id()
			}
		case !ss.speaking:
			ss.run = 0
		case loud:
			ss.run = 0
		default:
			ss.run++
			if ss.run >= 50 {
				ss.stop(ss.now() - 0.5) // the words ended where the pause began
			}
		}
		if ss.speaking && ss.sincePart >= 4800 {
			ss.sincePart = 0
			ss.partial()
		}
	}
}

func (ss *session) words() []string {
	if ss.utt < len(ss.s.Script) {
		return strings.Fields(ss.s.Script[ss.utt])
	}
	return nil
}

// build is the result of the utterance's first n words over [start, end].
func (ss *session) build(n int, end float64, partial bool) result {
	ws := ss.words()
	all := len(ws)
	if n > all {
		n = all
	}
	r := result{ResultId: ss.rid, StartTime: ss.start, EndTime: end, IsPartial: partial, ChannelId: "ch_0"}
	alt := alternative{Transcript: strings.Join(ws[:n], " ")}
	step := (end - ss.start) / math.Max(1, float64(all))
	for i := 0; i < n; i++ {
		it := item{StartTime: round3(ss.start + float64(i)*step), EndTime: round3(ss.start + float64(i+1)*step), Type: "pronunciation", Content: ws[i]}
		if !partial || ss.stable {
			c := 0.95
			it.Confidence = &c
		}
		if ss.stable {
			st := !partial || i < n-1
			it.Stable = &st
		}
		if ss.speakers {
			it.Speaker = fmt.Sprint(ss.utt % 2)
		}
		alt.Items = append(alt.Items, it)
	}
	if !partial && n > 0 {
		alt.Transcript += "."
		st := true
		alt.Items = append(alt.Items, item{StartTime: round3(end), EndTime: round3(end), Type: "punctuation", Content: ".", Stable: &st})
	}
	r.Alternatives = []alternative{alt}
	return r
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

func (ss *session) partial() {
	ws := ss.words()
	if len(ws) == 0 {
		return
	}
	n := int((ss.now() - ss.start) / 0.3)
	// Partials never reach the end of the utterance's words: the final
	// result does.
	n = max(1, min(n, len(ws)-1))
	ss.transcript(ss.build(n, ss.now(), true))
}

// stop ends the utterance at end and sends its final result.
func (ss *session) stop(end float64) {
	if !ss.speaking {
		return
	}
	ss.speaking, ss.run = false, 0
	ss.rq.mu.Lock()
	ss.rq.Utterances = append(ss.rq.Utterances, [2]float64{ss.start, end})
	ss.rq.mu.Unlock()
	ss.transcript(ss.build(len(ss.words()), end, false))
	ss.utt++
}
