package openai

import (
	"context"
	"encoding/json"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/llm"
	"github.com/landfall/landfall/analyser/profile"
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
		Options: []analyser.Option{{Name: "profile", Type: analyser.OptionString, Enum: profile.Names(),
			Description: "insight profile the model fills besides the summary (validated against its schema, repaired once)"}},
	}
}

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

// Run summarises the transcript and OCR text in in.Results (map-reduced
// over speaker turns when longer than the token budget).
func (s Summariser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	var opt struct {
		Profile string `json:"profile"`
	}
	if err := analyser.DecodeOptions(s.Spec(), in.Options, &opt); err != nil {
		return nil, err
	}
	tr, ocr, err := llm.Sources(in.Results)
	if err != nil {
		return nil, err
	}
	usage := analyser.Usage{Analyser: s.Spec().ID}
	ins, err := llm.Summarise(ctx, s.call, &usage, tr, ocr, s.C.cfg.TokenBudget)
	if err == nil && opt.Profile != "" {
		var p *profile.Profile
		if p, err = profile.Find(opt.Profile); err == nil {
			ins.Profile, err = llm.AskProfile(ctx, s.callSchema, &usage, p, tr, ocr, s.C.cfg.TokenBudget)
			if ins.Profile != nil {
				ins.Profile.Provider = "openai"
			}
		}
	}
	env.Record(usage)
	if err != nil {
		return nil, err
	}
	return ins, nil
}

// call sends one conversation to /v1/chat/completions with the strict
// JSON-schema response format.
func (s Summariser) call(ctx context.Context, msgs []llm.Message, usage *analyser.Usage) (string, error) {
	return s.callSchema(ctx, msgs, "insights", llm.ResponseSchema, usage)
}

// callSchema sends one conversation with a strict JSON-schema response
// format of the given name and schema.
func (s Summariser) callSchema(ctx context.Context, msgs []llm.Message, name string, schema json.RawMessage, usage *analyser.Usage) (string, error) {
	req := chatRequest{Model: s.C.cfg.ChatModel, Temperature: 0,
		ResponseFormat: map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": name, "strict": true, "schema": schema}}}
	for _, m := range msgs {
		req.Messages = append(req.Messages, chatMessage{Role: m.Role, Content: m.Content})
	}
	var resp chatResponse
	if err := s.C.postJSON(ctx, "/chat/completions", req, &resp); err != nil {
		return "", err
	}
	usage.InputTokens += resp.Usage.PromptTokens
	usage.OutputTokens += resp.Usage.CompletionTokens
	if len(resp.Choices) == 0 {
		return "", errorf(errcode.ProviderBadOutput, "chat completion has no choices")
	}
	if r := resp.Choices[0].Message.Refusal; r != "" {
		return "", errorf(errcode.ProviderFailed, "the model refused: %s", r)
	}
	return resp.Choices[0].Message.Content, nil
}

var _ analyser.Analyser = Summariser{}

// Close releases the client's idle connections when the app stops.
func (s Summariser) Close() error { return s.C.Close() }

var _ analyser.Closer = Summariser{}
