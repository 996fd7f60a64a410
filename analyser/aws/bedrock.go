package aws

import (
	"context"
	"encoding/json"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/document"
	btypes "github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/llm"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Summariser is the summarise analyser backed by Bedrock's Converse API:
// the model must call the record_insights tool, whose input schema is the
// insights document, so its JSON arrives as the tool's input.
type Summariser struct{ C *Clients }

// Spec describes the analyser.
func (s Summariser) Spec() analyser.Spec {
	return analyser.Spec{ID: "analyser.summarise.bedrock", Task: analyser.TaskSummarise, Provider: "aws",
		Summary:      "summary, chapters, topics, entities and SEO description by a Bedrock model through a forced tool call",
		OutputSchema: types.InsightsSchema}
}

const toolName = "record_insights"

// Run summarises the transcript and on-screen text.
func (s Summariser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	if err := analyser.DecodeOptions(s.Spec(), in.Options, &struct{}{}); err != nil {
		return nil, err
	}
	if s.C.cfg.BedrockModel == "" {
		return nil, errcode.New(errcode.ProviderNotConfigured, "aws: aws.bedrock_model is not set")
	}
	tr, ocr, err := llm.Sources(in.Results)
	if err != nil {
		return nil, err
	}
	usage := analyser.Usage{Analyser: s.Spec().ID}
	ins, err := llm.Summarise(ctx, s.call, &usage, tr, ocr, s.C.cfg.TokenBudget)
	env.Record(usage)
	if err != nil {
		return nil, err
	}
	return ins, nil
}

func (s Summariser) call(ctx context.Context, msgs []llm.Message, usage *analyser.Usage) (string, error) {
	var schema map[string]any
	if err := json.Unmarshal(llm.ResponseSchema, &schema); err != nil {
		return "", err
	}
	req := &bedrockruntime.ConverseInput{
		ModelId:         awssdk.String(s.C.cfg.BedrockModel),
		InferenceConfig: &btypes.InferenceConfiguration{Temperature: awssdk.Float32(0)},
		ToolConfig: &btypes.ToolConfiguration{
			Tools: []btypes.Tool{&btypes.ToolMemberToolSpec{Value: btypes.ToolSpecification{
				Name: awssdk.String(toolName), Description: awssdk.String("Record the insights document of the media file."),
				InputSchema: &btypes.ToolInputSchemaMemberJson{Value: document.NewLazyDocument(schema)},
			}}},
			ToolChoice: &btypes.ToolChoiceMemberTool{Value: btypes.SpecificToolChoice{Name: awssdk.String(toolName)}},
		},
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			req.System = append(req.System, &btypes.SystemContentBlockMemberText{Value: m.Content})
		case "assistant":
			req.Messages = append(req.Messages, btypes.Message{Role: btypes.ConversationRoleAssistant,
				Content: []btypes.ContentBlock{&btypes.ContentBlockMemberText{Value: m.Content}}})
		default:
			req.Messages = append(req.Messages, btypes.Message{Role: btypes.ConversationRoleUser,
				Content: []btypes.ContentBlock{&btypes.ContentBlockMemberText{Value: m.Content}}})
		}
	}
	out, err := s.C.Bedrock.Converse(ctx, req)
	if err != nil {
		return "", classify(err, "aws: Bedrock Converse")
	}
	if out.Usage != nil {
		usage.InputTokens += int(awssdk.ToInt32(out.Usage.InputTokens))
		usage.OutputTokens += int(awssdk.ToInt32(out.Usage.OutputTokens))
	}
	msg, ok := out.Output.(*btypes.ConverseOutputMemberMessage)
	if !ok {
		return "", errcode.New(errcode.ProviderBadOutput, "aws: Converse returned no message")
	}
	for _, block := range msg.Value.Content {
		tu, ok := block.(*btypes.ContentBlockMemberToolUse)
		if !ok || awssdk.ToString(tu.Value.Name) != toolName || tu.Value.Input == nil {
			continue
		}
		b, err := tu.Value.Input.MarshalSmithyDocument()
		if err != nil {
			return "", errcode.New(errcode.ProviderBadOutput, "aws: tool input: %v", err)
		}
		return string(b), nil
	}
	// No tool call: hand back the text so validation names the problem and
	// the repair turn can ask again.
	for _, block := range msg.Value.Content {
		if t, ok := block.(*btypes.ContentBlockMemberText); ok {
			return t.Value, nil
		}
	}
	return "", errcode.New(errcode.ProviderBadOutput, "aws: Converse replied without calling %s", toolName)
}

var (
	_ analyser.Analyser = Summariser{}
	_ analyser.Analyser = Transcriber{}
	_ analyser.Analyser = Labeller{}
	_ analyser.Analyser = Moderator{}
)
