package asl_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/landfall/landfall/asl"
)

// TestMaxStatesYields: with StepContext.MaxStates a loop of Pass and
// Choice states stops every MaxStates states with KindYield, and
// advancing the reloaded frame again ends exactly where one unbounded
// Advance does, with every state entered once per pass.
func TestMaxStatesYields(t *testing.T) {
	t.Parallel()
	m := mustParse(t, `{"StartAt": "Inc", "States": {
	  "Inc": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Loop"},
	  "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericLessThan": 25, "Next": "Inc"}], "Default": "Done"},
	  "Done": {"Type": "Succeed"}}}`)
	sc := asl.StepContext{Now: time.Unix(0, 0)}

	whole := m.NewFrame(map[string]any{"n": json.Number("0")})
	want := m.Advance(whole, sc)
	if want.Kind != asl.KindSucceeded {
		t.Fatalf("unbounded: %s %s %s", want.Kind, want.Error, want.Cause)
	}

	f := m.NewFrame(map[string]any{"n": json.Number("0")})
	sc.MaxStates = 7
	entered, yields := 0, 0
	for {
		out := m.Advance(f, sc)
		entered += len(out.Entered)
		if len(out.Entered) > sc.MaxStates {
			t.Fatalf("step entered %d states, more than MaxStates %d", len(out.Entered), sc.MaxStates)
		}
		if out.Kind != asl.KindYield {
			if out.Kind != asl.KindSucceeded {
				t.Fatalf("bounded: %s %s %s", out.Kind, out.Error, out.Cause)
			}
			got, _ := json.Marshal(out.Output)
			exp, _ := json.Marshal(want.Output)
			if string(got) != string(exp) {
				t.Fatalf("output %s, want %s", got, exp)
			}
			break
		}
		yields++
		f = reload(t, f)
	}
	if entered != len(want.Entered) || yields != len(want.Entered)/sc.MaxStates {
		t.Fatalf("entered %d states in %d yields, want %d states", entered, yields, len(want.Entered))
	}
}
