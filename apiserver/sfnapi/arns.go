package sfnapi

import (
	"context"

	"github.com/landfall/landfall/workflow"
)

// need is what an action asks of its caller.
type need int

const (
	reads       need = iota // read the installation's state machines and activities
	administers             // create, change or delete them
)

// allow checks that the caller may do what an action needs.
func allow(ctx context.Context, n need) error {
	a := workflow.AccessOf(ctx)
	var err error
	if n == administers {
		err = a.Administer()
	} else {
		err = a.Read()
	}
	return mapErr(err, "", "")
}

// The checks below, one for each kind of ARN a request names, run after
// the request is decoded: first the caller's access, then the ARN's form
// (InvalidArn), so a caller without the right learns nothing about
// what it named.

// machine checks a state machine ARN (a version's or an alias's too).
func machine(ctx context.Context, arn string, n need) error {
	if err := allow(ctx, n); err != nil {
		return err
	}
	return arnKind(arn, "stateMachine")
}

// version checks a state machine version ARN.
func version(ctx context.Context, arn string, n need) error {
	if err := allow(ctx, n); err != nil {
		return err
	}
	if err := arnKind(arn, "stateMachine"); err != nil || !workflow.IsVersionARN(arn) {
		return fail("InvalidArn", "Invalid Arn: '%s': not a state machine version ARN", arn)
	}
	return nil
}

// alias checks a state machine alias ARN.
func alias(ctx context.Context, arn string, n need) error {
	if err := allow(ctx, n); err != nil {
		return err
	}
	if err := arnKind(arn, "stateMachine"); err != nil || !workflow.IsAliasARN(arn) {
		return fail("InvalidArn", "Invalid Arn: '%s': not a state machine alias ARN", arn)
	}
	return nil
}

// tagged checks the ARN of a resource that has tags: a state machine, an
// alias or an activity.
func tagged(ctx context.Context, arn string, n need) error {
	if err := allow(ctx, n); err != nil {
		return err
	}
	if arnKind(arn, "stateMachine") != nil && arnKind(arn, "activity") != nil {
		return fail("InvalidArn", "Invalid Arn: '%s': tags belong to state machines, aliases and activities", arn)
	}
	return nil
}

// activity checks an activity ARN.
func activity(ctx context.Context, arn string, n need) error {
	if err := allow(ctx, n); err != nil {
		return err
	}
	return arnKind(arn, "activity")
}

// execution checks an execution ARN and returns the execution when the
// caller may read it (and, with change, stop or redrive it); another
// tenant's execution is reported missing.
func (h *Handler) execution(ctx context.Context, arn string, change bool) (*workflow.Execution, error) {
	if err := arnKind(arn, "execution"); err != nil {
		return nil, err
	}
	x, err := h.e.Authorize(ctx, workflow.AccessOf(ctx), arn, change)
	if err != nil {
		return nil, mapErr(err, "ExecutionDoesNotExist", "")
	}
	return x, nil
}

// executionOf decodes a request that names one execution and checks it
// like execution.
func (h *Handler) executionOf(ctx context.Context, body []byte, change bool) (*workflow.Execution, error) {
	var req executionRequest
	if err := decode(body, &req); err != nil {
		return nil, err
	}
	return h.execution(ctx, req.ExecutionARN, change)
}
