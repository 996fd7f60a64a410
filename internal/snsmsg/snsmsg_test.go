package snsmsg_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/snsmsg"
	"github.com/landfall/landfall/internal/snsmsg/snstest"
)

const topic = "arn:aws:sns:eu-west-1:111122223333:AmazonRekognitionLandfall"

func signer(t *testing.T) *snstest.Signer {
	t.Helper()
	s, err := snstest.New("eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyBothSignatureVersions(t *testing.T) {
	t.Parallel()
	s := signer(t)
	v := &snsmsg.Verifier{Fetch: s.Fetch}
	for _, version := range []int{1, 2} {
		m, err := snsmsg.Parse(s.Notification(topic, `{"JobId":"j1","Status":"SUCCEEDED"}`, version))
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Verify(context.Background(), m); err != nil {
			t.Fatalf("version %d: %v", version, err)
		}
	}
	if n := s.CertFetches(); n != 1 {
		t.Fatalf("certificate fetched %d times, want once", n)
	}
}

func TestStringToSign(t *testing.T) {
	t.Parallel()
	n := &snsmsg.Message{Type: "Notification", MessageID: "id", TopicArn: "arn", Message: "m\nx", Timestamp: "t", Subject: "s"}
	if got, want := string(n.StringToSign()), "Message\nm\nx\nMessageId\nid\nSubject\ns\nTimestamp\nt\nTopicArn\narn\nType\nNotification\n"; got != want {
		t.Fatalf("notification: %q, want %q", got, want)
	}
	c := &snsmsg.Message{Type: "SubscriptionConfirmation", MessageID: "id", TopicArn: "arn", Message: "m", Timestamp: "t", Token: "tok",
		SubscribeURL: "https://u", Subject: "ignored"}
	if got, want := string(c.StringToSign()), "Message\nm\nMessageId\nid\nSubscribeURL\nhttps://u\nTimestamp\nt\nToken\ntok\nTopicArn\narn\nType\nSubscriptionConfirmation\n"; got != want {
		t.Fatalf("confirmation: %q, want %q", got, want)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	s, other := signer(t), signer(t)
	ctx := context.Background()
	tamper := func(body []byte, f func(map[string]any)) []byte {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		f(m)
		b, _ := json.Marshal(m)
		return b
	}
	good := s.Notification(topic, `{"JobId":"j1","Status":"SUCCEEDED"}`, 2)
	cases := map[string]struct {
		body []byte
		want string
	}{
		"changed message": {tamper(good, func(m map[string]any) { m["Message"] = `{"JobId":"j2","Status":"SUCCEEDED"}` }), "does not verify"},
		"added subject":   {tamper(good, func(m map[string]any) { m["Subject"] = "x" }), "does not verify"},
		"another key":     {resign(t, other, good), "does not verify"},
		"http cert":       {tamper(good, func(m map[string]any) { m["SigningCertURL"] = "http://sns.eu-west-1.amazonaws.com/x.pem" }), "not https"},
		"foreign host":    {tamper(good, func(m map[string]any) { m["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com.evil.example/x.pem" }), "is not sns.<region>"},
		"not pem":         {tamper(good, func(m map[string]any) { m["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com/x.txt" }), ".pem"},
		"port":            {tamper(good, func(m map[string]any) { m["SigningCertURL"] = "https://sns.eu-west-1.amazonaws.com:8443/x.pem" }), "port"},
		"version 3":       {tamper(good, func(m map[string]any) { m["SignatureVersion"] = "3" }), "SignatureVersion"},
		"not base64":      {tamper(good, func(m map[string]any) { m["Signature"] = "%%%" }), "base64"},
	}
	v := &snsmsg.Verifier{Fetch: s.Fetch}
	for name, c := range cases {
		m, err := snsmsg.Parse(c.body)
		if err == nil {
			err = v.Verify(ctx, m)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", name, err, c.want)
			continue
		}
		if name != "not base64" && errcode.Of(err) != errcode.PermissionDenied {
			t.Errorf("%s: %s, want PermissionDenied", name, errcode.Of(err))
		}
	}
	expired := &snsmsg.Verifier{Fetch: s.Fetch, Now: func() time.Time { return time.Now().Add(48 * time.Hour) }}
	m, _ := snsmsg.Parse(good)
	if err := expired.Verify(ctx, m); err == nil || !strings.Contains(err.Error(), "not now") {
		t.Errorf("expired certificate: %v", err)
	}
}

// resign signs body's message again with another key, under the same
// certificate URL.
func resign(t *testing.T, s *snstest.Signer, body []byte) []byte {
	m, err := snsmsg.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	return s.Sign(m, 2)
}

func TestParseNamesMissingFields(t *testing.T) {
	t.Parallel()
	for body, want := range map[string]string{
		`{"Type":"Notification"}`:   "/MessageId",
		`{"Type":"Hello"}`:          "/Type",
		`[]`:                        "not a JSON object",
		`{"Type":"Notification"} 1`: "more follow",
		`{"Type":"SubscriptionConfirmation","MessageId":"a","TopicArn":"t","Timestamp":"t","SignatureVersion":"1","Signature":"s","SigningCertURL":"u","Message":"m"}`: "/Token",
	} {
		if _, err := snsmsg.Parse([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", body, err, want)
		}
	}
}

func TestConfirmOnlySNSHosts(t *testing.T) {
	t.Parallel()
	s := signer(t)
	v := &snsmsg.Verifier{Fetch: s.Fetch}
	ctx := context.Background()
	m, err := snsmsg.Parse(s.Confirmation(snsmsg.TypeSubscriptionConfirmation, topic, "https://attacker.example/confirm"))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Confirm(ctx, m); err == nil || len(s.Visited()) != 0 {
		t.Fatalf("a SubscribeURL off SNS's hosts was visited: %v %v", err, s.Visited())
	}
	m, _ = snsmsg.Parse(s.Confirmation(snsmsg.TypeSubscriptionConfirmation, topic, ""))
	if err := v.Confirm(ctx, m); err != nil || len(s.Visited()) != 1 {
		t.Fatalf("confirm: %v %v", err, s.Visited())
	}
}

func FuzzParse(f *testing.F) {
	s, err := snstest.New("eu-west-1")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(s.Notification(topic, `{"JobId":"j"}`, 1))
	f.Add(s.Confirmation(snsmsg.TypeSubscriptionConfirmation, topic, ""))
	f.Add([]byte(`{"Type":"Notification","Subject":null}`))
	v := &snsmsg.Verifier{Fetch: s.Fetch}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := snsmsg.Parse(b)
		if err != nil {
			if errcode.Of(err) != errcode.Invalid && errcode.Of(err) != errcode.TooLarge {
				t.Fatalf("%s error: %v", errcode.Of(err), err)
			}
			return
		}
		_ = m.StringToSign()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = v.Verify(ctx, m)
	})
}
