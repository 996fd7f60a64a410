package aws

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func (f *fakeAWS) jobClients(t *testing.T) *Clients {
	ac := awssdk.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""), RetryMaxAttempts: 1}
	c, err := New(context.Background(), Config{Endpoint: f.srv.URL, AWS: &ac, Poll: time.Millisecond, StagingBucket: "staging",
		RekognitionTopic: "arn:aws:sns:eu-west-1:111122223333:AmazonRekognitionLandfall", RekognitionRole: "arn:aws:iam::111122223333:role/r",
		MediaURI: func(key string) string { return "s3://media/" + key }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func videoInput(t *testing.T) *analyser.Input {
	p := filepath.Join(t.TempDir(), "v.mp4")
	os.WriteFile(p, []byte("x"), 0o644)
	return &analyser.Input{MediaID: "m1", Key: "incoming/acme/v.mp4", Path: p, Kind: types.KindVideo, Results: map[string]json.RawMessage{
		"media": json.RawMessage(`{"shots":[{"index":0,"start":0,"end":2},{"index":1,"start":2,"end":5}],"keyframes":[{"time":1,"shot":0},{"time":3,"shot":1}]}`)}}
}

// TestVideoJobFailedIsNamed: a job Rekognition reports FAILED ends with a
// named error carrying its status message; a running one is
// ErrJobRunning.
func TestVideoJobFailedIsNamed(t *testing.T) {
	f := newFake(t)
	status, msg := "IN_PROGRESS", ""
	f.handlers["RekognitionService.GetContentModeration"] = func(w http.ResponseWriter, body map[string]any) {
		json.NewEncoder(w).Encode(map[string]any{"JobStatus": status, "StatusMessage": msg})
	}
	m := Moderator{C: f.jobClients(t)}
	in := videoInput(t)
	if _, err := m.FinishJob(context.Background(), nil, in, "j1"); err == nil || !strings.Contains(err.Error(), analyser.ErrJobRunning.Error()) {
		t.Fatalf("running: %v", err)
	}
	for _, c := range []struct {
		msg  string
		code errcode.Code
	}{{"Unsupported codec/format.", errcode.MediaUnsupported}, {"Access denied to the SNS topic.", errcode.ProviderFailed}} {
		status, msg = "FAILED", c.msg
		_, err := m.FinishJob(context.Background(), nil, in, "j1")
		if errcode.Of(err) != c.code || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %s", c.msg, err, c.code)
		}
	}
}

// TestVideoJobStartIsIdempotent: the start request carries the topic,
// role, a JobTag and a token that is the same on a retried attempt, and a
// job found ended is reported done.
func TestVideoJobStartIsIdempotent(t *testing.T) {
	f := newFake(t)
	var tokens []string
	status := "IN_PROGRESS"
	f.handlers["RekognitionService.StartLabelDetection"] = func(w http.ResponseWriter, body map[string]any) {
		tokens = append(tokens, body["ClientRequestToken"].(string))
		ch := body["NotificationChannel"].(map[string]any)
		if !strings.HasSuffix(ch["SNSTopicArn"].(string), ":AmazonRekognitionLandfall") || body["JobTag"] != "landfall-labels-m1" {
			t.Errorf("start %v", body)
		}
		json.NewEncoder(w).Encode(map[string]any{"JobId": "job-1"})
	}
	f.handlers["RekognitionService.GetLabelDetection"] = func(w http.ResponseWriter, body map[string]any) {
		json.NewEncoder(w).Encode(map[string]any{"JobStatus": status})
	}
	l := Labeller{C: f.jobClients(t)}
	in := videoInput(t)
	in.Execution = "arn:aws:states:eu-west-1:111122223333:execution:landfall-media:first"
	id, done, err := l.StartJob(context.Background(), nil, in)
	if err != nil || id != "job-1" || done {
		t.Fatalf("%s %v %v", id, done, err)
	}
	status = "SUCCEEDED"
	if _, done, err := l.StartJob(context.Background(), nil, in); err != nil || !done {
		t.Fatalf("retried: %v %v", done, err)
	}
	if len(tokens) != 2 || tokens[0] != tokens[1] || len(tokens[0]) > 64 {
		t.Fatalf("tokens %v", tokens)
	}
	// Another execution of the same media starts its own job.
	other := *in
	other.Execution = "arn:aws:states:eu-west-1:111122223333:execution:landfall-media:again"
	if _, _, err := l.StartJob(context.Background(), nil, &other); err != nil || tokens[2] == tokens[0] {
		t.Fatalf("another execution: %v, tokens %v", err, tokens)
	}
	in.Kind = types.KindImage
	if _, _, err := l.StartJob(context.Background(), nil, in); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("an image: %v", err)
	}
	unconfigured := Labeller{C: f.clients(t)}
	if unconfigured.JobsConfigured() {
		t.Fatal("jobs configured without a topic")
	}
}

func rekognitionMessage(id, status, tag string) string {
	b, _ := json.Marshal(map[string]any{"JobId": id, "Status": status, "API": "LABEL_DETECTION", "JobTag": tag, "Timestamp": 1502230160926,
		"Video": map[string]any{"S3ObjectName": "video.mpg", "S3Bucket": "amzn-s3-demo-bucket"}})
	return string(b)
}

func TestParseRekognitionNotification(t *testing.T) {
	ev, err := ParseRekognitionNotification(rekognitionMessage("6de014b0-2121-4bf0-9e31-856a18719e22", "SUCCEEDED", "landfall-labels-m1"))
	if err != nil || ev.Service != "rekognition" || !ev.Ended || ev.Tag != "landfall-labels-m1" || ev.API != "LABEL_DETECTION" {
		t.Fatalf("%+v %v", ev, err)
	}
	if ev, err := ParseRekognitionNotification(rekognitionMessage("j", "ERROR", "")); err != nil || !ev.Ended {
		t.Fatalf("error status: %+v %v", ev, err)
	}
	for _, bad := range []string{``, `[]`, `{"Status":"SUCCEEDED"}`, rekognitionMessage("j", "DONE", ""), rekognitionMessage(strings.Repeat("j", 65), "FAILED", ""), `{"JobId":"j","Status":"FAILED"} {}`} {
		if _, err := ParseRekognitionNotification(bad); errcode.Of(err) != errcode.Invalid {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParseRekognitionNotification(f *testing.F) {
	f.Add(rekognitionMessage("j", "SUCCEEDED", "landfall-labels-m1"))
	f.Add(`{"JobId":"j","Status":"FAILED","JobTag":null}`)
	f.Fuzz(func(t *testing.T, s string) {
		ev, err := ParseRekognitionNotification(s)
		if err == nil && (ev.JobID == "" || ev.Status == "") {
			t.Fatalf("accepted a notification without a job or status: %+v", ev)
		}
	})
}
