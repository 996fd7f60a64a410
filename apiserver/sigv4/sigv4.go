// Package sigv4 verifies AWS Signature Version 4 on incoming requests, so
// the AWS CLI and SDKs authenticate to Landfall's Step Functions endpoint
// with an access key id and a secret access key. Both forms AWS clients
// send are accepted: the Authorization header
//
//	AWS4-HMAC-SHA256 Credential=AKID/20261207/us-east-1/states/aws4_request,
//	SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=<64 hex>
//
// and the presigned query (X-Amz-Algorithm, X-Amz-Credential, X-Amz-Date,
// X-Amz-Expires, X-Amz-SignedHeaders, X-Amz-Signature).
//
// Verify rebuilds the canonical request from the request as it arrived
// (method; the path as sent, each byte outside the unreserved set
// percent-encoded once more; the query decoded, re-encoded and sorted; the
// signed headers lower-cased with trimmed and collapsed values; the signed
// header list; the payload hash), derives the signing key from the secret
// and the credential scope (date, region, service), and compares the
// signature in constant time. Before any of that it checks what AWS
// checks: the request time is within 15 minutes of now, a presigned
// request has not expired (and lives at most 7 days), the scope's date is
// the request's date, the signed headers include host, the date header
// and every header that selects or qualifies the operation
// (x-amz-target, x-amz-content-sha256, x-amz-security-token), and
// x-amz-content-sha256, when sent, is the body's SHA-256 (or
// UNSIGNED-PAYLOAD).
//
// The request path is used as sent, without removing dot segments: the
// server's router redirects any path that is not clean before a handler
// (and so Verify) sees it, and the AWS SDK for Go signs the path as is.
//
// Errors are *Error values carrying the error code and HTTP status Step
// Functions answers with (MissingAuthenticationTokenException,
// IncompleteSignatureException, InvalidSignatureException,
// UnrecognizedClientException, AccessDeniedException), so a client sees
// the failure it would see from AWS; each also carries the matching
// errcode code.
package sigv4

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// UnsignedPayload is the x-amz-content-sha256 value of a request whose
// body is not covered by its signature.
const UnsignedPayload = "UNSIGNED-PAYLOAD"

const (
	// MaxSkew is how far a request's time may be from now, as AWS allows.
	MaxSkew = 15 * time.Minute
	// MaxExpires bounds a presigned request's X-Amz-Expires (7 days).
	MaxExpires = 7 * 24 * time.Hour

	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"
	scopeTerminator = "aws4_request"

	maxAuthorization = 8 << 10
	maxSignedHeaders = 64
	maxAccessKeyID   = 128
)

// AWS error codes Verify answers with.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	CodeIncompleteSignature        = "IncompleteSignatureException"
	CodeInvalidSignature           = "InvalidSignatureException"
	CodeUnrecognizedClient         = "UnrecognizedClientException"
	CodeAccessDenied               = "AccessDeniedException"
	CodeRequestTooLarge            = "ValidationException"
)

// Error is a refused request: the AWS error code and HTTP status to answer
// with, and a message naming what is wrong.
type Error struct {
	Code    string // AWS error code, e.g. InvalidSignatureException
	Status  int    // HTTP status
	Message string
	kind    errcode.Code
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap exposes the errcode code, so errcode.Of and errors.Is work.
func (e *Error) Unwrap() error { return e.kind }

func newError(code string, format string, args ...any) *Error {
	e := &Error{Code: code, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), kind: errcode.Unauthenticated}
	switch code {
	case CodeMissingAuthenticationToken:
		e.Status = http.StatusForbidden
	case CodeAccessDenied:
		e.kind = errcode.PermissionDenied
	case CodeRequestTooLarge:
		e.Status, e.kind = http.StatusRequestEntityTooLarge, errcode.TooLarge
	}
	return e
}

// MissingCredential is the refusal of a request that carries no
// credential at all, as AWS words it for its clients.
func MissingCredential() *Error {
	return newError(CodeMissingAuthenticationToken, "the request carries no credential: sign it with AWS Signature Version 4 (an Authorization header or a presigned query) using a key's access key id and secret access key")
}

// Lookup returns the secret access key of an access key id and the
// principal it authenticates. An unknown, revoked or expired key is an
// error with errcode.Unauthenticated (answered UnrecognizedClientException);
// a key that exists but may not be used (a disabled tenant's) is
// errcode.PermissionDenied (AccessDeniedException). Any other error is
// returned from Verify as it is.
type Lookup func(ctx context.Context, accessKeyID string) (secret string, p identity.Principal, err error)

// Verifier verifies requests against a key lookup.
type Verifier struct {
	Lookup Lookup
	// Service, when set, is the one service a credential scope may name
	// ("states" for the Step Functions endpoint).
	Service string
	// AlsoServices are further services a scope may name when Service is
	// set ("sqs" where the endpoint also serves the SQS protocol).
	AlsoServices []string
}

// Verify checks r's signature with any service in the credential scope;
// see Verifier.Verify.
func Verify(r *http.Request, body []byte, lookup Lookup, now time.Time) (identity.Principal, error) {
	return (&Verifier{Lookup: lookup}).Verify(r, body, now)
}

// Present reports whether r carries a Signature Version 4 attempt (an
// Authorization header of an AWS4 algorithm, or a presigned query), as
// opposed to no credential or another kind of credential.
func Present(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-") {
		return true
	}
	return presignedQuery(r.URL.RawQuery)
}

// presignedQuery reports whether a raw query names any of the presigning
// parameters.
func presignedQuery(raw string) bool {
	for _, k := range []string{"X-Amz-Algorithm=", "X-Amz-Credential=", "X-Amz-Signature="} {
		if strings.HasPrefix(raw, k) || strings.Contains(raw, "&"+k) {
			return true
		}
	}
	return false
}

// Verify checks r's signature, with body the request's whole body (the
// caller reads it, bounded), and returns the principal of the key that
// signed it. now is the server's clock.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) (identity.Principal, error) {
	if v.Lookup == nil {
		return identity.Principal{}, errors.New("sigv4: Verifier has no Lookup")
	}
	sig, err := parseRequest(r)
	if err != nil {
		return identity.Principal{}, err
	}
	if err := v.checkScope(sig); err != nil {
		return identity.Principal{}, err
	}
	if err := checkTime(sig, now); err != nil {
		return identity.Principal{}, err
	}
	if err := checkSignedHeaders(r, sig); err != nil {
		return identity.Principal{}, err
	}
	secret, p, err := v.Lookup(r.Context(), sig.accessKeyID)
	if err != nil {
		switch errcode.Of(err) {
		case errcode.Unauthenticated, errcode.NotFound:
			return identity.Principal{}, newError(CodeUnrecognizedClient, "the access key id %q is not a live key of this installation", clip(sig.accessKeyID))
		case errcode.PermissionDenied:
			return identity.Principal{}, newError(CodeAccessDenied, "the access key id %q may not be used: %s", clip(sig.accessKeyID), errcode.MessageOf(err))
		}
		return identity.Principal{}, fmt.Errorf("sigv4: look up access key id: %w", err)
	}
	payloadHash, err := payloadHash(r, body)
	if err != nil {
		return identity.Principal{}, err
	}
	canonical, err := canonicalRequest(r, sig, payloadHash)
	if err != nil {
		return identity.Principal{}, err
	}
	want := Sign(secret, sig.scope, sig.amzDate, canonical)
	if !hmac.Equal(want, sig.signature) {
		return identity.Principal{}, newError(CodeInvalidSignature, "the request signature does not match the signature computed from the secret access key of %s over this request; check the secret and how the request is signed", clip(sig.accessKeyID))
	}
	return p, nil
}

func (v *Verifier) checkScope(sig *signature) error {
	if v.Service != "" && sig.scope.Service != v.Service && !slices.Contains(v.AlsoServices, sig.scope.Service) {
		return newError(CodeInvalidSignature, "credential scope names service %q: this endpoint is %q", clip(sig.scope.Service), v.Service)
	}
	if got := sig.time.Format(scopeDateLayout); got != sig.scope.Date {
		return newError(CodeInvalidSignature, "credential scope date %s is not the date of the request time %s", sig.scope.Date, sig.amzDate)
	}
	return nil
}

func checkTime(sig *signature, now time.Time) error {
	now = now.UTC()
	if sig.presigned {
		if sig.time.After(now.Add(MaxSkew)) {
			return newError(CodeInvalidSignature, "signature not yet current: %s is later than %s (now + %d min)", sig.amzDate, now.Add(MaxSkew).Format(amzDateLayout), int(MaxSkew/time.Minute))
		}
		if end := sig.time.Add(sig.expires); now.After(end) {
			return newError(CodeInvalidSignature, "presigned request expired at %s (X-Amz-Date %s + X-Amz-Expires %d s); now is %s", end.Format(amzDateLayout), sig.amzDate, int64(sig.expires/time.Second), now.Format(amzDateLayout))
		}
		return nil
	}
	if sig.time.Before(now.Add(-MaxSkew)) {
		return newError(CodeInvalidSignature, "signature expired: %s is earlier than %s (now - %d min); check the client's clock", sig.amzDate, now.Add(-MaxSkew).Format(amzDateLayout), int(MaxSkew/time.Minute))
	}
	if sig.time.After(now.Add(MaxSkew)) {
		return newError(CodeInvalidSignature, "signature not yet current: %s is later than %s (now + %d min); check the client's clock", sig.amzDate, now.Add(MaxSkew).Format(amzDateLayout), int(MaxSkew/time.Minute))
	}
	return nil
}

// checkSignedHeaders requires host, the header the request time came from,
// and the headers that select or qualify the operation to be signed, so a
// captured signature cannot be replayed against another operation.
func checkSignedHeaders(r *http.Request, sig *signature) error {
	need := []string{"host"}
	if sig.dateHeader != "" {
		need = append(need, sig.dateHeader)
	}
	for _, h := range []string{"x-amz-target", "x-amz-content-sha256", "x-amz-security-token"} {
		if _, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
			need = append(need, h)
		}
	}
	for _, h := range need {
		if !sig.signs(h) {
			return newError(CodeIncompleteSignature, "SignedHeaders %q must include %s", strings.Join(sig.signedHeaders, ";"), h)
		}
	}
	return nil
}

// payloadHash is the hash the canonical request ends with: the
// x-amz-content-sha256 header when sent (after checking it against the
// body, unless it is UNSIGNED-PAYLOAD), the body's SHA-256 otherwise.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	actual := hex.EncodeToString(sum[:])
	vals := r.Header.Values("X-Amz-Content-Sha256")
	if len(vals) == 0 {
		return actual, nil
	}
	if len(vals) > 1 {
		return "", newError(CodeIncompleteSignature, "x-amz-content-sha256 is sent %d times", len(vals))
	}
	switch h := strings.TrimSpace(vals[0]); {
	case h == UnsignedPayload:
		return h, nil
	case strings.HasPrefix(h, "STREAMING-"):
		return "", newError(CodeIncompleteSignature, "x-amz-content-sha256 %q: streaming (chunk-signed) payloads are not accepted here", clip(h))
	case h != actual:
		return "", newError(CodeInvalidSignature, "x-amz-content-sha256 %q is not the SHA-256 of the request body (%s)", clip(h), actual)
	default:
		return h, nil
	}
}

// Scope is a credential scope: the date, region and service a signing key
// is derived for.
type Scope struct {
	Date    string // YYYYMMDD
	Region  string
	Service string
}

func (s Scope) String() string {
	return s.Date + "/" + s.Region + "/" + s.Service + "/" + scopeTerminator
}

// SigningKey derives the key that signs requests of a scope from a secret
// access key.
func SigningKey(secret string, s Scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), s.Date)
	k = hmacSHA256(k, s.Region)
	k = hmacSHA256(k, s.Service)
	return hmacSHA256(k, scopeTerminator)
}

// StringToSign is what a signature is the HMAC of: the algorithm, the
// request time, the scope and the hash of the canonical request.
func StringToSign(s Scope, amzDate, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + s.String() + "\n" + hex.EncodeToString(sum[:])
}

// Sign returns the signature (raw bytes) of a canonical request.
func Sign(secret string, s Scope, amzDate, canonicalRequest string) []byte {
	return hmacSHA256(SigningKey(secret, s), StringToSign(s, amzDate, canonicalRequest))
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// clip bounds untrusted text quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
