package sqsapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/landfall/landfall/apiserver/sqsapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow/workflowtest"
)

func call(h http.Handler, p identity.Principal, action, body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	r.Header.Set("X-Amz-Target", "AmazonSQS."+action)
	r = r.WithContext(identity.NewContext(r.Context(), p))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestErrors: queues are the installation's, and bad input gets SQS's
// error shapes naming what is wrong.
func TestErrors(t *testing.T) {
	t.Parallel()
	e := workflowtest.StartEngine(t, workflowtest.Config(workflowtest.SQLite(t), nil))
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })
	h := sqsapi.New(e, next)
	admin := identity.Principal{Role: identity.RoleAdmin}
	if w := call(h, admin, "CreateQueue", `{"QueueName":"q1"}`); w.Code != 200 || !strings.Contains(w.Body.String(), "/000000000000/q1") {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	url := e.QueueURL("q1")
	for _, tc := range []struct {
		p            identity.Principal
		action, body string
		status       int
		typ          string
	}{
		{identity.Principal{Role: identity.RoleTenant, Tenant: "acme"}, "SendMessage", `{"QueueUrl":"` + url + `","MessageBody":"x"}`, 403, "AccessDenied"},
		{admin, "CreateQueue", `{"QueueName":"q1","Attributes":{"VisibilityTimeout":"5"}}`, 400, "QueueNameExists"},
		{admin, "CreateQueue", `{"QueueName":"a.fifo"}`, 400, "InvalidParameterValue"},
		{admin, "CreateQueue", `{"QueueName":"q2","Attributes":{"Policy":"{}"}}`, 400, "InvalidParameterValue"},
		{admin, "SendMessage", `{"QueueUrl":"http://x/111111111111/q1","MessageBody":"x"}`, 400, "QueueDoesNotExist"},
		{admin, "SendMessage", `{"QueueUrl":"` + url + `","MessageBody":""}`, 400, "InvalidParameterValue"},
		{admin, "ReceiveMessage", `{"QueueUrl":"` + url + `","MaxNumberOfMessages":11}`, 400, "InvalidParameterValue"},
		{admin, "DeleteMessage", `{"QueueUrl":"` + url + `","ReceiptHandle":"nope"}`, 400, "ReceiptHandleIsInvalid"},
		{admin, "ChangeMessageVisibility", `{"QueueUrl":"` + url + `","ReceiptHandle":"a#b","VisibilityTimeout":1}`, 400, "MessageNotInflight"},
		{admin, "PurgeQueue", `{}`, 400, "UnsupportedOperation"},
		{admin, "SendMessage", `{"QueueUrl": 5}`, 400, "InvalidParameterValue"},
	} {
		w := call(h, tc.p, tc.action, tc.body)
		var body struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != tc.status || body.Type != "com.amazonaws.sqs#"+tc.typ || body.Message == "" {
			t.Errorf("%s %s: %d %s", tc.action, tc.body, w.Code, w.Body)
		}
	}
	// Another protocol's target goes to the next handler.
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 299 {
		t.Fatalf("other target: %d", w.Code)
	}
}

// FuzzProtocol: any action and body gets a JSON answer; failures are 4xx
// with SQS's error shape, never a 5xx or a panic.
func FuzzProtocol(f *testing.F) {
	e := workflowtest.StartEngine(f, workflowtest.Config(workflowtest.SQLite(f), nil))
	h := sqsapi.New(e, nil)
	url := e.QueueURL("fz")
	for _, s := range [][2]string{
		{"CreateQueue", `{"QueueName":"fz","Attributes":{"VisibilityTimeout":"0"}}`},
		{"SendMessage", `{"QueueUrl":"` + url + `","MessageBody":"hello","DelaySeconds":0}`},
		{"ReceiveMessage", `{"QueueUrl":"` + url + `","MaxNumberOfMessages":10,"WaitTimeSeconds":0,"AttributeNames":["All"]}`},
		{"DeleteMessage", `{"QueueUrl":"` + url + `","ReceiptHandle":"x#y"}`},
		{"ChangeMessageVisibility", `{"QueueUrl":"` + url + `","ReceiptHandle":"x#y","VisibilityTimeout":-1}`},
		{"GetQueueAttributes", `{"QueueUrl":"` + url + `","AttributeNames":["All"]}`},
		{"GetQueueUrl", `{"QueueName":"\u0000"}`},
		{"SendMessage", "{\"QueueUrl\":\"\xff\",\"MessageBody\":\"\xfe\"}"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, action, body string) {
		if len(body) > 1<<16 {
			return
		}
		if strings.Contains(body, "WaitTimeSeconds") && !strings.Contains(body, `"WaitTimeSeconds":0`) {
			return // a long poll only waits
		}
		w := call(h, identity.Principal{Role: identity.RoleAdmin}, action, body)
		if w.Code >= 500 {
			t.Fatalf("%s %q: %d %s", action, body, w.Code, w.Body)
		}
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s %q: answer is not JSON: %s", action, body, w.Body)
		}
	})
}
