package search_test

import (
	"encoding/json"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/search"
	"github.com/landfall/landfall/types"
)

// An insight profile's texts are summary entries naming the profile and
// the field they came from; numbers, nulls and blank strings add nothing.
func TestEntriesIndexProfileOutput(t *testing.T) {
	out := `{"key_points":["Churn is counted monthly","  "],"quiz":[{"question":"What is churn?","answer":null}],"minutes":12,"resolution":null}`
	m := &catalog.Media{ID: "m1", Insights: &types.Insights{
		Profile: &types.ProfileResult{Name: "lecture", Provider: "local", Output: json.RawMessage(out)}}}
	got := map[string]string{}
	for _, e := range search.Entries(m, nil) {
		if e.Field == catalog.FieldSummary {
			got[e.Value] = e.Body
		}
	}
	want := map[string]string{
		"profile:lecture/key_points":    "Churn is counted monthly",
		"profile:lecture/quiz/question": "What is churn?",
	}
	if len(got) != len(want) {
		t.Fatalf("summary entries %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}
