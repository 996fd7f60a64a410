package workflowapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/workflow"
)

const passMachine = `{"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}`

// TestTenantsSeeOnlyTheirOwnExecutions: tenant B's key cannot list,
// describe, read the history of, stop, redrive or settle the tasks of
// tenant A's executions (each answers exactly as for a missing one), nor
// change the installation's state machines and activities.
func TestTenantsSeeOnlyTheirOwnExecutions(t *testing.T) {
	t.Parallel()
	srv, e := setup(t)
	const a, b, admin = "tenant:acme", "tenant:globex", "admin"
	problem := func(out []byte) workflowapi.Problem {
		var p workflowapi.Problem
		_ = json.Unmarshal(out, &p)
		return p
	}

	// State machines and activities are the installation's.
	for _, who := range []string{a, "reviewer:acme", "operator", "none"} {
		status, _, out := callAs(t, srv, who, "POST", "/v1/state-machines", map[string]any{"name": "media", "definition": passMachine})
		if status != 403 && status != 401 {
			t.Fatalf("%s creates a state machine: %d %s", who, status, out)
		}
		if status, _, out = callAs(t, srv, who, "POST", "/v1/activities", map[string]string{"name": "work"}); status != 403 && status != 401 {
			t.Fatalf("%s creates an activity: %d %s", who, status, out)
		}
	}
	if status, _, out := callAs(t, srv, "none", "GET", "/v1/state-machines", nil); status != 401 || problem(out).Code != "Unauthenticated" {
		t.Fatalf("no principal lists state machines: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, admin, "POST", "/v1/state-machines", map[string]any{"name": "media", "definition": passMachine}); status != 201 {
		t.Fatalf("admin creates: %d %s", status, out)
	}
	other := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "taken over", "End": true}}}`
	if status, _, out := callAs(t, srv, b, "PUT", "/v1/state-machines/media", map[string]any{"definition": other}); status != 403 {
		t.Fatalf("tenant updates the pipeline: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, b, "DELETE", "/v1/state-machines/media", nil); status != 403 {
		t.Fatalf("tenant deletes the pipeline: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, b, "GET", "/v1/state-machines/media", nil); status != 200 {
		t.Fatalf("tenant describes the pipeline: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "operator", "GET", "/v1/state-machines", nil); status != 403 {
		t.Fatalf("operator lists state machines: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, admin, "POST", "/v1/activities", map[string]string{"name": "work"}); status != 201 {
		t.Fatalf("admin creates an activity: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, a, "GET", "/v1/activities/work/tasks?wait=1ms", nil); status != 403 {
		t.Fatalf("tenant polls activity tasks: %d %s", status, out)
	}

	start := func(who, name, tenant string) workflow.Execution {
		t.Helper()
		body := map[string]any{"stateMachine": "media", "name": name, "input": map[string]string{"secret": name}}
		if tenant != "" {
			body["tenant"] = tenant
		}
		status, _, out := callAs(t, srv, who, "POST", "/v1/executions", body)
		if status != 201 {
			t.Fatalf("%s starts %s: %d %s", who, name, status, out)
		}
		var x workflow.Execution
		_ = json.Unmarshal(out, &x)
		return x
	}
	xa := start(a, "a1", "")
	if xa.Tenant != "acme" {
		t.Fatalf("tenant key's execution runs for %q, want acme", xa.Tenant)
	}
	if status, _, out := callAs(t, srv, a, "POST", "/v1/executions", map[string]any{"stateMachine": "media", "tenant": "globex"}); status != 403 {
		t.Fatalf("tenant starts for another tenant: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "reviewer:acme", "POST", "/v1/executions", map[string]any{"stateMachine": "media"}); status != 403 {
		t.Fatalf("reviewer starts: %d %s", status, out)
	}
	xb := start(b, "b1", "")
	xAdminForA := start(admin, "admin-for-a", "acme")
	xInstall := start(admin, "installation", "")
	if xAdminForA.Tenant != "acme" || xInstall.Tenant != "" || xb.Tenant != "globex" {
		t.Fatalf("tenants: %q %q %q", xAdminForA.Tenant, xInstall.Tenant, xb.Tenant)
	}
	// Same name from another tenant: a conflict, not A's execution.
	status, _, out := callAs(t, srv, b, "POST", "/v1/executions", map[string]any{"stateMachine": "media", "name": "a1", "input": map[string]string{"secret": "a1"}})
	if status != 409 || strings.Contains(string(out), "acme") || strings.Contains(string(out), "secret") {
		t.Fatalf("other tenant reuses a name: %d %s", status, out)
	}

	list := func(who, query string) []string {
		t.Helper()
		status, _, out := callAs(t, srv, who, "GET", "/v1/executions"+query, nil)
		if status != 200 {
			t.Fatalf("%s lists: %d %s", who, status, out)
		}
		var l struct{ Executions []workflow.Execution }
		_ = json.Unmarshal(out, &l)
		var names []string
		for _, x := range l.Executions {
			names = append(names, x.Name)
		}
		return names
	}
	if got := strings.Join(list(b, ""), ","); got != "b1" {
		t.Fatalf("globex lists %s", got)
	}
	if got := strings.Join(list(a, "?stateMachine=media"), ","); got != "admin-for-a,a1" {
		t.Fatalf("acme lists %s", got)
	}
	if got := list(admin, ""); len(got) != 4 {
		t.Fatalf("admin lists %v", got)
	}
	if got := strings.Join(list(admin, "?tenant=globex"), ","); got != "b1" {
		t.Fatalf("admin lists globex: %s", got)
	}
	if status, _, out := callAs(t, srv, b, "GET", "/v1/executions?tenant=acme", nil); status != 403 {
		t.Fatalf("globex asks for acme's list: %d %s", status, out)
	}

	// Another tenant's execution is exactly as missing as a missing one.
	missing := strings.Replace(xa.ARN, ":a1", ":nope", 1)
	for _, path := range []string{"", "/history"} {
		for _, arn := range []string{xa.ARN, xInstall.ARN} {
			s1, _, o1 := callAs(t, srv, b, "GET", "/v1/executions/"+url.PathEscape(arn)+path, nil)
			s2, _, o2 := callAs(t, srv, b, "GET", "/v1/executions/"+url.PathEscape(missing)+path, nil)
			p1, p2 := problem(o1), problem(o2)
			if s1 != 404 || s2 != 404 || p1.Code != p2.Code || strings.Replace(p1.Detail, arn, missing, 1) != p2.Detail {
				t.Fatalf("GET %s%s as globex: %d %s; missing: %d %s", arn, path, s1, o1, s2, o2)
			}
		}
	}
	for _, action := range []string{"stop", "redrive"} {
		if status, _, out := callAs(t, srv, b, "POST", "/v1/executions/"+xa.ARN+"/"+action, nil); status != 404 {
			t.Fatalf("globex %s acme's execution: %d %s", action, status, out)
		}
	}
	// Reviewer keys reach review work only: to the engine, even their own
	// tenant's executions are missing (the access layer in front refuses
	// them the workflow API altogether).
	for _, path := range []string{"", "/history"} {
		if status, _, out := callAs(t, srv, "reviewer:acme", "GET", "/v1/executions/"+url.PathEscape(xa.ARN)+path, nil); status != 404 {
			t.Fatalf("acme's reviewer reads %s: %d %s", path, status, out)
		}
	}
	if status, _, out := callAs(t, srv, "reviewer:acme", "POST", "/v1/executions/"+xa.ARN+"/stop", nil); status != 404 {
		t.Fatalf("acme's reviewer stops: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "reviewer:acme", "GET", "/v1/executions", nil); status != 403 {
		t.Fatalf("acme's reviewer lists executions: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "reviewer:acme", "GET", "/v1/state-machines", nil); status != 403 {
		t.Fatalf("acme's reviewer lists state machines: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "none", "GET", "/v1/executions/"+xa.ARN, nil); status != 401 {
		t.Fatalf("no principal describes: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, a, "GET", "/v1/executions/"+url.PathEscape(xa.ARN)+"/history", nil); status != 200 {
		t.Fatalf("acme reads its history: %d %s", status, out)
	}
	_ = e
}

// TestTaskTokensOfOtherTenants: a task token of tenant A's execution is
// TaskDoesNotExist for tenant B, and works for A.
func TestTaskTokensOfOtherTenants(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	if status, _, out := callAs(t, srv, "admin", "POST", "/v1/activities", map[string]string{"name": "suite-work"}); status != 201 {
		t.Fatalf("create activity: %d %s", status, out)
	}
	if status, _, out := callAs(t, srv, "admin", "POST", "/v1/state-machines", map[string]any{"name": "activity", "definition": json.RawMessage(activityMachine)}); status != 201 {
		t.Fatalf("create: %d %s", status, out)
	}
	status, _, out := callAs(t, srv, "tenant:acme", "POST", "/v1/executions", map[string]any{"stateMachine": "activity", "input": map[string]int{"n": 1}})
	if status != 201 {
		t.Fatalf("start: %d %s", status, out)
	}
	var x workflow.Execution
	_ = json.Unmarshal(out, &x)
	status, _, out = callAs(t, srv, "admin", "GET", "/v1/activities/suite-work/tasks?workerName=w&wait=5s", nil)
	var task workflow.ActivityTask
	_ = json.Unmarshal(out, &task)
	if status != 200 || task.Token == "" || task.Tenant != "acme" {
		t.Fatalf("poll: %d %s", status, out)
	}
	for _, action := range []string{"heartbeat", "success", "failure"} {
		body := map[string]any{"taskToken": task.Token, "output": map[string]bool{"forged": true}}
		s1, _, o1 := callAs(t, srv, "tenant:globex", "POST", "/v1/tasks/"+action, body)
		s2, _, o2 := callAs(t, srv, "tenant:globex", "POST", "/v1/tasks/"+action, map[string]any{"taskToken": "no-such-token", "output": 1})
		if s1 != 404 || s2 != 404 || !strings.Contains(string(o1), "task does not exist") || !strings.Contains(string(o2), "task does not exist") {
			t.Fatalf("globex %s acme's task: %d %s (unknown token: %d %s)", action, s1, o1, s2, o2)
		}
	}
	if status, _, out := callAs(t, srv, "tenant:acme", "POST", "/v1/tasks/success", map[string]any{"taskToken": task.Token, "output": "mine"}); status != 204 {
		t.Fatalf("acme settles its task: %d %s", status, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, out = callAs(t, srv, "tenant:acme", "GET", "/v1/executions/"+x.ARN, nil)
		_ = json.Unmarshal(out, &x)
		if x.Status != workflow.StatusRunning || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if x.Status != workflow.StatusSucceeded || !strings.Contains(string(x.Output), `"result":"mine"`) {
		t.Fatalf("execution: %+v", x)
	}
}

const activityMachine = `{"StartAt": "Work", "States": {"Work": {"Type": "Task",
  "Resource": "arn:aws:states:local:000000000000:activity:suite-work", "TimeoutSeconds": 60, "ResultPath": "$.result", "End": true}}}`

// TestBadBytesInPaths: NUL bytes and invalid UTF-8 in path identifiers
// are 400s naming the field, never a database's error.
func TestBadBytesInPaths(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	for _, tc := range []struct{ method, path, field string }{
		{"GET", "/v1/executions/arn%00x", "execution ARN"},
		{"GET", "/v1/executions/arn%FFx/history", "execution ARN"},
		{"POST", "/v1/executions/arn%00x/stop", "execution ARN"},
		{"GET", "/v1/state-machines/m%00", "state machine"},
		{"GET", "/v1/state-machines/m%C3", "state machine"},
		{"GET", "/v1/executions?correlationId=a%00b", "correlation id"},
		{"GET", "/v1/activities/a%00/tasks?wait=1ms", "activity"},
	} {
		status, _, out := call(t, srv, tc.method, tc.path, nil)
		var p workflowapi.Problem
		_ = json.Unmarshal(out, &p)
		if status != 400 || p.Code != "InvalidArgument" || !strings.Contains(p.Detail, tc.field) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, status, out)
		}
	}
}
