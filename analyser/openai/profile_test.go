package openai

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// profileReplies are, per built-in profile, a valid document and an
// invalid one (a wrong type, a missing field or a value out of range).
var profileReplies = map[string]struct{ valid, invalid string }{
	"podcast": {
		`{"show_notes":"Maria Garcia on media pipelines.","chapters":[{"title":"Intro","start_seconds":0.2}],"guests":["Maria Garcia"],"mentions":null,"quotes":[{"text":"We build pipelines.","speaker":"spk_0","start_seconds":0.2}]}`,
		`{"show_notes":"x","chapters":[],"guests":["Maria Garcia"],"mentions":null}`},
	"lecture": {
		`{"key_points":[{"text":"Pipelines move media.","start_seconds":0.2}],"quiz_questions":[{"question":"What moves media?","answer":"Pipelines","start_seconds":0.2}],"glossary":null}`,
		`{"key_points":[{"text":"Pipelines move media.","start_seconds":-3}],"quiz_questions":null,"glossary":null}`},
	"support-call": {
		`{"sentiment_by_speaker":[{"speaker":"spk_0","score":-0.4,"label":"negative"}],"escalation_signals":[],"action_items":[{"text":"I will send a refund.","speaker":"spk_1","start_seconds":2.5}],"resolution":"Refund promised."}`,
		`{"sentiment_by_speaker":[{"speaker":"spk_0","score":-4,"label":"furious"}],"escalation_signals":[],"action_items":[],"resolution":null}`},
	"moderation": {
		`{"policy_findings":[{"policy":"Violence","decision":"review","reasoning":"A fight is described.","evidence_seconds":[2.5]}],"overall":"review"}`,
		`{"policy_findings":"none","overall":"maybe"}`},
}

func TestProfilesOverLoopback(t *testing.T) {
	if len(profileReplies) != len(profile.Names()) {
		t.Fatalf("replies for %d profiles, %d built in", len(profileReplies), len(profile.Names()))
	}
	for _, name := range profile.Names() {
		r := profileReplies[name]
		for _, c := range []struct {
			what    string
			replies []string
			calls   int32
			code    errcode.Code
		}{
			{"valid", []string{r.valid}, 2, ""},
			{"invalid then repaired", []string{r.invalid, r.valid}, 3, ""},
			{"invalid twice", []string{r.invalid, r.invalid}, 3, errcode.ProviderBadOutput},
		} {
			t.Run(name+"/"+c.what, func(t *testing.T) {
				var calls atomic.Int32
				var profileCalls atomic.Int32
				cl := newClient(t, func(w http.ResponseWriter, req *http.Request) {
					calls.Add(1)
					var body chatRequest
					json.NewDecoder(req.Body).Decode(&body)
					js, _ := body.ResponseFormat["json_schema"].(map[string]any)
					if js["name"] == "insights" {
						io.WriteString(w, chatReply(goodInsights))
						return
					}
					if js["name"] != strings.ReplaceAll(name, "-", "_") || js["strict"] != true || js["schema"] == nil {
						t.Errorf("profile request format %v", body.ResponseFormat)
					}
					n := profileCalls.Add(1)
					if n == 2 && !strings.Contains(body.Messages[len(body.Messages)-1].Content, "invalid") {
						t.Errorf("repair request does not say what was wrong: %+v", body.Messages)
					}
					io.WriteString(w, chatReply(c.replies[min(int(n), len(c.replies))-1]))
				})
				opts, _ := json.Marshal(map[string]string{"profile": name})
				out, err := Summariser{cl}.Run(context.Background(), nil, &analyser.Input{Results: transcriptResults(), Options: opts})
				if c.code != "" {
					if errcode.Of(err) != c.code {
						t.Fatalf("err = %v, want %s", err, c.code)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if err := analyser.ValidateOutput(Summariser{cl}.Spec(), out); err != nil {
					t.Fatal(err)
				}
				ins := out.(*types.Insights)
				p, _ := profile.Lookup(name)
				if ins.Profile == nil || ins.Profile.Name != name || ins.Profile.Provider != "openai" || p.Validate(ins.Profile.Output) != nil {
					t.Fatalf("profile result %+v", ins.Profile)
				}
				if calls.Load() != c.calls {
					t.Errorf("%d calls, want %d", calls.Load(), c.calls)
				}
				if name == "podcast" && strings.Join(ins.Profile.NotAvailable, ",") != "mentions" {
					t.Errorf("not available %v, want the null field", ins.Profile.NotAvailable)
				}
			})
		}
	}
}

func TestUnknownProfileIsNamed(t *testing.T) {
	cl := newClient(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, chatReply(goodInsights)) })
	_, err := Summariser{cl}.Run(context.Background(), nil, &analyser.Input{Results: transcriptResults(), Options: json.RawMessage(`{"profile":"recipe"}`)})
	if err == nil || !strings.Contains(err.Error(), "profile") {
		t.Fatalf("err = %v", err)
	}
}
