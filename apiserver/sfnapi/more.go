package sfnapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/workflow"
)

// ---- definitions ----

func (h *Handler) validateDefinition(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Definition string `json:"definition"`
		Type       string `json:"type"`
		Severity   string `json:"severity"`
		MaxResults int    `json:"maxResults"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Read(); err != nil {
		return nil, mapErr(err, "", "")
	}
	if req.Definition == "" {
		return nil, fail("ValidationException", "definition is required")
	}
	if req.Type != "" && req.Type != "STANDARD" && req.Type != "EXPRESS" {
		return nil, fail("ValidationException", "type %q: want STANDARD or EXPRESS", req.Type)
	}
	if req.MaxResults <= 0 || req.MaxResults > 100 {
		req.MaxResults = 100
	}
	err := h.e.ValidateDefinition(req.Definition, req.Type)
	diags := []map[string]any{}
	if err != nil {
		ve := workflow.DefinitionErrors(err)
		if len(ve) == 0 {
			ve = asl.ValidationErrors{{Code: "SCHEMA_VALIDATION_FAILED", Message: errcode.MessageOf(err)}}
		}
		for _, v := range ve {
			d := map[string]any{"severity": "ERROR", "code": v.Code, "message": v.Message}
			if v.Pointer != "" {
				d["location"] = v.Pointer
			}
			diags = append(diags, d)
		}
	}
	result := "OK"
	if len(diags) > 0 {
		result = "FAIL"
	}
	truncated := len(diags) > req.MaxResults
	if truncated {
		diags = diags[:req.MaxResults]
	}
	return map[string]any{"result": result, "diagnostics": diags, "truncated": truncated}, nil
}

func (h *Handler) describeForExecution(ctx context.Context, body []byte) (any, error) {
	x, err := h.executionOf(ctx, body, false)
	if err != nil {
		return nil, err
	}
	arn := x.ARN
	def, err := h.e.ExecutionDefinition(ctx, arn)
	if err != nil {
		return nil, mapErr(err, "ExecutionDoesNotExist", "")
	}
	out := map[string]any{"stateMachineArn": x.StateMachineARN, "definition": def, "updateDate": ep(x.StartDate)}
	name := x.StateMachineARN[strings.LastIndexByte(x.StateMachineARN, ':')+1:]
	out["name"] = name
	// The machine's current role and configuration (the definition is the
	// execution's own).
	if sm, err := h.e.DescribeStateMachine(ctx, x.StateMachineARN); err == nil {
		out["roleArn"] = sm.RoleARN
		out["loggingConfiguration"] = rawDoc(sm.Logging, `{"level":"OFF","includeExecutionData":false}`)
		out["tracingConfiguration"] = rawDoc(sm.Tracing, `{"enabled":false}`)
		if x.VersionARN == "" {
			out["revisionId"] = fmt.Sprint(sm.Revision)
		}
	}
	if x.VersionARN != "" {
		if v, err := h.e.DescribeVersion(ctx, x.VersionARN); err == nil {
			out["roleArn"] = v.RoleARN
			out["revisionId"] = fmt.Sprint(v.Revision)
		}
	}
	return out, nil
}

func (h *Handler) testState(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Definition      string `json:"definition"`
		RoleARN         string `json:"roleArn"`
		Input           string `json:"input"`
		InspectionLevel string `json:"inspectionLevel"`
		Variables       string `json:"variables"`
		StateName       string `json:"stateName"`
		Context         string `json:"context"`
		Mock            *struct {
			Result      *string `json:"result"`
			ErrorOutput *struct {
				Error string `json:"error"`
				Cause string `json:"cause"`
			} `json:"errorOutput"`
		} `json:"mock"`
		StateConfiguration *struct {
			RetrierRetryCount        int `json:"retrierRetryCount"`
			MapIterationFailureCount int `json:"mapIterationFailureCount"`
		} `json:"stateConfiguration"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	tenant, err := workflow.AccessOf(ctx).StartTenant("")
	if err != nil {
		return nil, mapErr(err, "", "")
	}
	if req.Definition == "" {
		return nil, fail("ValidationException", "definition is required")
	}
	tr := asl.TestStateRequest{Definition: []byte(req.Definition), StateName: req.StateName}
	if req.Input != "" {
		if err := json.Unmarshal([]byte(req.Input), &tr.Input); err != nil {
			return nil, fail("InvalidExecutionInput", "input is not JSON: %v", err)
		}
	}
	if req.Variables != "" {
		if err := json.Unmarshal([]byte(req.Variables), &tr.Variables); err != nil {
			return nil, fail("ValidationException", "variables is not a JSON object: %v", err)
		}
	}
	if req.Context != "" {
		if err := json.Unmarshal([]byte(req.Context), &tr.Context); err != nil {
			return nil, fail("ValidationException", "context is not a JSON object: %v", err)
		}
	}
	if m := req.Mock; m != nil {
		tr.Mock = &asl.TestStateMock{}
		switch {
		case m.Result != nil && m.ErrorOutput != nil:
			return nil, fail("ValidationException", "mock: give result or errorOutput, not both")
		case m.Result != nil:
			if err := json.Unmarshal([]byte(*m.Result), &tr.Mock.Result); err != nil {
				return nil, fail("ValidationException", "mock.result is not JSON: %v", err)
			}
			tr.Mock.HasResult = true
		case m.ErrorOutput != nil:
			tr.Mock.Error, tr.Mock.Cause = m.ErrorOutput.Error, m.ErrorOutput.Cause
		}
	}
	if c := req.StateConfiguration; c != nil {
		tr.RetrierRetryCount, tr.MapIterationFailureCount = c.RetrierRetryCount, c.MapIterationFailureCount
	}
	res, err := h.e.TestState(ctx, tr, tenant)
	if err != nil {
		var ve asl.ValidationErrors
		if errors.As(err, &ve) {
			return nil, fail("InvalidDefinition", "Invalid State Machine Definition: '%s'", definitionMessage(ve))
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fail("ValidationException", "%s", strings.TrimPrefix(err.Error(), "asl: "))
	}
	out := map[string]any{"status": res.Status}
	if res.Status == "SUCCEEDED" || res.Status == "CAUGHT_ERROR" {
		b, _ := json.Marshal(res.Output)
		out["output"] = string(b)
	}
	if res.Error != "" {
		out["error"] = res.Error
	}
	if res.Cause != "" {
		out["cause"] = res.Cause
	}
	if res.NextState != "" {
		out["nextState"] = res.NextState
	}
	if req.InspectionLevel == "DEBUG" || req.InspectionLevel == "TRACE" {
		insp := map[string]any{}
		for k, v := range res.Inspection {
			if s, ok := v.(string); ok {
				insp[k] = s
				continue
			}
			b, _ := json.Marshal(v)
			insp[k] = string(b)
		}
		out["inspectionData"] = insp
	}
	return out, nil
}

// ---- tags ----

type tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func tagMap(tags []tag) (map[string]string, error) {
	if len(tags) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(tags))
	for i, t := range tags {
		if t.Key == "" {
			return nil, fail("ValidationException", "tags/%d: key is required", i)
		}
		m[t.Key] = t.Value
	}
	return m, nil
}

func tagErr(err error) error {
	if errcode.Of(err) == errcode.ResourceExhausted {
		return fail("TooManyTags", "%s", errcode.MessageOf(err))
	}
	if errcode.Of(err) == errcode.NotFound {
		return fail("ResourceNotFound", "Resource not found: %s", errcode.MessageOf(err))
	}
	return mapErr(err, "ResourceNotFound", "")
}

func (h *Handler) tagResource(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ResourceARN string `json:"resourceArn"`
		Tags        []tag  `json:"tags"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := tagged(ctx, req.ResourceARN, administers); err != nil {
		return nil, err
	}
	tags, err := tagMap(req.Tags)
	if err != nil {
		return nil, err
	}
	return struct{}{}, tagErr(h.e.TagResource(ctx, req.ResourceARN, tags))
}

func (h *Handler) untagResource(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ResourceARN string   `json:"resourceArn"`
		TagKeys     []string `json:"tagKeys"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := tagged(ctx, req.ResourceARN, administers); err != nil {
		return nil, err
	}
	return struct{}{}, tagErr(h.e.UntagResource(ctx, req.ResourceARN, req.TagKeys))
}

func (h *Handler) listTags(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ResourceARN string `json:"resourceArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := tagged(ctx, req.ResourceARN, reads); err != nil {
		return nil, err
	}
	m, err := h.e.ListTags(ctx, req.ResourceARN)
	if err != nil {
		return nil, tagErr(err)
	}
	tags := make([]tag, 0, len(m))
	for k, v := range m {
		tags = append(tags, tag{Key: k, Value: v})
	}
	sortTags(tags)
	return map[string]any{"tags": tags}, nil
}

func sortTags(tags []tag) {
	for i := 1; i < len(tags); i++ {
		for j := i; j > 0 && tags[j].Key < tags[j-1].Key; j-- {
			tags[j], tags[j-1] = tags[j-1], tags[j]
		}
	}
}

// ---- versions ----

func versionOut(v *workflow.Version) map[string]any {
	return map[string]any{"stateMachineVersionArn": v.ARN, "creationDate": ep(v.CreatedAt)}
}

func (h *Handler) publishVersion(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
		RevisionID      string `json:"revisionId"`
		Description     string `json:"description"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, administers); err != nil {
		return nil, err
	}
	v, err := h.e.PublishVersion(ctx, req.StateMachineARN, req.RevisionID, req.Description)
	if err != nil {
		if errcode.Of(err) == errcode.ResourceExhausted {
			return nil, fail("ServiceQuotaExceededException", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "StateMachineDoesNotExist", "")
	}
	return versionOut(v), nil
}

func (h *Handler) listVersions(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, reads); err != nil {
		return nil, err
	}
	vs, err := h.e.ListVersions(ctx, req.StateMachineARN)
	if err != nil {
		return nil, mapErr(err, "StateMachineDoesNotExist", "")
	}
	items := make([]map[string]any, 0, len(vs))
	for i := range vs {
		items = append(items, versionOut(&vs[i]))
	}
	page, next, err := pageSlice(items, req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineVersions": page, "nextToken": nullable(next)}, nil
}

func (h *Handler) deleteVersion(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ARN string `json:"stateMachineVersionArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := version(ctx, req.ARN, administers); err != nil {
		return nil, err
	}
	if err := h.e.DeleteVersion(ctx, req.ARN); err != nil {
		if errcode.Of(err) == errcode.AlreadyExists {
			return nil, fail("ConflictException", "%s", errcode.MessageOf(err))
		}
		return nil, mapErr(err, "", "")
	}
	return struct{}{}, nil
}

// ---- aliases ----

type routingIn struct {
	VersionARN string `json:"stateMachineVersionArn"`
	Weight     int    `json:"weight"`
}

func routing(in []routingIn) []workflow.RoutingEntry {
	out := make([]workflow.RoutingEntry, len(in))
	for i, r := range in {
		out[i] = workflow.RoutingEntry{VersionARN: r.VersionARN, Weight: r.Weight}
	}
	return out
}

func aliasErr(err error) error {
	switch errcode.Of(err) {
	case errcode.AlreadyExists:
		return fail("ConflictException", "%s", errcode.MessageOf(err))
	case errcode.NotFound:
		return fail("ResourceNotFound", "%s", errcode.MessageOf(err))
	}
	return mapErr(err, "ResourceNotFound", "")
}

func (h *Handler) createAlias(ctx context.Context, body []byte) (any, error) {
	var req struct {
		Name        string      `json:"name"`
		Description string      `json:"description"`
		Routing     []routingIn `json:"routingConfiguration"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := workflow.AccessOf(ctx).Administer(); err != nil {
		return nil, mapErr(err, "", "")
	}
	a, err := h.e.CreateAlias(ctx, req.Name, req.Description, routing(req.Routing))
	if err != nil {
		return nil, aliasErr(err)
	}
	return map[string]any{"stateMachineAliasArn": a.ARN, "creationDate": ep(a.CreatedAt)}, nil
}

func (h *Handler) describeAlias(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ARN string `json:"stateMachineAliasArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := alias(ctx, req.ARN, reads); err != nil {
		return nil, err
	}
	a, err := h.e.DescribeAlias(ctx, req.ARN)
	if err != nil {
		return nil, aliasErr(err)
	}
	return map[string]any{"stateMachineAliasArn": a.ARN, "name": a.Name, "description": a.Description, "routingConfiguration": a.Routing,
		"creationDate": ep(a.CreatedAt), "updateDate": ep(a.UpdatedAt)}, nil
}

func (h *Handler) updateAlias(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ARN         string      `json:"stateMachineAliasArn"`
		Description *string     `json:"description"`
		Routing     []routingIn `json:"routingConfiguration"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := alias(ctx, req.ARN, administers); err != nil {
		return nil, err
	}
	if req.Description == nil && len(req.Routing) == 0 {
		return nil, fail("ValidationException", "give a description or a routingConfiguration to update")
	}
	a, err := h.e.UpdateAlias(ctx, req.ARN, req.Description, routing(req.Routing))
	if err != nil {
		return nil, aliasErr(err)
	}
	return map[string]any{"updateDate": ep(a.UpdatedAt)}, nil
}

func (h *Handler) listAliases(ctx context.Context, body []byte) (any, error) {
	var req struct {
		StateMachineARN string `json:"stateMachineArn"`
		MaxResults      int    `json:"maxResults"`
		NextToken       string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := machine(ctx, req.StateMachineARN, reads); err != nil {
		return nil, err
	}
	as, err := h.e.ListAliases(ctx, req.StateMachineARN)
	if err != nil {
		return nil, aliasErr(err)
	}
	items := make([]map[string]any, 0, len(as))
	for _, a := range as {
		items = append(items, map[string]any{"stateMachineAliasArn": a.ARN, "creationDate": ep(a.CreatedAt)})
	}
	page, next, err := pageSlice(items, req.MaxResults, req.NextToken)
	if err != nil {
		return nil, err
	}
	return map[string]any{"stateMachineAliases": page, "nextToken": nullable(next)}, nil
}

func (h *Handler) deleteAlias(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ARN string `json:"stateMachineAliasArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if err := alias(ctx, req.ARN, administers); err != nil {
		return nil, err
	}
	return struct{}{}, aliasErr(h.e.DeleteAlias(ctx, req.ARN))
}

// ---- map runs ----

// mapRun reads the map run arn names for the caller, who must be able to
// read its execution; another tenant's run is reported missing.
func (h *Handler) mapRun(ctx context.Context, arn string) (*workflow.MapRun, error) {
	if err := arnKind(arn, "mapRun"); err != nil {
		return nil, err
	}
	run, err := h.e.DescribeMapRun(ctx, arn)
	if err == nil {
		_, err = h.e.Authorize(ctx, workflow.AccessOf(ctx), run.ExecutionARN, false)
	}
	if errcode.Of(err) == errcode.NotFound {
		return nil, fail("ResourceNotFound", "Map run %s does not exist", arn)
	}
	if err != nil {
		return nil, mapErr(err, "", "")
	}
	return run, nil
}

func mapRunCounts(c workflow.MapRunCounts) map[string]any {
	return map[string]any{"pending": c.Pending, "running": c.Running, "succeeded": c.Succeeded, "failed": c.Failed, "timedOut": c.TimedOut,
		"aborted": c.Aborted, "total": c.Total, "resultsWritten": c.ResultsWritten, "failuresNotRedrivable": 0, "pendingRedrive": 0}
}

// listMapRuns lists the map runs of an execution: one for each
// distributed Map state it ran.
func (h *Handler) listMapRuns(ctx context.Context, body []byte) (any, error) {
	var req struct {
		ExecutionARN string `json:"executionArn"`
		MaxResults   int    `json:"maxResults"`
		NextToken    string `json:"nextToken"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	if _, err := h.execution(ctx, req.ExecutionARN, false); err != nil {
		return nil, err
	}
	runs, next, err := h.e.ListMapRuns(ctx, req.ExecutionARN, req.MaxResults, req.NextToken)
	if errcode.Of(err) == errcode.Invalid {
		return nil, fail("InvalidToken", "%s", errcode.MessageOf(err))
	}
	if err != nil {
		return nil, mapErr(err, "", "")
	}
	items := make([]map[string]any, 0, len(runs))
	for _, r := range runs {
		item := map[string]any{"mapRunArn": r.ARN, "executionArn": r.ExecutionARN, "stateMachineArn": mapRunMachine(r.ARN), "startDate": ep(r.StartDate)}
		if r.StopDate != nil {
			item["stopDate"] = epp(r.StopDate)
		}
		items = append(items, item)
	}
	return map[string]any{"mapRuns": items, "nextToken": nullable(next)}, nil
}

// mapRunMachine is the ARN of the state machine a map run's child
// executions run: the Map state's ItemProcessor, named MACHINE/STATE.
func mapRunMachine(arn string) string {
	m := strings.Replace(arn, ":mapRun:", ":stateMachine:", 1)
	return m[:strings.LastIndexByte(m, ':')]
}

func (h *Handler) describeMapRun(ctx context.Context, body []byte) (any, error) {
	var req struct {
		MapRunARN string `json:"mapRunArn"`
	}
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	r, err := h.mapRun(ctx, req.MapRunARN)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"mapRunArn": r.ARN, "executionArn": r.ExecutionARN, "status": r.Status, "startDate": ep(r.StartDate),
		"maxConcurrency": r.MaxConcurrency, "toleratedFailurePercentage": max(r.ToleratedFailurePercentage, 0),
		"toleratedFailureCount": max(r.ToleratedFailureCount, 0), "itemCounts": mapRunCounts(r.Items),
		"executionCounts": mapRunCounts(r.Executions), "redriveCount": 0}
	if r.StopDate != nil {
		out["stopDate"] = epp(r.StopDate)
	}
	return out, nil
}
