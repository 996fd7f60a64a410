package rule

import (
	"encoding/binary"
	"math/bits"
)

// Skipping values of trusted events. When the caller vouches that an
// event is valid JSON (AppendMatchesValid), the parts no rule reads are
// passed over by counting brackets, eight bytes at a time, instead of
// being checked token by token. On text that is not valid JSON these
// functions stop somewhere harmless: they never read out of bounds and
// always make progress.

const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
)

// zeroBytes flags (with the byte's high bit) the zero bytes of v. Bytes
// above the lowest flagged one may be flagged falsely; the lowest is
// exact.
func zeroBytes(v uint64) uint64 { return (v - swarOnes) &^ v & swarHighs }

// skipTrusted returns the offset just past the JSON value at d[i].
func skipTrusted(d []byte, i int) int {
	if i >= len(d) {
		return len(d)
	}
	switch d[i] {
	case '"':
		return skipStringTrusted(d, i)
	case '{', '[':
		return skipContainerTrusted(d, i)
	}
	// number or literal: up to the next delimiter
	for i < len(d) {
		switch d[i] {
		case ',', '}', ']', ' ', '\n', '\r', '\t':
			return i
		}
		i++
	}
	return i
}

// skipStringTrusted returns the offset just past the string whose opening
// quote is at d[i].
func skipStringTrusted(d []byte, i int) int {
	i++
	for i < len(d) {
		for i+8 <= len(d) {
			w := binary.LittleEndian.Uint64(d[i:])
			m := zeroBytes(w^('"'*swarOnes)) | zeroBytes(w^('\\'*swarOnes))
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(d) {
			break
		}
		switch d[i] {
		case '"':
			return i + 1
		case '\\':
			i += 2
		default:
			i++
		}
	}
	return len(d)
}

// nameEndTrusted returns the offset just past the member name whose
// opening quote is at d[i], or reports esc if the name holds a backslash
// or has no closing quote (the caller then reads it the checked way).
func nameEndTrusted(d []byte, i int) (end int, esc bool) {
	if i+9 <= len(d) { // most names end within eight bytes
		w := binary.LittleEndian.Uint64(d[i+1:])
		if m := zeroBytes(w^('"'*swarOnes)) | zeroBytes(w^('\\'*swarOnes)); m != 0 {
			k := i + 1 + bits.TrailingZeros64(m)>>3
			return k + 1, d[k] != '"'
		}
	}
	return nameEndLong(d, i)
}

func nameEndLong(d []byte, i int) (end int, esc bool) {
	i++
	for i+8 <= len(d) {
		w := binary.LittleEndian.Uint64(d[i:])
		m := zeroBytes(w^('"'*swarOnes)) | zeroBytes(w^('\\'*swarOnes))
		if m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			return i + 1, d[i] != '"'
		}
		i += 8
	}
	for ; i < len(d); i++ {
		switch d[i] {
		case '"':
			return i + 1, false
		case '\\':
			return i, true
		}
	}
	return i, true
}

// skipContainerTrusted returns the offset just past the object or array
// opening at d[i].
func skipContainerTrusted(d []byte, i int) int {
	return skipNested(d, i, 0)
}

// skipRestTrusted returns the offset just past the end of the object or
// array that d[i] is inside of (at its top level).
func skipRestTrusted(d []byte, i int) int {
	return skipNested(d, i, 1)
}

// skipNested passes over brackets from d[i] until depth returns to zero.
// It takes eight bytes at a time: quotes are counted in a running sum
// across the word, whose parity tells which brackets sit inside strings;
// a word with a backslash, or one where depth could reach zero, is read
// byte by byte.
func skipNested(d []byte, i, depth int) int {
	inStr := uint64(0) // 1 while inside a string
	for {
		for i+8 <= len(d) {
			w := binary.LittleEndian.Uint64(d[i:])
			if equalBytes(w, '\\') != 0 {
				break
			}
			// '{' and '}' are '[' and ']' with bit 0x20 set
			q, open, shut := equalBytes(w, '"'), equalBytes(w&(0xDF*swarOnes), '['), equalBytes(w&(0xDF*swarOnes), ']')
			if q|open|shut == 0 {
				i += 8
				continue
			}
			q >>= 7
			// byte k of odd has its low bit set when the quotes up to and
			// including byte k leave the scan inside a string
			odd := (q*swarOnes + inStr*swarOnes) & swarOnes
			out := ^(odd << 7) & swarHighs
			open &= out
			shut &= out
			if bits.OnesCount64(shut) >= depth {
				break
			}
			depth += bits.OnesCount64(open) - bits.OnesCount64(shut)
			inStr = (inStr + uint64(bits.OnesCount64(q))) & 1
			i += 8
		}
		// byte by byte to the end of this word
		stop := min(len(d), i+8)
		if i >= stop {
			return len(d)
		}
		for i < stop {
			c := d[i]
			i++
			if inStr != 0 {
				switch c {
				case '\\':
					i++
				case '"':
					inStr = 0
				}
				continue
			}
			switch c {
			case '"':
				inStr = 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i
				}
			}
		}
	}
}

// equalBytes flags (with the byte's high bit) exactly the bytes of w that
// equal c.
func equalBytes(w uint64, c byte) uint64 {
	v := w ^ uint64(c)*swarOnes
	return ^((v&^swarHighs + ^uint64(swarHighs)) | v) & swarHighs
}
