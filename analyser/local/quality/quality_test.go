package quality

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/internal/editdist"
	"github.com/landfall/landfall/analyser/local/mediatools"
	"github.com/landfall/landfall/analyser/local/nlp"
	"github.com/landfall/landfall/analyser/local/ocr"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

// Real recordings Debian ships.
const (
	librivoxDir = "/usr/share/pocketsphinx/test/data/librivox"
	alsaDir     = "/usr/share/sounds/alsa"
)

type lectureSpec struct {
	Name   string                  `json:"name"`
	Set    string                  `json:"set"`
	Voice  mediagen.Voice          `json:"voice"`
	Slides []mediagen.LectureSlide `json:"slides"`
}

func loadLectures(t *testing.T) []lectureSpec {
	t.Helper()
	b, err := os.ReadFile("testdata/lectures.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Lectures []lectureSpec `json:"lectures"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("testdata/lectures.json: %v", err)
	}
	return doc.Lectures
}

// wer is the word error rate of hyp against ref, both normalised as the
// recogniser's words (lower case, numbers spelled out).
func wer(ref string, hyp []types.Word) (errors, words int) {
	var r, h []string
	for _, s := range speech.Sentences(ref) {
		r = append(r, s...)
	}
	for _, w := range hyp {
		for _, s := range speech.Sentences(w.Text) {
			h = append(h, s...)
		}
	}
	return editdist.Distance(r, h), len(r)
}

func transcribe(t *testing.T, in *analyser.Input, opts map[string]any) *speech.Output {
	t.Helper()
	b, _ := json.Marshal(opts)
	in.Options = b
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	out, err := (&speech.Analyser{}).Transcribe(ctx, &analyser.Env{Workdir: t.TempDir()}, in)
	if err != nil {
		t.Fatalf("transcribe %s: %v", in.Path, err)
	}
	return out
}

// firstPass is the transcript before the media taught the recogniser: the
// first pass of a two-pass run, or the only pass.
func firstPass(o *speech.Output) *speech.Output {
	if o.FirstPass == nil {
		return o
	}
	return &speech.Output{Transcript: *o.FirstPass, LanguageModel: "generic"}
}

// tally adds up one set's figures.
type tally struct {
	errFirst, errTaught, words int
	before, after              nlp.Report
	files                      int
}

func (a *tally) add(b tally) {
	a.errFirst += b.errFirst
	a.errTaught += b.errTaught
	a.words += b.words
	a.before.SummaryWords += b.before.SummaryWords
	a.before.UnsureSummaryWords += b.before.UnsureSummaryWords
	a.after.SummaryWords += b.after.SummaryWords
	a.after.UnsureSummaryWords += b.after.UnsureSummaryWords
	a.files += b.files
}

func pct(n, d int) string {
	if d == 0 {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(d))
}

func row(t *testing.T, set, media string, x tally) {
	t.Helper()
	t.Logf("| understand (%s): %s | WER %s → %s with what the media teaches (%d words) | summary words from unsure recognition %d/%d → %d/%d |",
		set, media, pct(x.errFirst, x.words), pct(x.errTaught, x.words), x.words,
		x.before.UnsureSummaryWords, x.before.SummaryWords, x.after.UnsureSummaryWords, x.after.SummaryWords)
}

// TestQualityUnderstanding prints, for generated slide lectures (tuning and
// scoring sets) and for Debian's real recordings (scoring only), the word
// error rate of the first decoding pass and of the pass taught by the
// media's own text (slides read by OCR first, the file name), and how many
// summary words come from words the recogniser was unsure of: before
// (the summary lifted from the first pass's speech) and after (every
// signal weighed, on the taught transcript).
func TestQualityUnderstanding(t *testing.T) {
	if testing.Short() {
		t.Skip("generates and analyses media for minutes; skipped with -short")
	}
	for _, tool := range []string{"pocketsphinx_batch", "ffmpeg", "tesseract", "flite", "espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run scripts/setup", tool)
		}
	}
	dir := t.TempDir()
	sets := map[string]*tally{"tuning": {}, "scoring": {}}
	for _, l := range loadLectures(t) {
		x := lecture(t, dir, l)
		sets[l.Set].add(x)
	}
	row(t, "tuning", fmt.Sprintf("%d generated slide lectures", sets["tuning"].files), *sets["tuning"])
	row(t, "scoring", fmt.Sprintf("%d generated slide lectures", sets["scoring"].files), *sets["scoring"])

	var real tally
	real.add(librivox(t, dir))
	real.add(alsa(t))
	row(t, "scoring", "real recordings (LibriVox, ALSA voices)", real)
	if real.errTaught > real.errFirst {
		t.Errorf("what the file names teach made real recordings worse: %d → %d errors", real.errFirst, real.errTaught)
	}
	sc := sets["scoring"]
	if sc.after.UnsureSummaryWords > sc.before.UnsureSummaryWords {
		t.Errorf("scoring lectures: more unsure words in summaries after (%d) than before (%d)", sc.after.UnsureSummaryWords, sc.before.UnsureSummaryWords)
	}
}

// lecture generates one slide lecture and runs it as the pipeline does:
// media extraction, OCR, transcription (first pass, then taught by the
// slides and the file name) and the summary.
func lecture(t *testing.T, dir string, l lectureSpec) tally {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, l.Name+".mp4")
	sample, err := mediagen.Lecture(ctx, path, l.Slides, l.Voice)
	if err != nil {
		t.Fatalf("%s: %v", l.Name, err)
	}
	work := filepath.Join(dir, l.Name+"-work")
	mout, err := mediatools.Media{}.Run(ctx, &analyser.Env{Workdir: work}, &analyser.Input{Path: path, Kind: types.KindVideo})
	if err != nil {
		t.Fatalf("%s: media: %v", l.Name, err)
	}
	media, _ := json.Marshal(mout)
	oout, err := ocr.OCR{}.Run(ctx, &analyser.Env{Workdir: work}, &analyser.Input{Path: path, Kind: types.KindVideo,
		Results: map[string]json.RawMessage{"media": media}})
	if err != nil {
		t.Fatalf("%s: ocr: %v", l.Name, err)
	}
	texts, _ := json.Marshal(oout)
	var screen struct {
		Texts []types.OCRText `json:"texts"`
	}
	if err := json.Unmarshal(texts, &screen); err != nil {
		t.Fatal(err)
	}
	taught := transcribe(t, &analyser.Input{Path: path, Kind: types.KindVideo, Results: map[string]json.RawMessage{"media": media, "ocr": texts}},
		map[string]any{"media_text": speech.FilenameWords(path)})
	first := firstPass(taught)
	var x tally
	x.files = 1
	x.errFirst, x.words = wer(sample.Script, first.Words)
	x.errTaught, _ = wer(sample.Script, taught.Words)
	_, x.before = nlp.BuildSpeechFirst(nlp.Sources{Transcript: &first.Transcript, OCR: screen.Texts}, nlp.SummariseOptions{})
	ins, after := nlp.BuildReport(nlp.Sources{Transcript: &taught.Transcript, OCR: screen.Texts}, nlp.SummariseOptions{})
	x.after = after
	t.Logf("%s (%s, %s): WER %s → %s (passes %d)\n first:  %s\n taught: %s\n summary: %s\n seo: %s", l.Name, l.Set, l.Voice,
		pct(x.errFirst, x.words), pct(x.errTaught, x.words), taught.Passes, first.Text, taught.Text, ins.Summary, ins.SEODescription)
	return x
}

// librivox joins the LibriVox sentences into one recording, as a chapter
// would be uploaded, and scores it.
func librivox(t *testing.T, dir string) tally {
	t.Helper()
	refs := readTranscription(t, filepath.Join(librivoxDir, "transcription"))
	ids := readLines(t, filepath.Join(librivoxDir, "fileids"))
	var wavs, script []string
	for _, id := range ids {
		wavs = append(wavs, filepath.Join(librivoxDir, id+".wav"))
		script = append(script, refs[id])
	}
	joined := filepath.Join(dir, "sense_and_sensibility_01_austen_64kb.wav")
	if out, err := exec.Command("sox", append(wavs, joined)...).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v\n%s", err, out)
	}
	ref := strings.Join(script, " ")
	taught := transcribe(t, &analyser.Input{Path: joined}, map[string]any{"media_text": speech.FilenameWords(joined)})
	first := firstPass(taught)
	var x tally
	x.files = len(ids)
	x.errFirst, x.words = wer(ref, first.Words)
	x.errTaught, _ = wer(ref, taught.Words)
	_, x.before = nlp.BuildSpeechFirst(nlp.Sources{Transcript: &first.Transcript}, nlp.SummariseOptions{})
	ins, after := nlp.BuildReport(nlp.Sources{Transcript: &taught.Transcript}, nlp.SummariseOptions{})
	x.after = after
	t.Logf("librivox: WER %s → %s\n first:  %s\n taught: %s\n summary: %s", pct(x.errFirst, x.words), pct(x.errTaught, x.words), first.Text, taught.Text, ins.Summary)
	return x
}

// alsa scores the ALSA test voices ("Front Center", …), each named for
// what it says.
func alsa(t *testing.T) tally {
	t.Helper()
	var x tally
	for _, name := range []string{"Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left", "Rear_Right", "Side_Left", "Side_Right"} {
		path := filepath.Join(alsaDir, name+".wav")
		ref := strings.ReplaceAll(name, "_", " ")
		taught := transcribe(t, &analyser.Input{Path: path}, map[string]any{"media_text": speech.FilenameWords(path)})
		first := firstPass(taught)
		e1, n := wer(ref, first.Words)
		e2, _ := wer(ref, taught.Words)
		x.errFirst += e1
		x.errTaught += e2
		x.words += n
		x.files++
		t.Logf("alsa %s: %q → %q", name, first.Text, taught.Text)
	}
	return x
}

var transcriptionLine = regexp.MustCompile(`^<s>\s*(.*?)\s*</s>\s*\(([^)]+)\)\s*$`)

func readTranscription(t *testing.T, path string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range readLines(t, path) {
		if m := transcriptionLine.FindStringSubmatch(l); m != nil {
			out[m[2]] = m[1]
		}
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (install pocketsphinx-testdata and alsa-utils: scripts/setup)", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}
