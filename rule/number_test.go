package rule

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkReadNumber compares readNumber with the definition the patterns
// and the reference evaluator use (appendNumberKey over strconv).
func checkReadNumber(t *testing.T, text string) {
	t.Helper()
	_, want, wantOK := appendNumberKey(nil, []byte(text))
	got, ok := readNumber([]byte(text))
	if ok != wantOK {
		t.Fatalf("%s: usable %v, want %v", text, ok, wantOK)
	}
	if !ok {
		return
	}
	if want == 0 {
		want = 0 // -0 compares as 0
	}
	if math.Float64bits(got) != math.Float64bits(want) {
		t.Fatalf("%s: read %v (%#x), strconv %v (%#x)", text, got, math.Float64bits(got), want, math.Float64bits(want))
	}
}

// numberLiterals returns JSON number literals that exercise every branch
// of readNumber: the double fast path, the 128-bit product and quotient,
// exact ties between two doubles, and the strconv fallback.
func numberLiterals(n int) []string {
	r := rand.New(rand.NewPCG(7, 11))
	out := []string{
		"0", "-0", "0.0", "0e5", "-0.000e-9", "1", "-1", "9007199254740993", "9007199254740993.0",
		"9007199254740995", "18014398509481990", "18014398509481986", "9223372036854775807",
		"9999999999999999999", "10000000000000000000", "12345678901234567890", "1e22", "1e23",
		"1.7976931348623157e308", "1.8e308", "-1e400", "4.9e-324", "2e-324", "1e-400", "2.2250738585072014e-308",
		"0.1", "0.30000000000000004", "-122.42916360922355", "37.729900216217324", "1E+2", "1e-19", "1e-20",
		"123456789012345678e-19", "1234567890123456789e-19", "1e00000000000000000000005", "1e-99999999999999999999", "0.0000000000000000001", "100000000000000000000e-2",
	}
	digits := func(k int) string {
		var b strings.Builder
		b.WriteByte(byte('1' + r.IntN(9)))
		for i := 1; i < k; i++ {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		return b.String()
	}
	for len(out) < n {
		switch r.IntN(6) {
		case 0: // a double printed shortest, in some form
			f := math.Float64frombits(r.Uint64())
			if math.IsNaN(f) || math.IsInf(f, 0) {
				continue
			}
			out = append(out, strconv.FormatFloat(f, "eg"[r.IntN(2)], -1, 64))
		case 1: // a coordinate-like decimal
			f := -180 + r.Float64()*360
			out = append(out, strconv.FormatFloat(f, 'f', -1, 64))
		case 2: // 17 digits, exactly or not the shortest form
			f := r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
			out = append(out, strconv.FormatFloat(f, 'e', 16, 64))
		case 3: // the midpoint of two doubles near 2^54 … 2^63, as an integer
			e := 54 + r.IntN(10)
			m := uint64(1)<<52 | r.Uint64()&(1<<52-1)
			mid := (m<<1 | 1) << (e - 53)
			s := strconv.FormatUint(mid, 10)
			if r.IntN(2) == 0 {
				s += ".0"
			}
			out = append(out, s)
		case 4: // random digits with a point and an exponent
			d := digits(1 + r.IntN(21))
			if p := r.IntN(len(d) + 1); p < len(d) && p > 0 {
				d = d[:p] + "." + d[p:]
			}
			if r.IntN(2) == 0 {
				d += fmt.Sprintf("e%d", r.IntN(60)-30)
			}
			if r.IntN(2) == 0 {
				d = "-" + d
			}
			out = append(out, d)
		case 5: // leading and trailing zeros
			out = append(out, "0.000"+digits(1+r.IntN(18))+"000", digits(1+r.IntN(5))+"000000000000000")
		}
	}
	return out
}

func TestReadNumber(t *testing.T) {
	for _, s := range numberLiterals(300_000) {
		if _, ok := scanNumber([]byte(s), 0); !ok {
			t.Fatalf("generated %q is not a JSON number", s)
		}
		checkReadNumber(t, s)
	}
}

// FuzzReadNumber checks readNumber against strconv on any JSON number.
func FuzzReadNumber(f *testing.F) {
	for _, s := range numberLiterals(200) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if end, ok := scanNumber([]byte(s), 0); !ok || end != len(s) {
			return
		}
		checkReadNumber(t, s)
	})
}
