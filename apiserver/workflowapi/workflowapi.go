// Package workflowapi is Landfall's REST API for state machines,
// executions, task tokens and activities over a workflow.Engine:
//
//	POST   /v1/state-machines                 create (400 lists located definition errors)
//	GET    /v1/state-machines                 list
//	GET    /v1/state-machines/{name}          describe (name or ARN)
//	PUT    /v1/state-machines/{name}          update the definition
//	DELETE /v1/state-machines/{name}          delete
//	POST   /v1/executions                     start (idempotent by name)
//	GET    /v1/executions                     list: stateMachine, status, correlationId, tenant, startedAfter, startedBefore, limit, nextToken
//	GET    /v1/executions/{arn}               describe
//	POST   /v1/executions/{arn}/stop          stop
//	GET    /v1/executions/{arn}/history       history: reverse, limit, nextToken
//	POST   /v1/executions/{arn}/redrive       redrive a failed execution
//	POST   /v1/tasks/success|failure|heartbeat  settle a .waitForTaskToken or activity task
//	POST   /v1/activities                     create an activity
//	GET    /v1/activities                     list
//	GET    /v1/activities/{name}/tasks        long-poll for a task (204 when none arrives): workerName, wait
//
// Every request must carry an identity.Principal in its context (the
// server's authentication puts it there); without one the API refuses.
// State machines and activities are the installation's: admins change
// them, tenants list and describe them and start executions for their own
// tenant. A tenant sees, stops, redrives and settles the tasks of its own
// executions only; another tenant's are 404 like missing ones.
//
// Errors are RFC 9457 problem details (application/problem+json) with a
// stable code.
package workflowapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// maxBody bounds a request body (definitions are at most 1 MiB in Step
// Functions; inputs 256 KiB).
const maxBody = 2 << 20

// Prefixes are the path prefixes Handler serves, for mounting it on a
// larger mux.
var Prefixes = []string{"/v1/state-machines", "/v1/state-machines/", "/v1/executions", "/v1/executions/", "/v1/tasks/", "/v1/activities", "/v1/activities/"}

// Handler serves the API for an engine.
type Handler struct {
	e   *workflow.Engine
	mux *http.ServeMux
	// MaxPoll bounds the long poll of activity tasks (default 60s).
	MaxPoll time.Duration
	routes  []string
}

// New returns the API handler of e.
func New(e *workflow.Engine) *Handler {
	h := &Handler{e: e, mux: http.NewServeMux(), MaxPoll: 60 * time.Second}
	m := routeRecorder{h}
	m.HandleFunc("POST /v1/state-machines", h.createStateMachine)
	m.HandleFunc("GET /v1/state-machines", h.listStateMachines)
	m.HandleFunc("GET /v1/state-machines/{name}", h.describeStateMachine)
	m.HandleFunc("PUT /v1/state-machines/{name}", h.updateStateMachine)
	m.HandleFunc("DELETE /v1/state-machines/{name}", h.deleteStateMachine)
	m.HandleFunc("POST /v1/executions", h.startExecution)
	m.HandleFunc("GET /v1/executions", h.listExecutions)
	m.HandleFunc("GET /v1/executions/{arn}", h.describeExecution)
	m.HandleFunc("POST /v1/executions/{arn}/stop", h.stopExecution)
	m.HandleFunc("GET /v1/executions/{arn}/history", h.history)
	m.HandleFunc("POST /v1/executions/{arn}/redrive", h.redrive)
	m.HandleFunc("POST /v1/tasks/{action}", h.task)
	m.HandleFunc("POST /v1/activities", h.createActivity)
	m.HandleFunc("GET /v1/activities", h.listActivities)
	m.HandleFunc("GET /v1/activities/{name}/tasks", h.activityTask)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, errcode.New(errcode.NotFound, "no route for %s %s", r.Method, r.URL.Path))
	})
	return h
}

// Mounts returns the handler under each of its prefixes.
func (h *Handler) Mounts() map[string]http.Handler {
	m := map[string]http.Handler{}
	for _, p := range Prefixes {
		m[p] = h
	}
	return m
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Problem is an RFC 9457 problem details document. Errors lists the
// located problems of an invalid definition.
type Problem struct {
	Type     string            `json:"type"`
	Title    string            `json:"title"`
	Status   int               `json:"status"`
	Detail   string            `json:"detail,omitempty"`
	Instance string            `json:"instance,omitempty"`
	Code     string            `json:"code"`
	Errors   []DefinitionError `json:"errors,omitempty"`
}

// DefinitionError is one located problem of a definition.
type DefinitionError struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	// Statuses, types and the hiding of internal details are the API's
	// own (apiserver.ProblemOf); this API adds located definition errors.
	base := apiserver.ProblemOf(r, err)
	p := Problem{Type: base.Type, Title: base.Title, Status: base.Status, Detail: base.Detail, Instance: base.Instance, Code: base.Code}
	for _, ve := range workflow.DefinitionErrors(err) {
		p.Errors = append(p.Errors, DefinitionError{Pointer: ve.Pointer, Code: ve.Code, Message: ve.Message})
	}
	if len(p.Errors) > 0 {
		p.Detail = "invalid state machine definition"
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON body strictly: unknown fields are errors naming the
// field.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errcode.New(errcode.TooLarge, "request body: more than %d bytes", maxBody)
		}
		return errcode.Wrap(errcode.Invalid, err, "request body")
	}
	return DecodeBody(body, v)
}

// DecodeBody decodes one JSON object into v, rejecting unknown fields and
// trailing data with an error that names the offset or field.
func DecodeBody(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return errcode.New(errcode.Invalid, "request body: invalid JSON at offset %d: %v", se.Offset, se)
		case errors.As(err, &te):
			return errcode.New(errcode.Invalid, "request body: /%s: want %s, got JSON %s", strings.ReplaceAll(te.Field, ".", "/"), te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return errcode.New(errcode.Invalid, "request body: empty, want a JSON object")
		}
		return errcode.New(errcode.Invalid, "request body: %v", err)
	}
	if dec.More() {
		return errcode.New(errcode.Invalid, "request body: unexpected data after the JSON object")
	}
	return nil
}

// definitionText accepts a definition given as a JSON string (the Step
// Functions way) or as a JSON object.
func definitionText(raw json.RawMessage) (string, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return "", errcode.New(errcode.Invalid, "request body: /definition is required")
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", errcode.Wrap(errcode.Invalid, err, "/definition")
		}
		return s, nil
	}
	return string(raw), nil
}

type createStateMachineRequest struct {
	Name       string          `json:"name"`
	Definition json.RawMessage `json:"definition"`
	Type       string          `json:"type"`
	RoleARN    string          `json:"roleArn"`
}

func (h *Handler) createStateMachine(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		writeProblem(w, r, err)
		return
	}
	var req createStateMachineRequest
	if err := decode(r, &req); err != nil {
		writeProblem(w, r, err)
		return
	}
	def, err := definitionText(req.Definition)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	sm, err := h.e.CreateStateMachine(r.Context(), workflow.CreateStateMachineParams{Name: req.Name, Definition: def, Type: req.Type, RoleARN: req.RoleARN})
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, sm)
}

func (h *Handler) updateStateMachine(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		writeProblem(w, r, err)
		return
	}
	var req struct {
		Definition json.RawMessage `json:"definition"`
		RoleARN    string          `json:"roleArn"`
	}
	if err := decode(r, &req); err != nil {
		writeProblem(w, r, err)
		return
	}
	def, err := definitionText(req.Definition)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	sm, err := h.e.DescribeStateMachine(r.Context(), r.PathValue("name"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	sm, err = h.e.UpdateStateMachine(r.Context(), sm.ARN, def, req.RoleARN)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sm)
}

func (h *Handler) listStateMachines(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Read(); err != nil {
		writeProblem(w, r, err)
		return
	}
	sms, err := h.e.ListStateMachines(r.Context())
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if sms == nil {
		sms = []workflow.StateMachine{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"stateMachines": sms})
}

func (h *Handler) describeStateMachine(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Read(); err != nil {
		writeProblem(w, r, err)
		return
	}
	sm, err := h.e.DescribeStateMachine(r.Context(), r.PathValue("name"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sm)
}

func (h *Handler) deleteStateMachine(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		writeProblem(w, r, err)
		return
	}
	sm, err := h.e.DescribeStateMachine(r.Context(), r.PathValue("name"))
	if err == nil {
		err = h.e.DeleteStateMachine(r.Context(), sm.ARN)
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// StartExecutionRequest is the body of POST /v1/executions.
type StartExecutionRequest struct {
	// StateMachine is a state machine name or ARN.
	StateMachine   string          `json:"stateMachine"`
	Name           string          `json:"name,omitempty"`
	Input          json.RawMessage `json:"input,omitempty"`
	CorrelationID  string          `json:"correlationId,omitempty"`
	TimeoutSeconds int             `json:"timeoutSeconds,omitempty"`
	// Tenant names the tenant the execution runs for. A tenant key may
	// only name its own (the default); an admin may name any, and without
	// one starts installation work.
	Tenant string `json:"tenant,omitempty"`
}

func (h *Handler) startExecution(w http.ResponseWriter, r *http.Request) {
	var req StartExecutionRequest
	if err := decode(r, &req); err != nil {
		writeProblem(w, r, err)
		return
	}
	if req.StateMachine == "" {
		writeProblem(w, r, errcode.New(errcode.Invalid, "request body: /stateMachine is required"))
		return
	}
	tenant, err := workflow.AccessOf(r.Context()).StartTenant(req.Tenant)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	x, err := h.e.StartExecution(r.Context(), workflow.StartExecutionParams{StateMachineARN: req.StateMachine, Name: req.Name,
		Input: req.Input, CorrelationID: req.CorrelationID, TimeoutSeconds: req.TimeoutSeconds, Tenant: tenant})
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/executions/"+x.ARN)
	writeJSON(w, http.StatusCreated, x)
}

func queryTime(q string, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, errcode.New(errcode.Invalid, "query %s=%q: want an RFC 3339 time", q, v)
	}
	return t, nil
}

func queryInt(q string, v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errcode.New(errcode.Invalid, "query %s=%q: want a non-negative integer", q, v)
	}
	return n, nil
}

func (h *Handler) listExecutions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := workflow.ListExecutionsParams{Status: q.Get("status"), CorrelationID: q.Get("correlationId"), NextToken: q.Get("nextToken")}
	var err error
	if p.Tenant, err = workflow.AccessOf(r.Context()).ListTenant(q.Get("tenant")); err != nil {
		writeProblem(w, r, err)
		return
	}
	if sm := q.Get("stateMachine"); sm != "" {
		var desc *workflow.StateMachine
		if desc, err = h.e.DescribeStateMachine(r.Context(), sm); err != nil {
			writeProblem(w, r, err)
			return
		}
		p.StateMachineARN = desc.ARN
	}
	if p.StartedAfter, err = queryTime("startedAfter", q.Get("startedAfter")); err == nil {
		if p.StartedBefore, err = queryTime("startedBefore", q.Get("startedBefore")); err == nil {
			p.Limit, err = queryInt("limit", q.Get("limit"))
		}
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	xs, next, err := h.e.ListExecutions(r.Context(), p)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if xs == nil {
		xs = []workflow.Execution{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"executions": xs, "nextToken": next})
}

func (h *Handler) describeExecution(w http.ResponseWriter, r *http.Request) {
	x, err := h.e.Authorize(r.Context(), workflow.AccessOf(r.Context()), r.PathValue("arn"), false)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (h *Handler) stopExecution(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Error string `json:"error"`
		Cause string `json:"cause"`
	}
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			writeProblem(w, r, err)
			return
		}
	}
	if _, err := h.e.Authorize(r.Context(), workflow.AccessOf(r.Context()), r.PathValue("arn"), true); err != nil {
		writeProblem(w, r, err)
		return
	}
	x, err := h.e.StopExecution(r.Context(), r.PathValue("arn"), req.Error, req.Cause)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (h *Handler) redrive(w http.ResponseWriter, r *http.Request) {
	if _, err := h.e.Authorize(r.Context(), workflow.AccessOf(r.Context()), r.PathValue("arn"), true); err != nil {
		writeProblem(w, r, err)
		return
	}
	x, err := h.e.RedriveExecution(r.Context(), r.PathValue("arn"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, x)
}

func (h *Handler) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := queryInt("limit", q.Get("limit"))
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	reverse := false
	if v := q.Get("reverse"); v != "" {
		if reverse, err = strconv.ParseBool(v); err != nil {
			writeProblem(w, r, errcode.New(errcode.Invalid, "query reverse=%q: want true or false", v))
			return
		}
	}
	if _, err := h.e.Authorize(r.Context(), workflow.AccessOf(r.Context()), r.PathValue("arn"), false); err != nil {
		writeProblem(w, r, err)
		return
	}
	events, next, err := h.e.History(r.Context(), r.PathValue("arn"), workflow.HistoryParams{Reverse: reverse, Limit: limit, NextToken: q.Get("nextToken")})
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if events == nil {
		events = []workflow.HistoryEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "nextToken": next})
}

// TaskRequest is the body of POST /v1/tasks/{success,failure,heartbeat}.
type TaskRequest struct {
	TaskToken string          `json:"taskToken"`
	Output    json.RawMessage `json:"output,omitempty"`
	Error     string          `json:"error,omitempty"`
	Cause     string          `json:"cause,omitempty"`
}

func (h *Handler) task(w http.ResponseWriter, r *http.Request) {
	var req TaskRequest
	if err := decode(r, &req); err != nil {
		writeProblem(w, r, err)
		return
	}
	if req.TaskToken == "" {
		writeProblem(w, r, errcode.New(errcode.Invalid, "request body: /taskToken is required"))
		return
	}
	switch action := r.PathValue("action"); action {
	case "success", "failure", "heartbeat":
	default:
		writeProblem(w, r, errcode.New(errcode.NotFound, "no task action %q (want success, failure or heartbeat)", action))
		return
	}
	if err := h.e.AuthorizeTask(r.Context(), workflow.AccessOf(r.Context()), req.TaskToken); err != nil {
		writeProblem(w, r, err)
		return
	}
	var err error
	switch r.PathValue("action") {
	case "success":
		if len(req.Output) == 0 {
			writeProblem(w, r, errcode.New(errcode.Invalid, "request body: /output is required"))
			return
		}
		err = h.e.SendTaskSuccess(r.Context(), req.TaskToken, req.Output)
	case "failure":
		err = h.e.SendTaskFailure(r.Context(), req.TaskToken, req.Error, req.Cause)
	case "heartbeat":
		err = h.e.SendTaskHeartbeat(r.Context(), req.TaskToken)
	default:
		err = errcode.New(errcode.NotFound, "no task action %q (want success, failure or heartbeat)", r.PathValue("action"))
	}
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) createActivity(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		writeProblem(w, r, err)
		return
	}
	var req struct {
		Name string `json:"name"`
	}
	if err := decode(r, &req); err != nil {
		writeProblem(w, r, err)
		return
	}
	a, err := h.e.CreateActivity(r.Context(), req.Name)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

func (h *Handler) listActivities(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Read(); err != nil {
		writeProblem(w, r, err)
		return
	}
	as, err := h.e.ListActivities(r.Context())
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if as == nil {
		as = []workflow.Activity{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"activities": as})
}

func (h *Handler) activityTask(w http.ResponseWriter, r *http.Request) {
	if err := workflow.AccessOf(r.Context()).Administer(); err != nil {
		writeProblem(w, r, err)
		return
	}
	q := r.URL.Query()
	wait := h.MaxPoll
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			writeProblem(w, r, errcode.New(errcode.Invalid, "query wait=%q: want a duration such as 20s", v))
			return
		}
		wait = min(d, h.MaxPoll)
	}
	worker := q.Get("workerName")
	if worker == "" {
		worker = r.RemoteAddr
	}
	task, err := h.e.GetActivityTask(r.Context(), r.PathValue("name"), worker, wait)
	if err != nil {
		writeProblem(w, r, err)
		return
	}
	if task.Token == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, task)
}
