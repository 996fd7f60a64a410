package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/rule"
)

// Starter starts workflow executions for workflow targets. Start must be
// idempotent by name: starting the same name twice with the same input
// returns the first execution.
type Starter interface {
	StartExecution(ctx context.Context, stateMachine, name string, input []byte) (executionID string, err error)
}

// DeadLetters keeps events that could not be delivered.
type DeadLetters interface {
	KeepDeadLetter(ctx context.Context, dl *DeadLetter) error
}

// DeadLetter is an event a target gave up on.
type DeadLetter struct {
	Event    json.RawMessage `json:"event"`
	Rule     string          `json:"rule"`
	Target   string          `json:"target"`
	Attempts int             `json:"attempts"`
	Error    string          `json:"error"`
	At       time.Time       `json:"at"`
}

// Options configure a bus.
type Options struct {
	Store   catalog.Store // the outbox lives in the catalog
	Starter Starter       // workflow targets; nil rejects them at delivery
	Webhook *Webhook      // webhook targets; a default Webhook when nil
	Dead    DeadLetters   // where dead letters are kept; logged only when nil
	Logger  *slog.Logger
	// Poll is how often the dispatcher looks for events when idle
	// (default 200 ms); Put wakes it at once.
	Poll time.Duration
	// Lease is how long a claimed batch is held (default 1 minute).
	Lease time.Duration
	Now   func() time.Time
}

// Bus routes events from the outbox to rule targets.
type Bus struct {
	opt  Options
	log  *slog.Logger
	wake chan struct{}

	mu    sync.RWMutex
	rules map[string]*entry // by rule name
	sets  map[string]*rule.RuleSet

	// done remembers, per event still in the outbox, the targets already
	// delivered (or dead-lettered), so a redelivery after one target's
	// failure does not repeat the others. It is a process-local
	// optimisation: after a restart delivery is at least once, and
	// targets deduplicate by event id (execution names, the webhook's
	// event id header).
	doneMu sync.Mutex
	done   map[string]map[string]bool
}

type entry struct {
	spec   rule.RuleSpec
	source string // "default", "file" or "api"
}

// envelope is what the outbox holds: the event and the bus it was put on.
type envelope struct {
	Bus   string          `json:"bus"`
	Event json.RawMessage `json:"event"`
}

// New returns a bus with no rules.
func New(opt Options) *Bus {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Webhook == nil {
		opt.Webhook = &Webhook{}
	}
	if opt.Poll <= 0 {
		opt.Poll = 200 * time.Millisecond
	}
	if opt.Lease <= 0 {
		opt.Lease = time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Bus{opt: opt, log: opt.Logger, wake: make(chan struct{}, 1), rules: map[string]*entry{}, sets: map[string]*rule.RuleSet{},
		done: map[string]map[string]bool{}}
}

// LoadRules adds or replaces the rules of a rules file, tagged with source.
func (b *Bus) LoadRules(data []byte, source string) ([]rule.RuleSpec, error) {
	specs, err := rule.ParseRulesFile(data)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range specs {
		b.putLocked(specs[i], source)
	}
	return specs, nil
}

// PutRule adds or replaces one rule given as a JSON object of the rules
// file format.
func (b *Bus) PutRule(data []byte, source string) (*rule.RuleSpec, error) {
	specs, err := rule.ParseRulesFile(append(append([]byte("["), bytes.TrimSpace(data)...), ']'))
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "rule")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.putLocked(specs[0], source)
	return &specs[0], nil
}

func (b *Bus) putLocked(spec rule.RuleSpec, source string) {
	if old, ok := b.rules[spec.Name]; ok {
		if set := b.sets[busName(old.spec.EventBus)]; set != nil {
			set.Remove(spec.Name)
		}
	}
	b.rules[spec.Name] = &entry{spec: spec, source: source}
	if spec.Enabled() && spec.Pattern != nil {
		bn := busName(spec.EventBus)
		set := b.sets[bn]
		if set == nil {
			set = rule.NewRuleSet()
			b.sets[bn] = set
		}
		set.AddPattern(spec.Name, spec.Pattern)
	}
}

// DeleteRule removes a rule.
func (b *Bus) DeleteRule(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e, ok := b.rules[name]
	if !ok {
		return errcode.New(errcode.NotFound, "no rule named %q", name)
	}
	if set := b.sets[busName(e.spec.EventBus)]; set != nil {
		set.Remove(name)
	}
	delete(b.rules, name)
	return nil
}

// Rule is a loaded rule and where it came from.
type Rule struct {
	Spec   rule.RuleSpec
	Source string
}

// Rules returns the loaded rules sorted by name.
func (b *Bus) Rules() []Rule {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Rule, 0, len(b.rules))
	for _, e := range b.rules {
		out = append(out, Rule{Spec: e.spec, Source: e.source})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Spec.Name < out[j].Spec.Name })
	return out
}

// busOf names the bus a target or dead letter points at: its name, or the
// last segment of its ARN (arn:aws:events:region:account:event-bus/NAME).
func busOf(name, arn string) string {
	if name != "" {
		return name
	}
	return arn[strings.LastIndexByte(arn, '/')+1:]
}

func busName(n string) string {
	if n == "" {
		return DefaultBus
	}
	return n
}

// OutboxEvent returns the outbox row for an event, for callers that write
// it in their own transaction (catalog.MediaCreate's Events).
func OutboxEvent(ev Event) (catalog.OutboxEvent, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return catalog.OutboxEvent{}, err
	}
	payload, err := json.Marshal(envelope{Bus: busName(ev.EventBusName), Event: raw})
	if err != nil {
		return catalog.OutboxEvent{}, err
	}
	return catalog.OutboxEvent{ID: ev.ID, Payload: payload}, nil
}

// Put writes events to the outbox; the dispatcher delivers them.
func (b *Bus) Put(ctx context.Context, events ...Event) error {
	rows := make([]catalog.OutboxEvent, 0, len(events))
	for _, ev := range events {
		row, err := OutboxEvent(ev)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	if err := b.opt.Store.OutboxInsert(ctx, &catalog.OutboxInsertParams{Events: rows}); err != nil {
		return err
	}
	b.Notify()
	return nil
}

// Notify wakes the dispatcher (events were written elsewhere, e.g. by
// MediaCreate).
func (b *Bus) Notify() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// PutEvents validates and puts EventBridge PutEvents entries; invalid
// entries get an error code, the rest an event id.
func (b *Bus) PutEvents(ctx context.Context, entries []PutEventsEntry) ([]PutEventsResultEntry, error) {
	res := make([]PutEventsResultEntry, len(entries))
	var evs []Event
	var idx []int
	for i, e := range entries {
		ev, err := FromEntry(e, b.opt.Now())
		if err != nil {
			res[i] = PutEventsResultEntry{ErrorCode: string(errcode.Of(err)), ErrorMessage: errcode.MessageOf(err)}
			continue
		}
		evs = append(evs, ev)
		idx = append(idx, i)
	}
	if len(evs) > 0 {
		if err := b.Put(ctx, evs...); err != nil {
			return nil, err
		}
	}
	for k, i := range idx {
		res[i] = PutEventsResultEntry{EventID: evs[k].ID}
	}
	return res, nil
}

// Run dispatches events until ctx ends.
func (b *Bus) Run(ctx context.Context) error {
	t := time.NewTicker(b.opt.Poll)
	defer t.Stop()
	for {
		n, err := b.DispatchOnce(ctx)
		if err != nil && ctx.Err() == nil {
			b.log.Error("bus: dispatch", "err", err)
		}
		if n > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-b.wake:
		case <-t.C:
		}
	}
}

// DispatchOnce claims one batch of events and delivers it. It returns how
// many events it handled.
func (b *Bus) DispatchOnce(ctx context.Context) (int, error) {
	batch, err := b.opt.Store.OutboxClaim(ctx, &catalog.OutboxClaimParams{Limit: 50, Lease: b.opt.Lease})
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	token := batch[0].ClaimToken
	var done []string
	for _, row := range batch {
		retry, err := b.deliver(ctx, row)
		if err == nil || !retry {
			done = append(done, row.ID)
			b.doneMu.Lock()
			delete(b.done, row.ID)
			b.doneMu.Unlock()
			continue
		}
		delay := backoff(row.Attempts)
		if _, rerr := b.opt.Store.OutboxRelease(ctx, &catalog.OutboxReleaseParams{ClaimToken: token, IDs: []string{row.ID}, Delay: delay, Error: err.Error()}); rerr != nil {
			b.log.Error("bus: release", "event_id", row.ID, "err", rerr)
		}
	}
	if len(done) > 0 {
		if _, err := b.opt.Store.OutboxAck(ctx, &catalog.OutboxAckParams{ClaimToken: token, IDs: done}); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}

// backoff is the redelivery delay after attempt n: 1 s doubling to 5 min.
func backoff(n int) time.Duration {
	d := time.Second << min(max(n-1, 0), 9)
	return min(d, 5*time.Minute)
}

// deliver sends one outbox row to every matching target. It reports
// whether a failed delivery should be retried.
func (b *Bus) deliver(ctx context.Context, row *catalog.OutboxEvent) (retry bool, err error) {
	var env envelope
	if err := json.Unmarshal(row.Payload, &env); err != nil || len(env.Event) == 0 {
		b.log.Error("bus: malformed outbox row dropped", "event_id", row.ID, "err", err)
		return false, fmt.Errorf("malformed outbox row %s", row.ID)
	}
	b.mu.RLock()
	set := b.sets[busName(env.Bus)]
	b.mu.RUnlock()
	if set == nil {
		return false, nil
	}
	names, err := set.Match(env.Event)
	if err != nil {
		b.log.Error("bus: event is not matchable JSON; dropped", "event_id", row.ID, "err", err)
		return false, err
	}
	ingest := row.CreatedAt
	if ingest.IsZero() {
		ingest = b.opt.Now()
	}
	var firstErr error
	for _, name := range names {
		b.mu.RLock()
		e := b.rules[name]
		b.mu.RUnlock()
		if e == nil {
			continue
		}
		for i := range e.spec.Targets {
			t := &e.spec.Targets[i]
			key := name + "\x00" + t.ID
			if b.delivered(row.ID, key) {
				continue
			}
			err := b.deliverTarget(ctx, row.ID, env.Event, &e.spec, t, ingest)
			if err == nil {
				b.markDelivered(row.ID, key)
				continue
			}
			policy := rule.DefaultRetryPolicy
			if t.RetryPolicy != nil {
				policy = *t.RetryPolicy
			}
			permanent := isPermanent(err)
			expired := row.Attempts > policy.MaximumRetryAttempts || b.opt.Now().Sub(ingest) > time.Duration(policy.MaximumEventAgeSeconds)*time.Second
			if permanent || expired {
				b.deadLetter(ctx, env.Event, &e.spec, t, row.Attempts, err)
				b.markDelivered(row.ID, key)
				continue
			}
			b.log.Warn("bus: delivery failed; will retry", "event_id", row.ID, "rule", name, "target", t.ID, "attempt", row.Attempts, "err", err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	return firstErr != nil, firstErr
}

func (b *Bus) delivered(eventID, key string) bool {
	b.doneMu.Lock()
	defer b.doneMu.Unlock()
	return b.done[eventID][key]
}

func (b *Bus) markDelivered(eventID, key string) {
	b.doneMu.Lock()
	defer b.doneMu.Unlock()
	m := b.done[eventID]
	if m == nil {
		m = map[string]bool{}
		b.done[eventID] = m
	}
	m[key] = true
}

func isPermanent(err error) bool {
	if de, ok := err.(*DeliveryError); ok {
		return de.Permanent
	}
	switch errcode.Of(err) {
	case errcode.Invalid, errcode.NotFound, errcode.PermissionDenied:
		return true
	}
	return false
}

func (b *Bus) deliverTarget(ctx context.Context, eventID string, event []byte, spec *rule.RuleSpec, t *rule.TargetSpec, ingest time.Time) error {
	input, err := t.TargetInput(event, rule.TransformContext{RuleName: spec.Name,
		RuleARN: "arn:aws:events:" + DefaultRegion + ":" + DefaultAccount + ":rule/" + spec.Name, IngestionTime: ingest})
	if err != nil {
		return errcode.Wrap(errcode.Invalid, err, "rule %s target %s: input", spec.Name, t.ID)
	}
	switch t.Type {
	case rule.TargetWorkflow:
		if b.opt.Starter == nil {
			return errcode.New(errcode.Unavailable, "rule %s target %s: no workflow engine on this bus", spec.Name, t.ID)
		}
		sm := t.StateMachine
		if sm == "" {
			sm = t.ARN
		}
		id, err := b.opt.Starter.StartExecution(ctx, sm, ExecutionName(eventID, spec.Name, t.ID), input)
		if err != nil {
			return err
		}
		b.log.Info("bus: started execution", "event_id", eventID, "rule", spec.Name, "target", t.ID, "execution", id)
		return nil
	case rule.TargetWebhook:
		return b.opt.Webhook.Deliver(ctx, t.URL, eventID, input)
	case rule.TargetBus:
		var ev Event
		if err := json.Unmarshal(event, &ev); err != nil {
			return errcode.Wrap(errcode.Invalid, err, "event")
		}
		ev.EventBusName = busOf(t.Bus, t.ARN)
		return b.Put(ctx, ev)
	}
	return errcode.New(errcode.Invalid, "rule %s target %s: unknown type %q", spec.Name, t.ID, t.Type)
}

func (b *Bus) deadLetter(ctx context.Context, event []byte, spec *rule.RuleSpec, t *rule.TargetSpec, attempts int, cause error) {
	dl := &DeadLetter{Event: event, Rule: spec.Name, Target: t.ID, Attempts: attempts, Error: cause.Error(), At: b.opt.Now().UTC()}
	b.log.Error("bus: dead letter", "rule", spec.Name, "target", t.ID, "attempts", attempts, "err", cause)
	if t.DeadLetter != nil && (t.DeadLetter.Bus != "" || t.DeadLetter.ARN != "") {
		name := busOf(t.DeadLetter.Bus, t.DeadLetter.ARN)
		raw, _ := json.Marshal(dl)
		ev := Event{Version: "0", ID: NewID(), DetailType: "Landfall Dead Letter", Source: "landfall.bus", Account: DefaultAccount,
			Time: dl.At.Truncate(time.Second), Region: DefaultRegion, Resources: []string{}, Detail: raw, EventBusName: name}
		if err := b.Put(ctx, ev); err != nil {
			b.log.Error("bus: dead-letter bus", "err", err)
		}
	}
	if b.opt.Dead != nil {
		if err := b.opt.Dead.KeepDeadLetter(ctx, dl); err != nil {
			b.log.Error("bus: keeping dead letter", "err", err)
		}
	}
}

// ExecutionName is the execution name a workflow target uses for an
// event: unique per event, rule and target, within Step Functions' 80
// characters of [A-Za-z0-9-_], so a redelivered event starts nothing new.
func ExecutionName(eventID, ruleName, targetID string) string {
	h := sha256.Sum256([]byte(ruleName + "\x00" + targetID))
	clean := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, eventID)
	if len(clean) > 64 {
		clean = clean[:64]
	}
	return clean + "-" + hex.EncodeToString(h[:])[:12]
}
