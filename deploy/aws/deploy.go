package aws

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/landfall/landfall/errcode"
)

// DeployOptions configure DeployStack.
type DeployOptions struct {
	Stack    string
	Region   string
	Template Options
	// Build builds the Lambda package; without it Template.CodeKey must
	// already be in Template.CodeBucket.
	Build bool
	// Zip is a prebuilt package to upload instead of building one.
	Zip string
	// Progress receives one line per stack event.
	Progress io.Writer
	// AWS is a ready SDK configuration (tests); loaded for Region when nil.
	AWS *awssdk.Config
	// CloudFormationEndpoint and S3Endpoint override the services'
	// endpoints (tests).
	CloudFormationEndpoint, S3Endpoint string
	// Poll is the interval between status reads (default 5 s).
	Poll time.Duration
}

// DeployStack builds the template and the Lambda package, uploads both to
// the code bucket, and creates or updates the stack through a change set,
// printing the stack's events until it settles. A stack that rolls back
// is an error naming the resources that failed and why.
func DeployStack(ctx context.Context, o DeployOptions) error {
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.Poll <= 0 {
		o.Poll = 5 * time.Second
	}
	if !stackNameRe.MatchString(o.Stack) {
		return errcode.New(errcode.Invalid, "stack: %q must be 1–64 of letters, digits and '-', starting with a letter (it prefixes table and rule names)", o.Stack)
	}
	o.Template.Defaults()
	tmpl, err := Generate(o.Template)
	if err != nil {
		return err
	}
	body, err := tmpl.JSON()
	if err != nil {
		return err
	}
	var ac awssdk.Config
	if o.AWS != nil {
		ac = *o.AWS
	} else if ac, err = config.LoadDefaultConfig(ctx, config.WithRegion(o.Region)); err != nil {
		return errcode.Wrap(errcode.FailedPrecond, err, "AWS configuration")
	}
	s3c := s3.NewFromConfig(ac, func(so *s3.Options) {
		if o.S3Endpoint != "" {
			so.BaseEndpoint = awssdk.String(o.S3Endpoint)
			so.UsePathStyle = true
		}
	})
	cfn := cloudformation.NewFromConfig(ac, func(co *cloudformation.Options) {
		if o.CloudFormationEndpoint != "" {
			co.BaseEndpoint = awssdk.String(o.CloudFormationEndpoint)
		}
	})

	zipPath := o.Zip
	if zipPath == "" && o.Build {
		dir, err := os.MkdirTemp("", "landfall-deploy-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		fmt.Fprintf(o.Progress, "building the Lambda package (%s)\n", o.Template.Architecture)
		if zipPath, err = BuildLambda(ctx, dir, o.Template.Architecture); err != nil {
			return err
		}
	}
	codeKey := o.Template.CodeKey
	if zipPath != "" {
		z, err := os.ReadFile(zipPath)
		if err != nil {
			return err
		}
		// Content-addressed, so CloudFormation sees new code as a change.
		codeKey = fmt.Sprintf("landfall/%s/lambda-%s-%s.zip", o.Stack, o.Template.Architecture, shortHash(z))
		if err := put(ctx, s3c, o.Template.CodeBucket, codeKey, z); err != nil {
			return err
		}
		fmt.Fprintf(o.Progress, "uploaded s3://%s/%s (%d bytes)\n", o.Template.CodeBucket, codeKey, len(z))
	}
	// Templates past 51,200 bytes must come from S3.
	tmplKey := fmt.Sprintf("landfall/%s/template-%s.json", o.Stack, shortHash(body))
	if err := put(ctx, s3c, o.Template.CodeBucket, tmplKey, body); err != nil {
		return err
	}
	tmplURL := fmt.Sprintf("https://%s.s3.%s.amazonaws.com/%s", o.Template.CodeBucket, o.Region, tmplKey)
	if o.S3Endpoint != "" {
		tmplURL = strings.TrimSuffix(o.S3Endpoint, "/") + "/" + o.Template.CodeBucket + "/" + tmplKey
	}

	exists, err := stackExists(ctx, cfn, o.Stack)
	if err != nil {
		return err
	}
	csType := cfntypes.ChangeSetTypeCreate
	if exists {
		csType = cfntypes.ChangeSetTypeUpdate
	}
	csName := fmt.Sprintf("landfall-%d", time.Now().Unix())
	cs, err := cfn.CreateChangeSet(ctx, &cloudformation.CreateChangeSetInput{
		StackName: awssdk.String(o.Stack), ChangeSetName: awssdk.String(csName), ChangeSetType: csType,
		TemplateURL:  awssdk.String(tmplURL),
		Capabilities: []cfntypes.Capability{cfntypes.CapabilityCapabilityIam, cfntypes.CapabilityCapabilityNamedIam},
		Parameters: []cfntypes.Parameter{
			{ParameterKey: awssdk.String("CodeS3Bucket"), ParameterValue: awssdk.String(o.Template.CodeBucket)},
			{ParameterKey: awssdk.String("CodeS3Key"), ParameterValue: awssdk.String(codeKey)},
		},
		Tags:        []cfntypes.Tag{{Key: awssdk.String("landfall:stack"), Value: awssdk.String(o.Stack)}},
		Description: awssdk.String("landfall deploy aws"),
	})
	if err != nil {
		return apiErr(err, "create change set")
	}
	fmt.Fprintf(o.Progress, "change set %s (%s) created; waiting for it\n", csName, strings.ToLower(string(csType)))
	changes, err := waitChangeSet(ctx, cfn, o, awssdk.ToString(cs.Id))
	if err != nil {
		return err
	}
	if changes == 0 {
		fmt.Fprintf(o.Progress, "stack %s is up to date: nothing to change\n", o.Stack)
		_, _ = cfn.DeleteChangeSet(ctx, &cloudformation.DeleteChangeSetInput{ChangeSetName: cs.Id, StackName: awssdk.String(o.Stack)})
		return nil
	}
	started := time.Now().Add(-time.Minute)
	if _, err := cfn.ExecuteChangeSet(ctx, &cloudformation.ExecuteChangeSetInput{ChangeSetName: cs.Id, StackName: awssdk.String(o.Stack)}); err != nil {
		return apiErr(err, "execute change set")
	}
	fmt.Fprintf(o.Progress, "executing %d changes\n", changes)
	return watchStack(ctx, cfn, o, awssdk.ToString(cs.StackId), started)
}

func shortHash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:6])
}

func put(ctx context.Context, c *s3.Client, bucket, key string, body []byte) error {
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: awssdk.String(bucket), Key: awssdk.String(key), Body: bytes.NewReader(body)}); err != nil {
		return apiErr(err, "upload s3://"+bucket+"/"+key)
	}
	return nil
}

func apiErr(err error, what string) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return errcode.New(errcode.Unavailable, "aws: %s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
	}
	return errcode.Wrap(errcode.Unavailable, err, "aws: %s", what)
}

func stackExists(ctx context.Context, cfn *cloudformation.Client, name string) (bool, error) {
	out, err := cfn.DescribeStacks(ctx, &cloudformation.DescribeStacksInput{StackName: awssdk.String(name)})
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorCode() == "ValidationError" && strings.Contains(ae.ErrorMessage(), "does not exist") {
		return false, nil
	}
	if err != nil {
		return false, apiErr(err, "describe stack")
	}
	if len(out.Stacks) == 0 {
		return false, nil
	}
	// A stack whose creation rolled back cannot be updated: it must be
	// deleted first.
	if st := out.Stacks[0].StackStatus; st == cfntypes.StackStatusRollbackComplete || st == cfntypes.StackStatusRollbackFailed {
		return false, errcode.New(errcode.FailedPrecond, "stack %s is %s after a failed creation: delete it (aws cloudformation delete-stack --stack-name %s) and deploy again", name, st, name)
	}
	if st := string(out.Stacks[0].StackStatus); strings.HasSuffix(st, "_IN_PROGRESS") {
		return false, errcode.New(errcode.FailedPrecond, "stack %s is %s: wait for it to finish", name, st)
	}
	return true, nil
}

// waitChangeSet waits until the change set is created and returns its
// number of changes (0 when the template changes nothing).
func waitChangeSet(ctx context.Context, cfn *cloudformation.Client, o DeployOptions, id string) (int, error) {
	for {
		out, err := cfn.DescribeChangeSet(ctx, &cloudformation.DescribeChangeSetInput{ChangeSetName: awssdk.String(id), StackName: awssdk.String(o.Stack)})
		if err != nil {
			return 0, apiErr(err, "describe change set")
		}
		switch out.Status {
		case cfntypes.ChangeSetStatusCreateComplete:
			return len(out.Changes), nil
		case cfntypes.ChangeSetStatusFailed:
			reason := awssdk.ToString(out.StatusReason)
			if strings.Contains(reason, "didn't contain changes") || strings.Contains(reason, "No updates are to be performed") {
				return 0, nil
			}
			return 0, errcode.New(errcode.FailedPrecond, "change set for stack %s failed: %s", o.Stack, reason)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return 0, err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// watchStack prints the stack's new events until it reaches a final
// status, and turns a rollback into an error naming what failed.
func watchStack(ctx context.Context, cfn *cloudformation.Client, o DeployOptions, stackID string, since time.Time) error {
	seen := map[string]bool{}
	var failures []string
	for {
		var events []cfntypes.StackEvent
		p := cloudformation.NewDescribeStackEventsPaginator(cfn, &cloudformation.DescribeStackEventsInput{StackName: awssdk.String(stackID)})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return apiErr(err, "describe stack events")
			}
			stop := false
			for _, e := range page.StackEvents {
				if seen[awssdk.ToString(e.EventId)] || e.Timestamp != nil && e.Timestamp.Before(since) {
					stop = true
					continue
				}
				events = append(events, e)
			}
			if stop {
				break
			}
		}
		// Events come newest first; print oldest first.
		sort.SliceStable(events, func(i, j int) bool {
			return awssdk.ToTime(events[i].Timestamp).Before(awssdk.ToTime(events[j].Timestamp))
		})
		var final cfntypes.ResourceStatus
		for _, e := range events {
			seen[awssdk.ToString(e.EventId)] = true
			reason := awssdk.ToString(e.ResourceStatusReason)
			line := fmt.Sprintf("%s  %-28s %-40s %s", awssdk.ToTime(e.Timestamp).UTC().Format("15:04:05"), e.ResourceStatus,
				awssdk.ToString(e.LogicalResourceId), awssdk.ToString(e.ResourceType))
			if reason != "" {
				line += "  " + reason
			}
			fmt.Fprintln(o.Progress, line)
			if strings.HasSuffix(string(e.ResourceStatus), "_FAILED") && reason != "" && !strings.Contains(reason, "Resource creation cancelled") {
				failures = append(failures, fmt.Sprintf("%s (%s): %s", awssdk.ToString(e.LogicalResourceId), awssdk.ToString(e.ResourceType), reason))
			}
			if awssdk.ToString(e.PhysicalResourceId) == stackID && awssdk.ToString(e.ResourceType) == "AWS::CloudFormation::Stack" {
				final = e.ResourceStatus
			}
		}
		switch final {
		case cfntypes.ResourceStatusCreateComplete, cfntypes.ResourceStatusUpdateComplete:
			fmt.Fprintf(o.Progress, "stack %s: %s\n", o.Stack, final)
			return nil
		case "ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_FAILED", cfntypes.ResourceStatusCreateFailed, cfntypes.ResourceStatusUpdateFailed:
			why := "no resource reported a reason"
			if len(failures) > 0 {
				why = strings.Join(failures, "; ")
			}
			next := "fix the cause and deploy again"
			if final == "ROLLBACK_COMPLETE" {
				next = fmt.Sprintf("the stack was never created: delete it (aws cloudformation delete-stack --stack-name %s), fix the cause and deploy again", o.Stack)
			}
			return errcode.New(errcode.FailedPrecond, "stack %s rolled back (%s): %s; %s", o.Stack, final, why, next)
		}
		if err := sleep(ctx, o.Poll); err != nil {
			return err
		}
	}
}

var stackNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,63}$`)
