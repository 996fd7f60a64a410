package webui

import (
	"os"
	"strings"
	"testing"
)

// TestLive opens the UI of a running Landfall server named by
// LANDFALL_UI_LIVE_URL (e.g. http://127.0.0.1:8080, serving /ui/ and /v1/)
// in headless Chromium and visits every page and the detail page of the
// newest media items, failing on JavaScript errors and on pages that do not
// render. It is skipped when the variable is not set.
func TestLive(t *testing.T) {
	base := strings.TrimRight(os.Getenv("LANDFALL_UI_LIVE_URL"), "/")
	if base == "" {
		t.Skip("LANDFALL_UI_LIVE_URL is not set")
	}
	b := startBrowser(t)
	ui := base + "/ui/"
	b.navigate(ui)
	b.waitFor(`document.querySelector("tbody tr, .empty")`, wait)
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
