package wordnet

import (
	"slices"
	"strings"
	"testing"
)

func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(DefaultDir)
	if err != nil {
		t.Fatalf("%v (scripts/setup installs wordnet-base)", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRelated(t *testing.T) {
	t.Parallel()
	db := open(t)
	for _, c := range []struct {
		word     string
		synonym  string
		hypernym string
	}{
		{"automobile", "car", "motor vehicle"},
		{"automobiles", "car", "motor vehicle"},
		{"physician", "doctor", "medical practitioner"},
		{"lecturer", "lector", "educator"},
	} {
		syn, hyp, err := db.Related(c.word, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(syn, c.synonym) {
			t.Errorf("%s: synonyms %v lack %q", c.word, syn, c.synonym)
		}
		if !slices.Contains(hyp, c.hypernym) {
			t.Errorf("%s: hypernyms %v lack %q", c.word, hyp, c.hypernym)
		}
	}
	if syn, hyp, err := db.Related("xyzzyplugh", 2); err != nil || len(syn)+len(hyp) != 0 {
		t.Fatalf("unknown word: %v %v %v", syn, hyp, err)
	}
}

func TestOpenMissing(t *testing.T) {
	t.Parallel()
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), "wordnet-base") {
		t.Fatalf("missing database: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"car n 2 1 @ 2 1 0001":        "line 1",
		"car n x 1 @ 2 1 0001":        "count",
		"car n 1 0 1 1 abc":           "offset",
		"  licence text\ncar n 1 0 1": "line 2",
	} {
		if _, err := ParseIndex(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string]string{
		"02958343 06 n 05 car 0":                "announced",
		"02958343 06 n zz car 0":                "hex",
		"02958343 06 n 01 car 0 002 @ 1 n 0000": "pointers",
		"x 06 n 01 car 0 000":                   "offset",
	} {
		if _, err := ParseSynset(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", in, err, want)
		}
	}
	s, err := ParseSynset("02958343 06 n 02 car 0 big(a) 1 001 @ 03791235 n 0000 | a motor vehicle")
	if err != nil || !slices.Equal(s.Words, []string{"car", "big"}) || len(s.Pointers) != 1 || s.Pointers[0].Offset != 3791235 {
		t.Fatalf("%+v %v", s, err)
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add("car n 5 3 @ ~ + 5 2 02958343 02959942 02960501 02961035 02961251\n")
	f.Add("  1 This software and database\n")
	f.Add("a n 1 0 1 0 0\n")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		idx, err := ParseIndex(strings.NewReader(s))
		if err == nil {
			for _, offs := range idx {
				for _, o := range offs {
					if o < 0 {
						t.Fatalf("negative offset from %q", s)
					}
				}
			}
		}
	})
}

func FuzzParseSynset(f *testing.F) {
	f.Add("02958343 06 n 05 car 0 auto 0 automobile 0 machine 0 motorcar 0 001 @ 03791235 n 0000 | a motor vehicle")
	f.Add("00001740 03 n 01 entity 0 000 | that which exists")
	f.Add("01 02 v 01 run 0 000 01 + 01 00 | go")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		syn, err := ParseSynset(s)
		if err == nil && (syn.Offset < 0 || len(syn.Words) > len(s)) {
			t.Fatalf("%q: %+v", s, syn)
		}
	})
}
