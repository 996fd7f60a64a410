package webui

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestLive opens the UI of a running Landfall server named by
// LANDFALL_UI_LIVE_URL (e.g. http://127.0.0.1:8080, serving /ui/ and /v1/)
// in headless Chromium and visits every page and the detail page of the
// newest media items, failing on JavaScript errors and on pages that do not
// render. With LANDFALL_UI_LIVE_KEY it enters that API key when asked; with
// LANDFALL_UI_LIVE_UPLOAD (a file path) it first uploads that file through
// the page and waits for its pipeline to succeed. It is skipped when
// LANDFALL_UI_LIVE_URL is not set.
func TestLive(t *testing.T) {
	base := strings.TrimRight(os.Getenv("LANDFALL_UI_LIVE_URL"), "/")
	if base == "" {
		t.Skip("LANDFALL_UI_LIVE_URL is not set")
	}
	b := startBrowser(t)
	ui := base + "/ui/"
	b.navigate(ui)
	if key := os.Getenv("LANDFALL_UI_LIVE_KEY"); key != "" {
		b.waitFor(`document.getElementById("key-dialog").open`, wait)
		b.eval(`(() => { document.getElementById("key-input").value = `+jsString(key)+`; document.getElementById("key-form").requestSubmit(); })()`, nil)
	}
	b.waitFor(`document.querySelector("tbody tr, .empty")`, wait)
	if upload := os.Getenv("LANDFALL_UI_LIVE_UPLOAD"); upload != "" {
		// Upload through the page and wait for the pipeline to finish.
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
		b.do("DOM.setFileInputFiles", map[string]any{"nodeId": node.NodeID, "files": []string{upload}}, nil)
		b.waitFor(`document.querySelector(".uploads a.done") || document.querySelector(".uploads .err")`, wait)
		var errText string
		b.eval(`document.querySelector(".uploads .err") ? document.querySelector(".uploads .err").textContent : ""`, &errText)
		if errText != "" {
			t.Fatalf("upload: %s", errText)
		}
		click(b, ".uploads a.done")
		b.waitFor(`document.querySelector(".detail-head .badge.SUCCEEDED, .detail-head .badge.FAILED")`, 5*time.Minute)
		b.screenshot("live-uploaded")
		var status string
		b.eval(`document.querySelector(".detail-head .badge").textContent`, &status)
		if status != "succeeded" {
			t.Errorf("uploaded media %s", status)
		}
		b.navigate(ui)
		b.waitFor(`document.querySelector("tbody tr")`, wait)
	}
	b.screenshot("live-list")
	var ids []string
	b.eval(`[...document.querySelectorAll("tbody tr td:first-child a")].map((a) => decodeURIComponent(a.getAttribute("href").replace("#/media/", ""))).slice(0, 5)`, &ids)
	checkPage(t, b)
	for _, id := range ids {
		b.navigate(ui + "#/media/" + id + "?t=5")
		b.waitFor(`document.querySelector(".detail-head") && document.querySelector("details.raw")`, wait)
		var kind string
		b.eval(`document.querySelector("video") ? "video" : document.querySelector("audio") ? "audio" : document.querySelector(".player img") ? "image" : ""`, &kind)
		switch kind {
		case "video", "audio":
			b.waitFor(`document.querySelector(`+jsString(kind)+`).readyState >= 1 || document.querySelector(".player [role=status]").textContent`, wait)
			var failed string
			b.eval(`document.querySelector(".player [role=status]").textContent`, &failed)
			if failed != "" {
				t.Errorf("%s: %s", id, failed)
			}
			var hasTranscript bool
			b.eval(`Boolean(document.querySelector(".transcript-panel"))`, &hasTranscript)
			if hasTranscript {
				b.waitFor(`document.querySelector(".seg, .transcript .muted, .transcript-panel .alert")`, wait)
				b.waitFor(`!document.querySelector(".seg") || document.querySelector(".seg.current") || document.querySelector(".w.cur") || document.querySelector(`+jsString(kind)+`).currentTime < Number(document.querySelector(".seg").dataset.start)`, wait)
			}
		case "image":
			b.waitFor(`document.querySelector(".player img").complete`, wait)
			var w int
			b.eval(`document.querySelector(".player img").naturalWidth`, &w)
			if w == 0 {
				t.Errorf("%s: the image did not load", id)
			}
		}
		b.screenshot("live-" + id)
		checkPage(t, b)
	}
	for _, page := range []string{"#/search?q=the", "#/failures"} {
		b.navigate(ui + page)
		b.waitFor(`document.querySelector(".hits, .empty, tbody, [role=alert]")`, wait)
		b.screenshot("live-" + strings.Trim(strings.NewReplacer("#", "", "/", "-", "?", "-", "=", "-").Replace(page), "-"))
		checkPage(t, b)
	}
}
