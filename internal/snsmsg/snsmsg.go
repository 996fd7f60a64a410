// Package snsmsg reads and authenticates the messages Amazon SNS POSTs to
// an HTTP(S) subscription: SubscriptionConfirmation, Notification and
// UnsubscribeConfirmation.
//
// A message is authentic when its Signature verifies, with the public key
// of the certificate its SigningCertURL names, over the message's string
// to sign (SignatureVersion 1: SHA1withRSA; 2: SHA256withRSA). The
// certificate is fetched only from https://sns.<region>.amazonaws.com
// (or .amazonaws.com.cn) paths ending in .pem, over TLS checked against
// the system's roots; a Verifier's Fetch replaces that fetch (tests serve
// their own certificate under the same URL rules, which stay enforced).
// A verified message still proves only that SNS sent it: the caller
// checks its TopicArn against the topics it subscribed to.
package snsmsg

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Message types.
const (
	TypeSubscriptionConfirmation = "SubscriptionConfirmation"
	TypeNotification             = "Notification"
	TypeUnsubscribeConfirmation  = "UnsubscribeConfirmation"
)

// Message is one SNS message as an HTTP(S) subscription receives it.
type Message struct {
	Type             string `json:"Type"`
	MessageID        string `json:"MessageId"`
	Token            string `json:"Token,omitempty"`
	TopicArn         string `json:"TopicArn"`
	Subject          string `json:"Subject,omitempty"`
	Message          string `json:"Message"`
	Timestamp        string `json:"Timestamp"`
	SignatureVersion string `json:"SignatureVersion"`
	Signature        string `json:"Signature"`
	SigningCertURL   string `json:"SigningCertURL"`
	SubscribeURL     string `json:"SubscribeURL,omitempty"`
	UnsubscribeURL   string `json:"UnsubscribeURL,omitempty"`

	// subjectSet is whether the message had a Subject key (a Notification
	// signs Subject only when present).
	subjectSet bool
}

// MaxBytes bounds a message body (SNS messages are at most 256 KiB plus
// their envelope).
const MaxBytes = 320 << 10

// Parse reads one SNS message, checking that the fields its type signs
// are present. Errors are Invalid and name the field.
func Parse(b []byte) (*Message, error) {
	if len(b) > MaxBytes {
		return nil, errcode.New(errcode.TooLarge, "sns: message of %d bytes, at most %d", len(b), MaxBytes)
	}
	var m Message
	var keys map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&keys); err != nil {
		return nil, errcode.New(errcode.Invalid, "sns: not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, errcode.New(errcode.Invalid, "sns: one message expected, more follow it")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, errcode.New(errcode.Invalid, "sns: %v", err)
	}
	_, m.subjectSet = keys["Subject"]
	if m.subjectSet && string(keys["Subject"]) == "null" {
		m.subjectSet = false
	}
	need := []struct{ name, v string }{{"Type", m.Type}, {"MessageId", m.MessageID}, {"TopicArn", m.TopicArn},
		{"Timestamp", m.Timestamp}, {"SignatureVersion", m.SignatureVersion}, {"Signature", m.Signature}, {"SigningCertURL", m.SigningCertURL}}
	switch m.Type {
	case TypeNotification:
	case TypeSubscriptionConfirmation, TypeUnsubscribeConfirmation:
		need = append(need, struct{ name, v string }{"Token", m.Token}, struct{ name, v string }{"SubscribeURL", m.SubscribeURL})
	default:
		return nil, errcode.New(errcode.Invalid, "sns: /Type %q: want Notification, SubscriptionConfirmation or UnsubscribeConfirmation", m.Type)
	}
	for _, f := range need {
		if f.v == "" {
			return nil, errcode.New(errcode.Invalid, "sns: /%s: missing in a %s message", f.name, m.Type)
		}
	}
	if _, ok := keys["Message"]; !ok {
		return nil, errcode.New(errcode.Invalid, "sns: /Message: missing in a %s message", m.Type)
	}
	return &m, nil
}

// StringToSign is the canonical text SNS signs: each signed field's name
// and value on lines of their own, in byte order of the names: Message,
// MessageId, Subject (when present), Timestamp, TopicArn and Type for a
// Notification; Message, MessageId, SubscribeURL, Timestamp, Token,
// TopicArn and Type for the confirmations.
func (m *Message) StringToSign() []byte {
	var b bytes.Buffer
	add := func(k, v string) {
		b.WriteString(k)
		b.WriteByte('\n')
		b.WriteString(v)
		b.WriteByte('\n')
	}
	add("Message", m.Message)
	add("MessageId", m.MessageID)
	if m.Type == TypeNotification {
		if m.subjectSet || m.Subject != "" {
			add("Subject", m.Subject)
		}
	} else {
		add("SubscribeURL", m.SubscribeURL)
	}
	add("Timestamp", m.Timestamp)
	if m.Type != TypeNotification {
		add("Token", m.Token)
	}
	add("TopicArn", m.TopicArn)
	add("Type", m.Type)
	return b.Bytes()
}

// snsHost is the host of SNS's regional endpoints, which serve the signing
// certificates and the subscription confirmations.
var snsHost = regexp.MustCompile(`^sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?$`)

// CheckURL refuses a URL SNS did not issue: it must be https, on host
// sns.<region>.amazonaws.com (or .amazonaws.com.cn) on the default port,
// without user information or fragment; a certificate URL's path ends in
// .pem and has no query.
func CheckURL(raw string, cert bool) error {
	what := "SubscribeURL"
	if cert {
		what = "SigningCertURL"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return errcode.New(errcode.PermissionDenied, "sns: %s %q: %v", what, raw, err)
	}
	switch {
	case u.Scheme != "https":
		return errcode.New(errcode.PermissionDenied, "sns: %s %q: not https", what, raw)
	case u.User != nil || u.Fragment != "" || u.Port() != "":
		return errcode.New(errcode.PermissionDenied, "sns: %s %q: user information, fragment or port given", what, raw)
	case !snsHost.MatchString(u.Hostname()):
		return errcode.New(errcode.PermissionDenied, "sns: %s %q: host %q is not sns.<region>.amazonaws.com", what, raw, u.Hostname())
	case cert && (!strings.HasSuffix(u.Path, ".pem") || u.RawQuery != ""):
		return errcode.New(errcode.PermissionDenied, "sns: %s %q: not a .pem path without query", what, raw)
	}
	return nil
}

// Fetcher GETs a URL that passed CheckURL and returns its body.
type Fetcher func(ctx context.Context, url string) ([]byte, error)

// HTTPSFetcher fetches over HTTPS with the system's roots (the client's
// default TLS configuration), following no redirect, within 10 seconds and
// 64 KiB.
func HTTPSFetcher(client *http.Client) Fetcher {
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return func(ctx context.Context, u string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, errcode.Wrap(errcode.Unavailable, err, "sns: GET %s", u)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if err != nil {
			return nil, errcode.Wrap(errcode.Unavailable, err, "sns: GET %s", u)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, errcode.New(errcode.Unavailable, "sns: GET %s: %s", u, resp.Status)
		}
		return b, nil
	}
}

// Verifier checks message signatures, keeping each signing certificate it
// fetched.
type Verifier struct {
	// Fetch fetches signing certificates (and confirms subscriptions);
	// nil is HTTPSFetcher(nil).
	Fetch Fetcher
	// Now is the clock the certificate's validity is checked against;
	// nil is time.Now.
	Now func() time.Time

	mu    sync.Mutex
	certs map[string]*x509.Certificate
}

func (v *Verifier) fetch() Fetcher {
	if v.Fetch == nil {
		return HTTPSFetcher(nil)
	}
	return v.Fetch
}

// Verify checks m's signature. An unverifiable message is
// PermissionDenied, naming why; a certificate that cannot be fetched is
// Unavailable (SNS retries).
func (v *Verifier) Verify(ctx context.Context, m *Message) error {
	var h crypto.Hash
	switch m.SignatureVersion {
	case "1":
		h = crypto.SHA1
	case "2":
		h = crypto.SHA256
	default:
		return errcode.New(errcode.PermissionDenied, "sns: SignatureVersion %q: want 1 (SHA1withRSA) or 2 (SHA256withRSA)", m.SignatureVersion)
	}
	sig, err := base64.StdEncoding.DecodeString(m.Signature)
	if err != nil {
		return errcode.New(errcode.PermissionDenied, "sns: Signature is not base64: %v", err)
	}
	cert, err := v.cert(ctx, m.SigningCertURL)
	if err != nil {
		return err
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return errcode.New(errcode.PermissionDenied, "sns: the certificate at %s has no RSA key", m.SigningCertURL)
	}
	var sum []byte
	if h == crypto.SHA1 {
		s := sha1.Sum(m.StringToSign())
		sum = s[:]
	} else {
		s := sha256.Sum256(m.StringToSign())
		sum = s[:]
	}
	if err := rsa.VerifyPKCS1v15(pub, h, sum, sig); err != nil {
		return errcode.New(errcode.PermissionDenied, "sns: the signature of %s message %s does not verify with the certificate at %s",
			m.Type, m.MessageID, m.SigningCertURL)
	}
	return nil
}

// cert returns the signing certificate at u, fetched once.
func (v *Verifier) cert(ctx context.Context, u string) (*x509.Certificate, error) {
	if err := CheckURL(u, true); err != nil {
		return nil, err
	}
	v.mu.Lock()
	c := v.certs[u]
	v.mu.Unlock()
	if c == nil {
		b, err := v.fetch()(ctx, u)
		if err != nil {
			return nil, err
		}
		blk, _ := pem.Decode(b)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return nil, errcode.New(errcode.PermissionDenied, "sns: %s is not a PEM certificate", u)
		}
		if c, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return nil, errcode.New(errcode.PermissionDenied, "sns: %s: %v", u, err)
		}
		v.mu.Lock()
		if v.certs == nil {
			v.certs = map[string]*x509.Certificate{}
		}
		if len(v.certs) > 64 {
			clear(v.certs)
		}
		v.certs[u] = c
		v.mu.Unlock()
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	if now.Before(c.NotBefore) || now.After(c.NotAfter) {
		return nil, errcode.New(errcode.PermissionDenied, "sns: the certificate at %s is valid from %s to %s, not now",
			u, c.NotBefore.Format(time.RFC3339), c.NotAfter.Format(time.RFC3339))
	}
	return c, nil
}

// Confirm visits a verified SubscriptionConfirmation's SubscribeURL,
// which confirms the subscription.
func (v *Verifier) Confirm(ctx context.Context, m *Message) error {
	if m.Type != TypeSubscriptionConfirmation {
		return fmt.Errorf("sns: %s is not a subscription confirmation", m.Type)
	}
	if err := CheckURL(m.SubscribeURL, false); err != nil {
		return err
	}
	_, err := v.fetch()(ctx, m.SubscribeURL)
	return err
}
