package catalog

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
)

func TestValidateText(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		v, want string
	}{
		{"ok.mp4", ""},
		{strings.Repeat("é", 100), ""},
		{"a\x00b", "filename: has a NUL byte at byte 1"},
		{"ab\xffc", "filename: not valid UTF-8 at byte 2"},
		{"é" + "\xc3", "filename: not valid UTF-8 at byte 2"},
		{strings.Repeat("x", 201), "filename: longer than 200 bytes"},
	} {
		err := ValidateText("filename", c.v, 200)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.v, err)
		case c.want != "" && (errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: err = %v, want %q", c.v, err, c.want)
		}
	}
}

func TestTruncateText(t *testing.T) {
	t.Parallel()
	name := strings.Repeat("é", 200) // 400 bytes
	got := TruncateText(name, 255)
	if len(got) != 254 || !utf8.ValidString(got) {
		t.Fatalf("TruncateText(200×é, 255) = %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
	if TruncateText("short", 255) != "short" || TruncateText("abc", 0) != "" {
		t.Fatal("TruncateText changed a short string")
	}
	if got := TruncateText("a😀b", 4); got != "a" {
		t.Fatalf("TruncateText(a😀b, 4) = %q", got)
	}
}

func TestValidateJSONText(t *testing.T) {
	t.Parallel()
	if err := ValidateJSONText("insights", []byte(`{"summary":"a\u0000b"}`)); err == nil || !strings.Contains(err.Error(), "insights") {
		t.Fatalf("escaped NUL: %v", err)
	}
	// An escaped backslash followed by u0000 is text, not a NUL.
	if err := ValidateJSONText("insights", []byte(`{"summary":"a\\u0000b"}`)); err != nil {
		t.Fatalf("escaped backslash: %v", err)
	}
}

func FuzzTruncateText(f *testing.F) {
	f.Add(strings.Repeat("é", 200), 255)
	f.Add("a😀b", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<16 {
			return
		}
		got := TruncateText(s, max)
		if len(got) > max || !strings.HasPrefix(s, got) {
			t.Fatalf("TruncateText(%q, %d) = %q", s, max, got)
		}
		if utf8.ValidString(s) && (!utf8.ValidString(got) || len(s) > max && max-len(got) >= utf8.UTFMax) {
			t.Fatalf("TruncateText(%q, %d) = %q: split or over-cut", s, max, got)
		}
	})
}

func FuzzValidateText(f *testing.F) {
	f.Add("ok")
	f.Add("a\x00b")
	f.Add("\xff")
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateText("f", s, 1<<20)
		ok := utf8.ValidString(s) && !strings.ContainsRune(s, 0) && len(s) <= 1<<20
		if ok != (err == nil) {
			t.Fatalf("ValidateText(%q) = %v", s, err)
		}
	})
}
