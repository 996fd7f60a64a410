package openai

import (
	"context"
	"encoding/json"

	"github.com/landfall/landfall/errcode"
)

type embeddingRequest struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type embeddingResponse struct {
	Data []struct {
		Index     int       `json:"index"`
		Embedding []float32 `json:"embedding"`
	} `json:"data"`
	Usage struct {
		PromptTokens int `json:"prompt_tokens"`
	} `json:"usage"`
}

// Embed returns one vector per text from /v1/embeddings, in input order,
// and the prompt tokens spent.
func (c *Client) Embed(ctx context.Context, texts []string) ([][]float32, int, error) {
	if c.cfg.EmbeddingModel == "" {
		return nil, 0, errcode.New(errcode.ProviderNotConfigured, "openai: embedding_model is not set")
	}
	var resp embeddingResponse
	if err := c.postJSON(ctx, "/embeddings", embeddingRequest{Model: c.cfg.EmbeddingModel, Input: texts}, &resp); err != nil {
		return nil, 0, err
	}
	out := make([][]float32, len(texts))
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= len(texts) || len(d.Embedding) == 0 {
			return nil, 0, errorf(errcode.ProviderBadOutput, "/data: embedding index %d out of range or empty", d.Index)
		}
		out[d.Index] = d.Embedding
	}
	for i, v := range out {
		if v == nil {
			return nil, 0, errorf(errcode.ProviderBadOutput, "/data: no embedding for input %d", i)
		}
	}
	return out, resp.Usage.PromptTokens, nil
}

var _ = json.Marshal
