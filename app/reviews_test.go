package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

// call sends a JSON request and decodes a JSON answer into out (when
// non-nil), returning the status and the raw body.
func call(t *testing.T, method, url string, body any, out any) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return resp.StatusCode, string(raw)
}

// waitReviewStatus polls until the media item has status want.
func waitReviewStatus(t *testing.T, base, id string, want types.Status, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var m map[string]any
		getJSON(t, base+"/v1/media/"+id, &m)
		if m["status"] == string(want) {
			return m
		}
		if s := m["status"]; s == "FAILED" || s == "SUCCEEDED" || s == "REJECTED" {
			t.Fatalf("media %s ended %v (%v: %v), want %s", id, s, m["error"], m["cause"], want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s still %v after %s, want %s", id, m["status"], within, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var dialogueOnce sync.Once
var dialoguePath string
var dialogueErr error

// reviewDialogue is a short two-voice dialogue made offline.
func reviewDialogue(t *testing.T) string {
	t.Helper()
	dialogueOnce.Do(func() {
		dir, err := os.MkdirTemp("", "landfall-review-")
		if err != nil {
			dialogueErr = err
			return
		}
		dialoguePath = filepath.Join(dir, "interview.wav")
		_, dialogueErr = mediagen.Dialogue(context.Background(), dialoguePath, []mediagen.Turn{
			{Speaker: "Host", Voice: mediagen.VoiceMale, Text: "Welcome to the harbour report. Today we talk about boats and the weather."},
			{Speaker: "Guest", Voice: mediagen.VoiceFemale, Text: "Thank you. The weather was calm and the boats came home early."},
		}, 0.3, 0.8)
	})
	if dialogueErr != nil {
		t.Fatal(dialogueErr)
	}
	return dialoguePath
}

func uploadFile(t *testing.T, a *App, path string) *catalog.Media {
	t.Helper()
	return upload(t, a, path)
}

func reviewAll(c *config.Config) { c.Review.Policy = config.ReviewAll }

// TestReviewApproveAndReject is the review queue end to end on both
// catalogs: with the policy "review everything" a processed file waits in
// the queue; approving it with an edited word, a renamed speaker and an
// edited summary resumes its execution and the edit shows in captions.vtt,
// transcript.json, search and the record; a second decision is refused;
// rejecting ends the item REJECTED with the reason.
func TestReviewApproveAndReject(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated speech")
	}
	t.Parallel()
	wav := reviewDialogue(t)
	catalogs(t, reviewAll, func(t *testing.T, a *App, base string) {
		m := uploadFile(t, a, wav)
		waitReviewStatus(t, base, m.ID, types.StatusInReview, 3*time.Minute)

		var list apiserver.ReviewList
		if code, body := call(t, "GET", base+"/v1/reviews", nil, &list); code != 200 {
			t.Fatalf("list: %d %s", code, body)
		}
		if len(list.Reviews) != 1 || list.Reviews[0].MediaID != m.ID || !list.Reviews[0].HasReason(catalog.ReasonTenantPolicy) ||
			list.Counts.Open != 1 || list.Counts.ByReason[catalog.ReasonTenantPolicy] != 1 {
			t.Fatalf("queue %+v counts %+v", list.Reviews, list.Counts)
		}
		var item apiserver.ReviewItem
		if code, body := call(t, "GET", base+"/v1/reviews/"+m.ID, nil, &item); code != 200 {
			t.Fatalf("get: %d %s", code, body)
		}
		tr := item.Document.Transcript
		if tr == nil || len(tr.Words) < 4 || item.Version != 1 || item.Review.Round != 1 {
			t.Fatalf("item %+v", item)
		}
		spk := tr.Words[0].Speaker
		if spk == "" {
			spk = tr.Segments[0].Speaker
		}

		// Two reviewers: ann claims, bob cannot.
		if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/claim", map[string]any{"reviewer": "ann"}, nil); code != 200 {
			t.Fatalf("claim: %d %s", code, body)
		}
		if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/claim", map[string]any{"reviewer": "bob"}, nil); code != 409 ||
			!strings.Contains(body, "claimed by ann") {
			t.Fatalf("second claim: %d %s", code, body)
		}
		// A bad edit names itself.
		if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/edits", map[string]any{"reviewer": "ann",
			"edits": []map[string]any{{"op": "word", "word": 100000, "value": "x"}}}, nil); code != 400 || !strings.Contains(body, "edits/0/word") {
			t.Fatalf("bad edit: %d %s", code, body)
		}
		zero := 0
		dec := apiserver.ReviewDecision{Outcome: catalog.OutcomeApproved, Round: 1, Reviewer: "ann", After: item.Version,
			Edits: []pipeline.Edit{
				{Op: pipeline.EditWord, Word: &zero, Value: json.RawMessage(`"Zanzibar"`)},
				{Op: pipeline.EditSpeaker, Speaker: spk, Value: json.RawMessage(`"Captain Ahab"`)},
				{Op: pipeline.EditSummary, Value: json.RawMessage(`"A reviewed harbour report."`)},
			}}
		var decided catalog.Review
		if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", dec, &decided); code != 200 {
			t.Fatalf("approve: %d %s", code, body)
		}
		// A double click, and bob, are refused naming the decision.
		for _, who := range []string{"ann", "bob"} {
			d := dec
			d.Reviewer, d.Edits, d.After = who, nil, 0
			if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", d, nil); code != 409 || !strings.Contains(body, "already decided") {
				t.Fatalf("second decision by %s: %d %s", who, code, body)
			}
		}
		rec := waitReviewStatus(t, base, m.ID, types.StatusSucceeded, 2*time.Minute)
		if rec["summary"] != "A reviewed harbour report." {
			t.Fatalf("record summary %q", rec["summary"])
		}
		_, vtt := call(t, "GET", base+"/v1/media/"+m.ID+"/captions.vtt", nil, nil)
		if !strings.Contains(vtt, "Zanzibar") || !strings.Contains(vtt, "<v Captain Ahab>") || strings.Contains(vtt, "spk_") {
			t.Fatalf("captions.vtt:\n%s", vtt)
		}
		var trj types.Transcript
		call(t, "GET", base+"/v1/media/"+m.ID+"/transcript.json", nil, &trj)
		if trj.Words[0].Text != "Zanzibar" || trj.SpeakerName(spk) != "Captain Ahab" || !strings.Contains(trj.Text, "Zanzibar") {
			t.Fatalf("transcript.json: %q %+v", trj.Words[0].Text, trj.Speakers)
		}
		if trj.Words[0].Start != tr.Words[0].Start || trj.Words[0].End != tr.Words[0].End {
			t.Fatalf("word timing changed: %+v → %+v", tr.Words[0], trj.Words[0])
		}
		for _, q := range []string{"zanzibar", "ahab"} {
			var hits struct {
				Hits []catalog.SearchHit `json:"hits"`
			}
			_, raw := call(t, "GET", base+"/v1/search?q="+q, nil, &hits)
			if !strings.Contains(raw, m.ID) {
				t.Fatalf("search %q: %s", q, raw)
			}
		}
		var vs struct {
			Versions []catalog.MediaVersion `json:"versions"`
		}
		call(t, "GET", base+"/v1/media/"+m.ID+"/versions", nil, &vs)
		var kinds []string
		for _, v := range vs.Versions {
			kinds = append(kinds, v.Kind+"/"+v.Author)
		}
		if strings.Join(kinds, ",") != "machine/landfall,edit/ann,approved/ann" || !strings.Contains(string(vs.Versions[1].Body), `"before"`) {
			t.Fatalf("versions %v %s", kinds, vs.Versions[1].Body)
		}
		var after apiserver.ReviewList
		call(t, "GET", base+"/v1/reviews", nil, &after)
		if len(after.Reviews) != 0 || after.Counts.Open != 0 {
			t.Fatalf("queue after approval %+v", after.Reviews)
		}

		// The corrections became vocabulary suggestions; a tenant admin
		// accepts them in one call and the next file's transcription
		// gets them.
		var vocab struct {
			Terms []catalog.VocabularyTerm `json:"terms"`
		}
		call(t, "GET", base+"/v1/vocabulary?state=suggested", nil, &vocab)
		var sugg []string
		for _, v := range vocab.Terms {
			sugg = append(sugg, v.Term+"/"+v.Source)
		}
		if got := strings.Join(sugg, ","); !strings.Contains(got, "Zanzibar/word") || !strings.Contains(got, "Captain Ahab/speaker") {
			t.Fatalf("suggestions %q", got)
		}
		if code, body := call(t, "POST", base+"/v1/vocabulary/accept", map[string]any{"all": true}, nil); code != 200 {
			t.Fatalf("accept: %d %s", code, body)
		}

		// Rejection: a reason is required; the item ends REJECTED with it.
		m2 := uploadFile(t, a, wav)
		waitReviewStatus(t, base, m2.ID, types.StatusInReview, 3*time.Minute)
		if code, body := call(t, "POST", base+"/v1/reviews/"+m2.ID+"/decision", map[string]any{"outcome": "rejected"}, nil); code != 400 ||
			!strings.Contains(body, "reason") {
			t.Fatalf("reject without reason: %d %s", code, body)
		}
		if code, body := call(t, "POST", base+"/v1/reviews/"+m2.ID+"/decision", map[string]any{"outcome": "rejected",
			"reason": "duplicate of an earlier episode", "reviewer": "bob"}, nil); code != 200 {
			t.Fatalf("reject: %d %s", code, body)
		}
		rec2 := waitReviewStatus(t, base, m2.ID, types.StatusRejected, time.Minute)
		evs, _, err := a.Engine.History(context.Background(), rec2["execution_id"].(string), workflow.HistoryParams{Limit: 40})
		if err != nil {
			t.Fatal(err)
		}
		heard := false
		for _, ev := range evs {
			heard = heard || ev.Type == "TaskSucceeded" && strings.Contains(string(ev.Details), `Zanzibar`) && strings.Contains(string(ev.Details), `vocabulary`)
		}
		if !heard {
			t.Errorf("the next file's transcription was not given the accepted vocabulary")
		}
		if rec2["error"] != pipeline.ErrReviewRejected || !strings.Contains(rec2["cause"].(string), "duplicate of an earlier episode") {
			t.Fatalf("rejected record %v", rec2)
		}
		if fl, _ := a.Catalog.FailureList(context.Background(), &catalog.FailureListParams{TenantID: "default", MediaID: m2.ID}); len(fl.Failures) != 0 {
			t.Fatalf("a rejection recorded a failure: %+v", fl.Failures[0])
		}
		waitNoRunning(t, a, m2.ID)

		// The decisions export: one line per decided item, with the
		// machine's and the reviewer's versions.
		_, jsonl := call(t, "GET", base+"/v1/reviews/export", nil, nil)
		lines := strings.Split(strings.TrimSpace(jsonl), "\n")
		if len(lines) != 2 {
			t.Fatalf("export: %s", jsonl)
		}
		var fb Feedback
		for _, l := range lines {
			if strings.Contains(l, m.ID) {
				if err := json.Unmarshal([]byte(l), &fb); err != nil {
					t.Fatal(err)
				}
			}
		}
		if fb.Machine == nil || fb.Reviewed == nil || fb.Reviewed.Transcript.Words[0].Text != "Zanzibar" ||
			fb.Machine.Transcript.Words[0].Text == "Zanzibar" || len(fb.Edits) != 3 || fb.Decision.Outcome != "approved" {
			t.Fatalf("feedback %+v", fb)
		}
	})
}

// TestReviewDecisionResumedAfterCrash: a decision recorded but not handed
// to its execution (the process stopped in between) is resumed once by
// the resumer; a decision for a task that no longer waits is refused and
// the item goes back to the queue.
func TestReviewDecisionResumedAfterCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated speech")
	}
	t.Parallel()
	wav := reviewDialogue(t)
	a, srv := testAppWith(t, reviewAll, Options{})
	ctx := context.Background()
	m := uploadFile(t, a, wav)
	waitReviewStatus(t, srv.URL, m.ID, types.StatusInReview, 3*time.Minute)
	// The decision as the API records it, without the resume.
	if _, err := a.Catalog.ReviewDecide(ctx, &catalog.ReviewDecideParams{TenantID: "default", MediaID: m.ID, Reviewer: "ann",
		Outcome: catalog.OutcomeApproved, Version: 1}); err != nil {
		t.Fatal(err)
	}
	r := reviews{a}
	n, err := r.resumeDecided(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("resumed %d: %v", n, err)
	}
	waitReviewStatus(t, srv.URL, m.ID, types.StatusSucceeded, time.Minute)
	if n, err := r.resumeDecided(ctx, 0); err != nil || n != 0 {
		t.Fatalf("resumed again %d: %v", n, err)
	}
	rv, err := a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: "default", MediaID: m.ID})
	if err != nil || rv.State != catalog.ReviewDone || rv.ResumedAt == nil {
		t.Fatalf("review %+v %v", rv, err)
	}

	// A round whose task is gone: the decision is refused, clearly, and
	// nothing is applied.
	m2, err := a.Catalog.MediaCreate(ctx, &catalog.MediaCreateParams{TenantID: "default", BucketKey: "incoming/default/x.wav"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Catalog.ReviewOpen(ctx, &catalog.ReviewOpenParams{TenantID: "default", MediaID: m2.ID, TaskToken: strings.Repeat("a", 48),
		Reasons: []catalog.ReviewReason{{Code: catalog.ReasonTenantPolicy}}}); err != nil {
		t.Fatal(err)
	}
	_, err = r.Decide(ctx, "default", m2.ID, "ann", &apiserver.ReviewDecision{Outcome: catalog.OutcomeApproved})
	if errcode.Of(err) != errcode.FailedPrecond || !strings.Contains(err.Error(), "had already ended") {
		t.Fatalf("decision on an ended task: %v", err)
	}
	rv, _ = a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: "default", MediaID: m2.ID})
	if rv.State != catalog.ReviewOpen || rv.Refusal == "" {
		t.Fatalf("after refusal %+v", rv)
	}
}

// TestReviewTimeoutEscalates: a round nobody decides times out, is
// escalated (priority up, a new round) and, past max_escalations, fails
// with Review.TimedOut; a decision for the first round is refused.
func TestReviewTimeoutEscalates(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated speech")
	}
	t.Parallel()
	wav := reviewDialogue(t)
	a, srv := testAppWith(t, func(c *config.Config) {
		c.Review.Policy = config.ReviewAll
		c.Review.Timeout.Duration = 2 * time.Second
		c.Review.MaxEscalations = 1
	}, Options{})
	ctx := context.Background()
	m := uploadFile(t, a, wav)
	waitReviewStatus(t, srv.URL, m.ID, types.StatusInReview, 3*time.Minute)
	deadline := time.Now().Add(time.Minute)
	var rv *catalog.Review
	for {
		var err error
		rv, err = a.Catalog.ReviewGet(ctx, &catalog.ReviewGetParams{TenantID: "default", MediaID: m.ID})
		if err == nil && rv.Round == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not escalated: %+v %v", rv, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if rv.Escalations != 1 || !rv.HasReason(catalog.ReasonEscalated) || rv.Priority < 10 {
		t.Fatalf("escalated %+v", rv)
	}
	code, body := call(t, "POST", srv.URL+"/v1/reviews/"+m.ID+"/decision", map[string]any{"outcome": "approved", "round": 1}, nil)
	if code != 409 || !strings.Contains(body, "round 2, not 1") {
		t.Fatalf("decision for the timed-out round: %d %s", code, body)
	}
	got := waitDone(t, a, m.ID, time.Minute)
	if got.Status != types.StatusFailed || got.Error != pipeline.ErrReviewTimedOut {
		t.Fatalf("after the last escalation: %s %s %s", got.Status, got.Error, got.Cause)
	}
}

// moderator is a test moderation provider: every image gets one label.
type moderator struct{}

func (moderator) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.moderate.test", Task: analyser.TaskModerate, Provider: "local", Summary: "test moderation",
		OutputSchema: json.RawMessage(`{"type":"object"}`)}
}

func (moderator) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	return map[string]any{"moderation": []types.Moderation{{Name: "Violence", Confidence: 91.5}}}, nil
}

// TestReviewModeration: under the auto policy an image a moderation
// provider flags waits for review with the label as its reason; the
// reviewer dismisses the label and the record keeps the verdict.
func TestReviewModeration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	// The test provider answers moderate in-process: with the vision
	// worker on, provider local's moderation would go to its activity.
	a, srv := testAppWith(t, func(c *config.Config) {
		c.Review.Policy = config.ReviewAuto
		c.Vision.Worker = "off"
	}, Options{})
	if err := a.Analysers.Register(moderator{}); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "poster.png")
	if err := mediagen.Image(context.Background(), img, mediagen.ImageSpec{Text: "Harbour Festival"}); err != nil {
		t.Fatal(err)
	}
	m := uploadFile(t, a, img)
	waitReviewStatus(t, srv.URL, m.ID, types.StatusInReview, 2*time.Minute)
	var item apiserver.ReviewItem
	call(t, "GET", srv.URL+"/v1/reviews/"+m.ID, nil, &item)
	if !item.Review.HasReason(catalog.ReasonModeration) || !strings.Contains(item.Review.Reasons[0].Detail, "Violence 92%") {
		t.Fatalf("reasons %+v", item.Review.Reasons)
	}
	var list apiserver.ReviewList
	call(t, "GET", srv.URL+"/v1/reviews?reason=moderation&kind=image", nil, &list)
	if len(list.Reviews) != 1 {
		t.Fatalf("filtered queue %+v", list.Reviews)
	}
	code, body := call(t, "POST", srv.URL+"/v1/reviews/"+m.ID+"/decision", map[string]any{"outcome": "approved",
		"edits": []map[string]any{{"op": "moderation", "label": "Violence", "value": "dismissed"}}}, nil)
	if code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	got := waitDone(t, a, m.ID, time.Minute)
	if got.Status != types.StatusSucceeded || len(got.Insights.Moderation) != 1 || got.Insights.Moderation[0].Verdict != types.VerdictDismissed {
		t.Fatalf("record %s %+v", got.Status, got.Insights)
	}
}

// TestReviewOffPublishes: with the default policy nothing waits.
func TestReviewOffPublishes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	a, _ := testAppWith(t, nil, Options{})
	img := filepath.Join(t.TempDir(), "poster.png")
	if err := mediagen.Image(context.Background(), img, mediagen.ImageSpec{Text: "Harbour Festival"}); err != nil {
		t.Fatal(err)
	}
	m := uploadFile(t, a, img)
	if got := waitDone(t, a, m.ID, time.Minute); got.Status != types.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
	if _, err := a.Catalog.ReviewGet(context.Background(), &catalog.ReviewGetParams{TenantID: "default", MediaID: m.ID}); errcode.Of(err) != errcode.NotFound {
		t.Fatalf("queued without a policy: %v", err)
	}
}

// TestReviewChangesRequested: a reviewer asks for transcription again
// with added vocabulary; the execution re-runs the step, summarises,
// persists and returns to the queue for a second round (a new machine
// version), and the approval of that round publishes.
func TestReviewChangesRequested(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline on generated speech")
	}
	t.Parallel()
	wav := reviewDialogue(t)
	a, srv := testAppWith(t, reviewAll, Options{})
	base := srv.URL
	m := uploadFile(t, a, wav)
	waitReviewStatus(t, base, m.ID, types.StatusInReview, 3*time.Minute)
	// A step the pipeline cannot run again is refused up front.
	if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", map[string]any{"outcome": "changes_requested", "step": "translate"}, nil); code != 400 ||
		!strings.Contains(body, "step") {
		t.Fatalf("unknown step: %d %s", code, body)
	}
	if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", map[string]any{"outcome": "changes_requested", "step": "transcribe",
		"vocabulary": []string{"harbour", "Zanzibar"}, "reviewer": "ann", "round": 1}, nil); code != 200 {
		t.Fatalf("request changes: %d %s", code, body)
	}
	deadline := time.Now().Add(3 * time.Minute)
	var item apiserver.ReviewItem
	for {
		code, _ := call(t, "GET", base+"/v1/reviews/"+m.ID, nil, &item)
		if code == 200 && item.Review.Round == 2 && item.Review.State == catalog.ReviewOpen {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second round: %+v", item.Review)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !item.Review.HasReason(catalog.ReasonChangesRequested) || !item.Review.HasReason(catalog.ReasonVocabularyMissed) {
		t.Fatalf("second round reasons %+v", item.Review.Reasons)
	}
	var vs struct {
		Versions []catalog.MediaVersion `json:"versions"`
	}
	call(t, "GET", base+"/v1/media/"+m.ID+"/versions", nil, &vs)
	if len(vs.Versions) != 2 || vs.Versions[1].Kind != catalog.VersionMachine || vs.Versions[1].Round != 2 {
		t.Fatalf("versions %+v", vs.Versions)
	}
	if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", map[string]any{"outcome": "approved", "round": 2}, nil); code != 200 {
		t.Fatalf("approve round 2: %d %s", code, body)
	}
	if got := waitDone(t, a, m.ID, time.Minute); got.Status != types.StatusSucceeded {
		t.Fatalf("status %s", got.Status)
	}
}

// TestReviewScaleOut: an API role and a worker role on one PostgreSQL
// schema and one bucket. The worker analyses and opens the review; the
// decision reaches the API role over HTTP and resumes the execution,
// which the worker finishes with the reviewer's edit.
func TestReviewScaleOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline")
	}
	t.Parallel()
	db := postgresDB(t, "review_scaleout")
	blobURL := "file://" + t.TempDir()
	mk := func(role string) (*App, string) {
		a, srv := testApp(t, func(c *config.Config) {
			c.DB, c.Blob, c.Role = db, blobURL, role
			c.Review.Policy = config.ReviewAll
		})
		return a, srv.URL
	}
	api, base := mk("api")
	_, _ = mk("worker")
	m := upload(t, api, reviewDialogue(t))
	waitReviewStatus(t, base, m.ID, types.StatusInReview, 4*time.Minute)
	var item apiserver.ReviewItem
	call(t, "GET", base+"/v1/reviews/"+m.ID, nil, &item)
	spk := item.Document.Transcript.Segments[0].Speaker
	zero := 0
	dec := apiserver.ReviewDecision{Outcome: catalog.OutcomeApproved, Round: 1, Reviewer: "ann", Edits: []pipeline.Edit{
		{Op: pipeline.EditWord, Word: &zero, Value: json.RawMessage(`"Zanzibar"`)},
		{Op: pipeline.EditSpeaker, Speaker: spk, Value: json.RawMessage(`"Captain Ahab"`)}}}
	if code, body := call(t, "POST", base+"/v1/reviews/"+m.ID+"/decision", dec, nil); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	waitReviewStatus(t, base, m.ID, types.StatusSucceeded, 2*time.Minute)
	_, vtt := call(t, "GET", base+"/v1/media/"+m.ID+"/captions.vtt", nil, nil)
	if !strings.Contains(vtt, "Zanzibar") || !strings.Contains(vtt, "<v Captain Ahab>") {
		t.Fatalf("captions.vtt:\n%s", vtt)
	}
}
