package catalog

import (
	"reflect"
	"strings"
	"testing"
)

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{"comet", `"new comet" -x OR y*`, "NOT a", "a OR", `"`, "-", "e-mail's", "\u0301x", "NEAR(a b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2*MaxQueryLen {
			return
		}
		q, err := ParseQuery(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "InvalidArgument: catalog: search query") {
				t.Fatalf("error %q does not name the search query", err)
			}
			return
		}
		if len(q.Groups) == 0 {
			t.Fatal("a parsed query with no positive term")
		}
		for _, ts := range append(append([][]Term{}, q.Groups...), q.Exclude) {
			for _, term := range ts {
				if len(term.Words) == 0 {
					t.Fatal("empty term")
				}
				for _, w := range term.Words {
					for _, r := range w {
						if !isWordRune(r) {
							t.Fatalf("word %q holds %q", w, r)
						}
					}
					if w != strings.ToLower(w) {
						t.Fatalf("word %q not lower-cased", w)
					}
				}
			}
		}
		// The renderings hold no quote or operator that a word brought in.
		fts := q.FTS5("body")
		if strings.Count(fts, `"`)%2 != 0 {
			t.Fatalf("unbalanced quotes in %s", fts)
		}
		ts := q.TSQuery()
		if strings.Count(ts, "'")%2 != 0 || strings.ContainsAny(ts, `\`) {
			t.Fatalf("bad tsquery %s", ts)
		}
		again, err := ParseQuery(q.String())
		if err != nil || !reflect.DeepEqual(again, q) {
			t.Fatalf("String %q does not parse back: %+v %v", q.String(), again, err)
		}
	})
}

func FuzzDecodeCursor(f *testing.F) {
	f.Add(EncodeCursor(Cursor{Filter: 7, Key: "019a-b"}))
	f.Add("AQAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := DecodeCursor(s)
		if err != nil {
			if !strings.Contains(err.Error(), "cursor") {
				t.Fatalf("error %q does not name the cursor", err)
			}
			return
		}
		back, err := DecodeCursor(EncodeCursor(c))
		if err != nil || back != c {
			t.Fatalf("re-encoded cursor %+v decodes to %+v, %v", c, back, err)
		}
	})
}

func FuzzParseAPIKey(f *testing.F) {
	key, id := NewAPIKey()
	for _, s := range []string{key, "lf_" + id + "_", "lf_" + strings.ToUpper(id) + key[19:], "hunter2", "lf_", key + "=", AccessKeyID(id), "LFAK", "LFAK0123456789abcdef"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := ParseAPIKey(s); err == nil {
			// A parsed key carries its id and hashes.
			if !strings.HasPrefix(s, "lf_"+id+"_") || ValidateAPIKeyID("id", id) != nil {
				t.Fatalf("ParseAPIKey(%q) = %q", s, id)
			}
			if _, err := HashAPIKey(s); err != nil {
				t.Fatal(err)
			}
		} else if strings.Contains(err.Error(), s) && len(s) > 8 {
			t.Fatalf("error %q repeats the key", err)
		}
		if id, err := ParseAccessKeyID(s); err == nil {
			// Access key ids round-trip.
			if AccessKeyID(id) != s || ValidateAPIKeyID("id", id) != nil {
				t.Fatalf("ParseAccessKeyID(%q) = %q", s, id)
			}
		} else if !strings.Contains(err.Error(), "access key id") {
			t.Fatalf("error %q does not name the access key id", err)
		}
	})
}
