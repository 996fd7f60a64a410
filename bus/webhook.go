package bus

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Webhook headers. The signature follows the widely used
// "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">" scheme so a
// receiver can reject replays older than its tolerance.
const (
	HeaderEventID   = "Landfall-Event-Id"
	HeaderSignature = "Landfall-Signature"
	HeaderAttempt   = "Landfall-Delivery-Attempt"
)

// Sign returns the signature header value for body sent at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks a signature header against body, rejecting
// signatures older than tolerance (0 = no age check).
func VerifySignature(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return errcode.New(errcode.Unauthenticated, "%s: malformed (want t=<unix>,v1=<hex>)", HeaderSignature)
	}
	if tolerance > 0 && now.Sub(time.Unix(sec, 0)).Abs() > tolerance {
		return errcode.New(errcode.Unauthenticated, "%s: timestamp outside the %s tolerance", HeaderSignature, tolerance)
	}
	want := Sign(secret, time.Unix(sec, 0), body)
	if !hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig)) {
		return errcode.New(errcode.Unauthenticated, "%s: does not match the body", HeaderSignature)
	}
	return nil
}

// Webhook delivers events by HTTP POST with a signature, retrying
// throttling, server errors and timeouts with jittered exponential backoff.
type Webhook struct {
	Client      *http.Client
	Secret      []byte
	MaxAttempts int           // default 5
	BaseDelay   time.Duration // default 1s; doubles per attempt
	MaxDelay    time.Duration // default 1m
	Timeout     time.Duration // per attempt; default 10s
	// Sleep waits between attempts; tests replace it. Default honours ctx.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time
}

// DeliveryError is a delivery that gave up. Permanent is true when the
// receiver rejected the request (a 4xx other than 408 and 429) rather than
// failing to take it.
type DeliveryError struct {
	URL        string
	Attempts   int
	StatusCode int
	Permanent  bool
	Err        error
}

func (e *DeliveryError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("webhook %s: HTTP %d after %d attempt(s)", e.URL, e.StatusCode, e.Attempts)
	}
	return fmt.Sprintf("webhook %s: %v after %d attempt(s)", e.URL, e.Err, e.Attempts)
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Deliver POSTs body to url with the event id and signature headers. It
// returns nil once the receiver answers 2xx.
func (w *Webhook) Deliver(ctx context.Context, url, eventID string, body []byte) error {
	client := w.Client
	if client == nil {
		client = http.DefaultClient
	}
	maxAttempts := w.MaxAttempts
	if maxAttempts <= 0 {
		maxAttempts = 5
	}
	base, maxDelay, timeout := w.BaseDelay, w.MaxDelay, w.Timeout
	if base <= 0 {
		base = time.Second
	}
	if maxDelay <= 0 {
		maxDelay = time.Minute
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	sleep := w.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	now := w.Now
	if now == nil {
		now = time.Now
	}
	derr := &DeliveryError{URL: url}
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		derr.Attempts = attempt
		status, err := w.post(ctx, client, timeout, url, eventID, body, attempt, now())
		derr.StatusCode, derr.Err = status, err
		if err == nil && status/100 == 2 {
			return nil
		}
		if err == nil && status/100 == 4 && status != http.StatusTooManyRequests && status != http.StatusRequestTimeout {
			derr.Permanent = true
			return derr
		}
		if ctx.Err() != nil {
			derr.Err = ctx.Err()
			return derr
		}
		if attempt == maxAttempts {
			break
		}
		d := min(base<<(attempt-1), maxDelay)
		d = d/2 + rand.N(d/2+1) // equal jitter: never hammer, never wait long
		if err := sleep(ctx, d); err != nil {
			derr.Err = err
			return derr
		}
	}
	return derr
}

func (w *Webhook) post(ctx context.Context, client *http.Client, timeout time.Duration, url, eventID string, body []byte, attempt int, now time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "landfall-webhook/1")
	req.Header.Set(HeaderEventID, eventID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(attempt))
	if len(w.Secret) > 0 {
		req.Header.Set(HeaderSignature, Sign(w.Secret, now, body))
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
