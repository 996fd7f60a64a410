package bus

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// MemoryStore is a Store in process memory: the reference the bus's tests
// run on, and enough for a single process that needs nothing to survive
// it. It is safe for concurrent use.
type MemoryStore struct {
	mu      sync.Mutex
	now     func() time.Time
	seq     int64
	outbox  []*memEvent // in insertion order
	rules   map[string]*StoredRule
	version int64
}

type memEvent struct {
	ev        types.OutboxEvent
	available time.Time
}

// NewMemoryStore returns an empty store on the clock now (time.Now when
// nil).
func NewMemoryStore(now func() time.Time) *MemoryStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryStore{now: now, rules: map[string]*StoredRule{}}
}

func (m *MemoryStore) OutboxInsert(ctx context.Context, p *OutboxInsertParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, e := range p.Events {
		if e.ID == "" || !json.Valid(e.Payload) {
			return errcode.New(errcode.Invalid, "bus: events[%d]: an id and a JSON payload are required", i)
		}
		for _, have := range m.outbox {
			if have.ev.ID == e.ID {
				return errcode.New(errcode.AlreadyExists, "bus: events[%d].id: event %q is already in the outbox", i, e.ID)
			}
		}
	}
	now := m.now()
	for _, e := range p.Events {
		m.outbox = append(m.outbox, &memEvent{ev: types.OutboxEvent{ID: e.ID, Payload: append(json.RawMessage(nil), e.Payload...),
			CreatedAt: now}, available: now})
	}
	return nil
}

func (m *MemoryStore) OutboxClaim(ctx context.Context, p *OutboxClaimParams) ([]*types.OutboxEvent, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	limit := p.Limit
	if limit <= 0 {
		limit = 100
	}
	lease := p.Lease
	if lease <= 0 {
		lease = time.Minute
	}
	m.seq++
	token := "claim-" + strconv.FormatInt(m.seq, 10)
	now := m.now()
	var out []*types.OutboxEvent
	for _, e := range m.outbox {
		if len(out) == limit {
			break
		}
		if e.available.After(now) {
			continue
		}
		e.available = now.Add(lease)
		e.ev.Attempts++
		e.ev.ClaimToken = token
		c := e.ev
		out = append(out, &c)
	}
	return out, nil
}

func (m *MemoryStore) OutboxAck(ctx context.Context, p *OutboxAckParams) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range p.IDs {
		for i, e := range m.outbox {
			if e.ev.ID == id && e.ev.ClaimToken == p.ClaimToken {
				m.outbox = append(m.outbox[:i], m.outbox[i+1:]...)
				n++
				break
			}
		}
	}
	return n, nil
}

func (m *MemoryStore) OutboxRelease(ctx context.Context, p *OutboxReleaseParams) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, id := range p.IDs {
		for _, e := range m.outbox {
			if e.ev.ID == id && e.ev.ClaimToken == p.ClaimToken {
				e.ev.ClaimToken, e.ev.LastError = "", p.Error
				e.available = m.now().Add(p.Delay)
				n++
			}
		}
	}
	return n, nil
}

func (m *MemoryStore) RulePut(ctx context.Context, p *RulePutParams) (*StoredRule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.Name == "" || p.EventBus == "" || !json.Valid(p.Spec) {
		return nil, errcode.New(errcode.Invalid, "bus: a rule needs a name, a bus and a JSON spec")
	}
	var v int64 = 1
	if old := m.rules[p.Name]; old != nil {
		v = old.Version + 1
	}
	r := &StoredRule{Name: p.Name, EventBus: p.EventBus, Spec: append(json.RawMessage(nil), p.Spec...), State: p.State,
		Source: p.Source, Version: v, UpdatedAt: m.now()}
	m.rules[p.Name] = r
	m.version++
	c := *r
	return &c, nil
}

func (m *MemoryStore) RuleDelete(ctx context.Context, p *RuleDeleteParams) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rules[p.Name] == nil {
		return errcode.New(errcode.NotFound, "bus: rule %q does not exist", p.Name)
	}
	delete(m.rules, p.Name)
	m.version++
	return nil
}

func (m *MemoryStore) RuleList(ctx context.Context, p *RuleListParams) (*StoredRules, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &StoredRules{Version: m.version}
	for _, r := range m.rules {
		out.Rules = append(out.Rules, *r)
	}
	sort.Slice(out.Rules, func(i, j int) bool { return out.Rules[i].Name < out.Rules[j].Name })
	return out, nil
}

func (m *MemoryStore) RulesVersion(ctx context.Context, p *RulesVersionParams) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.version, nil
}

var _ Store = (*MemoryStore)(nil)
