package webui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeReviews serves the review API for one queued audio item and
// applies claims, edits and the decision as the server does (a version
// per edit, one decision).
type fakeReviews struct {
	mu       sync.Mutex
	claimed  string
	decided  string
	edits    []map[string]any
	version  int
	words    []map[string]any
	speakers []map[string]any
	accepted bool
}

func newFakeReviews() *fakeReviews {
	f := &fakeReviews{version: 1}
	for i, w := range []string{"welcome", "to", "the", "harbor", "report", "thank", "you"} {
		spk := "spk_0"
		if i >= 5 {
			spk = "spk_1"
		}
		f.words = append(f.words, map[string]any{"text": w, "start": float64(i) * 0.6, "end": float64(i)*0.6 + 0.5, "confidence": 0.4 + 0.1*float64(i%3), "speaker": spk})
	}
	f.speakers = []map[string]any{{"label": "spk_0", "seconds": 3.0}, {"label": "spk_1", "seconds": 1.2}}
	return f
}

func (f *fakeReviews) review() map[string]any {
	r := map[string]any{"media_id": "med_rev", "tenant_id": "default", "filename": "harbour.wav", "kind": "audio", "state": "OPEN",
		"reasons":  []any{map[string]any{"code": "tenant_policy", "detail": "tenant default reviews every item"}, map[string]any{"code": "low_confidence", "detail": "mean word confidence 0.50 is below 0.60"}},
		"priority": 2, "round": 1, "escalations": 0, "created_at": "2026-11-26T10:00:00Z", "opened_at": "2026-11-26T10:00:00Z", "due_at": "2026-11-26T16:00:00Z"}
	if f.claimed != "" {
		r["claimed_by"], r["claim_expires_at"] = f.claimed, "2100-01-01T00:00:00Z"
	}
	if f.decided != "" {
		r["state"], r["decision"] = "DONE", map[string]any{"outcome": f.decided, "reviewer": "anonymous"}
	}
	return r
}

func (f *fakeReviews) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	js := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	problem := func(status int, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "detail": detail, "code": "FailedPrecondition"})
	}
	switch {
	case r.Method == "GET" && r.URL.Path == "/v1/reviews":
		list := []any{}
		counts := map[string]any{"open": 0, "claimed": 0, "by_reason": map[string]int{}}
		if f.decided == "" {
			list = append(list, f.review())
			counts = map[string]any{"open": 1, "claimed": map[bool]int{true: 1}[f.claimed != ""], "by_reason": map[string]int{"tenant_policy": 1, "low_confidence": 1}}
		}
		js(200, map[string]any{"reviews": list, "counts": counts})
	case r.Method == "GET" && r.URL.Path == "/v1/reviews/med_rev":
		words := make([]any, len(f.words))
		for i, w := range f.words {
			words[i] = w
		}
		text := []string{}
		for _, w := range f.words {
			text = append(text, w["text"].(string))
		}
		tr := map[string]any{"duration": 4.2, "text": strings.Join(text, " "), "words": words, "speakers": f.speakers,
			"segments": []any{map[string]any{"id": 0, "start": 0, "end": 2.9, "text": strings.Join(text[:5], " "), "speaker": "spk_0", "first_word": 0, "word_count": 5},
				map[string]any{"id": 1, "start": 3.0, "end": 4.1, "text": strings.Join(text[5:], " "), "speaker": "spk_1", "first_word": 5, "word_count": 2}}}
		js(200, map[string]any{"review": f.review(), "version": f.version,
			"media":    map[string]any{"id": "med_rev", "filename": "harbour.wav", "kind": "audio", "status": "IN_REVIEW", "duration": 4.2},
			"document": map[string]any{"transcript": tr, "insights": map[string]any{"summary": "A harbour report.", "chapters": []any{}, "topics": []any{"boats"}, "entities": map[string]any{"people": []any{}, "organisations": []any{}, "places": []any{}}}}})
	case r.Method == "POST" && r.URL.Path == "/v1/reviews/med_rev/claim":
		f.claimed = "anonymous"
		js(200, f.review())
	case r.Method == "POST" && r.URL.Path == "/v1/reviews/med_rev/edits":
		var body struct {
			After int              `json:"after"`
			Edits []map[string]any `json:"edits"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.After != f.version {
			problem(409, fmt.Sprintf("media med_rev is at version %d, not %d", f.version, body.After))
			return
		}
		for _, e := range body.Edits {
			switch e["op"] {
			case "word":
				f.words[int(e["word"].(float64))]["text"] = e["value"]
			case "speaker":
				for _, sp := range f.speakers {
					if sp["label"] == e["speaker"] {
						sp["name"] = e["value"]
					}
				}
			}
			f.edits = append(f.edits, e)
		}
		f.version++
		js(201, map[string]any{"version": f.version, "kind": "edit"})
	case r.Method == "POST" && r.URL.Path == "/v1/reviews/med_rev/decision":
		var d map[string]any
		_ = json.NewDecoder(r.Body).Decode(&d)
		if f.decided != "" {
			problem(409, "review of media med_rev was already decided")
			return
		}
		f.decided = d["outcome"].(string)
		js(200, f.review())
	case r.Method == "GET" && r.URL.Path == "/v1/vocabulary":
		terms := []any{}
		if !f.accepted {
			terms = append(terms, map[string]any{"term": "Zanzibar", "source": "word", "count": 2, "state": "suggested"})
		}
		js(200, map[string]any{"terms": terms})
	case r.Method == "POST" && r.URL.Path == "/v1/vocabulary/accept":
		f.accepted = true
		js(200, map[string]any{"accepted": []any{map[string]any{"term": "Zanzibar", "state": "accepted"}}})
	case r.Method == "GET" && r.URL.Path == "/v1/media/med_rev/versions":
		vs := []any{map[string]any{"version": 1, "kind": "machine", "author": "landfall", "created_at": "2026-11-26T10:00:00Z"}}
		for i, e := range f.edits {
			vs = append(vs, map[string]any{"version": i + 2, "kind": "edit", "author": "anonymous", "created_at": "2026-11-26T10:05:00Z",
				"body": []any{map[string]any{"op": e["op"], "value": e["value"], "before": "?"}}})
		}
		js(200, map[string]any{"media_id": "med_rev", "versions": vs})
	default:
		problem(404, "no such review route in the fake: "+r.Method+" "+r.URL.Path)
	}
}

// The reviewer's flow in a browser: the queue lists the item with its
// reasons; on the item page the reviewer claims it, corrects a word by
// clicking it, renames a speaker for the whole file, approves, and the
// queue is empty. The pages fit 1400 px and 390 px, light and dark.
func TestBrowserReview(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a headless browser; skipped with -short")
	}
	b := startBrowser(t)
	api := newFakeAPI(t, "")
	rv := newFakeReviews()
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler())
	mux.Handle("/v1/reviews", rv)
	mux.Handle("/v1/reviews/", rv)
	mux.Handle("/v1/media/med_rev/versions", rv)
	mux.Handle("/v1/vocabulary", rv)
	mux.Handle("/v1/vocabulary/", rv)
	mux.Handle("/v1/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	ui := srv.URL + "/ui/"
	b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)

	b.navigate(ui + "#/reviews")
	b.waitFor(`document.querySelectorAll("table.reviews tbody tr[data-id]").length === 1`, wait)
	var text string
	b.eval(`document.getElementById("view").innerText`, &text)
	for _, want := range []string{"harbour.wav", "Tenant reviews everything", "Low transcript confidence", "1 waiting"} {
		if !strings.Contains(text, want) {
			t.Errorf("queue does not show %q:\n%s", want, text)
		}
	}
	var current string
	b.eval(`document.querySelector("[aria-current=page]").textContent`, &current)
	if current != "Review" {
		t.Errorf("current nav item %q, want Review", current)
	}
	checkPage(t, b)
	// Keyboard: Enter opens the selected item.
	b.eval(`document.dispatchEvent(new KeyboardEvent("keydown", {key: "j", bubbles: true}))`, nil)
	b.eval(`document.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true}))`, nil)
	b.waitFor(`location.hash === "#/reviews/med_rev" && document.getElementById("claim")`, wait)

	// Claim.
	click(b, "#claim")
	b.waitFor(`document.getElementById("review-state").textContent.includes("claimed by anonymous")`, wait)
	// Correct "harbor" (word 3) by clicking it and typing.
	click(b, `.transcript button.w[data-i="3"]`)
	b.waitFor(`document.querySelector(".word-input")`, wait)
	b.eval(`(() => { const i = document.querySelector(".word-input"); i.value = "harbour"; i.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true})); })()`, nil)
	b.waitFor(`document.querySelector('.transcript button.w[data-i="3"]') && document.querySelector('.transcript button.w[data-i="3"]').textContent === "harbour"`, wait)
	// Rename the second speaker once for the whole file.
	click(b, `button.rename[data-speaker="spk_1"]`)
	b.waitFor(`document.querySelector(".rename-input")`, wait)
	b.eval(`(() => { const i = document.querySelector(".rename-input"); i.value = "Captain Ahab"; i.dispatchEvent(new KeyboardEvent("keydown", {key: "Enter", bubbles: true})); })()`, nil)
	b.waitFor(`[...document.querySelectorAll(".seg .speaker")].some((s) => s.textContent === "Captain Ahab")`, wait)
	b.eval(`document.getElementById("view").innerText`, &text)
	if !strings.Contains(text, "Captain Ahab · talk 0:01") || !strings.Contains(text, "Speaker 1 · talk 0:03") {
		t.Errorf("speakers with talk time not shown as expected:\n%s", text)
	}
	b.waitFor(`document.querySelectorAll("#versions > li").length === 3`, wait)
	checkPage(t, b)
	for _, w := range []struct {
		width  int
		scheme string
	}{{1400, "light"}, {390, "dark"}, {390, "light"}} {
		b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": w.width, "height": 900, "deviceScaleFactor": 1, "mobile": w.width < 500}, nil)
		b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": w.scheme}}}, nil)
		var widths []int
		b.eval(`[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
		if widths[0] > widths[1] {
			t.Errorf("%d px %s: the item page is %d px wide", w.width, w.scheme, widths[0])
		}
		b.screenshot(fmt.Sprintf("review-%d-%s", w.width, w.scheme))
	}
	b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{}}, nil)
	b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)

	// Approve: back to the queue, which is now empty.
	click(b, "#approve")
	b.waitFor(`location.hash === "#/reviews" && document.getElementById("view").innerText.includes("Nothing waits for review")`, wait)
	rv.mu.Lock()
	decided, edits := rv.decided, len(rv.edits)
	rv.mu.Unlock()
	if decided != "approved" || edits != 2 {
		t.Errorf("decision %q after %d edits", decided, edits)
	}
	// The vocabulary suggestions are accepted in one action.
	click(b, "#accept-vocab")
	b.waitFor(`document.getElementById("vocab-suggestions").hidden`, wait)
	rv.mu.Lock()
	accepted := rv.accepted
	rv.mu.Unlock()
	if !accepted {
		t.Error("the suggestions were not accepted")
	}
	if api.saw("POST /v1/reviews") {
		t.Errorf("review calls reached the media fake: %v", api.requests)
	}
	checkPage(t, b)
}

// A reviewer's key in the browser: the server refuses it the media list
// (403 saying what reviewer keys reach), so the UI shows the review queue
// instead and hides the pages the key cannot use.
func TestBrowserReviewerKeySeesOnlyReview(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a headless browser; skipped with -short")
	}
	b := startBrowser(t)
	rv := newFakeReviews()
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(403)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": 403, "code": "PermissionDenied", "title": "Forbidden",
			"detail": r.Method + " " + r.URL.Path + ": reviewer keys reach review work only: the review queue (/v1/reviews) and, while an item waits in it or after they decided it, that item's record, files and versions"})
	})
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler())
	mux.Handle("/v1/reviews", rv)
	mux.Handle("/v1/reviews/", rv)
	mux.Handle("/v1/media/med_rev/versions", rv)
	mux.Handle("/v1/vocabulary", rv)
	mux.Handle("/v1/", refuse)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}, nil)

	// The app moves a reviewer to #/reviews as soon as the media list is
	// refused, which may be before a check for #/ could see it.
	b.navigateAway(srv.URL + "/ui/#/")
	b.waitFor(`location.hash === "#/reviews" && document.querySelectorAll("table.reviews tbody tr[data-id]").length === 1`, wait)
	var shown []string
	b.eval(`[...document.querySelectorAll("header nav li")].filter((li) => !li.hidden).map((li) => li.textContent)`, &shown)
	if strings.Join(shown, ",") != "Review" {
		t.Errorf("navigation shows %q, want only Review", shown)
	}
	// Another page of the app comes back to the queue.
	b.eval(`location.hash = "#/search?q=boats"`, nil)
	b.waitFor(`location.hash === "#/reviews" && document.querySelectorAll("table.reviews tbody tr[data-id]").length === 1`, wait)
	checkPage(t, b)
}
