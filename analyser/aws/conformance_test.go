package aws

import (
	"net/http"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
)

// TestConformance runs the analyser suite on the AWS analysers against a
// service that refuses every call: their specs, options and error codes
// are checked without AWS.
func TestConformance(t *testing.T) {
	t.Parallel()
	f := newFake(t)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		awsError(w, http.StatusBadRequest, "ValidationException", "refused by the conformance suite")
	})
	c := f.clients(t)
	for _, a := range []analyser.Analyser{Transcriber{c}, Labeller{c}, Moderator{c}, Summariser{c}} {
		t.Run(a.Spec().ID, func(t *testing.T) { analysertest.Run(t, a, analysertest.Config{}) })
	}
}
