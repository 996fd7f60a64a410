package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/landfall/landfall/errcode"
)

// RuleStore keeps the event bus's rules that were added through the API, so
// they survive restarts and every API process of an installation sees the
// same set. Rules are installation-wide (not per tenant) and scoped to an
// event bus; names are unique across buses, as the bus keys rules by name.
//
// Every change increments one installation-wide rules version, so a
// process notices a change by reading a single number (RulesVersion) and
// reloads the list only then.
type RuleStore interface {
	// RulePut creates or replaces a rule. Its Version is one more than the
	// replaced rule's (1 for a new rule); when p.Version is non-zero it
	// must equal the current version or the put fails with
	// ErrVersionConflict (a missing rule has no version to match).
	RulePut(ctx context.Context, p *RulePutParams) (*Rule, error)
	RuleGet(ctx context.Context, p *RuleGetParams) (*Rule, error)
	// RuleList returns every stored rule, sorted by name, and the rules
	// version that the list is at least as new as.
	RuleList(ctx context.Context, p *RuleListParams) (*RuleSet, error)
	// RuleDelete removes a rule; a missing rule is errcode.NotFound.
	RuleDelete(ctx context.Context, p *RuleDeleteParams) error
	// RulesVersion is the installation-wide rules version: 0 before the
	// first change, then incremented by every put and delete.
	RulesVersion(ctx context.Context, p *RulesVersionParams) (int64, error)
}

// Rule states.
const (
	RuleEnabled  = "ENABLED"
	RuleDisabled = "DISABLED"
)

// Rule is a stored event-bus rule.
type Rule struct {
	Name     string `json:"name"`
	EventBus string `json:"event_bus"`
	// Spec is the rule as one object of the rules-file format; the store
	// checks only that it is a JSON object (the bus parses it).
	Spec      json.RawMessage `json:"spec"`
	State     string          `json:"state"`  // RuleEnabled or RuleDisabled
	Source    string          `json:"source"` // who wrote it, e.g. "api"
	Version   int64           `json:"version"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// RulePutParams create or replace a rule. Name is 1–64 of letters, digits
// and .-_ (EventBridge's rule names); EventBus likewise, '/' also allowed
// (partner buses), and required; Spec a
// JSON object of at most 256 KiB; State RuleEnabled or RuleDisabled;
// Source 1–32 of letters, digits and -_.
type RulePutParams struct {
	Name     string
	EventBus string
	Spec     json.RawMessage
	State    string
	Source   string
	// Version, when non-zero, must be the rule's current version.
	Version int64
}

type RuleGetParams struct{ Name string }

type RuleListParams struct{}

// RuleSet is the stored rules at a rules version.
type RuleSet struct {
	Version int64   `json:"version"`
	Rules   []*Rule `json:"rules"`
}

type RuleDeleteParams struct{ Name string }

type RulesVersionParams struct{}

// MaxRuleSpecBytes bounds a stored rule's spec.
const MaxRuleSpecBytes = 256 << 10

// ValidateRule checks a put's fields, naming the first bad one.
func ValidateRule(p *RulePutParams) error {
	if err := validRuleName("name", p.Name); err != nil {
		return err
	}
	if err := validName("event_bus", p.EventBus, "/.-_"); err != nil {
		return err
	}
	if len(p.Spec) == 0 {
		return invalid("catalog: spec: required")
	}
	if len(p.Spec) > MaxRuleSpecBytes {
		return invalid("catalog: spec: larger than %d KiB", MaxRuleSpecBytes>>10)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(p.Spec, &obj); err != nil || obj == nil {
		return invalid("catalog: spec: not a JSON object")
	}
	if p.State != RuleEnabled && p.State != RuleDisabled {
		return invalid("catalog: state: %q is not %s or %s", p.State, RuleEnabled, RuleDisabled)
	}
	if p.Source == "" || len(p.Source) > 32 {
		return invalid("catalog: source: 1–32 characters required, got %d", len(p.Source))
	}
	for i := 0; i < len(p.Source); i++ {
		if c := p.Source[i]; !isAlnum(c) && c != '-' && c != '_' {
			return invalid("catalog: source: %q has a character other than letters, digits and -_ at byte %d", p.Source, i)
		}
	}
	if p.Version < 0 {
		return invalid("catalog: version: negative")
	}
	return nil
}

func validRuleName(field, name string) error { return validName(field, name, ".-_") }

// validName checks 1–64 bytes of letters, digits and the punctuation in
// extra.
func validName(field, name, extra string) error {
	if name == "" {
		return invalid("catalog: %s: required", field)
	}
	if len(name) > 64 {
		return invalid("catalog: %s: longer than 64 bytes", field)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && strings.IndexByte(extra, c) < 0 {
			return invalid("catalog: %s: %q has a character other than letters, digits and %s at byte %d", field, name, extra, i)
		}
	}
	return nil
}

// ValidateRuleName checks a rule name (for RuleGet and RuleDelete).
func ValidateRuleName(field, name string) error { return validRuleName(field, name) }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// RuleVersionConflict returns the error for a stale rule Version.
func RuleVersionConflict(name string, want, have int64) error {
	return &errcode.Error{Code: errcode.FailedPrecond,
		Message: fmt.Sprintf("catalog: rule %q is at version %d, not %d", name, have, want),
		Err:     ErrVersionConflict}
}
