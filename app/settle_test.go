package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// catalogs runs f on an embedded app over SQLite and, when
// LANDFALL_TEST_POSTGRES_URL is set, over PostgreSQL.
func catalogs(t *testing.T, mod func(*config.Config), f func(t *testing.T, a *App, base string)) {
	catalogsWith(t, mod, func() Options { return Options{} }, f)
}

// catalogsWith is catalogs with app options made afresh for each driver.
func catalogsWith(t *testing.T, mod func(*config.Config), opt func() Options, f func(t *testing.T, a *App, base string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		a, srv := testAppWith(t, mod, opt())
		f(t, a, srv.URL)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pg := testutil.PostgresURL(t)
		sep := "?"
		if strings.Contains(pg, "?") {
			sep = "&"
		}
		db := fmt.Sprintf("%s%sschema=lf_settle_%d", pg, sep, rand.Uint32())
		a, srv := testAppWith(t, func(c *config.Config) {
			c.DB = db
			if mod != nil {
				mod(c)
			}
		}, opt())
		f(t, a, srv.URL)
	})
}

// waitStatus polls the API until the media item leaves PENDING and
// PROCESSING or the deadline passes.
func waitStatus(t *testing.T, base, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var m map[string]any
		getJSON(t, base+"/v1/media/"+id, &m)
		if s := m["status"]; s != "PENDING" && s != "PROCESSING" {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s still %v after %s", id, m["status"], within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func TestSmallUploadIsSkippedWithReason(t *testing.T) {
	t.Parallel()
	catalogs(t, nil, func(t *testing.T, a *App, base string) {
		id := postUpload(t, base, "note.txt", 64)
		m := waitStatus(t, base, id, 30*time.Second)
		if m["status"] != "SKIPPED" || m["error"] != pipeline.ErrNoRuleMatched ||
			m["cause"] != `no rule matched: size 64 B ≤ 1 KiB (closest rule "media-uploaded")` {
			t.Fatalf("small upload: status %v error %v cause %v", m["status"], m["error"], m["cause"])
		}
		var page struct {
			Media []map[string]any `json:"media"`
		}
		getJSON(t, base+"/v1/media?status=SKIPPED", &page)
		if len(page.Media) != 1 || page.Media[0]["id"] != id {
			t.Fatalf("?status=SKIPPED lists %v", page.Media)
		}
		getJSON(t, base+"/v1/media?status=PENDING", &page)
		if len(page.Media) != 0 {
			t.Fatalf("?status=PENDING lists %v", page.Media)
		}

		// A redelivered event leaves the settled item as it is.
		ctx := context.Background()
		before, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		ev := bus.ObjectCreated(BucketName(a.Cfg.Blob), bus.ObjectDetail{Key: before.BucketKey, Size: 64, ETag: "again"}, "", time.Now())
		if err := a.Bus.Put(ctx, ev); err != nil {
			t.Fatal(err)
		}
		// A second upload, whose event is put after the redelivery,
		// settles after it.
		second := postUpload(t, base, "second.txt", 10)
		waitStatus(t, base, second, 30*time.Second)
		after, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != types.StatusSkipped || after.Version != before.Version {
			t.Fatalf("redelivery changed the item: %s v%d → %s v%d", before.Status, before.Version, after.Status, after.Version)
		}
	})
}

// postUpload uploads size bytes as name through the HTTP API and returns
// the media id.
func postUpload(t *testing.T, base, name string, size int) string {
	t.Helper()
	resp, err := http.Post(base+"/v1/uploads?filename="+name, "text/plain", bytes.NewReader(bytes.Repeat([]byte("x"), size)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var up map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&up)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload %s: %s %v", name, resp.Status, up)
	}
	id, _ := up["id"].(string)
	return id
}
