package aws

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// transcribeDoc is an Amazon Transcribe output file with speaker labels
// (the shape of the service's documented examples).
const transcribeDoc = `{"jobName":"landfall-x","accountId":"111122223333","status":"COMPLETED","results":{
"transcripts":[{"transcript":"Hello, Lisbon. Welcome back."}],"language_code":"en-US",
"items":[
 {"id":0,"type":"pronunciation","start_time":"0.04","end_time":"0.52","speaker_label":"spk_0","alternatives":[{"content":"Hello","confidence":"0.998"}]},
 {"id":1,"type":"punctuation","alternatives":[{"content":",","confidence":"0.0"}]},
 {"id":2,"type":"pronunciation","start_time":"0.53","end_time":"1.10","speaker_label":"spk_0","alternatives":[{"content":"Lisbon","confidence":"0.91"}]},
 {"id":3,"type":"punctuation","alternatives":[{"content":".","confidence":"0.0"}]},
 {"id":4,"type":"pronunciation","start_time":"2.30","end_time":"2.71","alternatives":[{"content":"Welcome","confidence":"0.99"}]},
 {"id":5,"type":"pronunciation","start_time":"2.72","end_time":"3.05","alternatives":[{"content":"back","confidence":"0.97"}]},
 {"id":6,"type":"punctuation","alternatives":[{"content":".","confidence":"0.0"}]}],
"speaker_labels":{"speakers":2,"segments":[
 {"start_time":"0.04","end_time":"1.10","speaker_label":"spk_0","items":[]},
 {"start_time":"2.30","end_time":"3.05","speaker_label":"spk_1","items":[]}]}}}`

type fakeAWS struct {
	t        *testing.T
	srv      *httptest.Server
	handlers map[string]func(w http.ResponseWriter, body map[string]any)
}

func newFake(t *testing.T) *fakeAWS {
	f := &fakeAWS{t: t, handlers: map[string]func(http.ResponseWriter, map[string]any){}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		op := r.Header.Get("X-Amz-Target")
		if op == "" {
			op = r.Method + " " + r.URL.Path
		}
		h, ok := f.handlers[op]
		if !ok {
			t.Errorf("unexpected AWS call %s", op)
			w.WriteHeader(500)
			return
		}
		if strings.Contains(op, ".") {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		h(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"__type": typ, "message": msg})
}

func (f *fakeAWS) clients(t *testing.T) *Clients {
	ac := awssdk.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1}
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, AWS: &ac, Poll: time.Millisecond, StagingBucket: "staging", BedrockModel: "test-model",
		MediaURI: func(key string) string { return "s3://media/" + key }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTranscribeJob(t *testing.T) {
	f := newFake(t)
	var polls atomic.Int32
	f.handlers["Transcribe.StartTranscriptionJob"] = func(w http.ResponseWriter, b map[string]any) {
		if b["Media"].(map[string]any)["MediaFileUri"] != "s3://media/incoming/acme/m1.mp3" || b["IdentifyLanguage"] != true {
			t.Errorf("start request %v", b)
		}
		// The job exists already: a retried attempt resumes it.
		awsError(w, 400, "ConflictException", "The requested job name already exists.")
	}
	f.handlers["Transcribe.GetTranscriptionJob"] = func(w http.ResponseWriter, b map[string]any) {
		status := "IN_PROGRESS"
		if polls.Add(1) > 2 {
			status = "COMPLETED"
		}
		json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": map[string]any{"TranscriptionJobName": b["TranscriptionJobName"],
			"TranscriptionJobStatus": status, "Transcript": map[string]any{"TranscriptFileUri": f.srv.URL + "/out/transcript.json"}}})
	}
	f.handlers["GET /out/transcript.json"] = func(w http.ResponseWriter, _ map[string]any) { io.WriteString(w, transcribeDoc) }
	var used analyser.Usage
	out, err := Transcriber{f.clients(t)}.Run(context.Background(), &analyser.Env{Usage: func(u analyser.Usage) { used = u }},
		&analyser.Input{MediaID: "m1", Key: "incoming/acme/m1.mp3", Path: "/nonexistent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := analyser.ValidateOutput(Transcriber{}.Spec(), out); err != nil {
		t.Fatal(err)
	}
	tr := out.(*types.Transcript)
	if len(tr.Words) != 4 || tr.Words[0].Text != "Hello," || tr.Words[1].Text != "Lisbon." || tr.Words[3].Speaker != "spk_1" {
		t.Fatalf("words %+v", tr.Words)
	}
	if len(tr.Segments) != 2 || tr.Segments[1].Text != "Welcome back." || len(tr.Speakers) != 2 || tr.Language != "en-US" {
		t.Fatalf("segments %+v speakers %+v", tr.Segments, tr.Speakers)
	}
	if polls.Load() != 3 || used.AudioSeconds != 3.05 {
		t.Fatalf("polls %d usage %+v", polls.Load(), used)
	}
}

func TestTranscribeErrorsAreNamed(t *testing.T) {
	for _, tc := range []struct {
		start func(w http.ResponseWriter, b map[string]any)
		get   func(w http.ResponseWriter, b map[string]any)
		want  errcode.Code
	}{
		{start: func(w http.ResponseWriter, _ map[string]any) { awsError(w, 400, "LimitExceededException", "slow down") }, want: errcode.ProviderThrottled},
		{start: func(w http.ResponseWriter, _ map[string]any) { awsError(w, 500, "InternalFailureException", "oops") }, want: errcode.ProviderTransient},
		{start: func(w http.ResponseWriter, _ map[string]any) { awsError(w, 400, "BadRequestException", "no") }, want: errcode.ProviderFailed},
		{start: func(w http.ResponseWriter, _ map[string]any) { io.WriteString(w, `{}`) },
			get: func(w http.ResponseWriter, _ map[string]any) {
				io.WriteString(w, `{"TranscriptionJob":{"TranscriptionJobStatus":"FAILED","FailureReason":"The media format provided does not match the detected media format."}}`)
			}, want: errcode.MediaCorrupt},
	} {
		f := newFake(t)
		f.handlers["Transcribe.StartTranscriptionJob"] = tc.start
		if tc.get != nil {
			f.handlers["Transcribe.GetTranscriptionJob"] = tc.get
		}
		_, err := Transcriber{f.clients(t)}.Run(context.Background(), nil, &analyser.Input{MediaID: "m", Key: "k"})
		if errcode.Of(err) != tc.want {
			t.Errorf("got %v, want %s", err, tc.want)
		}
	}
}

func TestParseTranscribeRejects(t *testing.T) {
	for _, doc := range []string{`{"results":{"items":[{"type":"pronunciation","start_time":"x","end_time":"1","alternatives":[{"content":"a"}]}]}}`,
		`{"results":{"items":[{"type":"pronunciation","start_time":"2","end_time":"1","alternatives":[{"content":"a"}]}]}}`,
		`{"results":{"items":[{"type":"pronunciation","alternatives":[]}]}}`, `[`} {
		if _, err := ParseTranscribeJSON([]byte(doc)); errcode.Of(err) != errcode.ProviderBadOutput {
			t.Errorf("%s: %v", doc, err)
		}
	}
}

func FuzzParseTranscribeJSON(f *testing.F) {
	f.Add([]byte(transcribeDoc))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTranscribeJSON(b)
		if err == nil {
			for _, s := range tr.Segments {
				if s.FirstWord+s.WordCount > len(tr.Words) || s.End < s.Start {
					t.Fatalf("bad segment %+v", s)
				}
			}
		}
	})
}

func TestLabelsOnKeyframesAndModeration(t *testing.T) {
	f := newFake(t)
	var frames atomic.Int32
	f.handlers["RekognitionService.DetectLabels"] = func(w http.ResponseWriter, b map[string]any) {
		if b["Image"].(map[string]any)["Bytes"] == nil {
			t.Errorf("image bytes not sent: %v", b)
		}
		n := frames.Add(1)
		labels := []map[string]any{{"Name": "Person", "Confidence": 90 + float64(n)}}
		if n == 2 {
			labels = append(labels, map[string]any{"Name": "Whiteboard", "Confidence": 75.5})
		}
		json.NewEncoder(w).Encode(map[string]any{"Labels": labels, "LabelModelVersion": "3.0"})
	}
	f.handlers["RekognitionService.DetectModerationLabels"] = func(w http.ResponseWriter, b map[string]any) {
		io.WriteString(w, `{"ModerationLabels":[{"Name":"Violence","ParentName":"","Confidence":81.234}],"ModerationModelVersion":"7.0"}`)
	}
	dir := t.TempDir()
	var kf []map[string]any
	for i := 0; i < 2; i++ {
		p := filepath.Join(dir, "k"+string(rune('0'+i))+".jpg")
		os.WriteFile(p, []byte("\xff\xd8\xff jpeg"), 0o644)
		kf = append(kf, map[string]any{"time": float64(i) * 4.5, "path": p})
	}
	media, _ := json.Marshal(map[string]any{"keyframes": kf})
	in := &analyser.Input{MediaID: "v", Key: "incoming/a/v.mp4", Kind: types.KindVideo, Results: map[string]json.RawMessage{"media": media}}
	c := f.clients(t)
	out, err := Labeller{c}.Run(context.Background(), nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if err := analyser.ValidateOutput(Labeller{}.Spec(), out); err != nil {
		t.Fatal(err)
	}
	labels := out.(map[string]any)["labels"].([]types.Label)
	if len(labels) != 2 || labels[0].Name != "Person" || labels[0].Confidence != 92 || len(labels[0].Timestamps) != 2 || labels[1].Timestamps[0] != 4.5 {
		t.Fatalf("labels %+v", labels)
	}
	mo, err := Moderator{c}.Run(context.Background(), nil, in)
	if err != nil {
		t.Fatal(err)
	}
	if flags := mo.(map[string]any)["moderation"].([]types.Moderation); len(flags) != 2 || flags[1].Timestamp != 4.5 || flags[0].Confidence != 81.23 {
		t.Fatalf("moderation %+v", flags)
	}
	// Each flagged keyframe is a shot the moderation policy judges (no
	// frame of Landfall's: the evidence is taken from the original).
	if shots, _ := mo.(map[string]any)["shots"].([]types.VisionShot); len(shots) != 2 || shots[1].TimestampMS != 4500 || len(shots[1].Moderation) != 1 || shots[1].Frame != "" {
		t.Fatalf("moderation shots %+v", shots)
	}
	if _, err := (Labeller{c}).Run(context.Background(), nil, &analyser.Input{Options: json.RawMessage(`{"min_confidence":120}`)}); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("bad option: %v", err)
	}
}

func TestBedrockToolUseWithRepair(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	reply := func(input string) string {
		return `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"record_insights","input":` + input + `}}]}},
"stopReason":"tool_use","usage":{"inputTokens":120,"outputTokens":40,"totalTokens":160},"metrics":{"latencyMs":5}}`
	}
	f.handlers["POST /model/test-model/converse"] = func(w http.ResponseWriter, b map[string]any) {
		tc := b["toolConfig"].(map[string]any)
		if tc["toolChoice"].(map[string]any)["tool"].(map[string]any)["name"] != "record_insights" {
			t.Errorf("tool choice %v", tc)
		}
		if calls.Add(1) == 1 {
			io.WriteString(w, reply(`{"summary":"`+strings.Repeat("x ", 90)+`","chapters":[],"topics":[],"entities":{"people":[],"organisations":[],"places":[]},"seo_description":""}`))
			return
		}
		if msgs := b["messages"].([]any); len(msgs) != 3 {
			t.Errorf("repair conversation has %d messages", len(msgs))
		}
		io.WriteString(w, reply(`{"summary":"A talk from Lisbon.","chapters":[{"title":"Start","start_seconds":0.3}],"topics":["lisbon"],
"entities":{"people":[],"organisations":[],"places":["Lisbon"]},"seo_description":"A talk from Lisbon."}`))
	}
	tr, _ := json.Marshal(types.Transcript{Segments: []types.Segment{{Start: 0.5, Text: "hello lisbon"}}})
	var used analyser.Usage
	out, err := Summariser{f.clients(t)}.Run(context.Background(), &analyser.Env{Usage: func(u analyser.Usage) { used = u }},
		&analyser.Input{Results: map[string]json.RawMessage{"transcribe": tr}})
	if err != nil {
		t.Fatal(err)
	}
	if err := analyser.ValidateOutput(Summariser{}.Spec(), out); err != nil {
		t.Fatal(err)
	}
	ins := out.(*types.Insights)
	if ins.Summary != "A talk from Lisbon." || ins.Chapters[0].StartSeconds != 0.5 || used.InputTokens != 240 {
		t.Fatalf("%+v %+v", ins, used)
	}
	f.handlers["POST /model/test-model/converse"] = func(w http.ResponseWriter, _ map[string]any) {
		awsError(w, 429, "ThrottlingException", "Too many requests")
	}
	if _, err := (Summariser{f.clients(t)}).Run(context.Background(), nil, &analyser.Input{Results: map[string]json.RawMessage{"transcribe": tr}}); errcode.Of(err) != errcode.ProviderThrottled {
		t.Fatalf("throttled: %v", err)
	}
}

// transcribeEvent is Transcribe's "Transcribe Job State Change" event as
// EventBridge delivers it.
func transcribeEvent(name, status string) []byte {
	b, _ := json.Marshal(map[string]any{"version": "0", "id": "1a2b3c4d-0000-1111-2222-333344445555", "detail-type": "Transcribe Job State Change",
		"source": "aws.transcribe", "account": "111122223333", "time": "2026-12-07T16:00:00Z", "region": "eu-west-1", "resources": []string{},
		"detail": map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": status}})
	return b
}

func TestParseEventBridgeJobEvent(t *testing.T) {
	ev, err := ParseEventBridgeJobEvent(transcribeEvent("landfall-m1-abcd", "COMPLETED"))
	if err != nil || ev.Service != "transcribe" || ev.JobID != "landfall-m1-abcd" || !ev.Ended {
		t.Fatalf("%+v %v", ev, err)
	}
	if ev, err := ParseEventBridgeJobEvent(transcribeEvent("j", "IN_PROGRESS")); err != nil || ev.Ended {
		t.Fatalf("in progress: %+v %v", ev, err)
	}
	for _, bad := range []string{`[`, `{"source":"aws.s3","detail-type":"Object Created","detail":{}}`,
		`{"source":"aws.transcribe","detail-type":"Transcribe Job State Change","detail":{"TranscriptionJobStatus":"COMPLETED"}}`,
		`{"source":"aws.transcribe","detail-type":"Transcribe Job State Change","detail":{"TranscriptionJobName":"j"}}`, `{} {}`} {
		if _, err := ParseEventBridgeJobEvent([]byte(bad)); errcode.Of(err) != errcode.Invalid {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParseEventBridgeJobEvent(f *testing.F) {
	f.Add(transcribeEvent("landfall-m1-abcd", "COMPLETED"))
	f.Add([]byte(`{"source":"aws.transcribe","detail-type":"Transcribe Job State Change","detail":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ParseEventBridgeJobEvent(b)
		if err == nil && (ev.JobID == "" || ev.Status == "") {
			t.Fatalf("accepted an event without a job or status: %+v", ev)
		}
	})
}
