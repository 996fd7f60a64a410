package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

func TestExecutionsCommands(t *testing.T) {
	e := workflowtest.StartEngine(t, workflowtest.Config(workflowtest.SQLite(t), nil))
	mux := http.NewServeMux()
	for p, h := range workflowapi.New(e).Mounts() {
		mux.Handle(p, h)
	}
	// The server's authentication gives an open installation's callers
	// the anonymous principal.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), identity.Principal{Role: identity.RoleAnonymous, Tenant: "default"})))
	}))
	defer srv.Close()
	s := "--server=" + srv.URL

	code, out, errOut := run(t, "", "state-machines", "create", "hello", "testdata/executions/hello.asl.json", s)
	if code != 0 || !strings.Contains(out, `"name": "hello"`) {
		t.Fatalf("create: %d %s %s", code, out, errOut)
	}
	code, _, errOut = run(t, "", "state-machines", "create", "bad", "@-", s)
	if code != ExitInvalid || !strings.Contains(errOut, "invalid JSON") && !strings.Contains(errOut, "Definition") {
		t.Fatalf("create from empty stdin: %d %s", code, errOut)
	}
	code, out, errOut = run(t, "", "executions", "start", "hello", "--input", `{"who": "world"}`, "--name", "w1", "--correlation-id", "media-7", "--wait", s)
	var x workflow.Execution
	if code != 0 || json.Unmarshal([]byte(out), &x) != nil || x.Status != workflow.StatusSucceeded || !strings.Contains(out, `"greeting": "hello world"`) {
		t.Fatalf("start --wait: %d %s %s", code, out, errOut)
	}
	code, out, errOut = run(t, `{"who": "moon"}`, "executions", "start", "hello", "--input", "@-", "--wait", s)
	if code != ExitFailure || !strings.Contains(errOut, "FAILED: Hello.Wrong not the world") {
		t.Fatalf("failing start: %d %s %s", code, out, errOut)
	}
	code, _, errOut = run(t, "", "executions", "start", "hello", "--input", `{"who":`, s)
	if code != ExitInvalid {
		t.Fatalf("bad input: %d %s", code, errOut)
	}
	code, _, errOut = run(t, "", "executions", "start", "nope", s)
	if code != ExitFailure || !strings.Contains(errOut, "state machine nope does not exist") {
		t.Fatalf("unknown machine: %d %s", code, errOut)
	}
	code, out, _ = run(t, "", "executions", "list", "--status", "failed", s)
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "Hello.Wrong") {
		t.Fatalf("list: %d %s", code, out)
	}
	code, out, _ = run(t, "", "executions", "list", "--correlation-id", "media-7", "--json", s)
	if code != 0 || !strings.Contains(out, x.ARN) {
		t.Fatalf("list by correlation: %d %s", code, out)
	}
	code, out, _ = run(t, "", "executions", "describe", x.ARN, s)
	if code != 0 || !strings.Contains(out, `"correlationId": "media-7"`) {
		t.Fatalf("describe: %d %s", code, out)
	}
	code, out, _ = run(t, "", "executions", "history", x.ARN, s)
	if code != 0 || !strings.Contains(out, "ExecutionStarted") || !strings.Contains(out, "ChoiceStateEntered") || strings.Count(out, "\n") != 9 {
		t.Fatalf("history: %d %s", code, out)
	}
	code, _, errOut = run(t, "", "executions", "describe", s)
	if code != ExitInvalid {
		t.Fatalf("describe without arn: %d %s", code, errOut)
	}
}
