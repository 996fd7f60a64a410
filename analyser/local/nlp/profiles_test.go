package nlp

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/types"
)

func localProfile(t *testing.T, name string, src Sources) (*types.ProfileResult, map[string]json.RawMessage) {
	t.Helper()
	p, err := profile.Find(name)
	if err != nil {
		t.Fatal(err)
	}
	ins := Build(src, SummariseOptions{})
	res, err := LocalProfile(p, src, ins)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(res.Output); err != nil {
		t.Fatal(err)
	}
	var out map[string]json.RawMessage
	if err := json.Unmarshal(res.Output, &out); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s (not available: %v)", name, res.Output, res.NotAvailable)
	return res, out
}

func TestLocalLectureProfile(t *testing.T) {
	res, out := localProfile(t, "lecture", lectureSignals())
	if len(res.NotAvailable) != 0 {
		t.Errorf("not available %v: slides give every lecture field", res.NotAvailable)
	}
	var quiz []struct{ Question, Answer string }
	json.Unmarshal(out["quiz_questions"], &quiz)
	if len(quiz) == 0 || !strings.Contains(quiz[0].Question, "_____") {
		t.Errorf("quiz %+v", quiz)
	}
	for _, q := range quiz {
		for _, bad := range []string{"herring", "victims", "trouble"} {
			if strings.Contains(q.Question, bad) {
				t.Errorf("quiz question from unsure words: %q", q.Question)
			}
		}
	}
	if !strings.Contains(string(out["key_points"]), "Files land in storage") {
		t.Errorf("key points %s: want the slides' lines", out["key_points"])
	}
}

func TestLocalSupportCallProfile(t *testing.T) {
	tr := asr("i have called three times and it is still broken this is unacceptable || i want to speak to a manager || " +
		"i am sorry about that i will send you a replacement today || thank you that is great")
	spk := []string{"spk_0", "spk_0", "spk_1", "spk_0"}
	for i, s := range tr.Segments {
		for w := s.FirstWord; w < s.FirstWord+s.WordCount; w++ {
			tr.Words[w].Speaker = spk[i]
		}
		tr.Segments[i].Speaker = spk[i]
	}
	res, out := localProfile(t, "support-call", Sources{Transcript: tr})
	if !slices.Equal(res.NotAvailable, []string{"resolution"}) {
		t.Errorf("not available %v, want only resolution", res.NotAvailable)
	}
	for _, want := range []string{`"signal":"unacceptable"`, `"signal":"speak to a manager"`, `will send you a replacement today`, `"speaker":"spk_1"`} {
		if !strings.Contains(string(out["escalation_signals"])+string(out["action_items"]), want) {
			t.Errorf("escalations %s, actions %s: lack %s", out["escalation_signals"], out["action_items"], want)
		}
	}
	var sent []struct {
		Speaker string
		Score   float64
	}
	json.Unmarshal(out["sentiment_by_speaker"], &sent)
	if len(sent) != 2 || sent[0].Speaker != "spk_0" {
		t.Errorf("sentiment %+v", sent)
	}
}

func TestLocalPodcastAndModerationProfiles(t *testing.T) {
	tr := transcriptFromFile(t, "testdata/interview.txt")
	res, out := localProfile(t, "podcast", Sources{Transcript: tr})
	if len(res.NotAvailable) != 0 || !strings.Contains(string(out["guests"]), "Maria Garcia") {
		t.Errorf("podcast %s, not available %v", res.Output, res.NotAvailable)
	}
	res, _ = localProfile(t, "moderation", Sources{Transcript: tr})
	if !slices.Equal(res.NotAvailable, []string{"policy_findings", "overall"}) {
		t.Errorf("moderation without labels: not available %v", res.NotAvailable)
	}
	_, out = localProfile(t, "moderation", Sources{Transcript: tr, Moderation: []types.Moderation{{Name: "Graphic Violence", ParentName: "Violence", Confidence: 93.5, Timestamp: 4}}})
	if string(out["overall"]) != `"block"` || !strings.Contains(string(out["policy_findings"]), "93.5% confidence") {
		t.Errorf("moderation from labels: %s", out["policy_findings"])
	}
}

func TestSummariserFillsAProfile(t *testing.T) {
	raw, _ := json.Marshal(transcriptFromFile(t, "testdata/interview.txt"))
	out, err := Summariser{}.Run(context.Background(), nil, &analyser.Input{Results: map[string]json.RawMessage{"transcribe": raw},
		Options: json.RawMessage(`{"profile":"podcast"}`)})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, Summariser{}.Spec(), out)
	if p := out.(*types.Insights).Profile; p == nil || p.Name != "podcast" || p.Provider != "local" {
		t.Fatalf("profile %+v", p)
	}
	if _, err := (Summariser{}).Run(context.Background(), nil, &analyser.Input{Options: json.RawMessage(`{"profile":"recipe"}`)}); err == nil || !strings.Contains(err.Error(), "profile") {
		t.Fatalf("unknown profile: %v", err)
	}
}
