package workflow

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Service integrations the engine performs itself, in the style of Step
// Functions' optimised integrations. Register them into the engine's
// Resources with RegisterIntegrations once the engine is open.

// Integration resources.
const (
	ResourceHTTPInvoke     = "arn:aws:states:::http:invoke"
	ResourceStartExecution = "arn:aws:states:::states:startExecution"
	ResourceSQSSend        = "arn:aws:states:::sqs:sendMessage"
	ResourcePutEvents      = "arn:aws:states:::events:putEvents"
	ResourceS3GetObject    = "arn:aws:states:::aws-sdk:s3:getObject"
	ResourceS3PutObject    = "arn:aws:states:::aws-sdk:s3:putObject"
)

// HTTPConnection is what an EventBridge connection gives an HTTP Task:
// credentials and parameters added to every request, kept in the
// configuration and never in a state's input or history.
type HTTPConnection struct {
	// Headers and Query are added to the request (an API key header, a
	// bearer Authorization header); the state's own may not override them.
	Headers map[string]string
	Query   map[string]string
	// Username and Password, when set, are sent as basic authentication.
	Username, Password string
}

// Integrations configures the integrations RegisterIntegrations adds.
type Integrations struct {
	// Connections are the HTTP Task's connections by name: a
	// ConnectionArn arn:aws:events:REGION:ACCOUNT:connection/NAME[/ID]
	// selects NAME.
	Connections map[string]HTTPConnection
	// HTTPClient sends HTTP Tasks (default: a client with a 60 s timeout).
	HTTPClient *http.Client
	// PutEvents puts events on Landfall's bus for a tenant's execution
	// (nil: events:putEvents is not served).
	PutEvents func(ctx context.Context, tenant string, entries []EventEntry) ([]EventResult, error)
	// Objects reads and writes Landfall's bucket for a tenant's execution
	// (nil: the aws-sdk:s3 integrations are not served).
	Objects Objects
}

// EventEntry is one entry of events:putEvents.
type EventEntry struct {
	Source       string   `json:"Source"`
	DetailType   string   `json:"DetailType"`
	Detail       string   `json:"Detail"`
	Resources    []string `json:"Resources,omitempty"`
	EventBusName string   `json:"EventBusName,omitempty"`
}

// EventResult is the result of one entry: an EventId or an error.
type EventResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// Objects is Landfall's bucket as the aws-sdk:s3 integrations see it:
// scoped to the execution's tenant by the implementation.
type Objects interface {
	// Get returns an object of at most max bytes (larger is an error).
	Get(ctx context.Context, tenant, bucket, key string, max int64) (body []byte, contentType, etag string, err error)
	Put(ctx context.Context, tenant, bucket, key string, body []byte, contentType string) (etag string, err error)
}

// RegisterIntegrations registers into res (the engine's Resources) the
// integrations the engine serves: HTTP Tasks, nested executions and
// SQS messages to the engine's own queues always; events and the bucket
// when in configures them.
func (e *Engine) RegisterIntegrations(res *Resources, in Integrations) {
	if in.HTTPClient == nil {
		in.HTTPClient = &http.Client{Timeout: 60 * time.Second}
	}
	res.Register(ResourceHTTPInvoke, InvokerFunc(func(ctx context.Context, inv Invocation) (json.RawMessage, error) {
		return httpInvoke(ctx, in, inv)
	}))
	res.Register(ResourceStartExecution, InvokerFunc(e.startExecutionTask))
	res.Register(ResourceSQSSend, InvokerFunc(e.sqsSendTask))
	if in.PutEvents != nil {
		res.Register(ResourcePutEvents, InvokerFunc(func(ctx context.Context, inv Invocation) (json.RawMessage, error) {
			return putEventsTask(ctx, in.PutEvents, inv)
		}))
	}
	if in.Objects != nil {
		res.Register(ResourceS3GetObject, InvokerFunc(func(ctx context.Context, inv Invocation) (json.RawMessage, error) {
			return s3GetTask(ctx, in.Objects, inv)
		}))
		res.Register(ResourceS3PutObject, InvokerFunc(func(ctx context.Context, inv Invocation) (json.RawMessage, error) {
			return s3PutTask(ctx, in.Objects, inv)
		}))
	}
}

func taskFail(name, format string, args ...any) error {
	return &TaskError{Name: name, Cause: fmt.Sprintf(format, args...)}
}

// paramsOf decodes a task's Parameters into v, failing the task with a
// message that names the field.
func paramsOf(inv Invocation, v any) error {
	dec := json.NewDecoder(bytes.NewReader(inv.Input))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return taskFail("States.Runtime", "%s: Parameters field %s: want %s, got JSON %s", inv.Resource, te.Field, te.Type, te.Value)
		}
		return taskFail("States.Runtime", "%s: Parameters: %v", inv.Resource, err)
	}
	return nil
}

// ---- HTTP Task ----

type httpParams struct {
	APIEndpoint    string `json:"ApiEndpoint"`
	Method         string `json:"Method"`
	Authentication *struct {
		ConnectionARN string `json:"ConnectionArn"`
	} `json:"Authentication"`
	Headers         map[string]any `json:"Headers"`
	QueryParameters map[string]any `json:"QueryParameters"`
	RequestBody     any            `json:"RequestBody"`
	Transform       *struct {
		RequestBodyEncoding string `json:"RequestBodyEncoding"`
	} `json:"Transform"`
}

// connectionName returns NAME of arn:aws:events:REGION:ACCOUNT:connection/NAME[/ID].
func connectionName(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "events" {
		return "", false
	}
	rest, ok := strings.CutPrefix(parts[5], "connection/")
	if !ok {
		return "", false
	}
	name, _, _ := strings.Cut(rest, "/")
	return name, name != ""
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// httpInvoke performs an HTTP Task. A response outside 2xx fails the task
// with States.Http.StatusCode.<code> (a state's Retry on it, or on
// States.TaskFailed, retries); a connection failure with
// States.Http.Socket.
func httpInvoke(ctx context.Context, in Integrations, inv Invocation) (json.RawMessage, error) {
	var p httpParams
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	u, err := url.Parse(p.APIEndpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, taskFail("States.Runtime", "http:invoke: ApiEndpoint %q is not an http or https URL", p.APIEndpoint)
	}
	method := strings.ToUpper(p.Method)
	switch method {
	case "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD":
	default:
		return nil, taskFail("States.Runtime", "http:invoke: Method %q: want GET, POST, PUT, DELETE, PATCH, OPTIONS or HEAD", p.Method)
	}
	if p.Authentication == nil || p.Authentication.ConnectionARN == "" {
		return nil, taskFail("States.Runtime", "http:invoke: Authentication.ConnectionArn is required: it names the configured connection whose credentials the request carries")
	}
	name, ok := connectionName(p.Authentication.ConnectionARN)
	if !ok {
		return nil, taskFail("States.Runtime", "http:invoke: Authentication.ConnectionArn %q is not a connection ARN (arn:aws:events:REGION:ACCOUNT:connection/NAME)", p.Authentication.ConnectionARN)
	}
	conn, ok := in.Connections[name]
	if !ok {
		names := make([]string, 0, len(in.Connections))
		for n := range in.Connections {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, taskFail("States.Runtime", "http:invoke: connection %q is not configured (configured: %s)", name, strings.Join(names, ", "))
	}
	q := u.Query()
	for k, v := range p.QueryParameters {
		q.Set(k, scalarString(v))
	}
	for k, v := range conn.Query {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	var body io.Reader
	contentType := ""
	if p.RequestBody != nil {
		encoding := "NONE"
		if p.Transform != nil && p.Transform.RequestBodyEncoding != "" {
			encoding = p.Transform.RequestBodyEncoding
		}
		switch encoding {
		case "NONE":
			if s, ok := p.RequestBody.(string); ok {
				body, contentType = strings.NewReader(s), "text/plain; charset=utf-8"
			} else {
				b, _ := json.Marshal(p.RequestBody)
				body, contentType = bytes.NewReader(b), "application/json"
			}
		case "URL_ENCODED":
			obj, ok := p.RequestBody.(map[string]any)
			if !ok {
				return nil, taskFail("States.Runtime", "http:invoke: URL_ENCODED needs RequestBody to be an object")
			}
			form := url.Values{}
			for k, v := range obj {
				if arr, ok := v.([]any); ok {
					for _, x := range arr {
						form.Add(k, scalarString(x))
					}
					continue
				}
				form.Set(k, scalarString(v))
			}
			body, contentType = strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"
		default:
			return nil, taskFail("States.Runtime", "http:invoke: Transform.RequestBodyEncoding %q: want NONE or URL_ENCODED", encoding)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, taskFail("States.Runtime", "http:invoke: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range p.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Authorization", "Proxy-Authorization", "Host", "Content-Length":
			return nil, taskFail("States.Runtime", "http:invoke: Headers.%s may not be set by the state: credentials come from the connection", k)
		}
		if _, ok := conn.Headers[http.CanonicalHeaderKey(k)]; ok {
			return nil, taskFail("States.Runtime", "http:invoke: Headers.%s is the connection's, and the state may not set it", k)
		}
		req.Header.Set(k, scalarString(v))
	}
	for k, v := range conn.Headers {
		req.Header.Set(k, v)
	}
	if conn.Username != "" || conn.Password != "" {
		req.SetBasicAuth(conn.Username, conn.Password)
	}
	req.Header.Set("User-Agent", "Landfall-StepFunctions-HTTP-Task")
	resp, err := in.HTTPClient.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, taskFail("States.Http.Socket", "http:invoke: %s %s: %v", method, redactURL(u), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxPayloadBytes+1))
	if err != nil {
		return nil, taskFail("States.Http.Socket", "http:invoke: reading the response of %s %s: %v", method, redactURL(u), err)
	}
	if len(raw) > MaxPayloadBytes {
		return nil, taskFail("States.DataLimitExceeded", "http:invoke: the response of %s %s is larger than %d bytes", method, redactURL(u), MaxPayloadBytes)
	}
	headers := map[string]any{}
	for k, vs := range resp.Header {
		if len(vs) == 1 {
			headers[k] = vs[0]
		} else {
			headers[k] = vs
		}
	}
	var respBody any = string(raw)
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && json.Valid(raw) {
		respBody = json.RawMessage(raw)
	}
	out := map[string]any{"Headers": headers, "ResponseBody": respBody, "StatusCode": resp.StatusCode,
		"StatusText": strings.TrimSpace(strings.TrimPrefix(resp.Status, fmt.Sprint(resp.StatusCode)))}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &TaskError{Name: fmt.Sprintf("States.Http.StatusCode.%d", resp.StatusCode), Cause: string(b)}
	}
	return b, nil
}

func redactURL(u *url.URL) string {
	c := *u
	c.User, c.RawQuery = nil, ""
	return c.String()
}

// ---- nested executions ----

type startParams struct {
	StateMachineARN string          `json:"StateMachineArn"`
	Input           json.RawMessage `json:"Input"`
	Name            string          `json:"Name"`
}

// startExecutionTask starts a child execution for the same tenant. With
// .sync (resource ...:startExecution) or .sync:2 (...:startExecution:2)
// the engine hands it the resource without ".sync" and the task waits for
// the child; .sync returns its input and output as JSON text, .sync:2 as
// JSON. A child that does not succeed fails the task with
// States.TaskFailed and the child's description as the cause.
func (e *Engine) startExecutionTask(ctx context.Context, inv Invocation) (json.RawMessage, error) {
	var p startParams
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	mode := strings.TrimPrefix(inv.Resource, ResourceStartExecution)
	sync := inv.Sync
	if p.StateMachineARN == "" {
		return nil, taskFail("States.Runtime", "states:startExecution: StateMachineArn is required")
	}
	input := p.Input
	if len(bytes.TrimSpace(input)) == 0 || string(bytes.TrimSpace(input)) == "null" {
		input = json.RawMessage("{}")
	} else if input[0] == '"' {
		// Input given as JSON text, as the SDK's StartExecution takes it.
		var s string
		if err := json.Unmarshal(input, &s); err != nil {
			return nil, taskFail("States.Runtime", "states:startExecution: Input: %v", err)
		}
		input = json.RawMessage(s)
	}
	name := p.Name
	if name == "" {
		// A delivery repeated after a worker died starts no second child.
		sum := sha256.Sum256([]byte(inv.IdempotencyKey))
		name = hex.EncodeToString(sum[:16])
	}
	x, err := e.StartExecution(ctx, StartExecutionParams{StateMachineARN: p.StateMachineARN, Name: name, Input: input, Tenant: inv.Tenant,
		parentToken: inv.syncToken})
	if err != nil {
		code := errcode.Of(err)
		switch code {
		case errcode.NotFound:
			return nil, taskFail("StepFunctions.StateMachineDoesNotExistException", "%s", errcode.MessageOf(err))
		case errcode.AlreadyExists:
			return nil, taskFail("StepFunctions.ExecutionAlreadyExistsException", "%s", errcode.MessageOf(err))
		case errcode.Invalid, errcode.TooLarge:
			return nil, taskFail("StepFunctions.InvalidExecutionInputException", "%s", errcode.MessageOf(err))
		case errcode.ResourceExhausted:
			return nil, taskFail("StepFunctions.ExecutionLimitExceededException", "%s", errcode.MessageOf(err))
		}
		return nil, err
	}
	if !sync {
		return json.Marshal(map[string]any{"ExecutionArn": x.ARN, "StartDate": x.StartDate.UTC().Format(time.RFC3339Nano)})
	}
	if x.Status == StatusRunning && inv.syncToken != "" {
		// The task waits for the child without a worker: the child's end
		// completes it (syncDone).
		return nil, errParked
	}
	for x.Status == StatusRunning {
		// A caller outside the engine's workers (TestState) waits here.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		x, err = e.WaitExecution(wctx, x.ARN)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil && x == nil {
			return nil, err
		}
		if inv.Heartbeat != nil {
			if err := inv.Heartbeat(ctx); err != nil {
				return nil, err
			}
		}
	}
	return syncResult(x, mode)
}

// syncResult is the result of a .sync (mode "") or .sync:2 (mode ":2")
// states:startExecution task whose child x ended: a description of the
// child, with its input and output as JSON text (.sync) or JSON (.sync:2).
// A child that did not succeed fails the task with States.TaskFailed and
// the description as the cause.
func syncResult(x *Execution, mode string) (json.RawMessage, error) {
	out := map[string]any{"ExecutionArn": x.ARN, "StateMachineArn": x.StateMachineARN, "Name": x.Name, "Status": x.Status,
		"StartDate": x.StartDate.UTC().Format(time.RFC3339Nano)}
	if x.StopDate != nil {
		out["StopDate"] = x.StopDate.UTC().Format(time.RFC3339Nano)
	}
	if mode == ":2" {
		out["Input"] = json.RawMessage(x.Input)
		if x.Output != nil {
			out["Output"] = json.RawMessage(x.Output)
		}
	} else {
		out["Input"] = string(x.Input)
		out["InputDetails"] = map[string]bool{"Included": true}
		if x.Output != nil {
			out["Output"] = string(x.Output)
			out["OutputDetails"] = map[string]bool{"Included": true}
		}
	}
	if x.Error != "" {
		out["Error"] = x.Error
	}
	if x.Cause != "" {
		out["Cause"] = x.Cause
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if x.Status != StatusSucceeded {
		return nil, &TaskError{Name: "States.TaskFailed", Cause: string(b)}
	}
	return b, nil
}

// ---- events ----

func putEventsTask(ctx context.Context, put func(context.Context, string, []EventEntry) ([]EventResult, error), inv Invocation) (json.RawMessage, error) {
	var p struct {
		Entries []struct {
			Source       string   `json:"Source"`
			DetailType   string   `json:"DetailType"`
			Detail       any      `json:"Detail"`
			Resources    []string `json:"Resources"`
			EventBusName string   `json:"EventBusName"`
		} `json:"Entries"`
	}
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	if len(p.Entries) == 0 || len(p.Entries) > 10 {
		return nil, taskFail("EventBridge.ValidationException", "events:putEvents: Entries: between 1 and 10 entries, got %d", len(p.Entries))
	}
	entries := make([]EventEntry, len(p.Entries))
	for i, en := range p.Entries {
		detail := ""
		switch d := en.Detail.(type) {
		case string:
			detail = d
		case nil:
			detail = "{}"
		default:
			b, _ := json.Marshal(d)
			detail = string(b)
		}
		if inv.Tenant != "" && (strings.HasPrefix(en.Source, "aws.") || strings.HasPrefix(en.Source, "landfall")) {
			return nil, taskFail("EventBridge.AccessDeniedException", "events:putEvents: Entries/%d/Source %q: a tenant's execution may not put events of Landfall's or AWS's sources", i, en.Source)
		}
		entries[i] = EventEntry{Source: en.Source, DetailType: en.DetailType, Detail: detail, Resources: en.Resources, EventBusName: en.EventBusName}
	}
	res, err := put(ctx, inv.Tenant, entries)
	if err != nil {
		return nil, err
	}
	failed := 0
	for _, r := range res {
		if r.ErrorCode != "" {
			failed++
		}
	}
	return json.Marshal(map[string]any{"Entries": res, "FailedEntryCount": failed})
}

// ---- bucket ----

func s3GetTask(ctx context.Context, objs Objects, inv Invocation) (json.RawMessage, error) {
	var p struct {
		Bucket string `json:"Bucket"`
		Key    string `json:"Key"`
	}
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	if p.Bucket == "" || p.Key == "" {
		return nil, taskFail("S3.InvalidRequestException", "aws-sdk:s3:getObject: Bucket and Key are required")
	}
	body, ct, etag, err := objs.Get(ctx, inv.Tenant, p.Bucket, p.Key, MaxPayloadBytes-1024)
	if err != nil {
		return nil, s3Err("getObject", err)
	}
	return json.Marshal(map[string]any{"Body": string(body), "ContentLength": len(body), "ContentType": ct, "ETag": etag})
}

func s3PutTask(ctx context.Context, objs Objects, inv Invocation) (json.RawMessage, error) {
	var p struct {
		Bucket      string `json:"Bucket"`
		Key         string `json:"Key"`
		Body        any    `json:"Body"`
		ContentType string `json:"ContentType"`
	}
	if err := paramsOf(inv, &p); err != nil {
		return nil, err
	}
	if p.Bucket == "" || p.Key == "" {
		return nil, taskFail("S3.InvalidRequestException", "aws-sdk:s3:putObject: Bucket and Key are required")
	}
	var body []byte
	switch b := p.Body.(type) {
	case string:
		body = []byte(b)
	case nil:
	default:
		body, _ = json.Marshal(b)
		if p.ContentType == "" {
			p.ContentType = "application/json"
		}
	}
	etag, err := objs.Put(ctx, inv.Tenant, p.Bucket, p.Key, body, p.ContentType)
	if err != nil {
		return nil, s3Err("putObject", err)
	}
	return json.Marshal(map[string]any{"ETag": etag})
}

func s3Err(op string, err error) error {
	var te *TaskError
	if errors.As(err, &te) {
		return err
	}
	switch errcode.Of(err) {
	case errcode.NotFound:
		return taskFail("S3.NoSuchKeyException", "aws-sdk:s3:%s: %s", op, errcode.MessageOf(err))
	case errcode.PermissionDenied:
		return taskFail("S3.AccessDeniedException", "aws-sdk:s3:%s: %s", op, errcode.MessageOf(err))
	case errcode.Invalid, errcode.TooLarge:
		return taskFail("S3.InvalidRequestException", "aws-sdk:s3:%s: %s", op, errcode.MessageOf(err))
	}
	return err
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
