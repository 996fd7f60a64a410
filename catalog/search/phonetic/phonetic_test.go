package phonetic

import (
	"testing"
	"unicode/utf8"
)

func TestDoubleMetaphone(t *testing.T) {
	for _, c := range []struct{ in, p, a string }{
		{"Miller", "MLR", "MLR"},
		{"Mellor", "MLR", "MLR"},
		{"Smith", "SM0", "XMT"},
		{"Schmidt", "XMT", "SMT"},
		{"Thompson", "TMPS", "TMPS"},
		{"Knight", "NT", "NT"},
		{"Philip", "FLP", "FLP"},
		{"Caesar", "SSR", "SSR"},
		{"Xavier", "SF", "SFR"},
		{"Jose", "JS", "HS"},
		{"Gnome", "NM", "NM"},
		{"church", "XRX", "XRK"},
		{"character", "KRKT", "KRKT"},
		{"laugh", "LF", "LF"},
		{"Tough", "TF", "TF"},
		{"churn", "XRN", "XRN"},
		{"professor", "PRFS", "PRFS"},
		{"Katherine", "K0RN", "KTRN"},
		{"Catherine", "K0RN", "KTRN"},
		{"Zhang", "JNK", "JNK"},
		{"Wright", "RT", "RT"},
		{"Dumb", "TM", "TM"},
		{"Ciao", "S", "X"},
		{"Edge", "AJ", "AJ"},
		{"Gnocchi", "NX", "NX"},
		{"Shoemaker", "XMKR", "XMKR"},
		{"Étienne", "ATN", "ATN"},
		{"1984", "", ""},
		{"", "", ""},
	} {
		p, a := DoubleMetaphone(c.in)
		if p != c.p || a != c.a {
			t.Errorf("DoubleMetaphone(%q) = %q, %q; want %q, %q", c.in, p, a, c.p, c.a)
		}
	}
}

func TestSoundsAlike(t *testing.T) {
	// Pairs a recogniser confuses that must share a code.
	for _, pr := range [][2]string{{"Miller", "Mellor"}, {"Katherine", "Catherine"}, {"Stephen", "Steven"},
		{"Philips", "Fillips"}, {"Smith", "Smyth"}, {"Jon", "John"}, {"Meyer", "Maier"}, {"Reid", "Reed"}} {
		if !share(Codes(pr[0]), Codes(pr[1])) {
			t.Errorf("%s %v and %s %v share no code", pr[0], Codes(pr[0]), pr[1], Codes(pr[1]))
		}
	}
}

func share(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b      string
		max, want int
	}{
		{"kitten", "sitting", 3, 3},
		{"kitten", "sitting", 2, 3},
		{"", "abc", 5, 3},
		{"same", "same", 0, 0},
		{"müller", "muller", 1, 1},
		{"automobile", "automobiles", 2, 1},
		{"a", "bcdef", 2, 3},
	} {
		if got := Distance(c.a, c.b, c.max); got != c.want {
			t.Errorf("Distance(%q, %q, %d) = %d, want %d", c.a, c.b, c.max, got, c.want)
		}
	}
}

func FuzzDoubleMetaphone(f *testing.F) {
	for _, s := range []string{"Miller", "SCHMIDT", "caesar", "ççñ", "WITZ", "gh", "", "x", "San Jose", "ALLE", "wicz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 256 {
			return
		}
		p, a := DoubleMetaphone(s)
		if len(p) > MaxCodeLen || len(a) > MaxCodeLen {
			t.Fatalf("%q: codes %q %q longer than %d", s, p, a, MaxCodeLen)
		}
		for _, c := range p + a {
			if !(c >= 'A' && c <= 'Z' || c == '0') {
				t.Fatalf("%q: code %q %q has %q", s, p, a, c)
			}
		}
		if p2, a2 := DoubleMetaphone(s); p2 != p || a2 != a {
			t.Fatalf("%q: not deterministic", s)
		}
	})
}

func FuzzDistance(f *testing.F) {
	f.Add("kitten", "sitting", 2)
	f.Add("", "", 0)
	f.Add("ab\xff", "ba", 3)
	f.Fuzz(func(t *testing.T, a, b string, max int) {
		if len(a) > 64 || len(b) > 64 || max < 0 || max > 8 {
			return
		}
		d := Distance(a, b, max)
		if d < 0 || d > max+1 {
			t.Fatalf("Distance(%q, %q, %d) = %d", a, b, max, d)
		}
		if d2 := Distance(b, a, max); d2 != d {
			t.Fatalf("not symmetric: %d vs %d", d, d2)
		}
		la, lb := utf8.RuneCountInString(a), utf8.RuneCountInString(b)
		if diff := la - lb; d <= max && (diff > d || -diff > d) {
			t.Fatalf("distance %d below length difference %d", d, diff)
		}
		if a == b && d != 0 {
			t.Fatalf("equal strings at distance %d", d)
		}
	})
}
