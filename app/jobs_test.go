package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// fakeTranscribe is a loopback Amazon Transcribe (and the S3 bucket local
// files are staged in) speaking the service's JSON protocol: jobs stay
// IN_PROGRESS until the test completes them, then GetTranscriptionJob
// answers COMPLETED with the transcript file's URI.
type fakeTranscribe struct {
	srv     *httptest.Server
	mu      sync.Mutex
	started []string
	done    map[string]bool
	gets    int
}

const fakeTranscript = `{"jobName":"x","accountId":"111122223333","status":"COMPLETED","results":{
"transcripts":[{"transcript":"The harbour opens at dawn."}],"language_code":"en-US",
"items":[
 {"type":"pronunciation","start_time":"0.1","end_time":"0.4","speaker_label":"spk_0","alternatives":[{"content":"The","confidence":"0.99"}]},
 {"type":"pronunciation","start_time":"0.4","end_time":"0.9","speaker_label":"spk_0","alternatives":[{"content":"harbour","confidence":"0.97"}]},
 {"type":"pronunciation","start_time":"0.9","end_time":"1.3","speaker_label":"spk_0","alternatives":[{"content":"opens","confidence":"0.98"}]},
 {"type":"pronunciation","start_time":"1.3","end_time":"1.5","speaker_label":"spk_0","alternatives":[{"content":"at","confidence":"0.99"}]},
 {"type":"pronunciation","start_time":"1.5","end_time":"2.0","speaker_label":"spk_0","alternatives":[{"content":"dawn","confidence":"0.96"}]},
 {"type":"punctuation","alternatives":[{"content":".","confidence":"0.0"}]}],
"speaker_labels":{"speakers":1,"segments":[{"start_time":"0.1","end_time":"2.0","speaker_label":"spk_0","items":[]}]}}}`

func newFakeTranscribe(t *testing.T) *fakeTranscribe {
	f := &fakeTranscribe{done: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &body)
		op := r.Header.Get("X-Amz-Target")
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/staging/"):
			w.WriteHeader(http.StatusOK) // S3 PutObject of the staged file
		case op == "Transcribe.StartTranscriptionJob":
			name, _ := body["TranscriptionJobName"].(string)
			uri, _ := body["Media"].(map[string]any)["MediaFileUri"].(string)
			if !strings.HasPrefix(uri, "s3://staging/landfall-staging/") {
				t.Errorf("StartTranscriptionJob: media %q is not the staged file", uri)
			}
			f.started = append(f.started, name)
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": "IN_PROGRESS"}})
		case op == "Transcribe.GetTranscriptionJob":
			f.gets++
			name, _ := body["TranscriptionJobName"].(string)
			job := map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": "IN_PROGRESS"}
			if f.done[name] {
				job["TranscriptionJobStatus"] = "COMPLETED"
				job["Transcript"] = map[string]any{"TranscriptFileUri": f.srv.URL + "/out/" + name + ".json"}
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": job})
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/out/"):
			io.WriteString(w, fakeTranscript)
		default:
			t.Errorf("unexpected call %s %s %s", op, r.Method, r.URL.Path)
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeTranscribe) jobs() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.started...)
}

// asyncTranscribeApp is an app with one workflow worker whose transcribe
// task is Amazon Transcribe (the loopback fake) run as asynchronous jobs.
func asyncTranscribeApp(t *testing.T, f *fakeTranscribe, heartbeat time.Duration) (*App, *httptest.Server) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return testApp(t, func(c *config.Config) {
		c.Workers = 1
		c.Analysers["transcribe"] = "aws"
		c.AWS.Endpoint = f.srv.URL
		c.AWS.TranscribeBucket = "staging"
		c.AWS.AsyncJobs = true
		c.AWS.JobHeartbeat = config.Duration{Duration: heartbeat}
	})
}

// waitJob waits until n transcription jobs were started.
func waitJob(t *testing.T, f *fakeTranscribe, n int) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(f.jobs()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transcription jobs started, want %d", len(f.jobs()), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return f.jobs()[n-1]
}

func postEvent(t *testing.T, srv *httptest.Server, body []byte) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/v1/intake/aws-events", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func transcribeStateChange(name, status string) []byte {
	b, _ := json.Marshal(map[string]any{"version": "0", "id": "6f0c2d3e-1111-2222-3333-444455556666", "detail-type": "Transcribe Job State Change",
		"source": "aws.transcribe", "account": "111122223333", "time": time.Now().UTC().Format(time.RFC3339), "region": "eu-west-1",
		"resources": []string{}, "detail": map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": status}})
	return b
}

// TestAsyncTranscribeJobReleasesTheWorker transcribes with Amazon
// Transcribe as an asynchronous job on an app with one workflow worker:
// while the job runs, an image is processed from start to end on that
// worker; the job's EventBridge event, delivered to the intake endpoint,
// resumes the execution with the transcript. A second delivery finds no
// waiting job; an event of another job is ignored.
func TestAsyncTranscribeJobReleasesTheWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeTranscribe(t)
	a, srv := asyncTranscribeApp(t, f, time.Minute)
	ctx, dir := context.Background(), t.TempDir()
	wav, png := filepath.Join(dir, "dawn.wav"), filepath.Join(dir, "harbour.png")
	if err := mediagen.Speech(ctx, wav, "The harbour opens at dawn.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	audio := upload(t, a, wav)
	job := waitJob(t, f, 1)

	// The job runs; the one worker is free: the image goes through.
	img := upload(t, a, png)
	if m := waitDone(t, a, img.ID, 2*time.Minute); m.Status != types.StatusSucceeded {
		t.Fatalf("image while the job runs: %s %s", m.Status, m.Cause)
	}
	if cur, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: audio.ID}); err != nil || cur.Status != types.StatusProcessing {
		t.Fatalf("audio while its job runs: %v %v", cur.Status, err)
	}
	f.mu.Lock()
	gets := f.gets
	f.mu.Unlock()
	if gets != 0 {
		t.Fatalf("the job was polled %d times while it ran; the state should wait for its event", gets)
	}
	if code, out := postEvent(t, srv, transcribeStateChange(job, "IN_PROGRESS")); code != 200 || out["outcome"] != "running" {
		t.Fatalf("in-progress event: %d %v", code, out)
	}
	if code, out := postEvent(t, srv, transcribeStateChange("someone-elses-job", "COMPLETED")); code != 200 || out["outcome"] != "ignored" {
		t.Fatalf("another job's event: %d %v", code, out)
	}

	f.mu.Lock()
	f.done[job] = true
	f.mu.Unlock()
	if code, out := postEvent(t, srv, transcribeStateChange(job, "COMPLETED")); code != 200 || out["outcome"] != "resumed" || out["media_id"] != audio.ID {
		t.Fatalf("completion event: %d %v", code, out)
	}
	m := waitDone(t, a, audio.ID, 2*time.Minute)
	if m.Status != types.StatusSucceeded {
		t.Fatalf("audio: %s %s: %s", m.Status, m.Error, m.Cause)
	}
	b, err := a.Bucket.ReadAll(ctx, m.TranscriptKey)
	if err != nil || !strings.Contains(string(b), "harbour") || !strings.Contains(string(b), "analyser.transcribe.aws") {
		t.Fatalf("transcript %s: %v", b, err)
	}
	if code, _ := postEvent(t, srv, transcribeStateChange(job, "COMPLETED")); code != http.StatusNotFound {
		t.Fatalf("a repeated completion event: %d, want 404 (no execution waits for the job)", code)
	}
	if n := len(f.jobs()); n != 1 {
		t.Fatalf("%d jobs started, want 1", n)
	}
}

// TestAsyncTranscribeJobLost starts a Transcribe job whose completion
// never arrives: the state's heartbeat ends the wait and the item fails
// with Transcribe.JobLost.
func TestAsyncTranscribeJobLost(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeTranscribe(t)
	ctx, dir := context.Background(), t.TempDir()
	wav := filepath.Join(dir, "dusk.wav")
	if err := mediagen.Speech(ctx, wav, "The boats come home at dusk.", mediagen.VoiceMale); err != nil {
		t.Fatal(err)
	}
	a, srv := asyncTranscribeApp(t, f, 2*time.Second)
	m := upload(t, a, wav)
	job := waitJob(t, f, 1)
	m = waitDone(t, a, m.ID, 2*time.Minute)
	if m.Status != types.StatusFailed || m.Error != "Transcribe.JobLost" || !strings.Contains(m.Cause, "aws.job_heartbeat") {
		t.Fatalf("%s %s: %s", m.Status, m.Error, m.Cause)
	}
	// The job ends after all: its event is refused (the execution no
	// longer waits) and the job is forgotten.
	f.mu.Lock()
	f.done[job] = true
	f.mu.Unlock()
	if code, out := postEvent(t, srv, transcribeStateChange(job, "COMPLETED")); code != http.StatusConflict {
		t.Fatalf("a late completion: %d %v, want 409", code, out)
	}
	if _, err := a.Catalog.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: job}); err == nil {
		t.Fatal("the late job is still recorded")
	}
}

// TestAsyncTranscribeJobAlreadyEnded starts a state whose job an earlier
// attempt started and that has already completed (Transcribe answers
// ConflictException): no event will come, so the job is finished at once
// and the item succeeds without one.
func TestAsyncTranscribeJobAlreadyEnded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated media")
	}
	f := newFakeTranscribe(t)
	inner := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "Transcribe.StartTranscriptionJob" {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			name, _ := body["TranscriptionJobName"].(string)
			f.mu.Lock()
			f.started = append(f.started, name)
			f.done[name] = true
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.Header().Set("X-Amzn-ErrorType", "ConflictException")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"ConflictException","message":"The requested job name already exists."}`)
			return
		}
		inner.ServeHTTP(w, r)
	})
	a, _ := asyncTranscribeApp(t, f, time.Minute)
	ctx, dir := context.Background(), t.TempDir()
	wav := filepath.Join(dir, "noon.wav")
	if err := mediagen.Speech(ctx, wav, "The harbour is quiet at noon.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	m := waitDone(t, a, upload(t, a, wav).ID, 2*time.Minute)
	if m.Status != types.StatusSucceeded || m.TranscriptKey == "" {
		t.Fatalf("%s %s: %s", m.Status, m.Error, m.Cause)
	}
	if _, err := a.Catalog.JobGet(ctx, &catalog.JobGetParams{Service: "transcribe", ID: f.jobs()[0]}); err == nil {
		t.Fatal("the finished job is still recorded")
	}
}
