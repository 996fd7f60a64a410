package rule

import (
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
)

// RuleSet is a set of named patterns matched together. It is safe for
// concurrent use: Match runs against an immutable compiled automaton, and
// Add and Remove publish a new one (copy-on-write). The automaton is
// rebuilt once after a batch of changes, on the next Match, so loading
// many rules costs one build.
type RuleSet struct {
	mu      sync.Mutex // serialises changes and rebuilds
	rules   map[string]*Pattern
	order   []string // insertion order of names
	dirty   atomic.Bool
	current atomic.Pointer[machine]
}

// NewRuleSet returns an empty rule set.
func NewRuleSet() *RuleSet {
	s := &RuleSet{rules: map[string]*Pattern{}}
	s.current.Store(buildMachine(nil))
	return s
}

// Add compiles pattern and adds it under name, replacing any rule of that
// name.
func (s *RuleSet) Add(name string, pattern []byte) error {
	p, err := ParsePattern(pattern)
	if err != nil {
		return err
	}
	s.AddPattern(name, p)
	return nil
}

// AddPattern adds a compiled pattern under name, replacing any rule of that
// name.
func (s *RuleSet) AddPattern(name string, p *Pattern) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rules[name]; !ok {
		s.order = append(s.order, name)
	}
	s.rules[name] = p
	s.dirty.Store(true)
}

// Remove deletes the rule called name and reports whether it existed.
func (s *RuleSet) Remove(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.rules[name]; !ok {
		return false
	}
	delete(s.rules, name)
	for i, n := range s.order {
		if n == name {
			s.order = append(s.order[:i:i], s.order[i+1:]...)
			break
		}
	}
	s.dirty.Store(true)
	return true
}

// Len returns the number of rules.
func (s *RuleSet) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rules)
}

// Names returns the rule names in the order they were first added.
func (s *RuleSet) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Pattern returns the pattern of the named rule.
func (s *RuleSet) Pattern(name string) (*Pattern, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.rules[name]
	return p, ok
}

func (s *RuleSet) machine() *machine {
	if !s.dirty.Load() {
		return s.current.Load()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dirty.Load() {
		rules := make([]compiledRule, 0, len(s.order))
		for _, n := range s.order {
			rules = append(rules, compiledRule{name: n, pat: s.rules[n]})
		}
		s.current.Store(buildMachine(rules))
		s.dirty.Store(false)
	}
	return s.current.Load()
}

// Match returns the names of the rules that event matches, in the order
// the rules were added. event must be a JSON object; text that is not
// yields a *SyntaxError.
func (s *RuleSet) Match(event []byte) ([]string, error) {
	return s.AppendMatches(nil, event)
}

// AppendMatches is Match appending to dst, for callers that reuse a slice.
func (s *RuleSet) AppendMatches(dst []string, event []byte) ([]string, error) {
	return s.appendMatches(dst, event, false)
}

// AppendMatchesValid is AppendMatches for an event already known to be
// valid JSON, such as a json.RawMessage that encoding/json has decoded.
// The parts of the event no rule reads are then passed over by counting
// brackets instead of being checked, which is several times faster on
// events whose rules read a few of many fields. For valid JSON the answer
// is the same as AppendMatches'; for text that is not, it is unspecified
// (an error, or matches read from the part that could be read), but the
// call is safe.
func (s *RuleSet) AppendMatchesValid(dst []string, event []byte) ([]string, error) {
	return s.appendMatches(dst, event, true)
}

func (s *RuleSet) appendMatches(dst []string, event []byte, trusted bool) ([]string, error) {
	m := s.machine()
	idx, c, err := m.match(event, trusted)
	if err != nil {
		return dst, err
	}
	for _, i := range idx {
		dst = append(dst, m.names[i])
	}
	m.release(c)
	return dst, nil
}

// Matches reports whether event matches the pattern.
func (p *Pattern) Matches(event []byte) (bool, error) {
	m := buildMachine([]compiledRule{{name: "", pat: p}})
	idx, c, err := m.match(event, false)
	if err != nil {
		return false, err
	}
	ok := len(idx) > 0
	m.release(c)
	return ok, nil
}

// Matcher is a compiled single pattern that can be matched many times.
type Matcher struct{ m *machine }

// Compile prepares the pattern for repeated matching.
func (p *Pattern) Compile() *Matcher {
	return &Matcher{m: buildMachine([]compiledRule{{name: "", pat: p}})}
}

// Match reports whether event matches.
func (m *Matcher) Match(event []byte) (bool, error) {
	idx, c, err := m.m.match(event, false)
	if err != nil {
		return false, err
	}
	ok := len(idx) > 0
	m.m.release(c)
	return ok, nil
}

// Paths returns the flattened field paths the pattern tests, sorted.
func (p *Pattern) Paths() []string {
	seen := map[string]bool{}
	var out []string
	for _, sr := range p.subs {
		for _, f := range sr.fields {
			if !seen[f.path] {
				seen[f.path] = true
				out = append(out, f.path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// GoString describes the compiled form, for debugging.
func (p *Pattern) GoString() string {
	return fmt.Sprintf("rule.Pattern(%d sub-rules, paths %v)", len(p.subs), p.Paths())
}
