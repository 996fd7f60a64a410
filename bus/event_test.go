package bus

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestObjectCreatedShape(t *testing.T) {
	ev := ObjectCreated("media", ObjectDetail{Key: "incoming/acme/x.mp4", Size: 2048, ETag: "abc"}, "", time.Unix(1_700_000_000, 0))
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["source"] != "aws.s3" || m["detail-type"] != "Object Created" {
		t.Fatalf("envelope: %s", b)
	}
	d := m["detail"].(map[string]any)
	if d["bucket"].(map[string]any)["name"] != "media" {
		t.Fatalf("bucket: %s", b)
	}
	o := d["object"].(map[string]any)
	if o["key"] != "incoming/acme/x.mp4" || o["size"].(float64) != 2048 || o["etag"] != "abc" {
		t.Fatalf("object: %s", b)
	}
	if m["time"] != "2023-11-14T22:13:20Z" {
		t.Fatalf("time %v", m["time"])
	}
}

func TestFromEntryValidates(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		e    PutEventsEntry
		want string
	}{
		{PutEventsEntry{DetailType: "x", Detail: "{}"}, "Source: required"},
		{PutEventsEntry{Source: "aws.s3", DetailType: "x", Detail: "{}"}, "reserved"},
		{PutEventsEntry{Source: "app", Detail: "{}"}, "DetailType: required"},
		{PutEventsEntry{Source: "app", DetailType: "x", Detail: "[1]"}, "Detail: not a JSON object"},
		{PutEventsEntry{Source: "app", DetailType: "x", Detail: "{" + strings.Repeat(" ", 300000) + "}"}, "256 KiB"},
	} {
		if _, err := FromEntry(tc.e, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromEntry(%+v) = %v, want %q", tc.e.Source, err, tc.want)
		}
	}
	ev, err := FromEntry(PutEventsEntry{Source: "app.orders", DetailType: "Order Placed", Detail: `{"id":7}`}, now)
	if err != nil || ev.Source != "app.orders" || string(ev.Detail) != `{"id":7}` {
		t.Fatalf("%+v %v", ev, err)
	}
}
