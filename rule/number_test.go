package rule

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// checkReadNumber checks scanReadNumber on d against scanNumber (end and
// well-formedness) and against the definition that patterns and the
// reference evaluator use (appendNumberKey over strconv).
func checkReadNumber(t *testing.T, d []byte) {
	t.Helper()
	end, ok, got, usable := scanReadNumber(d, 0)
	wantEnd, wantOK := scanNumber(d, 0)
	if end != wantEnd || ok != wantOK {
		t.Fatalf("%q: read to %d (well formed %v), scanNumber to %d (%v)", d, end, ok, wantEnd, wantOK)
	}
	if !ok {
		return
	}
	text := d[:end]
	_, want, wantUsable := appendNumberKey(nil, text)
	if usable != wantUsable {
		t.Fatalf("%s: usable %v, want %v", text, usable, wantUsable)
	}
	if !usable {
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
	// what follows a number in an event, read eight bytes at a time
	suffixes := []string{"", ",", "}", `,"y":1}`, "]]}", "1", ".5", "e7", "x123456789"}
	for i, s := range numberLiterals(300_000) {
		if _, ok := scanNumber([]byte(s), 0); !ok {
			t.Fatalf("generated %q is not a JSON number", s)
		}
		checkReadNumber(t, []byte(s))
		checkReadNumber(t, []byte(s+suffixes[i%len(suffixes)]))
	}
	for _, s := range []string{"", "-", "+1", "01", "-01.5", "1.", "1.e5", ".5", "1e", "1e+", "1E-x", "-x", "00", "1.5.5", "2e0001"} {
		checkReadNumber(t, []byte(s))
	}
}

// FuzzReadNumber checks scanReadNumber against scanNumber and strconv.
func FuzzReadNumber(f *testing.F) {
	for _, s := range numberLiterals(200) {
		f.Add([]byte(s))
	}
	f.Add([]byte("-122.42916360922355,\"y\":37.7"))
	f.Fuzz(func(t *testing.T, d []byte) {
		checkReadNumber(t, d)
	})
}

// BenchmarkReadNumber reads the numbers of generated citylots events
// (coordinates have 16 or 17 significant digits) three ways: as the
// matcher reads them, through strconv alone, and into keys as patterns
// are (strconv and shortest formatting).
func BenchmarkReadNumber(b *testing.B) {
	var lits [][]byte
	for _, e := range citylotsEvents(100) {
		for i := 0; i < len(e); i++ {
			if e[i] == ':' && i+1 < len(e) && (e[i+1] == '-' || e[i+1]-'0' < 10) {
				end, _ := scanNumber(e, i+1)
				lits = append(lits, e[i+1:end])
			}
		}
	}
	b.Run("scanReadNumber", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			scanReadNumber(lits[i%len(lits)], 0)
		}
	})
	b.Run("strconv", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			_, _ = strconv.ParseFloat(bstr(lits[i%len(lits)]), 64)
		}
	})
	b.Run("appendNumberKey", func(b *testing.B) {
		var buf []byte
		for i := 0; b.Loop(); i++ {
			buf, _, _ = appendNumberKey(buf[:0], lits[i%len(lits)])
		}
	})
}

// TestNumberKeysAgree matches exact numbers, anything-but lists of numbers
// and numeric equality, written in many spellings, against events holding
// each spelling, on both matching paths, and compares with the reference
// evaluator: an event's number key is worked out only when a lookup could
// hit it, and must then be the key the pattern has.
func TestNumberKeysAgree(t *testing.T) {
	lits := []string{"300", "300.0", "3e2", "30000e-2", "-0", "0", "0.0e9", "0.1", "0.10000000000000001",
		"123456789012345678", "123456789012345678.0", "1.23456789012345678e17", "-122.42916360922355",
		"-122.429163609223550", "-1.2242916360922355e2", "1e400", "1e-400", "37.729900216217324",
		"37.72990021621732", "9007199254740993", "9007199254740992", "5e-324", "1.7976931348623157e308"}
	s := NewRuleSet()
	pats := map[string]*Pattern{}
	add := func(name, text string) {
		p, err := ParsePattern([]byte(text))
		if err != nil {
			return // out of range for numeric
		}
		s.AddPattern(name, p)
		pats[name] = p
	}
	for i, l := range lits {
		add(fmt.Sprintf("exact%d", i), fmt.Sprintf(`{"n":[%s]}`, l))
		add(fmt.Sprintf("but%d", i), fmt.Sprintf(`{"n":[{"anything-but":[%s, 7]}]}`, l))
		add(fmt.Sprintf("eq%d", i), fmt.Sprintf(`{"n":[{"numeric":["=",%s]}]}`, l))
		add(fmt.Sprintf("obj%d", i), fmt.Sprintf(`{"a":{"n":[%s],"m":["x"]}}`, l))
	}
	for _, l := range lits {
		for _, ev := range []string{
			fmt.Sprintf(`{"n":%s}`, l),
			fmt.Sprintf(`{"n":[1,%s,"300"]}`, l),
			fmt.Sprintf(`{"a":[{"n":%s,"m":"y"},{"n":0,"m":"x"},{"n":%s,"m":"x"}]}`, l, l),
		} {
			var want []string
			for _, name := range s.Names() {
				if refMatches(t, pats[name], []byte(ev)) {
					want = append(want, name)
				}
			}
			got, err := s.Match([]byte(ev))
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("event %s: matched %v (%v), reference %v", ev, got, err, want)
			}
			valid, err := s.AppendMatchesValid(nil, []byte(ev))
			if err != nil || !slices.Equal(valid, want) {
				t.Fatalf("event %s as valid JSON: matched %v (%v), reference %v", ev, valid, err, want)
			}
		}
	}
}
