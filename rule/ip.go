package rule

import (
	"bytes"
	"net/netip"
	"strconv"
	"strings"
)

// ipRange is an inclusive range of addresses of one family, as a cidr
// pattern or an IP-address literal in a pattern denotes it.
type ipRange struct {
	lo, hi [16]byte
	v4     bool
}

func (r ipRange) contains(a [16]byte, v4 bool) bool {
	if v4 != r.v4 {
		return false
	}
	return bytes.Compare(a[:], r.lo[:]) >= 0 && bytes.Compare(a[:], r.hi[:]) <= 0
}

// looksLikeIPv4 and looksLikeIPv6 are the shapes EventBridge tries to read
// as addresses: digits.digits.digits.digits, or hex digits and colons with
// at least one colon.
func looksLikeIPv4(s string) bool {
	parts := 0
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			n++
		case c == '.':
			if n == 0 {
				return false
			}
			parts++
			n = 0
		default:
			return false
		}
	}
	return parts == 3 && n > 0
}

func looksLikeIPv6(s string) bool {
	colon := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ':':
			colon = true
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return false
		}
	}
	return colon
}

// parseIP reads an IPv4 or IPv6 address literal. IPv4 parts are decimal
// and may carry leading zeros; an IPv4-mapped IPv6 address is an IPv4
// address.
func parseIP(s string) (a [16]byte, v4 bool, ok bool) {
	if looksLikeIPv4(s) {
		part, v := 0, 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == '.' {
				if v > 255 {
					return a, false, false
				}
				a[part] = byte(v)
				part, v = part+1, 0
				continue
			}
			if v = v*10 + int(s[i]-'0'); v > 255 {
				return a, false, false
			}
		}
		return a, true, true
	}
	if looksLikeIPv6(s) {
		addr, err := netip.ParseAddr(s)
		if err != nil {
			return a, false, false
		}
		if addr.Is4In6() {
			addr = addr.Unmap()
			b := addr.As4()
			copy(a[:], b[:])
			return a, true, true
		}
		return addr.As16(), false, true
	}
	return a, false, false
}

// parseCIDR reads "address/bits". As in EventBridge the range runs from the
// address as written to the last address of its block, and a mask must
// leave at least one bit free (/32 and /128 are rejected).
func parseCIDR(s string) (ipRange, error) {
	var r ipRange
	slashed := strings.Split(s, "/")
	for len(slashed) > 0 && slashed[len(slashed)-1] == "" && len(slashed) > 1 {
		slashed = slashed[:len(slashed)-1] // as Java's String.split drops trailing empties
	}
	if len(slashed) != 2 {
		return r, awsError("Malformed CIDR, one '/' required")
	}
	bits, err := strconv.Atoi(slashed[1])
	if err != nil {
		return r, awsError("Malformed CIDR, mask bits must be an integer")
	}
	if bits < 0 {
		return r, awsError("Malformed CIDR, mask bits must not be negative")
	}
	a, v4, ok := parseIP(slashed[0])
	if !ok {
		return r, awsErrorf("Nonstandard IP address: %s", slashed[0])
	}
	n := 16
	if v4 {
		n = 4
		if bits > 31 {
			return r, awsError("IPv4 mask bits must be < 32")
		}
	} else if bits > 127 {
		return r, awsError("IPv6 mask bits must be < 128")
	}
	r.v4 = v4
	r.lo = a
	r.hi = a
	free := n*8 - bits
	for i := n - 1; i >= 0 && free > 0; i-- {
		if free >= 8 {
			r.hi[i] = 0xff
		} else {
			r.hi[i] |= byte(1<<free - 1)
		}
		free -= 8
	}
	return r, nil
}
