// Package language detects the language of a media item's transcript and
// on-screen text offline with lingua-go, over a small configured set of
// languages (the full set needs about 2 GB of memory).
package language

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pemistahl/lingua-go"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/types"
)

//go:embed language.schema.json
var schema []byte

// DefaultLanguages is the set detected when the options name none.
var DefaultLanguages = []string{"en", "fr", "de", "es", "it", "pt", "nl"}

// Options are the language task's options.
type Options struct {
	// Languages are ISO 639-1 codes to choose among (at least two).
	Languages []string `json:"languages,omitempty"`
}

// Result is the task's output: the best language and the ranked
// candidates.
type Result struct {
	types.Language
	Candidates []Candidate `json:"candidates"`
	Words      int         `json:"words"` // words the decision was made on
}

// Candidate is one language and its confidence 0..1.
type Candidate struct {
	Code       string  `json:"code"`
	Confidence float64 `json:"confidence"`
}

// Detector is the lingua-go language analyser.
type Detector struct{}

// Spec describes the analyser.
func (Detector) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           "analyser.language.lingua",
		Task:         analyser.TaskLanguage,
		Provider:     "local",
		Summary:      "language of the transcript and on-screen text (lingua-go, offline, configured language set)",
		OutputSchema: schema,
		Options: []analyser.Option{
			{Name: "languages", Type: analyser.OptionStrings, Min: analyser.Bound(2), Max: analyser.Bound(100), ItemMaxLen: 3,
				Example:     []string{"en", "de", "fr", "pt", "es"},
				Description: "ISO 639-1 codes to choose among; absent: " + strings.Join(DefaultLanguages, ", ")},
		},
	}
}

// minWords is the least text worth deciding on; shorter input is "und".
const minWords = 3

// Run detects the language of the transcript and OCR text in in.Results.
func (d Detector) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	start := time.Now()
	var opt Options
	if err := analyser.DecodeOptions(d.Spec(), in.Options, &opt); err != nil {
		return nil, err
	}
	langs := opt.Languages
	if len(langs) == 0 {
		langs = DefaultLanguages
	}
	det, err := detectorFor(langs)
	if err != nil {
		return nil, err
	}
	speech, screen := texts(in.Results)
	text, source := speech, "transcript"
	switch {
	case len(strings.Fields(speech)) >= minWords && len(strings.Fields(screen)) >= minWords:
		text, source = speech+"\n"+screen, "both"
	case len(strings.Fields(speech)) < minWords:
		text, source = screen, "ocr"
	}
	res := Detect(det, text)
	res.Source = source
	env.Record(analyser.Usage{Analyser: d.Spec().ID, CPUSeconds: time.Since(start).Seconds()})
	return res, nil
}

// Detect ranks the detector's languages for text.
func Detect(det lingua.LanguageDetector, text string) *Result {
	n := len(strings.Fields(text))
	res := &Result{Language: types.Language{Code: "und"}, Candidates: []Candidate{}, Words: n}
	if n < minWords {
		return res
	}
	for _, cv := range det.ComputeLanguageConfidenceValues(text) {
		res.Candidates = append(res.Candidates, Candidate{
			Code:       strings.ToLower(cv.Language().IsoCode639_1().String()),
			Confidence: math.Round(cv.Value()*1000) / 1000,
		})
	}
	sort.SliceStable(res.Candidates, func(i, j int) bool { return res.Candidates[i].Confidence > res.Candidates[j].Confidence })
	if len(res.Candidates) > 0 && res.Candidates[0].Confidence > 0 {
		res.Code, res.Confidence = res.Candidates[0].Code, res.Candidates[0].Confidence
	}
	return res
}

var (
	mu        sync.Mutex
	detectors = map[string]lingua.LanguageDetector{}
)

// detectorFor builds (once per set) a detector over the given ISO 639-1
// codes.
func detectorFor(codes []string) (lingua.LanguageDetector, error) {
	if len(codes) < 2 {
		return nil, analyser.OptionError(Detector{}.Spec(), "languages", "needs at least two languages")
	}
	var langs []lingua.Language
	var keys []string
	for i, c := range codes {
		l := lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(strings.ToUpper(c)))
		if l == lingua.Unknown {
			return nil, analyser.OptionError(Detector{}.Spec(), fmt.Sprintf("languages/%d", i), "unknown ISO 639-1 code %q", c)
		}
		langs = append(langs, l)
		keys = append(keys, strings.ToLower(c))
	}
	sort.Strings(keys)
	key := strings.Join(keys, ",")
	mu.Lock()
	defer mu.Unlock()
	if d, ok := detectors[key]; ok {
		return d, nil
	}
	d := lingua.NewLanguageDetectorBuilder().FromLanguages(langs...).WithLowAccuracyMode().Build()
	detectors[key] = d
	return d, nil
}

// texts returns the transcript text and the OCR text from earlier results.
func texts(results map[string]json.RawMessage) (speech, screen string) {
	if raw, ok := results[analyser.TaskTranscribe]; ok {
		var tr struct {
			Text       string `json:"text"`
			Transcript *struct {
				Text string `json:"text"`
			} `json:"transcript"`
		}
		if json.Unmarshal(raw, &tr) == nil {
			speech = tr.Text
			if speech == "" && tr.Transcript != nil {
				speech = tr.Transcript.Text
			}
		}
	}
	if raw, ok := results[analyser.TaskOCR]; ok {
		var list []types.OCRText
		if json.Unmarshal(raw, &list) != nil {
			var wrapped struct {
				Texts []types.OCRText `json:"texts"`
			}
			if json.Unmarshal(raw, &wrapped) == nil {
				list = wrapped.Texts
			}
		}
		var b strings.Builder
		for _, t := range list {
			fmt.Fprintln(&b, t.Text)
		}
		screen = b.String()
	}
	return speech, screen
}

func init() { analyser.Register(Detector{}) }

var _ analyser.Analyser = Detector{}
