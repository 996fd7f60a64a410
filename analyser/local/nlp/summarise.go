package nlp

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

var insightsSchema = types.InsightsSchema

// SummariseOptions are the summarise task's options.
type SummariseOptions struct {
	MaxSummaryWords int `json:"max_summary_words,omitempty"` // default and ceiling 80
	MaxTopics       int `json:"max_topics,omitempty"`        // default 8
	MaxChapters     int `json:"max_chapters,omitempty"`      // default 12
	// Profile names an insight profile (analyser/profile) to fill besides
	// the summary: what can be computed offline, the rest marked not
	// available.
	Profile string `json:"profile,omitempty"`
}

// Summariser is the local summarise analyser.
type Summariser struct{}

// Spec describes the analyser.
func (Summariser) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           "analyser.summarise.local",
		Task:         analyser.TaskSummarise,
		Provider:     "local",
		Summary:      "extractive summary, chapters by topic segmentation, key phrases, entities and an SEO description, offline",
		OutputSchema: insightsSchema,
		Options: []analyser.Option{
			{Name: "max_summary_words", Type: analyser.OptionInteger, Default: 80, Min: analyser.Bound(1), Max: analyser.Bound(80),
				Description: "longest summary, in words"},
			{Name: "max_topics", Type: analyser.OptionInteger, Default: 8, Min: analyser.Bound(1), Max: analyser.Bound(50),
				Description: "most topics listed"},
			{Name: "max_chapters", Type: analyser.OptionInteger, Default: 12, Min: analyser.Bound(1), Max: analyser.Bound(100),
				Description: "most chapters made"},
			{Name: "profile", Type: analyser.OptionString, Enum: profile.Names(),
				Description: "insight profile to fill besides the summary (fields not computable offline are marked not available)"},
		},
	}
}

// Run builds the insights document from the transcript and on-screen text
// in in.Results, and carries over the labels, moderation, OCR, faces and
// language sections of the earlier analysers.
func (s Summariser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	start := time.Now()
	var opt SummariseOptions
	if err := analyser.DecodeOptions(s.Spec(), in.Options, &opt); err != nil {
		return nil, err
	}
	src, err := collect(in.Results)
	if err != nil {
		return nil, err
	}
	ins := Build(src, opt)
	if opt.Profile != "" {
		p, err := profile.Find(opt.Profile)
		if err != nil {
			return nil, err
		}
		if ins.Profile, err = LocalProfile(p, src, ins); err != nil {
			return nil, err
		}
	}
	env.Record(analyser.Usage{Analyser: s.Spec().ID, CPUSeconds: time.Since(start).Seconds()})
	return ins, nil
}

// Sources are what the summariser reads.
type Sources struct {
	Transcript *types.Transcript
	OCR        []types.OCRText
	Labels     []types.Label
	Moderation []types.Moderation
	Faces      *types.Faces
	Language   *types.Language
}

// Build computes the insights document from sources.
func Build(src Sources, opt SummariseOptions) *types.Insights {
	ins, _ := BuildReport(src, opt)
	return ins
}

// BuildReport is Build, also saying where the summary came from.
//
// Every signal is weighed by how much it can be trusted: on-screen text
// (near perfect on slides) and confident visual labels above the
// recognised words, and the words the recogniser was unsure of (confidence
// below LowConfidence, confirmed by no other signal) least. Unsure words
// never reach the summary when a better source exists, and never make
// topics, entities or chapter titles: those are drawn from the screen and
// from the speech cut at unsure words. Slide titles name chapters; each
// entity carries the times it is said or shown; the SEO description is
// written for search from the title, topics and names rather than copied
// from the summary.
func BuildReport(src Sources, opt SummariseOptions) (*types.Insights, Report) {
	if opt.MaxSummaryWords <= 0 || opt.MaxSummaryWords > 80 {
		opt.MaxSummaryWords = 80
	}
	if opt.MaxTopics <= 0 {
		opt.MaxTopics = 8
	}
	sg := gatherSignals(src)
	// Entities, topics and titles come from text nothing doubts.
	sure := append(append([]Sentence(nil), sg.screen...), sg.clean...)
	ents := ExtractEntities(sure)
	exclude := excludeNames(ents)
	keys := keyPhrases(sure, opt.MaxTopics, exclude)
	ins := &types.Insights{
		Chapters:   []types.Chapter{},
		Topics:     make([]string, 0, len(keys)),
		Entities:   ents,
		Labels:     src.Labels,
		Moderation: src.Moderation,
		OCR:        src.OCR,
		Faces:      src.Faces,
		Language:   src.Language,
	}
	for _, k := range keys {
		ins.Topics = append(ins.Topics, k.Text)
	}
	summary, rep := pickSummary(sg, keys, opt.MaxSummaryWords)
	ins.Summary = recase(summary, ents)
	if ins.Summary == "" && len(src.Labels) > 0 {
		ins.Summary = labelSummary(src.Labels)
	}
	if src.Transcript != nil && len(sg.speech) > 0 {
		// Slides give better chapters than lexical cohesion when there are
		// any; a talking head or podcast falls back to TextTiling, titled
		// from the confident words of each chapter.
		ins.Chapters = ScreenChapters(src.OCR, sg.speech, 3)
		if ins.Chapters == nil {
			ins.Chapters = Chapters(sg.speech, src.Transcript.Duration, ChapterOptions{MaxChapters: opt.MaxChapters, Exclude: exclude, titleFrom: sg.clean})
		}
	}
	title := ""
	if len(sg.screen) > 0 {
		title = ScreenTitle(src.OCR)
	}
	if title == "" && len(ins.Chapters) > 1 {
		title = ins.Chapters[0].Title
	}
	ins.SEODescription = seoDescription(title, ins.Topics, ents, ins.Summary)
	ins.Mentions = mentions(ents, src.Transcript, src.OCR)
	fillEntities(&ins.Entities)
	return ins, rep
}

// BuildSpeechFirst is the summariser before it weighed its sources: the
// summary is lifted from the recognised speech whatever its confidence,
// and the SEO line is the summary's opening. It is kept to measure the
// difference (the quality table's "before"); nothing in the pipeline
// calls it.
func BuildSpeechFirst(src Sources, opt SummariseOptions) (*types.Insights, Report) {
	if opt.MaxSummaryWords <= 0 || opt.MaxSummaryWords > 80 {
		opt.MaxSummaryWords = 80
	}
	if opt.MaxTopics <= 0 {
		opt.MaxTopics = 8
	}
	speech := SentencesFromTranscript(src.Transcript)
	var screen []Sentence
	for _, o := range src.OCR {
		screen = append(screen, SentencesFromText(o.Text)...)
	}
	all := append(append([]Sentence(nil), speech...), screen...)
	ents := ExtractEntities(all)
	exclude := excludeNames(ents)
	keys := keyPhrases(all, opt.MaxTopics, exclude)
	ins := &types.Insights{Chapters: []types.Chapter{}, Topics: []string{}, Entities: ents}
	for _, k := range keys {
		ins.Topics = append(ins.Topics, k.Text)
	}
	base := speech
	if len(base) == 0 {
		base = screen
	}
	ins.Summary = recase(Summarise(base, keys, opt.MaxSummaryWords), ents)
	ins.SEODescription = SEODescription(ins.Summary, ins.Topics)
	fillEntities(&ins.Entities)
	// Attribute the summary's words back to the speech sentences it took.
	rep := Report{SummaryWords: countWords(ins.Summary)}
	trusted := gatherSignals(src).trusted
	for _, s := range speech {
		if strings.Contains(strings.ToLower(ins.Summary), strings.ToLower(s.Text)) {
			rep.SpeechSentences++
			for _, w := range s.words {
				if unsure(w, trusted) {
					rep.UnsureSummaryWords++
				}
			}
		}
	}
	return ins, rep
}

func excludeNames(ents types.Entities) map[string]bool {
	// People's names are entities, not topics.
	exclude := map[string]bool{}
	for _, p := range ents.People {
		exclude[strings.ToLower(p)] = true
		for _, w := range strings.Fields(strings.ToLower(p)) {
			exclude[w] = true
		}
	}
	return exclude
}

func labelSummary(labels []types.Label) string {
	names := make([]string, 0, 5)
	for i, l := range labels {
		if i == 5 {
			break
		}
		names = append(names, strings.ToLower(l.Name))
	}
	return sentenceCase("Shows " + strings.Join(names, ", "))
}

func fillEntities(e *types.Entities) {
	if e.People == nil {
		e.People = []string{}
	}
	if e.Organisations == nil {
		e.Organisations = []string{}
	}
	if e.Places == nil {
		e.Places = []string{}
	}
}

// recase writes the entities found in s with their display case
// ("maria garcia" → "Maria Garcia"): recognisers without case write names
// in lower case.
func recase(s string, e types.Entities) string {
	if s == "" {
		return s
	}
	var all []string
	all = append(append(append(all, e.People...), e.Organisations...), e.Places...)
	sort.Slice(all, func(i, j int) bool { return len(all[i]) > len(all[j]) })
	lower := strings.ToLower(s)
	out := []byte(s)
	for _, name := range all {
		ln := strings.ToLower(name)
		if len(ln) != len(name) {
			continue
		}
		for from := 0; ; {
			i := strings.Index(lower[from:], ln)
			if i < 0 {
				break
			}
			i += from
			end := i + len(ln)
			if (i == 0 || !isWordByte(lower[i-1])) && (end == len(lower) || !isWordByte(lower[end])) {
				copy(out[i:end], name)
			}
			from = end
		}
	}
	return string(out)
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b >= 0x80
}

// SEODescription is a description of at most 160 characters: the summary's
// opening, or the topics when there is no summary.
func SEODescription(summary string, topics []string) string {
	if summary == "" {
		if len(topics) == 0 {
			return ""
		}
		return truncateChars(sentenceCase("About "+strings.Join(topics, ", ")), 160)
	}
	return truncateChars(summary, 160)
}

// collect decodes the earlier analysers' outputs. Each may be the bare
// value or an object wrapping it (e.g. {"texts": [...]}).
func collect(results map[string]json.RawMessage) (Sources, error) {
	var src Sources
	if raw, ok := results[analyser.TaskTranscribe]; ok && !isNull(raw) {
		var tr types.Transcript
		if err := json.Unmarshal(unwrap(raw, "transcript"), &tr); err != nil {
			return src, errcode.New(errcode.Invalid, "results/transcribe: not a transcript: %v", err)
		}
		src.Transcript = &tr
	}
	if raw, ok := results[analyser.TaskOCR]; ok && !isNull(raw) {
		if err := json.Unmarshal(unwrap(raw, "texts", "items", "ocr"), &src.OCR); err != nil {
			return src, errcode.New(errcode.Invalid, "results/ocr: not a list of texts: %v", err)
		}
	}
	if raw, ok := results[analyser.TaskLabels]; ok && !isNull(raw) {
		if err := json.Unmarshal(unwrap(raw, "labels"), &src.Labels); err != nil {
			return src, errcode.New(errcode.Invalid, "results/labels: %v", err)
		}
	}
	if raw, ok := results["moderation"]; ok && !isNull(raw) {
		if err := json.Unmarshal(unwrap(raw, "moderation", "labels"), &src.Moderation); err != nil {
			return src, errcode.New(errcode.Invalid, "results/moderation: %v", err)
		}
	}
	if raw, ok := results[analyser.TaskFaces]; ok && !isNull(raw) {
		var f types.Faces
		if err := json.Unmarshal(unwrap(raw, "faces"), &f); err != nil {
			return src, errcode.New(errcode.Invalid, "results/faces: %v", err)
		}
		src.Faces = &f
	}
	if raw, ok := results[analyser.TaskLanguage]; ok && !isNull(raw) {
		var l types.Language
		if err := json.Unmarshal(unwrap(raw, "language"), &l); err != nil {
			return src, errcode.New(errcode.Invalid, "results/language: %v", err)
		}
		src.Language = &l
	}
	return src, nil
}

func isNull(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) == 0 || string(t) == "null"
}

// unwrap returns the value under the first of keys when raw is an object
// holding one of them, else raw itself.
func unwrap(raw json.RawMessage, keys ...string) json.RawMessage {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || t[0] != '{' {
		return raw
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(t, &m) != nil {
		return raw
	}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return v
		}
	}
	return raw
}

func init() { analyser.Register(Summariser{}) }

var _ analyser.Analyser = Summariser{}
