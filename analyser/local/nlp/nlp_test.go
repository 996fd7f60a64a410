package nlp

import (
	"bufio"
	"context"
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/types"
)

// transcriptFromFile makes an ASR-like transcript (lower case, no
// punctuation) from a script: one segment per line, 0.35 s per word and a
// 0.8 s pause between lines.
func transcriptFromFile(t testing.TB, path string) *types.Transcript {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := &types.Transcript{}
	at := 0.5
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		ws := strings.Fields(sc.Text())
		if len(ws) == 0 {
			continue
		}
		seg := types.Segment{ID: len(tr.Segments), Start: at, FirstWord: len(tr.Words), WordCount: len(ws), Text: strings.Join(ws, " ")}
		for _, w := range ws {
			tr.Words = append(tr.Words, types.Word{Text: w, Start: at, End: at + 0.3, Confidence: 0.9})
			at += 0.35
		}
		seg.End = at - 0.05
		tr.Segments = append(tr.Segments, seg)
		at += 0.8
	}
	tr.Duration = at
	return tr
}

func TestBuildInterview(t *testing.T) {
	tr := transcriptFromFile(t, "testdata/interview.txt")
	ins := Build(Sources{Transcript: tr}, SummariseOptions{})
	if n := countWords(ins.Summary); n == 0 || n > 80 {
		t.Errorf("summary has %d words: %q", n, ins.Summary)
	}
	for _, want := range []string{"Maria Garcia", "James Okafor"} {
		if !slices.Contains(ins.Entities.People, want) {
			t.Errorf("people %v lack %q", ins.Entities.People, want)
		}
	}
	for _, want := range []string{"Northwind Labs", "University of Lisbon"} {
		if !slices.Contains(ins.Entities.Organisations, want) {
			t.Errorf("organisations %v lack %q", ins.Entities.Organisations, want)
		}
	}
	for _, want := range []string{"Lisbon", "Portugal", "Porto", "Berlin"} {
		if !slices.Contains(ins.Entities.Places, want) {
			t.Errorf("places %v lack %q", ins.Entities.Places, want)
		}
	}
	joined := strings.Join(ins.Topics, "|")
	for _, want := range []string{"sea temperature", "media pipeline"} {
		if !strings.Contains(joined, want) {
			t.Errorf("topics %v lack %q", ins.Topics, want)
		}
	}
	if len(ins.Chapters) < 2 {
		t.Errorf("chapters = %+v, want the pipeline and ocean parts apart", ins.Chapters)
	}
	onStart := func(x float64) bool {
		for _, s := range tr.Segments {
			if math.Abs(s.Start-x) < 0.001 {
				return true
			}
		}
		return false
	}
	for _, c := range ins.Chapters {
		if c.StartSeconds < 0 || c.StartSeconds > tr.Duration || !onStart(c.StartSeconds) || c.Title == "" {
			t.Errorf("chapter %+v is not on a sentence start inside the media", c)
		}
	}
	if len(ins.SEODescription) == 0 || len(ins.SEODescription) > 160 {
		t.Errorf("seo_description %d chars: %q", len(ins.SEODescription), ins.SEODescription)
	}
	t.Logf("summary: %s", ins.Summary)
	t.Logf("chapters: %+v", ins.Chapters)
	t.Logf("topics: %v", ins.Topics)
	t.Logf("entities: %+v", ins.Entities)
}

func TestAnalyserOutputMatchesSchema(t *testing.T) {
	tr := transcriptFromFile(t, "testdata/interview.txt")
	raw, _ := json.Marshal(tr)
	ocr, _ := json.Marshal(map[string]any{"texts": []types.OCRText{{Text: "Northwind Labs\nOcean Research 2026", Confidence: 95, First: 1, Last: 9}}})
	a, err := analyser.ForTask(analyser.TaskSummarise, "local")
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Run(context.Background(), &analyser.Env{}, &analyser.Input{MediaID: "m1",
		Results: map[string]json.RawMessage{"transcribe": raw, "ocr": ocr}})
	if err != nil {
		t.Fatal(err)
	}
	analysertest.ValidateOutput(t, a.Spec(), out)
	if len(out.(*types.Insights).OCR) != 1 {
		t.Error("OCR section not carried over")
	}
}

func TestImageOnlyAndEmpty(t *testing.T) {
	ins := Build(Sources{OCR: []types.OCRText{{Text: "Quarterly results. Revenue grew in Berlin and Tokyo."}}}, SummariseOptions{})
	if ins.Summary == "" || !slices.Contains(ins.Entities.Places, "Berlin") || len(ins.Chapters) != 0 {
		t.Errorf("%+v", ins)
	}
	empty := Build(Sources{}, SummariseOptions{})
	analysertest.ValidateOutput(t, Summariser{}.Spec(), empty)
	if empty.Summary != "" || empty.Chapters == nil || empty.Topics == nil {
		t.Errorf("empty: %+v", empty)
	}
}

func TestRejectsUnknownOption(t *testing.T) {
	_, err := Summariser{}.Run(context.Background(), nil, &analyser.Input{Options: json.RawMessage(`{"max_words":3}`)})
	if err == nil || !strings.Contains(err.Error(), "max_words") {
		t.Fatalf("err = %v", err)
	}
}

func TestSummaryWordCap(t *testing.T) {
	long := strings.Repeat("the quick brown fox jumps over the lazy dog near the river bank today ", 20)
	s := Summarise([]Sentence{{Text: long, Tokens: Tokenize(long)}}, nil, 80)
	if n := countWords(s); n > 80 {
		t.Fatalf("%d words", n)
	}
}

func FuzzBuild(f *testing.F) {
	f.Add("maria garcia from northwind labs in lisbon. the sea temperature rises!")
	f.Add("University of\nDr. Ada ... ?!")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		ins := Build(Sources{OCR: []types.OCRText{{Text: s}}}, SummariseOptions{})
		if countWords(ins.Summary) > 80 || len(ins.SEODescription) > 160 {
			t.Fatalf("bounds: %+v", ins)
		}
	})
}

func BenchmarkBuildInterview(b *testing.B) {
	tr := transcriptFromFile(b, "testdata/interview.txt")
	b.ReportAllocs()
	for b.Loop() {
		Build(Sources{Transcript: tr}, SummariseOptions{})
	}
}

func TestScreenChapters(t *testing.T) {
	speech := []Sentence{{Start: 0.4}, {Start: 6.2}, {Start: 12.9}, {Start: 14.0}, {Start: 21.5}}
	ocr := []types.OCRText{
		{Text: "Media Pipelines 101", First: 0, Last: 5.9},
		{Text: "Professor Alan Turner", First: 0, Last: 5.9},
		{Text: "Step 1: Upload\nFiles land in storage", First: 6, Last: 12},
		{Text: "Step 2: Transcribe", First: 12.5, Last: 20},
		{Text: "Thank you", First: 21, Last: 25},
	}
	got := ScreenChapters(ocr, speech, 3)
	want := []types.Chapter{{Title: "Media Pipelines 101", StartSeconds: 0.4}, {Title: "Step 1: Upload", StartSeconds: 6.2},
		{Title: "Step 2: Transcribe", StartSeconds: 12.9}, {Title: "Thank you", StartSeconds: 21.5}}
	if !slices.Equal(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if ScreenChapters(ocr[:2], speech, 3) != nil {
		t.Fatal("one slide made chapters")
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, Summariser{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		raw, _ := json.Marshal(transcriptFromFile(t, "testdata/interview.txt"))
		return &analyser.Input{MediaID: "m1", Results: map[string]json.RawMessage{"transcribe": raw}}
	}})
}

// lectureSignals is a slide lecture as a weak recogniser hears it: words
// it was unsure of (confidence 0.3) beside confident ones, and slides that
// say the same thing correctly.
func lectureSignals() Sources {
	tr := &types.Transcript{Duration: 30}
	at := 0.5
	say := func(text string, unsureWords ...string) {
		seg := types.Segment{ID: len(tr.Segments), Start: at, FirstWord: len(tr.Words)}
		for _, w := range strings.Fields(text) {
			c := 0.9
			if slices.Contains(unsureWords, w) {
				c = 0.3
			}
			tr.Words = append(tr.Words, types.Word{Text: w, Start: at, End: at + 0.3, Confidence: c})
			at += 0.35
		}
		seg.WordCount = len(tr.Words) - seg.FirstWord
		seg.End = at - 0.05
		tr.Segments = append(tr.Segments, seg)
		at += 0.8
	}
	say("hello everyone my name is alan turner and today we look at media pipelines")
	say("first a file is uploaded and lands in storage an event starts the workflow")
	say("second the audio track is herring scribed so that speech victims are trouble text", "herring", "victims", "trouble")
	say("third we write a summary and chapters iran and google sell services for this", "iran")
	ocr := []types.OCRText{
		{Text: "Media Pipelines 101\nProfessor Alan Turner", Confidence: 95, First: 0, Last: 5.9},
		{Text: "Step 1: Upload\nFiles land in storage", Confidence: 93, First: 6, Last: 11.9},
		{Text: "Step 2: Transcribe\nSpeech becomes searchable text", Confidence: 92, First: 12, Last: 17.9},
		{Text: "Step 3: Understand\nSummaries and chapters", Confidence: 94, First: 18, Last: 25},
	}
	return Sources{Transcript: tr, OCR: ocr}
}

func TestSummaryWeighsSignals(t *testing.T) {
	src := lectureSignals()
	ins, rep := BuildReport(src, SummariseOptions{})
	analysertest.ValidateOutput(t, Summariser{}.Spec(), ins)
	for _, bad := range []string{"herring", "victims", "trouble", "Iran", "iran"} {
		if strings.Contains(ins.Summary, bad) || strings.Contains(strings.Join(ins.Topics, " "), bad) ||
			strings.Contains(ins.SEODescription, bad) || slices.Contains(ins.Entities.Places, bad) {
			t.Errorf("unsure word %q reached the insights: %+v", bad, ins)
		}
		for _, c := range ins.Chapters {
			if strings.Contains(c.Title, bad) {
				t.Errorf("unsure word %q in chapter %q", bad, c.Title)
			}
		}
	}
	if rep.UnsureSummaryWords != 0 || rep.ScreenSentences == 0 {
		t.Errorf("report %+v: want no unsure words and some screen sentences", rep)
	}
	if ins.Chapters[0].Title != "Media Pipelines 101" {
		t.Errorf("chapters %+v: want slide titles", ins.Chapters)
	}
	if ins.SEODescription == ins.Summary || strings.HasPrefix(ins.Summary, strings.TrimSuffix(ins.SEODescription, "…")) {
		t.Errorf("SEO line copies the summary: %q", ins.SEODescription)
	}
	if !strings.HasPrefix(ins.SEODescription, "Media Pipelines 101") || !strings.Contains(ins.SEODescription, "Alan Turner") {
		t.Errorf("SEO line %q: want the title and the speaker's name", ins.SEODescription)
	}
	var alan *types.EntityMention
	for i, m := range ins.Mentions {
		if m.Name == "Alan Turner" {
			alan = &ins.Mentions[i]
		}
	}
	if alan == nil || alan.Type != "person" || len(alan.Times) != 2 ||
		alan.Times[0].Source != SourceScreen || alan.Times[1].Source != SourceSpeech || alan.Times[1].Start < 1 {
		t.Errorf("Alan Turner's mentions: %+v (all %+v)", alan, ins.Mentions)
	}

	// The summariser that lifted sentences from the speech alone puts the
	// unsure words in; the comparison is what the quality table reports.
	_, before := BuildSpeechFirst(src, SummariseOptions{})
	if before.UnsureSummaryWords == 0 {
		t.Errorf("speech-first summary took no unsure words (%+v): the fixture no longer tells them apart", before)
	}
	t.Logf("summary: %s\nseo: %s\ntopics: %v\nchapters: %+v\nbefore %+v after %+v", ins.Summary, ins.SEODescription, ins.Topics, ins.Chapters, before, rep)
}

func TestSummaryWithoutABetterSource(t *testing.T) {
	// Speech alone, every sentence holding an unsure word: the summary
	// still says something (there is nothing better) but topics and
	// entities stay clear of unsure words.
	tr := lectureSignals().Transcript
	for i := range tr.Words {
		if i%4 == 0 {
			tr.Words[i].Confidence = 0.2
		}
	}
	ins, rep := BuildReport(Sources{Transcript: tr}, SummariseOptions{})
	if ins.Summary == "" || rep.UnsureSummaryWords == 0 {
		t.Errorf("summary %q report %+v", ins.Summary, rep)
	}
	for _, k := range ins.Topics {
		for _, w := range strings.Fields(k) {
			for i, x := range tr.Words {
				if x.Text == w && i%4 == 0 && !slices.ContainsFunc(tr.Words, func(y types.Word) bool { return y.Text == w && y.Confidence >= LowConfidence }) {
					t.Errorf("topic %q holds unsure word %q", k, w)
				}
			}
		}
	}
}
