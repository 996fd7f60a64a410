package apiserver

import (
	"context"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/landfall/landfall/errcode"
)

// Jobs resumes executions waiting for asynchronous provider jobs (a
// Transcribe job started by a .waitForTaskToken state) when the
// provider's completion notice arrives.
type Jobs interface {
	// AWSEvent takes one Amazon EventBridge event (what an EventBridge API
	// destination POSTs): a Transcribe Job State Change.
	AWSEvent(ctx context.Context, body []byte) (*JobNotice, error)
	// SNS takes one message Amazon SNS POSTs to an HTTP(S) subscription
	// (a Rekognition Video job's completion, or the subscription's
	// confirmation): it is authenticated by its signature and its topic.
	SNS(ctx context.Context, body []byte) (*JobNotice, error)
}

// JobNotice says what a completion notice did.
type JobNotice struct {
	Service string `json:"service"`
	JobID   string `json:"job_id,omitempty"`
	Status  string `json:"status,omitempty"`
	MediaID string `json:"media_id,omitempty"`
	// Outcome: "resumed" (the execution continues with the job's output),
	// "failed" (it continues with the job's error), "running" (the job has
	// not ended; nothing done) or "ignored" (not a job of Landfall's);
	// for SNS's confirmations, "subscribed" (the SubscribeURL was
	// visited) or "unsubscribed".
	Outcome string `json:"outcome"`
}

func (s *Server) jobEvent(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Jobs == nil {
		return errcode.New(errcode.NotImplemented, "asynchronous jobs are not served by this server role")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 256<<10))
	if err != nil {
		return errcode.New(errcode.TooLarge, "event body: %v", err)
	}
	if err := CheckJSONText(body); err != nil {
		return err
	}
	res, err := s.cfg.Jobs.AWSEvent(r.Context(), body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// snsMessage serves POST /v1/intake/sns, an SNS HTTP(S) subscription's
// endpoint. It needs no credential (SNS sends none): the message's
// signature and topic authenticate it, and one that fails either is
// refused with 403.
func (s *Server) snsMessage(w http.ResponseWriter, r *http.Request) error {
	if s.cfg.Jobs == nil {
		return errcode.New(errcode.NotImplemented, "asynchronous jobs are not served by this server role")
	}
	// An address whose messages keep failing authentication is refused
	// before its next one is verified, as for credentials.
	addr := "addr:" + remoteHost(r)
	if ok, wait := s.failures.check(addr); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return errcode.New(errcode.RateLimited, "too many unauthenticated SNS messages from this address (%d a minute); retry in %s",
			s.failures.perMinute, wait.Round(100*time.Millisecond))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 320<<10))
	if err != nil {
		return errcode.New(errcode.TooLarge, "SNS message body: %v", err)
	}
	if err := CheckJSONText(body); err != nil {
		return err
	}
	res, err := s.cfg.Jobs.SNS(r.Context(), body)
	if errcode.Of(err) == errcode.PermissionDenied {
		s.failures.take(addr)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
