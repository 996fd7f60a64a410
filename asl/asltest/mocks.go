// Package asltest holds test doubles for the asl runner: scripted task
// mocks in the format of the States Language conformance suite, and an
// in-memory bucket for Map ItemReaders.
package asltest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/expr"
)

// Mock is the scripted behaviour of one task resource or Lambda function.
//
//   - identity: returns the task's input (the Lambda event); DelaySeconds
//     sleeps on the execution clock first.
//   - constant: returns Value.
//   - constant_repeat: returns a string of Count copies of Char.
//   - raise: fails with error name Error and a Lambda-style JSON cause
//     carrying ErrorMessage.
//   - sequence: uses Responses one per invocation, in order, the last
//     repeating; each is {"output": v}, {"identity": true} or
//     {"error": name, "cause": text}.
type Mock struct {
	Behavior     string  `json:"behavior"`
	Kind         string  `json:"kind,omitempty"`
	Value        any     `json:"value,omitempty"`
	Char         string  `json:"char,omitempty"`
	Count        int     `json:"count,omitempty"`
	Error        string  `json:"error,omitempty"`
	ErrorMessage string  `json:"errorMessage,omitempty"`
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
	// HeartbeatEverySeconds makes a delayed mock send a heartbeat at this
	// interval while it sleeps.
	HeartbeatEverySeconds float64        `json:"heartbeat_every_seconds,omitempty"`
	Responses             []MockResponse `json:"responses,omitempty"`
	Description           string         `json:"description,omitempty"`
}

// MockResponse is one step of a sequence mock.
type MockResponse struct {
	Output       any     `json:"output,omitempty"`
	HasOutput    bool    `json:"-"`
	Identity     bool    `json:"identity,omitempty"`
	Error        *string `json:"error,omitempty"`
	Cause        *string `json:"cause,omitempty"`
	DelaySeconds float64 `json:"delay_seconds,omitempty"`
}

// Mocks is a TaskHandler that answers from scripted mocks keyed by the
// Task's Resource or, for arn:aws:states:::lambda:invoke, by the
// FunctionName argument.
type Mocks struct {
	mocks map[string]*Mock
	mu    sync.Mutex
	calls map[string]int
}

var behaviors = map[string]bool{"identity": true, "constant": true, "constant_repeat": true, "raise": true, "sequence": true}

// ParseMocks reads a mock file: a JSON object from resource (or function
// name) to Mock. Errors name the offending key and field.
func ParseMocks(data []byte) (*Mocks, error) {
	v, err := expr.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("mocks: not valid JSON: %v", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("mocks: must be a JSON object from resource to behaviour, not %s", expr.TypeName(v))
	}
	ms := &Mocks{mocks: map[string]*Mock{}, calls: map[string]int{}}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ptr := "/" + strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
		raw, _ := json.Marshal(top[k])
		var m Mock
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("mocks %s: %v", ptr, err)
		}
		if !behaviors[m.Behavior] {
			return nil, fmt.Errorf("mocks %s/behavior: unknown behaviour %q (want identity, constant, constant_repeat, raise or sequence)", ptr, m.Behavior)
		}
		obj, _ := top[k].(map[string]any)
		if m.Behavior == "constant" {
			m.Value = obj["value"]
		}
		if m.Behavior == "sequence" {
			arr, ok := obj["responses"].([]any)
			if !ok || len(arr) == 0 {
				return nil, fmt.Errorf("mocks %s/responses: a sequence needs a non-empty array of responses", ptr)
			}
			for i, r := range arr {
				ro, ok := r.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("mocks %s/responses/%d: must be an object", ptr, i)
				}
				out, hasOut := ro["output"]
				m.Responses[i].Output, m.Responses[i].HasOutput = out, hasOut
				n := 0
				if hasOut {
					n++
				}
				if m.Responses[i].Identity {
					n++
				}
				if m.Responses[i].Error != nil {
					n++
				}
				if n != 1 {
					return nil, fmt.Errorf("mocks %s/responses/%d: needs exactly one of output, identity or error", ptr, i)
				}
			}
		}
		ms.mocks[k] = &m
	}
	return ms, nil
}

// RunTask implements asl.TaskHandler.
func (ms *Mocks) RunTask(ctx context.Context, req *asl.TaskRequest) (any, error) {
	key := req.Resource
	event := req.Input
	invoke := strings.HasPrefix(req.Resource, "arn:aws:states:::lambda:invoke")
	if invoke {
		in, _ := req.Input.(map[string]any)
		fn, _ := in["FunctionName"].(string)
		if fn == "" {
			return nil, &asl.TaskError{Name: "States.TaskFailed", Cause: "lambda:invoke needs a FunctionName argument"}
		}
		key = fn
		event = lambdaEvent(in["Payload"])
	}
	m := ms.lookup(key)
	if m == nil {
		return nil, &asl.TaskError{Name: "States.TaskFailed", Cause: fmt.Sprintf("no mock for resource %q", key)}
	}
	ms.mu.Lock()
	n := ms.calls[key]
	ms.calls[key] = n + 1
	ms.mu.Unlock()
	var payload any
	delay := m.DelaySeconds
	switch m.Behavior {
	case "identity":
		payload = event
	case "constant":
		payload = m.Value
	case "constant_repeat":
		payload = strings.Repeat(m.Char, m.Count)
	case "raise":
		if err := m.sleep(ctx, req, delay); err != nil {
			return nil, err
		}
		return nil, &asl.TaskError{Name: m.Error, Cause: lambdaCause(m.Error, m.ErrorMessage)}
	case "sequence":
		r := m.Responses[min(n, len(m.Responses)-1)]
		delay = r.DelaySeconds
		switch {
		case r.Error != nil:
			if err := m.sleep(ctx, req, delay); err != nil {
				return nil, err
			}
			cause := ""
			if r.Cause != nil {
				cause = *r.Cause
			}
			return nil, &asl.TaskError{Name: *r.Error, Cause: cause}
		case r.Identity:
			payload = event
		default:
			payload = r.Output
		}
	}
	if err := m.sleep(ctx, req, delay); err != nil {
		return nil, err
	}
	if invoke {
		return map[string]any{
			"ExecutedVersion": "$LATEST",
			"Payload":         payload,
			"SdkHttpMetadata": map[string]any{
				"HttpHeaders":    map[string]any{},
				"HttpStatusCode": json.Number("200"),
			},
			"SdkResponseMetadata": map[string]any{"RequestId": "00000000-0000-0000-0000-000000000000"},
			"StatusCode":          json.Number("200"),
		}, nil
	}
	return payload, nil
}

func (ms *Mocks) lookup(key string) *Mock {
	if m, ok := ms.mocks[key]; ok {
		return m
	}
	// A Lambda function may be named by ARN in one place and by name in
	// another.
	name := key
	if i := strings.LastIndex(key, ":function:"); i >= 0 {
		name = key[i+len(":function:"):]
	}
	for k, m := range ms.mocks {
		kn := k
		if i := strings.LastIndex(k, ":function:"); i >= 0 {
			kn = k[i+len(":function:"):]
		}
		if kn == name {
			return m
		}
	}
	return nil
}

// lambdaEvent is the event a Lambda function receives for a
// lambda:invoke Payload: a string is sent as raw bytes, so one holding JSON
// arrives decoded; no payload is an empty object.
func lambdaEvent(p any) any {
	switch t := p.(type) {
	case nil:
		return map[string]any{}
	case string:
		if v, err := expr.Decode([]byte(t)); err == nil {
			return v
		}
	}
	return p
}

// Calls returns how many times the mock for key ran.
func (ms *Mocks) Calls(key string) int {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.calls[key]
}

// sleep waits secs on the execution clock, heartbeating as configured.
func (m *Mock) sleep(ctx context.Context, req *asl.TaskRequest, secs float64) error {
	if secs <= 0 || req.Clock == nil {
		return nil
	}
	total := time.Duration(secs * float64(time.Second))
	every := time.Duration(m.HeartbeatEverySeconds * float64(time.Second))
	if every <= 0 || req.Heartbeat == nil {
		return req.Clock.Sleep(ctx, total)
	}
	for total > 0 {
		d := min(every, total)
		if err := req.Clock.Sleep(ctx, d); err != nil {
			return err
		}
		total -= d
		req.Heartbeat()
	}
	return nil
}

func lambdaCause(errType, msg string) string {
	b, _ := expr.Marshal(map[string]any{
		"errorMessage": msg,
		"errorType":    errType,
		"requestId":    "00000000-0000-0000-0000-000000000000",
		"stackTrace":   []any{},
	})
	return string(b)
}

// Bucket is an in-memory asl.ItemReader and asl.ResultWriter: objects by
// bucket and key.
type Bucket struct {
	Objects map[string]string // "bucket/key" -> body
}

// Put stores an object.
func (b *Bucket) Put(bucket, key, body string) {
	if b.Objects == nil {
		b.Objects = map[string]string{}
	}
	b.Objects[bucket+"/"+key] = body
}

// WriteResults implements asl.ResultWriter: the files are stored in the
// bucket.
func (b *Bucket) WriteResults(_ context.Context, w *asl.ResultWrite) (any, error) {
	bucket, files, details, err := w.Files()
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b.Put(bucket, f.Key, string(f.Body))
	}
	return details, nil
}

// OpenItems implements asl.ItemReader: s3:getObject readers get the object
// named by the Bucket and Key parameters; s3:listObjectsV2 readers get a
// JSON array describing the objects under Prefix, in key order.
func (b *Bucket) OpenItems(_ context.Context, read *asl.ItemRead) (io.ReadCloser, error) {
	p, _ := read.Parameters.(map[string]any)
	bucket, _ := p["Bucket"].(string)
	if strings.HasSuffix(read.Resource, ":listObjectsV2") {
		prefix, _ := p["Prefix"].(string)
		var keys []string
		for k := range b.Objects {
			if name, ok := strings.CutPrefix(k, bucket+"/"); ok && strings.HasPrefix(name, prefix) {
				keys = append(keys, name)
			}
		}
		sort.Strings(keys)
		list := make([]any, len(keys))
		for i, k := range keys {
			list[i] = map[string]any{"Key": k, "Size": json.Number(fmt.Sprint(len(b.Objects[bucket+"/"+k])))}
		}
		body, err := expr.Marshal(list)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(body)), nil
	}
	key, _ := p["Key"].(string)
	body, ok := b.Objects[bucket+"/"+key]
	if !ok {
		return nil, &asl.TaskError{Name: "S3.NoSuchKey", Cause: fmt.Sprintf("no object %q in bucket %q", key, bucket)}
	}
	return io.NopCloser(strings.NewReader(body)), nil
}
