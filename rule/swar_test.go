package rule

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestScanRuns checks the eight-bytes-at-a-time scans against byte loops
// on random text drawn from the bytes that matter to them.
func TestScanRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("0123456789/:.eE-+\"\\ \x00\x1f\x7f\x80\xff\xfa\xf9az")
	for n := 0; n < 20000; n++ {
		b := make([]byte, r.IntN(40))
		for k := range b {
			b[k] = alphabet[r.IntN(len(alphabet))]
		}
		for i := 0; i <= len(b); i++ {
			want := i
			for want < len(b) && b[want] >= '0' && b[want] <= '9' {
				want++
			}
			if got := digitRun(b, i); got != want {
				t.Fatalf("digitRun(%q, %d) = %d, want %d", b, i, got, want)
			}
			want = i
			for want < len(b) && b[want] != '"' && b[want] != '\\' && b[want] >= 0x20 {
				want++
			}
			if got := plainRun(b, i); got != want {
				t.Fatalf("plainRun(%q, %d) = %d, want %d", b, i, got, want)
			}
		}
	}
}

// FuzzSkipValue checks that the validating skip accepts exactly the
// values encoding/json accepts, and ends where the value ends.
func FuzzSkipValue(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,{"b":"c\u00e9\n"}],"d":true,"e":null}`, `[]`, `{}`, `-0.1E+9`, `"x"`, `[1,]`, `{"a" 1}`, "\"\x01\"", `[01]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		if len(text) > 2000 { // too short to nest deeper than maxDepth
			return
		}
		start := skipWS(text, 0)
		end, err := skipValue(text, start, 0)
		whole := err == nil && skipWS(text, end) == len(text)
		if whole != json.Valid(text) {
			t.Fatalf("%q: skipValue took the whole text for JSON: %v (%v); encoding/json: %v", text, whole, err, !whole)
		}
		if err == nil && !json.Valid(text[start:end]) {
			t.Fatalf("%q: skipValue accepted %q, which is not JSON", text, text[start:end])
		}
	})
}

// refSkipNested is skipNested byte by byte.
func refSkipNested(d []byte, i, depth int) int {
	for i < len(d) {
		switch d[i] {
		case '"':
			for i++; i < len(d) && d[i] != '"'; i++ {
				if d[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
		i++
	}
	return len(d)
}

// TestSkipNested checks the eight-bytes-at-a-time bracket counting
// against a byte loop on random text (any text: the trusted readers must
// stay in bounds whatever they are given).
func TestSkipNested(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`{}[]{}[]""\ab,:`)
	for n := 0; n < 50000; n++ {
		b := make([]byte, r.IntN(70))
		for k := range b {
			b[k] = alphabet[r.IntN(len(alphabet))]
		}
		for _, depth := range []int{0, 1, 2} {
			for i := 0; i < min(len(b), 3); i++ {
				got, want := skipNested(b, i, depth), min(refSkipNested(b, i, depth), len(b))
				if got != want {
					t.Fatalf("skipNested(%q, %d, %d) = %d, want %d", b, i, depth, got, want)
				}
			}
		}
	}
}
