package openai

import (
	"net/http"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
)

// TestConformance runs the analyser suite on the OpenAI analysers against
// a server that is unavailable: their specs, options and error codes are
// checked without a model.
func TestConformance(t *testing.T) {
	t.Parallel()
	c := newClient(t, func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":{"message":"unavailable"}}`, http.StatusServiceUnavailable)
	})
	for _, a := range []analyser.Analyser{Transcriber{c}, Summariser{c}} {
		t.Run(a.Spec().ID, func(t *testing.T) { analysertest.Run(t, a, analysertest.Config{}) })
	}
}
