package catalog

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func TestParseQuery(t *testing.T) {
	t.Parallel()
	var cases []struct {
		In, FTS5, TSQuery, String, Error, Note string
	}
	readJSON(t, "queries.json", &cases)
	for _, c := range cases {
		q, err := ParseQuery(c.In)
		if c.Error != "" {
			if err == nil || errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), c.Error) {
				t.Errorf("%q: err = %v, want Invalid containing %q", c.In, err, c.Error)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.In, err)
			continue
		}
		if got := q.FTS5("body"); got != c.FTS5 {
			t.Errorf("%q: FTS5\n got %s\nwant %s", c.In, got, c.FTS5)
		}
		if got := q.TSQuery(); got != c.TSQuery {
			t.Errorf("%q: TSQuery\n got %s\nwant %s", c.In, got, c.TSQuery)
		}
		if c.String != "" && q.String() != c.String {
			t.Errorf("%q: String = %s, want %s", c.In, q.String(), c.String)
		}
		again, err := ParseQuery(q.String())
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Errorf("%q: String %s does not parse back: %+v, %v", c.In, q.String(), again, err)
		}
	}
}

func TestParseQueryLimits(t *testing.T) {
	t.Parallel()
	_, err := ParseQuery(strings.Repeat("w ", MaxQueryTerms+1))
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "more than 32 terms") {
		t.Fatalf("too many terms: %v", err)
	}
	_, err = ParseQuery(strings.Repeat("x", MaxWordLen+1))
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "longer than 64") {
		t.Fatalf("long word: %v", err)
	}
	_, err = ParseQuery(strings.Repeat("x ", MaxQueryLen))
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "longer than 1000 bytes") {
		t.Fatalf("long query: %v", err)
	}
	_, err = ParseQuery("\xff")
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "UTF-8") {
		t.Fatalf("bad UTF-8: %v", err)
	}
}

func TestCursor(t *testing.T) {
	t.Parallel()
	c := Cursor{Filter: FilterHash("media", "acme"), Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Key: "019a-b_c"}
	s := EncodeCursor(c)
	got, err := DecodeCursor(s)
	if err != nil || got != c {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if _, err := CursorFor(s, c.Filter+1); err == nil || !strings.Contains(err.Error(), "other filters") {
		t.Fatalf("CursorFor with other filters: %v", err)
	}
	if p, err := CursorFor("", 1); p != nil || err != nil {
		t.Fatalf("empty cursor: %v %v", p, err)
	}
	for _, bad := range []string{"!", "AQ", EncodeCursor(Cursor{Key: "a b"}), "Ag" + s[2:], strings.Repeat("A", 600)} {
		if _, err := DecodeCursor(bad); errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "cursor") {
			t.Errorf("DecodeCursor(%q) = %v, want Invalid cursor error", bad, err)
		}
	}
}

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	var cases []struct {
		From, To  types.Status
		Reprocess bool
		OK        bool
	}
	readJSON(t, "transitions.json", &cases)
	for _, c := range cases {
		err := CheckTransition("m1", c.From, c.To, c.Reprocess)
		if c.OK != (err == nil) {
			t.Errorf("%s→%s reprocess=%v: %v", c.From, c.To, c.Reprocess, err)
		}
		if err != nil && !errors.Is(err, errcode.FailedPrecond) {
			t.Errorf("%s→%s: code %s", c.From, c.To, errcode.Of(err))
		}
	}
	if err := CheckTransition("m1", types.StatusPending, "DONE", false); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("unknown status: %v", err)
	}
}

func TestChunkTranscript(t *testing.T) {
	t.Parallel()
	var cases []struct {
		Name       string
		Options    ChunkOptions
		Transcript types.Transcript
		Chunks     []Chunk
	}
	readJSON(t, "chunks.json", &cases)
	for _, c := range cases {
		got := ChunkTranscript(&c.Transcript, c.Options)
		if !reflect.DeepEqual(got, c.Chunks) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.Name, got, c.Chunks)
		}
	}
	if ChunkTranscript(nil, ChunkOptions{}) != nil {
		t.Fatal("nil transcript")
	}
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	key, id := NewAPIKey()
	if !strings.HasPrefix(key, "lf_"+id+"_") {
		t.Fatalf("key %q, id %q", key, id)
	}
	h, err := HashAPIKey(key)
	if err != nil || len(h) != 64 || strings.Contains(h, key) {
		t.Fatalf("hash %q %v", h, err)
	}
	key2, _ := NewAPIKey()
	h2, _ := HashAPIKey(key2)
	if key == key2 || h == h2 {
		t.Fatal("two keys alike")
	}
	for _, bad := range []string{"", "lf_", key[:len(key)-1], "xx" + key[2:], "lf_zzzzzzzzzzzzzzzz" + key[19:]} {
		if _, err := HashAPIKey(bad); errcode.Of(err) != errcode.Unauthenticated {
			t.Errorf("HashAPIKey(%q) = %v", bad, err)
		}
	}
}

func TestValidateIDs(t *testing.T) {
	t.Parallel()
	for _, good := range []string{"acme", "a", "t-1_x", strings.Repeat("a", 63)} {
		if err := ValidateTenantID("tenant_id", good); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
	for _, bad := range []string{"", "Acme", "_a", "-a", "a.b", "a/b", strings.Repeat("a", 64)} {
		if err := ValidateTenantID("tenant_id", bad); errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "tenant_id") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := ValidateID("media_id", "019a7f3e-1c2b-7d4e-8f00-000000000000"); err != nil {
		t.Fatal(err)
	}
	if err := ValidateID("media_id", "a\x00b"); err == nil || !strings.Contains(err.Error(), "byte 1") {
		t.Fatalf("NUL: %v", err)
	}
}

func TestOpenUnknownScheme(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "mysql://x")
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), `unknown scheme "mysql"`) {
		t.Fatalf("Open: %v", err)
	}
}
