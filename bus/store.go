package bus

import (
	"context"
	"encoding/json"
	"time"

	"github.com/landfall/landfall/types"
)

// Store is what the bus keeps in a database: the outbox it delivers from
// (written by the catalog in the same transaction as a media row, or by
// Put) and the rules added through the API, so that they survive restarts
// and every process of an installation routes by the same rules. The
// catalog satisfies it through an adapter (catalog/busstore); MemoryStore
// is the in-process reference.
type Store interface {
	// OutboxInsert adds events.
	OutboxInsert(ctx context.Context, p *OutboxInsertParams) error
	// OutboxClaim leases up to Limit available events, oldest first; an
	// event whose lease runs out is claimable again.
	OutboxClaim(ctx context.Context, p *OutboxClaimParams) ([]*types.OutboxEvent, error)
	// OutboxAck deletes delivered events of a claim and says how many.
	OutboxAck(ctx context.Context, p *OutboxAckParams) (int, error)
	// OutboxRelease returns events of a claim to the queue after Delay.
	OutboxRelease(ctx context.Context, p *OutboxReleaseParams) (int, error)

	// RulePut creates or replaces a stored rule, incrementing the rules
	// version.
	RulePut(ctx context.Context, p *RulePutParams) (*StoredRule, error)
	// RuleDelete removes a stored rule (errcode.NotFound when there is
	// none), incrementing the rules version.
	RuleDelete(ctx context.Context, p *RuleDeleteParams) error
	// RuleList returns the stored rules and a rules version the list is
	// at least as new as.
	RuleList(ctx context.Context, p *RuleListParams) (*StoredRules, error)
	// RulesVersion is a number that changes whenever the stored rules do:
	// the cheap check a process polls before reloading.
	RulesVersion(ctx context.Context, p *RulesVersionParams) (int64, error)
}

type OutboxInsertParams struct{ Events []types.OutboxEvent }

// OutboxClaimParams lease up to Limit events for Lease.
type OutboxClaimParams struct {
	Limit int
	Lease time.Duration
}

type OutboxAckParams struct {
	ClaimToken string
	IDs        []string
}

type OutboxReleaseParams struct {
	ClaimToken string
	IDs        []string
	Delay      time.Duration
	Error      string
}

// StoredRule is a rule as the store keeps it: one object of the rules-file
// format, with the bus it listens on and its state copied out of it.
type StoredRule struct {
	Name      string
	EventBus  string
	Spec      json.RawMessage
	State     string
	Source    string
	Version   int64 // puts of this rule so far
	UpdatedAt time.Time
}

// StoredRules is the stored rules at a rules version.
type StoredRules struct {
	Version int64
	Rules   []StoredRule
}

// RulePutParams store a rule.
type RulePutParams struct {
	Name     string
	EventBus string
	Spec     json.RawMessage
	State    string
	Source   string
}

type RuleDeleteParams struct{ Name string }

type RuleListParams struct{}

type RulesVersionParams struct{}
