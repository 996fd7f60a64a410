package sfnapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/apiserver/sqsapi"
	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// setupIntegrations starts an engine with its service integrations
// behind the Step Functions and SQS protocols on one loopback endpoint,
// and returns SDK clients of both signing as an administrator.
func setupIntegrations(t *testing.T, in workflow.Integrations) (*sfn.Client, *sqs.Client, *workflow.Engine) {
	t.Helper()
	return setupIntegrationsWith(t, in, 0)
}

// setupIntegrationsWith is setupIntegrations with an engine of workers
// workers (0: the tests' default).
func setupIntegrationsWith(t *testing.T, in workflow.Integrations, workers int) (*sfn.Client, *sqs.Client, *workflow.Engine) {
	t.Helper()
	res := workflowtest.Resources()
	ecfg := workflowtest.Config(workflowtest.SQLite(t), res)
	if workers > 0 {
		ecfg.Workers = workers
	}
	e := workflowtest.StartEngine(t, ecfg)
	e.RegisterIntegrations(res, in)
	srv := httptest.NewServer(principalOf(sqsapi.New(e, sfnapi.New(e))))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("admin", "test", ""), HTTPClient: httpClient,
		RetryMaxAttempts: 1}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(srv.URL) }),
		sqs.NewFromConfig(cfg, func(o *sqs.Options) { o.BaseEndpoint = aws.String(srv.URL) }), e
}

// TestSDKSQSCallback: an sqs:sendMessage.waitForTaskToken task is resumed
// by an SDK worker that receives the message, lets one receive lapse
// (visibility timeout), and calls SendTaskSuccess.
func TestSDKSQSCallback(t *testing.T) {
	t.Parallel()
	c, q, _ := setupIntegrations(t, workflow.Integrations{})
	ctx := context.Background()
	created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("review-work"), Attributes: map[string]string{"VisibilityTimeout": "30"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("review-work")})
	if err != nil || aws.ToString(got.QueueUrl) != aws.ToString(created.QueueUrl) {
		t.Fatalf("queue url: %+v %v", got, err)
	}
	if _, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("nope")}); !errors.As(err, new(*sqstypes.QueueDoesNotExist)) {
		t.Fatalf("missing queue: %v", err)
	}
	def := fmt.Sprintf(`{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage.waitForTaskToken",
		"Parameters":{"QueueUrl":%q,"MessageBody":{"token.$":"$$.Task.Token","job.$":"$.job"}},"ResultPath":"$.review","End":true}}}`, aws.ToString(created.QueueUrl))
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("sqs-callback"), RoleArn: aws.String(role), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"job":"j-7"}`)})
	if err != nil {
		t.Fatal(err)
	}
	// A first receive that the worker abandons: the message comes back
	// once its visibility timeout (1 s here) has passed.
	first, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, WaitTimeSeconds: 10, VisibilityTimeout: 1})
	if err != nil || len(first.Messages) != 1 {
		t.Fatalf("first receive: %+v %v", first, err)
	}
	none, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl})
	if err != nil || len(none.Messages) != 0 {
		t.Fatalf("a message in flight was received again: %+v %v", none, err)
	}
	msg, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: created.QueueUrl, WaitTimeSeconds: 10,
		MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
	if err != nil || len(msg.Messages) != 1 {
		t.Fatalf("second receive: %+v %v", msg, err)
	}
	m := msg.Messages[0]
	if m.Attributes["ApproximateReceiveCount"] != "2" || aws.ToString(m.MessageId) != aws.ToString(first.Messages[0].MessageId) {
		t.Fatalf("redelivered message: %+v", m)
	}
	// The first receipt is stale now.
	if _, err := q.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{QueueUrl: created.QueueUrl, ReceiptHandle: first.Messages[0].ReceiptHandle,
		VisibilityTimeout: 0}); err == nil {
		t.Fatal("a stale receipt changed the visibility")
	}
	var body struct {
		Token string `json:"token"`
		Job   string `json:"job"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &body); err != nil || body.Job != "j-7" || body.Token == "" {
		t.Fatalf("message body %q: %v", aws.ToString(m.Body), err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(body.Token), Output: aws.String(`{"approved":true}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: created.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *x.ExecutionArn)
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != `{"job":"j-7","review":{"approved":true}}` {
		t.Fatalf("execution: %s %s", out.Status, aws.ToString(out.Output))
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: created.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil || attrs.Attributes["ApproximateNumberOfMessages"] != "0" || attrs.Attributes["ApproximateNumberOfMessagesNotVisible"] != "0" {
		t.Fatalf("queue after delete: %+v %v", attrs, err)
	}
}

// TestSDKHTTPTask: an HTTP Task against a loopback server carries the
// connection's credentials (never the state's), and the state's Retry
// retries a 503.
func TestSDKHTTPTask(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if r.Header.Get("X-Api-Key") != "s3cret" || r.URL.Query().Get("page") != "2" || r.Header.Get("X-Trace") != "t-1" || r.Method != "POST" {
			http.Error(w, "bad request "+r.URL.String(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		if n == 1 {
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%s,"call":%d}`, b, n)
	}))
	t.Cleanup(api.Close)
	c, _, _ := setupIntegrations(t, workflow.Integrations{Connections: map[string]workflow.HTTPConnection{
		"partner": {Headers: map[string]string{"X-Api-Key": "s3cret"}},
	}})
	ctx := context.Background()
	def := fmt.Sprintf(`{"StartAt":"Call","States":{"Call":{"Type":"Task","Resource":"arn:aws:states:::http:invoke",
		"Parameters":{"ApiEndpoint":%q,"Method":"POST","Authentication":{"ConnectionArn":"arn:aws:events:us-east-1:123456789012:connection/partner/abc"},
			"Headers":{"X-Trace":"t-1"},"QueryParameters":{"page":"2"},"RequestBody":{"id.$":"$.id"}},
		"Retry":[{"ErrorEquals":["States.Http.StatusCode.503"],"IntervalSeconds":1,"MaxAttempts":2,"BackoffRate":1}],
		"ResultSelector":{"status.$":"$.StatusCode","body.$":"$.ResponseBody"},"End":true}}}`, api.URL+"/v1/items")
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("http"), RoleArn: aws.String(role), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"id":42}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *x.ExecutionArn)
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != `{"body":{"call":2,"echo":{"id":42}},"status":200}` {
		t.Fatalf("execution: %s %s %s", out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
	}
	hist, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, ev := range hist.Events {
		if ev.Type == types.HistoryEventTypeTaskFailed {
			failed++
			if aws.ToString(ev.TaskFailedEventDetails.Error) != "States.Http.StatusCode.503" {
				t.Fatalf("TaskFailed: %+v", ev.TaskFailedEventDetails)
			}
		}
		if ev.TaskScheduledEventDetails != nil && strings.Contains(aws.ToString(ev.TaskScheduledEventDetails.Parameters), "s3cret") {
			t.Fatal("the connection's credential is in the history")
		}
	}
	if failed != 1 || calls.Load() != 2 {
		t.Fatalf("%d TaskFailed events, %d calls", failed, calls.Load())
	}

	// The state may not carry credentials of its own.
	def = strings.Replace(def, `"X-Trace":"t-1"`, `"Authorization":"Bearer mine"`, 1)
	sm, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("http-auth"), RoleArn: aws.String(role), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	x, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"id":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	out = waitDone(t, c, *x.ExecutionArn)
	if out.Status != types.ExecutionStatusFailed || !strings.Contains(aws.ToString(out.Cause), "Authorization") {
		t.Fatalf("state's own Authorization: %s %s", out.Status, aws.ToString(out.Cause))
	}
}

// TestSDKNestedSync: states:startExecution.sync and .sync:2 wait for the
// child; a failed child fails the parent's task.
func TestSDKNestedSync(t *testing.T) {
	t.Parallel()
	c, _, _ := setupIntegrations(t, workflow.Integrations{})
	ctx := context.Background()
	child, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("child"), RoleArn: aws.String(role),
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"Next":"C"},"C":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericEquals":0,"Next":"Bad"}],"Default":"Ok"},
			"Ok":{"Type":"Pass","Parameters":{"double.$":"States.MathAdd($.x, $.x)"},"End":true},"Bad":{"Type":"Fail","Error":"Child.Zero","Cause":"x is 0"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	def := fmt.Sprintf(`{"StartAt":"Sync2","States":{
		"Sync2":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2","Parameters":{"StateMachineArn":%q,"Input":{"x.$":"$.x"}},
			"ResultSelector":{"out.$":"$.Output"},"ResultPath":"$.two","Next":"Sync"},
		"Sync":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync","Parameters":{"StateMachineArn":%q,"Input":{"x.$":"$.x"}},
			"ResultSelector":{"out.$":"$.Output","status.$":"$.Status"},"ResultPath":"$.one","Next":"Fire"},
		"Fire":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution","Parameters":{"StateMachineArn":%q,"Input":{"x":5}},
			"ResultSelector":{"arn.$":"$.ExecutionArn"},"ResultPath":"$.fired","End":true}}}`,
		aws.ToString(child.StateMachineArn), aws.ToString(child.StateMachineArn), aws.ToString(child.StateMachineArn))
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("parent"), RoleArn: aws.String(role), Definition: aws.String(def)})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"x":3}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *x.ExecutionArn)
	var got struct {
		Two   struct{ Out struct{ Double int } } `json:"two"`
		One   struct{ Out, Status string }       `json:"one"`
		Fired struct{ Arn string }               `json:"fired"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.Output)), &got); err != nil || out.Status != types.ExecutionStatusSucceeded ||
		got.Two.Out.Double != 6 || got.One.Out != `{"double":6}` || got.One.Status != "SUCCEEDED" || !strings.Contains(got.Fired.Arn, ":execution:child:") {
		t.Fatalf("parent: %s %s %v", out.Status, aws.ToString(out.Output), err)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: child.StateMachineArn})
	if err != nil || len(list.Executions) != 3 {
		t.Fatalf("children: %+v %v", list, err)
	}

	x, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"x":0}`)})
	if err != nil {
		t.Fatal(err)
	}
	out = waitDone(t, c, *x.ExecutionArn)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "States.TaskFailed" || !strings.Contains(aws.ToString(out.Cause), "Child.Zero") {
		t.Fatalf("parent of a failed child: %s %s %s", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
}

// TestSDKSyncHoldsNoWorker: a .sync task waits for its child execution
// without holding a worker. An engine of two workers runs six parents
// whose children wait for an activity worker: all six children reach it
// (a task that held its worker while waiting would leave two parents
// unstarted). Stopping a parent stops its child.
func TestSDKSyncHoldsNoWorker(t *testing.T) {
	t.Parallel()
	c, _, _ := setupIntegrationsWith(t, workflow.Integrations{}, 2)
	ctx := context.Background()
	act, err := c.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("approve")})
	if err != nil {
		t.Fatal(err)
	}
	child, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("waits"), RoleArn: aws.String(role),
		Definition: aws.String(fmt.Sprintf(`{"StartAt":"Ask","States":{"Ask":{"Type":"Task","Resource":%q,"End":true}}}`, aws.ToString(act.ActivityArn)))})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("parent"), RoleArn: aws.String(role),
		Definition: aws.String(fmt.Sprintf(`{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn":%q,"Input":{"n.$":"$.n"}},"OutputPath":"$.Output","End":true}}}`, aws.ToString(child.StateMachineArn)))})
	if err != nil {
		t.Fatal(err)
	}
	const n = 6
	parents := make([]string, n)
	for i := range parents {
		x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: parent.StateMachineArn, Input: aws.String(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		parents[i] = aws.ToString(x.ExecutionArn)
	}
	tokens := map[int]string{}
	deadline := time.Now().Add(20 * time.Second)
	for len(tokens) < n && time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		task, err := c.GetActivityTask(pctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn, WorkerName: aws.String("w")})
		cancel()
		if err != nil || task.TaskToken == nil {
			continue
		}
		var in struct{ N int }
		if err := json.Unmarshal([]byte(aws.ToString(task.Input)), &in); err != nil {
			t.Fatal(err)
		}
		tokens[in.N] = aws.ToString(task.TaskToken)
	}
	if len(tokens) != n {
		t.Fatalf("%d of %d children reached the activity worker: the parents' .sync tasks hold the engine's two workers", len(tokens), n)
	}
	for i := 1; i < n; i++ {
		if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(tokens[i]), Output: aws.String(fmt.Sprintf(`{"done":%d}`, i))}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i < n; i++ {
		out := waitDone(t, c, parents[i])
		if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != fmt.Sprintf(`{"done":%d}`, i) {
			t.Fatalf("parent %d: %s %s %s", i, out.Status, aws.ToString(out.Output), aws.ToString(out.Cause))
		}
	}
	// Parent 0's child still waits; stopping the parent stops it.
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(parents[0])}); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: child.StateMachineArn, StatusFilter: types.ExecutionStatusRunning})
	if err != nil || len(list.Executions) > 1 {
		t.Fatalf("running children: %+v %v", list, err)
	}
	for _, x := range list.Executions {
		out := waitDone(t, c, aws.ToString(x.ExecutionArn))
		if out.Status != types.ExecutionStatusAborted {
			t.Fatalf("child of the stopped parent: %s", out.Status)
		}
	}
	if len(list.Executions) == 0 {
		// Already stopped: it must be ABORTED, not succeeded.
		list, err = c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: child.StateMachineArn, StatusFilter: types.ExecutionStatusAborted})
		if err != nil || len(list.Executions) != 1 {
			t.Fatalf("aborted children: %+v %v", list, err)
		}
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(tokens[0]), Output: aws.String(`{}`)}); err == nil {
		t.Fatal("the stopped child's task took a result")
	}
}

// TestSDKSyncTimeout: a .sync task's HeartbeatSeconds does not end it
// while its child runs (nothing outside sends heartbeats for a child the
// engine watches), its TimeoutSeconds does, and the child is then stopped.
func TestSDKSyncTimeout(t *testing.T) {
	t.Parallel()
	c, _, _ := setupIntegrationsWith(t, workflow.Integrations{}, 2)
	ctx := context.Background()
	child, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("slow"), RoleArn: aws.String(role),
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":120,"End":true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	parent, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("impatient"), RoleArn: aws.String(role),
		Definition: aws.String(fmt.Sprintf(`{"StartAt":"Run","States":{"Run":{"Type":"Task","Resource":"arn:aws:states:::states:startExecution.sync:2",
			"Parameters":{"StateMachineArn":%q},"HeartbeatSeconds":1,"TimeoutSeconds":4,"End":true}}}`, aws.ToString(child.StateMachineArn)))})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: parent.StateMachineArn})
	if err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, aws.ToString(x.ExecutionArn))
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "States.Timeout" {
		t.Fatalf("parent: %s %s %s, want FAILED States.Timeout", out.Status, aws.ToString(out.Error), aws.ToString(out.Cause))
	}
	list, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: child.StateMachineArn})
	if err != nil || len(list.Executions) != 1 {
		t.Fatalf("children: %+v %v", list, err)
	}
	if got := waitDone(t, c, aws.ToString(list.Executions[0].ExecutionArn)); got.Status != types.ExecutionStatusAborted {
		t.Fatalf("child of the timed-out task: %s", got.Status)
	}
}
