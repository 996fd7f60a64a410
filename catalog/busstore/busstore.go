// Package busstore adapts a catalog.Store to the bus's Store: the bus's
// outbox is the catalog's (events written in the same transaction as media
// rows) and its stored rules are the catalog's rules table.
package busstore

import (
	"context"

	"github.com/landfall/landfall/bus"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/types"
)

// Store is a catalog seen as a bus.Store.
type Store struct{ C catalog.Store }

// New adapts c.
func New(c catalog.Store) *Store { return &Store{C: c} }

func (s *Store) OutboxInsert(ctx context.Context, p *bus.OutboxInsertParams) error {
	return s.C.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: p.Events})
}

func (s *Store) OutboxClaim(ctx context.Context, p *bus.OutboxClaimParams) ([]*types.OutboxEvent, error) {
	return s.C.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: p.Limit, Lease: p.Lease})
}

func (s *Store) OutboxAck(ctx context.Context, p *bus.OutboxAckParams) (int, error) {
	return s.C.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: p.ClaimToken, IDs: p.IDs})
}

func (s *Store) OutboxRelease(ctx context.Context, p *bus.OutboxReleaseParams) (int, error) {
	return s.C.OutboxRelease(ctx, &catalog.OutboxReleaseParams{ClaimToken: p.ClaimToken, IDs: p.IDs, Delay: p.Delay, Error: p.Error})
}

func (s *Store) RulePut(ctx context.Context, p *bus.RulePutParams) (*bus.StoredRule, error) {
	r, err := s.C.RulePut(ctx, &catalog.RulePutParams{Name: p.Name, EventBus: p.EventBus, Spec: p.Spec, State: p.State, Source: p.Source})
	if err != nil {
		return nil, err
	}
	out := stored(r)
	return &out, nil
}

func (s *Store) RuleDelete(ctx context.Context, p *bus.RuleDeleteParams) error {
	return s.C.RuleDelete(ctx, &catalog.RuleDeleteParams{Name: p.Name})
}

func (s *Store) RuleList(ctx context.Context, p *bus.RuleListParams) (*bus.StoredRules, error) {
	set, err := s.C.RuleList(ctx, &catalog.RuleListParams{})
	if err != nil {
		return nil, err
	}
	out := &bus.StoredRules{Version: set.Version, Rules: make([]bus.StoredRule, len(set.Rules))}
	for i, r := range set.Rules {
		out.Rules[i] = stored(r)
	}
	return out, nil
}

func (s *Store) RulesVersion(ctx context.Context, p *bus.RulesVersionParams) (int64, error) {
	return s.C.RulesVersion(ctx, &catalog.RulesVersionParams{})
}

func stored(r *catalog.Rule) bus.StoredRule {
	return bus.StoredRule{Name: r.Name, EventBus: r.EventBus, Spec: r.Spec, State: r.State, Source: r.Source,
		Version: r.Version, UpdatedAt: r.UpdatedAt}
}

var _ bus.Store = (*Store)(nil)
