package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/client"
	"github.com/landfall/landfall/types"
)

// printMedia shows a duration only when the item has one, and the item's
// web UI page before its JSON links.
func TestPrintMediaDurationAndPage(t *testing.T) {
	t.Parallel()
	c := &client.Client{BaseURL: "http://127.0.0.1:8080/"}
	for _, tc := range []struct {
		duration float64
		head     string
	}{
		{0, "== poster.png  med_1  SUCCEEDED\n"},
		{6.24, "== poster.png  med_1  SUCCEEDED  6.2s\n"},
	} {
		var out bytes.Buffer
		m := &client.Media{Media: catalog.Media{ID: "med_1", Status: types.StatusSucceeded, Duration: tc.duration},
			Links: map[string]string{"self": "/v1/media/med_1"}}
		printMedia(&out, c, "poster.png", m)
		got := out.String()
		if !strings.Contains(got, tc.head) {
			t.Errorf("duration %v: output %q lacks %q", tc.duration, got, tc.head)
		}
		page := strings.Index(got, "page:            http://127.0.0.1:8080/ui/#/media/med_1\n")
		self := strings.Index(got, "self:            http://127.0.0.1:8080/v1/media/med_1\n")
		if page < 0 || self < page {
			t.Errorf("duration %v: the web UI page must come before the JSON links:\n%s", tc.duration, got)
		}
	}
}
