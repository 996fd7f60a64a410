package openai

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

// Summariser is the summarise analyser backed by a chat model with a
// strict JSON-schema response format.
type Summariser struct{ C *Client }

// Spec describes the analyser.
func (s Summariser) Spec() analyser.Spec {
	return analyser.Spec{
		ID: "analyser.summarise.openai", Task: analyser.TaskSummarise, Provider: "openai",
		Summary:      "summary, chapters, topics, entities and SEO description by an OpenAI-compatible chat model (JSON schema output, validated and repaired once)",
		OutputSchema: types.InsightsSchema,
	}
}

// llmInsights is what the model writes: the summary contract only.
type llmInsights struct {
	Summary        string          `json:"summary"`
	Chapters       []types.Chapter `json:"chapters"`
	Topics         []string        `json:"topics"`
	Entities       types.Entities  `json:"entities"`
	SEODescription string          `json:"seo_description"`
}

// responseSchema is the strict response format sent to the model
// (structured outputs require every property listed and no extras).
var responseSchema = json.RawMessage(`{
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

const systemPrompt = `You write the insights document for a media file from its transcript and on-screen text.
Reply with JSON only, matching the schema:
- summary: at most 80 words, plain prose, no lists.
- chapters: topic chapters in time order; start_seconds must be one of the [seconds] marks given in the transcript.
- topics: 3 to 8 short key phrases.
- entities: people, organisations and places named in the media (names only, as written).
- seo_description: at most 160 characters.`

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model          string         `json:"model"`
	Messages       []chatMessage  `json:"messages"`
	Temperature    float64        `json:"temperature"`
	ResponseFormat map[string]any `json:"response_format"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
			Refusal string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
}

// Run summarises the transcript and OCR text in in.Results. Transcripts
// over the token budget are map-reduced: each chunk of whole speaker turns
// is summarised on its own, then the partial documents are merged by one
// more call.
func (s Summariser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	tr, ocr, err := sources(in.Results)
	if err != nil {
		return nil, err
	}
	lines := transcriptLines(tr)
	screen := strings.Join(ocr, "\n")
	var usage analyser.Usage
	usage.Analyser = s.Spec().ID
	budget := s.C.cfg.TokenBudget
	var out *llmInsights
	if approxTokens(strings.Join(lines, "\n")+screen) <= budget {
		out, err = s.ask(ctx, &usage, "Transcript:\n"+strings.Join(lines, "\n")+"\n\nOn-screen text:\n"+screen)
	} else {
		var partials []string
		for i, chunk := range chunkLines(lines, budget) {
			p, err := s.ask(ctx, &usage, fmt.Sprintf("Part %d of a longer transcript:\n%s", i+1, strings.Join(chunk, "\n")))
			if err != nil {
				return nil, err
			}
			b, _ := json.Marshal(p)
			partials = append(partials, string(b))
		}
		out, err = s.ask(ctx, &usage, "Merge these insights documents of consecutive parts of one media file into one document. Keep chapter start_seconds as given.\n"+
			strings.Join(partials, "\n")+"\n\nOn-screen text:\n"+screen)
	}
	env.Record(usage)
	if err != nil {
		return nil, err
	}
	ins := &types.Insights{Summary: out.Summary, Chapters: snapChapters(out.Chapters, tr), Topics: out.Topics,
		Entities: out.Entities, SEODescription: out.SEODescription}
	if ins.Topics == nil {
		ins.Topics = []string{}
	}
	return ins, nil
}

// ask sends one prompt, validates the reply against the insights schema
// and the word and character limits, and asks once for a repair.
func (s Summariser) ask(ctx context.Context, usage *analyser.Usage, prompt string) (*llmInsights, error) {
	msgs := []chatMessage{{Role: "system", Content: systemPrompt}, {Role: "user", Content: prompt}}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		req := chatRequest{Model: s.C.cfg.ChatModel, Messages: msgs, Temperature: 0,
			ResponseFormat: map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "insights", "strict": true, "schema": responseSchema}}}
		var resp chatResponse
		if err := s.C.postJSON(ctx, "/chat/completions", req, &resp); err != nil {
			return nil, err
		}
		usage.InputTokens += resp.Usage.PromptTokens
		usage.OutputTokens += resp.Usage.CompletionTokens
		if len(resp.Choices) == 0 {
			return nil, errorf(errcode.ProviderBadOutput, "chat completion has no choices")
		}
		content := resp.Choices[0].Message.Content
		if resp.Choices[0].Message.Refusal != "" {
			return nil, errorf(errcode.ProviderFailed, "the model refused: %s", resp.Choices[0].Message.Refusal)
		}
		out, err := checkInsights(content)
		if err == nil {
			return out, nil
		}
		lastErr = err
		msgs = append(msgs, chatMessage{Role: "assistant", Content: content},
			chatMessage{Role: "user", Content: "That reply is invalid: " + err.Error() + ". Reply again with corrected JSON only."})
	}
	return nil, errorf(errcode.ProviderBadOutput, "the model's insights failed validation after one repair: %v", lastErr)
}

var compiledSchema = func() *jsonschema.Schema {
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

func checkInsights(content string) (*llmInsights, error) {
	content = strings.TrimSpace(content)
	content = strings.TrimPrefix(strings.TrimSuffix(content, "```"), "```json")
	var out llmInsights
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
	if err := compiledSchema.Validate(inst); err != nil {
		return nil, fmt.Errorf("schema: %v", err)
	}
	return &out, nil
}

// transcriptLines renders segments as "[12.3] spk_0: text" lines.
func transcriptLines(tr *types.Transcript) []string {
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

// chunkLines groups whole lines (speaker turns) into chunks within budget
// tokens; a single longer line is a chunk of its own.
func chunkLines(lines []string, budget int) [][]string {
	var out [][]string
	var cur []string
	used := 0
	for _, l := range lines {
		t := approxTokens(l) + 1
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

// snapChapters moves each chapter to the nearest segment start inside the
// media, drops duplicates, and sorts them by time.
func snapChapters(ch []types.Chapter, tr *types.Transcript) []types.Chapter {
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

func sources(results map[string]json.RawMessage) (*types.Transcript, []string, error) {
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

func strictJSON(raw json.RawMessage, v any) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(t))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

var _ analyser.Analyser = Summariser{}
