package expr

import (
	"encoding/json"
	"strings"
	"testing"
)

type testStateCase struct {
	Name    string `json:"name"`
	Request struct {
		Definition json.RawMessage `json:"definition"`
		Input      json.RawMessage `json:"input"`
		Context    json.RawMessage `json:"context"`
		Variables  json.RawMessage `json:"variables"`
		Mock       *struct {
			Result *string `json:"result"`
		} `json:"mock"`
	} `json:"request"`
	Expected json.RawMessage `json:"expected_response"`
}

// TestConformanceTestStateDataFlow replays the single-state TestState
// cases of JSONPath Pass and Task states step by step (InputPath,
// Parameters, the mocked result, ResultSelector, ResultPath, OutputPath) and
// compares every intermediate value AWS reported in inspectionData.
func TestConformanceTestStateDataFlow(t *testing.T) {
	dir := "test_state/test_state.jsonl"
	var cases []testStateCase
	for _, line := range readLines(t, dir) {
		var c testStateCase
		if err := json.Unmarshal(line, &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	ran := 0
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			def, _ := mustDecode(t, c.Request.Definition).(map[string]any)
			typ, _ := def["Type"].(string)
			if def["States"] != nil || (typ != "Pass" && typ != "Task") || def["QueryLanguage"] == "JSONata" {
				t.Skip("not a single JSONPath Pass or Task state")
			}
			if _, ok := def["Catch"]; ok {
				t.Skip("error handling is the interpreter's")
			}
			exp, _ := mustDecode(t, c.Expected).(map[string]any)
			insp, _ := exp["inspectionData"].(map[string]any)
			if insp == nil || (typ == "Task" && (c.Request.Mock == nil || c.Request.Mock.Result == nil)) {
				t.Skip("no inspection data or no mocked result")
			}
			input := mustDecode(t, c.Request.Input)
			if input == nil {
				input = map[string]any{} // TestState's default input
			}
			var ctx any = newContext(input, false)
			if len(c.Request.Context) > 0 {
				ctx = mustDecode(t, c.Request.Context)
			}
			vars := map[string]any{}
			if len(c.Request.Variables) > 0 {
				if m, ok := mustDecode(t, c.Request.Variables).(map[string]any); ok {
					vars = m
				}
			}
			var unchecked []string
			if u, ok := exp["unchecked_paths"].([]any); ok {
				for _, p := range u {
					unchecked = append(unchecked, p.(string))
				}
			}
			check := func(key string, got any) {
				t.Helper()
				want, ok := insp[key]
				if !ok {
					return
				}
				g, w := deepCopy(got), deepCopy(want)
				for _, p := range unchecked {
					if rest, ok := strings.CutPrefix(p, "/inspectionData/"+key); ok {
						g, w = removePointer(g, rest), removePointer(w, rest)
					}
				}
				if !Equal(g, w) {
					t.Fatalf("%s:\n got %s\nwant %s", key, MarshalString(got), MarshalString(want))
				}
			}
			env := &Env{Input: input, Context: ctx, Vars: vars}
			effective := input
			if ip, present := def["InputPath"]; present {
				if ip == nil {
					effective = map[string]any{}
				} else {
					v, err := MustCompilePath(ip.(string)).Eval(env)
					if err != nil {
						t.Fatalf("InputPath: %v", err)
					}
					effective = v
				}
			}
			check("afterInputPath", effective)
			params := effective
			if p, ok := def["Parameters"]; ok {
				v, err := MustCompileTemplate(p).Eval(&Env{Input: effective, Context: ctx, Vars: vars})
				if err != nil {
					t.Fatalf("Parameters: %v", err)
				}
				params = v
			}
			check("afterParameters", params)
			result := params
			if typ == "Task" {
				result = mustDecode(t, []byte(*c.Request.Mock.Result))
			} else if r, ok := def["Result"]; ok {
				result = r
			}
			check("result", result)
			if rs, ok := def["ResultSelector"]; ok {
				v, err := MustCompileTemplate(rs).Eval(&Env{Input: result, Context: ctx, Vars: vars})
				if err != nil {
					t.Fatalf("ResultSelector: %v", err)
				}
				result = v
			}
			check("afterResultSelector", result)
			out := result
			if rp, present := def["ResultPath"]; present {
				out = input
				if rp != nil {
					v, err := SetPath(input, rp.(string), result)
					if err != nil {
						t.Fatalf("ResultPath: %v", err)
					}
					out = v
				}
			}
			check("afterResultPath", out)
			ran++
		})
	}
	t.Logf("%d TestState data-flow cases ran", ran)
}
