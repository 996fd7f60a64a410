package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/lambda/messages"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landfall/landfall/catalog"
)

const (
	testRekognitionTopic = "arn:aws:sns:eu-west-1:123456789012:lambdatest-RekognitionJobsTopic"
	testRekognitionRole  = "arn:aws:iam::123456789012:role/lambdatest-RekognitionPublishRole"
)

// snsLambdaEvent is the event SNS invokes a subscribed function with.
func snsLambdaEvent(topic, message string) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": topic + ":2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		"Sns": map[string]any{"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e", "TopicArn": topic,
			"Subject": nil, "Message": message, "Timestamp": "2026-12-07T16:00:00.000Z", "SignatureVersion": "1",
			"Signature": "c2lnbmF0dXJl", "SigningCertUrl": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem",
			"MessageAttributes": map[string]any{}}}}})
	return b
}

func rekognitionDone(id, status, api, tag string) string {
	b, _ := json.Marshal(map[string]any{"JobId": id, "Status": status, "API": api, "JobTag": tag, "Timestamp": 1502230160926,
		"Video": map[string]any{"S3ObjectName": "incoming/acme/briefing.mp4", "S3Bucket": "media"}})
	return string(b)
}

func transcribeStateChange(name, status string) []byte {
	b, _ := json.Marshal(map[string]any{"version": "0", "id": "6f0c2d3e-1111-2222-3333-444455556666", "detail-type": "Transcribe Job State Change",
		"source": "aws.transcribe", "account": "123456789012", "time": "2026-12-07T16:00:00Z", "region": "eu-west-1", "resources": []string{},
		"detail": map[string]any{"TranscriptionJobName": name, "TranscriptionJobStatus": status}})
	return b
}

// asyncJobs runs the asynchronous job functions on the video the pipeline
// analysed, as the .waitForTaskToken states call them, and the
// job-events function on the completions AWS sends: Transcribe's
// EventBridge event and Rekognition's SNS notifications resume the tasks
// (SendTaskSuccess, or SendTaskFailure with the job's named error); a
// retried attempt that finds its job ended finishes it at once.
func (st *stack) asyncJobs(t *testing.T) {
	ctx := context.Background()
	// The job states run before move takes the original out of incoming/:
	// it is put back, under another key (the versioned test bucket keeps
	// the moved key's delete marker in the way).
	var ev struct {
		Media struct{ ID, Key string } `json:"media"`
	}
	json.Unmarshal(st.last["labels"], &ev)
	m, err := st.store.MediaGet(ctx, &catalog.MediaGetParams{ID: ev.Media.ID})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := st.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.bucket, Key: &m.BucketKey})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(obj.Body)
	obj.Body.Close()
	again := strings.TrimSuffix(ev.Media.Key, ".mp4") + "-again.mp4"
	if _, err := st.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: &st.bucket, Key: &again, Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	withToken := func(task, token string) []byte {
		var ev map[string]any
		json.Unmarshal(st.last[task], &ev)
		ev["task_token"] = token
		ev["media"].(map[string]any)["key"] = again
		b, _ := json.Marshal(ev)
		return b
	}
	invoke := func(task string, ev []byte) string {
		t.Helper()
		out, err := st.handler(t, task).Invoke(ctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", task, err)
		}
		return string(out)
	}
	sent := func(token, op, want string) {
		t.Helper()
		got := st.sfn.of(token)
		if got == nil || got["op"] != op || !strings.Contains(js(got), want) {
			t.Fatalf("token %s was sent %v, want %s with %q", token, got, op, want)
		}
	}

	// Transcribe: the job starts; its event resumes the task with the
	// stored transcript.
	invoke("transcribe-job", withToken("transcribe", "tok-t1"))
	if st.sfn.of("tok-t1") != nil {
		t.Fatal("the task was resumed before its job ended")
	}
	name := st.svc.lastName
	if out := invoke("job-events", transcribeStateChange(name, "COMPLETED")); !strings.Contains(out, "resumed") {
		t.Fatalf("transcribe event: %s", out)
	}
	sent("tok-t1", "SendTaskSuccess", "work/acme/")
	// Retried attempts find the job ended (completed, then failed).
	st.svc.set(st.svc.transcribe, name, "COMPLETED")
	invoke("transcribe-job", withToken("transcribe", "tok-t2"))
	sent("tok-t2", "SendTaskSuccess", "work/acme/")
	st.svc.set(st.svc.transcribe, name, "FAILED")
	invoke("transcribe-job", withToken("transcribe", "tok-t3"))
	sent("tok-t3", "SendTaskFailure", "Provider.Failed")

	// Rekognition Video: the notification on the stack's topic resumes
	// the label detection task; a failed moderation job fails its task.
	invoke("labels-job", withToken("labels", "tok-l1"))
	labels := st.svc.lastRek["RekognitionService.StartLabelDetection"]
	st.svc.set(st.svc.rekStatus, labels, "SUCCEEDED")
	if out := invoke("job-events", snsLambdaEvent(testRekognitionTopic, rekognitionDone(labels, "SUCCEEDED", "LABEL_DETECTION", "landfall-labels-x"))); !strings.Contains(out, "resumed") {
		t.Fatalf("label detection notification: %s", out)
	}
	sent("tok-l1", "SendTaskSuccess", "work/acme/")
	invoke("labels-job", withToken("labels", "tok-l2"))
	sent("tok-l2", "SendTaskSuccess", "work/acme/")
	st.svc.set(st.svc.rekStatus, labels, "FAILED")
	invoke("labels-job", withToken("labels", "tok-l3"))
	sent("tok-l3", "SendTaskFailure", "Provider.Failed")

	invoke("moderate-job", withToken("moderate", "tok-m1"))
	mod := st.svc.lastRek["RekognitionService.StartContentModeration"]
	st.svc.set(st.svc.rekStatus, mod, "FAILED")
	if out := invoke("job-events", snsLambdaEvent(testRekognitionTopic, rekognitionDone(mod, "FAILED", "CONTENT_MODERATION", "landfall-moderate-x"))); !strings.Contains(out, "failed") {
		t.Fatalf("content moderation notification: %s", out)
	}
	sent("tok-m1", "SendTaskFailure", "Access denied to the SNS topic.")
	st.svc.set(st.svc.rekStatus, mod, "SUCCEEDED")
	invoke("moderate-job", withToken("moderate", "tok-m2"))
	sent("tok-m2", "SendTaskSuccess", "work/acme/")
	st.svc.set(st.svc.rekStatus, mod, "FAILED")
	invoke("moderate-job", withToken("moderate", "tok-m3"))
	sent("tok-m3", "SendTaskFailure", "Provider.Failed")

	// Another topic's notification, and other applications' jobs.
	_, err = st.handler(t, "job-events").Invoke(ctx, snsLambdaEvent("arn:aws:sns:eu-west-1:444455556666:Elsewhere", rekognitionDone(mod, "SUCCEEDED", "CONTENT_MODERATION", "landfall-moderate-x")))
	var le messages.InvokeResponse_Error
	if !errors.As(err, &le) || le.Type != "PermissionDenied" {
		t.Fatalf("another topic's notification: %v", err)
	}
	if out := invoke("job-events", snsLambdaEvent(testRekognitionTopic, rekognitionDone(mod, "SUCCEEDED", "CONTENT_MODERATION", "theirs"))); !strings.Contains(out, `"outcomes":null`) {
		t.Fatalf("another application's job: %s", out)
	}
	if out := invoke("job-events", transcribeStateChange("their-job", "COMPLETED")); !strings.Contains(out, "ignored") {
		t.Fatalf("another application's Transcribe job: %s", out)
	}
}
