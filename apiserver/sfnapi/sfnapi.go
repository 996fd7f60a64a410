// Package sfnapi serves the AWS Step Functions JSON protocol (POST / with
// X-Amz-Target: AWSStepFunctions.<Action>, application/x-amz-json-1.0) over
// a workflow.Engine, so the AWS SDKs and CLI drive Landfall given an
// endpoint URL. Errors have Step Functions' shapes ({"__type", "message"})
// and names (StateMachineDoesNotExist, ExecutionAlreadyExists,
// InvalidDefinition, TaskTimedOut, …).
//
// Supported actions: CreateStateMachine, UpdateStateMachine,
// DescribeStateMachine, ListStateMachines, DeleteStateMachine,
// StartExecution, StartSyncExecution, DescribeExecution, ListExecutions,
// GetExecutionHistory, StopExecution, RedriveExecution, SendTaskSuccess,
// SendTaskFailure, SendTaskHeartbeat, CreateActivity, DescribeActivity,
// ListActivities, DeleteActivity, GetActivityTask. Others answer
// UnknownOperationException.
//
// The handler authorizes, it does not authenticate: every request must
// carry an identity.Principal in its context (the server's authentication
// puts it there), and a request without one is refused. State machines
// and activities are the installation's (admins create, update and delete
// them; admins and operators poll activity tasks and settle the tasks they
// hold); tenants describe and list them and start
// executions that run for their own tenant; a tenant sees, stops,
// redrives and settles task tokens of its own executions only, and
// another tenant's are ExecutionDoesNotExist like missing ones.
package sfnapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow"
)

const (
	targetPrefix = "AWSStepFunctions."
	contentType  = "application/x-amz-json-1.0"
	maxBody      = 2 << 20
)

// Handler serves the protocol for an engine.
type Handler struct {
	e *workflow.Engine
	// MaxPoll bounds GetActivityTask's long poll (default 60s, as AWS).
	MaxPoll time.Duration
	// MaxSync bounds StartSyncExecution (default 5 minutes, as AWS).
	MaxSync time.Duration
	// Logger records internal errors, which callers only see as
	// ServiceException (default: discarded).
	Logger *slog.Logger
}

// New returns the protocol handler of e.
func New(e *workflow.Engine) *Handler {
	return &Handler{e: e, MaxPoll: 60 * time.Second, MaxSync: 5 * time.Minute, Logger: slog.New(slog.DiscardHandler)}
}

// apiError is an error in the protocol's shape.
type apiError struct {
	Type    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func fail(typ string, format string, args ...any) *apiError {
	return &apiError{Type: typ, Message: fmt.Sprintf(format, args...), Status: http.StatusBadRequest}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out, err := h.serve(r)
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) && h.Logger != nil {
			h.Logger.Error("step functions request failed", "target", r.Header.Get("X-Amz-Target"), "err", err)
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
		// An error without a protocol shape is the server's own fault; its
		// text (a database driver's, a file path) is not the caller's
		// business.
		ae = &apiError{Type: "ServiceException", Message: "an internal error occurred; the server's log has the details", Status: http.StatusInternalServerError}
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Amzn-Errortype", ae.Type)
	w.WriteHeader(ae.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": ae.Type, "message": ae.Message})
}

// workerActions are what an activity worker with an operator key does.
var workerActions = map[string]bool{"GetActivityTask": true, "SendTaskHeartbeat": true, "SendTaskSuccess": true, "SendTaskFailure": true}

type action func(h *Handler, ctx context.Context, body []byte) (any, error)

var actions = map[string]action{
	"CreateStateMachine":   (*Handler).createStateMachine,
	"UpdateStateMachine":   (*Handler).updateStateMachine,
	"DescribeStateMachine": (*Handler).describeStateMachine,
	"ListStateMachines":    (*Handler).listStateMachines,
	"DeleteStateMachine":   (*Handler).deleteStateMachine,
	"StartExecution":       (*Handler).startExecution,
	"StartSyncExecution":   (*Handler).startSyncExecution,
	"DescribeExecution":    (*Handler).describeExecution,
	"ListExecutions":       (*Handler).listExecutions,
	"GetExecutionHistory":  (*Handler).getExecutionHistory,
	"StopExecution":        (*Handler).stopExecution,
	"RedriveExecution":     (*Handler).redriveExecution,
	"SendTaskSuccess":      (*Handler).sendTaskSuccess,
	"SendTaskFailure":      (*Handler).sendTaskFailure,
	"SendTaskHeartbeat":    (*Handler).sendTaskHeartbeat,
	"CreateActivity":       (*Handler).createActivity,
	"DescribeActivity":     (*Handler).describeActivity,
	"ListActivities":       (*Handler).listActivities,
	"DeleteActivity":       (*Handler).deleteActivity,
	"GetActivityTask":      (*Handler).getActivityTask,

	"ValidateStateMachineDefinition":   (*Handler).validateDefinition,
	"TagResource":                      (*Handler).tagResource,
	"UntagResource":                    (*Handler).untagResource,
	"ListTagsForResource":              (*Handler).listTags,
	"DescribeStateMachineForExecution": (*Handler).describeForExecution,
	"PublishStateMachineVersion":       (*Handler).publishVersion,
	"ListStateMachineVersions":         (*Handler).listVersions,
	"DeleteStateMachineVersion":        (*Handler).deleteVersion,
	"CreateStateMachineAlias":          (*Handler).createAlias,
	"DescribeStateMachineAlias":        (*Handler).describeAlias,
	"UpdateStateMachineAlias":          (*Handler).updateAlias,
	"ListStateMachineAliases":          (*Handler).listAliases,
	"DeleteStateMachineAlias":          (*Handler).deleteAlias,
	"TestState":                        (*Handler).testState,
	"ListMapRuns":                      (*Handler).listMapRuns,
	"DescribeMapRun":                   (*Handler).describeMapRun,
}

func (h *Handler) serve(r *http.Request) (any, error) {
	if r.Method != http.MethodPost {
		return nil, &apiError{Type: "UnknownOperationException", Message: "the Step Functions protocol takes POST", Status: http.StatusMethodNotAllowed}
	}
	target := r.Header.Get("X-Amz-Target")
	name, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return nil, fail("UnknownOperationException", "X-Amz-Target %q: want AWSStepFunctions.<Action>", target)
	}
	act, ok := actions[name]
	if !ok {
		return nil, fail("UnknownOperationException", "operation %s is not supported", name)
	}
	if p, ok := identity.FromContext(r.Context()); ok && p.Role == identity.RoleOperator && !workerActions[name] {
		return nil, fail("AccessDeniedException", "%s: operator keys poll activity tasks and settle the running ones (GetActivityTask, SendTaskHeartbeat, SendTaskSuccess, SendTaskFailure) only", name)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, fail("ValidationException", "request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	return act(h, r.Context(), body)
}

// decode reads a request. Unknown members are ignored, as AWS does, so
// newer SDKs keep working.
func decode(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fail("ValidationException", "member %s: want %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return fail("SerializationException", "request body is not a JSON object: %v", err)
	}
	return nil
}

// epoch is a timestamp as the JSON protocol writes it (seconds).
type epoch time.Time

func (t epoch) MarshalJSON() ([]byte, error) {
	s := float64(time.Time(t).UnixMilli()) / 1000
	return []byte(fmt.Sprintf("%.3f", s)), nil
}

func ep(t time.Time) *epoch {
	if t.IsZero() {
		return nil
	}
	e := epoch(t)
	return &e
}

func epp(t *time.Time) *epoch {
	if t == nil {
		return nil
	}
	return ep(*t)
}

// mapErr turns an engine error into the protocol's error for an action.
// notFound names the missing thing's error type.
func mapErr(err error, notFound string, invalid string) error {
	if err == nil {
		return nil
	}
	var ae *apiError
	if errors.As(err, &ae) {
		return err
	}
	msg := errcode.MessageOf(err)
	switch errcode.Of(err) {
	case errcode.NotFound:
		if notFound != "" {
			return fail(notFound, "%s", msg)
		}
		return fail("ResourceNotFound", "%s", msg)
	case errcode.Invalid, errcode.TooLarge:
		if strings.Contains(msg, " name ") {
			return fail("InvalidName", "%s", msg)
		}
		if invalid != "" {
			return fail(invalid, "%s", msg)
		}
		return fail("ValidationException", "%s", msg)
	case errcode.AlreadyExists:
		return fail("ConflictException", "%s", msg)
	case errcode.PermissionDenied:
		return fail("AccessDeniedException", "%s", msg)
	case errcode.ResourceExhausted:
		return fail("ExecutionLimitExceeded", "%s", msg)
	case errcode.Unauthenticated:
		return &apiError{Type: "UnrecognizedClientException", Message: msg, Status: http.StatusForbidden}
	case errcode.FailedPrecond:
		return fail("ValidationException", "%s", msg)
	}
	return err
}

func arnKind(arn, kind string) error {
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":"+kind+":") {
		return fail("InvalidArn", "Invalid Arn: '%s'", arn)
	}
	if i := strings.IndexFunc(arn, func(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }); i >= 0 {
		return fail("InvalidArn", "Invalid Arn: %q: character %q at byte %d is not allowed", arn, arn[i:i+1], i)
	}
	return nil
}

// ---- state machines ----

type stateMachineOut struct {
	StateMachineARN string `json:"stateMachineArn"`
	Name            string `json:"name"`
	Status          string `json:"status,omitempty"`
	Definition      string `json:"definition,omitempty"`
	RoleARN         string `json:"roleArn,omitempty"`
	Type            string `json:"type"`
	CreationDate    *epoch `json:"creationDate"`
	RevisionID      string `json:"revisionId,omitempty"`
}

func (h *Handler) createStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Name               string          `json:"name"`
		Definition         string          `json:"definition"`
		RoleARN            string          `json:"roleArn"`
		Type               string          `json:"type"`
		Logging            json.RawMessage `json:"loggingConfiguration"`
		Tracing            json.RawMessage `json:"tracingConfiguration"`
		Tags               []tag           `json:"tags"`
		Publish            bool            `json:"publish"`
		VersionDescription string          `json:"versionDescription"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Administer(); err != nil {
		return nil, mapErr(err, "", "")
	}
	if req.Type != "" && req.Type != "STANDARD" && req.Type != "EXPRESS" {
		return nil, fail("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]", req.Type)
	}
	tags, err := tagMap(req.Tags)
	if err != nil {
		return nil, err
	}
	sm, v, err := h.e.CreateStateMachineVersion(ctx, workflow.CreateStateMachineParams{Name: req.Name, Definition: req.Definition, RoleARN: req.RoleARN,
		Type: req.Type, Logging: configDoc(req.Logging), Tracing: configDoc(req.Tracing), Tags: tags, Publish: req.Publish,
		VersionDescription: req.VersionDescription})
	if err != nil {
		if errcode.Of(err) == errcode.AlreadyExists {
			return nil, fail("StateMachineAlreadyExists", "%s", errcode.MessageOf(err))
		}
		return nil, definitionErr(err, "")
	}
	out := map[string]any{"stateMachineArn": sm.ARN, "creationDate": ep(sm.CreatedAt)}
	if v != nil {
		out["stateMachineVersionArn"] = v.ARN
	}
	return out, nil
}

// definitionErr maps the errors of creating or updating a machine.
func definitionErr(err error, notFound string) error {
	if ve := workflow.DefinitionErrors(err); len(ve) > 0 {
		return fail("InvalidDefinition", "Invalid State Machine Definition: '%s'", definitionMessage(ve))
	}
	msg := errcode.MessageOf(err)
	switch {
	case errcode.Of(err) == errcode.Invalid && strings.HasPrefix(msg, "roleArn"):
		return fail("InvalidArn", "%s", msg)
	case errcode.Of(err) == errcode.Invalid && strings.HasPrefix(msg, "loggingConfiguration"):
		return fail("InvalidLoggingConfiguration", "%s", msg)
	case errcode.Of(err) == errcode.Invalid && strings.HasPrefix(msg, "tracingConfiguration"):
		return fail("InvalidTracingConfiguration", "%s", msg)
	case errcode.Of(err) == errcode.Invalid && (strings.HasPrefix(msg, "tag") || strings.HasPrefix(msg, "versionDescription")):
		return fail("ValidationException", "%s", msg)
	case errcode.Of(err) == errcode.Invalid && strings.HasPrefix(msg, "nothing to update"):
		return fail("MissingRequiredParameter", "%s", msg)
	case errcode.Of(err) == errcode.ResourceExhausted:
		return fail("ServiceQuotaExceededException", "%s", msg)
	}
	return mapErr(err, notFound, "InvalidDefinition")
}

// configDoc is a logging or tracing configuration as the engine keeps it.
func configDoc(raw json.RawMessage) string {
	t := strings.TrimSpace(string(raw))
	if t == "" || t == "null" {
		return ""
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return t
	}
	return buf.String()
}

func definitionMessage(ve asl.ValidationErrors) string {
	parts := make([]string, len(ve))
	for i, v := range ve {
		parts[i] = fmt.Sprintf("%s: %s at /%s", v.Code, v.Message, strings.TrimPrefix(v.Pointer, "/"))
	}
	return strings.Join(parts, ", ")
}

func (h *Handler) updateStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN    string          `json:"stateMachineArn"`
		Definition         string          `json:"definition"`
		RoleARN            string          `json:"roleArn"`
		Logging            json.RawMessage `json:"loggingConfiguration"`
		Tracing            json.RawMessage `json:"tracingConfiguration"`
		Publish            bool            `json:"publish"`
		VersionDescription string          `json:"versionDescription"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, administers); err != nil {
		return nil, err
	}
	sm, v, err := h.e.UpdateStateMachineWith(ctx, workflow.UpdateStateMachineParams{ARN: req.StateMachineARN, Definition: req.Definition, RoleARN: req.RoleARN,
		Logging: configDoc(req.Logging), Tracing: configDoc(req.Tracing), Publish: req.Publish, VersionDescription: req.VersionDescription})
	if err != nil {
		return nil, definitionErr(err, "StateMachineDoesNotExist")
	}
	out := map[string]any{"updateDate": ep(sm.UpdatedAt), "revisionId": fmt.Sprint(sm.Revision)}
	if v != nil {
		out["stateMachineVersionArn"] = v.ARN
	}
	return out, nil
}

func (h *Handler) describeStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, reads); err != nil {
		return nil, err
	}
	if workflow.IsAliasARN(req.StateMachineARN) {
		return nil, fail("ValidationException", "%s is an alias: describe it with DescribeStateMachineAlias", req.StateMachineARN)
	}
	sm, err := h.e.DescribeStateMachine(ctx, req.StateMachineARN)
	if err != nil {
		return nil, mapErr(err, "StateMachineDoesNotExist", "")
	}
	return describeOut(sm), nil
}

func describeOut(sm *workflow.StateMachine) map[string]any {
	out := map[string]any{"stateMachineArn": sm.ARN, "name": sm.Name, "status": "ACTIVE", "definition": sm.Definition, "roleArn": sm.RoleARN,
		"type": sm.Type, "creationDate": ep(sm.CreatedAt), "revisionId": fmt.Sprint(sm.Revision),
		"loggingConfiguration": rawDoc(sm.Logging, `{"level":"OFF","includeExecutionData":false}`),
		"tracingConfiguration": rawDoc(sm.Tracing, `{"enabled":false}`)}
	if sm.Description != "" {
		out["description"] = sm.Description
	}
	return out
}

func rawDoc(doc, def string) json.RawMessage {
	if doc == "" {
		doc = def
	}
	return json.RawMessage(doc)
}

func (h *Handler) listStateMachines(ctx context.Context, body []byte) (any, error) {
	var req struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Read(); err != nil {
		return nil, mapErr(err, "", "")
	}
	sms, err := h.e.ListStateMachines(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]stateMachineOut, 0, len(sms))
	for _, sm := range sms {
		items = append(items, stateMachineOut{StateMachineARN: sm.ARN, Name: sm.Name, Type: sm.Type, CreationDate: ep(sm.CreatedAt)})
	}
	page, next, err := pageSlice(items, req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachines": page, "nextToken": nullable(next)}, nil
}

// pageSlice pages an in-memory list with a numeric token.
func pageSlice[T any](items []T, max int, token string) ([]T, string, error) {
	start := 0
	if token != "" {
		if _, err := fmt.Sscanf(token, "%d", &start); err != nil || start < 0 || start > len(items) {
			return nil, "", fail("InvalidToken", "nextToken %q is not valid", token)
		}
	}
	if max <= 0 || max > 1000 {
		max = 100
	}
	end := min(start+max, len(items))
	next := ""
	if end < len(items) {
		next = fmt.Sprint(end)
	}
	return items[start:end], next, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func (h *Handler) deleteStateMachine(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, administers); err != nil {
		return nil, err
	}
	return struct{}{}, mapErr(h.e.DeleteStateMachine(ctx, req.StateMachineARN), "StateMachineDoesNotExist", "")
}

// ---- executions ----

type startRequest struct {
	StateMachineARN string  `json:"stateMachineArn"`
	Name            string  `json:"name"`
	Input           *string `json:"input"`
	TraceHeader     string  `json:"traceHeader"`
}

func (h *Handler) start(ctx context.Context, body []byte) (*workflow.Execution, error) {
	var req startRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := arnKind(req.StateMachineARN, "stateMachine"); err != nil {
		return nil, err
	}
	var input json.RawMessage
	if req.Input != nil {
		input = json.RawMessage(*req.Input)
	}
	tenant, err := workflow.AccessOf(ctx).StartTenant("")
	if err != nil {
		return nil, mapErr(err, "", "")
	}
	x, err := h.e.StartExecution(ctx, workflow.StartExecutionParams{StateMachineARN: req.StateMachineARN, Name: req.Name, Input: input, Tenant: tenant,
		RejectClosed: true})
	if err != nil {
		if errcode.Of(err) == errcode.AlreadyExists {
			return nil, fail("ExecutionAlreadyExists", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "StateMachineDoesNotExist", "InvalidExecutionInput")
	}
	return x, nil
}

func (h *Handler) startExecution(ctx context.Context, body []byte) (any, error) {
	x, err := h.start(ctx, body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"executionArn": x.ARN, "startDate": ep(x.StartDate)}, nil
}

func (h *Handler) startSyncExecution(ctx context.Context, body []byte) (any, error) {
	var req startRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, reads); err != nil {
		return nil, err
	}
	sm, err := h.e.DescribeStateMachine(ctx, req.StateMachineARN)
	if err != nil {
		return nil, mapErr(err, "StateMachineDoesNotExist", "")
	}
	if sm.Type != "EXPRESS" {
		return nil, fail("StateMachineTypeNotSupported", "This operation is not supported by this type of state machine: StartSyncExecution runs EXPRESS state machines, and %s is %s", sm.Name, sm.Type)
	}
	x, err := h.start(ctx, body)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, h.MaxSync)
	defer cancel()
	arn := x.ARN
	if x, err = h.e.WaitExecution(wctx, arn); err != nil && x == nil {
		if wctx.Err() == nil || ctx.Err() != nil {
			return nil, err
		}
		// The limit ran out while the wait was reading the execution:
		// read it once more, unhurried, and report it as it is.
		if x, err = h.e.DescribeExecution(ctx, arn); err != nil {
			return nil, err
		}
	}
	out := executionOut(x)
	if x.Status == workflow.StatusRunning {
		// Step Functions reports a sync execution past its limit as timed out.
		out["status"] = workflow.StatusTimedOut
	}
	out["billingDetails"] = map[string]any{"billedDurationInMilliseconds": 0, "billedMemoryUsedInMB": 0}
	return out, nil
}

func executionOut(x *workflow.Execution) map[string]any {
	out := map[string]any{
		"executionArn": x.ARN, "stateMachineArn": x.StateMachineARN, "name": x.Name, "status": x.Status,
		"startDate": ep(x.StartDate), "input": string(x.Input), "inputDetails": map[string]bool{"included": true},
		"redriveCount": x.RedriveCount,
	}
	if x.StopDate != nil {
		out["stopDate"] = epp(x.StopDate)
	}
	if x.Output != nil {
		out["output"] = string(x.Output)
		out["outputDetails"] = map[string]bool{"included": true}
	}
	if x.Error != "" {
		out["error"] = x.Error
	}
	if x.Cause != "" {
		out["cause"] = x.Cause
	}
	if x.RedriveDate != nil {
		out["redriveDate"] = epp(x.RedriveDate)
	}
	if x.VersionARN != "" {
		out["stateMachineVersionArn"] = x.VersionARN
	}
	if x.AliasARN != "" {
		out["stateMachineAliasArn"] = x.AliasARN
	}
	switch x.Status {
	case workflow.StatusFailed, workflow.StatusTimedOut, workflow.StatusAborted:
		out["redriveStatus"] = "REDRIVABLE"
	default:
		out["redriveStatus"] = "NOT_REDRIVABLE"
	}
	return out
}

type executionRequest struct {
	ExecutionARN string `json:"executionArn"`
}

func (h *Handler) describeExecution(ctx context.Context, body []byte) (any, error) {
	x, err := h.executionOf(ctx, body, false)
	if err != nil {
		return nil, err
	}
	out := executionOut(x)
	if x.CorrelationID != "" {
		out["traceHeader"] = x.CorrelationID
	}
	return out, nil
}

func (h *Handler) listExecutions(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
		MapRunARN       string `json:"mapRunArn"`
		StatusFilter    string `json:"statusFilter"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.MapRunARN != "" {
		if req.StateMachineARN != "" {
			return nil, fail("ValidationException", "give a stateMachineArn or a mapRunArn, not both")
		}
		return h.listMapRunExecutions(ctx, req.MapRunARN, req.StatusFilter, req.MaxResults, req.NextToken)
	}
	if req.StateMachineARN == "" {
		return nil, fail("ValidationException", "stateMachineArn or mapRunArn is required")
	}
	tenant, err := workflow.AccessOf(ctx).ListTenant("")
	if err != nil {
		return nil, mapErr(err, "", "")
	}
	if _, err := h.e.DescribeStateMachine(ctx, req.StateMachineARN); err != nil {
		return nil, mapErr(err, "StateMachineDoesNotExist", "")
	}
	limit := req.MaxResults
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	xs, next, err := h.e.ListExecutions(ctx, workflow.ListExecutionsParams{StateMachineARN: req.StateMachineARN, Status: req.StatusFilter, Limit: limit,
		NextToken: req.NextToken, Tenant: tenant})
	if err != nil {
		if errcode.Of(err) == errcode.Invalid && req.NextToken != "" {
			return nil, fail("InvalidToken", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "", "")
	}
	items := make([]map[string]any, 0, len(xs))
	for i := range xs {
		x := &xs[i]
		item := map[string]any{"executionArn": x.ARN, "stateMachineArn": x.StateMachineARN, "name": x.Name, "status": x.Status,
			"startDate": ep(x.StartDate), "redriveCount": x.RedriveCount}
		if x.StopDate != nil {
			item["stopDate"] = epp(x.StopDate)
		}
		if x.VersionARN != "" {
			item["stateMachineVersionArn"] = x.VersionARN
		}
		if x.AliasARN != "" {
			item["stateMachineAliasArn"] = x.AliasARN
		}
		items = append(items, item)
	}
	return map[string]any{"executions": items, "nextToken": nullable(next)}, nil
}

// listMapRunExecutions lists the child executions of a map run: one
// for each iteration of its distributed Map (or batch of items).
func (h *Handler) listMapRunExecutions(ctx context.Context, arn, status string, limit int, next string) (any, error) {
	if _, err := h.mapRun(ctx, arn); err != nil {
		return nil, err
	}
	xs, next, err := h.e.ListMapRunExecutions(ctx, arn, status, limit, next)
	if errcode.Of(err) == errcode.Invalid {
		return nil, fail("InvalidToken", "%s", errcode.MessageOf(err))
	}
	if err != nil {
		return nil, mapErr(err, "ResourceNotFound", "")
	}
	items := make([]map[string]any, 0, len(xs))
	for _, x := range xs {
		item := map[string]any{"executionArn": x.ARN, "stateMachineArn": x.StateMachineARN, "name": x.Name, "status": x.Status,
			"startDate": ep(x.StartDate), "mapRunArn": arn}
		if x.StopDate != nil {
			item["stopDate"] = epp(x.StopDate)
		}
		items = append(items, item)
	}
	return map[string]any{"executions": items, "nextToken": nullable(next)}, nil
}

func (h *Handler) getExecutionHistory(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionARN         string `json:"executionArn"`
		MaxResults           int    `json:"maxResults"`
		ReverseOrder         bool   `json:"reverseOrder"`
		NextToken            string `json:"nextToken"`
		IncludeExecutionData *bool  `json:"includeExecutionData"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if _, err := h.execution(ctx, req.ExecutionARN, false); err != nil {
		return nil, err
	}
	events, next, err := h.e.History(ctx, req.ExecutionARN, workflow.HistoryParams{Reverse: req.ReverseOrder, Limit: req.MaxResults, NextToken: req.NextToken})
	if err != nil {
		if errcode.Of(err) == errcode.Invalid {
			return nil, fail("InvalidToken", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "ExecutionDoesNotExist", "")
	}
	out := make([]map[string]any, 0, len(events))
	for _, ev := range events {
		m := map[string]any{"id": ev.ID, "previousEventId": ev.PreviousID, "type": ev.Type, "timestamp": ep(ev.Timestamp)}
		if field := workflow.EventDetailsField(ev.Type); field != "" && len(ev.Details) > 0 {
			m[field] = cleanDetails(ev.Details, req.IncludeExecutionData == nil || *req.IncludeExecutionData)
		}
		out = append(out, m)
	}
	return map[string]any{"events": out, "nextToken": nullable(next)}, nil
}

// cleanDetails drops null members (the SDKs want absent, not null) and,
// when data is not wanted, the input and output payloads.
func cleanDetails(raw json.RawMessage, data bool) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return map[string]any{}
	}
	for k, v := range m {
		if v == nil {
			delete(m, k)
		}
	}
	// Events with a payload say whether it was cut (never here: payloads
	// are bounded when written).
	if _, ok := m["input"]; ok && m["inputDetails"] == nil {
		m["inputDetails"] = map[string]bool{"truncated": false}
	}
	if _, ok := m["output"]; ok && m["outputDetails"] == nil {
		m["outputDetails"] = map[string]bool{"truncated": false}
	}
	if !data {
		delete(m, "input")
		delete(m, "output")
		delete(m, "parameters")
	}
	return m
}

func (h *Handler) stopExecution(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionARN string `json:"executionArn"`
		Error        string `json:"error"`
		Cause        string `json:"cause"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if _, err := h.execution(ctx, req.ExecutionARN, true); err != nil {
		return nil, err
	}
	x, err := h.e.StopExecution(ctx, req.ExecutionARN, req.Error, req.Cause)
	if err != nil {
		return nil, mapErr(err, "ExecutionDoesNotExist", "")
	}
	return map[string]any{"stopDate": epp(x.StopDate)}, nil
}

func (h *Handler) redriveExecution(ctx context.Context, body []byte) (any, error) {
	x, err := h.executionOf(ctx, body, true)
	if err != nil {
		return nil, err
	}
	x, err = h.e.RedriveExecution(ctx, x.ARN)
	if err != nil {
		if errcode.Of(err) == errcode.FailedPrecond {
			return nil, fail("ExecutionNotRedrivable", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "ExecutionDoesNotExist", "")
	}
	return map[string]any{"redriveDate": epp(x.RedriveDate)}, nil
}

// ---- tasks ----

func taskErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, workflow.ErrTaskDoesNotExist):
		return fail("TaskDoesNotExist", "%s", errcode.MessageOf(err))
	case errors.Is(err, workflow.ErrTaskTimedOut):
		return fail("TaskTimedOut", "%s", errcode.MessageOf(err))
	case errcode.Of(err) == errcode.FailedPrecond:
		return fail("InvalidToken", "%s", errcode.MessageOf(err))
	case errcode.Of(err) == errcode.Invalid && strings.HasPrefix(errcode.MessageOf(err), "task token"):
		return fail("InvalidToken", "%s", errcode.MessageOf(err))
	}
	return mapErr(err, "TaskDoesNotExist", "InvalidOutput")
}

func (h *Handler) sendTaskSuccess(ctx context.Context, body []byte) (any, error) {
	var req struct {
		TaskToken string `json:"taskToken"`
		Output    string `json:"output"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.TaskToken == "" {
		return nil, fail("InvalidToken", "taskToken is required")
	}
	if !workflow.WellFormedToken(req.TaskToken) {
		return nil, fail("InvalidToken", "Invalid Token: '%s': not a task token this server issued", clip(req.TaskToken))
	}
	if err := h.e.AuthorizeTask(ctx, workflow.AccessOf(ctx), req.TaskToken); err != nil {
		return nil, taskErr(err)
	}
	return struct{}{}, taskErr(h.e.SendTaskSuccess(ctx, req.TaskToken, json.RawMessage(req.Output)))
}

func (h *Handler) sendTaskFailure(ctx context.Context, body []byte) (any, error) {
	var req struct {
		TaskToken string `json:"taskToken"`
		Error     string `json:"error"`
		Cause     string `json:"cause"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.TaskToken == "" {
		return nil, fail("InvalidToken", "taskToken is required")
	}
	if !workflow.WellFormedToken(req.TaskToken) {
		return nil, fail("InvalidToken", "Invalid Token: '%s': not a task token this server issued", clip(req.TaskToken))
	}
	if err := h.e.AuthorizeTask(ctx, workflow.AccessOf(ctx), req.TaskToken); err != nil {
		return nil, taskErr(err)
	}
	return struct{}{}, taskErr(h.e.SendTaskFailure(ctx, req.TaskToken, req.Error, req.Cause))
}

func (h *Handler) sendTaskHeartbeat(ctx context.Context, body []byte) (any, error) {
	var req struct {
		TaskToken string `json:"taskToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if req.TaskToken == "" {
		return nil, fail("InvalidToken", "taskToken is required")
	}
	if !workflow.WellFormedToken(req.TaskToken) {
		return nil, fail("InvalidToken", "Invalid Token: '%s': not a task token this server issued", clip(req.TaskToken))
	}
	if err := h.e.AuthorizeTask(ctx, workflow.AccessOf(ctx), req.TaskToken); err != nil {
		return nil, taskErr(err)
	}
	return struct{}{}, taskErr(h.e.SendTaskHeartbeat(ctx, req.TaskToken))
}

// clip shortens a caller's text quoted back in an error.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strings.ToValidUTF8(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s), "?")
}

// ---- activities ----

func (h *Handler) createActivity(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Name string `json:"name"`
		Tags []tag  `json:"tags"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Administer(); err != nil {
		return nil, mapErr(err, "", "")
	}
	tags, err := tagMap(req.Tags)
	if err != nil {
		return nil, err
	}
	a, err := h.e.CreateActivity(ctx, req.Name)
	if err != nil {
		return nil, mapErr(err, "", "InvalidName")
	}
	if len(tags) > 0 {
		if err := h.e.TagResource(ctx, a.ARN, tags); err != nil {
			return nil, tagErr(err)
		}
	}
	return map[string]any{"activityArn": a.ARN, "creationDate": ep(a.CreatedAt)}, nil
}

func (h *Handler) findActivity(ctx context.Context, body []byte) (*workflow.Activity, error) {
	var req struct {
		ActivityARN string `json:"activityArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := activity(ctx, req.ActivityARN, reads); err != nil {
		return nil, err
	}
	as, err := h.e.ListActivities(ctx)
	if err != nil {
		return nil, err
	}
	for i := range as {
		if as[i].ARN == req.ActivityARN {
			return &as[i], nil
		}
	}
	return nil, fail("ActivityDoesNotExist", "Activity Does Not Exist: '%s'", req.ActivityARN)
}

func (h *Handler) describeActivity(ctx context.Context, body []byte) (any, error) {
	a, err := h.findActivity(ctx, body)
	if err != nil {
		return nil, err
	}
	return map[string]any{"activityArn": a.ARN, "name": a.Name, "creationDate": ep(a.CreatedAt)}, nil
}

func (h *Handler) listActivities(ctx context.Context, body []byte) (any, error) {
	var req struct {
		MaxResults int    `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Read(); err != nil {
		return nil, mapErr(err, "", "")
	}
	as, err := h.e.ListActivities(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]map[string]any, 0, len(as))
	for _, a := range as {
		items = append(items, map[string]any{"activityArn": a.ARN, "name": a.Name, "creationDate": ep(a.CreatedAt)})
	}
	page, next, err := pageSlice(items, req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	return map[string]any{"activities": page, "nextToken": nullable(next)}, nil
}

func (h *Handler) deleteActivity(ctx context.Context, body []byte) (any, error) {
	if err := workflow.AccessOf(ctx).Administer(); err != nil {
		return nil, mapErr(err, "", "")
	}
	a, err := h.findActivity(ctx, body)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) && ae.Type == "ActivityDoesNotExist" {
			return struct{}{}, nil // DeleteActivity is idempotent in AWS
		}
		return nil, err
	}
	return struct{}{}, h.e.DeleteActivity(ctx, a.ARN)
}

func (h *Handler) getActivityTask(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ActivityARN string `json:"activityArn"`
		WorkerName  string `json:"workerName"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := arnKind(req.ActivityARN, "activity"); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).PollActivities(); err != nil {
		return nil, mapErr(err, "", "")
	}
	task, err := h.e.GetActivityTask(ctx, req.ActivityARN, req.WorkerName, h.MaxPoll)
	if err != nil {
		return nil, mapErr(err, "ActivityDoesNotExist", "")
	}
	if task.Token == "" {
		return struct{}{}, nil
	}
	return map[string]any{"taskToken": task.Token, "input": string(task.Input)}, nil
}
