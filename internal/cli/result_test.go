package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/types"
)

func TestPrintResultWarnsOfUnusedVocabulary(t *testing.T) {
	tr := filepath.Join(t.TempDir(), "transcript.json")
	if err := os.WriteFile(tr, []byte(`{"duration":1,"text":"","words":[],"segments":[],"vocabulary":{"unreachable":["kubernetes","rekognition"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	printResult(&b, nil, processResult{File: "talk.mp4", Status: "SUCCEEDED", Outputs: map[string]string{"transcript": tr},
		Record: &catalog.Media{Kind: types.KindVideo, Insights: &types.Insights{Summary: "A talk.",
			Profile: &types.ProfileResult{Name: "lecture", Provider: "local", NotAvailable: []string{"quiz_questions"}}}}})
	out := b.String()
	for _, want := range []string{"profile: lecture (local); not available: quiz_questions",
		"warning: vocabulary not used (the recogniser cannot produce these words; domain text that uses them makes them recognisable): kubernetes, rekognition"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
