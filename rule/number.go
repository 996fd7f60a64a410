package rule

import (
	"bytes"
	"encoding/binary"
	"math"
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
