package workflowapi_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/landfall/landfall/apiserver/workflowapi"
	"github.com/landfall/landfall/errcode"
)

// FuzzDecodeBody: any body either decodes or fails with an Invalid or
// TooLarge error, never a panic or another error.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{`{}`, `{"stateMachine":"a","input":{"x":1}}`, `{"stateMachine":5}`, `{"colour":1}`, `{`, `{} {}`, `[]`, `null`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > 1<<16 {
			return
		}
		var req workflowapi.StartExecutionRequest
		err := workflowapi.DecodeBody(body, &req)
		if err != nil && !errors.Is(err, errcode.Invalid) {
			t.Fatalf("error %v is not Invalid", err)
		}
		if err == nil && req.Input != nil && !json.Valid(req.Input) {
			t.Fatalf("accepted invalid input %q", req.Input)
		}
	})
}
