// Package wordnet reads Princeton WordNet 3.0's database files (the
// index.* and data.* files Debian's wordnet-base package installs in
// /usr/share/wordnet) to relate words: the other words of a word's most
// common senses (synonyms) and of those senses' hypernyms (broader
// terms). It parses the files itself; the index is read into memory on
// first use, synsets are read from the data files by their byte offset.
package wordnet

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/landfall/landfall/errcode"
)

// DefaultDir is where Debian's wordnet-base installs the database.
const DefaultDir = "/usr/share/wordnet"

// Parts of speech, as the files name them.
var parts = []struct {
	pos, name string
}{{"n", "noun"}, {"v", "verb"}, {"a", "adj"}, {"r", "adv"}}

// DB is an open WordNet database. It is safe for concurrent use.
type DB struct {
	dir   string
	once  sync.Once
	err   error
	index map[string]map[string][]int64 // pos → lemma → synset offsets, most common sense first
	data  map[string]io.ReaderAt
	exc   map[string]map[string]string // pos → inflected form → base form
	files []*os.File
}

// Open checks that dir holds a WordNet database; the index is read on
// first use. A missing database is errcode.NotFound naming the file and
// the Debian package that provides it.
func Open(dir string) (*DB, error) {
	for _, p := range parts {
		for _, f := range []string{"index." + p.name, "data." + p.name} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				return nil, errcode.Wrap(errcode.NotFound, err, "wordnet: %s is missing (install Debian's wordnet-base)", filepath.Join(dir, f))
			}
		}
	}
	return &DB{dir: dir}, nil
}

// Close releases the data files.
func (d *DB) Close() error {
	for _, f := range d.files {
		f.Close()
	}
	return nil
}

func (d *DB) load() error {
	d.once.Do(func() {
		d.index = map[string]map[string][]int64{}
		d.data = map[string]io.ReaderAt{}
		d.exc = map[string]map[string]string{}
		for _, p := range parts {
			f, err := os.Open(filepath.Join(d.dir, "index."+p.name))
			if err != nil {
				d.err = errcode.Wrap(errcode.NotFound, err, "wordnet: index.%s", p.name)
				return
			}
			idx, err := ParseIndex(f)
			f.Close()
			if err != nil {
				d.err = errcode.Wrap(errcode.Invalid, err, "wordnet: %s", filepath.Join(d.dir, "index."+p.name))
				return
			}
			d.index[p.pos] = idx
			df, err := os.Open(filepath.Join(d.dir, "data."+p.name))
			if err != nil {
				d.err = errcode.Wrap(errcode.NotFound, err, "wordnet: data.%s", p.name)
				return
			}
			d.files = append(d.files, df)
			d.data[p.pos] = df
			if ef, err := os.Open(filepath.Join(d.dir, p.name+".exc")); err == nil {
				d.exc[p.pos] = parseExceptions(ef)
				ef.Close()
			}
		}
	})
	return d.err
}

// ParseIndex reads an index file: lines of "lemma pos synset_cnt p_cnt
// [ptr_symbol…] sense_cnt tagsense_cnt synset_offset…"; licence lines
// start with a space. An error names the line.
func ParseIndex(r io.Reader) (map[string][]int64, error) {
	out := map[string][]int64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		t := sc.Text()
		if t == "" || t[0] == ' ' {
			continue
		}
		f := strings.Fields(t)
		if len(f) < 6 {
			return nil, fmt.Errorf("line %d: %d fields, want at least 6", line, len(f))
		}
		n, err1 := strconv.Atoi(f[2])
		p, err2 := strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || n < 0 || p < 0 || n > 10000 || p > 100 {
			return nil, fmt.Errorf("line %d: bad synset or pointer count", line)
		}
		first := 4 + p + 2
		if len(f) != first+n {
			return nil, fmt.Errorf("line %d: %d fields, want %d for %d synsets and %d pointer kinds", line, len(f), first+n, n, p)
		}
		offs := make([]int64, 0, n)
		for _, o := range f[first:] {
			v, err := strconv.ParseInt(o, 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("line %d: synset offset %q is not a number", line, o)
			}
			offs = append(offs, v)
		}
		out[f[0]] = offs
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

func parseExceptions(r io.Reader) map[string]string {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

// Synset is one sense: its words (lemmas, "_" between the words of a
// compound) and its pointers.
type Synset struct {
	Offset   int64
	Words    []string
	Pointers []Pointer
}

// Pointer relates a synset to another: Symbol "@" is a hypernym, "@i" an
// instance hypernym.
type Pointer struct {
	Symbol string
	Offset int64
	POS    string
}

// ParseSynset reads one data file line: "offset lex_filenum ss_type w_cnt
// word lex_id … p_cnt [symbol offset pos source/target]… [frames] | gloss".
func ParseSynset(line string) (*Synset, error) {
	if i := strings.Index(line, " | "); i >= 0 {
		line = line[:i]
	}
	f := strings.Fields(line)
	if len(f) < 4 {
		return nil, fmt.Errorf("synset: %d fields, want at least 4", len(f))
	}
	off, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil || off < 0 {
		return nil, fmt.Errorf("synset: offset %q is not a number", f[0])
	}
	wc, err := strconv.ParseInt(f[3], 16, 32)
	if err != nil || wc < 0 {
		return nil, fmt.Errorf("synset %d: word count %q is not hex", off, f[3])
	}
	i := 4
	s := &Synset{Offset: off}
	for k := 0; k < int(wc); k++ {
		if i+1 >= len(f) {
			return nil, fmt.Errorf("synset %d: %d words announced, %d found", off, wc, k)
		}
		w := f[i]
		if j := strings.IndexByte(w, '('); j > 0 { // adjective markers: "big(a)"
			w = w[:j]
		}
		s.Words = append(s.Words, w)
		i += 2
	}
	if i >= len(f) {
		return nil, fmt.Errorf("synset %d: no pointer count", off)
	}
	pc, err := strconv.Atoi(f[i])
	if err != nil || pc < 0 {
		return nil, fmt.Errorf("synset %d: pointer count %q is not a number", off, f[i])
	}
	i++
	for k := 0; k < pc; k++ {
		if i+3 >= len(f) {
			return nil, fmt.Errorf("synset %d: %d pointers announced, %d found", off, pc, k)
		}
		po, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil || po < 0 {
			return nil, fmt.Errorf("synset %d: pointer offset %q is not a number", off, f[i+1])
		}
		s.Pointers = append(s.Pointers, Pointer{Symbol: f[i], Offset: po, POS: f[i+2]})
		i += 4
	}
	return s, nil
}

// synset reads the synset at off of the pos data file.
func (d *DB) synset(pos string, off int64) (*Synset, error) {
	if pos == "s" { // adjective satellites live in data.adj
		pos = "a"
	}
	r := d.data[pos]
	if r == nil {
		return nil, fmt.Errorf("wordnet: no data file for part of speech %q", pos)
	}
	buf := make([]byte, 4096)
	var line []byte
	for at := off; len(line) < 1<<20; {
		n, err := r.ReadAt(buf, at)
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			line = append(line, buf[:i]...)
			break
		}
		line = append(line, buf[:n]...)
		at += int64(n)
		if err != nil {
			break
		}
	}
	s, err := ParseSynset(string(line))
	if err != nil {
		return nil, err
	}
	if s.Offset != off {
		return nil, fmt.Errorf("wordnet: data.%s offset %d holds synset %d", pos, off, s.Offset)
	}
	return s, nil
}

// bases returns the lemma forms of word for pos: the word, its exception
// entry, and the regular detachments of WordNet's morphology.
func (d *DB) bases(pos, word string) []string {
	out := []string{word}
	if b, ok := d.exc[pos][word]; ok {
		out = append(out, b)
	}
	var rules [][2]string
	switch pos {
	case "n":
		rules = [][2]string{{"s", ""}, {"ses", "s"}, {"xes", "x"}, {"zes", "z"}, {"ches", "ch"}, {"shes", "sh"}, {"men", "man"}, {"ies", "y"}}
	case "v":
		rules = [][2]string{{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}}
	case "a":
		rules = [][2]string{{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}}
	}
	for _, r := range rules {
		if strings.HasSuffix(word, r[0]) && len(word) > len(r[0])+2 {
			out = append(out, word[:len(word)-len(r[0])]+r[1])
		}
	}
	return out
}

// Related returns, for word's most common senses (up to senses per part
// of speech), the other words of those senses (synonyms) and the words of
// their hypernyms, most common sense first, without repeats. Compounds
// come back with spaces ("motor vehicle").
func (d *DB) Related(word string, senses int) (synonyms, hypernyms []string, err error) {
	if err := d.load(); err != nil {
		return nil, nil, err
	}
	word = strings.ToLower(strings.TrimSpace(word))
	seen := map[string]bool{word: true}
	add := func(list *[]string, w string) {
		w = strings.ReplaceAll(strings.ToLower(w), "_", " ")
		if !seen[w] {
			seen[w] = true
			*list = append(*list, w)
		}
	}
	for _, p := range parts {
		n := senses
		if p.pos != "n" {
			n = 1 // other parts of speech: the commonest sense only
		}
		var offs []int64
		for _, b := range d.bases(p.pos, word) {
			if o, ok := d.index[p.pos][strings.ReplaceAll(b, " ", "_")]; ok {
				offs = o
				break
			}
		}
		for i := 0; i < len(offs) && i < n; i++ {
			s, err := d.synset(p.pos, offs[i])
			if err != nil {
				return nil, nil, err
			}
			for _, w := range s.Words {
				add(&synonyms, w)
			}
			if i > 0 || (p.pos != "n" && p.pos != "v") {
				continue
			}
			for _, ptr := range s.Pointers {
				if ptr.Symbol != "@" && ptr.Symbol != "@i" {
					continue
				}
				h, err := d.synset(ptr.POS, ptr.Offset)
				if err != nil {
					return nil, nil, err
				}
				for _, w := range h.Words {
					add(&hypernyms, w)
				}
			}
		}
	}
	return synonyms, hypernyms, nil
}
