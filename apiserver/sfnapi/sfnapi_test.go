package sfnapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/workflow"
	"github.com/landfall/landfall/workflow/workflowtest"
)

// setup starts an engine on SQLite behind the protocol handler on
// loopback and returns a real AWS SDK client pointed at it.
func setup(t *testing.T) (*sfn.Client, *workflow.Engine, *workflow.Resources) {
	t.Helper()
	clientAs, e, res := setupAs(t)
	return clientAs("anonymous"), e, res
}

// principalOf stands in for the server's authentication: the access key
// id a client signs with names its principal ("anonymous", "admin",
// "operator", "tenant.ID", "reviewer.ID"; "none" sends none).
func principalOf(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		_, cred, _ := strings.Cut(auth, "Credential=")
		akid, _, _ := strings.Cut(cred, "/")
		if akid == "none" || akid == "" {
			h.ServeHTTP(w, r)
			return
		}
		role, tenant, _ := strings.Cut(akid, ".")
		p := identity.Principal{Role: identity.Role(role), Tenant: tenant, KeyID: akid}
		if role == "anonymous" {
			p.Tenant = "default"
		}
		h.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), p)))
	})
}

// setupAs starts an engine on SQLite behind the protocol handler and
// returns real AWS SDK clients signing as the principal named.
func setupAs(t *testing.T) (func(principal string) *sfn.Client, *workflow.Engine, *workflow.Resources) {
	t.Helper()
	res := workflowtest.Resources()
	return setupWith(t, workflowtest.Config(workflowtest.SQLite(t), res))
}

// setupWith is setupAs over an engine configured by cfg.
func setupWith(t *testing.T, cfg workflow.Config) (func(principal string) *sfn.Client, *workflow.Engine, *workflow.Resources) {
	t.Helper()
	res := cfg.Resources
	e := workflowtest.StartEngine(t, cfg)
	h := sfnapi.New(e)
	h.MaxPoll = 5 * time.Second
	srv := httptest.NewServer(principalOf(h))
	t.Cleanup(srv.Close)
	// StartSyncExecution prefixes the host with "sync-"; every host name
	// dials the test server on loopback.
	addr := srv.Listener.Addr().String()
	httpClient := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}}
	return func(principal string) *sfn.Client {
		cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(principal, "test", ""), HTTPClient: httpClient,
			RetryMaxAttempts: 1}
		return sfn.NewFromConfig(cfg, func(o *sfn.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	}, e, res
}

func waitDone(t *testing.T, c *sfn.Client, arn string) *sfn.DescribeExecutionOutput {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != types.ExecutionStatusRunning {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still running", arn)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSDKExecutions(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	ctx := context.Background()

	_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("bad"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(workflowtest.Definition(t, "invalid"))})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), "/States/A/Next") {
		t.Fatalf("invalid definition: %v", err)
	}

	created, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pipeline20"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(workflowtest.Definition(t, "pipeline20"))})
	if err != nil {
		t.Fatal(err)
	}
	if created.CreationDate == nil || time.Since(*created.CreationDate) > time.Minute {
		t.Fatalf("creation date %v", created.CreationDate)
	}
	desc, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineArn})
	if err != nil || aws.ToString(desc.Name) != "pipeline20" || desc.Type != types.StateMachineTypeStandard || desc.Status != types.StateMachineStatusActive {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	list, err := c.ListStateMachines(ctx, &sfn.ListStateMachinesInput{})
	if err != nil || len(list.StateMachines) != 1 {
		t.Fatalf("list: %+v %v", list, err)
	}

	started, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{"wait": 0}`)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("run-1"), Input: aws.String(`{"wait": 1}`)})
	var exists *types.ExecutionAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("same name, other input: %v", err)
	}
	_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(strings.Replace(*created.StateMachineArn, "pipeline20", "nope", 1))})
	var noMachine *types.StateMachineDoesNotExist
	if !errors.As(err, &noMachine) {
		t.Fatalf("unknown machine: %v", err)
	}
	_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Input: aws.String(`{"wait":`)})
	var badInput *types.InvalidExecutionInput
	if !errors.As(err, &badInput) {
		t.Fatalf("bad input: %v", err)
	}

	done := waitDone(t, c, *started.ExecutionArn)
	if done.Status != types.ExecutionStatusSucceeded || aws.ToString(done.Output) != workflowtest.Pipeline20Output {
		t.Fatalf("execution: %s %s", done.Status, aws.ToString(done.Output))
	}
	if done.StopDate == nil || done.StopDate.Before(*done.StartDate) {
		t.Fatalf("dates %v %v", done.StartDate, done.StopDate)
	}

	var events []types.HistoryEvent
	pager := sfn.NewGetExecutionHistoryPaginator(c, &sfn.GetExecutionHistoryInput{ExecutionArn: started.ExecutionArn, MaxResults: 25})
	for pager.HasMorePages() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page.Events...)
	}
	counts := map[types.HistoryEventType]int{}
	for i, ev := range events {
		counts[ev.Type]++
		if ev.Id != int64(i+1) || ev.Timestamp == nil {
			t.Fatalf("event %d: id %d timestamp %v", i, ev.Id, ev.Timestamp)
		}
		switch ev.Type {
		case types.HistoryEventTypeTaskScheduled:
			if d := ev.TaskScheduledEventDetails; d == nil || !strings.HasPrefix(aws.ToString(d.Resource), "test:fn:") || d.Parameters == nil {
				t.Fatalf("TaskScheduled details: %+v", d)
			}
		case types.HistoryEventTypeTaskStateEntered:
			if d := ev.StateEnteredEventDetails; d == nil || d.Name == nil || d.Input == nil {
				t.Fatalf("TaskStateEntered details: %+v", d)
			}
		case types.HistoryEventTypeMapIterationStarted:
			if d := ev.MapIterationStartedEventDetails; d == nil || aws.ToString(d.Name) != "EachItem" {
				t.Fatalf("MapIterationStarted details: %+v", d)
			}
		case types.HistoryEventTypeExecutionSucceeded:
			if d := ev.ExecutionSucceededEventDetails; d == nil || aws.ToString(d.Output) != workflowtest.Pipeline20Output {
				t.Fatalf("ExecutionSucceeded details: %+v", d)
			}
		}
	}
	for typ, n := range workflowtest.Pipeline20Counts {
		if counts[types.HistoryEventType(typ)] != n {
			t.Errorf("%d %s events over the protocol, want %d", counts[types.HistoryEventType(typ)], typ, n)
		}
	}

	_, err = c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: created.StateMachineArn, Input: aws.String(`{"wait": 0}`)})
	var notSupported *types.StateMachineTypeNotSupported
	if !errors.As(err, &notSupported) {
		t.Fatalf("sync start of a STANDARD machine: %v", err)
	}
	express, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("pipeline20x"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(workflowtest.Definition(t, "pipeline20")), Type: types.StateMachineTypeExpress})
	if err != nil {
		t.Fatal(err)
	}
	sync, err := c.StartSyncExecution(ctx, &sfn.StartSyncExecutionInput{StateMachineArn: express.StateMachineArn, Input: aws.String(`{"wait": 0}`)})
	if err != nil || sync.Status != types.SyncExecutionStatusSucceeded || aws.ToString(sync.Output) != workflowtest.Pipeline20Output {
		t.Fatalf("sync: %+v %v", sync, err)
	}

	listed, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: created.StateMachineArn, StatusFilter: types.ExecutionStatusSucceeded})
	if err != nil || len(listed.Executions) != 1 {
		t.Fatalf("list executions: %+v %v", listed, err)
	}
	_, err = c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: started.ExecutionArn})
	var notRedrivable *types.ExecutionNotRedrivable
	if !errors.As(err, &notRedrivable) {
		t.Fatalf("redrive of a succeeded execution: %v", err)
	}
	_, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(*started.ExecutionArn + "x")})
	var noExec *types.ExecutionDoesNotExist
	if !errors.As(err, &noExec) {
		t.Fatalf("unknown execution: %v", err)
	}
	_, err = c.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String("not-an-arn")})
	var badArn *types.InvalidArn
	if !errors.As(err, &badArn) {
		t.Fatalf("bad arn: %v", err)
	}
}

func TestSDKStopAndTokens(t *testing.T) {
	t.Parallel()
	c, _, res := setup(t)
	ctx := context.Background()
	tokens := make(chan string, 2)
	fns := workflow.NewFunctions("test:cb:")
	fns.Add("notify", func(_ context.Context, inv workflow.Invocation) (json.RawMessage, error) {
		tokens <- inv.TaskToken
		return nil, nil
	})
	res.Register("test:cb:", fns)
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("callback"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(workflowtest.Definition(t, "callback"))})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"job": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	token := <-tokens
	if _, err := c.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: aws.String(token)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{"approved": true}`)}); err != nil {
		t.Fatal(err)
	}
	if out := waitDone(t, c, *ok.ExecutionArn); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("callback: %s", out.Status)
	}
	_, err = c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{}`)})
	var timedOut *types.TaskTimedOut
	if !errors.As(err, &timedOut) {
		t.Fatalf("settled token: %v", err)
	}
	_, err = c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String("nope")})
	var badToken *types.InvalidToken
	if !errors.As(err, &badToken) {
		t.Fatalf("malformed token: %v", err)
	}
	_, err = c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(strings.Repeat("0", 48))})
	var noTask *types.TaskDoesNotExist
	if !errors.As(err, &noTask) {
		t.Fatalf("unknown token: %v", err)
	}

	stopped, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"job": 2}`)})
	if err != nil {
		t.Fatal(err)
	}
	token = <-tokens
	if _, err := c.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: stopped.ExecutionArn, Error: aws.String("Ops.Cancel"), Cause: aws.String("not needed")}); err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *stopped.ExecutionArn)
	if out.Status != types.ExecutionStatusAborted || aws.ToString(out.Error) != "Ops.Cancel" {
		t.Fatalf("stopped: %s %s", out.Status, aws.ToString(out.Error))
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: aws.String(token), Output: aws.String(`{}`)}); !errors.As(err, &timedOut) {
		t.Fatalf("token of a stopped execution: %v", err)
	}
	if _, err := c.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: stopped.ExecutionArn}); err != nil {
		t.Fatalf("redrive stopped: %v", err)
	}
	token = <-tokens
	if _, err := c.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: aws.String(token), Error: aws.String("Review.Rejected"), Cause: aws.String("no")}); err != nil {
		t.Fatal(err)
	}
	out = waitDone(t, c, *stopped.ExecutionArn)
	if out.Status != types.ExecutionStatusFailed || aws.ToString(out.Error) != "Review.Rejected" || out.RedriveCount == nil || *out.RedriveCount != 1 {
		t.Fatalf("after redrive: %s %s %v", out.Status, aws.ToString(out.Error), out.RedriveCount)
	}
}

func TestSDKActivities(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	ctx := context.Background()
	act, err := c.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("suite-work")})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := c.DescribeActivity(ctx, &sfn.DescribeActivityInput{ActivityArn: act.ActivityArn}); err != nil || aws.ToString(d.Name) != "suite-work" {
		t.Fatalf("describe activity: %+v %v", d, err)
	}
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("activity"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(workflowtest.Definition(t, "activity"))})
	if err != nil {
		t.Fatal(err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"n": 3}`)})
	if err != nil {
		t.Fatal(err)
	}
	task, err := c.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn, WorkerName: aws.String("sdk-worker")})
	if err != nil || aws.ToString(task.TaskToken) == "" || aws.ToString(task.Input) != `{"n":3}` {
		t.Fatalf("get task: %+v %v", task, err)
	}
	if _, err := c.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`{"squared": 9}`)}); err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *x.ExecutionArn)
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != `{"n":3,"result":{"squared":9}}` {
		t.Fatalf("activity execution: %s %s", out.Status, aws.ToString(out.Output))
	}
	_, err = c.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String(strings.Replace(*act.ActivityArn, "suite-work", "none", 1))})
	var noActivity *types.ActivityDoesNotExist
	if !errors.As(err, &noActivity) {
		t.Fatalf("unknown activity: %v", err)
	}
}

func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	e := workflowtest.StartEngine(t, workflowtest.Config(workflowtest.SQLite(t), nil))
	h := sfnapi.New(e)
	for _, tc := range []struct {
		target, body string
		status       int
		typ          string
	}{
		{"AWSStepFunctions.Nope", `{}`, 400, "UnknownOperationException"},
		{"Other.StartExecution", `{}`, 400, "UnknownOperationException"},
		{"AWSStepFunctions.StartExecution", `{"stateMachineArn": 5}`, 400, "ValidationException"},
		{"AWSStepFunctions.StartExecution", `not json`, 400, "SerializationException"},
		{"AWSStepFunctions.DescribeExecution", `{"executionArn": "x"}`, 400, "InvalidArn"},
		{"AWSStepFunctions.CreateStateMachine", `{"name": "a b", "definition": "{}"}`, 400, "InvalidName"},
		// NUL bytes and broken UTF-8 are named, never a database's error.
		{"AWSStepFunctions.DescribeExecution", `{"executionArn": "arn:aws:states:local:000000000000:execution:m:a\u0000b"}`, 400, "InvalidArn"},
		{"AWSStepFunctions.DescribeStateMachine", `{"stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:m\u0000"}`, 400, "InvalidArn"},
		{"AWSStepFunctions.StartExecution", `{"stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:m\u0000"}`, 400, "InvalidArn"},
		{"AWSStepFunctions.StartExecution", `{"stateMachineArn": "arn:aws:states:local:000000000000:stateMachine:m", "name": "a\u0000"}`, 400, "InvalidName"},
		{"AWSStepFunctions.SendTaskSuccess", `{"taskToken": "t\u0000", "output": "{}"}`, 400, "InvalidToken"},
		{"AWSStepFunctions.SendTaskHeartbeat", `{"taskToken": "t\u0000"}`, 400, "InvalidToken"},
		{"AWSStepFunctions.StopExecution", `{"executionArn": "arn:aws:states:local:000000000000:execution:m:\u0000"}`, 400, "InvalidArn"},
		{"AWSStepFunctions.CreateActivity", `{"name": "a\u0000"}`, 400, "InvalidName"},
		{"AWSStepFunctions.GetExecutionHistory", `{"executionArn": "arn:aws:states:local:000000000000:execution:m:\u0000"}`, 400, "InvalidArn"},
	} {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.body))
		r = r.WithContext(identity.NewContext(r.Context(), identity.Principal{Role: identity.RoleAdmin}))
		r.Header.Set("X-Amz-Target", tc.target)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var body struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != tc.status || body.Type != tc.typ || body.Message == "" || strings.Contains(body.Message, "SQLSTATE") || strings.Contains(body.Message, "sql") {
			t.Errorf("%s %s: %d %s", tc.target, tc.body, w.Code, w.Body)
		}
	}
}
