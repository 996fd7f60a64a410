package nlp

import (
	"strings"
	"testing"

	"github.com/landfall/landfall/types"
)

// asr makes recogniser-like words: lower case, no punctuation; "|" is a
// 0.4 s pause (a comma), "||" a 1 s pause (a new segment).
func asr(s string) *types.Transcript {
	tr := &types.Transcript{}
	at := 0.0
	first := 0
	flush := func() {
		if len(tr.Words) > first {
			tr.Segments = append(tr.Segments, types.Segment{ID: len(tr.Segments), Start: tr.Words[first].Start, End: tr.Words[len(tr.Words)-1].End,
				FirstWord: first, WordCount: len(tr.Words) - first})
			first = len(tr.Words)
		}
	}
	for _, f := range strings.Fields(s) {
		switch f {
		case "|":
			at += 0.4
			continue
		case "||":
			at += 1
			flush()
			continue
		}
		tr.Words = append(tr.Words, types.Word{Text: f, Start: at, End: at + 0.3, Confidence: 0.8})
		at += 0.32
	}
	flush()
	tr.Duration = at
	return tr
}

func TestReadable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"welcome back to the show || today i am talking with sarah johnson from the red cross",
			"Welcome back to the show. Today I am talking with Sarah Johnson from the Red Cross."},
		{"i joined after ten years at microsoft || what does your team build",
			"I joined after 10 years at Microsoft. What does your team build?"},
		{"we grew twenty five percent in twenty twenty six || two thousand and twenty four was harder",
			"We grew 25% in 2026. 2024 was harder."},
		{"first a file is uploaded | and lands in storage || step one is done",
			"First a file is uploaded, and lands in storage. Step one is done."},
		{"do you use landfall || the | cat sat", "Do you use Landfall? The cat sat."},
		{"five five || four hundred and six people", "Five five. 406 people."},
	}
	names := []string{"Sarah Johnson", "Red Cross", "Microsoft", "Landfall", "lower case ignored"}
	for _, c := range cases {
		tr := asr(c.in)
		Readable(tr, ReadableOptions{Names: names})
		if tr.Text != c.want {
			t.Errorf("%q\n got %q\nwant %q", c.in, tr.Text, c.want)
		}
		for _, s := range tr.Segments {
			if s.FirstWord+s.WordCount > len(tr.Words) || tr.Words[s.FirstWord].Start != s.Start {
				t.Errorf("segment %+v does not index its words", s)
			}
		}
		before := tr.Text
		Readable(tr, ReadableOptions{Names: names})
		if tr.Text != before {
			t.Errorf("not idempotent: %q then %q", before, tr.Text)
		}
	}
	// Merged number words span their words and keep the lowest confidence.
	tr := asr("about twenty five people")
	tr.Words[2].Confidence = 0.3
	Readable(tr, ReadableOptions{})
	if w := tr.Words[1]; w.Text != "25" || w.Start != 0.32 || w.End != 0.94 || w.Confidence != 0.3 {
		t.Errorf("merged number word %+v", w)
	}
	// A transcript that already has punctuation only gets names' case.
	p := &types.Transcript{Words: []types.Word{{Text: "Hello,"}, {Text: "landfall"}, {Text: "twenty."}},
		Segments: []types.Segment{{FirstWord: 0, WordCount: 3}}}
	Readable(p, ReadableOptions{Names: []string{"Landfall"}})
	if p.Text != "Hello, Landfall twenty." {
		t.Errorf("punctuated transcript rewritten: %q", p.Text)
	}
}

func FuzzReadable(f *testing.F) {
	f.Add("twenty twenty six | and four hundred || what is it")
	f.Add("one hundred thousand and || zero zero nine")
	f.Add("and and hundred thousand million billion")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 2000 {
			return
		}
		tr := asr(s)
		n := len(tr.Words)
		Readable(tr, ReadableOptions{Names: []string{"Twenty Six", "AND"}})
		if len(tr.Words) > n {
			t.Fatalf("more words than recognised: %d > %d", len(tr.Words), n)
		}
		covered := 0
		for _, s := range tr.Segments {
			if s.FirstWord != covered || s.WordCount <= 0 {
				t.Fatalf("segments do not tile the words: %+v", tr.Segments)
			}
			covered += s.WordCount
		}
		if covered != len(tr.Words) {
			t.Fatalf("segments cover %d of %d words", covered, len(tr.Words))
		}
	})
}

func TestNamesFor(t *testing.T) {
	got := NamesFor([]string{"Landfall"}, types.Entities{People: []string{"Alan Turner"}},
		[]types.OCRText{{Text: "Media Pipelines 101\nFiles go to Step Functions on AWS\nthen OpenAI writes, and Boston reads", Confidence: 90},
			{Text: "Blurry Name", Confidence: 20}})
	want := "Landfall|Alan Turner|Step Functions|AWS|OpenAI|Boston"
	if strings.Join(got, "|") != want {
		t.Errorf("got %q, want %q", strings.Join(got, "|"), want)
	}
}
