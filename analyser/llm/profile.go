package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/profile"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ProfileCaller sends one conversation to a model whose reply must match
// schema (strict structured output where the server supports it).
type ProfileCaller func(ctx context.Context, msgs []Message, name string, schema json.RawMessage, usage *analyser.Usage) (string, error)

// AskProfile asks a model to fill profile p from the transcript and
// on-screen text, validates the reply against the profile's schema, and
// asks once for a repair; a second invalid reply is Provider.BadOutput.
// Fields the model answered with null are listed as not available.
func AskProfile(ctx context.Context, call ProfileCaller, usage *analyser.Usage, p *profile.Profile, tr *types.Transcript, screen []string, budget int) (*types.ProfileResult, error) {
	lines := TranscriptLines(tr)
	for ApproxTokens(strings.Join(lines, "\n")) > budget && len(lines) > 1 {
		// Long media: the profile sees an even sample of the turns, in
		// order (the summary itself is map-reduced over all of them).
		var keep []string
		for i := 0; i < len(lines); i += 2 {
			keep = append(keep, lines[i])
		}
		lines = keep
	}
	prompt := "Transcript:\n" + strings.Join(lines, "\n") + "\n\nOn-screen text:\n" + strings.Join(screen, "\n")
	msgs := []Message{{Role: "system", Content: p.Prompt + "\nReply with JSON only, matching the schema."}, {Role: "user", Content: prompt}}
	var lastErr error
	for attempt := 0; attempt < 2; attempt++ {
		content, err := call(ctx, msgs, strings.ReplaceAll(p.Name, "-", "_"), p.Schema, usage)
		if err != nil {
			return nil, err
		}
		content = strings.TrimSpace(strings.TrimPrefix(strings.TrimSuffix(strings.TrimSpace(content), "```"), "```json"))
		if err := p.Validate([]byte(content)); err != nil {
			lastErr = err
			msgs = append(msgs, Message{Role: "assistant", Content: content},
				Message{Role: "user", Content: "That reply is invalid: " + err.Error() + ". Reply again with corrected JSON only."})
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(content), &fields); err != nil {
			return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "profile %s", p.Name)
		}
		res := &types.ProfileResult{Name: p.Name, Title: p.Title, Output: json.RawMessage(content)}
		for _, f := range p.Fields() {
			if v, ok := fields[f]; !ok || string(v) == "null" {
				res.NotAvailable = append(res.NotAvailable, f)
			}
		}
		return res, nil
	}
	return nil, errcode.New(errcode.ProviderBadOutput, "the model's %s profile failed validation after one repair: %v", p.Name, fmt.Sprint(lastErr))
}
