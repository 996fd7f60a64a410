// Package snstest signs SNS messages with a test key and serves its
// certificate to a snsmsg.Verifier, so tests deliver messages that verify
// as SNS's do without reaching AWS.
package snstest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/landfall/landfall/internal/snsmsg"
)

// Signer holds a test signing key and its certificate, served at CertURL.
type Signer struct {
	Key     *rsa.PrivateKey
	CertPEM []byte
	CertURL string
	Region  string

	mu      sync.Mutex
	visited []string
	fetched int
}

// New makes a 2048-bit key and a self-signed certificate valid for a day,
// served at https://sns.<region>.amazonaws.com/SimpleNotificationService-test.pem.
func New(region string) (*Signer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sns.amazonaws.com"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	return &Signer{Key: key, Region: region, CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		CertURL: "https://sns." + region + ".amazonaws.com/SimpleNotificationService-test.pem"}, nil
}

// Fetch serves the certificate at CertURL and records every other URL
// visited (subscription confirmations), answering them 200.
func (s *Signer) Fetch(_ context.Context, u string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u == s.CertURL {
		s.fetched++
		return s.CertPEM, nil
	}
	s.visited = append(s.visited, u)
	return []byte("<ConfirmSubscriptionResponse/>"), nil
}

// Visited lists the URLs other than the certificate's that were fetched.
func (s *Signer) Visited() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.visited...)
}

// CertFetches counts the certificate's fetches.
func (s *Signer) CertFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetched
}

// Notification returns a signed Notification of message on topic.
func (s *Signer) Notification(topic, message string, version int) []byte {
	m := &snsmsg.Message{Type: snsmsg.TypeNotification, MessageID: uuid.NewString(), TopicArn: topic, Message: message,
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	return s.Sign(m, version)
}

// Confirmation returns a signed SubscriptionConfirmation (or
// UnsubscribeConfirmation) of topic whose SubscribeURL is subscribeURL
// (empty: SNS's ConfirmSubscription URL in the signer's region).
func (s *Signer) Confirmation(typ, topic, subscribeURL string) []byte {
	token := "2336412f37fb687f5d51e6e241d164b0533302ec696efc8f113cd2252ce8a925"
	if subscribeURL == "" {
		subscribeURL = "https://sns." + s.Region + ".amazonaws.com/?Action=ConfirmSubscription&TopicArn=" + topic + "&Token=" + token
	}
	m := &snsmsg.Message{Type: typ, MessageID: uuid.NewString(), TopicArn: topic, Token: token, SubscribeURL: subscribeURL,
		Message:   fmt.Sprintf("You have chosen to subscribe to the topic %s.\nTo confirm the subscription, visit the SubscribeURL included in this message.", topic),
		Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z")}
	return s.Sign(m, 2)
}

// Sign sets m's signature fields (SignatureVersion version: 1 SHA1withRSA,
// 2 SHA256withRSA) and returns its JSON.
func (s *Signer) Sign(m *snsmsg.Message, version int) []byte {
	var sig []byte
	var err error
	if version == 1 {
		sum := sha1.Sum(m.StringToSign())
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA1, sum[:])
	} else {
		sum := sha256.Sum256(m.StringToSign())
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, sum[:])
	}
	if err != nil {
		panic(err)
	}
	m.SignatureVersion = fmt.Sprint(version)
	m.Signature = base64.StdEncoding.EncodeToString(sig)
	m.SigningCertURL = s.CertURL
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	return b
}
