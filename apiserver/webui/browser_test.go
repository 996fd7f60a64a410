package webui

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI serves the parts of Landfall's /v1 API the UI uses, from the
// fixtures in testdata/api, and records what the UI asked for.
type fakeAPI struct {
	t   *testing.T
	key string // required API key when not empty

	mu        sync.Mutex
	media     []map[string]any
	requests  []string // "METHOD /path?query"
	auths     []string // Authorization header or URL signature of each request
	uploads   []fakeUpload
	procReads int
	redriven  map[string]bool
	wav, png  []byte
}

type fakeUpload struct {
	Filename, ContentType, Vocabulary string
	Size                              int64
}

func newFakeAPI(t *testing.T, key string) *fakeAPI {
	a := &fakeAPI{t: t, key: key, redriven: map[string]bool{}, wav: toneWAV(6, 8000), png: testPNG(t)}
	b, err := os.ReadFile(filepath.Join("testdata", "api", "media.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &a.media); err != nil {
		t.Fatalf("testdata/api/media.json: %v", err)
	}
	return a
}

// toneWAV is a 16-bit mono WAV file of a 440 Hz tone.
func toneWAV(seconds, rate int) []byte {
	n := seconds * rate
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	w(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	w(uint32(16))
	w(uint16(1))
	w(uint16(1))
	w(uint32(rate))
	w(uint32(2 * rate))
	w(uint16(2))
	w(uint16(16))
	b.WriteString("data")
	w(uint32(2 * n))
	for i := 0; i < n; i++ {
		w(int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))))
	}
	return b.Bytes()
}

func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), 120, uint8(y * 5), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (a *fakeAPI) problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="landfall"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail, "code": code})
}

func (a *fakeAPI) json(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (a *fakeAPI) fixture(w http.ResponseWriter, name, ctype string) {
	b, err := os.ReadFile(filepath.Join("testdata", "api", name))
	if err != nil {
		a.problem(w, http.StatusNotFound, "NotFound", name+" not found")
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(b)
}

func (a *fakeAPI) saw(prefix string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.ContainsFunc(a.requests, func(r string) bool { return strings.HasPrefix(r, prefix) })
}

func (a *fakeAPI) count(prefix string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.requests {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

func (a *fakeAPI) mediaByID(id string) map[string]any {
	for _, m := range a.media {
		if m["id"] == id {
			return m
		}
	}
	return nil
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.requests = append(a.requests, r.Method+" "+r.URL.RequestURI())
	auth := r.Header.Get("Authorization")
	signed := false
	if sig := r.URL.Query().Get("signature"); sig != "" && r.Method == http.MethodGet {
		auth, signed = "signed "+sig, sig == fakeSignature(r.URL.Path)
	}
	a.auths = append(a.auths, auth)
	a.mu.Unlock()
	if r.URL.Query().Has("access_token") {
		a.problem(w, http.StatusUnauthorized, "Unauthenticated", "access_token: API keys are not accepted in URLs")
		return
	}
	if a.key != "" && auth != "Bearer "+a.key && !signed {
		detail := "an API key is required (Authorization: Bearer <key> or X-Api-Key)"
		if auth != "" {
			detail = "API key is unknown or revoked"
		}
		a.problem(w, http.StatusUnauthorized, "Unauthenticated", detail)
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/media", a.list)
	mux.HandleFunc("GET /v1/media/{id}", a.get)
	mux.HandleFunc("GET /v1/media/{id}/{export}", a.export)
	mux.HandleFunc("POST /v1/media/{id}/links", a.links)
	mux.HandleFunc("GET /v1/search", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("q") == "\"open" {
			a.problem(w, http.StatusBadRequest, "Invalid", "search: q: unclosed quote at offset 0")
			return
		}
		if r.URL.Query().Get("q") == "fox" {
			a.fixture(w, "search_fox.json", "application/json")
			return
		}
		a.json(w, 200, map[string]any{"query": r.URL.Query().Get("q"), "hits": []any{}})
	})
	mux.HandleFunc("GET /v1/executions/{arn}/history", func(w http.ResponseWriter, r *http.Request) {
		name := "history_" + r.PathValue("arn")
		if tok := r.URL.Query().Get("nextToken"); tok != "" {
			name += "." + tok
		}
		a.fixture(w, name+".json", "application/json")
	})
	mux.HandleFunc("GET /v1/failures", func(w http.ResponseWriter, r *http.Request) { a.fixture(w, "failures.json", "application/json") })
	mux.HandleFunc("POST /v1/failures/{id}/redrive", func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.redriven[r.PathValue("id")] = true
		a.mu.Unlock()
		a.json(w, http.StatusAccepted, map[string]any{"id": 7, "media_id": "med_failed", "error": "Media.Unsupported",
			"failed_at": "2026-11-26T10:01:05Z", "redriven_at": "2026-11-26T11:00:00Z", "redrive_execution_id": "arn:aws:states:us-east-1:123456789012:execution:landfall-ingest:0f6c2b1e-8d4a-4c55-9a3e-5b7d2c9e1f40"})
	})
	mux.HandleFunc("POST /v1/uploads", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			a.problem(w, 400, "Invalid", err.Error())
			return
		}
		name := r.URL.Query().Get("filename")
		if name == "huge.bin" {
			a.problem(w, http.StatusRequestEntityTooLarge, "TooLarge", fmt.Sprintf("upload of %d bytes is larger than the 1024-byte limit", n))
			return
		}
		a.mu.Lock()
		a.uploads = append(a.uploads, fakeUpload{Filename: name, ContentType: r.Header.Get("Content-Type"), Size: n, Vocabulary: r.URL.Query().Get("vocabulary")})
		a.mu.Unlock()
		a.json(w, http.StatusCreated, map[string]any{"id": "med_new", "filename": name, "size": n, "status": "PENDING", "created_at": "2026-11-26T11:00:00Z",
			"links": map[string]string{"self": "/v1/media/med_new"}})
	})
	mux.ServeHTTP(w, r)
}

func (a *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var out []map[string]any
	a.mu.Lock()
	for _, m := range a.media {
		if (q.Get("status") == "" || m["status"] == q.Get("status")) && (q.Get("kind") == "" || m["kind"] == q.Get("kind")) {
			out = append(out, m)
		}
	}
	a.mu.Unlock()
	// Pages of three, to exercise the cursor.
	page := map[string]any{}
	switch {
	case q.Get("cursor") == "p2" && len(out) > 3:
		out = out[3:]
	case q.Get("cursor") == "":
		if len(out) > 3 {
			out, page["next"] = out[:3], "p2"
		}
	default:
		a.problem(w, 400, "Invalid", "cursor: not from this listing")
		return
	}
	page["media"] = out
	a.json(w, 200, page)
}

func (a *fakeAPI) get(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	m := a.mediaByID(r.PathValue("id"))
	if m == nil {
		m = a.variant(r.PathValue("id"))
	}
	if m != nil && m["id"] == "med_proc" {
		// The item finishes after the UI has looked at it once.
		if a.procReads++; a.procReads > 1 {
			m["status"], m["duration"] = "SUCCEEDED", 61.0
		}
	}
	a.mu.Unlock()
	if m == nil {
		a.problem(w, http.StatusNotFound, "NotFound", "catalog: media "+r.PathValue("id")+" not found")
		return
	}
	a.json(w, 200, m)
}

// variant serves items that are not in the list: copies of med_audio
// with many chapters close together (med_chapters) and of med_image with
// a raw detector score instead of a probability (med_faces).
func (a *fakeAPI) variant(id string) map[string]any {
	from := map[string]string{"med_chapters": "med_audio", "med_faces": "med_image", "med_shots": "med_audio"}[id]
	if from == "" {
		return nil
	}
	raw, err := json.Marshal(a.mediaByID(from))
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	m["id"] = id
	m["links"] = map[string]any{"self": "/v1/media/" + id}
	ins := m["insights"].(map[string]any)
	switch id {
	case "med_chapters":
		m["links"].(map[string]any)["transcript_json"] = "/v1/media/med_chapters/transcript.json"
		var chapters []any
		for i, at := range []float64{0, 0.2, 0.5, 1, 1.3, 3, 3.1, 4.5, 5.8} {
			chapters = append(chapters, map[string]any{"title": fmt.Sprintf("Chapter %d with a rather long title", i+1), "start_seconds": at})
		}
		ins["chapters"] = chapters
		// A moderation flag of the vision worker at 2 s.
		ins["moderation"] = []any{map[string]any{"name": "Revealing Clothes", "confidence": 71.0, "timestamp": 2.0, "taxonomy_level": 2}}
	case "med_shots":
		// A video of two shots: labels per shot, a moderation flag in
		// the second.
		m["kind"] = "video"
		ins["vision"] = map[string]any{"shots": []any{
			map[string]any{"shot": 0, "start_ms": 0, "end_ms": 2000, "timestamp_ms": 1000, "labels": []any{
				map[string]any{"name": "Cup", "confidence": 49.4}, map[string]any{"name": "Person", "confidence": 61.0}}},
			map[string]any{"shot": 1, "start_ms": 2000, "end_ms": 4000, "timestamp_ms": 3000,
				"labels":     []any{map[string]any{"name": "Horse", "confidence": 56.2, "parents": []any{"Animal"}}},
				"moderation": []any{map[string]any{"name": "Revealing Clothes", "parent_name": "Suggestive", "confidence": 71.0, "taxonomy_level": 2}}}}}
	case "med_faces":
		ins["faces"].(map[string]any)["detections"].([]any)[0].(map[string]any)["scores"] = []any{11.71, 0.5}
		// The vision worker's located label on the image's one frame.
		ins["vision"] = map[string]any{"shots": []any{map[string]any{"shot": 0, "start_ms": 0, "end_ms": 0, "timestamp_ms": 0,
			"labels": []any{map[string]any{"name": "Person", "confidence": 62.0, "parents": []any{},
				"instances": []any{map[string]any{"box": map[string]any{"left": 0.1, "top": 0.1, "width": 0.3, "height": 0.5}, "confidence": 62.0}}}}}}}
	}
	return m
}

func (a *fakeAPI) export(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("id"), r.PathValue("export")
	if id == "med_chapters" && name == "transcript.json" {
		// As a recogniser without case or punctuation writes it.
		a.fixture(w, "transcript_med_chapters.json", "application/json")
		return
	}
	switch id {
	case "med_chapters", "med_shots":
		id = "med_audio"
	case "med_faces":
		id = "med_image"
	}
	switch {
	case name == "original" && id == "med_audio":
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeContent(w, r, "interview.wav", time.Time{}, bytes.NewReader(a.wav))
	case name == "original" && id == "med_image":
		w.Header().Set("Content-Type", "image/png")
		http.ServeContent(w, r, "sign.png", time.Time{}, bytes.NewReader(a.png))
	case name == "frame.jpg" && id == "med_image":
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(a.png)
	case name == "transcript.json":
		a.fixture(w, "transcript_"+id+".json", "application/json")
	case name == "captions.vtt":
		a.fixture(w, "captions_"+id+".vtt", "text/vtt")
	default:
		a.problem(w, http.StatusNotFound, "NotFound", fmt.Sprintf("no export %q of media %s", name, id))
	}
}

// fakeSignature stands in for the server's URL signature of path.
func fakeSignature(path string) string {
	return "sig" + strings.NewReplacer("/", "-", ".", "_").Replace(path)
}

// links answers POST /v1/media/{id}/links as the server does: a signed URL
// for the original and each export.
func (a *fakeAPI) links(w http.ResponseWriter, r *http.Request) {
	m := a.mediaByID(r.PathValue("id"))
	if m == nil {
		a.problem(w, http.StatusNotFound, "NotFound", "no media "+r.PathValue("id"))
		return
	}
	paths := map[string]string{"original": "/v1/media/" + r.PathValue("id") + "/original"}
	if l, ok := m["links"].(map[string]any); ok {
		for k, v := range l {
			if p, ok := v.(string); ok && k != "self" {
				paths[k] = p
			}
		}
	}
	out := map[string]string{}
	for k, p := range paths {
		out[k] = p + "?tenant=default&key_id=0123456789abcdef&expires=4102444800&signature=" + fakeSignature(p)
	}
	a.json(w, 200, map[string]any{"expires_at": "2100-01-01T00:00:00Z", "links": out})
}

// site serves the UI and the fake API on one loopback origin.
func newSite(t *testing.T, api *fakeAPI) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/ui/", Handler())
	mux.Handle("/v1/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

const wait = 15 * time.Second

// checkPage fails on JavaScript errors and on controls without an
// accessible name, and checks the page fits narrow screens.
func checkPage(t *testing.T, b *browser) {
	t.Helper()
	var unnamed []string
	b.eval(`[...document.querySelectorAll("button, input:not([type=hidden]):not([hidden]), select, a[href]")].filter((el) => {
		const name = (el.getAttribute("aria-label") || "").trim() || (el.labels && [...el.labels].map((l) => l.textContent).join("").trim()) || (el.textContent || "").trim() || (el.querySelector("img[alt]:not([alt=''])") ? "img" : "");
		return !name;
	}).map((el) => el.outerHTML.slice(0, 120))`, &unnamed)
	if len(unnamed) > 0 {
		t.Errorf("controls without an accessible name: %v", unnamed)
	}
	if e := b.takeExceptions(); len(e) > 0 {
		t.Errorf("JavaScript errors: %v", e)
	}
}

func click(b *browser, selector string) {
	b.t.Helper()
	b.waitFor(`document.querySelector(`+jsString(selector)+`)`, wait)
	b.eval(`document.querySelector(`+jsString(selector)+`).click()`, nil)
}

func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a headless browser for several seconds; skipped with -short")
	}
	b := startBrowser(t)
	api := newFakeAPI(t, "")
	srv := newSite(t, api)
	ui := srv.URL + "/ui/"

	t.Run("media list pages and filters", func(t *testing.T) {
		b.t = t
		b.navigate(ui)
		b.waitFor(`document.querySelectorAll("tbody tr").length === 3`, wait)
		b.screenshot("list")
		var text string
		b.eval(`document.querySelector("tbody").innerText`, &text)
		for _, want := range []string{"interview.wav", "succeeded", "meeting.mp3", "processing", "sign.png", "94 KiB", "0:06"} {
			if !strings.Contains(text, want) {
				t.Errorf("list does not show %q:\n%s", want, text)
			}
		}
		var keyButton string
		b.eval(`getComputedStyle(document.getElementById("key-button")).display`, &keyButton)
		if keyButton != "none" {
			t.Errorf("the API key button shows (display %q) although the server asked for no key", keyButton)
		}
		var current string
		b.eval(`document.querySelector("[aria-current=page]").textContent`, &current)
		if current != "Media" {
			t.Errorf("current nav item %q, want Media", current)
		}
		click(b, ".pager button")
		b.waitFor(`location.hash.includes("cursor=p2") && document.querySelectorAll("tbody tr").length === 1 && document.querySelector("tbody").innerText.includes("broken.bin")`, wait)
		click(b, ".pager button")
		b.waitFor(`!location.hash.includes("cursor") && document.querySelectorAll("tbody tr").length === 3`, wait)

		b.eval(`(() => { const s = document.getElementById("f-status"); s.value = "FAILED"; s.dispatchEvent(new Event("change", {bubbles: true})); })()`, nil)
		b.waitFor(`location.hash === "#/?status=FAILED" && document.querySelectorAll("tbody tr").length === 1`, wait)
		if !api.saw("GET /v1/media?status=FAILED") {
			t.Errorf("the status filter did not reach the API: %v", api.requests)
		}
		var sel string
		b.eval(`document.getElementById("f-status").value`, &sel)
		if sel != "FAILED" {
			t.Errorf("status select shows %q after reload, want FAILED", sel)
		}
		checkPage(t, b)
	})

	t.Run("processing badges refresh", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/")
		b.waitFor(`[...document.querySelectorAll("tbody tr")].some((tr) => tr.innerText.includes("meeting.mp3") && tr.innerText.includes("processing"))`, wait)
		b.waitFor(`[...document.querySelectorAll("tbody tr")].some((tr) => tr.innerText.includes("meeting.mp3") && tr.innerText.includes("succeeded") && tr.innerText.includes("1:01"))`, wait)
		checkPage(t, b)
	})

	t.Run("upload streams the file with progress", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/")
		b.waitFor(`document.getElementById("upload-input")`, wait)
		file := filepath.Join(t.TempDir(), "clip.wav")
		if err := os.WriteFile(file, api.wav, 0o644); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Root struct {
				NodeID int `json:"nodeId"`
			} `json:"root"`
		}
		b.do("DOM.getDocument", nil, &doc)
		var node struct {
			NodeID int `json:"nodeId"`
		}
		b.do("DOM.querySelector", map[string]any{"nodeId": doc.Root.NodeID, "selector": "#upload-input"}, &node)
		b.do("DOM.setFileInputFiles", map[string]any{"nodeId": node.NodeID, "files": []string{file}}, nil)
		b.waitFor(`document.querySelector(".uploads a.done") && document.querySelector(".uploads progress").value === 100`, wait)
		b.screenshot("upload")
		var href string
		b.eval(`document.querySelector(".uploads a.done").getAttribute("href")`, &href)
		if href != "#/media/med_new" {
			t.Errorf("uploaded item links to %q", href)
		}
		api.mu.Lock()
		ups := slices.Clone(api.uploads)
		api.mu.Unlock()
		if len(ups) != 1 || ups[0].Filename != "clip.wav" || ups[0].Size != int64(len(api.wav)) || !strings.HasPrefix(ups[0].ContentType, "audio/") {
			t.Errorf("uploads %+v, want clip.wav of %d bytes as audio/*", ups, len(api.wav))
		}
		checkPage(t, b)
	})

	t.Run("drag and drop uploads and shows errors", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/")
		b.waitFor(`document.querySelector(".dropzone") && document.querySelector("tbody")`, wait)
		lists := api.count("GET /v1/media?")
		b.eval(`(() => { const v = document.getElementById("upload-vocab"); v.value = " Ada Lovelace, Dover "; v.dispatchEvent(new Event("input", {bubbles: true})); })()`, nil)
		b.eval(`(() => {
			const dt = new DataTransfer();
			dt.items.add(new File([new Uint8Array(3000)], "dropped.mp4", {type: "video/mp4"}));
			dt.items.add(new File([new Uint8Array(2048)], "huge.bin", {type: ""}));
			const z = document.querySelector(".dropzone");
			z.dispatchEvent(new DragEvent("dragenter", {dataTransfer: dt, bubbles: true, cancelable: true}));
			const dragging = document.body.classList.contains("dragging");
			z.dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
			return dragging;
		})()`, nil)
		b.waitFor(`document.querySelector(".uploads .err") && document.querySelectorAll(".uploads a.done").length === 2`, wait)
		// The list is read again once the uploads are done, to show the new
		// items, and the uploads stay listed until cleared.
		deadline := time.Now().Add(wait)
		for api.count("GET /v1/media?") == lists && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if api.count("GET /v1/media?") == lists {
			t.Error("the media list was not read again after the uploads finished")
		}
		b.waitFor(`document.querySelectorAll("tbody tr").length === 3 && document.querySelectorAll(".uploads li").length === 3`, wait)
		var errText string
		b.eval(`document.querySelector(".uploads .err").textContent`, &errText)
		if errText != "huge.bin: upload of 2048 bytes is larger than the 1024-byte limit" {
			t.Errorf("upload error shows %q", errText)
		}
		var dragging bool
		b.eval(`document.body.classList.contains("dragging")`, &dragging)
		if dragging {
			t.Error("the drop zone stays highlighted after the drop")
		}
		click(b, ".dropzone > button.ghost")
		b.waitFor(`document.querySelectorAll(".uploads li").length === 0 && getComputedStyle(document.querySelector(".dropzone > button.ghost")).display === "none"`, wait)
		api.mu.Lock()
		last := api.uploads[len(api.uploads)-1]
		api.mu.Unlock()
		if last.Filename != "dropped.mp4" || last.Size != 3000 || last.ContentType != "video/mp4" || last.Vocabulary != "Ada Lovelace, Dover" {
			t.Errorf("dropped upload arrived as %+v", last)
		}
		checkPage(t, b)
	})

	t.Run("detail of an item in progress updates when it finishes", func(t *testing.T) {
		b.t = t
		api.mu.Lock()
		m := api.mediaByID("med_proc")
		m["status"], api.procReads = "PROCESSING", 0
		delete(m, "duration")
		api.mu.Unlock()
		b.navigate(ui + "#/")
		click(b, `a[href="#/media/med_proc"]`)
		b.waitFor(`document.querySelector(".detail-head .badge.PROCESSING") && document.querySelector("p[role=status]").textContent.includes("processing")`, wait)
		var focused string
		b.eval(`document.activeElement.tagName + ":" + document.activeElement.textContent`, &focused)
		if focused != "H1:meeting.mp3" {
			t.Errorf("after navigating, focus is on %q, want the page heading", focused)
		}
		b.waitFor(`document.querySelector(".detail-head .badge.SUCCEEDED") && !document.querySelector("p[role=status].panel")`, wait)
		checkPage(t, b)
	})

	t.Run("search groups moments, highlights matches safely and plays from the matched word", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/search?q=fox")
		b.waitFor(`document.querySelectorAll(".groups > li").length === 2`, wait)
		var marks []string
		b.eval(`[...document.querySelectorAll(".groups mark")].map((m) => m.textContent)`, &marks)
		if !slices.Equal(marks, []string{"fox", "fox", "friends", "FIX"}) {
			t.Errorf("marks %q, want fox, fox, friends, FIX", marks)
		}
		var injected bool
		b.eval(`document.getElementById("injected") !== null`, &injected)
		if injected {
			t.Error("markup in a snippet became an element")
		}
		var second string
		b.eval(`document.querySelectorAll(".groups .snippet")[1].textContent`, &second)
		if !strings.Contains(second, "<img src=x id=injected>") {
			t.Errorf("snippet text %q does not show the markup as text", second)
		}
		var info struct {
			Titles, Moments, Fields, Times, Matches, Facets []string
			Rel                                             []string
			Thumb                                           string
			Audio                                           string
			Expanded                                        string
		}
		b.eval(`({
			titles: [...document.querySelectorAll(".group .title")].map((a) => a.textContent),
			moments: [...document.querySelectorAll(".moment")].map((a) => a.getAttribute("href")),
			fields: [...document.querySelectorAll(".moment .badge.field")].map((x) => x.textContent),
			times: [...document.querySelectorAll(".moment .mono")].map((x) => x.textContent),
			matches: [...document.querySelectorAll(".moment .badge.match")].map((x) => x.textContent),
			facets: [...document.querySelectorAll(".facets .chip")].map((x) => x.textContent),
			rel: [...document.querySelectorAll(".group .meta .muted")].map((x) => x.textContent),
			thumb: (document.querySelectorAll(".group")[1].querySelector(".thumb img") || {}).src || "",
			audio: document.querySelectorAll(".group")[0].querySelector(".thumb").textContent,
			expanded: document.querySelector(".panel > p.muted").textContent,
		})`, &info)
		if !slices.Equal(info.Titles, []string{"interview.wav", "sign.png"}) {
			t.Errorf("groups %q", info.Titles)
		}
		if !slices.Equal(info.Moments, []string{"#/media/med_audio?t=4.10&te=4.40&hl=fox", "#/media/med_audio?hl=fox", "#/media/med_image?hl=FIX"}) {
			t.Errorf("moment links %q", info.Moments)
		}
		if !slices.Equal(info.Fields, []string{"said", "summary", "on screen"}) || !slices.Equal(info.Times, []string{"▶ 0:04", "▶", "▶"}) {
			t.Errorf("moments: fields %q times %q", info.Fields, info.Times)
		}
		if !slices.Equal(info.Matches, []string{"spelt like"}) || !strings.Contains(info.Expanded, "fix (spelt like fox)") {
			t.Errorf("match kinds %q; expanded %q", info.Matches, info.Expanded)
		}
		if !slices.Equal(info.Rel, []string{"relevance 100%", "relevance 50%"}) {
			t.Errorf("relevance %q", info.Rel)
		}
		if !strings.Contains(info.Thumb, "/v1/media/med_image/frame.jpg") || info.Audio != "♪" {
			t.Errorf("thumbnails: image %q, audio %q", info.Thumb, info.Audio)
		}
		if len(info.Facets) < 5 || !slices.Contains(info.Facets, "Speaker 2 1") || !slices.Contains(info.Facets, "Sign 1") {
			t.Errorf("facets %q", info.Facets)
		}
		b.waitFor(`document.querySelector(".group .thumb img") && document.querySelector(".group .thumb img").complete && document.querySelector(".group .thumb img").naturalWidth > 0`, wait)
		b.screenshot("search")
		// A facet narrows the query.
		var facetHref string
		b.eval(`[...document.querySelectorAll(".facets .chip")].find((a) => a.textContent.startsWith("Speaker 2")).getAttribute("href")`, &facetHref)
		if facetHref != "#/search?q=fox+speaker%3Aspk_1" {
			t.Errorf("speaker facet link %q", facetHref)
		}
		// The spoken moment opens the player at the word, highlighted.
		click(b, ".moment")
		b.waitFor(`location.hash.startsWith("#/media/med_audio?t=4.10") && document.querySelector(".w.hit-cur") && document.querySelector("audio") && document.querySelector("audio").readyState >= 1`, wait)
		b.waitFor(`Math.abs(document.querySelector("audio").currentTime - 4.1) < 0.05`, wait)
		var hit struct {
			Words []string
			Note  string
		}
		b.eval(`({ words: [...document.querySelectorAll(".w.hit-cur")].map((w) => w.textContent), note: document.querySelector(".search-match").textContent })`, &hit)
		if !slices.Equal(hit.Words, []string{"fox"}) || hit.Note != "Search match fox at 0:04" {
			t.Errorf("detail of the hit: highlighted %q, note %q", hit.Words, hit.Note)
		}
		b.screenshot("search-hit")
		// Search in this file.
		b.eval(`(() => { const f = document.querySelector("form.within"); f.q.value = "quick"; f.requestSubmit(); })()`, nil)
		b.waitFor(`location.hash === "#/search?q=quick&media=med_audio" && document.querySelector(".empty")`, wait)
		if !api.saw("GET /v1/search?q=quick&media_id=med_audio") {
			t.Errorf("search in this file did not ask for media_id: %v", api.requestsLike("/v1/search"))
		}
		b.navigate(ui + "#/search?q=fox")
		b.waitFor(`document.querySelectorAll(".groups > li").length === 2`, wait)
		b.eval(`(() => { const f = document.querySelector("form[role=search]"); f.q.value = "nothing here"; f.requestSubmit(); })()`, nil)
		b.waitFor(`location.hash === "#/search?q=nothing+here" && document.querySelector(".empty") && document.querySelector(".empty").textContent.includes("nothing here")`, wait)
		checkPage(t, b)
	})

	t.Run("detail player follows the transcript", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/media/med_audio?t=2.2")
		b.waitFor(`document.querySelectorAll(".seg").length === 3 && document.querySelector("audio") && document.querySelector("audio").readyState >= 1`, wait)
		var info struct {
			Title     string
			Speakers  []string
			Words     int
			Low       int
			Src       string
			Track     string
			Time      float64
			Chapters  []string
			Marks     int
			Downloads []string
			Raw       bool
			Text      string
		}
		b.eval(`(() => { const a = document.querySelector("audio"); return {
			Title: document.querySelector("h1").textContent,
			Speakers: [...document.querySelectorAll(".seg .speaker")].map((s) => s.textContent),
			Words: document.querySelectorAll(".w").length,
			Low: document.querySelectorAll(".w.low").length,
			Src: a.getAttribute("src"), Track: document.querySelector("track").getAttribute("src"), Time: a.currentTime,
			Chapters: [...document.querySelectorAll(".chapters li")].map((li) => li.innerText.replace(/\s+/g, " ")),
			Marks: document.querySelectorAll(".timeline .chapter").length,
			Downloads: [...document.querySelectorAll(".downloads a")].map((x) => x.textContent + "=" + x.getAttribute("download")),
			Raw: document.querySelector("details.raw pre").textContent.includes('"id": "med_audio"'),
			Text: document.getElementById("view").innerText }; })()`, &info)
		if info.Title != "interview.wav" {
			t.Errorf("title %q", info.Title)
		}
		if !slices.Equal(info.Speakers, []string{"Speaker 1", "Speaker 2", "Speaker 2"}) {
			t.Errorf("speakers %q", info.Speakers)
		}
		if info.Words != 12 || info.Low != 1 {
			t.Errorf("%d words (%d low confidence), want 12 (1)", info.Words, info.Low)
		}
		if info.Src != "/v1/media/med_audio/original" || info.Track != "/v1/media/med_audio/captions.vtt" {
			t.Errorf("player src %q, track %q", info.Src, info.Track)
		}
		if math.Abs(info.Time-2.2) > 0.05 {
			t.Errorf("player starts at %.2f s, want 2.2 from ?t=", info.Time)
		}
		if !slices.Equal(info.Chapters, []string{"0:00 Greeting", "0:03 The fox"}) || info.Marks != 2 {
			t.Errorf("chapters %q, %d timeline marks", info.Chapters, info.Marks)
		}
		if !slices.Equal(info.Downloads, []string{"Original file=interview.wav", "captions.srt=interview.captions.srt", "captions.vtt=interview.captions.vtt",
			"chapters.json=interview.chapters.json", "insights.json=interview.insights.json", "transcript.json=interview.transcript.json"}) {
			t.Errorf("downloads %q", info.Downloads)
		}
		if !info.Raw {
			t.Error("raw JSON section does not hold the record")
		}
		for _, want := range []string{"Two people talk about the quick brown fox.", "foxes", "Ada Lovelace", "Landfall Ltd", "Dover",
			"dotted underline: the recogniser was unsure of this word (confidence below 50%)", "Vocabulary not used: rekognition.",
			"Support call review", "Insight profile support-call, filled by the local provider; not available here: Resolution",
			"Action items", "I will send the fox report. · Speaker: spk_1", "none found",
			"BREAKING NEWS", "2 at most in one frame (1 frame with faces)", "en (93% from transcript)", "Speech", "An interview about a quick brown fox."} {
			if !strings.Contains(info.Text, want) {
				t.Errorf("detail page does not show %q", want)
			}
		}
		// The execution's states, read from two pages of history.
		b.waitFor(`document.querySelectorAll(".steps li").length === 5`, wait)
		var steps []string
		b.eval(`[...document.querySelectorAll(".steps li")].map((li) => li.innerText.replace(/\s+/g, " ").trim() + " @" + li.style.marginLeft)`, &steps)
		wantSteps := []string{
			"✓ succeeded ClassifyMedia Task 1.5 s 1 retry Provider.Throttled: 429 from the probe service @0rem",
			"✓ succeeded Analyse Parallel 3.0 s @0rem",
			"✓ succeeded Transcribe Task 3.0 s @1.5rem",
			"✓ succeeded ReadText Task 500 ms @1.5rem",
			"✓ succeeded Done Succeed @0rem",
		}
		if !slices.Equal(steps, wantSteps) {
			t.Errorf("execution steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(wantSteps, "\n"))
		}
		var summary string
		b.eval(`document.querySelector(".exec-summary").innerText.replace(/\s+/g, " ").trim()`, &summary)
		if summary != "succeeded 5 states, took 4.6 s · history (JSON)" {
			t.Errorf("execution summary %q", summary)
		}
		if !api.saw("GET /v1/executions/exec-1/history?limit=1000&nextToken=page2") {
			t.Error("the second page of the history was not read")
		}
		// The word being spoken at ?t=2.2 is "Fine", in the second block.
		b.waitFor(`document.querySelector(".w.cur") && document.querySelector(".w.cur").textContent === "Fine" && document.querySelectorAll(".seg")[1].classList.contains("current")`, wait)
		b.screenshot("detail")

		// Clicking a word seeks there; play() is stubbed so time stands still.
		b.eval(`document.querySelector("audio").play = () => Promise.resolve()`, nil)
		click(b, `.w[data-i="10"]`)
		b.waitFor(`Math.abs(document.querySelector("audio").currentTime - 4.1) < 0.01 && document.querySelector(".w.cur").dataset.i === "10" && document.querySelectorAll(".seg")[2].classList.contains("current") && document.querySelectorAll(".chapters li")[1].classList.contains("current")`, wait)
		// The block's time button and a chapter are keyboard-reachable buttons.
		click(b, `.seg .seg-head button`)
		b.waitFor(`Math.abs(document.querySelector("audio").currentTime - 0.2) < 0.01 && document.querySelector(".w.cur").textContent === "Hello" && document.querySelectorAll(".chapters li")[0].classList.contains("current")`, wait)
		b.eval(`document.querySelectorAll(".chapters li button")[1].click()`, nil)
		b.waitFor(`Math.abs(document.querySelector("audio").currentTime - 3) < 0.01`, wait)
		click(b, ".player button.ghost")
		b.waitFor(`location.hash === "#/media/med_audio?t=3.0" && document.querySelector(".toast:last-child").textContent.includes("0:03")`, wait)
		var speakers string
		b.eval(`document.querySelector(".speakers").textContent`, &speakers)
		// Talk time reads as talk time, not as a time in the recording.
		if speakers != "2 speakers: Speaker 1 · talk 0:01, Speaker 2 · talk 0:02" {
			t.Errorf("speaker line %q", speakers)
		}
		// The original file and captions really load.
		b.waitFor(`document.querySelector("audio").duration > 5.9 && document.querySelector("audio").textTracks[0].cues && document.querySelector("audio").textTracks[0].cues.length === 3`, wait)
		var headLeft string
		b.eval(`document.querySelector(".timeline .head").style.left`, &headLeft)
		if headLeft != "50%" {
			t.Errorf("timeline playhead at %q, want 50%% at 3 s of 6 s", headLeft)
		}
		// Find in transcript.
		b.eval(`(() => { const f = document.getElementById("find"); f.value = "THE"; f.dispatchEvent(new Event("input", {bubbles: true})); })()`, nil)
		// "the" is typed as a prefix: "there," and "The" both match.
		b.waitFor(`[...document.querySelectorAll(".w.hit")].map((w) => w.textContent).join(" ") === "there, The" && document.querySelector(".find [aria-live]").textContent === "2 matches"`, wait)
		b.eval(`(() => { const f = document.getElementById("find"); f.value = "quick bro"; f.dispatchEvent(new Event("input", {bubbles: true})); f.form.requestSubmit(); })()`, nil)
		b.waitFor(`[...document.querySelectorAll(".w.hit")].map((w) => w.textContent).join(" ") === "quick brown" && document.querySelectorAll(".w.hit-cur").length === 2 && Math.abs(document.querySelector("audio").currentTime - 3.25) < 0.01`, wait)
		var found string
		b.eval(`document.querySelector(".find [aria-live]").textContent`, &found)
		if found != "1 of 1" {
			t.Errorf("find shows %q, want 1 of 1", found)
		}
		checkPage(t, b)
	})

	t.Run("image detail", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/media/med_image")
		b.waitFor(`document.querySelector(".player img") && document.querySelector(".player img").naturalWidth === 64`, wait)
		var text string
		b.eval(`document.getElementById("view").innerText`, &text)
		if !strings.Contains(text, "EXIT") || strings.Contains(text, "Transcript") {
			t.Errorf("image page should show its on-screen text and no transcript:\n%s", text)
		}
		// One text box and two face boxes, the second clipped at the image's
		// edge; the text line without a box has none. Boxes sit on the
		// image, in its proportions.
		var boxes []string
		b.eval(`(() => { const img = document.querySelector(".player img").getBoundingClientRect();
			return [...document.querySelectorAll(".player .box")].map((x) => { const r = x.getBoundingClientRect();
				return x.className + " " + [(r.left - img.left) / img.width, (r.top - img.top) / img.height, r.width / img.width, r.height / img.height].map((v) => v.toFixed(2)).join(" ") + " " + x.title; }); })()`, &boxes)
		if !slices.Equal(boxes, []string{"box text 0.25 0.50 0.50 0.25 Text: EXIT", "box face 0.10 0.10 0.20 0.30 Face (91%)", "box face 0.90 0.90 0.10 0.10 Face (50%)"}) {
			t.Errorf("image boxes %q", boxes)
		}
		click(b, "#show-boxes")
		b.waitFor(`getComputedStyle(document.querySelector(".player .box")).display === "none"`, wait)
		checkPage(t, b)
	})

	t.Run("errors show the problem detail", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/media/med_failed")
		b.waitFor(`document.querySelector(".alert") && document.querySelector(".alert").textContent.includes("ffprobe found no audio")`, wait)
		b.waitFor(`document.querySelectorAll(".steps li").length === 3`, wait)
		var statuses []string
		b.eval(`[...document.querySelectorAll(".steps li")].map((li) => li.className)`, &statuses)
		if !slices.Equal(statuses, []string{"step caught", "step succeeded", "step failed"}) {
			t.Errorf("failed execution's steps: %q", statuses)
		}
		b.navigate(ui + "#/media/nope")
		b.waitFor(`document.querySelector("[role=alert]") && document.querySelector("[role=alert]").textContent.includes("media nope not found")`, wait)
		// Internal package names are not shown, and the page's "Loading…"
		// placeholder does not stay above the error.
		var shown string
		b.eval(`document.getElementById("view").innerText`, &shown)
		if strings.Contains(shown, "catalog:") || strings.Contains(shown, "Loading…") {
			t.Errorf("error page shows %q", shown)
		}
		b.navigate(ui + "#/no/such/page")
		b.waitFor(`document.querySelector("h1").textContent === "Page not found"`, wait)
		checkPage(t, b)
	})

	t.Run("failures redrive", func(t *testing.T) {
		b.t = t
		b.navigate(ui + "#/failures")
		b.waitFor(`document.querySelectorAll("tbody tr").length === 2`, wait)
		b.screenshot("failures")
		var text string
		b.eval(`document.querySelector("tbody").innerText`, &text)
		b.waitFor(`document.querySelector("tbody a").textContent === "broken.bin"`, wait)
		b.eval(`document.querySelector("tbody").innerText`, &text)
		for _, want := range []string{"broken.bin", "med_old", "Media.Unsupported", "ffprobe found no audio", "ClassifyMedia", "Provider.Throttled", "Redriven"} {
			if !strings.Contains(text, want) {
				t.Errorf("failures do not show %q:\n%s", want, text)
			}
		}
		var buttons int
		b.eval(`document.querySelectorAll("tbody button").length`, &buttons)
		if buttons != 1 {
			t.Errorf("%d redrive buttons, want 1 (the other failure was redriven)", buttons)
		}
		click(b, "tbody button")
		b.waitFor(`document.querySelectorAll("tbody button").length === 0 && document.querySelector(".toast") && document.querySelector(".toast").textContent.includes("Redrive of broken.bin started")`, wait)
		// The toast says what happened in plain words and stays inside its box.
		var toastFit struct {
			Text string
			Fits bool
		}
		b.eval(`(() => { const t = document.querySelector(".toast"); return {Text: t.textContent, Fits: t.scrollWidth <= t.clientWidth}; })()`, &toastFit)
		if strings.Contains(toastFit.Text, "arn:") || !toastFit.Fits {
			t.Errorf("redrive toast %q (fits its box: %v)", toastFit.Text, toastFit.Fits)
		}
		api.mu.Lock()
		ok := api.redriven["7"]
		api.mu.Unlock()
		if !ok {
			t.Error("POST /v1/failures/7/redrive was not sent")
		}
		click(b, "#f-open")
		b.waitFor(`location.hash === "#/failures?not_redriven=true"`, wait)
		b.waitFor(`document.querySelectorAll("tbody tr").length === 2`, wait)
		if !api.saw("GET /v1/failures?not_redriven=true") {
			t.Error("the not-redriven filter did not reach the API")
		}
		checkPage(t, b)
	})

	t.Run("narrow screens do not scroll sideways", func(t *testing.T) {
		b.t = t
		b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": 380, "height": 800, "deviceScaleFactor": 1, "mobile": true}, nil)
		defer b.do("Emulation.clearDeviceMetricsOverride", nil, nil)
		for _, page := range []string{"#/", "#/media/med_audio", "#/failures", "#/search?q=fox"} {
			b.navigate(ui + page)
			b.waitFor(`!document.querySelector("[aria-busy=true]") && document.querySelector("h1")`, wait)
			b.waitFor(`document.querySelector("main section, main table, main .hits")`, wait)
			b.screenshot("narrow-" + strings.Trim(strings.NewReplacer("#", "", "/", "-", "?", "-", "=", "-").Replace(page), "-"))
			var widths []int
			b.eval(`[document.documentElement.scrollWidth, window.innerWidth]`, &widths)
			if widths[0] > widths[1] {
				t.Errorf("%s: page is %d px wide on a %d px screen", page, widths[0], widths[1])
			}
		}
		checkPage(t, b)
	})

	t.Run("text contrast in light and dark schemes", func(t *testing.T) {
		b.t = t
		for _, scheme := range []string{"light", "dark"} {
			b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}, {"name": "prefers-reduced-motion", "value": "reduce"}}}, nil)
			for _, page := range []string{"#/", "#/media/med_audio?t=2.2", "#/failures", "#/search?q=fox"} {
				b.navigate(ui + page)
				b.waitFor(`!document.querySelector("[aria-busy=true]") && document.querySelector("main section, main table, main .hits")`, wait)
				b.waitFor(`!document.querySelector(".transcript-panel") || document.querySelector(".seg")`, wait)
				b.screenshot(scheme + "-" + strings.Trim(strings.NewReplacer("#", "", "/", "-", "?", "-", "=", "-", ".", "-").Replace(page), "-"))
				var low []string
				b.eval(contrastJS, &low)
				if len(low) > 0 {
					t.Errorf("%s scheme, %s: text below WCAG AA contrast:\n%s", scheme, page, strings.Join(low, "\n"))
				}
			}
		}
		b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{}}, nil)
		checkPage(t, b)
	})

	t.Run("layout holds at wide and narrow widths in both schemes", func(t *testing.T) {
		b.t = t
		defer b.do("Emulation.clearDeviceMetricsOverride", nil, nil)
		defer b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{}}, nil)
		for _, width := range []int{1400, 390} {
			b.do("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 720}, nil)
			for _, scheme := range []string{"light", "dark"} {
				b.do("Emulation.setEmulatedMedia", map[string]any{"features": []map[string]string{{"name": "prefers-color-scheme", "value": scheme}}}, nil)
				at := fmt.Sprintf("%d px, %s", width, scheme)

				// Chapter titles close together never overlap; the ones
				// without room are hidden, not drawn over the next.
				b.navigate(ui + "#/media/med_chapters")
				b.waitFor(`document.querySelectorAll(".timeline .chapter span").length === 9 && document.querySelector("audio").readyState >= 1`, wait)
				var modTicks []string
				b.eval(`[...document.querySelectorAll(".timeline .tick.moderation")].map((x) => x.title)`, &modTicks)
				if !slices.Equal(modTicks, []string{"Moderation: Revealing Clothes (71%) at 0:02"}) {
					t.Errorf("%s: moderation ticks %q", at, modTicks)
				}
				b.screenshot(fmt.Sprintf("chapters-%d-%s", width, scheme))
				var chapters struct{ Visible, Overlaps, Outside int }
				b.eval(`(() => { const bar = document.querySelector(".timeline").getBoundingClientRect();
					const r = [...document.querySelectorAll(".timeline .chapter span")].filter((s) => !s.hidden).map((s) => s.getBoundingClientRect()).filter((x) => x.width > 0).sort((a, b) => a.left - b.left);
					let overlaps = 0;
					for (let i = 1; i < r.length; i++) if (r[i].left < r[i - 1].right) overlaps++;
					return {Visible: r.length, Overlaps: overlaps, Outside: r.filter((x) => x.right > bar.right + 0.5).length}; })()`, &chapters)
				if chapters.Overlaps > 0 || chapters.Outside > 0 || chapters.Visible < 3 {
					t.Errorf("%s: chapter titles: %d visible, %d overlapping, %d past the timeline's end", at, chapters.Visible, chapters.Overlaps, chapters.Outside)
				}

				// A recogniser's lower-case words read as sentences; the
				// low-confidence legend and the unused vocabulary fit.
				b.waitFor(`document.querySelectorAll(".seg").length === 2`, wait)
				var tx struct {
					Segs         []string
					Legend, Note string
					Overflow     int
					Title        string
				}
				b.eval(`(() => { const vw = document.documentElement.clientWidth;
					const els = [...document.querySelectorAll(".transcript-panel .low-legend, .transcript-panel .note, .seg")];
					return {Segs: [...document.querySelectorAll(".seg p")].map((p) => p.textContent.trim()),
						Legend: (document.querySelector(".transcript-panel .low-legend") || {}).textContent || "",
						Note: (document.querySelector(".note") || {}).textContent || "",
						Overflow: els.filter((e) => e.getBoundingClientRect().right > vw + 0.5).length,
						Title: (document.querySelector(".w.low") || {}).title || ""}; })()`, &tx)
				if !slices.Equal(tx.Segs, []string{"Welcome back to the show.", "I joined the red cross."}) {
					t.Errorf("%s: transcript shows %q, want sentences", at, tx.Segs)
				}
				if !strings.Contains(tx.Legend, "unsure") || !strings.HasPrefix(tx.Note, "Vocabulary not used: kubernetes, rekognition, landfall") ||
					tx.Title != "the recogniser was unsure of this word (confidence 36%)" {
					t.Errorf("%s: legend %q, vocabulary note %q, low word title %q", at, tx.Legend, tx.Note, tx.Title)
				}
				if tx.Overflow > 0 {
					t.Errorf("%s: %d transcript elements pass the screen's right edge", at, tx.Overflow)
				}

				// Toasts: at most three at once, the newest kept.
				// Five different messages (one per second of the audio).
				for i := 0; i < 5; i++ {
					b.eval(fmt.Sprintf(`document.querySelector("audio").currentTime = %d`, i), nil)
					b.waitFor(fmt.Sprintf(`Math.abs(document.querySelector("audio").currentTime - %d) < 0.01`, i), wait)
					b.eval(`[...document.querySelectorAll("button")].find((x) => x.textContent === "Link to this moment").click()`, nil)
				}
				b.waitFor(`[...document.querySelectorAll(".toast")].some((x) => x.textContent.includes("0:04"))`, wait)
				var toasts int
				b.eval(`document.querySelectorAll(".toast").length`, &toasts)
				if toasts > 3 {
					t.Errorf("%s: %d toasts at once, want at most 3", at, toasts)
				}

				// A video's shots list what each shows; a shot's time seeks.
				b.navigate(ui + "#/media/med_shots")
				b.waitFor(`document.querySelectorAll(".shots li.shot").length === 2 && document.querySelector("video").readyState >= 1`, wait)
				var shots []string
				b.eval(`[...document.querySelectorAll(".shots li.shot")].map((x) => x.textContent.replace(/\s+/g, " ").trim())`, &shots)
				if !slices.Equal(shots, []string{"0:00–0:02 Shot 1Cup 49%Person 61%", "0:02–0:04 Shot 2Horse 56%⚑ Revealing Clothes 71%"}) {
					t.Errorf("%s: shots %q", at, shots)
				}
				b.eval(`document.querySelectorAll(".shots button.t")[1].click()`, nil)
				b.waitFor(`Math.abs(document.querySelector("video").currentTime - 2) < 0.05`, wait)

				// A face's score never reads as more than 100 %.
				b.navigate(ui + "#/media/med_faces")
				b.waitFor(`document.querySelectorAll(".player .box.face").length === 2`, wait)
				var faces []string
				b.eval(`[...document.querySelectorAll(".player .box.face")].map((x) => x.title)`, &faces)
				if !slices.Equal(faces, []string{"Face (score 11.7)", "Face (50%)"}) {
					t.Errorf("%s: face tooltips %q", at, faces)
				}
				// A located label is a box of its own, its confidence read
				// from 0–100.
				var labelBoxes []string
				b.eval(`[...document.querySelectorAll(".player .box.label")].map((x) => x.title)`, &labelBoxes)
				if !slices.Equal(labelBoxes, []string{"Person (62%)"}) {
					t.Errorf("%s: label boxes %q", at, labelBoxes)
				}
				for _, f := range faces {
					for _, m := range regexp.MustCompile(`(\d+)%`).FindAllStringSubmatch(f, -1) {
						if n, _ := strconv.Atoi(m[1]); n > 100 {
							t.Errorf("%s: face tooltip %q is over 100%%", at, f)
						}
					}
				}

				// Errors show the server's message without package names
				// and without the placeholder that promised results.
				b.navigate(ui + "#/search?q=" + url.QueryEscape(`"open`))
				b.waitFor(`document.querySelector("[role=alert]")`, wait)
				var shown string
				b.eval(`document.getElementById("view").innerText`, &shown)
				if !strings.Contains(shown, "unclosed quote") || strings.Contains(shown, "search:") || strings.Contains(shown, "Searching") {
					t.Errorf("%s: search error page shows:\n%s", at, shown)
				}

				// Failures: the cause wraps across the card, and on narrow
				// screens toasts sit above the table, not over it.
				b.navigate(ui + "#/failures")
				b.waitFor(`document.querySelectorAll("tbody tr").length === 2`, wait)
				click(b, "tbody button")
				b.waitFor(`document.querySelector(".toast") && [...document.querySelectorAll(".toast")].some((x) => x.textContent.includes("Redrive of"))`, wait)
				b.screenshot(fmt.Sprintf("failures-%d-%s", width, scheme))
				var cause struct {
					Width   float64
					Covered int
				}
				b.eval(`(() => { const c = document.querySelector("tbody .cause"); const r = c.getBoundingClientRect();
					const table = document.querySelector("main table").getBoundingClientRect();
					const covered = [...document.querySelectorAll(".toast")].map((x) => x.getBoundingClientRect()).filter((x) => x.left < table.right && x.right > table.left && x.top < table.bottom && x.bottom > table.top).length;
					return {Width: r.width, Covered: covered}; })()`, &cause)
				if cause.Width < 150 {
					t.Errorf("%s: failure cause is %.0f px wide", at, cause.Width)
				}
				if width < 720 && cause.Covered > 0 {
					t.Errorf("%s: %d toasts cover the failures table", at, cause.Covered)
				}
			}
		}
		checkPage(t, b)
	})

	t.Run("api key is asked for once and used", func(t *testing.T) {
		b.t = t
		keyed := newFakeAPI(t, "s3cret")
		srv2 := newSite(t, keyed)
		b.navigate(srv2.URL + "/ui/")
		b.waitFor(`document.getElementById("key-dialog").open`, wait)
		b.screenshot("key")
		var dialogs int
		b.eval(`document.querySelectorAll("dialog[open]").length`, &dialogs)
		if dialogs != 1 {
			t.Errorf("%d open dialogs, want 1", dialogs)
		}
		b.eval(`(() => { document.getElementById("key-input").value = "wrong"; document.getElementById("key-form").requestSubmit(); })()`, nil)
		b.waitFor(`document.getElementById("key-dialog").open && document.getElementById("key-reason").textContent.includes("did not accept")`, wait)
		b.eval(`(() => { document.getElementById("key-input").value = "s3cret"; document.getElementById("key-form").requestSubmit(); })()`, nil)
		b.waitFor(`document.querySelectorAll("tbody tr").length === 3 && sessionStorage.getItem("landfall.apiKey") === "s3cret"`, wait)
		b.navigate(srv2.URL + "/ui/#/media/med_audio")
		b.waitFor(`document.querySelector("audio") && document.querySelector("audio").readyState >= 1 && document.querySelectorAll(".seg").length === 3`, wait)
		var src, dl string
		b.eval(`document.querySelector("audio").getAttribute("src")`, &src)
		b.eval(`document.querySelector(".downloads a").getAttribute("href")`, &dl)
		if src != "/v1/media/med_audio/original?tenant=default&key_id=0123456789abcdef&expires=4102444800&signature="+fakeSignature("/v1/media/med_audio/original") || dl != src {
			t.Errorf("media src %q, download %q: want the signed URL from POST /v1/media/{id}/links", src, dl)
		}
		for _, u := range []string{src, dl} {
			if strings.Contains(u, "s3cret") {
				t.Errorf("the key is in a URL: %q", u)
			}
		}
		var keyButton string
		b.eval(`getComputedStyle(document.getElementById("key-button")).display`, &keyButton)
		if keyButton == "none" {
			t.Error("the API key button is hidden although a key is in use")
		}
		var opened bool
		b.eval(`document.getElementById("key-dialog").open`, &opened)
		if opened {
			t.Error("the key dialog opened again although the key works")
		}
		checkPage(t, b)

		// In a new tab session without a key, cancelling asks no more until
		// the user chooses the API key button.
		b.eval(`sessionStorage.clear()`, nil)
		b.navigate(srv2.URL + "/ui/#/failures")
		b.do("Page.reload", nil, nil)
		b.waitFor(`document.getElementById("key-dialog").open`, wait)
		click(b, "#key-cancel")
		b.waitFor(`!document.getElementById("key-dialog").open && document.querySelector("[role=alert]") && document.querySelector("[role=alert]").textContent.includes("needs an API key")`, wait)
		b.eval(`location.hash = "#/search?q=fox"`, nil)
		b.waitFor(`document.querySelector("[role=alert]") && document.querySelector("h1").textContent === "Search"`, wait)
		b.eval(`document.getElementById("key-dialog").open`, &opened)
		if opened {
			t.Error("the key dialog opened again after it was cancelled")
		}
		click(b, "#key-button")
		b.waitFor(`document.getElementById("key-dialog").open`, wait)
		b.eval(`(() => { document.getElementById("key-input").value = "s3cret"; document.getElementById("key-form").requestSubmit(); })()`, nil)
		b.waitFor(`document.querySelectorAll(".groups > li").length === 2`, wait)
		// The image's thumbnail comes from a signed link, never the key.
		b.waitFor(`document.querySelector(".thumb img") && document.querySelector(".thumb img").getAttribute("src").includes("signature=")`, wait)
		checkPage(t, b)

		// An admin key names the tenant it acts for; every API request
		// carries it.
		click(b, "#key-button")
		b.waitFor(`document.getElementById("key-dialog").open`, wait)
		b.eval(`(() => { document.getElementById("key-input").value = "s3cret"; document.getElementById("tenant-input").value = "acme"; document.getElementById("key-form").requestSubmit(); })()`, nil)
		b.eval(`location.hash = "#/failures"`, nil)
		b.waitFor(`document.querySelector("h1") && document.querySelector("h1").textContent === "Failures" && sessionStorage.getItem("landfall.tenant") === "acme"`, wait)
		b.waitFor(`document.querySelector("tbody tr, .empty, [role=alert]")`, wait)
		if n := keyed.count("GET /v1/failures?"); n == 0 || keyed.countContaining("GET /v1/failures", "tenant=acme") == 0 {
			t.Errorf("no failures request named the tenant: %v", keyed.requestsLike("/v1/failures"))
		}
		checkPage(t, b)
		b.eval(`sessionStorage.removeItem("landfall.tenant")`, nil)
	})
}

func (a *fakeAPI) countContaining(prefix, part string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, r := range a.requests {
		if strings.HasPrefix(r, prefix) && strings.Contains(r, part) {
			n++
		}
	}
	return n
}

func (a *fakeAPI) requestsLike(part string) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, r := range a.requests {
		if strings.Contains(r, part) {
			out = append(out, r)
		}
	}
	return out
}

// contrastJS lists visible text elements whose colour has less than WCAG
// AA contrast with the background behind them (4.5:1, or 3:1 for large
// or bold-large text).
const contrastJS = `(() => {
  const parse = (c) => { const m = c.match(/[\d.]+/g); return m ? m.map(Number) : [0, 0, 0, 0]; };
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const blend = (top, bottom) => { const a = top.length > 3 ? top[3] : 1; return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)); };
  const bgOf = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if ((c.length > 3 ? c[3] : 1) > 0) layers.push(c);
      if ((c.length > 3 ? c[3] : 1) === 1) break;
    }
    let bg = parse(getComputedStyle(document.documentElement).backgroundColor);
    if ((bg.length > 3 ? bg[3] : 1) === 0) bg = matchMedia("(prefers-color-scheme: dark)").matches ? [0, 0, 0] : [255, 255, 255];
    for (const l of layers.reverse()) bg = blend(l, bg);
    return bg;
  };
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!n.textContent.trim() || seen.has(el) || !el.getClientRects().length) continue;
    seen.add(el);
    const cs = getComputedStyle(el);
    if (cs.visibility === "hidden" || Number(cs.opacity) === 0 || el.closest("[hidden], .visually-hidden, .skip, dialog:not([open]), select, details:not([open]) > :not(summary)")) continue;
    const fg = blend(parse(cs.color), bgOf(el));
    const bg = bgOf(el);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const size = parseFloat(cs.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) out.push(ratio.toFixed(2) + ":1 " + el.tagName.toLowerCase() + "." + el.className + " " + JSON.stringify(n.textContent.trim().slice(0, 40)));
  }
  return out;
})()`
