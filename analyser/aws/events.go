package aws

import (
	"bytes"
	"encoding/json"

	"github.com/landfall/landfall/errcode"
)

// JobEvent is what a completion notice says of a provider job: which
// service's job, its id, and the status the notice reports.
type JobEvent struct {
	Service string // "transcribe", "rekognition"
	JobID   string
	Status  string // e.g. COMPLETED, FAILED (Transcribe); SUCCEEDED, FAILED, ERROR (Rekognition)
	// Ended is set when the status is final (the job's output or failure
	// can be read).
	Ended bool
	// Tag is the JobTag the job was started with and API the operation
	// (Rekognition's LABEL_DETECTION, CONTENT_MODERATION, …).
	Tag, API string
}

// ParseEventBridgeJobEvent reads an Amazon EventBridge event (as an
// EventBridge API destination or a rule's Lambda target receives it) and
// returns the job it reports. Transcribe's "Transcribe Job State Change"
// event names the job in detail.TranscriptionJobName with its status in
// detail.TranscriptionJobStatus. Any other event is refused as Invalid,
// naming its source and detail-type.
func ParseEventBridgeJobEvent(b []byte) (*JobEvent, error) {
	var ev struct {
		Source     string          `json:"source"`
		DetailType string          `json:"detail-type"`
		Detail     json.RawMessage `json:"detail"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&ev); err != nil {
		return nil, errcode.New(errcode.Invalid, "event: not an EventBridge event (JSON object with source, detail-type and detail): %v", err)
	}
	if dec.More() {
		return nil, errcode.New(errcode.Invalid, "event: one EventBridge event expected, more follow it")
	}
	if ev.Source != "aws.transcribe" || ev.DetailType != "Transcribe Job State Change" {
		return nil, errcode.New(errcode.Invalid, "event: source %q, detail-type %q: want aws.transcribe's \"Transcribe Job State Change\"",
			ev.Source, ev.DetailType)
	}
	var d struct {
		Name   string `json:"TranscriptionJobName"`
		Status string `json:"TranscriptionJobStatus"`
	}
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, errcode.New(errcode.Invalid, "event: /detail: %v", err)
	}
	if d.Name == "" || len(d.Name) > 200 {
		return nil, errcode.New(errcode.Invalid, "event: /detail/TranscriptionJobName: want a job name of 1–200 characters")
	}
	if d.Status == "" {
		return nil, errcode.New(errcode.Invalid, "event: /detail/TranscriptionJobStatus: missing")
	}
	return &JobEvent{Service: "transcribe", JobID: d.Name, Status: d.Status, Ended: d.Status == "COMPLETED" || d.Status == "FAILED"}, nil
}

// ParseRekognitionNotification reads the message Rekognition Video
// publishes to the job's SNS topic when the job ends:
// {"JobId", "Status" (SUCCEEDED, FAILED or ERROR), "API", "JobTag",
// "Timestamp", "Video": {"S3ObjectName", "S3Bucket"}}. Any other message is
// refused as Invalid, naming the field.
func ParseRekognitionNotification(message string) (*JobEvent, error) {
	var n struct {
		JobID  string `json:"JobId"`
		Status string `json:"Status"`
		API    string `json:"API"`
		JobTag string `json:"JobTag"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(message)))
	if err := dec.Decode(&n); err != nil {
		return nil, errcode.New(errcode.Invalid, "notification: /Message is not a Rekognition Video completion (a JSON object with JobId, Status and API): %v", err)
	}
	if dec.More() {
		return nil, errcode.New(errcode.Invalid, "notification: /Message: one JSON object expected, more follow it")
	}
	if n.JobID == "" || len(n.JobID) > 64 {
		return nil, errcode.New(errcode.Invalid, "notification: /Message/JobId: want a job id of 1–64 characters")
	}
	switch n.Status {
	case "SUCCEEDED", "FAILED", "ERROR", "IN_PROGRESS":
	default:
		return nil, errcode.New(errcode.Invalid, "notification: /Message/Status %q: want SUCCEEDED, FAILED or ERROR", n.Status)
	}
	return &JobEvent{Service: "rekognition", JobID: n.JobID, Status: n.Status, Ended: n.Status != "IN_PROGRESS", Tag: n.JobTag, API: n.API}, nil
}
