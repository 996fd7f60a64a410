package sfnapi_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/apiserver/sfnapi"
)

// TestActions: every listed action is served (never answered
// UnknownOperationException), and the list is sorted and unique.
func TestActions(t *testing.T) {
	t.Parallel()
	acts := sfnapi.Actions()
	if !slices.IsSorted(acts) || len(slices.Compact(slices.Clone(acts))) != len(acts) {
		t.Fatalf("Actions() not sorted and unique: %q", acts)
	}
	for _, want := range []string{"StartExecution", "ListExecutions", "CreateStateMachine", "GetActivityTask"} {
		if !slices.Contains(acts, want) {
			t.Errorf("Actions() lacks %s", want)
		}
	}
	h := sfnapi.New(nil)
	for _, a := range append(acts, "NoSuchAction") {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("not json"))
		r.Header.Set("X-Amz-Target", "AWSStepFunctions."+a)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		unknown := w.Header().Get("X-Amzn-Errortype") == "UnknownOperationException"
		if unknown != (a == "NoSuchAction") {
			t.Errorf("%s: %d %s", a, w.Code, w.Body)
		}
	}
}
