package apiserver

import (
	"context"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

// snsJobs refuses every SNS message as an unverifiable one and counts
// the messages that reached it.
type snsJobs struct{ seen int }

func (j *snsJobs) AWSEvent(context.Context, []byte) (*JobNotice, error) { return nil, nil }

func (j *snsJobs) SNS(_ context.Context, body []byte) (*JobNotice, error) {
	j.seen++
	if strings.Contains(string(body), "good") {
		return &JobNotice{Service: "rekognition", Outcome: "ignored"}, nil
	}
	return nil, errcode.New(errcode.PermissionDenied, "sns: the signature does not verify")
}

// TestSNSIntakeNeedsNoKeyAndThrottlesForgeries: the SNS endpoint takes
// messages without a credential; an address whose messages keep failing
// authentication is refused (429) before its next one is verified.
func TestSNSIntakeNeedsNoKeyAndThrottlesForgeries(t *testing.T) {
	t.Parallel()
	jobs := &snsJobs{}
	f := keyed(t, Config{Jobs: jobs, FailedAuthPerMinute: 2})
	if code, body, _ := f.do(t, "POST", "/v1/intake/sns", "", `{"Type":"good"}`); code != 200 || body["outcome"] != "ignored" {
		t.Fatalf("a good message without a key: %d %v", code, body)
	}
	for i := 0; i < 2; i++ {
		if code, body, _ := f.do(t, "POST", "/v1/intake/sns", "", `{"Type":"forged"}`); code != 403 || !strings.Contains(body["detail"].(string), "does not verify") {
			t.Fatalf("forgery %d: %d %v", i, code, body)
		}
	}
	code, _, hdr := f.do(t, "POST", "/v1/intake/sns", "", `{"Type":"good"}`)
	if code != 429 || hdr.Get("Retry-After") == "" || jobs.seen != 3 {
		t.Fatalf("after two forgeries: %d, %d messages verified", code, jobs.seen)
	}
}
