package openai

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/openai/realtimetest"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// bursts is 16 kHz PCM16: for each length, that many seconds of a
// 440 Hz tone followed by gap seconds of silence.
func bursts(gap float64, lengths ...float64) []byte {
	var b []byte
	for _, l := range lengths {
		n := int(l * 16000)
		for i := 0; i < n; i++ {
			v := int16(6000 * math.Sin(2*math.Pi*440*float64(i)/16000))
			b = binary.LittleEndian.AppendUint16(b, uint16(v))
		}
		b = append(b, make([]byte, 2*int(gap*16000))...)
	}
	return b
}

type collector struct {
	mu  sync.Mutex
	got []realtime.Result
}

func (c *collector) emit(r realtime.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, r)
}

func (c *collector) results() []realtime.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]realtime.Result(nil), c.got...)
}

func realtimeClient(t *testing.T, srv *realtimetest.Server, model string) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: srv.BaseURL(), APIKey: srv.Key, RealtimeModel: model, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// stream writes pcm in 100 ms blocks, at pace times real time (0: at
// once).
func writeAll(t *testing.T, s realtime.Stream, pcm []byte, pace float64) {
	t.Helper()
	for len(pcm) > 0 {
		n := min(len(pcm), 3200)
		if err := s.Write(context.Background(), pcm[:n]); err != nil {
			t.Fatal(err)
		}
		pcm = pcm[n:]
		if pace > 0 {
			time.Sleep(time.Duration(float64(100*time.Millisecond) / pace))
		}
	}
}

// checkStablePrefix fails when a word sent stable changes later in its
// utterance.
func checkStablePrefix(t *testing.T, rs []realtime.Result) {
	t.Helper()
	stable := map[string][]realtime.Word{}
	for i, r := range rs {
		prev := stable[r.ID]
		if len(r.Words) < len(prev) {
			t.Fatalf("result %d (%s): %d words, fewer than the %d stable ones before", i, r.ID, len(r.Words), len(prev))
		}
		for j, w := range prev {
			if r.Words[j] != w {
				t.Fatalf("result %d (%s): stable word %d changed from %+v to %+v", i, r.ID, j, w, r.Words[j])
			}
		}
		var now []realtime.Word
		for _, w := range r.Words {
			if !w.Stable {
				break
			}
			now = append(now, w)
		}
		stable[r.ID] = now
	}
}

// Audio streamed to an OpenAI-compatible realtime transcription session
// comes back as partial results that grow word by word with a stable
// prefix and a final result per utterance, timed from the server's voice
// activity events, in speaking order even when the server finishes a
// later utterance first; the session is configured as documented, the
// audio arrives resampled to 24 kHz, and the speech still going on at the
// end is committed by hand.
func TestRealtimeTranscription(t *testing.T) {
	t.Parallel()
	srv := realtimetest.New("hello from the harbour", "the tide is turning", "ships come in at noon")
	defer srv.Close()
	srv.Reverse = true
	c := realtimeClient(t, srv, "gpt-4o-transcribe")
	col := &collector{}
	ctx := context.Background()
	s, err := Realtime{C: c}.Open(ctx, realtime.Params{Language: "en-US", Vocabulary: []string{"Landfall", "Lisbon"},
		DomainText: "A harbour master's log.", Pause: 0.6, IDPrefix: "live-x-"}, col.emit)
	if err != nil {
		t.Fatal(err)
	}
	if in := s.Info(); in.Engine != RealtimeEngineID || in.Model != "gpt-4o-transcribe" || in.Speakers != "" {
		t.Fatalf("info %+v", in)
	}
	// Two utterances with a second's pause, then a third cut off by the
	// end of the audio.
	pcm := bursts(1.0, 1.2, 1.5)
	pcm = append(pcm, bursts(0, 0.8)...)
	writeAll(t, s, pcm, 0)
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ss := srv.Sessions()
	if len(ss) != 1 {
		t.Fatalf("%d sessions", len(ss))
	}
	audio, commits, utts, closed := ss[0].Snapshot()
	upd, _ := json.Marshal(ss[0].Update)
	for _, want := range []string{`"type":"transcription"`, `"rate":24000`, `"model":"gpt-4o-transcribe"`, `"language":"en"`,
		`"silence_duration_ms":600`, `"prompt":"Landfall, Lisbon. A harbour master's log."`, `item.input_audio_transcription.logprobs`} {
		if !strings.Contains(string(upd), want) {
			t.Errorf("session.update lacks %s: %s", want, upd)
		}
	}
	if want := len(pcm) / 2 * 3 / 2; abs(len(audio)/2-want) > 2 {
		t.Errorf("server got %d samples at 24 kHz, want %d", len(audio)/2, want)
	}
	if commits != 1 || !closed || len(utts) != 3 {
		t.Errorf("commits %d, closed %v, utterances %v", commits, closed, utts)
	}
	rs := col.results()
	checkStablePrefix(t, rs)
	var finals []realtime.Result
	partials := 0
	for _, r := range rs {
		if r.Partial {
			partials++
		} else {
			finals = append(finals, r)
		}
	}
	if len(finals) != 3 || partials < 8 {
		t.Fatalf("%d finals, %d partials: %+v", len(finals), partials, rs)
	}
	for i, want := range srv.Script {
		f := finals[i]
		if f.Text() != want || f.ID != "live-x-"+string(rune('1'+i)) {
			t.Errorf("final %d: %s %q, want %q", i, f.ID, f.Text(), want)
		}
		start, end := utts[i][0]/1000, utts[i][1]/1000
		if math.Abs(f.Start-start) > 0.01 || math.Abs(f.End-end) > 0.01 {
			t.Errorf("final %d spans %.2f–%.2f, the server's utterance %.2f–%.2f", i, f.Start, f.End, start, end)
		}
		for j, w := range f.Words {
			if !w.Stable || w.Confidence != 0.9 || w.Start < start-0.01 || w.End > end+0.01 || (j > 0 && w.Start < f.Words[j-1].End-0.001) {
				t.Errorf("final %d word %d: %+v", i, j, w)
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// A session the server refuses (an unknown model, a wrong key) fails to
// open with an error naming why.
func TestRealtimeRefused(t *testing.T) {
	t.Parallel()
	srv := realtimetest.New()
	defer srv.Close()
	srv.RejectModel = "no-such-model"
	_, err := Realtime{C: realtimeClient(t, srv, "no-such-model")}.Open(context.Background(), realtime.Params{}, func(realtime.Result) {})
	if errcode.Of(err) != errcode.ProviderFailed || !strings.Contains(err.Error(), "no-such-model does not exist") {
		t.Fatalf("unknown model: %v", err)
	}
	c, _ := New(Config{BaseURL: srv.BaseURL(), APIKey: "wrong"})
	_, err = Realtime{C: c}.Open(context.Background(), realtime.Params{}, func(realtime.Result) {})
	if errcode.Of(err) != errcode.ProviderFailed {
		t.Fatalf("wrong key: %v", err)
	}
}

// A server that goes away mid-stream fails the next write.
func TestRealtimeServerGone(t *testing.T) {
	t.Parallel()
	srv := realtimetest.New("one")
	c := realtimeClient(t, srv, "m")
	s, err := Realtime{C: c}.Open(context.Background(), realtime.Params{}, func(realtime.Result) {})
	if err != nil {
		t.Fatal(err)
	}
	srv.Drop()
	defer srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err = s.Write(context.Background(), make([]byte, 3200)); err != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if errcode.Of(err) != errcode.ProviderTransient {
		t.Fatalf("write after the server went: %v", err)
	}
	_ = s.Close(context.Background())
}

// The 16→24 kHz resampler keeps a tone's shape: a 1 kHz sine comes out
// as the same sine sampled at 24 kHz, to better than 50 dB.
func TestUpsampler(t *testing.T) {
	t.Parallel()
	var in []byte
	for i := 0; i < 16000; i++ {
		in = binary.LittleEndian.AppendUint16(in, uint16(int16(10000*math.Sin(2*math.Pi*1000*float64(i)/16000))))
	}
	var u upsampler
	var out []byte
	for b := in; len(b) > 0; {
		n := min(len(b), 322) // odd block sizes in samples
		out = append(out, u.write(b[:n])...)
		b = b[n:]
	}
	out = append(out, u.flush()...)
	if len(out)/2 != 24000 {
		t.Fatalf("%d samples out, want 24000", len(out)/2)
	}
	sig, noise := 0.0, 0.0
	for k := 100; k < 23900; k++ { // away from the edges
		want := 10000 * math.Sin(2*math.Pi*1000*float64(k)/24000)
		got := float64(int16(binary.LittleEndian.Uint16(out[2*k:])))
		sig += want * want
		noise += (got - want) * (got - want)
	}
	if snr := 10 * math.Log10(sig/noise); snr < 50 {
		t.Fatalf("SNR %.1f dB", snr)
	}
}

// Any sequence of server events leaves the stream consistent: no panic,
// and stable words never change.
func FuzzRealtimeEvents(f *testing.F) {
	f.Add([]byte(`{"type":"input_audio_buffer.speech_started","item_id":"a","audio_start_ms":100}
{"type":"conversation.item.input_audio_transcription.delta","item_id":"a","delta":"hel","logprobs":[{"token":"hel","logprob":-0.1}]}
{"type":"conversation.item.input_audio_transcription.delta","item_id":"a","delta":"lo wor"}
{"type":"input_audio_buffer.speech_stopped","item_id":"a","audio_end_ms":900}
{"type":"input_audio_buffer.committed","item_id":"b"}
{"type":"conversation.item.input_audio_transcription.completed","item_id":"a","transcript":"hello world"}
{"type":"conversation.item.input_audio_transcription.failed","item_id":"b"}
{"type":"error","error":{"code":"input_audio_buffer_commit_empty"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			return
		}
		col := &collector{}
		s := &rtStream{emit: col.emit, items: map[string]*rtItem{}, changed: make(chan struct{}, 1), ready: make(chan error, 1)}
		for _, line := range strings.Split(string(b), "\n") {
			var ev rtEvent
			if json.Unmarshal([]byte(line), &ev) != nil || ev.Type == "error" {
				continue // fail closes the connection, which is not here
			}
			s.samples += 1600
			s.handle(&ev)
		}
		checkStablePrefix(t, col.results())
	})
}
