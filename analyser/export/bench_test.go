package export

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landfall/landfall/types"
)

// longTranscript is an hour-long two-speaker transcript: 10 000 words in
// sentences of ten.
func longTranscript() *types.Transcript {
	t := &types.Transcript{Language: "en-US", Duration: 3600}
	vocab := strings.Fields("the service stores every file in a bucket and sends an event to workflow which records failures")
	at := 0.0
	for s := 0; s < 1000; s++ {
		spk := fmt.Sprintf("spk_%d", s%2)
		first := len(t.Words)
		var texts []string
		for w := 0; w < 10; w++ {
			word := vocab[(s*7+w)%len(vocab)]
			t.Words = append(t.Words, types.Word{Text: word, Start: at, End: at + 0.3, Confidence: 0.9, Speaker: spk})
			texts = append(texts, word)
			at += 0.33
		}
		t.Segments = append(t.Segments, types.Segment{ID: s, Start: t.Words[first].Start, End: t.Words[len(t.Words)-1].End,
			Text: capitalise(strings.Join(texts, " ")) + ".", Speaker: spk, FirstWord: first, WordCount: 10})
		at += 0.3
	}
	return t
}

func BenchmarkWrite(b *testing.B) {
	t := longTranscript()
	for _, f := range Formats() {
		if f.NeedsInsights {
			continue
		}
		b.Run(f.Name, func(b *testing.B) {
			for b.Loop() {
				if err := f.Write(io.Discard, t, nil, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzCues builds a transcript from arbitrary words and times and checks
// the caption limits, the cue order and that every word is kept.
func FuzzCues(f *testing.F) {
	f.Add("hello world this is a test of the captions", []byte{1, 2, 3, 200, 5, 9}, uint8(2))
	f.Add("Supercalifragilisticexpialidociousnessofthingsandstuffandmore x", []byte{0, 0, 255}, uint8(1))
	f.Fuzz(func(t *testing.T, text string, gaps []byte, speakers uint8) {
		words := strings.Fields(text)
		if len(words) == 0 || len(words) > 500 || !utf8.ValidString(text) {
			t.Skip()
		}
		tr := &types.Transcript{}
		at := 0.0
		for i, w := range words {
			g := 0.1
			if len(gaps) > 0 {
				g = float64(gaps[i%len(gaps)]) / 50 // 0..5.1 s
			}
			at += g
			spk := ""
			if speakers > 0 {
				spk = fmt.Sprintf("spk_%d", (i/3)%int(speakers%4+1))
			}
			tr.Words = append(tr.Words, types.Word{Text: w, Start: at, End: at + 0.25, Confidence: 1, Speaker: spk})
			at += 0.25
		}
		tr.Segments = []types.Segment{{Start: 0, End: at, Text: strings.Join(words, " ") + ".", FirstWord: 0, WordCount: len(words)}}
		tr.Duration = at
		for _, format := range []string{"vtt", "srt"} {
			var b strings.Builder
			if err := Write(&b, format, tr, nil, Options{}); err != nil {
				t.Fatal(err)
			}
			var cues []parsedCue
			var err error
			if format == "vtt" {
				cues, err = parseVTT(b.String())
			} else {
				cues, err = parseSRT(b.String())
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", format, err, b.String())
			}
			var got []string
			for i, c := range cues {
				if len(c.Lines) > 2 {
					t.Fatalf("%s cue %d: %d lines", format, i, len(c.Lines))
				}
				for _, l := range c.Lines {
					if utf8.RuneCountInString(l) > 42 {
						t.Fatalf("%s cue %d: line %q too long", format, i, l)
					}
				}
				if c.End-c.Start > 7.0001 && len(strings.Fields(strings.Join(c.Lines, " "))) > 1 {
					t.Fatalf("%s cue %d lasts %.3f s", format, i, c.End-c.Start)
				}
				txt := strings.Join(c.Lines, " ")
				if format == "srt" && c.Lines[0] != "" {
					if k := strings.Index(txt, ": "); k > 0 && strings.HasPrefix(txt, "Speaker ") {
						txt = txt[k+2:]
					}
				}
				got = append(got, strings.Fields(txt)...)
			}
			want := strings.Join(displayWords(tr), "")
			if format == "srt" {
				want = strings.ReplaceAll(want, "-->", "->")
			}
			if g := strings.Join(got, ""); g != want {
				t.Fatalf("%s text\n got %q\nwant %q", format, g, want)
			}
		}
	})
}
