package aws

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landfall/landfall/blob/s3blob/s3test"
	"github.com/landfall/landfall/errcode"
)

var s3server *s3test.Server

func TestMain(m *testing.M) {
	s, err := s3test.Start()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	s3server = s
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// stackEvent is one event the fake CloudFormation reports.
type stackEvent struct {
	logical, typ, status, reason string
}

// fakeCFN answers the CloudFormation query API calls DeployStack makes,
// as CloudFormation does: a stack that does not exist, change sets, and
// stack events that appear one per DescribeStackEvents call, ending as
// the scenario says.
type fakeCFN struct {
	t        *testing.T
	mu       sync.Mutex
	exists   bool
	plan     []stackEvent // events the execution produces, in order
	shown    int
	actions  []string
	request  map[string]string // CreateChangeSet's parameters
	noChange bool
	started  time.Time
}

const cfnNS = `xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"`
const stackID = "arn:aws:cloudformation:eu-west-1:123456789012:stack/landfall-test/1f2e"

func (f *fakeCFN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	action := r.PostForm.Get("Action")
	f.actions = append(f.actions, action)
	w.Header().Set("Content-Type", "text/xml")
	reply := func(body string) {
		fmt.Fprintf(w, `<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>r1</RequestId></ResponseMetadata></%sResponse>`,
			action, cfnNS, action, body, action, action)
	}
	switch action {
	case "DescribeStacks":
		if !f.exists {
			w.WriteHeader(400)
			fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error><RequestId>r1</RequestId></ErrorResponse>`,
				cfnNS, r.PostForm.Get("StackName"))
			return
		}
		reply(`<Stacks><member><StackName>landfall-test</StackName><StackId>` + stackID + `</StackId><StackStatus>CREATE_COMPLETE</StackStatus><CreationTime>2026-01-01T00:00:00Z</CreationTime></member></Stacks>`)
	case "CreateChangeSet":
		f.request = map[string]string{}
		for k, v := range r.PostForm {
			f.request[k] = v[0]
		}
		reply(`<Id>arn:aws:cloudformation:eu-west-1:123456789012:changeSet/` + r.PostForm.Get("ChangeSetName") + `/9a</Id><StackId>` + stackID + `</StackId>`)
	case "DescribeChangeSet":
		if f.noChange {
			reply(`<Status>FAILED</Status><StatusReason>The submitted information didn't contain changes. Submit different information to create a change set.</StatusReason><Changes/>`)
			return
		}
		reply(`<Status>CREATE_COMPLETE</Status><ExecutionStatus>AVAILABLE</ExecutionStatus><Changes><member><Type>Resource</Type><ResourceChange><Action>Add</Action><LogicalResourceId>MediaBucket</LogicalResourceId><ResourceType>AWS::S3::Bucket</ResourceType></ResourceChange></member><member><Type>Resource</Type><ResourceChange><Action>Add</Action><LogicalResourceId>FnClassify</LogicalResourceId><ResourceType>AWS::Lambda::Function</ResourceType></ResourceChange></member></Changes>`)
	case "ExecuteChangeSet":
		f.started = time.Now()
		reply("")
	case "DeleteChangeSet":
		reply("")
	case "DescribeStackEvents":
		// One more event becomes visible per call; newest first.
		if f.shown < len(f.plan) {
			f.shown++
		}
		var b strings.Builder
		for i := f.shown - 1; i >= 0; i-- {
			e := f.plan[i]
			phys := e.logical + "-phys"
			if e.typ == "AWS::CloudFormation::Stack" {
				phys = stackID
			}
			var x bytes.Buffer
			xml.EscapeText(&x, []byte(e.reason))
			fmt.Fprintf(&b, `<member><EventId>ev-%d</EventId><StackId>%s</StackId><StackName>landfall-test</StackName><LogicalResourceId>%s</LogicalResourceId><PhysicalResourceId>%s</PhysicalResourceId><ResourceType>%s</ResourceType><Timestamp>%s</Timestamp><ResourceStatus>%s</ResourceStatus><ResourceStatusReason>%s</ResourceStatusReason></member>`,
				i, stackID, e.logical, phys, e.typ, f.started.Add(time.Duration(i)*time.Second).UTC().Format(time.RFC3339), e.status, x.String())
		}
		reply(`<StackEvents>` + b.String() + `</StackEvents>`)
	default:
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>%s</Message></Error><RequestId>r1</RequestId></ErrorResponse>`, cfnNS, action)
	}
}

func deployOptions(t *testing.T, cfn *httptest.Server, out *bytes.Buffer) DeployOptions {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bootstrap")
	os.WriteFile(bin, []byte("#!/bin/sh\necho handler\n"), 0o755)
	zip := filepath.Join(dir, "lambda.zip")
	if err := zipBootstrap(bin, zip); err != nil {
		t.Fatal(err)
	}
	o := repoOptions(t)
	o.CodeBucket = s3server.NewBucket(t, false)
	ac := awssdk.Config{Region: s3server.Region, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(s3server.AccessKey, s3server.SecretKey, "")}
	return DeployOptions{Stack: "landfall-test", Region: s3server.Region, Template: o, Zip: zip, Progress: out, AWS: &ac,
		CloudFormationEndpoint: cfn.URL, S3Endpoint: s3server.Endpoint, Poll: time.Millisecond}
}

// TestDeployStackCreates: a new stack is created through a change set;
// the package and the template are uploaded first, the events printed.
func TestDeployStackCreates(t *testing.T) {
	f := &fakeCFN{t: t, plan: []stackEvent{
		{"landfall-test", "AWS::CloudFormation::Stack", "REVIEW_IN_PROGRESS", "User Initiated"},
		{"landfall-test", "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"},
		{"MediaBucket", "AWS::S3::Bucket", "CREATE_IN_PROGRESS", ""},
		{"MediaBucket", "AWS::S3::Bucket", "CREATE_COMPLETE", ""},
		{"landfall-test", "AWS::CloudFormation::Stack", "CREATE_COMPLETE", ""},
	}}
	cfn := httptest.NewServer(f)
	defer cfn.Close()
	var out bytes.Buffer
	o := deployOptions(t, cfn, &out)
	if err := DeployStack(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := strings.Join(f.actions, ","); !strings.HasPrefix(got, "DescribeStacks,CreateChangeSet,DescribeChangeSet,ExecuteChangeSet,DescribeStackEvents") {
		t.Fatalf("calls: %s", got)
	}
	r := f.request
	if r["ChangeSetType"] != "CREATE" || r["Capabilities.member.1"] != "CAPABILITY_IAM" || !strings.HasPrefix(r["TemplateURL"], s3server.Endpoint+"/"+o.Template.CodeBucket+"/landfall/landfall-test/template-") {
		t.Fatalf("CreateChangeSet: %v", r)
	}
	// The parameters name the uploaded package, and both uploads exist.
	var codeKey string
	for i := 1; i <= 2; i++ {
		if r[fmt.Sprintf("Parameters.member.%d.ParameterKey", i)] == "CodeS3Key" {
			codeKey = r[fmt.Sprintf("Parameters.member.%d.ParameterValue", i)]
		}
	}
	sc := s3.NewFromConfig(*o.AWS, func(so *s3.Options) { so.BaseEndpoint, so.UsePathStyle = awssdk.String(s3server.Endpoint), true })
	tmplKey := strings.TrimPrefix(r["TemplateURL"], s3server.Endpoint+"/"+o.Template.CodeBucket+"/")
	for _, k := range []string{codeKey, tmplKey} {
		if _, err := sc.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: &o.Template.CodeBucket, Key: &k}); err != nil {
			t.Fatalf("%q was not uploaded: %v", k, err)
		}
	}
	text := out.String()
	for _, want := range []string{"uploaded s3://", "change set landfall-", "(create) created", "executing 2 changes", "CREATE_COMPLETE", "MediaBucket", "stack landfall-test: CREATE_COMPLETE"} {
		if !strings.Contains(text, want) {
			t.Errorf("progress lacks %q:\n%s", want, text)
		}
	}
}

// TestDeployStackRollback: a failed update is an error naming the
// resource that failed and why.
func TestDeployStackRollback(t *testing.T) {
	f := &fakeCFN{t: t, exists: true, plan: []stackEvent{
		{"landfall-test", "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS", "User Initiated"},
		{"FnClassify", "AWS::Lambda::Function", "UPDATE_FAILED", `Resource handler returned message: "Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist."`},
		{"landfall-test", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [FnClassify]."},
		{"landfall-test", "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", ""},
	}}
	cfn := httptest.NewServer(f)
	defer cfn.Close()
	var out bytes.Buffer
	err := DeployStack(context.Background(), deployOptions(t, cfn, &out))
	if errcode.Of(err) != errcode.FailedPrecond {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	for _, want := range []string{"rolled back (UPDATE_ROLLBACK_COMPLETE)", "FnClassify (AWS::Lambda::Function)", "NoSuchKey"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if f.request["ChangeSetType"] != "UPDATE" {
		t.Errorf("an existing stack got a %s change set", f.request["ChangeSetType"])
	}
}

// TestDeployStackNoChanges: deploying what is already there says so and
// executes nothing.
func TestDeployStackNoChanges(t *testing.T) {
	f := &fakeCFN{t: t, exists: true, noChange: true}
	cfn := httptest.NewServer(f)
	defer cfn.Close()
	var out bytes.Buffer
	if err := DeployStack(context.Background(), deployOptions(t, cfn, &out)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.Join(f.actions, ","), "ExecuteChangeSet") || !strings.Contains(out.String(), "up to date") {
		t.Fatalf("calls %v\n%s", f.actions, out.String())
	}
	o := deployOptions(t, cfn, &out)
	o.Stack = "1bad name"
	if err := DeployStack(context.Background(), o); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("bad stack name: %v", err)
	}
}
