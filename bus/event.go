// Package bus is Landfall's event bus: events in the Amazon EventBridge
// envelope, written to an outbox in the same transaction as the record they
// describe, matched against rules in the EventBridge pattern language, and
// delivered at least once to targets (start a workflow execution, POST a
// signed webhook, or put to another bus). Targets are idempotent by event id.
package bus

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Event is an event in the EventBridge envelope.
type Event struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	// EventBusName is the bus the event was put on ("default" when empty);
	// it is not part of the delivered envelope.
	EventBusName string `json:"-"`
}

// Identity of this deployment in events it emits. Landfall emits events as
// S3 would, so rules written for AWS match them unchanged.
const (
	DefaultAccount = "000000000000"
	DefaultRegion  = "local"
	DefaultBus     = "default"
)

// NewID returns a random event id in the UUID format EventBridge uses.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// ObjectCreatedDetail is the detail of S3's EventBridge "Object Created"
// event.
type ObjectCreatedDetail struct {
	Version         string       `json:"version"`
	Bucket          BucketDetail `json:"bucket"`
	Object          ObjectDetail `json:"object"`
	RequestID       string       `json:"request-id"`
	Requester       string       `json:"requester"`
	SourceIPAddress string       `json:"source-ip-address,omitempty"`
	Reason          string       `json:"reason"`
}

// BucketDetail names the bucket.
type BucketDetail struct {
	Name string `json:"name"`
}

// ObjectDetail describes the stored object.
type ObjectDetail struct {
	Key       string `json:"key"`
	Size      int64  `json:"size"`
	ETag      string `json:"etag"`
	VersionID string `json:"version-id,omitempty"`
	Sequencer string `json:"sequencer,omitempty"`
}

// ObjectCreated returns an "Object Created" event in S3's EventBridge shape
// for an object stored in bucket.
func ObjectCreated(bucket string, obj ObjectDetail, reason string, at time.Time) Event {
	if reason == "" {
		reason = "PutObject"
	}
	if obj.Sequencer == "" {
		obj.Sequencer = fmt.Sprintf("%016X", at.UnixNano())
	}
	id := NewID()
	d := ObjectCreatedDetail{
		Version:   "0",
		Bucket:    BucketDetail{Name: bucket},
		Object:    obj,
		RequestID: id,
		Requester: DefaultAccount,
		Reason:    reason,
	}
	raw, _ := json.Marshal(d)
	return Event{
		Version:    "0",
		ID:         id,
		DetailType: "Object Created",
		Source:     "aws.s3",
		Account:    DefaultAccount,
		Time:       at.UTC().Truncate(time.Second),
		Region:     DefaultRegion,
		Resources:  []string{"arn:aws:s3:::" + bucket},
		Detail:     raw,
	}
}

// PutEventsEntry is one entry of an EventBridge PutEvents request.
type PutEventsEntry struct {
	Source       string     `json:"Source"`
	DetailType   string     `json:"DetailType"`
	Detail       string     `json:"Detail"`
	Resources    []string   `json:"Resources,omitempty"`
	Time         *time.Time `json:"Time,omitempty"`
	EventBusName string     `json:"EventBusName,omitempty"`
	TraceHeader  string     `json:"TraceHeader,omitempty"`
}

// PutEventsResultEntry is one entry of a PutEvents response: an EventId, or
// an ErrorCode and ErrorMessage.
type PutEventsResultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// maxEventSize is EventBridge's limit on one entry (256 KiB).
const maxEventSize = 256 * 1024

// FromEntry validates a PutEvents entry and turns it into an event. The
// error names the field that is wrong.
func FromEntry(e PutEventsEntry, now time.Time) (Event, error) {
	switch {
	case strings.TrimSpace(e.Source) == "":
		return Event{}, errcode.New(errcode.Invalid, "Source: required")
	case strings.HasPrefix(e.Source, "aws."):
		return Event{}, errcode.New(errcode.Invalid, "Source: %q is reserved for events emitted by the service itself", e.Source)
	case strings.TrimSpace(e.DetailType) == "":
		return Event{}, errcode.New(errcode.Invalid, "DetailType: required")
	case e.Detail == "":
		return Event{}, errcode.New(errcode.Invalid, "Detail: required (a JSON object)")
	}
	if len(e.Source)+len(e.DetailType)+len(e.Detail) > maxEventSize {
		return Event{}, errcode.New(errcode.TooLarge, "entry is larger than 256 KiB")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(e.Detail), &obj); err != nil || obj == nil {
		return Event{}, errcode.New(errcode.Invalid, "Detail: not a JSON object")
	}
	t := now
	if e.Time != nil {
		t = *e.Time
	}
	res := e.Resources
	if res == nil {
		res = []string{}
	}
	return Event{
		Version:      "0",
		ID:           NewID(),
		DetailType:   e.DetailType,
		Source:       e.Source,
		Account:      DefaultAccount,
		Time:         t.UTC().Truncate(time.Second),
		Region:       DefaultRegion,
		Resources:    res,
		Detail:       json.RawMessage(e.Detail),
		EventBusName: e.EventBusName,
	}, nil
}
