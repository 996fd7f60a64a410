// Package phonetic matches words by how they sound and how they are spelt:
// Double Metaphone codes (Lawrence Philips' algorithm for English names
// and words, with its Germanic, Slavic, Romance and Greek spellings) and
// a bounded Levenshtein distance. Search uses them so that a query for the
// spoken word finds what a recogniser wrote instead ("Miller" and
// "Mellor" share the code MLR).
package phonetic

import (
	"strings"
	"unicode"
)

// MaxCodeLen is the length Double Metaphone codes are cut to.
const MaxCodeLen = 4

// DoubleMetaphone returns the primary and alternate codes of word. The
// alternate equals the primary when the word has one pronunciation. Only
// the letters A–Z (after removing accents from Latin letters, and with
// Ç and Ñ) count; a word without any returns two empty codes.
func DoubleMetaphone(word string) (primary, alternate string) {
	w := prepare(word)
	if w == "" {
		return "", ""
	}
	m := &dm{w: w, last: len(w) - 1}
	m.run()
	p, a := m.p.String(), m.a.String()
	if len(p) > MaxCodeLen {
		p = p[:MaxCodeLen]
	}
	if len(a) > MaxCodeLen {
		a = a[:MaxCodeLen]
	}
	return p, a
}

// prepare upper-cases word and keeps its letters, mapping Latin letters
// with diacritics to their base letter; Ç becomes 'ç' and Ñ 'ñ' markers
// (bytes 1 and 2) that the rules treat as S and N.
func prepare(word string) string {
	var b strings.Builder
	for _, r := range word {
		r = unicode.ToUpper(r)
		switch {
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r == 'Ç':
			b.WriteByte(1)
		case r == 'Ñ':
			b.WriteByte(2)
		default:
			if base, ok := foldLatin[r]; ok {
				b.WriteByte(base)
			}
		}
		if b.Len() > 64 {
			break
		}
	}
	return b.String()
}

var foldLatin = map[rune]byte{
	'À': 'A', 'Á': 'A', 'Â': 'A', 'Ã': 'A', 'Ä': 'A', 'Å': 'A', 'Æ': 'E',
	'È': 'E', 'É': 'E', 'Ê': 'E', 'Ë': 'E',
	'Ì': 'I', 'Í': 'I', 'Î': 'I', 'Ï': 'I',
	'Ò': 'O', 'Ó': 'O', 'Ô': 'O', 'Õ': 'O', 'Ö': 'O', 'Ø': 'O',
	'Ù': 'U', 'Ú': 'U', 'Û': 'U', 'Ü': 'U',
	'Ý': 'Y', 'Ÿ': 'Y', 'ß': 'S',
}

type dm struct {
	w    string
	last int
	p, a strings.Builder
}

func (m *dm) add(p, a string) {
	m.p.WriteString(p)
	m.a.WriteString(a)
}

func (m *dm) add1(s string) { m.add(s, s) }

// at returns the byte at i, or 0 outside the word.
func (m *dm) at(i int) byte {
	if i < 0 || i > m.last {
		return 0
	}
	return m.w[i]
}

// is reports whether one of subs starts at i.
func (m *dm) is(i int, subs ...string) bool {
	if i < 0 {
		return false
	}
	for _, s := range subs {
		if i+len(s) <= len(m.w) && m.w[i:i+len(s)] == s {
			return true
		}
	}
	return false
}

func vowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U', 'Y':
		return true
	}
	return false
}

func (m *dm) slavoGermanic() bool {
	return strings.ContainsAny(m.w, "WK") || strings.Contains(m.w, "CZ") || strings.Contains(m.w, "WITZ")
}

func (m *dm) germanic() bool {
	return m.is(0, "VAN ", "VON ", "SCH")
}

func (m *dm) run() {
	i := 0
	if m.is(0, "GN", "KN", "PN", "WR", "PS") {
		i = 1
	}
	if m.at(0) == 'X' {
		m.add1("S")
		i = 1
	}
	for i <= m.last && (m.p.Len() < MaxCodeLen || m.a.Len() < MaxCodeLen) {
		c := m.w[i]
		switch c {
		case 'A', 'E', 'I', 'O', 'U', 'Y':
			if i == 0 {
				m.add1("A")
			}
			i++
		case 'B':
			m.add1("P")
			i += skipIf(m.at(i+1) == 'B')
		case 1: // Ç
			m.add1("S")
			i++
		case 'C':
			i = m.c(i)
		case 'D':
			switch {
			case m.is(i, "DG"):
				if c2 := m.at(i + 2); c2 == 'I' || c2 == 'E' || c2 == 'Y' {
					m.add1("J")
					i += 3
				} else {
					m.add1("TK")
					i += 2
				}
			case m.is(i, "DT", "DD"):
				m.add1("T")
				i += 2
			default:
				m.add1("T")
				i++
			}
		case 'F':
			m.add1("F")
			i += skipIf(m.at(i+1) == 'F')
		case 'G':
			i = m.g(i)
		case 'H':
			if (i == 0 || vowel(m.at(i-1))) && vowel(m.at(i+1)) {
				m.add1("H")
				i += 2
			} else {
				i++
			}
		case 'J':
			i = m.j(i)
		case 'K':
			m.add1("K")
			i += skipIf(m.at(i+1) == 'K')
		case 'L':
			if m.at(i+1) == 'L' {
				if (i == len(m.w)-3 && m.is(i-1, "ILLO", "ILLA", "ALLE")) ||
					((m.is(m.last-1, "AS", "OS") || m.at(m.last) == 'A' || m.at(m.last) == 'O') && m.is(i-1, "ALLE")) {
					m.add("L", "")
				} else {
					m.add1("L")
				}
				i += 2
				continue
			}
			m.add1("L")
			i++
		case 'M':
			m.add1("M")
			if (m.is(i-1, "UMB") && (i+1 == m.last || m.is(i+2, "ER"))) || m.at(i+1) == 'M' {
				i += 2
			} else {
				i++
			}
		case 'N':
			m.add1("N")
			i += skipIf(m.at(i+1) == 'N')
		case 2: // Ñ
			m.add1("N")
			i++
		case 'P':
			if m.at(i+1) == 'H' {
				m.add1("F")
				i += 2
				continue
			}
			m.add1("P")
			i += skipIf(m.at(i+1) == 'P' || m.at(i+1) == 'B')
		case 'Q':
			m.add1("K")
			i += skipIf(m.at(i+1) == 'Q')
		case 'R':
			if i == m.last && !m.slavoGermanic() && m.is(i-2, "IE") && !m.is(i-4, "ME", "MA") {
				m.add("", "R")
			} else {
				m.add1("R")
			}
			i += skipIf(m.at(i+1) == 'R')
		case 'S':
			i = m.s(i)
		case 'T':
			switch {
			case m.is(i, "TION"):
				m.add1("X")
				i += 3
			case m.is(i, "TIA", "TCH"):
				m.add1("X")
				i += 3
			case m.is(i, "TH", "TTH"):
				if m.is(i+2, "OM", "AM") || m.germanic() {
					m.add1("T")
				} else {
					m.add("0", "T")
				}
				i += 2
			default:
				m.add1("T")
				i += skipIf(m.at(i+1) == 'T' || m.at(i+1) == 'D')
			}
		case 'V':
			m.add1("F")
			i += skipIf(m.at(i+1) == 'V')
		case 'W':
			i = m.wRule(i)
		case 'X':
			if !(i == m.last && (m.is(i-3, "IAU", "EAU") || m.is(i-2, "AU", "OU"))) {
				m.add1("KS")
			}
			i += skipIf(m.at(i+1) == 'C' || m.at(i+1) == 'X')
		case 'Z':
			if m.at(i+1) == 'H' {
				m.add1("J")
				i += 2
				continue
			}
			if m.is(i+1, "ZO", "ZI", "ZA") || (m.slavoGermanic() && i > 0 && m.at(i-1) != 'T') {
				m.add("S", "TS")
			} else {
				m.add1("S")
			}
			i += skipIf(m.at(i+1) == 'Z')
		default:
			i++
		}
	}
}

// skipIf returns 2 when the next letter is consumed too, else 1.
func skipIf(double bool) int {
	if double {
		return 2
	}
	return 1
}

func (m *dm) c(i int) int {
	switch {
	case i > 1 && !vowel(m.at(i-2)) && m.is(i-1, "ACH") && m.at(i+2) != 'I' && (m.at(i+2) != 'E' || m.is(i-2, "BACHER", "MACHER")):
		m.add1("K")
		return i + 2
	case i == 0 && m.is(i, "CAESAR"):
		m.add1("S")
		return i + 2
	case m.is(i, "CHIA"):
		m.add1("K")
		return i + 2
	case m.is(i, "CH"):
		switch {
		case i > 0 && m.is(i, "CHAE"):
			m.add("K", "X")
		case i == 0 && (m.is(i+1, "HARAC", "HARIS") || m.is(i+1, "HOR", "HYM", "HIA", "HEM")) && !m.is(0, "CHORE"):
			m.add1("K")
		case m.germanic() || m.is(i-2, "ORCHES", "ARCHIT", "ORCHID") || m.at(i+2) == 'T' || m.at(i+2) == 'S' ||
			((i == 0 || strings.IndexByte("AOUE", m.at(i-1)) >= 0) && m.at(i+2) != 0 && strings.IndexByte("LRNMBHFVW ", m.at(i+2)) >= 0):
			m.add1("K")
		case i > 0:
			if m.is(0, "MC") {
				m.add1("K")
			} else {
				m.add("X", "K")
			}
		default:
			m.add1("X")
		}
		return i + 2
	case m.is(i, "CZ") && !m.is(i-2, "WICZ"):
		m.add("S", "X")
		return i + 2
	case m.is(i+1, "CIA"):
		m.add1("X")
		return i + 3
	case m.is(i, "CC") && !(i == 1 && m.at(0) == 'M'):
		if c2 := m.at(i + 2); (c2 == 'I' || c2 == 'E' || c2 == 'H') && !m.is(i+2, "HU") {
			if (i == 1 && m.at(0) == 'A') || m.is(i-1, "UCCEE", "UCCES") {
				m.add1("KS")
			} else {
				m.add1("X")
			}
			return i + 3
		}
		m.add1("K")
		return i + 2
	case m.is(i, "CK", "CG", "CQ"):
		m.add1("K")
		return i + 2
	case m.is(i, "CI", "CE", "CY"):
		if m.is(i, "CIO", "CIE", "CIA") {
			m.add("S", "X")
		} else {
			m.add1("S")
		}
		return i + 2
	}
	m.add1("K")
	if m.is(i+1, " C", " Q", " G") {
		return i + 3
	}
	if c1 := m.at(i + 1); (c1 == 'C' || c1 == 'K' || c1 == 'Q') && !m.is(i+1, "CE", "CI") {
		return i + 2
	}
	return i + 1
}

func (m *dm) g(i int) int {
	next := m.at(i + 1)
	switch {
	case next == 'H':
		if i > 0 && !vowel(m.at(i-1)) {
			m.add1("K")
			return i + 2
		}
		if i == 0 {
			if m.at(i+2) == 'I' {
				m.add1("J")
			} else {
				m.add1("K")
			}
			return i + 2
		}
		if (i > 1 && strings.IndexByte("BHD", m.at(i-2)) >= 0) || (i > 2 && strings.IndexByte("BHD", m.at(i-3)) >= 0) ||
			(i > 3 && strings.IndexByte("BH", m.at(i-4)) >= 0) {
			return i + 2
		}
		if i > 2 && m.at(i-1) == 'U' && strings.IndexByte("CGLRT", m.at(i-3)) >= 0 {
			m.add1("F")
		} else if i > 0 && m.at(i-1) != 'I' {
			m.add1("K")
		}
		return i + 2
	case next == 'N':
		switch {
		case i == 1 && vowel(m.at(0)) && !m.slavoGermanic():
			m.add("KN", "N")
		case !m.is(i+2, "EY") && m.at(i+1) != 'Y' && !m.slavoGermanic():
			m.add("N", "KN")
		default:
			m.add1("KN")
		}
		return i + 2
	case m.is(i+1, "LI") && !m.slavoGermanic():
		m.add("KL", "L")
		return i + 2
	case i == 0 && (next == 'Y' || m.is(i+1, "ES", "EP", "EB", "EL", "EY", "IB", "IL", "IN", "IE", "EI", "ER")):
		m.add("K", "J")
		return i + 2
	case (m.is(i+1, "ER") || next == 'Y') && !m.is(0, "DANGER", "RANGER", "MANGER") &&
		m.at(i-1) != 'E' && m.at(i-1) != 'I' && !m.is(i-1, "RGY", "OGY"):
		m.add("K", "J")
		return i + 2
	case next == 'E' || next == 'I' || next == 'Y' || m.is(i-1, "AGGI", "OGGI"):
		switch {
		case m.germanic() || m.is(i+1, "ET"):
			m.add1("K")
		case m.is(i+1, "IER"):
			m.add1("J")
		default:
			m.add("J", "K")
		}
		return i + 2
	}
	m.add1("K")
	return i + skipIf(next == 'G')
}

func (m *dm) j(i int) int {
	if m.is(i, "JOSE") || m.is(0, "SAN ") {
		if (i == 0 && m.at(i+4) == ' ') || m.is(0, "SAN ") {
			m.add1("H")
		} else {
			m.add("J", "H")
		}
		return i + 1
	}
	switch {
	case i == 0:
		m.add("J", "A")
	case vowel(m.at(i-1)) && !m.slavoGermanic() && (m.at(i+1) == 'A' || m.at(i+1) == 'O'):
		m.add("J", "H")
	case i == m.last:
		m.add("J", "")
	case strings.IndexByte("LTKSNMBZ", m.at(i+1)) < 0 && strings.IndexByte("SKL", m.at(i-1)) < 0:
		m.add1("J")
	}
	return i + skipIf(m.at(i+1) == 'J')
}

func (m *dm) s(i int) int {
	switch {
	case m.is(i-1, "ISL", "YSL"):
		return i + 1
	case i == 0 && m.is(i, "SUGAR"):
		m.add("X", "S")
		return i + 1
	case m.is(i, "SH"):
		if m.is(i+1, "HEIM", "HOEK", "HOLM", "HOLZ") {
			m.add1("S")
		} else {
			m.add1("X")
		}
		return i + 2
	case m.is(i, "SIO", "SIA"):
		if m.slavoGermanic() {
			m.add1("S")
		} else {
			m.add("S", "X")
		}
		return i + 3
	case (i == 0 && strings.IndexByte("MNLW", m.at(i+1)) >= 0 && m.at(i+1) != 0) || m.at(i+1) == 'Z':
		m.add("S", "X")
		return i + skipIf(m.at(i+1) == 'Z')
	case m.is(i, "SC"):
		if m.at(i+2) == 'H' {
			switch {
			case m.is(i+3, "OO", "ER", "EN", "UY", "ED", "EM"):
				if m.is(i+3, "ER", "EN") {
					m.add("X", "SK")
				} else {
					m.add1("SK")
				}
			case i == 0 && !vowel(m.at(3)) && m.at(3) != 'W':
				m.add("X", "S")
			default:
				m.add1("X")
			}
			return i + 3
		}
		if c := m.at(i + 2); c == 'I' || c == 'E' || c == 'Y' {
			m.add1("S")
			return i + 3
		}
		m.add1("SK")
		return i + 3
	}
	if i == m.last && m.is(i-2, "AI", "OI") {
		m.add("", "S")
	} else {
		m.add1("S")
	}
	return i + skipIf(m.at(i+1) == 'S' || m.at(i+1) == 'Z')
}

func (m *dm) wRule(i int) int {
	if m.is(i, "WR") {
		m.add1("R")
		return i + 2
	}
	if i == 0 && (vowel(m.at(1)) || m.at(1) == 'H') {
		if vowel(m.at(1)) {
			m.add("A", "F")
		} else {
			m.add1("A")
		}
	}
	if (i == m.last && i > 0 && vowel(m.at(i-1))) || m.is(i-1, "EWSKI", "EWSKY", "OWSKI", "OWSKY") || m.is(0, "SCH") {
		m.add("", "F")
		return i + 1
	}
	if m.is(i, "WICZ", "WITZ") {
		m.add("TS", "FX")
		return i + 4
	}
	return i + 1
}

// Codes returns the distinct non-empty codes of word (primary first).
func Codes(word string) []string {
	p, a := DoubleMetaphone(word)
	switch {
	case p == "" && a == "":
		return nil
	case p == a || a == "":
		return []string{p}
	case p == "":
		return []string{a}
	}
	return []string{p, a}
}

// Key is the word's phonetic key as the search index stores it: the
// primary code, or the word itself (lower-cased) when it has no letters
// to code (numbers).
func Key(word string) string {
	p, _ := DoubleMetaphone(word)
	if p == "" {
		return strings.ToLower(word)
	}
	return p
}
