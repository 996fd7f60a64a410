package sigv4

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/identity"
)

// FuzzParseAuthorization: any Authorization value parses into a
// well-formed signature or is refused with an *Error; never a panic.
func FuzzParseAuthorization(f *testing.F) {
	for _, s := range []string{
		"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/states/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("ab", 32),
		"AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/states/aws4_request,SignedHeaders=host,Signature=" + strings.Repeat("0", 64),
		"AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;, Signature=zz",
		"AWS4-HMAC-SHA256 ",
		"AWS4-HMAC-SHA256 Credential=a,Credential=b",
		"Bearer lf_0123",
		"",
		"AWS4-HMAC-SHA256 Credential=AKID/20260230/r/s/aws4_request, SignedHeaders=b;a, Signature=" + strings.Repeat("1", 64),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseAuthorization(s)
		if err != nil {
			if !errors.As(err, new(*Error)) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if len(a.signature) != 32 || a.accessKeyID == "" || len(a.scope.Date) != 8 || a.scope.Region == "" || a.scope.Service == "" {
			t.Fatalf("accepted a malformed authorization: %+v", a)
		}
		if len(a.signedHeaders) == 0 || !slices.IsSorted(a.signedHeaders) || len(slices.Compact(slices.Clone(a.signedHeaders))) != len(a.signedHeaders) {
			t.Fatalf("signed headers %q not ascending and unique", a.signedHeaders)
		}
	})
}

// FuzzVerify: Verify on arbitrary requests never panics, refuses with an
// *Error, and whatever it accepts depends on the secret (the same request
// with another secret is refused).
func FuzzVerify(f *testing.F) {
	good := signedRequest(f, testNow, nil)
	f.Add("POST", "/", good.Header.Get("Authorization"), good.Header.Get("X-Amz-Date"), good.Header.Get("X-Amz-Target"), "{}")
	f.Add("GET", "/?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=LFAK0123456789ABCDEF%2F20261207%2Fus-east-1%2Fstates%2Faws4_request&X-Amz-Date=20261207T102000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="+strings.Repeat("a", 64), "", "", "", "")
	f.Add("POST", "/a%2F..%2Fb?x=%zz", "AWS4-HMAC-SHA256 Credential=x", "garbage", "", "\x00")
	f.Add("PUT", "/%", "", "", "", "")
	f.Fuzz(func(t *testing.T, method, target, auth, amzDate, amzTarget, body string) {
		if len(target) > 4096 || len(body) > 1<<16 {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || method == "" {
			return
		}
		build := func() *http.Request {
			r := &http.Request{Method: method, URL: u, RequestURI: target, Host: "sfn.local", Header: http.Header{}, ContentLength: int64(len(body))}
			if auth != "" {
				r.Header.Set("Authorization", auth)
			}
			if amzDate != "" {
				r.Header.Set("X-Amz-Date", amzDate)
			}
			if amzTarget != "" {
				r.Header.Set("X-Amz-Target", amzTarget)
			}
			return r.WithContext(context.Background())
		}
		p, err := Verify(build(), []byte(body), keys, testNow)
		if err != nil {
			if !errors.As(err, new(*Error)) {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		if p != testPrincipal {
			t.Fatalf("accepted as %v", p)
		}
		other := func(ctx context.Context, akid string) (string, identity.Principal, error) {
			return "another secret", testPrincipal, nil
		}
		if _, err := Verify(build(), []byte(body), other, testNow.Add(time.Second)); err == nil {
			t.Fatal("accepted with another secret")
		}
	})
}
