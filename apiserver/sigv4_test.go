package apiserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/identity"
)

// The Step Functions endpoint takes requests the AWS SDK signs with a
// key's access key id and secret access key, as well as Bearer keys.
func TestStepFunctionsSignedWithAccessKeys(t *testing.T) {
	t.Parallel()
	f := keyed(t, Config{})
	ctx := context.Background()
	k, err := f.cat.APIKeyCreate(ctx, &catalog.APIKeyCreateParams{TenantID: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	akid, secret := f.s.Authenticator().Credentials(k.APIKey)
	send := func(akid, secret string) (int, string) {
		t.Helper()
		body := `{"maxResults":1}`
		r, _ := http.NewRequest("POST", f.srv.URL+"/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		r.Header.Set("X-Amz-Target", "AWSStepFunctions.ListStateMachines")
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: akid, SecretAccessKey: secret}, r, hex.EncodeToString(sum[:]),
			"states", "us-east-1", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := send(akid, secret); code != 200 {
		t.Fatalf("signed request: %d %s", code, body)
	}
	if p := f.sfn.last(); p != (identity.Principal{Role: identity.RoleTenant, Tenant: "globex", KeyID: k.APIKey.ID}) {
		t.Fatalf("principal = %v", p)
	}
	n := len(f.sfn.seen)
	if code, body := send(akid, strings.Repeat("x", 40)); code < 400 || !strings.Contains(body, "Signature") {
		t.Fatalf("wrong secret: %d %s", code, body)
	}
	if _, err := f.cat.APIKeyRevoke(ctx, &catalog.APIKeyRevokeParams{ID: k.APIKey.ID}); err != nil {
		t.Fatal(err)
	}
	if code, body := send(akid, secret); code < 400 || !strings.Contains(body, "UnrecognizedClient") {
		t.Fatalf("revoked key: %d %s", code, body)
	}
	if len(f.sfn.seen) != n {
		t.Fatal("a refused signature reached the handler")
	}
	// Signatures are for the Step Functions endpoint only.
	r, _ := http.NewRequest("GET", f.srv.URL+"/v1/media", nil)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+akid+"/20260101/us-east-1/states/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("signature on a REST route: %d", resp.StatusCode)
	}

}
