package app

import (
	"context"
	"fmt"
	"os"

	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/analyser/openai"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/config"
)

// liveEngine is the engine of live caption sessions (live.provider): nil
// for the local recogniser.
func liveEngine(ctx context.Context, cfg *config.Config) (realtime.Engine, error) {
	switch cfg.Live.Provider {
	case "", "local":
		return nil, nil
	case "openai":
		key := cfg.OpenAI.APIKey
		if cfg.OpenAI.APIKeyEnv != "" {
			key = os.Getenv(cfg.OpenAI.APIKeyEnv)
		}
		c, err := openai.New(openai.Config{BaseURL: cfg.OpenAI.BaseURL, APIKey: key, TranscribeModel: cfg.OpenAI.TranscribeModel,
			RealtimeModel: cfg.OpenAI.RealtimeModel, RealtimeURL: cfg.OpenAI.RealtimeURL, Timeout: cfg.OpenAI.Timeout.Duration})
		if err != nil {
			return nil, fmt.Errorf("live.provider openai: %w", err)
		}
		return openai.Realtime{C: c}, nil
	case "aws":
		e, err := awsprov.NewStreaming(ctx, awsprov.Config{Region: cfg.AWS.Region, Profile: cfg.AWS.Profile, Endpoint: cfg.AWS.Endpoint})
		if err != nil {
			return nil, fmt.Errorf("live.provider aws: %w", err)
		}
		e.VocabularyName = cfg.AWS.LiveVocabulary
		e.VocabularyFilterName, e.VocabularyFilterMethod = cfg.AWS.LiveVocabularyFilter, cfg.AWS.LiveVocabularyFilterMethod
		return e, nil
	}
	return nil, fmt.Errorf("live.provider: %q is not available", cfg.Live.Provider)
}
