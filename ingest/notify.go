// Package ingest brings files into Landfall: streamed and resumable uploads
// into incoming/<tenant>/, a watcher for files dropped into the bucket
// folder, and an intake for S3 event notifications so a real S3 or
// S3-compatible store can feed Landfall. Every stored object becomes an
// "Object Created" event on the bus.
package ingest

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/errcode"
)

// s3Notification is the S3 event notification document
// (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html).
type s3Notification struct {
	Records []s3Record `json:"Records"`
	// Event is set on the s3:TestEvent a bucket sends when notifications
	// are configured.
	Event string `json:"Event"`
}

type s3Record struct {
	EventVersion string    `json:"eventVersion"`
	EventSource  string    `json:"eventSource"`
	EventTime    time.Time `json:"eventTime"`
	EventName    string    `json:"eventName"`
	S3           struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId"`
			Sequencer string `json:"sequencer"`
		} `json:"object"`
	} `json:"s3"`
}

// snsEnvelope is an SNS HTTP(S) delivery wrapping an S3 notification.
type snsEnvelope struct {
	Type    string `json:"Type"`
	Message string `json:"Message"`
}

// ParseNotification turns an S3 event notification (optionally wrapped in
// an SNS delivery) or an EventBridge "Object Created" event into bus
// events. Records that are not object creations are skipped; an s3:TestEvent
// yields no events. Errors name the field that is wrong.
func ParseNotification(body []byte) ([]bus.Event, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, errcode.New(errcode.Invalid, "notification body is empty")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return nil, errcode.New(errcode.Invalid, "notification is not a JSON object: %v", err)
	}
	switch {
	case probe["Records"] != nil:
		return parseS3(body)
	case probe["detail-type"] != nil:
		return parseEventBridge(body)
	case probe["Type"] != nil && probe["Message"] != nil:
		var env snsEnvelope
		if err := json.Unmarshal(body, &env); err != nil {
			return nil, errcode.New(errcode.Invalid, "SNS envelope: %v", err)
		}
		if env.Type != "Notification" {
			return nil, errcode.New(errcode.Invalid, "/Type: SNS message type %q is not a Notification", env.Type)
		}
		return ParseNotification([]byte(env.Message))
	case probe["Event"] != nil:
		return nil, nil // s3:TestEvent
	}
	return nil, errcode.New(errcode.Invalid, "not an S3 event notification (no /Records) nor an EventBridge event (no /detail-type)")
}

func parseS3(body []byte) ([]bus.Event, error) {
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, errcode.New(errcode.Invalid, "S3 notification: %v", err)
	}
	var out []bus.Event
	for i, r := range n.Records {
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			continue
		}
		if r.S3.Bucket.Name == "" {
			return nil, errcode.New(errcode.Invalid, "/Records/%d/s3/bucket/name: required", i)
		}
		// Keys in S3 notifications are URL-encoded with '+' for spaces.
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil || key == "" {
			return nil, errcode.New(errcode.Invalid, "/Records/%d/s3/object/key: %q is not a URL-encoded key", i, r.S3.Object.Key)
		}
		at := r.EventTime
		if at.IsZero() {
			at = time.Now()
		}
		reason := strings.TrimPrefix(r.EventName, "ObjectCreated:")
		switch reason {
		case "Put":
			reason = "PutObject"
		case "Post":
			reason = "PostObject"
		case "Copy":
			reason = "CopyObject"
		case "CompleteMultipartUpload":
		}
		out = append(out, bus.ObjectCreated(r.S3.Bucket.Name, bus.ObjectDetail{
			Key:       key,
			Size:      r.S3.Object.Size,
			ETag:      r.S3.Object.ETag,
			VersionID: r.S3.Object.VersionID,
			Sequencer: r.S3.Object.Sequencer,
		}, reason, at))
	}
	return out, nil
}

func parseEventBridge(body []byte) ([]bus.Event, error) {
	var ev bus.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, errcode.New(errcode.Invalid, "EventBridge event: %v", err)
	}
	if ev.Source != "aws.s3" || ev.DetailType != "Object Created" {
		return nil, errcode.New(errcode.Invalid, "/detail-type: want an aws.s3 \"Object Created\" event, got %s %q", ev.Source, ev.DetailType)
	}
	var d bus.ObjectCreatedDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return nil, errcode.New(errcode.Invalid, "/detail: %v", err)
	}
	if d.Bucket.Name == "" {
		return nil, errcode.New(errcode.Invalid, "/detail/bucket/name: required")
	}
	if d.Object.Key == "" {
		return nil, errcode.New(errcode.Invalid, "/detail/object/key: required")
	}
	if ev.ID == "" {
		ev.ID = bus.NewID()
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC().Truncate(time.Second)
	}
	if ev.Version == "" {
		ev.Version = "0"
	}
	return []bus.Event{ev}, nil
}
