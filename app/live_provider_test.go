package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/aws/streamingtest"
	"github.com/landfall/landfall/analyser/openai/realtimetest"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/types"
)

// toneBursts is 16 kHz PCM16: for each length, that many seconds of a
// 440 Hz tone, then gap seconds of silence.
func toneBursts(gap float64, lengths ...float64) []byte {
	var b []byte
	for _, l := range lengths {
		for i := 0; i < int(l*16000); i++ {
			b = binary.LittleEndian.AppendUint16(b, uint16(int16(6000*math.Sin(2*math.Pi*440*float64(i)/16000))))
		}
		b = append(b, make([]byte, 2*int(gap*16000))...)
	}
	return b
}

// liveSession streams pcm through GET /v1/live (fast) and returns every
// message.
func liveSession(t *testing.T, base string, st types.LiveStart, pcm []byte) []types.LiveMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sess, err := (&client.Client{BaseURL: base}).Live(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	var msgs []types.LiveMessage
	done := make(chan struct{})
	go func() { msgs = collect(sess); close(done) }()
	if err := sess.StreamAudio(ctx, bytes.NewReader(pcm), 3200, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := sess.End(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := sess.Err(); err != nil {
		t.Fatalf("session closed with %v", err)
	}
	if len(msgs) < 2 || msgs[0].Landfall.Event != "started" || msgs[len(msgs)-1].Landfall.Event != "ended" {
		t.Fatalf("messages: want started … ended, got %+v", msgs)
	}
	return msgs
}

// liveVersions lists a media item's versions over the API.
func liveVersions(t *testing.T, base, id string) []catalog.MediaVersion {
	t.Helper()
	resp, err := http.Get(base + "/v1/media/" + id + "/versions")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Versions []catalog.MediaVersion `json:"versions"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("GET versions: %s", resp.Status)
	}
	return out.Versions
}

// With live.provider openai, a live session's audio goes to an
// OpenAI-compatible realtime transcription session (a loopback server
// speaking the documented protocol) and its transcripts come back as
// Transcribe-shaped partial and final results; the live transcript is
// stored beside the recording and listed among the media item's versions.
func TestLiveProviderOpenAI(t *testing.T) {
	t.Parallel()
	rt := realtimetest.New("good morning everyone", "the meeting starts now")
	defer rt.Close()
	a, srv := testApp(t, func(c *config.Config) {
		c.Live.Provider = "openai"
		c.OpenAI = config.OpenAI{BaseURL: rt.BaseURL(), APIKey: rt.Key, RealtimeModel: "gpt-4o-transcribe"}
	})
	msgs := liveSession(t, srv.URL, types.LiveStart{Filename: "meeting", Vocabulary: []string{"Landfall"}}, toneBursts(1, 1.2, 1.4))
	if st := msgs[0].Landfall; st.Engine != "openai-realtime" || st.LanguageModel != "gpt-4o-transcribe" {
		t.Errorf("started: %+v", st)
	}
	var finals []string
	partials := 0
	for _, m := range msgs {
		if m.Transcript == nil {
			continue
		}
		r := m.Transcript.Results[0]
		if r.IsPartial {
			partials++
			continue
		}
		finals = append(finals, r.Alternatives[0].Transcript)
		for _, it := range r.Alternatives[0].Items {
			if it.Stable == nil || !*it.Stable || it.Confidence == nil || *it.Confidence != 0.9 || it.EndTime <= it.StartTime {
				t.Errorf("final item %+v", it)
			}
		}
	}
	if strings.Join(finals, " | ") != "good morning everyone | the meeting starts now" || partials < 4 {
		t.Fatalf("finals %q after %d partials", finals, partials)
	}
	end := msgs[len(msgs)-1].Landfall
	if end.MediaID == "" || end.Words != 7 {
		t.Fatalf("ended: %+v", end)
	}
	lt := liveTranscript(t, srv.URL, end.MediaID)
	if lt.Engine != "openai-realtime+live" || len(lt.Words) != 7 || lt.Text == "" {
		t.Errorf("live transcript: %+v", lt)
	}
	vs := liveVersions(t, srv.URL, end.MediaID)
	if len(vs) == 0 || vs[0].Kind != catalog.VersionLive {
		t.Fatalf("versions: %+v", vs)
	}
	var lv catalog.LiveVersion
	if err := json.Unmarshal(vs[0].Body, &lv); err != nil || lv.Engine != "openai-realtime" || lv.Words != 7 ||
		lv.Transcript != "processed/default/"+end.MediaID+"/transcript.live.json" {
		t.Errorf("live version %s: %+v (%v)", vs[0].Body, lv, err)
	}
	if _, err := a.Bucket.Attributes(context.Background(), lv.Transcript); err != nil {
		t.Errorf("the version's transcript: %v", err)
	}
}

// With live.provider aws, a live session's audio goes to Amazon
// Transcribe Streaming through the SDK (a loopback HTTP/2 server decoding
// the SDK's event stream and answering TranscriptEvents); speaker labels
// asked for in the start message come back on every item and in the
// stored live transcript.
func TestLiveProviderAWS(t *testing.T) {
	// Not parallel: the SDK's credentials come from the environment.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLIVE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ts := streamingtest.NewH2C("good morning everyone", "the meeting starts now")
	defer ts.Close()
	_, srv := testApp(t, func(c *config.Config) {
		c.Live.Provider = "aws"
		c.AWS.Region, c.AWS.Endpoint = "us-east-1", ts.URL
		c.AWS.LiveVocabulary, c.AWS.LiveVocabularyFilter, c.AWS.LiveVocabularyFilterMethod = "landfall-terms", "no-swearing", "tag"
	})
	msgs := liveSession(t, srv.URL, types.LiveStart{Filename: "meeting", SpeakerLabels: true}, toneBursts(1, 1.2, 1.4))
	if st := msgs[0].Landfall; st.Engine != "aws-transcribe-streaming" || st.Speakers != "engine" {
		t.Errorf("started: %+v", st)
	}
	var finals []string
	for _, m := range msgs {
		if m.Transcript == nil || m.Transcript.Results[0].IsPartial {
			continue
		}
		r := m.Transcript.Results[0]
		finals = append(finals, r.Alternatives[0].Transcript)
		for _, it := range r.Alternatives[0].Items {
			if it.Speaker != "spk_"+string(rune('0'+len(finals)-1)) || r.ChannelId != "ch_0" {
				t.Errorf("final %d item %+v (channel %q)", len(finals), it, r.ChannelId)
			}
		}
	}
	if strings.Join(finals, " | ") != "good morning everyone. | the meeting starts now." {
		t.Fatalf("finals %q", finals)
	}
	if h := ts.Requests()[0].Header; h.Get("x-amzn-transcribe-show-speaker-label") != "true" ||
		h.Get("x-amzn-transcribe-vocabulary-name") != "landfall-terms" ||
		h.Get("x-amzn-transcribe-vocabulary-filter-name") != "no-swearing" || h.Get("x-amzn-transcribe-vocabulary-filter-method") != "tag" {
		t.Errorf("request headers %v", h)
	}
	if st := msgs[0].Landfall; st.LanguageModel != "en-US+landfall-terms" {
		t.Errorf("started language model %q, want the vocabulary named", st.LanguageModel)
	}
	end := msgs[len(msgs)-1].Landfall
	lt := liveTranscript(t, srv.URL, end.MediaID)
	if len(lt.Words) != 7 || lt.Words[0].Speaker != "spk_0" || lt.Words[6].Speaker != "spk_1" || len(lt.Segments) != 2 || lt.Segments[1].Speaker != "spk_1" {
		t.Errorf("live transcript: %+v", lt)
	}
	if vs := liveVersions(t, srv.URL, end.MediaID); len(vs) == 0 || vs[0].Kind != catalog.VersionLive {
		t.Errorf("versions: %+v", vs)
	}
}
