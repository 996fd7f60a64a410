package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/internal/crashpoint"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// httpJSON sends method path (a JSON body when body is non-nil) to addr
// and decodes a 2xx answer into out, returning the status and raw body.
func httpJSON(t *testing.T, method, addr, path string, body, out any) (int, string, error) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "http://"+addr+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, string(raw), nil
}

// waitMediaStatus polls the media record until its status is want.
func waitMediaStatus(t *testing.T, addr, id string, want types.Status, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var m map[string]any
		_, _, _ = httpJSON(t, "GET", addr, "/v1/media/"+id, nil, &m)
		if m["status"] == string(want) {
			return m
		}
		switch m["status"] {
		case "SUCCEEDED", "FAILED", "REJECTED", "SKIPPED":
			t.Fatalf("media %s ended %v (%v: %v), want %s", id, m["status"], m["error"], m["cause"], want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s still %v after %v, want %s", id, m["status"], within, want)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitHalted waits until p's log says it halted at the crash point.
func waitHalted(t *testing.T, dir string, p *serveProc, point string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		log, _ := os.ReadFile(filepath.Join(dir, p.name+".log"))
		if bytes.Contains(log, []byte(crashpoint.Halted(point))) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not reach %s within %v:\n%s", p.name, point, within, log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// reviewRow is the catalog's review row and the engine's review task of
// a media item, read from the database while no API process runs.
func reviewRow(t *testing.T, edb *engineDB, mediaID string) (state, decidedBy, resumed, taskStatus string) {
	t.Helper()
	var resumedAt *time.Time
	var token string
	err := edb.db.QueryRow(`SELECT state, decided_by, resumed_at, task_token FROM cat_reviews WHERE media_id = $1`, mediaID).
		Scan(&state, &decidedBy, &resumedAt, &token)
	if err != nil {
		t.Fatal(err)
	}
	if resumedAt != nil {
		resumed = "resumed"
	}
	k, err := edb.task(token)
	if err != nil {
		t.Fatal(err)
	}
	return state, decidedBy, resumed, k.status
}

// TestReviewKilledBetweenDecisionAndResume runs the review queue on
// PostgreSQL with the API and the worker as separate `landfall serve`
// processes, and kills the API process with SIGKILL (a) after it recorded
// an approval and before it resumed the execution, and (b) after it
// resumed the execution with a rejection and before it recorded that. In
// both cases the restarted API settles the item once: the approval (an
// edited word, a renamed speaker, an edited summary) reaches captions.vtt,
// transcript.json, search and the record; the rejection ends the item
// REJECTED with its reason; the item is not put back in the queue; and a
// second decision is refused naming the first.
func TestReviewKilledBetweenDecisionAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs landfall serve processes and the pipeline")
	}
	pg := testutil.PostgresURL(t)
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	db := fmt.Sprintf("%s%sschema=lf_review_kill_%d", pg, sep, rand.Uint32())
	dir := t.TempDir()
	wav := filepath.Join(dir, "interview.wav")
	if _, err := mediagen.Dialogue(context.Background(), wav, []mediagen.Turn{
		{Speaker: "Host", Voice: mediagen.VoiceMale, Text: "Welcome to the harbour report. Today we talk about boats and the weather."},
		{Speaker: "Guest", Voice: mediagen.VoiceFemale, Text: "Thank you. The weather was calm and the boats came home early."},
	}, 0.3, 0.8); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "landfall.yaml")
	if err := os.WriteFile(cfg, []byte("review:\n  policy: all\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--db", db, "--blob", "file://" + filepath.Join(dir, "bucket"), "--config", cfg}
	addr := freeAddr(t)
	startAPI := func(name, point string) *serveProc {
		var env []string
		if point != "" {
			env = []string{crashpoint.Env + "=" + point}
		}
		return startServeEnv(t, dir, name, addr, env, append(common, "--data", filepath.Join(dir, "api"), "--role", "api")...)
	}
	api := startAPI("api", app.CrashReviewDecided)
	startServe(t, dir, "worker", freeAddr(t), append(common, "--data", filepath.Join(dir, "worker"), "--role", "worker")...)
	edb := openEngineDB(t, strings.Replace(db, "schema=", "search_path=", 1))

	// decideAndKill sends a decision, which the API records and then
	// halts at point; the API is killed there, and the decision's request
	// gets no answer.
	decideAndKill := func(id, point string, d any) {
		t.Helper()
		errc := make(chan error, 1)
		go func() {
			code, body, err := httpJSON(t, "POST", addr, "/v1/reviews/"+id+"/decision", d, nil)
			if err == nil {
				err = fmt.Errorf("answered %d %s", code, body)
			}
			errc <- err
		}()
		waitHalted(t, dir, api, point, time.Minute)
		api.kill(t)
		if err := <-errc; strings.Contains(err.Error(), "answered") {
			t.Fatalf("the decision's request was answered before the kill: %v", err)
		}
	}
	secondRefused := func(id, who, first string) {
		t.Helper()
		code, body, err := httpJSON(t, "POST", addr, "/v1/reviews/"+id+"/decision",
			map[string]any{"outcome": "rejected", "reason": "second opinion", "reviewer": who}, nil)
		if err != nil || code != 409 || !strings.Contains(body, "already decided") || !strings.Contains(body, first) {
			t.Fatalf("second decision by %s: %d %s %v, want 409 naming %q", who, code, body, err, first)
		}
	}

	// (a) Killed after recording an approval, before resuming.
	id := uploadFile(t, addr, wav)
	waitMediaStatus(t, addr, id, types.StatusInReview, 4*time.Minute)
	var item apiserver.ReviewItem
	if code, body, err := httpJSON(t, "GET", addr, "/v1/reviews/"+id, nil, &item); code != 200 {
		t.Fatalf("review item: %d %s %v", code, body, err)
	}
	tr := item.Document.Transcript
	if tr == nil || len(tr.Words) < 4 || len(tr.Segments) == 0 {
		t.Fatalf("review document %+v", item.Document)
	}
	spk := tr.Segments[0].Speaker
	zero := 0
	decideAndKill(id, app.CrashReviewDecided, apiserver.ReviewDecision{Outcome: catalog.OutcomeApproved, Round: 1, Reviewer: "ann",
		After: item.Version, Edits: []pipeline.Edit{
			{Op: pipeline.EditWord, Word: &zero, Value: json.RawMessage(`"Zanzibar"`)},
			{Op: pipeline.EditSpeaker, Speaker: spk, Value: json.RawMessage(`"Captain Ahab"`)},
			{Op: pipeline.EditSummary, Value: json.RawMessage(`"A reviewed harbour report."`)},
		}})
	state, by, resumed, task := reviewRow(t, edb, id)
	if state != catalog.ReviewDecided || by != "ann" || resumed != "" || task != "waiting" {
		t.Fatalf("after the kill: review %s by %q %s, task %s; want DECIDED by ann, not resumed, the task waiting", state, by, resumed, task)
	}
	killed := time.Now()
	api = startAPI("api-restarted", "")
	rec := waitMediaStatus(t, addr, id, types.StatusSucceeded, 3*time.Minute)
	t.Logf("(a) approval recorded, API killed before the resume; the restarted API resumed it and the item SUCCEEDED %.1fs after the kill",
		time.Since(killed).Seconds())
	secondRefused(id, "bob", "approved by ann")
	if rec["summary"] != "A reviewed harbour report." {
		t.Errorf("record summary %q", rec["summary"])
	}
	_, vtt, _ := httpJSON(t, "GET", addr, "/v1/media/"+id+"/captions.vtt", nil, nil)
	if !strings.Contains(vtt, "Zanzibar") || !strings.Contains(vtt, "<v Captain Ahab>") || strings.Contains(vtt, "spk_") {
		t.Errorf("captions.vtt:\n%s", vtt)
	}
	var trj types.Transcript
	httpJSON(t, "GET", addr, "/v1/media/"+id+"/transcript.json", nil, &trj)
	if len(trj.Words) == 0 || trj.Words[0].Text != "Zanzibar" || trj.SpeakerName(spk) != "Captain Ahab" || trj.Words[0].Start != tr.Words[0].Start {
		t.Errorf("transcript.json: %+v %+v", trj.Words[:min(1, len(trj.Words))], trj.Speakers)
	}
	for _, q := range []string{"zanzibar", "ahab"} {
		if _, raw, _ := httpJSON(t, "GET", addr, "/v1/search?q="+q, nil, nil); !strings.Contains(raw, id) {
			t.Errorf("search %q: %s", q, raw)
		}
	}
	var vs struct{ Versions []catalog.MediaVersion }
	httpJSON(t, "GET", addr, "/v1/media/"+id+"/versions", nil, &vs)
	var kinds []string
	for _, v := range vs.Versions {
		kinds = append(kinds, v.Kind+"/"+v.Author)
	}
	if strings.Join(kinds, ",") != "machine/landfall,edit/ann,approved/ann" {
		t.Errorf("versions %v, want one edit and one approval", kinds)
	}
	// The execution took one decision.
	var raw struct {
		Events []map[string]any `json:"events"`
	}
	httpJSON(t, "GET", addr, "/v1/executions/"+url.PathEscape(rec["execution_id"].(string))+"/history?limit=1000", nil, &raw)
	decisions := 0 // review task results
	for _, e := range raw.Events {
		b, _ := json.Marshal(e)
		d := strings.ReplaceAll(string(b), `\"`, `"`)
		// The review task's result is the decision itself.
		if e["type"] == "TaskSucceeded" && strings.Contains(d, `"output":"{"outcome":`) {
			decisions++
		}
	}
	if decisions != 1 {
		t.Errorf("the execution took %d decisions, want 1 (%d events)", decisions, len(raw.Events))
	}

	// (b) Killed after resuming a rejection, before recording it.
	api.kill(t)
	api = startAPI("api-armed-resumed", app.CrashReviewResumed)
	id2 := uploadFile(t, addr, wav)
	waitMediaStatus(t, addr, id2, types.StatusInReview, 4*time.Minute)
	decideAndKill(id2, app.CrashReviewResumed, map[string]any{"outcome": "rejected", "reason": "duplicate of an earlier episode", "reviewer": "bob", "round": 1})
	state, by, resumed, task = reviewRow(t, edb, id2)
	if state != catalog.ReviewDecided || by != "bob" || resumed != "" || task != "succeeded" {
		t.Fatalf("after the kill: review %s by %q %s, task %s; want DECIDED by bob, not recorded as resumed, the task succeeded", state, by, resumed, task)
	}
	killed = time.Now()
	api = startAPI("api-restarted-2", "")
	rec2 := waitMediaStatus(t, addr, id2, types.StatusRejected, 3*time.Minute)
	if rec2["error"] != pipeline.ErrReviewRejected || !strings.Contains(fmt.Sprint(rec2["cause"]), "duplicate of an earlier episode") {
		t.Errorf("rejected record: %v %v", rec2["error"], rec2["cause"])
	}
	// The restarted API's resumer finds the decision taken and records it;
	// the item does not go back to the queue.
	deadline := time.Now().Add(time.Minute)
	for {
		var it apiserver.ReviewItem
		httpJSON(t, "GET", addr, "/v1/reviews/"+id2, nil, &it)
		if it.Review != nil && it.Review.State == catalog.ReviewDone && it.Review.Refusal == "" {
			break
		}
		if it.Review != nil && it.Review.State == catalog.ReviewOpen {
			t.Fatalf("the rejected item went back to the queue: %+v", it.Review)
		}
		if time.Now().After(deadline) {
			t.Fatalf("review of %s not recorded as resumed within a minute: %+v", id2, it.Review)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("(b) rejection resumed, API killed before recording it; the item ended REJECTED and the restarted API recorded it %.1fs after the kill",
		time.Since(killed).Seconds())
	secondRefused(id2, "ann", "rejected by bob")
	var list apiserver.ReviewList
	httpJSON(t, "GET", addr, "/v1/reviews", nil, &list)
	if len(list.Reviews) != 0 || list.Counts.Open != 0 {
		t.Errorf("queue after both decisions: %+v", list.Reviews)
	}
}
