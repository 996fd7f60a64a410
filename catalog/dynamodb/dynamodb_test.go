package dynamodb_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/catalogtest"
	"github.com/landfall/landfall/catalog/dynamodb"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
)

func client(endpoint string) *ddb.Client {
	return ddb.New(ddb.Options{Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "local-secret", "")})
}

var seq atomic.Int64

// opener opens a store with its own tables (a fresh prefix) on the local
// DynamoDB at endpoint.
func opener(endpoint string) catalogtest.Opener {
	c := client(endpoint)
	return func(t *testing.T, opts ...catalog.Option) catalog.Store {
		t.Helper()
		var o catalog.Options
		for _, f := range opts {
			f(&o)
		}
		st, err := dynamodb.Open(context.Background(), dynamodb.Config{Client: c, Prefix: fmt.Sprintf("t%d-", seq.Add(1)), CreateTables: true}, o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
}

// TestConformance runs the catalog's shared suite against dynalite, a
// DynamoDB implementation started on a loopback port.
func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, opener(testutil.Dynalite(t)))
}

// TestURL opens the driver through catalog.Open and its URL parameters.
func TestURL(t *testing.T) {
	ep := testutil.Dynalite(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	ctx := context.Background()
	_, err := catalog.Open(ctx, "dynamodb://?region=us-east-1&prefix=url-&endpoint="+ep)
	if errcode.Of(err) != errcode.FailedPrecond || !strings.Contains(err.Error(), "url-media does not exist") {
		t.Fatalf("open without tables: %v", err)
	}
	st, err := catalog.Open(ctx, "dynamodb://?region=us-east-1&prefix=url-&create_tables=1&endpoint="+ep)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Name() != "dynamodb" || catalog.Supports(st, catalog.FeatureSearch) || !catalog.Supports(st, "other") {
		t.Fatalf("store %s: features wrong", st.Name())
	}
	for _, bad := range []struct{ url, want string }{
		{"dynamodb://host/?region=us-east-1", "takes only parameters"},
		{"dynamodb://?region=us-east-1&table=x", `unknown parameter "table"`},
		{"dynamodb://?region=us-east-1&create_tables=yes", "create_tables"},
		{"dynamodb://?region=us-east-1&prefix=a%20b", "prefix"},
	} {
		_, err := catalog.Open(ctx, bad.url)
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: err = %v, want Invalid naming %q", bad.url, err, bad.want)
		}
	}
}

// TestDriverErrorText: a failure inside DynamoDB (here a table deleted
// under the store) reaches callers as Unavailable naming the catalog
// operation, never the SDK's text (table names, request ids).
func TestDriverErrorText(t *testing.T) {
	t.Parallel()
	ep := testutil.Dynalite(t)
	ctx := context.Background()
	c := client(ep)
	st, err := dynamodb.Open(ctx, dynamodb.Config{Client: c, Prefix: "broken-", CreateTables: true}, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.TenantCreate(ctx, &catalog.TenantCreateParams{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteTable(ctx, &ddb.DeleteTableInput{TableName: aws.String("broken-media")}); err != nil {
		t.Fatal(err)
	}
	_, err = st.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme"})
	if errcode.Of(err) != errcode.Unavailable || !strings.Contains(err.Error(), "list media") {
		t.Fatalf("err = %v, want Unavailable naming the operation", err)
	}
	for _, leak := range []string{"broken-media", "resourcenotfound", "requestid", "status code"} {
		if strings.Contains(strings.ToLower(err.Error()), leak) {
			t.Errorf("error text names driver detail %q: %s", leak, err)
		}
	}
}
