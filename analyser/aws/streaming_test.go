package aws

import (
	"context"
	"encoding/binary"
	"math"
	"strings"
	"sync"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/transcribestreaming"

	"github.com/landfall/landfall/analyser/aws/streamingtest"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// streamingBursts is 16 kHz PCM16: for each length, that many seconds of
// a 440 Hz tone, then gap seconds of silence.
func streamingBursts(gap float64, lengths ...float64) []byte {
	var b []byte
	for _, l := range lengths {
		for i := 0; i < int(l*16000); i++ {
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(6000*math.Sin(2*math.Pi*440*float64(i)/16000))))
		}
		b = append(b, make([]byte, 2*int(gap*16000))...)
	}
	return b
}

func streamingEngine(t *testing.T, srv *streamingtest.Server) *Streaming {
	t.Helper()
	ac := awssdk.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}
	e, err := NewStreaming(context.Background(), Config{AWS: &ac, Endpoint: srv.URL}, func(o *transcribestreaming.Options) {
		o.HTTPClient = srv.Client()
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type streamingResults struct {
	mu  sync.Mutex
	got []realtime.Result
}

func (c *streamingResults) emit(r realtime.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, r)
}

// Audio sent through the SDK's StartStreamTranscription reaches a
// loopback HTTP/2 server as signed AudioEvent frames ending with the
// empty frame, with the stream's settings in the request headers; its
// TranscriptEvents come back as partial results growing on a stable
// prefix and one final result per utterance, with Transcribe's times,
// confidence, speakers and channel, and the punctuation joined to its
// word.
func TestStreamingTranscription(t *testing.T) {
	t.Parallel()
	srv := streamingtest.New("hello from the harbour", "the tide is turning now")
	defer srv.Close()
	e := streamingEngine(t, srv)
	var col streamingResults
	ctx := context.Background()
	s, err := e.Open(ctx, realtime.Params{Language: "en-US", Stability: "medium", SpeakerLabels: true, IDPrefix: "live-y-"}, col.emit)
	if err != nil {
		t.Fatal(err)
	}
	if in := s.Info(); in.Engine != StreamingEngineID || in.Speakers != "engine" {
		t.Fatalf("info %+v", in)
	}
	pcm := streamingBursts(1, 1.6)
	pcm = append(pcm, streamingBursts(0, 2.0)...) // cut off by the end of the audio
	for b := pcm; len(b) > 0; {
		n := min(len(b), 3200)
		if err := s.Write(ctx, b[:n]); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rqs := srv.Requests()
	if len(rqs) != 1 {
		t.Fatalf("%d requests", len(rqs))
	}
	h := rqs[0].Header
	for k, want := range map[string]string{"x-amzn-transcribe-language-code": "en-US", "x-amzn-transcribe-sample-rate": "16000",
		"x-amzn-transcribe-media-encoding": "pcm", "x-amzn-transcribe-show-speaker-label": "true",
		"x-amzn-transcribe-enable-partial-results-stabilization": "true", "x-amzn-transcribe-partial-results-stability": "medium"} {
		if h.Get(k) != want {
			t.Errorf("header %s = %q, want %q", k, h.Get(k), want)
		}
	}
	audio, signed, ended, utts := rqs[0].Snapshot()
	if string(audio) != string(pcm) || !ended || signed != len(pcm)/3200+1 || len(utts) != 2 {
		t.Fatalf("server got %d of %d bytes, %d signed frames, ended %v, utterances %v", len(audio), len(pcm), signed, ended, utts)
	}
	col.mu.Lock()
	rs := col.got
	col.mu.Unlock()
	stable := map[string][]realtime.Word{}
	var finals []realtime.Result
	partials := 0
	for i, r := range rs {
		for j, w := range stable[r.ID] {
			if j >= len(r.Words) || r.Words[j] != w {
				t.Fatalf("result %d (%s): stable word %d %+v changed: %+v", i, r.ID, j, w, r.Words)
			}
		}
		stable[r.ID] = nil
		for _, w := range r.Words {
			if !w.Stable {
				break
			}
			stable[r.ID] = append(stable[r.ID], w)
		}
		if r.Partial {
			partials++
		} else {
			finals = append(finals, r)
		}
	}
	if len(finals) != 2 || partials < 4 {
		t.Fatalf("%d finals, %d partials: %+v", len(finals), partials, rs)
	}
	for i, want := range []string{"hello from the harbour.", "the tide is turning now."} {
		f := finals[i]
		if f.Text() != want || f.ID != "live-y-"+string(rune('1'+i)) || f.Channel != "ch_0" {
			t.Errorf("final %d: %s %q %s, want %q", i, f.ID, f.Text(), f.Channel, want)
		}
		if math.Abs(f.Start-utts[i][0]) > 0.001 || math.Abs(f.End-utts[i][1]) > 0.001 {
			t.Errorf("final %d spans %.3f–%.3f, the server's %.3f–%.3f", i, f.Start, f.End, utts[i][0], utts[i][1])
		}
		for _, w := range f.Words {
			if w.Speaker != "spk_"+string(rune('0'+i)) || w.Confidence != 0.95 || !w.Stable {
				t.Errorf("final %d word %+v", i, w)
			}
		}
	}
}

// A stream Transcribe refuses fails to open with the service's reason.
func TestStreamingRefused(t *testing.T) {
	t.Parallel()
	srv := streamingtest.New()
	defer srv.Close()
	_, err := streamingEngine(t, srv).Open(context.Background(), realtime.Params{Language: "xx-XX"}, func(realtime.Result) {})
	if errcode.Of(err) != errcode.ProviderFailed || !strings.Contains(err.Error(), `"xx-XX" is not supported`) {
		t.Fatalf("unsupported language: %v", err)
	}
}
