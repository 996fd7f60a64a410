package app

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// liveSpeech synthesises the first turns of the speech test dialogue as a
// 16 kHz mono WAV (once per turn count and test binary) and returns its
// PCM and script.
func liveSpeech(t testing.TB, turns int) (pcm []byte, wav, script string) {
	return liveSpeechTurns(t, 0, turns)
}

var (
	liveSpeechMu    sync.Mutex
	liveSpeechCache = map[[2]int][2]string{}
)

// dialogueScript is absolute, resolved before any test runs: the app's
// S3 tests start an in-process gateway that changes the process's
// working directory.
var dialogueScript, _ = filepath.Abs("../analyser/local/speech/testdata/dialogue.json")

// liveSpeechTurns synthesises turns [from, to) of the speech test
// dialogue.
func liveSpeechTurns(t testing.TB, from, to int) (pcm []byte, wav, script string) {
	t.Helper()
	liveSpeechMu.Lock()
	defer liveSpeechMu.Unlock()
	key := [2]int{from, to}
	if c, ok := liveSpeechCache[key]; ok {
		b, err := os.ReadFile(c[0])
		if err == nil {
			return b[44:], c[0], c[1]
		}
	}
	b, err := os.ReadFile(dialogueScript)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Turns []mediagen.Turn `json:"turns"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	d.Turns = d.Turns[min(from, len(d.Turns)):min(to, len(d.Turns))]
	dir, err := os.MkdirTemp("", "live-speech-")
	if err != nil {
		t.Fatal(err)
	}
	wav = filepath.Join(dir, "speech.wav")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := mediagen.Dialogue(ctx, wav, d.Turns, 0.5, 0.8); err != nil {
		t.Fatalf("synthesising speech: %v", err)
	}
	var lines []string
	for _, tr := range d.Turns {
		lines = append(lines, tr.Text)
	}
	script = strings.Join(lines, "\n")
	liveSpeechCache[key] = [2]string{wav, script}
	b, err = os.ReadFile(wav)
	if err != nil {
		t.Fatal(err)
	}
	return b[44:], wav, script
}

func skipWithoutLive(t testing.TB) {
	t.Helper()
	if !stream.Built {
		t.Skip("built without the incremental recogniser")
	}
}

// collect reads a session's messages until it closes.
func collect(s *client.LiveSession) []types.LiveMessage {
	var out []types.LiveMessage
	for m := range s.Messages() {
		out = append(out, m)
	}
	return out
}

// Speech streamed at real time through the WebSocket comes back as
// partial results that grow with stable prefixes, final results at the
// pauses with word timings inside the audio, and "ended" naming the
// stored media item, whose recording and live transcript are in the
// bucket and which the pipeline then processes like any upload.
func TestLiveCaptionsRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("streams speech at real time")
	}
	skipWithoutLive(t)
	t.Parallel()
	pcm, _, script := liveSpeech(t, 3)
	a, srv := testApp(t, nil)
	c := &client.Client{BaseURL: srv.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sess, err := c.Live(ctx, types.LiveStart{Filename: "standup", SpeakerLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	// A viewer joins at once over Server-Sent Events, another late.
	var msgs []types.LiveMessage
	done := make(chan struct{})
	go func() { msgs = collect(sess); close(done) }()
	if err := sess.StreamAudio(ctx, bytes.NewReader(pcm), 3200, 32000, nil); err != nil {
		t.Fatal(err)
	}
	if err := sess.End(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := sess.Err(); err != nil {
		t.Fatalf("session closed with %v", err)
	}
	if len(msgs) < 3 || msgs[0].Landfall.Event != "started" || msgs[len(msgs)-1].Landfall.Event != "ended" {
		t.Fatalf("messages: want started … ended, got %d", len(msgs))
	}
	if msgs[0].Landfall.Speakers != "channel" {
		t.Errorf("started: speakers %q, want channel", msgs[0].Landfall.Speakers)
	}
	if msgs[0].Landfall.ViewerURL == "" || msgs[0].Landfall.CaptionsURL == "" {
		t.Errorf("started without viewer links: %+v", msgs[0].Landfall)
	}
	duration := float64(len(pcm)) / 32000
	var finals []types.LiveResult
	partials := map[string]int{}
	for i, m := range msgs {
		if m.Landfall.Seq != i+1 {
			t.Errorf("message %d has seq %d", i, m.Landfall.Seq)
		}
		if m.Transcript == nil {
			continue
		}
		r := m.Transcript.Results[0]
		if r.IsPartial {
			partials[r.ResultId]++
		} else {
			finals = append(finals, r)
			if partials[r.ResultId] == 0 {
				t.Errorf("final %s had no partial before it", r.ResultId)
			}
		}
		for _, it := range r.Alternatives[0].Items {
			if it.Speaker != "spk_0" {
				t.Errorf("item %+v: the local recogniser labels every word of a mono stream spk_0", it)
			}
			if it.StartTime < 0 || it.EndTime < it.StartTime || it.EndTime > duration+0.05 || it.Type != "pronunciation" || it.Stable == nil {
				t.Errorf("item %+v outside the audio (%.2f s) or malformed", it, duration)
			}
		}
	}
	if len(finals) < 3 {
		t.Fatalf("%d finals for 3 turns", len(finals))
	}
	var text []string
	for _, f := range finals {
		text = append(text, f.Alternatives[0].Transcript)
	}
	wer, _, n := stream.WordErrorRate(script, strings.Join(text, " "))
	t.Logf("%d messages, %d finals, live WER %.1f%% (%d words): %s", len(msgs), len(finals), 100*wer, n, strings.Join(text, " | "))
	if wer > 0.35 {
		t.Errorf("live WER %.1f%%", 100*wer)
	}
	end := msgs[len(msgs)-1].Landfall
	if end.MediaID == "" || end.Reason != live.ReasonEnd || end.Error != "" {
		t.Fatalf("ended: %+v", end)
	}
	m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: end.MediaID, TenantID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Filename != "standup.wav" || m.Size != int64(len(pcm))+44 {
		t.Errorf("stored media %q of %d bytes, want standup.wav of %d", m.Filename, m.Size, len(pcm)+44)
	}
	stored, err := a.Bucket.ReadAll(ctx, m.BucketKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(stored[44:], pcm) {
		t.Errorf("the stored recording differs from the audio sent")
	}
	lt := liveTranscript(t, srv.URL, m.ID)
	if len(lt.Words) == 0 || lt.Engine == "" || lt.Words[0].Speaker != "spk_0" {
		t.Errorf("live transcript: %+v", lt)
	}
	if vs := liveVersions(t, srv.URL, m.ID); len(vs) == 0 || vs[0].Kind != catalog.VersionLive {
		t.Errorf("versions: %+v", vs)
	}
	// The pipeline processes the recording as any upload.
	done2 := waitDone(t, a, m.ID, 3*time.Minute)
	if done2.Status != types.StatusSucceeded {
		t.Fatalf("pipeline: %s %v", done2.Status, done2.Error)
	}
	if _, err := a.Bucket.Attributes(ctx, "processed/default/"+m.ID+"/"+live.LiveTranscriptName); err != nil {
		t.Errorf("live transcript gone after processing: %v", err)
	}
}

func liveTranscript(t testing.TB, base, id string) *types.Transcript {
	t.Helper()
	var buf bytes.Buffer
	if err := (&client.Client{BaseURL: base}).Export(context.Background(), id, live.LiveTranscriptName, &buf); err != nil {
		t.Fatalf("live transcript: %v", err)
	}
	var tr types.Transcript
	if err := json.Unmarshal(buf.Bytes(), &tr); err != nil {
		t.Fatal(err)
	}
	return &tr
}

// Bad input gets a close code and a reason naming what was wrong, and
// whatever audio arrived before is stored.
func TestLiveBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesises speech and runs the recogniser")
	}
	skipWithoutLive(t)
	t.Parallel()
	a, srv := testApp(t, func(c *config.Config) {
		c.Live.IdleTimeout.Duration = time.Second
		c.Live.MaxSeconds = 2
	})
	c := &client.Client{BaseURL: srv.URL}
	pcm, _, _ := liveSpeech(t, 1)
	wav44k := append(wavHeader(44100, 2, 16), make([]byte, 3200)...)
	cases := []struct {
		name   string
		start  types.LiveStart
		send   func(ctx context.Context, s *client.LiveSession) error
		code   int
		reason string
		// stored is the audio bytes the stored media item must hold (-1: none stored).
		stored int
	}{
		{"text in a binary frame", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, []byte(`{"type":"audio","data":"aGVsbG8gd29ybGQ="}`))
		}, 1003, "text, not audio", -1},
		{"webm declared, PCM sent", types.LiveStart{Format: "webm"}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, pcm[:3200])
		}, 1003, "declared webm", -1},
		{"an Ogg stream declared as pcm16", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, append([]byte("OggS"), make([]byte, 100)...))
		}, 1003, `"format":"ogg"`, -1},
		{"wrong sample rate declared", types.LiveStart{SampleRate: 44100}, nil, 1007, "sample_rate: 44100 Hz", -1},
		{"a 44.1 kHz WAV header", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, wav44k)
		}, 1007, "44100 Hz, 2 channel(s)", -1},
		{"an unknown start field", types.LiveStart{Language: "fr"}, nil, 1007, "/language", -1},
		{"a text message that is not end", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			if err := s.Send(ctx, pcm[:16000]); err != nil {
				return err
			}
			return s.SendText(ctx, `{"type":"pause"}`)
		}, 1003, `want {"type":"end"}`, 16000},
		{"silent client", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error { return nil }, 1008, "no audio for 1s", -1},
		{"stalled client", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, pcm[:32000])
		}, 1008, "no audio for 1s", 32000},
		{"past the session limit", types.LiveStart{}, func(ctx context.Context, s *client.LiveSession) error {
			return s.Send(ctx, pcm[:96000])
		}, 1008, "limit of 2s of audio", 64000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := c.Live(ctx, tc.start)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []types.LiveMessage
			done := make(chan struct{})
			go func() { msgs = collect(s); close(done) }()
			if tc.send != nil {
				_ = tc.send(ctx, s)
			}
			<-done
			var le *client.LiveError
			if err := s.Err(); !errors.As(err, &le) || le.Code != tc.code || !strings.Contains(le.Reason, tc.reason) {
				t.Fatalf("closed with %v, want %d …%s…", err, tc.code, tc.reason)
			}
			checkStored(t, a, msgs, tc.stored)
		})
	}
}

// checkStored checks the session's "ended" message against the audio
// that must have been stored (-1: nothing).
func checkStored(t *testing.T, a *App, msgs []types.LiveMessage, stored int) {
	t.Helper()
	var end *types.LiveInfo
	for _, m := range msgs {
		if m.Landfall.Event == "ended" {
			end = &m.Landfall
		}
	}
	if stored < 0 {
		if end != nil && end.MediaID != "" {
			t.Errorf("stored media %s, want none", end.MediaID)
		}
		return
	}
	if end == nil || end.MediaID == "" {
		t.Fatalf("no media stored: ended %+v", end)
	}
	m, err := a.Catalog.MediaGet(context.Background(), &catalog.MediaGetParams{ID: end.MediaID, TenantID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != int64(stored)+44 {
		t.Errorf("stored %d bytes, want %d of audio and a 44-byte header", m.Size, stored)
	}
}

// An abrupt disconnect (no close handshake) ends the session and stores
// the audio that arrived, live transcript included.
func TestLiveAbruptDisconnectKeepsAudio(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesises speech and runs the recogniser")
	}
	skipWithoutLive(t)
	t.Parallel()
	a, srv := testApp(t, nil)
	c := &client.Client{BaseURL: srv.URL}
	pcm, _, _ := liveSpeech(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := c.Live(ctx, types.LiveStart{})
	if err != nil {
		t.Fatal(err)
	}
	started := <-s.Messages()
	if err := s.StreamAudio(ctx, bytes.NewReader(pcm), 6400, 0, nil); err != nil {
		t.Fatal(err)
	}
	// Once the server has read every frame, the connection drops.
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	s.Abort()
	var info types.LiveSession
	for deadline := time.Now().Add(30 * time.Second); ; {
		for _, ls := range a.Live.List("default") {
			if ls.ID == started.Landfall.SessionID {
				info = ls
			}
		}
		if info.Ended != "" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if info.MediaID == "" || info.Reason != live.ReasonDisconnect {
		t.Fatalf("session after a disconnect: %+v", info)
	}
	m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: info.MediaID, TenantID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != int64(len(pcm))+44 {
		t.Errorf("stored %d bytes, want all %d sent and the header", m.Size, len(pcm))
	}
	if tr := liveTranscript(t, srv.URL, m.ID); len(tr.Words) < 5 {
		t.Errorf("live transcript after a disconnect: %d words", len(tr.Words))
	}
}

func wavHeader(rate, channels, bits int) []byte {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], uint16(channels))
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*channels*bits/8))
	binary.LittleEndian.PutUint16(h[32:], uint16(channels*bits/8))
	binary.LittleEndian.PutUint16(h[34:], uint16(bits))
	copy(h[36:], "data")
	return h
}

// An Ogg/Opus stream (what a browser's MediaRecorder makes where WebM is
// not recorded) is decoded by the server as it arrives; the recording is
// stored as received.
func TestLiveOggOpus(t *testing.T) {
	if testing.Short() {
		t.Skip("encodes and streams speech")
	}
	skipWithoutLive(t)
	t.Parallel()
	_, wav, _ := liveSpeech(t, 1)
	ogg := filepath.Join(t.TempDir(), "speech.ogg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", wav, "-c:a", "libopus", "-b:a", "32k", ogg).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	body, err := os.ReadFile(ogg)
	if err != nil {
		t.Fatal(err)
	}
	a, srv := testApp(t, nil)
	s, err := (&client.Client{BaseURL: srv.URL}).Live(ctx, types.LiveStart{Format: "ogg"})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []types.LiveMessage
	done := make(chan struct{})
	go func() { msgs = collect(s); close(done) }()
	if err := s.StreamAudio(ctx, bytes.NewReader(body), 4096, 0, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.End(ctx); err != nil {
		t.Fatal(err)
	}
	<-done
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	end := msgs[len(msgs)-1].Landfall
	if end.Words < 5 || end.MediaID == "" {
		t.Fatalf("ended: %+v", end)
	}
	m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: end.MediaID, TenantID: "default"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Size != int64(len(body)) || !strings.HasSuffix(m.BucketKey, ".ogg") {
		t.Errorf("stored %s of %d bytes, want the %d-byte Ogg stream", m.BucketKey, m.Size, len(body))
	}
}

// Stopping the server ends running sessions and stores what arrived; a
// session past the per-process limit is refused with 1013.
func TestLiveShutdownAndSessionLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("synthesises speech and runs the recogniser")
	}
	skipWithoutLive(t)
	t.Parallel()
	a, srv := testApp(t, func(c *config.Config) { c.Live.MaxSessions = 1 })
	pcm, _, _ := liveSpeech(t, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &client.Client{BaseURL: srv.URL}
	s, err := c.Live(ctx, types.LiveStart{})
	if err != nil {
		t.Fatal(err)
	}
	started := <-s.Messages()
	second, err := c.Live(ctx, types.LiveStart{})
	if err != nil {
		t.Fatal(err)
	}
	collect(second)
	var le *client.LiveError
	if err := second.Err(); !errors.As(err, &le) || le.Code != 1013 || !strings.Contains(le.Reason, "1 sessions are running") {
		t.Errorf("second session: %v", err)
	}
	if err := s.Send(ctx, pcm[:64000]); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	// The pong says the server read the audio frame, not that the session
	// took it: wait for that, so that what "arrived" is all of it.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ls := a.Live.List("default"); len(ls) > 0 && ls[0].AudioSeconds >= 2 {
			break
		}
	}
	a.Live.Close(ctx)
	var info types.LiveSession
	for _, ls := range a.Live.List("default") {
		if ls.ID == started.Landfall.SessionID {
			info = ls
		}
	}
	if info.Reason != live.ReasonShutdown || info.MediaID == "" {
		t.Fatalf("after shutdown: %+v", info)
	}
	m, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: info.MediaID, TenantID: "default"})
	if err != nil || m.Size != 64000+44 {
		t.Fatalf("stored after shutdown: %+v %v", m, err)
	}
	collect(s)
	after, err := c.Live(ctx, types.LiveStart{})
	if err != nil {
		t.Fatal(err)
	}
	collect(after)
	if err := after.Err(); !errors.As(err, &le) || le.Code != 1013 || !strings.Contains(le.Reason, "shutting down") {
		t.Errorf("a session after shutdown: %v", err)
	}
}
