package sfnapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/landfall/landfall/workflow/workflowtest"
)

const (
	role      = "arn:aws:iam::123456789012:role/sfn"
	passDef   = `{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`
	echoDef   = `{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"test:fn:echo","End":true}}}`
	pass2Def  = `{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"v":2},"End":true}}}`
	unservDef = `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Send"},"Send":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:123456789012:function:nope","End":true}}}`
)

// TestSDKAnswers: the calls whose answers must be Step Functions' own.
func TestSDKAnswers(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	ctx := context.Background()

	// type FOO is a ValidationException; roleArn must be a role's ARN.
	_, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String(role), Definition: aws.String(passDef),
		Type: types.StateMachineType("FOO")})
	if apiErrorCode(err) != "ValidationException" {
		t.Fatalf("type FOO: %v", err)
	}
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String("not-an-arn"), Definition: aws.String(passDef)})
	var badArn *types.InvalidArn
	if !errors.As(err, &badArn) {
		t.Fatalf("roleArn not-an-arn: %v", err)
	}
	// A Task nothing serves is refused at create time, naming the state.
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String(role), Definition: aws.String(unservDef)})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) || !strings.Contains(invalid.ErrorMessage(), `state "Send"`) || !strings.Contains(invalid.ErrorMessage(), "/States/Send/Resource") {
		t.Fatalf("unserved resource: %v", err)
	}

	created, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String(role), Definition: aws.String(passDef),
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("media")}}})
	if err != nil {
		t.Fatal(err)
	}
	// Same request with another role alone: idempotent, role unchanged.
	again, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String("arn:aws:iam::123456789012:role/other"),
		Definition: aws.String(passDef)})
	if err != nil || aws.ToString(again.StateMachineArn) != aws.ToString(created.StateMachineArn) {
		t.Fatalf("create again with another role: %+v %v", again, err)
	}
	// Another logging configuration is another request.
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("m"), RoleArn: aws.String(role), Definition: aws.String(passDef),
		LoggingConfiguration: &types.LoggingConfiguration{Level: types.LogLevelAll}})
	var exists *types.StateMachineAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("create again with other logging: %v", err)
	}
	tags, err := c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: created.StateMachineArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" || aws.ToString(tags.Tags[0].Value) != "media" {
		t.Fatalf("tags: %+v %v", tags, err)
	}
	if _, err := c.TagResource(ctx, &sfn.TagResourceInput{ResourceArn: created.StateMachineArn, Tags: []types.Tag{{Key: aws.String("cost"), Value: aws.String("42")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &sfn.UntagResourceInput{ResourceArn: created.StateMachineArn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err = c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: created.StateMachineArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "cost" {
		t.Fatalf("tags after tag and untag: %+v %v", tags, err)
	}
	_, err = c.ListTagsForResource(ctx, &sfn.ListTagsForResourceInput{ResourceArn: aws.String(*created.StateMachineArn + "nope")})
	var notFound *types.ResourceNotFound
	if !errors.As(err, &notFound) {
		t.Fatalf("tags of a missing machine: %v", err)
	}

	// UpdateStateMachine with only a role, or only logging.
	if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, RoleArn: aws.String("arn:aws:iam::123456789012:role/next")}); err != nil {
		t.Fatalf("update role only: %v", err)
	}
	if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn,
		LoggingConfiguration: &types.LoggingConfiguration{Level: types.LogLevelError}}); err != nil {
		t.Fatalf("update logging only: %v", err)
	}
	desc, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineArn})
	if err != nil || aws.ToString(desc.RoleArn) != "arn:aws:iam::123456789012:role/next" || aws.ToString(desc.Definition) != passDef ||
		desc.LoggingConfiguration == nil || desc.LoggingConfiguration.Level != types.LogLevelError {
		t.Fatalf("after updates: %+v %v", desc, err)
	}
	if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn}); apiErrorCode(err) != "MissingRequiredParameter" {
		t.Fatalf("update of nothing: %v", err)
	}

	// A closed execution's name is ExecutionAlreadyExists.
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("once"), Input: aws.String(`{"a":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	waitDone(t, c, *x.ExecutionArn)
	_, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineArn, Name: aws.String("once"), Input: aws.String(`{"a":1}`)})
	var already *types.ExecutionAlreadyExists
	if !errors.As(err, &already) {
		t.Fatalf("start with a closed execution's name: %v", err)
	}

	// History events with a payload say it was not truncated.
	hist, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range hist.Events {
		switch ev.Type {
		case types.HistoryEventTypePassStateEntered:
			if d := ev.StateEnteredEventDetails; d == nil || d.InputDetails == nil || d.InputDetails.Truncated {
				t.Fatalf("PassStateEntered: %+v", d)
			}
		case types.HistoryEventTypePassStateExited:
			if d := ev.StateExitedEventDetails; d == nil || d.OutputDetails == nil {
				t.Fatalf("PassStateExited: %+v", d)
			}
		case types.HistoryEventTypeExecutionSucceeded:
			if d := ev.ExecutionSucceededEventDetails; d == nil || d.OutputDetails == nil {
				t.Fatalf("ExecutionSucceeded: %+v", d)
			}
		}
	}

	// The definition an execution ran, after the machine changed.
	if _, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, Definition: aws.String(pass2Def)}); err != nil {
		t.Fatal(err)
	}
	fx, err := c.DescribeStateMachineForExecution(ctx, &sfn.DescribeStateMachineForExecutionInput{ExecutionArn: x.ExecutionArn})
	if err != nil || aws.ToString(fx.Definition) != passDef || aws.ToString(fx.Name) != "m" {
		t.Fatalf("describe for execution: %+v %v", fx, err)
	}

	// Validation without creating.
	v, err := c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(`{"StartAt":"X","States":{}}`)})
	if err != nil || v.Result != types.ValidateStateMachineDefinitionResultCodeFail || len(v.Diagnostics) == 0 {
		t.Fatalf("validate bad: %+v %v", v, err)
	}
	v, err = c.ValidateStateMachineDefinition(ctx, &sfn.ValidateStateMachineDefinitionInput{Definition: aws.String(echoDef)})
	if err != nil || v.Result != types.ValidateStateMachineDefinitionResultCodeOk {
		t.Fatalf("validate good: %+v %v", v, err)
	}

	// TestState through the protocol: a mocked and a real task.
	ts, err := c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Task","Resource":"test:fn:echo","ResultPath":"$.r","End":true}`),
		Input: aws.String(`{"x":1}`), Mock: &types.MockInput{Result: aws.String(`"mocked"`)}})
	if err != nil || ts.Status != types.TestExecutionStatusSucceeded || aws.ToString(ts.Output) != `{"r":"mocked","x":1}` {
		t.Fatalf("test state mocked: %+v %v", ts, err)
	}
	ts, err = c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Task","Resource":"test:fn:fail","End":true}`), Input: aws.String(`{}`),
		InspectionLevel: types.InspectionLevelDebug, Mock: &types.MockInput{ErrorOutput: &types.MockErrorOutput{Error: aws.String("Boom"), Cause: aws.String("why")}}})
	if err != nil || ts.Status != types.TestExecutionStatusFailed || aws.ToString(ts.Error) != "Boom" || ts.InspectionData == nil {
		t.Fatalf("test state mocked error: %+v %v", ts, err)
	}
	// Parallel branches without a mock run their tasks through the
	// engine's invokers.
	ts, err = c.TestState(ctx, &sfn.TestStateInput{Definition: aws.String(`{"Type":"Parallel","End":true,"Branches":[{"StartAt":"E","States":{"E":{"Type":"Task","Resource":"test:fn:echo","End":true}}}]}`),
		Input: aws.String(`{"k":"v"}`)})
	if err != nil || ts.Status != types.TestExecutionStatusSucceeded || aws.ToString(ts.Output) != `[{"k":"v"}]` {
		t.Fatalf("test state parallel: %+v %v", ts, err)
	}

	runs, err := c.ListMapRuns(ctx, &sfn.ListMapRunsInput{ExecutionArn: x.ExecutionArn})
	if err != nil || len(runs.MapRuns) != 0 {
		t.Fatalf("map runs: %+v %v", runs, err)
	}
}

// TestSDKVersionsAndAliases: publish, describe, list, start by a
// version's and an alias's ARN.
func TestSDKVersionsAndAliases(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t)
	ctx := context.Background()
	created, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("v"), RoleArn: aws.String(role), Definition: aws.String(passDef),
		Publish: true, VersionDescription: aws.String("first")})
	if err != nil || aws.ToString(created.StateMachineVersionArn) != aws.ToString(created.StateMachineArn)+":1" {
		t.Fatalf("create and publish: %+v %v", created, err)
	}
	up, err := c.UpdateStateMachine(ctx, &sfn.UpdateStateMachineInput{StateMachineArn: created.StateMachineArn, Definition: aws.String(pass2Def), Publish: true})
	if err != nil || aws.ToString(up.StateMachineVersionArn) != aws.ToString(created.StateMachineArn)+":2" {
		t.Fatalf("update and publish: %+v %v", up, err)
	}
	_, err = c.PublishStateMachineVersion(ctx, &sfn.PublishStateMachineVersionInput{StateMachineArn: created.StateMachineArn, RevisionId: aws.String("1")})
	if apiErrorCode(err) != "ConflictException" {
		t.Fatalf("publish a stale revision: %v", err)
	}
	vs, err := c.ListStateMachineVersions(ctx, &sfn.ListStateMachineVersionsInput{StateMachineArn: created.StateMachineArn})
	if err != nil || len(vs.StateMachineVersions) != 2 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	d1, err := c.DescribeStateMachine(ctx, &sfn.DescribeStateMachineInput{StateMachineArn: created.StateMachineVersionArn})
	if err != nil || aws.ToString(d1.Definition) != passDef || aws.ToString(d1.Description) != "first" {
		t.Fatalf("describe version 1: %+v %v", d1, err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: created.StateMachineVersionArn, Input: aws.String(`{"v":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	out := waitDone(t, c, *x.ExecutionArn)
	if aws.ToString(out.Output) != `{"v":1}` || aws.ToString(out.StateMachineVersionArn) != aws.ToString(created.StateMachineVersionArn) {
		t.Fatalf("execution of version 1: %s %v", aws.ToString(out.Output), aws.ToString(out.StateMachineVersionArn))
	}
	alias, err := c.CreateStateMachineAlias(ctx, &sfn.CreateStateMachineAliasInput{Name: aws.String("prod"),
		RoutingConfiguration: []types.RoutingConfigurationListItem{{StateMachineVersionArn: up.StateMachineVersionArn, Weight: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	x, err = c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: alias.StateMachineAliasArn})
	if err != nil {
		t.Fatal(err)
	}
	out = waitDone(t, c, *x.ExecutionArn)
	if aws.ToString(out.Output) != `{"v":2}` || aws.ToString(out.StateMachineAliasArn) != aws.ToString(alias.StateMachineAliasArn) ||
		aws.ToString(out.StateMachineVersionArn) != aws.ToString(up.StateMachineVersionArn) {
		t.Fatalf("execution by alias: %+v", out)
	}
	da, err := c.DescribeStateMachineAlias(ctx, &sfn.DescribeStateMachineAliasInput{StateMachineAliasArn: alias.StateMachineAliasArn})
	if err != nil || aws.ToString(da.Name) != "prod" || len(da.RoutingConfiguration) != 1 {
		t.Fatalf("describe alias: %+v %v", da, err)
	}
	if _, err := c.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: up.StateMachineVersionArn}); apiErrorCode(err) != "ConflictException" {
		t.Fatalf("delete a routed version: %v", err)
	}
	if _, err := c.UpdateStateMachineAlias(ctx, &sfn.UpdateStateMachineAliasInput{StateMachineAliasArn: alias.StateMachineAliasArn,
		RoutingConfiguration: []types.RoutingConfigurationListItem{{StateMachineVersionArn: created.StateMachineVersionArn, Weight: 100}}}); err != nil {
		t.Fatal(err)
	}
	as, err := c.ListStateMachineAliases(ctx, &sfn.ListStateMachineAliasesInput{StateMachineArn: created.StateMachineArn})
	if err != nil || len(as.StateMachineAliases) != 1 {
		t.Fatalf("aliases: %+v %v", as, err)
	}
	if _, err := c.DeleteStateMachineAlias(ctx, &sfn.DeleteStateMachineAliasInput{StateMachineAliasArn: alias.StateMachineAliasArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteStateMachineVersion(ctx, &sfn.DeleteStateMachineVersionInput{StateMachineVersionArn: up.StateMachineVersionArn}); err != nil {
		t.Fatal(err)
	}
}

// TestSDKRegionAccount: the configured region and account are in every
// ARN and in TaskScheduled; activity ARNs match in full.
func TestSDKRegionAccount(t *testing.T) {
	t.Parallel()
	cfg := workflowtest.Config(workflowtest.SQLite(t), workflowtest.Resources())
	cfg.Region, cfg.Account = "eu-west-1", "123456789012"
	clientAs, _, _ := setupWith(t, cfg)
	c := clientAs("anonymous")
	ctx := context.Background()
	sm, err := c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("r"), RoleArn: aws.String(role), Definition: aws.String(echoDef)})
	if err != nil || aws.ToString(sm.StateMachineArn) != "arn:aws:states:eu-west-1:123456789012:stateMachine:r" {
		t.Fatalf("create: %+v %v", sm, err)
	}
	x, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String("arn:aws:states:eu-west-1:123456789012:stateMachine:r")})
	if err != nil || !strings.HasPrefix(aws.ToString(x.ExecutionArn), "arn:aws:states:eu-west-1:123456789012:execution:r:") {
		t.Fatalf("start: %+v %v", x, err)
	}
	waitDone(t, c, *x.ExecutionArn)
	hist, err := c.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: x.ExecutionArn})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, ev := range hist.Events {
		if ev.Type == types.HistoryEventTypeTaskScheduled {
			found = aws.ToString(ev.TaskScheduledEventDetails.Region) == "eu-west-1"
		}
	}
	if !found {
		t.Fatalf("TaskScheduled does not report eu-west-1: %+v", hist.Events)
	}
	act, err := c.CreateActivity(ctx, &sfn.CreateActivityInput{Name: aws.String("work")})
	if err != nil || aws.ToString(act.ActivityArn) != "arn:aws:states:eu-west-1:123456789012:activity:work" {
		t.Fatalf("activity: %+v %v", act, err)
	}
	_, err = c.GetActivityTask(ctx, &sfn.GetActivityTaskInput{ActivityArn: aws.String("arn:aws:states:us-east-1:999999999999:activity:work")})
	var noActivity *types.ActivityDoesNotExist
	if !errors.As(err, &noActivity) {
		t.Fatalf("another region's activity of the same name: %v", err)
	}
	_, err = c.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("a"), RoleArn: aws.String(role),
		Definition: aws.String(`{"StartAt":"W","States":{"W":{"Type":"Task","Resource":"arn:aws:states:us-east-1:999999999999:activity:work","End":true}}}`)})
	var invalid *types.InvalidDefinition
	if !errors.As(err, &invalid) {
		t.Fatalf("a machine using another account's activity: %v", err)
	}
}
