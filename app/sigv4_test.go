package app

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/landfall/landfall/apiserver/sigv4"
	"github.com/landfall/landfall/catalog"
)

// skewedSigner signs as a client whose clock is off by skew.
type skewedSigner struct {
	v4.HTTPSigner
	skew time.Duration
}

func (s skewedSigner) SignHTTP(ctx context.Context, c aws.Credentials, r *http.Request, payloadHash, service, region string, t time.Time, opts ...func(*v4.SignerOptions)) error {
	return s.HTTPSigner.SignHTTP(ctx, c, r, payloadHash, service, region, t.Add(s.skew), opts...)
}

// tamperTransport changes the body of a request after it was signed,
// keeping its length.
type tamperTransport struct{ from, to string }

func (tt tamperTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	b = bytes.Replace(b, []byte(tt.from), []byte(tt.to), 1)
	r = r.Clone(r.Context())
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	return http.DefaultTransport.RoundTrip(r)
}

// sfnClient is the AWS SDK's Step Functions client for the bundle's
// server with credentials (anonymous when akid is "").
func (b *keyedBundle) sfnClient(akid, secret string, mod func(*sfn.Options)) *sfn.Client {
	cfg := aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}
	if akid != "" {
		cfg.Credentials = credentials.NewStaticCredentialsProvider(akid, secret, "")
	}
	return sfn.NewFromConfig(cfg, func(o *sfn.Options) {
		o.BaseEndpoint = aws.String(b.srv.URL)
		if mod != nil {
			mod(o)
		}
	})
}

// apiCode returns the AWS error code and HTTP status of an SDK error.
func apiCode(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		t.Fatal("the request succeeded")
	}
	var ae smithy.APIError
	var re *smithyhttp.ResponseError
	if !errors.As(err, &ae) || !errors.As(err, &re) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode(), re.HTTPStatusCode()
}

// TestStepFunctionsSigV4 drives a keyed installation's Step Functions
// endpoint with the AWS SDK for Go signing with tenant and admin access
// keys, and checks the refusals AWS clients expect.
func TestStepFunctionsSigV4(t *testing.T) {
	t.Parallel()
	b := keyedApp(t, "")
	ctx := context.Background()
	admin := b.sfnClient(b.admin.accessKeyID, b.admin.secretAccessKey, nil)
	sm, err := admin.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String("greet"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}`),
		RoleArn:    aws.String("arn:aws:iam::000000000000:role/landfall")})
	if err != nil {
		t.Fatalf("admin CreateStateMachine: %v", err)
	}

	a := b.sfnClient(b.tenantA.accessKeyID, b.tenantA.secretAccessKey, nil)
	x, err := a.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("a-1"), Input: aws.String(`{"n":1}`)})
	if err != nil {
		t.Fatalf("tenant StartExecution: %v", err)
	}
	list, err := a.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
	if err != nil {
		t.Fatalf("tenant ListExecutions: %v", err)
	}
	found := false
	for _, e := range list.Executions {
		found = found || aws.ToString(e.ExecutionArn) == aws.ToString(x.ExecutionArn)
	}
	if !found {
		t.Fatalf("ListExecutions lacks %s", aws.ToString(x.ExecutionArn))
	}

	list1 := func(c *sfn.Client) error {
		_, err := c.ListExecutions(ctx, &sfn.ListExecutionsInput{StateMachineArn: sm.StateMachineArn})
		return err
	}
	refusals := []struct {
		name   string
		call   func() error
		code   string
		status int
		inMsg  string
	}{
		{name: "wrong secret", call: func() error {
			return list1(b.sfnClient(b.tenantA.accessKeyID, "not-the-secret-access-key-of-this-key000", nil))
		}, code: sigv4.CodeInvalidSignature, status: 400, inMsg: "does not match"},
		{name: "clock 20 minutes slow", call: func() error {
			return list1(b.sfnClient(b.tenantA.accessKeyID, b.tenantA.secretAccessKey, func(o *sfn.Options) {
				o.HTTPSignerV4 = skewedSigner{v4.NewSigner(), -20 * time.Minute}
			}))
		}, code: sigv4.CodeInvalidSignature, status: 400, inMsg: "expired"},
		{name: "clock 20 minutes fast", call: func() error {
			return list1(b.sfnClient(b.tenantA.accessKeyID, b.tenantA.secretAccessKey, func(o *sfn.Options) {
				o.HTTPSignerV4 = skewedSigner{v4.NewSigner(), 20 * time.Minute}
			}))
		}, code: sigv4.CodeInvalidSignature, status: 400, inMsg: "not yet current"},
		{name: "body changed after signing", call: func() error {
			c := b.sfnClient(b.tenantA.accessKeyID, b.tenantA.secretAccessKey, func(o *sfn.Options) {
				o.HTTPClient = &http.Client{Transport: tamperTransport{from: `{\"n\":1}`, to: `{\"n\":9}`}}
			})
			_, err := c.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: sm.StateMachineArn, Name: aws.String("a-2"), Input: aws.String(`{"n":1}`)})
			return err
		}, code: sigv4.CodeInvalidSignature, status: 400, inMsg: "does not match"},
		{name: "unknown access key id", call: func() error {
			return list1(b.sfnClient("LFAK0000000000000000", b.tenantA.secretAccessKey, nil))
		}, code: sigv4.CodeUnrecognizedClient, status: 400},
		{name: "no credential", call: func() error { return list1(b.sfnClient("", "", nil)) },
			code: sigv4.CodeMissingAuthenticationToken, status: 403},
	}
	for _, rc := range refusals {
		code, status := apiCode(t, rc.call())
		if code != rc.code || status != rc.status {
			t.Errorf("%s: got %s %d, want %s %d", rc.name, code, status, rc.code, rc.status)
		}
		if rc.inMsg != "" {
			if err := rc.call(); !strings.Contains(err.Error(), rc.inMsg) {
				t.Errorf("%s: message %q lacks %q", rc.name, err, rc.inMsg)
			}
		}
	}
	// The tampered StartExecution started nothing.
	if _, err := a.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(strings.Replace(aws.ToString(x.ExecutionArn), ":a-1", ":a-2", 1))}); err == nil {
		t.Error("the tampered StartExecution started an execution")
	}

	// A revoked key stops working at once; Bearer keys keep working on the
	// same endpoint.
	if _, err := b.app.Catalog.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: b.tenantB.key.ID}); err != nil {
		t.Fatal(err)
	}
	if code, _ := apiCode(t, list1(b.sfnClient(b.tenantB.accessKeyID, b.tenantB.secretAccessKey, nil))); code != sigv4.CodeUnrecognizedClient {
		t.Errorf("revoked key: %s", code)
	}
	r := b.do(t, &b.tenantA, "POST", "/", http.Header{"X-Amz-Target": {"AWSStepFunctions.ListExecutions"}, "Content-Type": {"application/x-amz-json-1.0"}},
		[]byte(`{"stateMachineArn":"`+aws.ToString(sm.StateMachineArn)+`"}`))
	if r.status != 200 || !strings.Contains(string(r.body), aws.ToString(x.ExecutionArn)) {
		t.Errorf("Bearer key on the Step Functions endpoint: %s", r)
	}
}
