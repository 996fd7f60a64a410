package workflowapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// principalHeader names the principal of a test request: "none" sends
// none, "admin", "operator", "tenant:ID" and "reviewer:ID" the role; no
// header is the anonymous caller of an open installation.
const principalHeader = "X-Test-Principal"

// withPrincipal stands in for the server's authentication.
func withPrincipal(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(principalHeader)
		if v == "none" {
			h.ServeHTTP(w, r)
			return
		}
		p := identity.Principal{Role: identity.RoleAnonymous, Tenant: "default"}
		if v != "" {
			role, tenant, _ := strings.Cut(v, ":")
			p = identity.Principal{Role: identity.Role(role), Tenant: tenant, KeyID: "k-" + v}
		}
		h.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), p)))
	})
}

func setup(t *testing.T) (*httptest.Server, *workflow.Engine) {
	t.Helper()
	e := workflowtest.StartEngine(t, workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources()))
	h := workflowapi.New(e)
	mux := http.NewServeMux()
	for prefix, handler := range h.Mounts() {
		mux.Handle(prefix, handler)
	}
	srv := httptest.NewServer(withPrincipal(mux))
	t.Cleanup(srv.Close)
	return srv, e
}

func call(t *testing.T, srv *httptest.Server, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	return callAs(t, srv, "", method, path, body)
}

func callAs(t *testing.T, srv *httptest.Server, principal, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		buf, _ := json.Marshal(b)
		r = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, srv.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if principal != "" {
		req.Header.Set(principalHeader, principal)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

func TestErrors(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	b, err := os.ReadFile("testdata/errors.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name, Method, Path string
		Body               json.RawMessage
		Raw                *string
		Status             int
		Code, Detail       string
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			var body any
			if tc.Raw != nil {
				body = *tc.Raw
			} else if tc.Body != nil {
				body = string(tc.Body)
			}
			status, hdr, out := call(t, srv, tc.Method, tc.Path, body)
			var p workflowapi.Problem
			_ = json.Unmarshal(out, &p)
			if status != tc.Status || p.Code != tc.Code || !strings.Contains(p.Detail, tc.Detail) {
				t.Fatalf("%d %s", status, out)
			}
			if hdr.Get("Content-Type") != "application/problem+json" || p.Status != status || p.Title == "" || !strings.HasPrefix(p.Type, "https://") {
				t.Fatalf("not a problem document: %s %s", hdr.Get("Content-Type"), out)
			}
		})
	}
}

func TestFlow(t *testing.T) {
	t.Parallel()
	srv, _ := setup(t)
	status, _, out := call(t, srv, "POST", "/v1/state-machines", map[string]any{"name": "bad", "definition": json.RawMessage(workflowtest.Definition(t, "invalid"))})
	var p workflowapi.Problem
	_ = json.Unmarshal(out, &p)
	if status != 400 || len(p.Errors) < 3 || p.Errors[0].Pointer == "" {
		t.Fatalf("invalid definition: %d %s", status, out)
	}
	status, _, out = call(t, srv, "POST", "/v1/state-machines", map[string]any{"name": "pipeline20", "definition": workflowtest.Definition(t, "pipeline20")})
	if status != 201 {
		t.Fatalf("create: %d %s", status, out)
	}
	status, _, out = call(t, srv, "POST", "/v1/executions", map[string]any{"stateMachine": "pipeline20", "name": "one", "input": map[string]int{"wait": 0}, "correlationId": "media-42"})
	if status != 201 {
		t.Fatalf("start: %d %s", status, out)
	}
	var x workflow.Execution
	_ = json.Unmarshal(out, &x)
	deadline := time.Now().Add(20 * time.Second)
	for x.Status == workflow.StatusRunning {
		if time.Now().After(deadline) {
			t.Fatal("still running")
		}
		time.Sleep(20 * time.Millisecond)
		_, _, out = call(t, srv, "GET", "/v1/executions/"+x.ARN, nil)
		_ = json.Unmarshal(out, &x)
	}
	if x.Status != workflow.StatusSucceeded || string(x.Output) != workflowtest.Pipeline20Output || x.CorrelationID != "media-42" {
		t.Fatalf("describe: %s", out)
	}
	status, _, out = call(t, srv, "GET", "/v1/executions?correlationId=media-42&status=SUCCEEDED", nil)
	var list struct{ Executions []workflow.Execution }
	_ = json.Unmarshal(out, &list)
	if status != 200 || len(list.Executions) != 1 {
		t.Fatalf("list: %d %s", status, out)
	}
	status, _, out = call(t, srv, "GET", "/v1/executions/"+url.PathEscape(x.ARN)+"/history?limit=5&reverse=true", nil)
	var h struct {
		Events    []workflow.HistoryEvent
		NextToken string
	}
	_ = json.Unmarshal(out, &h)
	if status != 200 || len(h.Events) != 5 || h.Events[0].Type != "ExecutionSucceeded" || h.NextToken == "" {
		t.Fatalf("history: %d %s", status, out)
	}
	status, _, out = call(t, srv, "POST", "/v1/executions/"+x.ARN+"/stop", nil)
	if status != 409 {
		t.Fatalf("stop of a finished execution: %d %s", status, out)
	}

	// Activities served over HTTP by a worker in any language.
	if status, _, out = call(t, srv, "POST", "/v1/activities", map[string]string{"name": "suite-work"}); status != 201 {
		t.Fatalf("create activity: %d %s", status, out)
	}
	if status, _, out = call(t, srv, "GET", "/v1/activities/suite-work/tasks?wait=50ms", nil); status != 204 {
		t.Fatalf("empty poll: %d %s", status, out)
	}
	status, _, out = call(t, srv, "POST", "/v1/state-machines", map[string]any{"name": "activity", "definition": json.RawMessage(workflowtest.Definition(t, "activity"))})
	if status != 201 {
		t.Fatalf("create: %d %s", status, out)
	}
	status, _, out = call(t, srv, "POST", "/v1/executions", map[string]any{"stateMachine": "activity", "input": map[string]int{"n": 2}})
	if status != 201 {
		t.Fatalf("start: %d %s", status, out)
	}
	_ = json.Unmarshal(out, &x)
	status, _, out = call(t, srv, "GET", "/v1/activities/suite-work/tasks?workerName=py&wait=5s", nil)
	var task workflow.ActivityTask
	_ = json.Unmarshal(out, &task)
	if status != 200 || task.Token == "" || string(task.Input) != `{"n":2}` {
		t.Fatalf("poll: %d %s", status, out)
	}
	if status, _, out = call(t, srv, "POST", "/v1/tasks/heartbeat", map[string]string{"taskToken": task.Token}); status != 204 {
		t.Fatalf("heartbeat: %d %s", status, out)
	}
	if status, _, out = call(t, srv, "POST", "/v1/tasks/success", map[string]any{"taskToken": task.Token, "output": []int{4}}); status != 204 {
		t.Fatalf("success: %d %s", status, out)
	}
	if status, _, out = call(t, srv, "POST", "/v1/tasks/success", map[string]any{"taskToken": task.Token, "output": []int{4}}); status != 409 {
		t.Fatalf("second success: %d %s", status, out)
	}
	deadline = time.Now().Add(20 * time.Second)
	for x.Status == workflow.StatusRunning {
		if time.Now().After(deadline) {
			t.Fatalf("activity execution still running after 20 s: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
		_, _, out = call(t, srv, "GET", "/v1/executions/"+x.ARN, nil)
		_ = json.Unmarshal(out, &x)
	}
	if string(x.Output) != `{"n":2,"result":[4]}` {
		t.Fatalf("activity execution: %s", out)
	}
}
