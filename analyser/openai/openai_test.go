package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/llm"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

const verbose = `{"task":"transcribe","language":"english","duration":4.2,"text":"Hello from Lisbon. 42 people came.",
"segments":[{"id":0,"seek":0,"start":0.0,"end":1.9,"text":" Hello from Lisbon.","tokens":[1],"temperature":0,"avg_logprob":-0.1,"compression_ratio":1.1,"no_speech_prob":0.01},
{"id":1,"seek":0,"start":2.0,"end":4.2,"text":" 42 people came.","tokens":[2],"temperature":0,"avg_logprob":-0.3,"compression_ratio":1.1,"no_speech_prob":0.02,"speaker":"spk_1"}],
"words":[{"word":"Hello","start":0.0,"end":0.5},{"word":"from","start":0.6,"end":0.9},{"word":"Lisbon.","start":1.0,"end":1.9},
{"word":"42"},{"word":"people","start":2.8,"end":3.3},{"word":"came.","start":3.4,"end":4.2}]}`

func newClient(t *testing.T, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL + "/v1", APIKey: "k", TranscribeModel: "whisper-1", ChatModel: "m", EmbeddingModel: "e", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func audioFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(p, []byte("RIFF....WAVEfmt "), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTranscribeVerboseJSON(t *testing.T) {
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/audio/transcriptions" || r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("request %s %q", r.URL.Path, r.Header.Get("Authorization"))
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Error(err)
		}
		if r.FormValue("model") != "whisper-1" || r.FormValue("response_format") != "verbose_json" ||
			len(r.MultipartForm.Value["timestamp_granularities[]"]) != 2 || !strings.Contains(r.FormValue("prompt"), "Landfall") {
			t.Errorf("form %v", r.MultipartForm.Value)
		}
		f, _, err := r.FormFile("file")
		if err != nil {
			t.Error(err)
		} else if b, _ := io.ReadAll(f); string(b) != "RIFF....WAVEfmt " {
			t.Errorf("file body %q", b)
		}
		io.WriteString(w, verbose)
	})
	var used analyser.Usage
	out, err := Transcriber{c}.Run(context.Background(), &analyser.Env{Usage: func(u analyser.Usage) { used = u }},
		&analyser.Input{Path: audioFile(t), Options: json.RawMessage(`{"vocabulary":["Landfall"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := analyser.ValidateOutput(Transcriber{c}.Spec(), out); err != nil {
		t.Fatal(err)
	}
	tr := out.(*types.Transcript)
	if tr.Language != "en" || len(tr.Words) != 6 || len(tr.Segments) != 2 || tr.Segments[1].WordCount != 3 {
		t.Fatalf("%+v", tr)
	}
	// "42" had no times: it fills the gap between its neighbours.
	if w := tr.Words[3]; w.Start < 1.9 || w.End > 2.8 || w.Speaker != "spk_1" {
		t.Fatalf("untimed word %+v", w)
	}
	if used.AudioSeconds != 4.2 {
		t.Fatalf("usage %+v", used)
	}
}

func TestErrorsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   errcode.Code
	}{
		{429, `{"error":{"message":"Rate limit reached","type":"requests"}}`, errcode.ProviderThrottled},
		{503, `upstream down`, errcode.ProviderTransient},
		{400, `{"error":{"message":"Invalid file format."}}`, errcode.ProviderFailed},
		{200, `{"task": "transcribe", "words": [`, errcode.ProviderBadOutput},
		{200, `{"words":[{"word":"x","start":2,"end":1}]}`, errcode.ProviderBadOutput},
	} {
		c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(tc.status)
			io.WriteString(w, tc.body)
		})
		_, err := Transcriber{c}.Run(context.Background(), nil, &analyser.Input{Path: audioFile(t)})
		if errcode.Of(err) != tc.want {
			t.Errorf("HTTP %d %q: %v, want %s", tc.status, tc.body, err, tc.want)
		}
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	done := make(chan struct{})
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-done:
		}
	})
	c.cfg.Timeout = 100 * time.Millisecond
	_, err := Transcriber{c}.Run(context.Background(), nil, &analyser.Input{Path: audioFile(t)})
	close(done)
	if errcode.Of(err) != errcode.ProviderTransient {
		t.Fatalf("err = %v", err)
	}
}

func chatReply(content string) string {
	b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{"role": "assistant", "content": content}, "finish_reason": "stop"}},
		"usage": map[string]int{"prompt_tokens": 100, "completion_tokens": 50}})
	return string(b)
}

const goodInsights = `{"summary":"Maria Garcia explains the media pipeline.","chapters":[{"title":"Intro","start_seconds":0.2},{"title":"Ocean","start_seconds":2.4}],
"topics":["media pipeline"],"entities":{"people":["Maria Garcia"],"organisations":["Northwind Labs"],"places":["Lisbon"]},"seo_description":"Media pipeline talk."}`

func transcriptResults() map[string]json.RawMessage {
	tr := types.Transcript{Duration: 5, Segments: []types.Segment{{Start: 0, End: 2, Text: "intro", Speaker: "spk_0"}, {Start: 2.5, End: 5, Text: "ocean", Speaker: "spk_1"}}}
	b, _ := json.Marshal(tr)
	return map[string]json.RawMessage{"transcribe": b}
}

func TestSummariseRepairsOnce(t *testing.T) {
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		json.NewDecoder(r.Body).Decode(&req)
		if req.ResponseFormat["type"] != "json_schema" {
			t.Errorf("response_format %v", req.ResponseFormat)
		}
		if calls.Add(1) == 1 {
			io.WriteString(w, chatReply(`{"summary":"`+strings.Repeat("word ", 90)+`","chapters":[],"topics":[],"entities":{"people":[],"organisations":[],"places":[]},"seo_description":""}`))
			return
		}
		if len(req.Messages) != 4 || !strings.Contains(req.Messages[3].Content, "90 words") {
			t.Errorf("repair prompt: %+v", req.Messages)
		}
		io.WriteString(w, chatReply(goodInsights))
	})
	var used analyser.Usage
	out, err := Summariser{c}.Run(context.Background(), &analyser.Env{Usage: func(u analyser.Usage) { used = u }}, &analyser.Input{Results: transcriptResults()})
	if err != nil {
		t.Fatal(err)
	}
	if err := analyser.ValidateOutput(Summariser{c}.Spec(), out); err != nil {
		t.Fatal(err)
	}
	ins := out.(*types.Insights)
	// Chapters snap to segment starts.
	if len(ins.Chapters) != 2 || ins.Chapters[0].StartSeconds != 0 || ins.Chapters[1].StartSeconds != 2.5 {
		t.Fatalf("chapters %+v", ins.Chapters)
	}
	if calls.Load() != 2 || used.InputTokens != 200 || used.OutputTokens != 100 {
		t.Fatalf("calls %d usage %+v", calls.Load(), used)
	}
}

func TestSummariseGivesUpWithNamedError(t *testing.T) {
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, chatReply(`{"summary": 7}`))
	})
	_, err := Summariser{c}.Run(context.Background(), nil, &analyser.Input{Results: transcriptResults()})
	if errcode.Of(err) != errcode.ProviderBadOutput {
		t.Fatalf("err = %v", err)
	}
}

func TestSummariseMapReduce(t *testing.T) {
	var calls atomic.Int32
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		io.WriteString(w, chatReply(goodInsights))
	})
	c.cfg.TokenBudget = 50
	tr := types.Transcript{Duration: 100}
	for i := 0; i < 20; i++ {
		tr.Segments = append(tr.Segments, types.Segment{Start: float64(i * 5), Text: strings.Repeat("words in a turn ", 5), Speaker: "spk_0"})
	}
	b, _ := json.Marshal(tr)
	if _, err := (Summariser{c}).Run(context.Background(), nil, &analyser.Input{Results: map[string]json.RawMessage{"transcribe": b}}); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n < 3 {
		t.Fatalf("%d calls: the long transcript was not map-reduced", n)
	}
}

func TestEmbed(t *testing.T) {
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5,0.25]},{"object":"embedding","index":0,"embedding":[1,0]}],"usage":{"prompt_tokens":7}}`)
	})
	vs, tok, err := c.Embed(context.Background(), []string{"a", "b"})
	if err != nil || tok != 7 || vs[0][0] != 1 || vs[1][1] != 0.25 {
		t.Fatalf("%v %d %v", vs, tok, err)
	}
	c2 := newClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{"data":[]}`) })
	if _, _, err := c2.Embed(context.Background(), []string{"a"}); !errors.Is(err, errcode.ProviderBadOutput) {
		t.Fatalf("missing vector: %v", err)
	}
}

func TestNewNeedsBaseURL(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, errcode.ProviderNotConfigured) {
		t.Fatal(err)
	}
}

func FuzzCheckInsights(f *testing.F) {
	f.Add(goodInsights)
	f.Add("```json\n{}\n```")
	f.Fuzz(func(t *testing.T, s string) {
		if out, err := llm.Check(s); err == nil {
			if len(strings.Fields(out.Summary)) > 80 || len(out.SEODescription) > 160 {
				t.Fatal("limits not enforced")
			}
		}
	})
}
