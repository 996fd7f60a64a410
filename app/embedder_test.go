package app

import (
	"context"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser/aws/bedrocktest"
	"github.com/landfall/landfall/config"
)

// analysers.embed: aws builds the Bedrock embedder of aws.embedding_model
// (its vectors named by model and size), and names what is missing or
// unknown.
func TestEmbedderForBedrock(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", bedrocktest.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", bedrocktest.SecretKey)
	srv := bedrocktest.New()
	defer srv.Close()
	cfg := &config.Config{Analysers: map[string]string{"embed": "aws"}}
	cfg.AWS.Region, cfg.AWS.Endpoint = bedrocktest.Region, srv.URL
	if _, err := EmbedderFor(cfg); err == nil || !strings.Contains(err.Error(), "aws.embedding_model") {
		t.Fatalf("no model: %v", err)
	}
	cfg.AWS.EmbeddingModel = "anthropic.claude-3-5-haiku-20241022-v1:0"
	if _, err := EmbedderFor(cfg); err == nil || !strings.Contains(err.Error(), "neither") {
		t.Fatalf("a chat model: %v", err)
	}
	cfg.AWS.EmbeddingModel, cfg.AWS.EmbeddingDimensions = "amazon.titan-embed-text-v2:0", 256
	e, err := EmbedderFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if e.Model() != "aws:amazon.titan-embed-text-v2:0/256" {
		t.Fatalf("model %q", e.Model())
	}
	v, err := e.Embed(context.Background(), []string{"a car"})
	if err != nil || len(v) != 1 || len(v[0]) != 256 {
		t.Fatalf("embed: %v %v", v, err)
	}
}
