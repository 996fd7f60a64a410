package types

import (
	"encoding/json"
	"time"
)

// OutboxEvent is an event waiting in the outbox: written by the catalog in
// the same transaction as the change it announces, delivered by the bus.
// On insert only ID and Payload are read.
type OutboxEvent struct {
	ID         string          `json:"id"`
	Payload    json.RawMessage `json:"payload"`
	CreatedAt  time.Time       `json:"created_at"`
	Attempts   int             `json:"attempts"` // claims so far, this one included
	ClaimToken string          `json:"claim_token,omitempty"`
	LastError  string          `json:"last_error,omitempty"`
}
