package pipeline

import (
	"context"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/catalog"
)

// recordUsage prices one analyser's usage with the configured prices and
// appends it to the tenant's ledger. A ledger write that fails is logged,
// not fatal: the analysis itself succeeded.
func (t *Tasks) recordUsage(ctx context.Context, s *Scope, mediaID string, u analyser.Usage) {
	price := t.cfg.Prices[u.Analyser]
	cost := u.CPUSeconds*price.PerCPUSecond + u.AudioSeconds/60*price.PerAudioMinute + float64(u.Images)*price.PerImage +
		float64(u.InputTokens)/1000*price.PerInputKTokens + float64(u.OutputTokens)/1000*price.PerOutputKTokens
	err := s.Catalog.UsageRecord(ctx, catalog.UsageEntry{MediaID: mediaID,
		Analyser: u.Analyser, CPUSeconds: u.CPUSeconds, AudioSeconds: u.AudioSeconds, Images: int64(u.Images),
		Tokens: int64(u.InputTokens + u.OutputTokens), CostUSD: cost})
	if err != nil {
		t.log.Warn("usage not recorded", "media_id", mediaID, "tenant", s.Tenant, "err", err)
	}
}
