package bus

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func noSleep(context.Context, time.Duration) error { return nil }

func TestWebhookSignsAndRetries(t *testing.T) {
	secret := []byte("s3cret")
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		if err := VerifySignature(secret, r.Header.Get(HeaderSignature), body, time.Now(), time.Minute); err != nil {
			t.Errorf("signature: %v", err)
		}
		if r.Header.Get(HeaderEventID) != "ev-1" {
			t.Errorf("event id header %q", r.Header.Get(HeaderEventID))
		}
		switch n {
		case 1:
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	wh := &Webhook{Secret: secret, Sleep: noSleep}
	if err := wh.Deliver(context.Background(), srv.URL, "ev-1", []byte(`{"a":1}`)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3", calls.Load())
	}
}

func TestWebhookPermanentFailureStops(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	defer srv.Close()
	err := (&Webhook{Sleep: noSleep}).Deliver(context.Background(), srv.URL, "ev", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || !de.Permanent || de.StatusCode != 410 || calls.Load() != 1 {
		t.Fatalf("err = %v (calls %d)", err, calls.Load())
	}
}

func TestWebhookTimeoutGivesUp(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(block)
	wh := &Webhook{Sleep: noSleep, MaxAttempts: 2, Timeout: 50 * time.Millisecond}
	err := wh.Deliver(context.Background(), srv.URL, "ev", []byte(`{}`))
	var de *DeliveryError
	if !errors.As(err, &de) || de.Permanent || de.Attempts != 2 {
		t.Fatalf("err = %v", err)
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	secret := []byte("k")
	now := time.Unix(1_700_000_000, 0)
	good := Sign(secret, now, []byte("body"))
	if err := VerifySignature(secret, good, []byte("body"), now, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		header string
		body   string
		at     time.Time
	}{
		"tampered body": {good, "bodY", now},
		"stale":         {good, "body", now.Add(time.Hour)},
		"malformed":     {"v1=abc", "body", now},
	} {
		if err := VerifySignature(secret, tc.header, []byte(tc.body), tc.at, time.Minute); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
