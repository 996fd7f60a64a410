package rule

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unsafe"
)

// Numbers are compared the way EventBridge compares them: two numbers are
// equal when they denote the same value and a double holds that value
// exactly ("300", "300.0" and "3.0e2" are equal, so are "-0" and "0"). A
// literal that a double cannot hold (123456789012345678) is compared by its
// text. A number never equals a string.

// Value key tags. Every leaf value of an event and every exact value in a
// pattern is reduced to a key: a tag byte followed by the payload.
const (
	tagString = 's' // followed by the decoded string
	tagNumber = 'n' // followed by the 8 big-endian bytes of the float64
	tagText   = 't' // a number no double holds exactly: followed by its text
	tagTrue   = 'T'
	tagFalse  = 'F'
	tagNull   = 'Z'
)

// bstr views b as a string without copying. The caller must not modify b
// while the string is in use.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// parseNumber parses a JSON number literal and reports whether its value
// is held exactly by the returned double.
func parseNumber(text []byte) (f float64, exact bool) {
	f, err := strconv.ParseFloat(bstr(text), 64)
	if err != nil || math.IsInf(f, 0) {
		return f, false
	}
	digits, zero := sigDigits(text)
	if zero {
		return 0, true
	}
	if f == 0 {
		return f, false // underflow
	}
	if digits <= 15 && math.Abs(f) >= 0x1p-1022 {
		// Any decimal of at most 15 significant digits survives the trip
		// through a normal double.
		return f, true
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	// The digits go to buffers on the stack, so matching numbers
	// allocates nothing (a literal of more digits takes the heap).
	var b1, b2 [64]byte
	d1, n1, e1 := normDecimal(b1[:0], text)
	d2, n2, e2 := normDecimal(b2[:0], s)
	return f, e1 == e2 && n1 == n2 && bytes.Equal(d1, d2)
}

// sigDigits counts the significant digits of a number literal and reports
// whether its value is zero.
func sigDigits(text []byte) (n int, zero bool) {
	first, last := -1, -1
	count := 0
	for _, c := range text {
		if c == 'e' || c == 'E' {
			break
		}
		if c >= '0' && c <= '9' {
			if c != '0' {
				if first < 0 {
					first = count
				}
				last = count
			}
			count++
		}
	}
	if first < 0 {
		return 0, true
	}
	return last - first + 1, false
}

// normDecimal reduces a number literal to its significant digits d
// (appended to dst), its sign and an exponent e such that
// |value| = 0.d × 10^e.
func normDecimal(dst, text []byte) (digits []byte, neg bool, exp int) {
	digits = dst
	point := -1
	i := 0
	if i < len(text) && (text[i] == '-' || text[i] == '+') {
		i++
	}
	neg = i > 0 && text[0] == '-'
	for ; i < len(text); i++ {
		c := text[i]
		if c == '.' {
			point = len(digits)
			continue
		}
		if c == 'e' || c == 'E' {
			break
		}
		digits = append(digits, c)
	}
	if point < 0 {
		point = len(digits)
	}
	if i < len(text) {
		exp, _ = strconv.Atoi(bstr(text[i+1:]))
	}
	lead := 0
	for lead < len(digits) && digits[lead] == '0' {
		lead++
	}
	digits = digits[lead:]
	point -= lead
	for len(digits) > 0 && digits[len(digits)-1] == '0' {
		digits = digits[:len(digits)-1]
	}
	return digits, neg, point + exp
}

// appendNumberKey appends the key of a number literal.
func appendNumberKey(dst, text []byte) ([]byte, float64, bool) {
	f, exact := parseNumber(text)
	if exact {
		if f == 0 {
			f = 0 // -0 equals 0
		}
		dst = append(dst, tagNumber)
		dst = binary.BigEndian.AppendUint64(dst, math.Float64bits(f))
		return dst, f, true
	}
	dst = append(dst, tagText)
	dst = append(dst, text...)
	usable := !math.IsInf(f, 0) && !math.IsNaN(f)
	return dst, f, usable && f != 0
}

// numberKey returns the key of a number literal.
func numberKey(text string) string {
	k, _, _ := appendNumberKey(nil, []byte(text))
	return string(k)
}

// stringKey returns the key of a string value.
func stringKey(s string) string {
	return string(tagString) + s
}

// Reading the numbers of events. A field's number is read once, by
// readNumber, for numeric ranges; its key (tagNumber or tagText, which
// needs the shortest formatting of the double for literals of more than
// 15 digits) is worked out only when an exact value or an anything-but
// list of numbers is compared with it, and then only when the lookup
// could succeed (numberIn).

// pow10f holds the powers of ten that doubles hold exactly.
var pow10f = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// pow10u holds the powers of ten that a uint64 holds.
var pow10u = [...]uint64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

// readNumber returns the double that strconv.ParseFloat makes of a
// well-formed JSON number literal, and whether numeric ranges compare it
// (see scanReadNumber).
func readNumber(text []byte) (float64, bool) {
	_, _, f, usable := scanReadNumber(text, 0)
	return f, usable
}

// scanReadNumber reads the JSON number at d[i]. Its end and whether it is
// well formed are scanNumber's; its value is the double that
// strconv.ParseFloat makes of it, and usable tells whether numeric ranges
// compare it: they do unless it overflows or a literal that is not zero
// underflows to zero (appendNumberKey's third result). Literals of at
// most 19 significant digits and a decimal exponent within ±19 are
// converted here, eight digits at a time and exactly rounded with 128-bit
// integer arithmetic; others go through strconv.
func scanReadNumber(d []byte, i int) (end int, ok bool, f float64, usable bool) {
	start := i
	neg := i < len(d) && d[i] == '-'
	if neg {
		i++
	}
	if i >= len(d) {
		return i, false, 0, false
	}
	var mant uint64
	long := false // more than 19 significant digits
	if c := d[i]; c == '0' {
		i++
	} else if c-'1' < 9 {
		mant, i, long = accumDigits(d, i, 0)
	} else {
		return i, false, 0, false
	}
	exp := 0 // the value is mant × 10^exp
	if i < len(d) && d[i] == '.' {
		s := i + 1
		var l bool
		mant, i, l = accumDigits(d, s, mant)
		if i == s {
			return i, false, 0, false
		}
		long = long || l
		exp = s - i
	}
	if i < len(d) && d[i]|0x20 == 'e' {
		i++
		eneg := false
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			eneg = d[i] == '-'
			i++
		}
		s := i
		e := 0
		for ; i < len(d) && d[i]-'0' < 10; i++ {
			if e < 1e6 {
				e = e*10 + int(d[i]-'0')
			}
		}
		if i == s {
			return i, false, 0, false
		}
		if eneg {
			e = -e
		}
		exp += e
	}
	if long {
		f, usable = readNumberSlow(d[start:i])
		return i, true, f, usable
	}
	if mant == 0 {
		return i, true, 0, true
	}
	switch {
	case mant < 1<<53 && exp >= -22 && exp <= 22:
		// both mant and 10^|exp| are doubles: one rounding
		f = float64(mant)
		if exp < 0 {
			f /= pow10f[-exp]
		} else {
			f *= pow10f[exp]
		}
	case exp >= 0 && exp <= 19:
		hi, lo := bits.Mul64(mant, pow10u[exp])
		f = roundToDouble(hi, lo, false, 0)
	case exp < 0 && exp >= -19:
		d := pow10u[-exp]
		// mant × 2^s has 63 more bits than d, so the quotient has 63 or
		// 64 bits and fits in a uint64
		s := bits.Len64(d) + 63 - bits.Len64(mant)
		var hi, lo uint64
		if s >= 64 {
			hi = mant << (s - 64)
		} else {
			hi, lo = mant>>(64-s), mant<<s
		}
		q, r := bits.Div64(hi, lo, d)
		f = roundToDouble(0, q, r != 0, -s)
	default:
		f, usable = readNumberSlow(d[start:i])
		return i, true, f, usable
	}
	if neg {
		f = -f
	}
	return i, true, f, true
}

// accumDigits appends the decimal digits at d[i:] to mant and returns the
// result and the offset of the first byte that is not a digit. long
// reports that the digits would make mant more than 19 digits long; mant
// is then of no use.
func accumDigits(d []byte, i int, mant uint64) (_ uint64, end int, long bool) {
	for i+8 <= len(d) {
		// as digitRun: t's bytes are below 10 exactly where they are digits
		t := binary.LittleEndian.Uint64(d[i:]) ^ 0x30*swarOnes
		k := 8
		if m := (t | (t + 0x76*swarOnes)) & swarHighs; m != 0 {
			k = bits.TrailingZeros64(m) >> 3
		}
		if k > 0 {
			if mant >= pow10u[19-k] {
				break // digit by digit, up to 19
			}
			mant = mant*pow10u[k] + eightDigits(t<<(64-8*k))
			i += k
		}
		if k < 8 {
			return mant, i, false
		}
	}
	for ; i < len(d) && d[i]-'0' < 10; i++ {
		if mant >= 1e18 {
			return mant, digitRun(d, i), true
		}
		mant = mant*10 + uint64(d[i]-'0')
	}
	return mant, i, false
}

// eightDigits returns the number whose eight decimal digits are the bytes
// of t, the first digit in the lowest byte.
func eightDigits(t uint64) uint64 {
	t = t*10 + t>>8 // each byte's pair: 10 × digit + next digit
	t = (t&0x000000ff000000ff)*(100+1000000<<32) + (t>>16&0x000000ff000000ff)*(1+10000<<32)
	return t >> 32
}

// roundToDouble rounds (hi·2^64 + lo + ε)·2^e2 to the nearest double, ties
// to even, where ε is in (0, 1) when sticky and 0 otherwise. The value
// must be a normal double once rounded, and hi·2^64 + lo not zero.
func roundToDouble(hi, lo uint64, sticky bool, e2 int) float64 {
	var t uint64
	if hi != 0 {
		z := bits.LeadingZeros64(hi)
		t = hi<<z | lo>>(64-z)
		sticky = sticky || lo<<z != 0
		e2 += 64 - z
	} else {
		z := bits.LeadingZeros64(lo)
		t = lo << z
		e2 -= z
	}
	// value = (t + ε) × 2^e2, t's top bit set
	m := t >> 11
	rest := t&0x3ff != 0 || sticky
	if t&0x400 != 0 && (rest || m&1 != 0) {
		m++
		if m == 1<<53 {
			m >>= 1
			e2++
		}
	}
	// value = m × 2^(e2+11) = 1.fraction × 2^(e2+63), m in [2^52, 2^53)
	return math.Float64frombits(uint64(e2+63+1023)<<52 | m&(1<<52-1))
}

// readNumberSlow is readNumber through strconv.
func readNumberSlow(text []byte) (float64, bool) {
	f, _ := strconv.ParseFloat(bstr(text), 64)
	if math.IsInf(f, 0) {
		return f, false
	}
	if f == 0 {
		_, zero := sigDigits(text)
		return 0, zero
	}
	return f, true
}

// numberIn looks up the key of number field f in a map of value keys.
// key is f's tagText and literal, which is its key when no double holds
// the literal; a double that does is tagNumber and its bits. The literal
// is formatted to tell which only when the map holds that double's key.
func numberIn[V any](set map[string]V, key []byte, f *field) (V, bool) {
	if v, ok := set[bstr(key)]; ok {
		// the same literal as a pattern's that no double holds
		return v, true
	}
	if f.numOK {
		var k [9]byte
		k[0] = tagNumber
		binary.BigEndian.PutUint64(k[1:], math.Float64bits(f.num))
		if v, ok := set[string(k[:])]; ok {
			if _, exact := parseNumber(key[1:]); exact {
				return v, true
			}
		}
	}
	var zero V
	return zero, false
}
