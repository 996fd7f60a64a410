package sfnapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/workflow/workflowtest"
)

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// TestSDKTenants: over the Step Functions protocol, a request without a
// principal is refused, tenants cannot change the installation's state
// machines or activities, and tenant B cannot list, describe, read the
// history of, stop, redrive or settle the task tokens of tenant A's
// executions: each answers exactly as for a missing one.
func TestSDKTenants(t *testing.T) {
	t.Parallel()
	clientAs, _, _ := setupAs(t)
	ctx := context.Background()
	admin, a, b, nobody := clientAs("admin"), clientAs("tenant.acme"), clientAs("tenant.globex"), clientAs("none")
	def := `{"StartAt": "W", "States": {"W": {"Type": "Task", "Resource": "arn:aws:states:local:000000000000:activity:review", "End": true}}}`

	if _, err := nobody.ListStateMachines(ctx, &sfn.ListStateMachinesInput{}); apiErrorCode(err) != "UnrecognizedClientException" {
		t.Fatalf("no principal: %v", err)
	}
	if _, err := a.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("media"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::1:role/r")}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant creates a state machine: %v", err)
	}
	if _, err := a.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("review")}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant creates an activity: %v", err)
	}
	sm, err := admin.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("media"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::1:role/r")})
	if err != nil {
		t.Fatal(err)
	}
	act, err := admin.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("review")})
	if err != nil {
		t.Fatal(err)
	}
	takeover := `{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "mine", "End": true}}}`
	if _, err := b.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: sm.StateMachineArn, Definition: aws.String(takeover)}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant updates the pipeline: %v", err)
	}
	if _, err := b.DeleteStateMachine(ctx, &sfn.DeleteStateMachineInput{StateMachineArn: sm.StateMachineArn}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant deletes the pipeline: %v", err)
	}
	if _, err := b.DeleteActivity(ctx, &sfn.DeleteActivityInput{ActivityArn: act.ActivityArn}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant deletes the activity: %v", err)
	}
	if _, err := b.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn}); apiErrorCode(err) != "AccessDeniedException" {
		t.Fatalf("tenant polls activity tasks: %v", err)
	}
	if d, err := b.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: sm.StateMachineArn}); err != nil || aws.ToString(d.Definition) != def {
		t.Fatalf("tenant describes the pipeline: %v", err)
	}

	xa, err := a.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("a1"), Input: aws.String(`{"secret": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("a1"), Input: aws.String(`{"secret": 1}`)}); apiErrorCode(err) != "ExecutionAlreadyExists" {
		t.Fatalf("globex reuses acme's name: %v", err)
	}
	if _, err := b.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("b1")}); err != nil {
		t.Fatal(err)
	}
	list, err := b.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(list.Executions) != 1 || aws.ToString(list.Executions[0].Name) != "b1" {
		t.Fatalf("globex lists: %+v %v", list, err)
	}
	all, err := admin.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil || len(all.Executions) != 2 {
		t.Fatalf("admin lists: %+v %v", all, err)
	}

	missing := strings.Replace(*xa.ExecutionArn, ":a1", ":zz", 1)
	for _, arn := range []string{*xa.ExecutionArn, missing} {
		_, err := b.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		var ne *types.ExecutionDoesNotExist
		if !errors.As(err, &ne) {
			t.Fatalf("globex describes %s: %v", arn, err)
		}
		if _, err := b.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn)}); !errors.As(err, &ne) {
			t.Fatalf("globex reads the history of %s: %v", arn, err)
		}
		if _, err := b.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn)}); !errors.As(err, &ne) {
			t.Fatalf("globex stops %s: %v", arn, err)
		}
		if _, err := b.RedriveExecution(ctx, &sfn.RedriveExecutionInput{ExecutionArn: aws.String(arn)}); !errors.As(err, &ne) {
			t.Fatalf("globex redrives %s: %v", arn, err)
		}
	}
	if _, err := nobody.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: xa.ExecutionArn}); apiErrorCode(err) != "UnrecognizedClientException" {
		t.Fatalf("no principal describes: %v", err)
	}

	task, err := admin.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: act.ActivityArn, WorkerName: aws.String("w")})
	if err != nil || aws.ToString(task.TaskToken) == "" {
		t.Fatalf("poll: %+v %v", task, err)
	}
	var noTask *types.TaskDoesNotExist
	if _, err := b.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`"forged"`)}); !errors.As(err, &noTask) {
		t.Fatalf("globex settles acme's task: %v", err)
	}
	if _, err := b.SendTaskFailure(ctx, &sfn.SendTaskFailureInput{TaskToken: task.TaskToken}); !errors.As(err, &noTask) {
		t.Fatalf("globex fails acme's task: %v", err)
	}
	if _, err := b.SendTaskHeartbeat(ctx, &sfn.SendTaskHeartbeatInput{TaskToken: task.TaskToken}); !errors.As(err, &noTask) {
		t.Fatalf("globex heartbeats acme's task: %v", err)
	}
	if _, err := a.SendTaskSuccess(ctx, &sfn.SendTaskSuccessInput{TaskToken: task.TaskToken, Output: aws.String(`"approved"`)}); err != nil {
		t.Fatalf("acme settles its task: %v", err)
	}
	out := waitDone(t, a, *xa.ExecutionArn)
	if out.Status != types.ExecutionStatusSucceeded || aws.ToString(out.Output) != `"approved"` {
		t.Fatalf("acme's execution: %s %s", out.Status, aws.ToString(out.Output))
	}
	if _, err := b.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: xa.ExecutionArn}); err == nil {
		t.Fatal("globex stopped acme's execution")
	}
}

// TestSDKExecutionLimit: a tenant at its concurrent executions limit gets
// ExecutionLimitExceeded; another tenant does not.
func TestSDKExecutionLimit(t *testing.T) {
	t.Parallel()
	cfg := workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources())
	cfg.ConcurrentExecutions = 1
	clientAs, _, _ := setupWith(t, cfg)
	ctx := context.Background()
	sm, err := clientAs("admin").CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("long"), RoleArn: aws.String("arn:aws:iam::1:role/r"),
		Definition: aws.String(`{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 600, "End": true}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	a := clientAs("tenant.acme")
	if _, err := a.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn}); err != nil {
		t.Fatal(err)
	}
	_, err = a.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn})
	var limit *types.ExecutionLimitExceeded
	if !errors.As(err, &limit) {
		t.Fatalf("second acme execution: %v, want ExecutionLimitExceeded", err)
	}
	if _, err := clientAs("tenant.globex").StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn}); err != nil {
		t.Fatalf("globex: %v", err)
	}
}

// TestSDKMapRunTenants: tenant B cannot list, describe or list the child
// executions of tenant A's map runs; each answers as for a missing one.
func TestSDKMapRunTenants(t *testing.T) {
	t.Parallel()
	clientAs, _, _ := setupAs(t)
	ctx := context.Background()
	admin, a, b := clientAs("admin"), clientAs("tenant.acme"), clientAs("tenant.globex")
	def := `{"StartAt": "Each", "States": {"Each": {"Type": "Map", "ItemsPath": "$.xs",
		"ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}, "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}},
		"End": true}}}`
	sm, err := admin.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("each"), Definition: aws.String(def), RoleArn: aws.String("arn:aws:iam::1:role/r")})
	if err != nil {
		t.Fatal(err)
	}
	xa, err := a.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Input: aws.String(`{"xs": [1, 2, 3]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if out := waitDone(t, a, *xa.ExecutionArn); out.Status != types.ExecutionStatusSucceeded {
		t.Fatalf("acme's execution: %s %s", out.Status, aws.ToString(out.Cause))
	}
	runs, err := a.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: xa.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 1 {
		t.Fatalf("acme lists its map runs: %+v %v", runs, err)
	}
	run := runs.MapRuns[0].MapRunArn
	if _, err := a.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: run}); err != nil {
		t.Fatalf("acme describes its map run: %v", err)
	}
	var ne *types.ExecutionDoesNotExist
	if _, err := b.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: xa.ExecutionArn}); !errors.As(err, &ne) {
		t.Fatalf("globex lists acme's map runs: %v", err)
	}
	var nf *types.ResourceNotFound
	if _, err := b.DescribeMapRun(ctx, &sfn.DescribeMapRunInput{MapRunArn: run}); !errors.As(err, &nf) {
		t.Fatalf("globex describes acme's map run: %v", err)
	}
	if _, err := b.ListExecutions(ctx, &sfn.ListExecutionsInput{MapRunArn: run}); !errors.As(err, &nf) {
		t.Fatalf("globex lists the children of acme's map run: %v", err)
	}
}
