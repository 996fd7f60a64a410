// Package speech is Landfall's offline transcription analyser
// (analyser.transcribe.pocketsphinx): CMU pocketsphinx with the US English
// acoustic model, run as pocketsphinx_batch processes.
//
// The input is decoded to 16 kHz mono PCM (directly from a WAV already in
// that format, otherwise streamed out of ffmpeg), spooled to the workdir
// while an energy voice activity detector measures each 10 ms frame, and
// cut at pauses into chunks that several recogniser processes decode in
// parallel; their words are merged in time order into a types.Transcript
// with segments at pauses.
//
// A custom vocabulary adapts the recogniser: options
// {"vocabulary": [...], "domain_text": "..."} build a pronunciation
// dictionary (the CMU dictionary, plus espeak-ng letter-to-sound for words
// it lacks) and, from the domain text, a trigram language model with
// interpolated Kneser-Ney smoothing that replaces the generic one.
// Without domain text the generic model is kept, and vocabulary words it
// cannot produce are listed in the output. {"keywords": [...]} reports
// where each keyword was spoken: found in the recognised words, by
// pocketsphinx's keyword spotter (which searches the audio for the
// keyword's pronunciation whatever the language model), or both.
package speech

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registered id.
const ID = "analyser.transcribe.pocketsphinx"

// ModelDir is the pocketsphinx-en-us model folder (Debian package
// pocketsphinx-en-us); LANDFALL_POCKETSPHINX_MODEL overrides it.
var ModelDir = "/usr/share/pocketsphinx/model/en-us"

// Command is the recogniser binary (Debian package pocketsphinx).
const Command = "pocketsphinx_batch"

//go:embed schema.json
var outputSchema []byte

// Output is the analyser's result: the transcript plus what the custom
// vocabulary and keyword options produced.
type Output struct {
	types.Transcript
	// LanguageModel is "generic", "domain" (built from domain_text) or
	// "media" (the second pass, taught by the media's own text).
	LanguageModel string `json:"language_model"`
	// Passes is 2 when the media's text taught a second decoding pass.
	Passes int `json:"passes,omitempty"`
	// FirstPass is the first pass's transcript when a second pass ran
	// (for measuring what the second pass changed; not serialised).
	FirstPass *types.Transcript `json:"-"`
	// Keywords are the places each requested keyword was recognised.
	Keywords []KeywordHit `json:"keywords,omitempty"`
}

// KeywordHit is one occurrence of a keyword. Source says who found it:
// "transcript" (the recognised words), "acoustic" (the keyword spotter,
// which searches the audio for the keyword's pronunciation whatever the
// language model) or "both". Confidence is the recognised words' mean
// confidence; the spotter gives none.
type KeywordHit struct {
	Keyword    string   `json:"keyword"`
	Start      float64  `json:"start"`
	End        float64  `json:"end"`
	Confidence *float64 `json:"confidence,omitempty"`
	Source     string   `json:"source"`
}

// VocabularyReport says which vocabulary words needed generated
// pronunciations and which the language model cannot produce; it travels
// with the transcript (types.Transcript.Vocabulary).
type VocabularyReport = types.VocabularyReport

// Options are the analyser's settings (Input.Options). Unknown keys are
// errors.
type Options struct {
	Vocabulary []string `json:"vocabulary,omitempty"`
	DomainText string   `json:"domain_text,omitempty"`
	Keywords   []string `json:"keywords,omitempty"`
	// MediaText is text the media itself shows or is named by (its file
	// name and title; on-screen text arrives as the ocr result): its words
	// join the vocabulary, and a second decoding pass uses it (see
	// Analyser.Transcribe).
	MediaText string `json:"media_text,omitempty"`
	// SecondPass: "auto" (default: decode again when there is media text),
	// "off".
	SecondPass string  `json:"second_pass,omitempty"`
	Language   string  `json:"language,omitempty"`    // "en" or "en-US" (the only model installed)
	Workers    int     `json:"workers,omitempty"`     // recogniser processes; default: the number of CPUs
	MaxSeconds float64 `json:"max_seconds,omitempty"` // longest audio accepted; default 4 h
	SegmentGap float64 `json:"segment_gap,omitempty"` // pause that ends a segment; default 0.5 s
	LMOrder    int     `json:"lm_order,omitempty"`    // domain model order, 2 or 3; default 3
	// KeywordThreshold is the keyword spotter's log10 detection threshold
	// per phone of a keyword (default -2: a ten-phone keyword needs
	// 1e-20); lower finds more and risks false hits.
	KeywordThreshold float64 `json:"keyword_threshold,omitempty"`
}

// Limits on options.
const (
	maxVocabulary = 5000
	maxDomainText = 4 << 20
	maxTermLen    = 200
)

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "vocabulary", Type: analyser.OptionStrings, Max: analyser.Bound(maxVocabulary), ItemMaxLen: maxTermLen,
		Description: "words and phrases to recognise (added to the dictionary and the domain language model)"},
	{Name: "domain_text", Type: analyser.OptionString, Max: analyser.Bound(maxDomainText),
		Description: "text in the media's domain; its sentences train the domain language model"},
	{Name: "keywords", Type: analyser.OptionStrings, Max: analyser.Bound(maxVocabulary), ItemMaxLen: maxTermLen,
		Description: "phrases to spot in the audio besides the transcript"},
	{Name: "media_text", Type: analyser.OptionString, Max: analyser.Bound(maxDomainText),
		Description: "text the media shows or is named by (file name, title); with on-screen text from the ocr result it teaches a second decoding pass its words"},
	{Name: "second_pass", Type: analyser.OptionString, Enum: []string{"auto", "off"}, Default: "auto",
		Description: "decode again with a language model taught by the media's own text (auto: when there is any)"},
	{Name: "keyword_threshold", Type: analyser.OptionNumber, Default: -2.0, Min: analyser.Bound(-10), Max: analyser.Bound(0), ExclusiveMax: true,
		Description: "keyword spotter's log10 detection threshold per phone (lower finds more and risks false hits)"},
	{Name: "language", Type: analyser.OptionString, Enum: []string{"en", "en-US"},
		Description: "language of the speech (the installed model is en-US)"},
	{Name: "workers", Type: analyser.OptionInteger, Min: analyser.Bound(1), Max: analyser.Bound(64),
		Description: "recogniser processes; absent: the number of CPUs"},
	{Name: "max_seconds", Type: analyser.OptionNumber, Default: 4 * 3600.0, Min: analyser.Bound(0), ExclusiveMin: true,
		Description: "longest audio accepted, in seconds (longer is Media.TooLarge)"},
	{Name: "segment_gap", Type: analyser.OptionNumber, Default: 0.5, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(10),
		Description: "pause that ends a segment, in seconds"},
	{Name: "lm_order", Type: analyser.OptionInteger, Default: 3, Min: analyser.Bound(2), Max: analyser.Bound(3),
		Description: "order of the domain language model"},
}

// ParseOptions decodes and checks raw options by the spec; errors name the
// analyser and the JSON pointer.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	spec := (&Analyser{}).Spec()
	if err := analyser.DecodeOptions(spec, raw, &o); err != nil {
		return o, err
	}
	var err error
	if o.Vocabulary, err = checkTerms(spec, "vocabulary", o.Vocabulary); err != nil {
		return o, err
	}
	if o.Keywords, err = checkTerms(spec, "keywords", o.Keywords); err != nil {
		return o, err
	}
	return o.withDefaults(), nil
}

// checkTerms trims each term and refuses those with nothing to recognise.
func checkTerms(spec analyser.Spec, key string, terms []string) ([]string, error) {
	out := terms[:0:0]
	for i, s := range terms {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, analyser.OptionError(spec, fmt.Sprintf("%s/%d", key, i), "must be a non-empty string")
		}
		if len(Sentences(s)) == 0 {
			return nil, analyser.OptionError(spec, fmt.Sprintf("%s/%d", key, i), "%q has no letters or digits to recognise", s)
		}
		out = append(out, s)
	}
	return out, nil
}

func (o Options) withDefaults() Options {
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Analyser is the pocketsphinx transcription analyser.
type Analyser struct {
	// Pronouncer gives pronunciations for words the dictionary lacks;
	// nil means espeak-ng.
	Pronouncer Pronouncer
	// VAD settings; the zero value means DefaultVAD.
	VAD VAD
	// Args are the recogniser's search settings; nil means DefaultArgs.
	Args []string
}

// DefaultArgs trade a little search width for speed: no second
// (flat-lexicon) pass, at most 2000 active HMMs and 5 word exits per
// frame. Measured on the two-voice test dialogue they cut CPU time by
// more than half against pocketsphinx's defaults at the same word error
// rate (generic and domain language model alike).
var DefaultArgs = []string{"-fwdflat", "no", "-maxhmmpf", "2000", "-maxwpf", "5"}

func init() { analyser.Register(&Analyser{}) }

// Spec describes the analyser.
func (a *Analyser) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskTranscribe,
		Provider:     "local",
		Summary:      "Offline English speech recognition with pocketsphinx: word times and confidences, custom vocabulary and domain language model, keyword spotting",
		Kinds:        []types.Kind{types.KindAudio, types.KindVideo},
		Requires:     []string{Command, "ffmpeg", "espeak-ng"},
		OutputSchema: outputSchema,
		Options:      optionsSpec,
	}
}

// AudioPath picks the audio to analyse: the media task's extracted track
// (Results["media"].audio_path) when present, else the input file.
func AudioPath(in *analyser.Input) (string, error) {
	if raw, ok := in.Results["media"]; ok && len(raw) > 0 && string(raw) != "null" {
		var m struct {
			AudioPath string `json:"audio_path"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return "", errcode.Wrap(errcode.Invalid, err, "/results/media: must be an object")
		}
		if m.AudioPath != "" {
			return m.AudioPath, nil
		}
	}
	if in.Path == "" {
		return "", errcode.New(errcode.Invalid, "/path: no media file given (and no /results/media/audio_path)")
	}
	return in.Path, nil
}

func modelDir() string {
	if d := os.Getenv("LANDFALL_POCKETSPHINX_MODEL"); d != "" {
		return d
	}
	return ModelDir
}

// model holds the installed model's file paths.
type model struct{ hmm, lm, dict string }

func findModel() (model, error) {
	d := modelDir()
	m := model{hmm: filepath.Join(d, "en-us"), lm: filepath.Join(d, "en-us.lm.bin"), dict: filepath.Join(d, "cmudict-en-us.dict")}
	for _, p := range []string{filepath.Join(m.hmm, "mdef"), m.lm, m.dict} {
		if _, err := os.Stat(p); err != nil {
			return m, errcode.New(errcode.ToolMissing, "pocketsphinx model file %s is missing: install the Debian package pocketsphinx-en-us", p)
		}
	}
	return m, nil
}

// Run transcribes the input.
func (a *Analyser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	return a.Transcribe(ctx, env, in)
}

// Transcribe is Run with a typed result.
func (a *Analyser) Transcribe(ctx context.Context, env *analyser.Env, in *analyser.Input) (*Output, error) {
	opts, err := ParseOptions(in.Options)
	if err != nil {
		return nil, err
	}
	path, err := AudioPath(in)
	if err != nil {
		return nil, err
	}
	if _, err := execx.LookPath(Command); err != nil {
		return nil, errcode.New(errcode.ToolMissing, "%s is not installed: install the Debian package pocketsphinx (apt-get install pocketsphinx pocketsphinx-en-us)", Command)
	}
	m, err := findModel()
	if err != nil {
		return nil, err
	}
	parent := ""
	if env != nil {
		parent = env.Workdir
	}
	work, err := os.MkdirTemp(parent, "transcribe-")
	if err != nil {
		return nil, fmt.Errorf("transcribe: scratch folder: %w", err)
	}
	defer os.RemoveAll(work)
	started := time.Now()

	pcm, err := OpenPCM(ctx, path)
	if err != nil {
		return nil, err
	}
	sp, err := Spool(ctx, pcm, filepath.Join(work, "audio.raw"), opts.MaxSeconds)
	cerr := pcm.Close()
	if err != nil {
		return nil, err
	}
	if cerr != nil {
		return nil, cerr
	}
	vad := a.VAD
	if vad == (VAD{}) {
		vad = DefaultVAD
	}
	chunks := Chunks(vad.Regions(sp.Energy), sp.Energy, 2000)
	env.Log().Debug("transcribe: audio spooled", "media_id", in.MediaID, "seconds", sp.Seconds(), "chunks", len(chunks))

	out := &Output{LanguageModel: "generic"}
	out.Engine = ID
	out.Language = "en-US"
	out.Duration = round3(sp.Seconds())

	args := a.Args
	if args == nil {
		args = DefaultArgs
	}
	dec := Decoder{Command: Command, HMM: m.hmm, LM: m.lm, Dict: m.dict, Workers: opts.Workers, Extra: args}
	casing, lex, err := a.adapt(ctx, &dec, m, opts, work, out)
	if err != nil {
		return nil, err
	}
	hyps, cpu, err := dec.Decode(ctx, sp.Path, chunks)
	if err != nil {
		return nil, err
	}
	Assemble(&out.Transcript, hyps, casing, opts.SegmentGap)
	if media := mediaText(opts, in); teaches(media) && opts.SecondPass != "off" && opts.DomainText == "" && len(out.Words) > 0 {
		// The media's own words (slides, file name, title) are not in the
		// generic model, and a model of them alone cannot say the rest.
		// The second pass decodes with a model of the first pass's
		// confident stretches and the media's text, whose vocabulary is
		// the first pass's words, the custom vocabulary and the media's
		// words: where the first pass was unsure, the media's terms can
		// now be heard.
		second := opts
		second.DomainText = confidentText(out.Words) + "\n" + media
		second.Vocabulary = append(append([]string(nil), opts.Vocabulary...), mediaTerms(media)...)
		for _, w := range out.Words {
			second.Vocabulary = append(second.Vocabulary, w.Text)
		}
		first := out.Transcript
		out2 := &Output{LanguageModel: "generic"}
		dec2 := Decoder{Command: Command, HMM: m.hmm, LM: m.lm, Dict: m.dict, Workers: opts.Workers, Extra: args}
		casing2, lex2, err := a.adapt(ctx, &dec2, m, second, work, out2)
		if err != nil {
			return nil, err
		}
		hyps2, cpu2, err := dec2.Decode(ctx, sp.Path, chunks)
		if err != nil {
			return nil, err
		}
		cpu += cpu2
		for w, c := range casing {
			if _, ok := casing2[w]; !ok {
				casing2[w] = c
			}
		}
		Assemble(&out.Transcript, hyps2, casing2, opts.SegmentGap)
		out.Transcript.Language, out.Transcript.Duration, out.Transcript.Engine = first.Language, first.Duration, first.Engine
		out.LanguageModel = "media"
		out.Passes = 2
		out.FirstPass = &first
		dec, lex = dec2, lex2
	}
	out.Keywords = FindKeywords(out.Words, opts.Keywords)
	if len(opts.Keywords) > 0 && len(chunks) > 0 {
		spots, kcpu, err := a.spot(ctx, dec, sp.Path, chunks, opts, lex, work)
		if err != nil {
			return nil, err
		}
		cpu += kcpu
		out.Keywords = MergeKeywordHits(out.Keywords, spots, out.Words, opts.Keywords, lex)
	}
	cpu += pcm.CPUSeconds()
	env.Record(analyser.Usage{Analyser: ID, CPUSeconds: cpu, AudioSeconds: sp.Seconds()})
	env.Log().Info("transcribe: done", "media_id", in.MediaID, "seconds", sp.Seconds(), "words", len(out.Words),
		"wall", time.Since(started).Round(time.Millisecond), "cpu_seconds", math.Round(cpu*100)/100, "lm", out.LanguageModel)
	return out, nil
}

// adapt builds the custom dictionary and language model when options ask
// for them, pointing dec at them; it returns the casing of vocabulary words.
func (a *Analyser) adapt(ctx context.Context, dec *Decoder, m model, opts Options, work string, out *Output) (map[string]string, Lexicon, error) {
	casing := map[string]string{}
	var terms []string
	terms = append(terms, opts.Vocabulary...)
	terms = append(terms, opts.Keywords...)
	var vocabWords []string
	for _, t := range terms {
		fields := strings.Fields(t)
		for _, s := range Sentences(t) {
			vocabWords = append(vocabWords, s...)
		}
		for _, f := range fields {
			f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if ws := Sentences(f); len(ws) == 1 && len(ws[0]) == 1 && f != strings.ToLower(f) {
				casing[ws[0][0]] = f
			}
		}
	}
	if opts.DomainText == "" && len(vocabWords) == 0 {
		return casing, nil, nil
	}
	pron := a.Pronouncer
	if pron == nil {
		pron = EspeakPronouncer{}
	}
	report := &VocabularyReport{}
	var lex Lexicon
	if opts.DomainText != "" {
		sents := Sentences(opts.DomainText)
		for _, t := range terms {
			sents = append(sents, Sentences(t)...)
		}
		lm, err := BuildLM(sents, opts.LMOrder, vocabWords)
		if err != nil {
			return nil, nil, errcode.Wrap(errcode.Invalid, err, "/options/domain_text")
		}
		var words []string
		for _, w := range lm.Vocabulary() {
			if w != SentStart && w != SentEnd {
				words = append(words, w)
			}
		}
		l, err := a.lexicon(ctx, m, words, pron, report)
		lex = l
		if err != nil {
			return nil, nil, err
		}
		dec.Dict = filepath.Join(work, "domain.dict")
		dec.LM = filepath.Join(work, "domain.lm")
		if err := writeFile(dec.Dict, func(w io.Writer) error { return lex.WriteDict(w, words) }); err != nil {
			return nil, nil, err
		}
		if err := writeFile(dec.LM, lm.WriteARPA); err != nil {
			return nil, nil, err
		}
		out.LanguageModel = "domain"
	} else {
		l, err := a.lexicon(ctx, m, vocabWords, pron, report)
		lex = l
		if err != nil {
			return nil, nil, err
		}
		if len(report.Pronounced) > 0 {
			// The full dictionary plus the new words.
			dec.Dict = filepath.Join(work, "adapted.dict")
			added := make([]string, 0, len(report.Pronounced))
			for w := range report.Pronounced {
				added = append(added, w)
			}
			if err := writeFile(dec.Dict, func(w io.Writer) error {
				src, err := os.Open(m.dict)
				if err != nil {
					return err
				}
				defer src.Close()
				if _, err := io.Copy(w, src); err != nil {
					return err
				}
				return lex.WriteDict(w, added)
			}); err != nil {
				return nil, nil, err
			}
		}
		gv, err := genericVocabulary(m.lm)
		if err != nil {
			return nil, nil, errcode.Wrap(errcode.ToolFailed, err, "reading the generic language model's vocabulary")
		}
		seen := map[string]bool{}
		for _, w := range vocabWords {
			if !gv[w] && !seen[w] {
				seen[w] = true
				report.Unreachable = append(report.Unreachable, w)
			}
		}
		sort.Strings(report.Unreachable)
	}
	if len(report.Pronounced) > 0 || len(report.Unreachable) > 0 {
		out.Vocabulary = report
	}
	return casing, lex, nil
}

// lexicon returns pronunciations of words: the CMU dictionary's, and the
// pronouncer's for the rest (listed in report.Pronounced).
func (a *Analyser) lexicon(ctx context.Context, m model, words []string, pron Pronouncer, report *VocabularyReport) (Lexicon, error) {
	need := make(map[string]bool, len(words))
	for _, w := range words {
		need[w] = true
	}
	f, err := os.Open(m.dict)
	if err != nil {
		return nil, errcode.Wrap(errcode.ToolMissing, err, "pocketsphinx dictionary")
	}
	lex, err := LoadLexicon(f, need)
	f.Close()
	if err != nil {
		return nil, errcode.Wrap(errcode.ToolFailed, err, "reading %s", m.dict)
	}
	var oov []string
	for w := range need {
		if _, ok := lex[w]; !ok {
			oov = append(oov, w)
		}
	}
	sort.Strings(oov)
	if len(oov) == 0 {
		return lex, nil
	}
	ps, err := pron.Pronounce(ctx, oov)
	if err != nil {
		return nil, err
	}
	report.Pronounced = map[string]string{}
	for _, w := range oov {
		p := ps[w]
		if p == "" {
			p = SpellingPronunciation(w)
		}
		lex[w] = []string{p}
		report.Pronounced[w] = p
	}
	return lex, nil
}

// minMediaWords is the fewest distinct words of media text that teach a
// second pass: slides give dozens, a file name alone (two or three words)
// is too little to build a language model from — on the real recordings
// it made recognition worse — so it only joins the vocabulary.
const minMediaWords = 8

// teaches reports media text with enough distinct words for a second pass.
func teaches(media string) bool {
	seen := map[string]bool{}
	for _, s := range Sentences(media) {
		for _, w := range s {
			seen[w] = true
		}
	}
	return len(seen) >= minMediaWords
}

// mediaText gathers the text the media shows or is named by: the
// media_text option (file name, title) and the on-screen text of an ocr
// result read before transcription.
func mediaText(opts Options, in *analyser.Input) string {
	var parts []string
	if t := strings.TrimSpace(opts.MediaText); t != "" {
		parts = append(parts, t)
	}
	if raw, ok := in.Results[analyser.TaskOCR]; ok {
		var texts []types.OCRText
		if err := json.Unmarshal(unwrapTexts(raw), &texts); err == nil {
			for _, o := range texts {
				if o.Confidence == 0 || o.Confidence >= 60 {
					parts = append(parts, o.Text)
				}
			}
		}
	}
	return strings.Join(parts, "\n")
}

// unwrapTexts returns the list inside an ocr result ({"texts": [...]}) or
// the value itself.
func unwrapTexts(raw json.RawMessage) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) == nil {
		if v, ok := m["texts"]; ok {
			return v
		}
	}
	return raw
}

// mediaTerms are the media text's words, as vocabulary terms. Slides and
// titles capitalise ordinary words ("The Great Barrier Reef"), so only
// words in an unusual case ("AWS", "OpenAI") keep theirs, which the
// transcript then shows; the readable pass gives names their case from
// the entities and the screen.
func mediaTerms(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		for _, f := range strings.Fields(line) {
			f = strings.TrimFunc(f, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if len(Sentences(f)) == 0 {
				continue
			}
			if !unusualCase(f) {
				f = strings.ToLower(f)
			}
			out = append(out, f)
		}
	}
	return out
}

// unusualCase reports a word with a capital after its first letter.
func unusualCase(w string) bool {
	for i, r := range w {
		if i > 0 && unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// confidentText is the recognised words as lines of confident stretches:
// a word under half confidence ends a line and is left out.
func confidentText(ws []types.Word) string {
	var b strings.Builder
	run := 0
	for _, w := range ws {
		if w.Confidence < 0.5 {
			if run > 0 {
				b.WriteByte('\n')
			}
			run = 0
			continue
		}
		if run > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
		run++
	}
	return b.String()
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Assemble fills t's words, segments and text from recognised words: a
// segment ends at a pause of at least gap seconds; vocabulary words take
// their given casing and segment text starts with a capital and ends
// with a full stop.
func Assemble(t *types.Transcript, hyps []Hyp, casing map[string]string, gap float64) {
	t.Words = make([]types.Word, 0, len(hyps))
	t.Segments = []types.Segment{}
	for _, h := range hyps {
		text := Cased(h.Word, casing)
		t.Words = append(t.Words, types.Word{Text: text, Start: round3(h.Start), End: round3(h.End), Confidence: round3(h.Confidence)})
	}
	var texts []string
	flush := func(first, n int) {
		if n == 0 {
			return
		}
		ws := make([]string, n)
		for i := range ws {
			ws[i] = t.Words[first+i].Text
		}
		s := strings.Join(ws, " ")
		r, size := utf8.DecodeRuneInString(s)
		s = string(unicode.ToUpper(r)) + s[size:] + "."
		t.Segments = append(t.Segments, types.Segment{
			ID: len(t.Segments), Start: t.Words[first].Start, End: t.Words[first+n-1].End,
			Text: s, FirstWord: first, WordCount: n,
		})
		texts = append(texts, s)
	}
	first := 0
	for i := 1; i <= len(t.Words); i++ {
		if i == len(t.Words) || t.Words[i].Start-t.Words[i-1].End >= gap || i-first >= 60 {
			flush(first, i-first)
			first = i
		}
	}
	t.Text = strings.Join(texts, " ")
}

// Cased spells a recognised word as the vocabulary does, and "i" (and
// "i'm", "i'll"…) with a capital.
func Cased(word string, casing map[string]string) string {
	if c, ok := casing[word]; ok {
		return c
	}
	if word == "i" || strings.HasPrefix(word, "i'") {
		return "I" + word[1:]
	}
	return word
}

// spot runs the keyword spotter for the keywords with pronunciations.
func (a *Analyser) spot(ctx context.Context, dec Decoder, raw string, chunks []Region, opts Options, lex Lexicon, work string) ([]Spot, float64, error) {
	var b strings.Builder
	seen := map[string]bool{}
	for _, k := range opts.Keywords {
		words := keywordWords(k)
		phones := 0
		for _, w := range words {
			if p := lex[w]; len(p) > 0 {
				phones += len(strings.Fields(p[0]))
			} else {
				phones = -1 // no pronunciation: cannot be spotted
				break
			}
		}
		phrase := strings.Join(words, " ")
		if phones <= 0 || seen[phrase] {
			continue
		}
		seen[phrase] = true
		exp := math.Max(-50, math.Min(-5, opts.KeywordThreshold*float64(phones)))
		fmt.Fprintf(&b, "%s /1e%d/\n", phrase, int(math.Round(exp)))
	}
	if b.Len() == 0 {
		return nil, 0, nil
	}
	path := filepath.Join(work, "keywords.kws")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return nil, 0, err
	}
	dec.Extra = nil
	return dec.Spot(ctx, raw, chunks, path)
}

func keywordWords(k string) []string {
	var seq []string
	for _, s := range Sentences(k) {
		seq = append(seq, s...)
	}
	return seq
}

// MergeKeywordHits adds the spotter's detections to the transcript's
// keyword hits: a detection overlapping a transcript hit of the same
// keyword marks it "both"; the rest become "acoustic" hits, their end
// estimated from the keyword's phone count (75 ms a phone) and snapped to
// the recognised word spanning that time.
func MergeKeywordHits(hits []KeywordHit, spots []Spot, words []types.Word, keywords []string, lex Lexicon) []KeywordHit {
	byPhrase := map[string]string{}
	phones := map[string]int{}
	for _, k := range keywords {
		ws := keywordWords(k)
		p := strings.Join(ws, " ")
		if _, ok := byPhrase[p]; !ok {
			byPhrase[p] = k
		}
		for _, w := range ws {
			if pr := lex[w]; len(pr) > 0 {
				phones[p] += len(strings.Fields(pr[0]))
			}
		}
	}
	for _, s := range spots {
		k, ok := byPhrase[s.Phrase]
		if !ok {
			continue
		}
		end := s.End
		if end <= s.Start {
			end = s.Start + 0.075*float64(max(phones[s.Phrase], 2))
			for _, w := range words {
				if w.Start <= end && w.End >= end && w.End > s.Start {
					end = w.End
					break
				}
			}
		}
		matched := false
		for i := range hits {
			if keywordKey(hits[i].Keyword) == s.Phrase && hits[i].Start < end && s.Start < hits[i].End {
				if hits[i].Source == "transcript" {
					hits[i].Source = "both"
				}
				matched = true
			}
		}
		if !matched {
			hits = append(hits, KeywordHit{Keyword: k, Start: round3(s.Start), End: round3(end), Source: "acoustic"})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Start < hits[j].Start })
	return hits
}

func keywordKey(k string) string { return strings.Join(keywordWords(k), " ") }

// FindKeywords returns each place a keyword's words were recognised in a
// row, in time order.
func FindKeywords(words []types.Word, keywords []string) []KeywordHit {
	var hits []KeywordHit
	lower := make([]string, len(words))
	for i, w := range words {
		lower[i] = strings.ToLower(w.Text)
	}
	for _, k := range keywords {
		seq := keywordWords(k)
		if len(seq) == 0 {
			continue
		}
	next:
		for i := 0; i+len(seq) <= len(words); i++ {
			var conf float64
			for j, w := range seq {
				if lower[i+j] != w {
					continue next
				}
				conf += words[i+j].Confidence
			}
			c := round3(conf / float64(len(seq)))
			hits = append(hits, KeywordHit{Keyword: k, Start: words[i].Start, End: words[i+len(seq)-1].End,
				Confidence: &c, Source: "transcript"})
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Start < hits[j].Start })
	return hits
}

var _ analyser.Analyser = (*Analyser)(nil)

// Prepared are the recogniser's files for one set of options: the
// acoustic model, and the language model and dictionary the custom
// vocabulary and domain text built (the installed ones without them).
type Prepared struct {
	HMM, LM, Dict string
	// LanguageModel is "generic" or "domain".
	LanguageModel string
	// Casing maps recogniser words to the vocabulary's spelling.
	Casing map[string]string
	// Vocabulary reports the custom vocabulary's effect (nil when none).
	Vocabulary *VocabularyReport
}

// Prepare builds the dictionary and language model opts ask for in work
// (which must exist and outlive their use), as a transcription would, for
// recognisers other than pocketsphinx_batch (the incremental one of live
// captions).
func (a *Analyser) Prepare(ctx context.Context, opts Options, work string) (*Prepared, error) {
	m, err := findModel()
	if err != nil {
		return nil, err
	}
	out := &Output{LanguageModel: "generic"}
	dec := Decoder{HMM: m.hmm, LM: m.lm, Dict: m.dict}
	casing, _, err := a.adapt(ctx, &dec, m, opts, work, out)
	if err != nil {
		return nil, err
	}
	return &Prepared{HMM: dec.HMM, LM: dec.LM, Dict: dec.Dict, LanguageModel: out.LanguageModel, Casing: casing, Vocabulary: out.Vocabulary}, nil
}

// FrameEnergy is a frame of s16le samples' mean power in dBFS (-100 for
// digital silence), the measure the voice activity detector works on.
func FrameEnergy(b []byte) float32 { return frameEnergy(b) }
