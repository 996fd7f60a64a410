// Package sqsapi serves the Amazon SQS JSON protocol (POST / with
// X-Amz-Target: AmazonSQS.<Action>, application/x-amz-json-1.0) over the
// workflow engine's message queues, so that a worker using an AWS SDK
// takes the messages of sqs:sendMessage tasks, including the task tokens
// of .waitForTaskToken callbacks, and settles them through the Step
// Functions protocol.
//
// Supported actions: CreateQueue, GetQueueUrl, GetQueueAttributes,
// SendMessage, ReceiveMessage (long polling up to 20 s, visibility
// timeouts), DeleteMessage, ChangeMessageVisibility. Others answer
// UnsupportedOperation. Queues are the installation's: every action
// needs an administrator's principal (as polling activities does).
package sqsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

const (
	targetPrefix = "AmazonSQS."
	contentType  = "application/x-amz-json-1.0"
	maxBody      = 1 << 20
)

// Handler serves the SQS protocol for an engine, and hands requests of
// any other X-Amz-Target to Next.
type Handler struct {
	e    *workflow.Engine
	Next http.Handler
	// Logger records internal errors (default: discarded).
	Logger *slog.Logger
}

// New returns the protocol handler of e in front of next (the Step
// Functions protocol on the same endpoint).
func New(e *workflow.Engine, next http.Handler) *Handler {
	return &Handler{e: e, Next: next, Logger: slog.New(slog.DiscardHandler)}
}

type apiError struct {
	Type, Query, Message string
	Status               int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func fail(typ, query string, format string, args ...any) *apiError {
	return &apiError{Type: typ, Query: query, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

type action func(h *Handler, ctx context.Context, body []byte) (any, error)

var actions = map[string]action{
	"CreateQueue":             (*Handler).createQueue,
	"GetQueueUrl":             (*Handler).getQueueURL,
	"GetQueueAttributes":      (*Handler).getQueueAttributes,
	"SendMessage":             (*Handler).sendMessage,
	"ReceiveMessage":          (*Handler).receiveMessage,
	"DeleteMessage":           (*Handler).deleteMessage,
	"ChangeMessageVisibility": (*Handler).changeVisibility,
}

// Actions lists the SQS actions the handler serves, sorted.
func Actions() []string { return slices.Sorted(maps.Keys(actions)) }

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		if h.Next == nil {
			writeError(w, fail("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "X-Amz-Target %q: want AmazonSQS.<Action>", target))
			return
		}
		h.Next.ServeHTTP(w, r)
		return
	}
	out, err := h.serve(r, name)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) && h.Logger != nil {
			h.Logger.Error("sqs request failed", "target", target, "err", err)
		}
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(out)
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{Type: "InternalError", Query: "InternalError", Message: "an internal error occurred; the server's log has the details", Status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", contentType)
	if ae.Query != "" {
		fault := "Sender"
		if ae.Status >= 500 {
			fault = "Receiver"
		}
		w.Header().Set("X-Amzn-Query-Error", ae.Query+";"+fault)
	}
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": "com.amazonaws.sqs#" + ae.Type, "message": ae.Message})
}

func (h *Handler) serve(r *http.Request, name string) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{Type: "UnsupportedOperation", Query: "AWS.SimpleQueueService.UnsupportedOperation", Message: "the SQS protocol takes POST", Status: http.StatusMethodNotAllowed}
	}
	act, ok := actions[name]
	if !ok {
		return nil, fail("UnsupportedOperation", "AWS.SimpleQueueService.UnsupportedOperation", "operation %s is not supported", name)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, fail("InvalidParameterValue", "InvalidParameterValue", "request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		switch errcode.Of(err) {
		case errcode.Unauthenticated:
			return nil, &apiError{Type: "InvalidClientTokenId", Query: "InvalidClientTokenId", Message: errcode.MessageOf(err), Status: http.StatusForbidden}
		default:
			return nil, &apiError{Type: "AccessDenied", Query: "AccessDenied", Message: errcode.MessageOf(err), Status: http.StatusForbidden}
		}
	}
	return act(h, r.Context(), body)
}

func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fail("InvalidParameterValue", "InvalidParameterValue", "member %s: want %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return fail("InvalidParameterValue", "InvalidParameterValue", "request body is not a JSON object: %v", err)
	}
	return nil
}

// mapErr gives an engine error SQS's shape.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	msg := errcode.MessageOf(err)
	switch {
	case errors.Is(err, workflow.ErrQueueDoesNotExist):
		return fail("QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue", "%s", msg)
	case errors.Is(err, workflow.ErrReceiptInvalid):
		if strings.Contains(msg, "not in flight") {
			return fail("MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight", "%s", msg)
		}
		return fail("ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid", "%s", msg)
	}
	switch errcode.Of(err) {
	case errcode.AlreadyExists:
		return fail("QueueNameExists", "QueueAlreadyExists", "%s", msg)
	case errcode.Invalid, errcode.TooLarge:
		return fail("InvalidParameterValue", "InvalidParameterValue", "%s", msg)
	}
	return err
}

func (h *Handler) createQueue(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueName  string            `json:"QueueName"`
		Attributes map[string]string `json:"Attributes"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	u, err := h.e.CreateQueue(ctx, req.QueueName, req.Attributes)
	if err != nil {
		return nil, mapErr(err)
	}
	return map[string]string{"QueueUrl": u}, nil
}

func (h *Handler) getQueueURL(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueName string `json:"QueueName"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	u, err := h.e.GetQueueURL(ctx, req.QueueName)
	if err != nil {
		return nil, mapErr(err)
	}
	return map[string]string{"QueueUrl": u}, nil
}

func (h *Handler) getQueueAttributes(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueURL       string   `json:"QueueUrl"`
		AttributeNames []string `json:"AttributeNames"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	attrs, err := h.e.QueueAttributes(ctx, req.QueueURL)
	if err != nil {
		return nil, mapErr(err)
	}
	out := map[string]string{}
	for k, v := range attrs {
		if slices.Contains(req.AttributeNames, "All") || slices.Contains(req.AttributeNames, k) {
			out[k] = v
		}
	}
	return map[string]any{"Attributes": out}, nil
}

func (h *Handler) sendMessage(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueURL          string          `json:"QueueUrl"`
		MessageBody       string          `json:"MessageBody"`
		DelaySeconds      *int            `json:"DelaySeconds"`
		MessageAttributes json.RawMessage `json:"MessageAttributes"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if len(req.MessageAttributes) > 0 && string(req.MessageAttributes) != "null" && string(req.MessageAttributes) != "{}" {
		return nil, fail("InvalidParameterValue", "InvalidParameterValue", "MessageAttributes are not supported: put what the worker needs in the body")
	}
	delay := -1
	if req.DelaySeconds != nil {
		delay = *req.DelaySeconds
	}
	id, sum, err := h.e.SendMessage(ctx, workflow.SendMessageParams{QueueURL: req.QueueURL, Body: req.MessageBody, DelaySeconds: delay})
	if err != nil {
		return nil, mapErr(err)
	}
	return map[string]string{"MessageId": id, "MD5OfMessageBody": sum}, nil
}

func (h *Handler) receiveMessage(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueURL                    string   `json:"QueueUrl"`
		MaxNumberOfMessages         int      `json:"MaxNumberOfMessages"`
		VisibilityTimeout           *int     `json:"VisibilityTimeout"`
		WaitTimeSeconds             *int     `json:"WaitTimeSeconds"`
		AttributeNames              []string `json:"AttributeNames"`
		MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	p := workflow.ReceiveParams{QueueURL: req.QueueURL, Max: req.MaxNumberOfMessages, VisibilityTimeout: -1, WaitSeconds: -1}
	if req.VisibilityTimeout != nil {
		p.VisibilityTimeout = *req.VisibilityTimeout
	}
	if req.WaitTimeSeconds != nil {
		p.WaitSeconds = *req.WaitTimeSeconds
	}
	msgs, err := h.e.ReceiveMessages(ctx, p)
	if err != nil {
		return nil, mapErr(err)
	}
	names := append(req.AttributeNames, req.MessageSystemAttributeNames...)
	out := make([]map[string]any, 0, len(msgs))
	for _, m := range msgs {
		item := map[string]any{"MessageId": m.ID, "ReceiptHandle": m.ReceiptHandle, "MD5OfBody": m.MD5OfBody, "Body": m.Body}
		attrs := map[string]string{}
		for k, v := range m.Attributes {
			if slices.Contains(names, "All") || slices.Contains(names, k) {
				attrs[k] = v
			}
		}
		if len(attrs) > 0 {
			item["Attributes"] = attrs
		}
		out = append(out, item)
	}
	if len(out) == 0 {
		return struct{}{}, nil
	}
	return map[string]any{"Messages": out}, nil
}

func (h *Handler) deleteMessage(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueURL      string `json:"QueueUrl"`
		ReceiptHandle string `json:"ReceiptHandle"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, mapErr(h.e.DeleteMessage(ctx, req.QueueURL, req.ReceiptHandle))
}

func (h *Handler) changeVisibility(ctx context.Context, body []byte) (any, error) {
	var req struct {
		QueueURL          string `json:"QueueUrl"`
		ReceiptHandle     string `json:"ReceiptHandle"`
		VisibilityTimeout int    `json:"VisibilityTimeout"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return struct{}{}, mapErr(h.e.ChangeMessageVisibility(ctx, req.QueueURL, req.ReceiptHandle, req.VisibilityTimeout))
}
