package speech

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/landfall/landfall/analyser/local/execx"
)

// Lexicon maps a word to its pronunciations (ARPAbet phones separated by
// spaces), the first one preferred.
type Lexicon map[string][]string

// LoadLexicon reads a CMU-format dictionary ("word PH ONES", alternates as
// "word(2) ..."), keeping only the words in need (all when need is nil).
func LoadLexicon(r io.Reader, need map[string]bool) (Lexicon, error) {
	lex := Lexicon{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		word, pron, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(word, '('); i > 0 {
			word = word[:i]
		}
		if need != nil && !need[word] {
			continue
		}
		if pron = strings.TrimSpace(pron); pron != "" {
			lex[word] = append(lex[word], pron)
		}
	}
	return lex, sc.Err()
}

// WriteDict writes the pronunciations of words in the recogniser's
// dictionary format, sorted, alternates numbered word(2), word(3)….
func (lex Lexicon) WriteDict(w io.Writer, words []string) error {
	bw := bufio.NewWriter(w)
	sorted := append([]string(nil), words...)
	sort.Strings(sorted)
	for _, word := range sorted {
		for i, p := range lex[word] {
			if i == 0 {
				fmt.Fprintf(bw, "%s %s\n", word, p)
			} else {
				fmt.Fprintf(bw, "%s(%d) %s\n", word, i+1, p)
			}
		}
	}
	return bw.Flush()
}

// Pronouncer gives pronunciations of words a dictionary lacks.
type Pronouncer interface {
	Pronounce(ctx context.Context, words []string) (map[string]string, error)
}

// EspeakPronouncer asks espeak-ng for each word's phonemes and maps them to
// the acoustic model's ARPAbet phones. Words espeak-ng gives nothing usable
// for are spelled out by SpellingPronouncer's rules.
type EspeakPronouncer struct{ Voice string }

// Pronounce runs espeak-ng once per word, four at a time.
func (e EspeakPronouncer) Pronounce(ctx context.Context, words []string) (map[string]string, error) {
	if len(words) == 0 {
		return map[string]string{}, nil
	}
	if _, err := execx.LookPath("espeak-ng"); err != nil {
		return nil, err
	}
	voice := e.Voice
	if voice == "" {
		voice = "en-us"
	}
	out := make(map[string]string, len(words))
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, w := range words {
		wg.Add(1)
		sem <- struct{}{}
		go func(w string) {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := execx.Run(ctx, execx.Cmd{Name: "espeak-ng", Args: []string{"-q", "-x", "--sep=_", "-v", voice, "--", w}, MaxStdout: 4 << 10})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("pronouncing %q: %w", w, err)
				}
				return
			}
			p := EspeakToARPAbet(string(res.Stdout))
			if p == "" {
				p = SpellingPronunciation(w)
			}
			out[w] = p
		}(w)
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// espeakPhones maps espeak-ng's phoneme mnemonics (en-us, -x output) to
// ARPAbet.
var espeakPhones = map[string]string{
	"p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "g": "G", "f": "F", "v": "V",
	"T": "TH", "D": "DH", "s": "S", "z": "Z", "S": "SH", "Z": "ZH", "tS": "CH", "dZ": "JH",
	"h": "HH", "m": "M", "n": "N", "N": "NG", "l": "L", "r": "R", "j": "Y", "w": "W",
	"t#": "T", "d#": "D", "?": "T", "x": "K", "n-": "N", "m-": "M", "l-": "L", "r-": "R", "@L": "AH L",
	"l/": "L", "z/": "Z", "s/": "S",
	"a": "AE", "aa": "AE", "a#": "AH", "A:": "AA", "A": "AA", "0": "AA", "O:": "AO", "O": "AO",
	"V": "AH", "@": "AH", "@2": "AH", "@5": "AH", "3": "ER", "3:": "ER", "@r": "ER",
	"E": "EH", "I": "IH", "I2": "IH", "I#": "IH", "i": "IY", "i:": "IY", "U": "UH", "u:": "UW", "u": "UW",
	"eI": "EY", "aI": "AY", "aU": "AW", "OI": "OY", "oU": "OW", "@U": "OW", "o": "OW",
	"e@": "EH R", "o@": "AO R", "O@": "AO R", "U@": "UH R", "A@": "AA R", "i@": "IY AH", "i@3": "IY ER",
	"aI@": "AY ER", "aI3": "AY ER", "aU@": "AW ER", "eI@": "EY ER",
}

// EspeakToARPAbet converts espeak-ng -x --sep=_ output to ARPAbet phones;
// unknown symbols are dropped.
func EspeakToARPAbet(s string) string {
	var phones []string
	for _, word := range strings.Fields(s) {
		for _, tok := range strings.Split(word, "_") {
			tok = strings.Map(func(r rune) rune {
				switch r {
				case '\'', ',', '%', '=':
					return -1
				}
				return r
			}, tok)
			if p, ok := espeakPhones[tok]; ok {
				phones = append(phones, p)
			}
		}
	}
	return strings.Join(phones, " ")
}

// SpellingPronouncer pronounces words from their spelling with grapheme
// rules, without any external tool.
type SpellingPronouncer struct{}

// Pronounce applies SpellingPronunciation to each word.
func (SpellingPronouncer) Pronounce(_ context.Context, words []string) (map[string]string, error) {
	out := make(map[string]string, len(words))
	for _, w := range words {
		out[w] = SpellingPronunciation(w)
	}
	return out, nil
}

// graphemes are spelling rules, longest first within each letter.
var graphemes = []struct{ g, p string }{
	{"tion", "SH AH N"}, {"sion", "ZH AH N"}, {"ture", "CH ER"}, {"ough", "AO"},
	{"tch", "CH"}, {"igh", "AY"}, {"eau", "OW"}, {"sch", "S K"},
	{"ch", "CH"}, {"sh", "SH"}, {"th", "TH"}, {"ph", "F"}, {"ng", "NG"}, {"ck", "K"}, {"qu", "K W"},
	{"wh", "W"}, {"gh", "G"}, {"kn", "N"}, {"wr", "R"},
	{"ee", "IY"}, {"ea", "IY"}, {"ie", "IY"}, {"oo", "UW"}, {"ou", "AW"}, {"ow", "OW"}, {"ai", "EY"}, {"ay", "EY"},
	{"ei", "EY"}, {"ey", "EY"}, {"oi", "OY"}, {"oy", "OY"}, {"au", "AO"}, {"aw", "AO"}, {"oa", "OW"}, {"ue", "UW"},
	{"er", "ER"}, {"ir", "ER"}, {"ur", "ER"}, {"ar", "AA R"}, {"or", "AO R"},
	{"a", "AE"}, {"b", "B"}, {"c", "K"}, {"d", "D"}, {"e", "EH"}, {"f", "F"}, {"g", "G"}, {"h", "HH"},
	{"i", "IH"}, {"j", "JH"}, {"k", "K"}, {"l", "L"}, {"m", "M"}, {"n", "N"}, {"o", "AA"}, {"p", "P"},
	{"q", "K"}, {"r", "R"}, {"s", "S"}, {"t", "T"}, {"u", "AH"}, {"v", "V"}, {"w", "W"}, {"x", "K S"},
	{"y", "IY"}, {"z", "Z"},
}

// SpellingPronunciation guesses ARPAbet phones from spelling: grapheme
// rules, soft c and g before e/i/y, a silent final e, doubled letters
// read once. Letters other than a–z are skipped; an empty result becomes
// a schwa so every word is pronounceable.
func SpellingPronunciation(word string) string {
	w := strings.ToLower(word)
	if n := len(w); n > 3 && w[n-1] == 'e' && !strings.ContainsRune("aeiouy", rune(w[n-2])) {
		w = w[:n-1]
	}
	var phones []string
	last := ""
	for i := 0; i < len(w); {
		c := w[i]
		if c < 'a' || c > 'z' {
			i++
			continue
		}
		if i > 0 && w[i] == w[i-1] && !strings.ContainsRune("aeiou", rune(c)) {
			i++ // doubled consonant
			continue
		}
		if (c == 'c' || c == 'g') && i+1 < len(w) && strings.ContainsRune("eiy", rune(w[i+1])) {
			if c == 'c' {
				phones = append(phones, "S")
			} else {
				phones = append(phones, "JH")
			}
			i++
			continue
		}
		if c == 'y' && i == 0 {
			phones = append(phones, "Y")
			i++
			continue
		}
		matched := false
		for _, g := range graphemes {
			if strings.HasPrefix(w[i:], g.g) {
				if g.p != last || len(g.g) > 1 {
					phones = append(phones, g.p)
				}
				last = g.p
				i += len(g.g)
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	if len(phones) == 0 {
		return "AH"
	}
	return strings.Join(phones, " ")
}

// genericVocab is the vocabulary of the generic binary language model: the
// word strings stored, NUL-separated, at the end of the trie file.
var (
	genericVocabOnce sync.Once
	genericVocabSet  map[string]bool
	genericVocabErr  error
)

func genericVocabulary(lmPath string) (map[string]bool, error) {
	genericVocabOnce.Do(func() {
		genericVocabSet, genericVocabErr = readTrieVocab(lmPath)
	})
	return genericVocabSet, genericVocabErr
}

func readTrieVocab(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var hdr [24]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return nil, err
	}
	const magic = "Trie Language Model"
	if string(hdr[:len(magic)]) != magic {
		return nil, fmt.Errorf("%s: not a trie language model", path)
	}
	n := int(uint32(hdr[20]) | uint32(hdr[21])<<8 | uint32(hdr[22])<<16 | uint32(hdr[23])<<24)
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := int64(n) * 40 // generous bound on the string table
	if size > fi.Size() {
		size = fi.Size()
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, fi.Size()-size); err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimSuffix(string(buf), "\x00"), "\x00")
	if len(parts) < n {
		return nil, fmt.Errorf("%s: vocabulary of %d words not found", path, n)
	}
	set := make(map[string]bool, n)
	for _, w := range parts[len(parts)-n:] {
		set[w] = true
	}
	return set, nil
}
