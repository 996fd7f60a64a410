package bus

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/rule"
	"github.com/landfall/landfall/types"
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

// Unrouted is told about each event whose delivery started no workflow
// execution: no enabled rule with a workflow target matched it, or the
// delivery to every matching workflow target gave up. It runs once per
// delivery attempt that ends so (a redelivered event tells it again), and
// an error makes the bus deliver the event again later.
type Unrouted interface {
	EventUnrouted(ctx context.Context, u *UnroutedEvent) error
}

// UnroutedEvent is an event that started no workflow execution, and why.
type UnroutedEvent struct {
	ID    string
	Event json.RawMessage
	// Reason says why, naming the closest rule and the conditions it did
	// not meet when no rule matched.
	Reason string
	// GaveUp is set when a workflow target matched but its delivery was
	// dead-lettered; Reason then carries the target's error.
	GaveUp bool
}

// Options configure a bus.
type Options struct {
	Store   Store       // the outbox and the stored rules; required
	Starter Starter     // workflow targets; nil rejects them at delivery
	Webhook *Webhook    // webhook targets; a default Webhook when nil
	Dead    DeadLetters // where dead letters are kept; logged only when nil
	// Unrouted hears of events that started no workflow execution; nil
	// ignores them.
	Unrouted Unrouted
	Logger   *slog.Logger
	// Poll is how often the dispatcher looks for events when idle
	// (default 200 ms); Put wakes it at once.
	Poll time.Duration
	// Lease is how long a claimed batch is held (default 1 minute).
	Lease time.Duration
	// RulesPoll is how often Run checks the store's rules version and
	// reloads the stored rules when it changed (default 2 s). A rule put
	// through another process is routed here within about this long.
	RulesPoll time.Duration
	Now       func() time.Time
}

// Bus routes events from the outbox to rule targets.
type Bus struct {
	opt  Options
	log  *slog.Logger
	wake chan struct{}

	mu    sync.RWMutex
	local map[string]*entry // rules of the rules files, by name
	// stored are the store's rules at storedVersion; a stored rule
	// shadows a local one of the same name.
	stored        map[string]*entry
	storedVersion int64
	loaded        bool                     // stored has been read once
	rules         map[string]*entry        // in effect: local overlaid by stored
	sets          map[string]*rule.RuleSet // enabled rules in effect, by bus

	// reloadMu serialises reloads so an older list never replaces a newer.
	reloadMu sync.Mutex

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
	spec      rule.RuleSpec
	source    string // "default", "file" or "api"
	version   int64  // stored rules: puts so far
	updatedAt time.Time
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
	if opt.RulesPoll <= 0 {
		opt.RulesPoll = 2 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Bus{opt: opt, log: opt.Logger, wake: make(chan struct{}, 1), local: map[string]*entry{}, stored: map[string]*entry{},
		rules: map[string]*entry{}, sets: map[string]*rule.RuleSet{}, done: map[string]map[string]bool{}}
}

// LoadRules adds or replaces the rules of a rules file, tagged with source
// ("default" or "file"). These rules live in this process only: every
// process loads the same files at start, and reloads of the stored rules
// leave them in place.
func (b *Bus) LoadRules(data []byte, source string) ([]rule.RuleSpec, error) {
	specs, err := rule.ParseRulesFile(data)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range specs {
		b.local[specs[i].Name] = &entry{spec: specs[i], source: source}
	}
	b.rebuildLocked()
	return specs, nil
}

// SourceAPI is the source of rules put through the API (PutRule).
const SourceAPI = "api"

// PutRule stores one rule given as a JSON object of the rules file format,
// replacing a stored rule of the same name and shadowing a rules-file rule
// of that name until it is deleted. Every process of the installation
// routes by it once its next reload runs (Options.RulesPoll); this one at
// once.
func (b *Bus) PutRule(ctx context.Context, data []byte) (*rule.RuleSpec, error) {
	data = bytes.TrimSpace(data)
	specs, err := rule.ParseRulesFile(append(append([]byte("["), data...), ']'))
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "rule")
	}
	spec := specs[0]
	state := rule.StateEnabled
	if !spec.Enabled() {
		state = rule.StateDisabled
	}
	if _, err := b.opt.Store.RulePut(ctx, &RulePutParams{Name: spec.Name, EventBus: busName(spec.EventBus), Spec: data,
		State: state, Source: SourceAPI}); err != nil {
		return nil, err
	}
	if err := b.Reload(ctx); err != nil {
		return nil, err
	}
	return &spec, nil
}

// DeleteRule removes a stored rule everywhere (a rules-file rule it
// shadowed comes back into effect). A rule that only a rules file defines
// cannot be deleted here: the file would bring it back at the next start.
func (b *Bus) DeleteRule(ctx context.Context, name string) error {
	b.mu.RLock()
	_, stored := b.stored[name]
	loc := b.local[name]
	b.mu.RUnlock()
	if !stored && loc != nil {
		return errcode.New(errcode.FailedPrecond, "rule %q comes from the %s rules file; change it there, or put a DISABLED rule of that name to override it", name, loc.source)
	}
	if err := b.opt.Store.RuleDelete(ctx, &RuleDeleteParams{Name: name}); err != nil {
		if errors.Is(err, errcode.NotFound) {
			return errcode.New(errcode.NotFound, "no rule named %q", name)
		}
		return err
	}
	return b.Reload(ctx)
}

// Reload reads the stored rules when the store's rules version differs
// from the one loaded, and puts them into effect. Run calls it every
// Options.RulesPoll; call it once at start to route by the stored rules
// before Run begins.
func (b *Bus) Reload(ctx context.Context) error {
	b.reloadMu.Lock()
	defer b.reloadMu.Unlock()
	v, err := b.opt.Store.RulesVersion(ctx, &RulesVersionParams{})
	if err != nil {
		return err
	}
	b.mu.RLock()
	same := b.loaded && v == b.storedVersion
	b.mu.RUnlock()
	if same {
		return nil
	}
	list, err := b.opt.Store.RuleList(ctx, &RuleListParams{})
	if err != nil {
		return err
	}
	stored := make(map[string]*entry, len(list.Rules))
	for _, r := range list.Rules {
		specs, err := rule.ParseRulesFile(append(append([]byte("["), r.Spec...), ']'))
		if err != nil {
			// It parsed when it was put; a release that reads rules more
			// strictly must not stop routing by all the others.
			b.log.Error("bus: stored rule does not parse; not in effect", "rule", r.Name, "version", r.Version, "err", err)
			continue
		}
		stored[r.Name] = &entry{spec: specs[0], source: r.Source, version: r.Version, updatedAt: r.UpdatedAt}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stored, b.storedVersion, b.loaded = stored, list.Version, true
	b.rebuildLocked()
	return nil
}

// RulesVersion is the stored rules version this bus routes by.
func (b *Bus) RulesVersion() int64 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.storedVersion
}

// rebuildLocked recomputes the rules in effect and their matchers.
func (b *Bus) rebuildLocked() {
	rules := make(map[string]*entry, len(b.local)+len(b.stored))
	for n, e := range b.local {
		rules[n] = e
	}
	for n, e := range b.stored {
		rules[n] = e
	}
	sets := map[string]*rule.RuleSet{}
	for n, e := range rules {
		if !e.spec.Enabled() || e.spec.Pattern == nil {
			continue
		}
		bn := busName(e.spec.EventBus)
		set := sets[bn]
		if set == nil {
			set = rule.NewRuleSet()
			sets[bn] = set
		}
		set.AddPattern(n, e.spec.Pattern)
	}
	b.rules, b.sets = rules, sets
}

// Rule is a rule in effect and where it came from.
type Rule struct {
	Spec   rule.RuleSpec
	Source string
	// Version and UpdatedAt are set for stored rules.
	Version   int64
	UpdatedAt time.Time
}

// Rules returns the rules in effect sorted by name.
func (b *Bus) Rules() []Rule {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Rule, 0, len(b.rules))
	for _, e := range b.rules {
		out = append(out, Rule{Spec: e.spec, Source: e.source, Version: e.version, UpdatedAt: e.updatedAt})
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
// it in their own transaction (the catalog's MediaCreate Events).
func OutboxEvent(ev Event) (types.OutboxEvent, error) {
	raw, err := json.Marshal(ev)
	if err != nil {
		return types.OutboxEvent{}, err
	}
	payload, err := json.Marshal(envelope{Bus: busName(ev.EventBusName), Event: raw})
	if err != nil {
		return types.OutboxEvent{}, err
	}
	return types.OutboxEvent{ID: ev.ID, Payload: payload}, nil
}

// Put writes events to the outbox; the dispatcher delivers them.
func (b *Bus) Put(ctx context.Context, events ...Event) error {
	rows := make([]types.OutboxEvent, 0, len(events))
	for _, ev := range events {
		row, err := OutboxEvent(ev)
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	if err := b.opt.Store.OutboxInsert(ctx, &OutboxInsertParams{Events: rows}); err != nil {
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

// Run dispatches events, and reloads the stored rules when they change,
// until ctx ends.
func (b *Bus) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		b.watchRules(ctx)
	}()
	defer wg.Wait()
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

// watchRules reloads the stored rules every RulesPoll until ctx ends.
func (b *Bus) watchRules(ctx context.Context) {
	t := time.NewTicker(b.opt.RulesPoll)
	defer t.Stop()
	for {
		if err := b.Reload(ctx); err != nil && ctx.Err() == nil {
			b.log.Error("bus: reloading stored rules", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DispatchOnce claims one batch of events and delivers it. It returns how
// many events it handled.
func (b *Bus) DispatchOnce(ctx context.Context) (int, error) {
	batch, err := b.opt.Store.OutboxClaim(ctx, &OutboxClaimParams{Limit: 50, Lease: b.opt.Lease})
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
		if _, rerr := b.opt.Store.OutboxRelease(ctx, &OutboxReleaseParams{ClaimToken: token, IDs: []string{row.ID}, Delay: delay, Error: err.Error()}); rerr != nil {
			b.log.Error("bus: release", "event_id", row.ID, "err", rerr)
		}
	}
	if len(done) > 0 {
		if _, err := b.opt.Store.OutboxAck(ctx, &OutboxAckParams{ClaimToken: token, IDs: done}); err != nil {
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
func (b *Bus) deliver(ctx context.Context, row *types.OutboxEvent) (retry bool, err error) {
	var env envelope
	if err := json.Unmarshal(row.Payload, &env); err != nil || len(env.Event) == 0 {
		b.log.Error("bus: malformed outbox row dropped", "event_id", row.ID, "err", err)
		return false, fmt.Errorf("malformed outbox row %s", row.ID)
	}
	b.mu.RLock()
	set := b.sets[busName(env.Bus)]
	b.mu.RUnlock()
	var names []string
	if set != nil {
		// env.Event is valid JSON: encoding/json has just decoded it.
		if names, err = set.AppendMatchesValid(nil, env.Event); err != nil {
			b.log.Error("bus: event is not matchable JSON; dropped", "event_id", row.ID, "err", err)
			return false, err
		}
	}
	workflowTargets, gaveUp := 0, 0
	var gaveUpReasons []string
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
			if t.Type == rule.TargetWorkflow {
				workflowTargets++
			}
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
				if t.Type == rule.TargetWorkflow {
					gaveUp++
					gaveUpReasons = append(gaveUpReasons, fmt.Sprintf("rule %s target %s could not start the pipeline: %s", name, t.ID, errcode.MessageOf(err)))
				}
				continue
			}
			b.log.Warn("bus: delivery failed; will retry", "event_id", row.ID, "rule", name, "target", t.ID, "attempt", row.Attempts, "err", err)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr == nil && b.opt.Unrouted != nil && (workflowTargets == 0 || gaveUp == workflowTargets) {
		u := &UnroutedEvent{ID: row.ID, Event: env.Event}
		switch {
		case gaveUp > 0:
			u.GaveUp, u.Reason = true, strings.Join(gaveUpReasons, "; ")
		case len(names) > 0:
			u.Reason = fmt.Sprintf("no rule matched with a workflow target: rule(s) %s matched but start no pipeline", strings.Join(names, ", "))
		default:
			u.Reason = explainNoMatch(b.enabledRules(busName(env.Bus)), env.Event)
		}
		if err := b.opt.Unrouted.EventUnrouted(ctx, u); err != nil {
			b.log.Warn("bus: recording an unrouted event failed; will retry", "event_id", row.ID, "err", err)
			return true, err
		}
	}
	return firstErr != nil, firstErr
}

// enabledRules are the enabled rules in effect on a bus that have a
// workflow target, sorted by name.
func (b *Bus) enabledRules(bus string) []*entry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []*entry
	for _, e := range b.rules {
		if !e.spec.Enabled() || e.spec.Pattern == nil || busName(e.spec.EventBus) != bus {
			continue
		}
		for _, t := range e.spec.Targets {
			if t.Type == rule.TargetWorkflow {
				out = append(out, e)
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].spec.Name < out[j].spec.Name })
	return out
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
