package speech

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSentences(t *testing.T) {
	b, err := os.ReadFile("testdata/sentences.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		In   string     `json:"in"`
		Want [][]string `json:"want"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if got := Sentences(c.In); !reflect.DeepEqual(got, c.Want) {
			t.Errorf("Sentences(%q)\n got %q\nwant %q", c.In, got, c.Want)
		}
	}
}

// checkNormalised verifies that p(·|h) sums to one over the vocabulary
// for the empty history, every seen history and one unseen history.
func checkNormalised(t testing.TB, lm *LM) {
	t.Helper()
	var words []string
	for _, w := range lm.Vocabulary() {
		if w != SentStart {
			words = append(words, w)
		}
	}
	hists := [][]string{nil, {"unseen-word"}, {SentStart}}
	for n := 2; n <= lm.Order; n++ {
		for h := range lm.bows[n-2] {
			hists = append(hists, strings.Split(h, sep))
			if len(hists) > 60 {
				break
			}
		}
	}
	for _, h := range hists {
		var sum float64
		for _, w := range words {
			p := lm.LogProb(h, w)
			if math.IsNaN(p) || p > 1e-9 {
				t.Fatalf("log p(%s | %v) = %v", w, h, p)
			}
			sum += math.Pow(10, p)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("p(· | %q) sums to %v", h, sum)
		}
	}
}

func TestLanguageModel(t *testing.T) {
	text := "the cat sat on the mat. the dog sat on the log. a cat and a dog. the cat sat."
	for order := 1; order <= 3; order++ {
		lm, err := BuildLM(Sentences(text), order, []string{"rekognition"})
		if err != nil {
			t.Fatal(err)
		}
		checkNormalised(t, lm)
		if order == 3 {
			seen := lm.LogProb([]string{"cat"}, "sat")
			unseen := lm.LogProb([]string{"cat"}, "log")
			if !(seen > unseen) {
				t.Errorf("p(sat|cat)=%v not above p(log|cat)=%v", seen, unseen)
			}
			if math.IsInf(lm.LogProb(nil, "rekognition"), -1) {
				t.Error("extra vocabulary word has no probability")
			}
		}
		var b bytes.Buffer
		if err := lm.WriteARPA(&b); err != nil {
			t.Fatal(err)
		}
		checkARPA(t, b.String(), order)
	}
	if _, err := BuildLM(nil, 4, nil); err == nil {
		t.Error("order 4 accepted")
	}
}

// checkARPA parses ARPA text: header counts match the sections and every
// n-gram line has a finite log probability and n words.
func checkARPA(t testing.TB, s string, order int) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(s))
	counts := map[int]int{}
	seen := map[int]int{}
	section := 0
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || line == "\\data\\" || line == "\\end\\":
		case strings.HasPrefix(line, "ngram "):
			var n, c int
			if _, err := fmtSscanf(line, &n, &c); err != nil {
				t.Fatalf("bad header %q", line)
			}
			counts[n] = c
		case strings.HasPrefix(line, "\\") && strings.HasSuffix(line, "-grams:"):
			section, _ = strconv.Atoi(line[1 : len(line)-7])
		default:
			f := strings.Split(line, "\t")
			if len(f) < 2 || len(f) > 3 || len(strings.Fields(f[1])) != section {
				t.Fatalf("bad %d-gram line %q", section, line)
			}
			for _, v := range []string{f[0], f[len(f)-1]} {
				if x, err := strconv.ParseFloat(v, 64); len(f) == 3 && (err != nil || math.IsInf(x, 0) || math.IsNaN(x)) {
					t.Fatalf("bad number in %q", line)
				}
			}
			seen[section]++
		}
	}
	if len(counts) != order {
		t.Fatalf("%d orders in header, want %d", len(counts), order)
	}
	for n, c := range counts {
		if seen[n] != c {
			t.Fatalf("%d-grams: header says %d, section has %d", n, c, seen[n])
		}
	}
}

func fmtSscanf(line string, n, c *int) (int, error) {
	a, b, _ := strings.Cut(strings.TrimPrefix(line, "ngram "), "=")
	var err error
	if *n, err = strconv.Atoi(a); err != nil {
		return 0, err
	}
	if *c, err = strconv.Atoi(b); err != nil {
		return 1, err
	}
	return 2, nil
}

var arpabet = map[string]bool{}

func init() {
	for _, p := range strings.Fields("AA AE AH AO AW AY B CH D DH EH ER EY F G HH IH IY JH K L M N NG OW OY P R S SH T TH UH UW V W Y Z ZH") {
		arpabet[p] = true
	}
}

func checkPhones(t testing.TB, word, pron string) {
	t.Helper()
	fs := strings.Fields(pron)
	if len(fs) == 0 {
		t.Fatalf("%q: empty pronunciation", word)
	}
	for _, p := range fs {
		if !arpabet[p] {
			t.Fatalf("%q: %q holds %q, not a model phone", word, pron, p)
		}
	}
}

func TestEspeakToARPAbet(t *testing.T) {
	cases := map[string]string{
		"r_I#_k_@_g_n_'I_S_@_n": "R IH K AH G N IH SH AH N",
		"l_'a_n_d_f_O:_l":       "L AE N D F AO L",
		"tS_'u:_z":              "CH UW Z",
		"b_'0_t#_@L":            "B AA T AH L",
		"k_j_'u:_b_3_n_,i:_t_s": "K Y UW B ER N IY T S",
		"n_'u:_k_l_i@3":         "N UW K L IY ER",
		"'aI":                   "AY",
		"":                      "",
	}
	for in, want := range cases {
		if got := EspeakToARPAbet(in); got != want {
			t.Errorf("EspeakToARPAbet(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEspeakPronouncer(t *testing.T) {
	ps, err := EspeakPronouncer{}.Pronounce(context.Background(), []string{"rekognition", "kubernetes", "landfall"})
	if err != nil {
		t.Fatal(err)
	}
	for w, p := range ps {
		checkPhones(t, w, p)
	}
	if ps["landfall"] != "L AE N D F AO L" {
		t.Errorf("landfall → %q", ps["landfall"])
	}
}

func TestSpellingPronunciation(t *testing.T) {
	for in, want := range map[string]string{
		"cat": "K AE T", "ship": "SH IH P", "nation": "N AE SH AH N", "city": "S IH T IY", "x": "K S", "'": "AH",
	} {
		got := SpellingPronunciation(in)
		if got != want {
			t.Errorf("SpellingPronunciation(%q) = %q, want %q", in, got, want)
		}
		checkPhones(t, in, got)
	}
}

func TestLexicon(t *testing.T) {
	dict := "hello HH AH L OW\nhello(2) HH EH L OW\nworld W ER L D\nbad\n"
	lex, err := LoadLexicon(strings.NewReader(dict), map[string]bool{"hello": true})
	if err != nil {
		t.Fatal(err)
	}
	if len(lex) != 1 || len(lex["hello"]) != 2 {
		t.Fatalf("%v", lex)
	}
	var b bytes.Buffer
	lex.WriteDict(&b, []string{"hello"})
	if b.String() != "hello HH AH L OW\nhello(2) HH EH L OW\n" {
		t.Fatalf("%q", b.String())
	}
}

// FuzzBuildLM builds a trigram model and dictionary from arbitrary text:
// no panic, a normalised model, well-formed ARPA and dictionary.
func FuzzBuildLM(f *testing.F) {
	f.Add("the cat sat on the mat. the dog sat.")
	f.Add("Landfall sends images to Rekognition; 42 rules fire.\n\nÉtude naïve")
	f.Add("a a a a a. a. b")
	f.Add("")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 4096 {
			t.Skip()
		}
		sents := Sentences(text)
		lm, err := BuildLM(sents, 3, []string{"extra"})
		if err != nil {
			t.Fatal(err)
		}
		if len(lm.Vocabulary()) <= 300 {
			checkNormalised(t, lm)
		}
		var b bytes.Buffer
		if err := lm.WriteARPA(&b); err != nil {
			t.Fatal(err)
		}
		checkARPA(t, b.String(), 3)
		lex := Lexicon{}
		var words []string
		for _, w := range lm.Vocabulary() {
			if w == SentStart || w == SentEnd {
				continue
			}
			for _, r := range w {
				if !(r >= 'a' && r <= 'z' || r == '\'') {
					t.Fatalf("word %q holds %q", w, r)
				}
			}
			p := SpellingPronunciation(w)
			checkPhones(t, w, p)
			lex[w] = []string{p}
			words = append(words, w)
		}
		b.Reset()
		if err := lex.WriteDict(&b, words); err != nil {
			t.Fatal(err)
		}
		back, err := LoadLexicon(&b, nil)
		if err != nil || len(back) != len(words) {
			t.Fatalf("dictionary round trip: %d of %d words, %v", len(back), len(words), err)
		}
	})
}

// FuzzParseCTM: arbitrary recogniser output never panics and yields
// words inside their chunk's time.
func FuzzParseCTM(f *testing.F) {
	f.Add("c000000 1 0.21 0.59 landfill 0.816\nc000001 1 0.81 0.37 turns(2) 0.818\nc000001 1 1.0 0.1 <sil> 1\n")
	f.Add("x 1 a b c d\n")
	f.Fuzz(func(t *testing.T, s string) {
		chunks := []Region{{0, 100}, {200, 400}}
		hs, err := ParseCTM(strings.NewReader(s), chunks)
		if err != nil {
			return
		}
		for _, h := range hs {
			if h.End < h.Start || h.Confidence < 0 || h.Confidence > 1 || h.Word == "" || math.IsNaN(h.Start) {
				t.Fatalf("bad word %+v", h)
			}
		}
	})
}

// FuzzWAVHeader: any bytes either fail the fast WAV path or yield a data
// reader; nothing panics or reads past its chunk bound.
func FuzzWAVHeader(f *testing.F) {
	f.Add([]byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x80\x3e\x00\x00\x00\x7d\x00\x00\x02\x00\x10\x00data\x04\x00\x00\x00\x01\x02\x03\x04"))
	f.Add([]byte("RIFF....WAVEjunk\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := wavData(bufio.NewReader(bytes.NewReader(b)))
		if ok {
			buf := make([]byte, 1<<16)
			for {
				if _, err := r.Read(buf); err != nil {
					break
				}
			}
		}
	})
}

func TestVADRegions(t *testing.T) {
	e := make([]float32, 1000)
	for i := range e {
		e[i] = -70
	}
	for i := 200; i < 400; i++ { // 2 s of speech
		e[i] = -20
	}
	for i := 410; i < 420; i++ { // a 0.1 s dip is bridged
		e[i] = -20
	}
	for i := 700; i < 705; i++ { // a 50 ms click is dropped
		e[i] = -10
	}
	rs := DefaultVAD.Regions(e)
	if len(rs) != 1 || rs[0].Start != 185 || rs[0].End != 435 {
		t.Fatalf("regions %v", rs)
	}
	// Steady noise: no speech.
	for i := range e {
		e[i] = -30 + float32(i%3)
	}
	if rs := DefaultVAD.Regions(e); rs != nil {
		t.Fatalf("noise gave %v", rs)
	}
	long := []Region{{0, 5000}}
	en := make([]float32, 5000)
	cs := Chunks(long, en, 2000)
	if len(cs) < 3 || cs[0].Start != 0 || cs[len(cs)-1].End != 5000 {
		t.Fatalf("chunks %v", cs)
	}
	for i, c := range cs {
		if c.Len() > 2000 || (i > 0 && c.Start != cs[i-1].End) {
			t.Fatalf("chunks %v", cs)
		}
	}
}
