// Package llm holds what every language-model summarise provider shares:
// the prompt, the response schema, validation of the model's JSON against
// the insights schema with one repair, map-reduce over speaker turns
// within a token budget, and snapping chapters onto sentence starts.
package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Insights is the part of the insights document a model writes.
type Insights struct {
	Summary        string          `json:"summary"`
	Chapters       []types.Chapter `json:"chapters"`
	Topics         []string        `json:"topics"`
	Entities       types.Entities  `json:"entities"`
	SEODescription string          `json:"seo_description"`
}

// ResponseSchema is the strict schema sent to models (structured outputs
// and tool inputs need every property listed and no extras).
var ResponseSchema = json.RawMessage(`{
 "type":"object","additionalProperties":false,
 "required":["summary","chapters","topics","entities","seo_description"],
 "properties":{
  "summary":{"type":"string"},
  "chapters":{"type":"array","items":{"type":"object","additionalProperties":false,"required":["title","start_seconds"],
    "properties":{"title":{"type":"string"},"start_seconds":{"type":"number"}}}},
  "topics":{"type":"array","items":{"type":"string"}},
  "entities":{"type":"object","additionalProperties":false,"required":["people","organisations","places"],
    "properties":{"people":{"type":"array","items":{"type":"string"}},"organisations":{"type":"array","items":{"type":"string"}},
      "places":{"type":"array","items":{"type":"string"}}}},
  "seo_description":{"type":"string"}}}`)

// SystemPrompt instructs the model.
const SystemPrompt = `You write the insights document for a media file from its transcript and on-screen text.
Reply with JSON only, matching the schema:
- summary: at most 80 words, plain prose, no lists.
- chapters: topic chapters in time order; start_seconds must be one of the [seconds] marks given in the transcript.
- topics: 3 to 8 short key phrases.
- entities: people, organisations and places named in the media (names only, as written).
- seo_description: at most 160 characters.`

// Message is one chat turn.
type Message struct {
	Role    string // "system", "user" or "assistant"
	Content string
}

// Caller sends one conversation to a model and returns its reply text.
// It records tokens in usage.
type Caller func(ctx context.Context, msgs []Message, usage *analyser.Usage) (string, error)

var compiled = func() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(types.InsightsSchema))
	if err != nil {
		panic(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("insights.json", doc); err != nil {
		panic(err)
	}
	return c.MustCompile("insights.json")
}()

// Check validates a model's reply: JSON, the word and character limits
// (checked first: their messages are the clearest repair hints), then the
// insights schema.
func Check(content string) (*Insights, error) {
	content = strings.TrimSpace(content)
	content = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(content, "```"), "```json"))
	var out Insights
	if err := json.Unmarshal([]byte(content), &out); err != nil {
		return nil, fmt.Errorf("not an insights document: %v", err)
	}
	if n := len(strings.Fields(out.Summary)); n > 80 {
		return nil, fmt.Errorf("/summary has %d words, the limit is 80", n)
	}
	if len(out.SEODescription) > 160 {
		return nil, fmt.Errorf("/seo_description has %d characters, the limit is 160", len(out.SEODescription))
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(content))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %v", err)
	}
	if err := compiled.Validate(inst); err != nil {
		return nil, fmt.Errorf("schema: %v", err)
	}
	return &out, nil
}

// Ask sends prompt, validates the reply and asks once for a repair; a
// second invalid reply is Provider.BadOutput.
func Ask(ctx context.Context, call Caller, usage *analyser.Usage, prompt string) (*Insights, error) {
	msgs := []Message{{Role: "system", Content: SystemPrompt}, {Role: "user", Content: prompt}}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		content, err := call(ctx, msgs, usage)
		if err != nil {
			return nil, err
		}
		out, err := Check(content)
		if err == nil {
			return out, nil
		}
		lastErr = err
		msgs = append(msgs, Message{Role: "assistant", Content: content},
			Message{Role: "user", Content: "That reply is invalid: " + err.Error() + ". Reply again with corrected JSON only."})
	}
	return nil, errcode.New(errcode.ProviderBadOutput, "the model's insights failed validation after one repair: %v", lastErr)
}

// ApproxTokens estimates tokens as a quarter of the bytes, the usual rule
// of thumb for English with BPE tokenisers.
func ApproxTokens(s string) int { return (len(s) + 3) / 4 }

// Summarise builds the insights from a transcript and on-screen text. Input
// over budget tokens is map-reduced: each chunk of whole speaker turns is
// summarised on its own, then one more call merges the partial documents.
func Summarise(ctx context.Context, call Caller, usage *analyser.Usage, tr *types.Transcript, screen []string, budget int) (*types.Insights, error) {
	lines := TranscriptLines(tr)
	onScreen := strings.Join(screen, "\n")
	var out *Insights
	var err error
	if ApproxTokens(strings.Join(lines, "\n")+onScreen) <= budget {
		out, err = Ask(ctx, call, usage, "Transcript:\n"+strings.Join(lines, "\n")+"\n\nOn-screen text:\n"+onScreen)
	} else {
		var partials []string
		for i, chunk := range ChunkLines(lines, budget) {
			p, err := Ask(ctx, call, usage, fmt.Sprintf("Part %d of a longer transcript:\n%s", i+1, strings.Join(chunk, "\n")))
			if err != nil {
				return nil, err
			}
			b, _ := json.Marshal(p)
			partials = append(partials, string(b))
		}
		out, err = Ask(ctx, call, usage, "Merge these insights documents of consecutive parts of one media file into one document. Keep chapter start_seconds as given.\n"+
			strings.Join(partials, "\n")+"\n\nOn-screen text:\n"+onScreen)
	}
	if err != nil {
		return nil, err
	}
	ins := &types.Insights{Summary: out.Summary, Chapters: SnapChapters(out.Chapters, tr), Topics: out.Topics,
		Entities: out.Entities, SEODescription: out.SEODescription}
	if ins.Topics == nil {
		ins.Topics = []string{}
	}
	for _, l := range []*[]string{&ins.Entities.People, &ins.Entities.Organisations, &ins.Entities.Places} {
		if *l == nil {
			*l = []string{}
		}
	}
	return ins, nil
}

// TranscriptLines renders segments as "[12.3] spk_0: text" lines.
func TranscriptLines(tr *types.Transcript) []string {
	if tr == nil {
		return nil
	}
	var out []string
	for _, s := range tr.Segments {
		sp := ""
		if s.Speaker != "" {
			sp = s.Speaker + ": "
		}
		out = append(out, fmt.Sprintf("[%.1f] %s%s", s.Start, sp, s.Text))
	}
	if len(out) == 0 && tr.Text != "" {
		out = append(out, "[0.0] "+tr.Text)
	}
	return out
}

// ChunkLines groups whole lines (speaker turns) into chunks within budget
// tokens; a single longer line is a chunk of its own.
func ChunkLines(lines []string, budget int) [][]string {
	var out [][]string
	var cur []string
	used := 0
	for _, l := range lines {
		t := ApproxTokens(l) + 1
		if used+t > budget && len(cur) > 0 {
			out = append(out, cur)
			cur, used = nil, 0
		}
		cur = append(cur, l)
		used += t
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// SnapChapters moves each chapter to the nearest segment start inside the
// media, drops duplicates and untitled ones, and sorts them by time.
func SnapChapters(ch []types.Chapter, tr *types.Transcript) []types.Chapter {
	out := []types.Chapter{}
	if tr == nil || len(tr.Segments) == 0 {
		return out
	}
	seen := map[float64]bool{}
	for _, c := range ch {
		best := tr.Segments[0].Start
		for _, s := range tr.Segments {
			if math.Abs(s.Start-c.StartSeconds) < math.Abs(best-c.StartSeconds) {
				best = s.Start
			}
		}
		if seen[best] || strings.TrimSpace(c.Title) == "" {
			continue
		}
		seen[best] = true
		out = append(out, types.Chapter{Title: strings.TrimSpace(c.Title), StartSeconds: best})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].StartSeconds < out[j].StartSeconds })
	return out
}

// Sources decodes the transcript and the on-screen texts from earlier
// results.
func Sources(results map[string]json.RawMessage) (*types.Transcript, []string, error) {
	var tr *types.Transcript
	if raw, ok := results[analyser.TaskTranscribe]; ok && len(raw) > 0 && string(raw) != "null" {
		tr = &types.Transcript{}
		if err := json.Unmarshal(raw, tr); err != nil {
			return nil, nil, errcode.New(errcode.Invalid, "results/transcribe: not a transcript: %v", err)
		}
	}
	var texts []string
	if raw, ok := results[analyser.TaskOCR]; ok && len(raw) > 0 && string(raw) != "null" {
		var list []types.OCRText
		if err := json.Unmarshal(raw, &list); err != nil {
			var w struct {
				Texts []types.OCRText `json:"texts"`
			}
			if err2 := json.Unmarshal(raw, &w); err2 != nil {
				return nil, nil, errcode.New(errcode.Invalid, "results/ocr: not a list of texts: %v", err)
			}
			list = w.Texts
		}
		for _, t := range list {
			texts = append(texts, t.Text)
		}
	}
	return tr, texts, nil
}
