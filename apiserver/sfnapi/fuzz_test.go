package sfnapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// FuzzProtocol: any action and body gets a JSON answer; failures are 4xx
// with an AWS error shape, never a 5xx or a panic.
func FuzzProtocol(f *testing.F) {
	e := workflowtest.StartEngine(f, workflowtest.Config(workflowtest.SQLite(f), nil))
	h := sfnapi.New(e)
	h.MaxPoll = 0
	for _, s := range [][2]string{
		{"StartExecution", `{"stateMachineArn":"arn:aws:states:local:000000000000:stateMachine:x"}`},
		{"CreateStateMachine", `{"name":"m","definition":"{\"StartAt\":\"P\",\"States\":{\"P\":{\"Type\":\"Pass\",\"End\":true}}}"}`},
		{"CreateStateMachine", `{"name":"m","definition":"{"}`},
		{"GetExecutionHistory", `{"executionArn":"arn:aws:states:local:000000000000:execution:x:y","nextToken":"zz"}`},
		{"ListExecutions", `{"stateMachineArn":"arn:aws:states:local:000000000000:stateMachine:m","nextToken":"!"}`},
		{"SendTaskSuccess", `{"taskToken":"t","output":"{"}`},
		{"GetActivityTask", `{"activityArn":"arn:aws:states:local:000000000000:activity:a"}`},
		{"Nope", `[]`},
		{"DescribeExecution", `{"executionArn":"arn:aws:states:local:000000000000:execution:x:\u0000"}`},
		{"StartExecution", "{\"stateMachineArn\":\"arn:aws:states:local:000000000000:stateMachine:\xff\",\"name\":\"\xfe\"}"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		if len(body) > 1<<16 {
			return
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AWSStepFunctions."+action)
		r = r.WithContext(identity.NewContext(r.Context(), identity.Principal{Role: identity.RoleAdmin}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %s", action, body, w.Body)
		}
		if w.Code != 200 {
			var e struct {
				Type string `json:"__type"`
			}
			if json.Unmarshal(w.Body.Bytes(), &e); e.Type == "" {
				t.Fatalf("%s %q: error without __type: %s", action, body, w.Body)
			}
		}
	})
}
