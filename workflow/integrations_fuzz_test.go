package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

type refuseTransport struct{}

func (refuseTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

// FuzzIntegrations: any Parameters given to a service integration fail
// the task with a named error (or succeed); none panics or reaches the
// network.
func FuzzIntegrations(f *testing.F) {
	res := workflowtest.Resources()
	e := workflowtest.StartEngine(f, workflowtest.Config(workflowtest.SQLite(f), res))
	e.RegisterIntegrations(res, workflow.Integrations{
		Connections: map[string]workflow.HTTPConnection{"c": {Headers: map[string]string{"X-Key": "k"}}},
		HTTPClient:  &http.Client{Transport: refuseTransport{}},
		PutEvents: func(context.Context, string, []workflow.EventEntry) ([]workflow.EventResult, error) {
			return []workflow.EventResult{{EventID: "1"}}, nil
		},
	})
	if _, err := e.CreateQueue(context.Background(), "fz", nil); err != nil {
		f.Fatal(err)
	}
	resources := []string{workflow.ResourceHTTPInvoke, workflow.ResourceStartExecution, workflow.ResourceSQSSend, workflow.ResourcePutEvents}
	for _, s := range []struct {
		r     int
		input string
	}{
		{0, `{"ApiEndpoint":"http://127.0.0.1:1/x","Method":"GET","Authentication":{"ConnectionArn":"arn:aws:events:r:1:connection/c/x"}}`},
		{0, `{"ApiEndpoint":"ftp://x","Method":"GET"}`},
		{0, `{"ApiEndpoint":"http://x","Method":"POST","Authentication":{"ConnectionArn":"arn:aws:events:r:1:connection/c"},"Headers":{"X-Key":"mine"},"RequestBody":{"a":[1,2]},"Transform":{"RequestBodyEncoding":"URL_ENCODED"}}`},
		{1, `{"StateMachineArn":"arn:aws:states:local:000000000000:stateMachine:none","Input":"{\"a\":1}"}`},
		{1, `{"StateMachineArn":5}`},
		{2, `{"QueueUrl":"http://localhost/000000000000/fz","MessageBody":{"k":"v"}}`},
		{2, `{"QueueUrl":"nope","MessageBody":""}`},
		{3, `{"Entries":[{"Source":"a","DetailType":"b","Detail":{"x":1}}]}`},
		{3, `{"Entries":[]}`},
	} {
		f.Add(s.r, s.input)
	}
	f.Fuzz(func(t *testing.T, r int, input string) {
		if r < 0 || len(input) > 1<<14 {
			return
		}
		resource := resources[r%len(resources)]
		inv, ok := res.Lookup(resource)
		if !ok {
			t.Fatalf("%s is not registered", resource)
		}
		out, err := inv.Invoke(context.Background(), workflow.Invocation{ExecutionARN: "arn:x", StatePath: "/S", IdempotencyKey: "k-" + input,
			Resource: resource, Input: json.RawMessage(input), Heartbeat: func(context.Context) error { return nil }})
		if err == nil && !json.Valid(out) {
			t.Fatalf("%s %q: invalid output %q", resource, input, out)
		}
	})
}
