package rule

import (
	"errors"
	"math"
	"slices"
	"sync"
)

// The matcher is an automaton in the style of aws/event-ruler: every
// sub-rule (a pattern, or one branch of its $or) is a sequence of field
// conditions sorted by path. Sub-rules share states while their
// conditions agree, so the work per event grows with the fields the event
// holds, not with the number of rules. Values are looked up, not scanned:
// exact values in a hash table, prefixes and suffixes in byte tries,
// wildcards by their literal prefix.

// state is a node of the automaton.
type state struct {
	rules    []int32               // rules whose sub-rule ends here
	trans    []*transition         // value transitions, by path
	transIdx map[int32]*transition // the same, indexed, when there are many
	absent   []absentTrans         // exists:false transitions
	kids     map[string]*state     // build only: condition signature → next state
	id       int32                 // index among the machine\'s states
	final    bool                  // only rules end here: no transitions follow
}

type transition struct {
	path int32
	vm   valueMatcher
}

type absentTrans struct {
	path int32
	next *state
}

// targets is a set of next states reached when a matcher accepts a value.
type targets []*state

func (t targets) add(s *state) targets {
	for _, x := range t {
		if x == s {
			return t
		}
	}
	return append(t, s)
}

// valueMatcher holds every matcher of the conditions on one path leaving
// one state.
type valueMatcher struct {
	exact      map[string]targets // value key → states
	fold       map[string]targets // folded string → states
	prefix     *trie
	suffix     *trie // over reversed bytes
	prefixFold *trie
	suffixFold *trie // over reversed folded bytes
	wild       *trie // wildcards by literal prefix
	others     []*otherMatcher
	ips        map[ipKey]targets // IP address literals
	nums       []*otherMatcher   // numeric ranges
	numIdx     *numIndex         // nums indexed, when there are many
	needFold   bool
	exactNums  bool // exact holds the key of a number
}

type ipKey struct {
	a  [16]byte
	v4 bool
}

type otherMatcher struct {
	m    *matcher
	next targets
}

type trie struct {
	edges []trieEdge
	dense *[256]*trie
	out   targets
	wild  []wildOut
}

type trieEdge struct {
	b byte
	n *trie
}

type wildOut struct {
	w    *wildcard
	next targets
}

func (t *trie) step(b byte) *trie {
	if t.dense != nil {
		return t.dense[b]
	}
	for i := range t.edges {
		if t.edges[i].b == b {
			return t.edges[i].n
		}
	}
	return nil
}

func (t *trie) insert(s string) *trie {
	for i := 0; i < len(s); i++ {
		n := t.step(s[i])
		if n == nil {
			n = &trie{}
			if t.dense != nil {
				t.dense[s[i]] = n
			} else {
				t.edges = append(t.edges, trieEdge{s[i], n})
				if len(t.edges) > 8 {
					t.dense = new([256]*trie)
					for _, e := range t.edges {
						t.dense[e.b] = e.n
					}
					t.edges = nil
				}
			}
		}
		t = n
	}
	return t
}

func (vm *valueMatcher) add(m *matcher, next *state) {
	switch m.kind {
	case mExact:
		if vm.exact == nil {
			vm.exact = map[string]targets{}
		}
		vm.exact[m.key] = vm.exact[m.key].add(next)
		if m.key[0] == tagNumber || m.key[0] == tagText {
			vm.exactNums = true
		}
	case mFold:
		if vm.fold == nil {
			vm.fold = map[string]targets{}
		}
		vm.fold[m.key] = vm.fold[m.key].add(next)
		vm.needFold = true
	case mPrefix:
		if vm.prefix == nil {
			vm.prefix = &trie{}
		}
		n := vm.prefix.insert(m.key)
		n.out = n.out.add(next)
	case mSuffix:
		if vm.suffix == nil {
			vm.suffix = &trie{}
		}
		n := vm.suffix.insert(reverseString(m.key))
		n.out = n.out.add(next)
	case mPrefixFold:
		if vm.prefixFold == nil {
			vm.prefixFold = &trie{}
		}
		n := vm.prefixFold.insert(m.key)
		n.out = n.out.add(next)
		vm.needFold = true
	case mSuffixFold:
		if vm.suffixFold == nil {
			vm.suffixFold = &trie{}
		}
		n := vm.suffixFold.insert(reverseString(m.key))
		n.out = n.out.add(next)
		vm.needFold = true
	case mWildcard:
		if vm.wild == nil {
			vm.wild = &trie{}
		}
		w := m.wild[0]
		n := vm.wild.insert(w.literalPrefix())
		for i := range n.wild {
			if n.wild[i].w.src == w.src {
				n.wild[i].next = n.wild[i].next.add(next)
				return
			}
		}
		n.wild = append(n.wild, wildOut{w: w, next: targets{next}})
	case mIP:
		if vm.ips == nil {
			vm.ips = map[ipKey]targets{}
		}
		k := ipKey{a: m.ip.lo, v4: m.ip.v4}
		vm.ips[k] = vm.ips[k].add(next)
	case mNumeric:
		for _, o := range vm.nums {
			if o.m.sig == m.sig {
				o.next = o.next.add(next)
				return
			}
		}
		vm.nums = append(vm.nums, &otherMatcher{m: m, next: targets{next}})
	default:
		for _, o := range vm.others {
			if o.m.sig == m.sig {
				o.next = o.next.add(next)
				return
			}
		}
		vm.others = append(vm.others, &otherMatcher{m: m, next: targets{next}})
	}
}

// machine is an immutable compiled rule set.
type machine struct {
	root    *state
	paths   *pathNode
	nnodes  int // nodes of paths
	npaths  int
	nstates int
	names   []string
	pool    sync.Pool
}

type compiledRule struct {
	name string
	pat  *Pattern
}

func buildMachine(rules []compiledRule) *machine {
	m := &machine{root: &state{}, paths: newPathNode()}
	pathIDs := map[string]int32{}
	pathID := func(p string) int32 {
		if id, ok := pathIDs[p]; ok {
			return id
		}
		n := m.paths.add(p)
		if n.id < 0 {
			n.id = int32(m.npaths)
			m.npaths++
		}
		pathIDs[p] = n.id
		return n.id
	}
	for ri, r := range rules {
		m.names = append(m.names, r.name)
		for _, sr := range r.pat.subs {
			s := m.root
			for _, fc := range sr.fields {
				pid := pathID(fc.path)
				sig := fc.path + "\x00"
				for _, mm := range fc.ms {
					sig += mm.sig + "\x00"
				}
				if s.kids == nil {
					s.kids = map[string]*state{}
				}
				next := s.kids[sig]
				if next == nil {
					next = &state{}
					s.kids[sig] = next
					var t *transition
					for _, mm := range fc.ms {
						if mm.kind == mAbsent {
							s.absent = append(s.absent, absentTrans{path: pid, next: next})
							continue
						}
						if t == nil {
							t = s.transition(pid)
						}
						t.vm.add(mm, next)
					}
				}
				s = next
			}
			if !slices.Contains(s.rules, int32(ri)) {
				s.rules = append(s.rules, int32(ri))
			}
		}
	}
	m.nnodes = m.paths.number()
	m.finish(m.root)
	m.pool.New = func() any { return newMatchCtx(m) }
	return m
}

func (s *state) transition(pid int32) *transition {
	for _, t := range s.trans {
		if t.path == pid {
			return t
		}
	}
	t := &transition{path: pid}
	s.trans = append(s.trans, t)
	return t
}

// finish drops build-only data and indexes wide states.
func (m *machine) finish(root *state) {
	stack := []*state{root}
	for len(stack) > 0 {
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		s.id = int32(m.nstates)
		m.nstates++
		for _, k := range s.kids {
			stack = append(stack, k)
		}
		s.kids = nil
		s.final = len(s.trans) == 0 && len(s.absent) == 0
		slices.SortFunc(s.trans, func(a, b *transition) int { return int(a.path) - int(b.path) })
		for _, t := range s.trans {
			if len(t.vm.nums) > 8 {
				t.vm.numIdx = buildNumIndex(t.vm.nums)
			}
		}
		if len(s.trans) > 8 {
			s.transIdx = make(map[int32]*transition, len(s.trans))
			for _, t := range s.trans {
				s.transIdx[t.path] = t
			}
		}
	}
}

// MaxMatchSteps bounds the work of matching one event. Events whose
// arrays of objects make the search for consistent field combinations
// explode (many arrays, each with many elements that all match) stop with
// ErrEventTooComplex instead of running without limit. Ordinary events,
// even the 256 KB ones EventBridge accepts, take a few thousand steps.
var MaxMatchSteps = 20_000_000

// ErrEventTooComplex reports an event that needs more than MaxMatchSteps
// matching steps.
var ErrEventTooComplex = errors.New("rule: event too complex to match: its arrays of objects allow too many field combinations")

// matchCtx is the per-match scratch space, pooled per machine.
type matchCtx struct {
	m        *machine
	fl       flattener
	stamp    []uint32 // per path: == gen when pathStart/pathCount are set
	start    []int32
	count    []int32
	present  []int32 // paths present in the event
	sorted   []field // the other buffer of byPath's counting sort
	outer    []int32 // per path: the array every field of the path sits in first, or -1
	outerGen []uint32
	gen      uint32
	msf      []arrEntry // membership-so-far arena
	seen     []uint32   // per rule: == seenGen when already matched
	seenGen  uint32
	budget   int      // matching steps left for this event
	visited  []uint32 // per state: == visitGen when visited with no array membership
	visitGen uint32
	out      []int32
	nexts    []*state
	foldBuf  []byte
}

func newMatchCtx(m *machine) *matchCtx {
	c := &matchCtx{
		m:        m,
		stamp:    make([]uint32, m.npaths),
		outer:    make([]int32, m.npaths),
		outerGen: make([]uint32, m.npaths),
		start:    make([]int32, m.npaths),
		count:    make([]int32, m.npaths),
		seen:     make([]uint32, len(m.names)),
		visited:  make([]uint32, m.nstates),
	}
	c.fl.sized(m.npaths, m.nnodes)
	return c
}

// match flattens event and appends the indexes of the rules it matches.
// When trusted, event is known to be valid JSON (see AppendMatchesValid).
func (m *machine) match(event []byte, trusted bool) ([]int32, *matchCtx, error) {
	c := m.pool.Get().(*matchCtx)
	c.fl.reset(event, trusted)
	if err := c.fl.flatten(m.paths); err != nil {
		c.fl.data = nil
		m.pool.Put(c)
		return nil, nil, err
	}
	c.out = c.out[:0]
	c.seenGen++
	if c.seenGen == 0 {
		clear(c.seen)
		c.seenGen = 1
	}
	if len(c.fl.fields) > 0 || len(m.root.absent) > 0 || len(m.root.rules) > 0 {
		c.gen++
		if c.gen == 0 {
			clear(c.stamp)
			clear(c.outerGen)
			c.gen = 1
		}
		c.byPath()
		c.msf = c.msf[:0]
		c.budget = MaxMatchSteps
		if c.visitGen++; c.visitGen == 0 {
			clear(c.visited)
			c.visitGen = 1
		}
		c.visit(m.root, 0, 0)
		if c.budget < 0 {
			m.release(c)
			return nil, nil, ErrEventTooComplex
		}
	}
	slices.Sort(c.out)
	return c.out, c, nil
}

// byPath orders the event's fields by path, keeping document order
// within a path, and sets stamp, start and count for each path present.
func (c *matchCtx) byPath() {
	fs := c.fl.fields
	c.present = c.present[:0]
	if len(fs) >= 8 && len(c.count) <= 4*len(fs) {
		// counting sort: linear where comparison sorts of interleaved
		// paths (x, y, z, x, y, z…) are not
		clear(c.count)
		for i := range fs {
			c.count[fs[i].path]++
		}
		pos := int32(0)
		for p, n := range c.count {
			if n > 0 {
				c.stamp[p] = c.gen
				c.start[p] = pos
				c.present = append(c.present, int32(p))
				pos += n
			}
		}
		sorted := slices.Grow(c.sorted[:0], len(fs))[:len(fs)]
		for i := range fs {
			p := fs[i].path
			sorted[c.start[p]] = fs[i]
			c.start[p]++
		}
		for _, p := range c.present {
			c.start[p] -= c.count[p]
		}
		c.sorted, c.fl.fields = fs[:0], sorted
		return
	}
	slices.SortStableFunc(fs, func(a, b field) int { return int(a.path) - int(b.path) })
	for i := 0; i < len(fs); {
		j := i + 1
		for j < len(fs) && fs[j].path == fs[i].path {
			j++
		}
		p := fs[i].path
		c.stamp[p] = c.gen
		c.start[p] = int32(i)
		c.count[p] = int32(j - i)
		c.present = append(c.present, p)
		i = j
	}
}

func (m *machine) release(c *matchCtx) {
	if c != nil {
		c.fl.data = nil
		m.pool.Put(c)
	}
}

// consistent reports whether a field with membership fm can join a match
// whose membership so far is c.msf[a:b], and returns the membership after
// it joins (possibly the same range).
func (c *matchCtx) consistent(a, b int, fm []arrEntry) (int, int, bool) {
	if len(fm) == 0 {
		return a, b, true
	}
	extend := false
	for _, e := range fm {
		found := false
		for _, s := range c.msf[a:b] {
			if s.arr == e.arr {
				if s.idx != e.idx {
					return 0, 0, false
				}
				found = true
				break
			}
		}
		if !found {
			extend = true
		}
	}
	if !extend {
		return a, b, true
	}
	na := len(c.msf)
	c.msf = append(c.msf, c.msf[a:b]...)
	for _, e := range fm {
		found := false
		for _, s := range c.msf[a:b] {
			if s.arr == e.arr {
				found = true
				break
			}
		}
		if !found {
			c.msf = append(c.msf, e)
		}
	}
	return na, len(c.msf), true
}

func (c *matchCtx) fieldsOf(p int32) []field {
	if c.stamp[p] != c.gen {
		return nil
	}
	s := c.start[p]
	return c.fl.fields[s : s+c.count[p]]
}

func (c *matchCtx) visit(s *state, a, b int) {
	if c.budget--; c.budget < 0 {
		return
	}
	if a == b {
		// With no array membership chosen, what follows from s is the same
		// each time: visit it once (duplicate values, several matchers of
		// one condition accepting the same value).
		if c.visited[s.id] == c.visitGen {
			return
		}
		c.visited[s.id] = c.visitGen
	}
	for _, r := range s.rules {
		if c.seen[r] != c.seenGen {
			c.seen[r] = c.seenGen
			c.out = append(c.out, r)
		}
	}
	for _, at := range s.absent {
		found := false
		fs := c.narrow(at.path, c.fieldsOf(at.path), a, b)
		for i := range fs {
			mark := len(c.msf)
			_, _, ok := c.consistent(a, b, c.fl.mem[fs[i].ms:fs[i].me])
			c.msf = c.msf[:mark]
			if ok {
				found = true
				break
			}
		}
		if !found {
			c.visit(at.next, a, b)
		}
	}
	if len(s.trans) == 0 {
		return
	}
	if s.transIdx == nil || len(s.trans) <= len(c.present) {
		for _, t := range s.trans {
			c.step(t, a, b)
		}
		return
	}
	for _, p := range c.present {
		if t := s.transIdx[p]; t != nil {
			c.step(t, a, b)
		}
	}
}

func (c *matchCtx) step(t *transition, a, b int) {
	fs := c.narrow(t.path, c.fieldsOf(t.path), a, b)
	if c.budget -= len(fs); c.budget < 0 {
		return
	}
	for i := range fs {
		f := &fs[i]
		n0 := len(c.nexts)
		c.collect(&t.vm, f)
		n1 := len(c.nexts)
		if n1 == n0 {
			continue
		}
		mark := len(c.msf)
		if na, nb, ok := c.consistent(a, b, c.fl.mem[f.ms:f.me]); ok {
			for k := n0; k < n1; k++ {
				if n := c.nexts[k]; n.final {
					// what the match chose of arrays no longer matters
					c.visit(n, 0, 0)
				} else {
					c.visit(n, na, nb)
				}
			}
		}
		c.nexts = c.nexts[:n0]
		c.msf = c.msf[:mark]
	}
}

// narrow cuts the fields of path p down to those that can be consistent
// with the membership so far, when that is cheap to tell: if every field
// of p sits first in one array X, and the match has already chosen element
// i of X, only the fields in element i qualify. Fields are in document
// order, so those form one run, found by binary search.
func (c *matchCtx) narrow(p int32, fs []field, a, b int) []field {
	if len(fs) < 8 || a == b {
		return fs
	}
	if c.outerGen[p] != c.gen {
		c.outerGen[p] = c.gen
		x := int32(-1)
		for i := range fs {
			f := &fs[i]
			if f.ms == f.me {
				x = -1
				break
			}
			arr := c.fl.mem[f.ms].arr
			if i == 0 {
				x = arr
			} else if arr != x {
				x = -1
				break
			}
		}
		c.outer[p] = x
	}
	x := c.outer[p]
	if x < 0 {
		return fs
	}
	for _, e := range c.msf[a:b] {
		if e.arr != x {
			continue
		}
		mem := c.fl.mem
		lo, hi := 0, len(fs)
		for lo < hi { // first field with index >= e.idx
			m := int(uint(lo+hi) >> 1)
			if mem[fs[m].ms].idx < e.idx {
				lo = m + 1
			} else {
				hi = m
			}
		}
		start := lo
		hi = len(fs)
		for lo < hi { // first field with index > e.idx
			m := int(uint(lo+hi) >> 1)
			if mem[fs[m].ms].idx <= e.idx {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return fs[start:lo]
	}
	return fs
}

// collect appends to c.nexts the states that the value of f reaches.
func (c *matchCtx) collect(vm *valueMatcher, f *field) {
	key := c.fl.buf[f.vs:f.ve]
	if vm.exact != nil {
		if f.isNum {
			if vm.exactNums {
				if t, ok := numberIn(vm.exact, key, f); ok {
					c.nexts = append(c.nexts, t...)
				}
			}
		} else if t, ok := vm.exact[bstr(key)]; ok {
			c.nexts = append(c.nexts, t...)
		}
	}
	if key[0] == tagString {
		s := key[1:]
		if vm.prefix != nil {
			c.walk(vm.prefix, s, false)
		}
		if vm.suffix != nil {
			c.walk(vm.suffix, s, true)
		}
		if vm.wild != nil {
			str := bstr(s)
			n := vm.wild
			for i := 0; ; i++ {
				for _, w := range n.wild {
					if w.w.match(str) {
						c.nexts = append(c.nexts, w.next...)
					}
				}
				if i == len(s) {
					break
				}
				if n = n.step(s[i]); n == nil {
					break
				}
			}
		}
		if vm.ips != nil {
			if a, v4, ok := parseIP(bstr(s)); ok {
				c.nexts = append(c.nexts, vm.ips[ipKey{a: a, v4: v4}]...)
			}
		}
		if vm.needFold {
			c.foldBuf = appendFold(c.foldBuf[:0], bstr(s))
			fs := c.foldBuf
			if vm.fold != nil {
				if t, ok := vm.fold[bstr(fs)]; ok {
					c.nexts = append(c.nexts, t...)
				}
			}
			if vm.prefixFold != nil {
				c.walk(vm.prefixFold, fs, false)
			}
			if vm.suffixFold != nil {
				c.walk(vm.suffixFold, fs, true)
			}
		}
	}
	if f.numOK {
		if vm.numIdx != nil {
			c.nexts = append(c.nexts, vm.numIdx.lookup(f.num)...)
		} else {
			for _, o := range vm.nums {
				if o.m.inRange(f.num) {
					c.nexts = append(c.nexts, o.next...)
				}
			}
		}
	}
	for _, o := range vm.others {
		if c.accepts(o.m, f, key) {
			c.nexts = append(c.nexts, o.next...)
		}
	}
}

func (c *matchCtx) walk(t *trie, s []byte, reverse bool) {
	c.nexts = append(c.nexts, t.out...)
	for i := 0; i < len(s); i++ {
		b := s[i]
		if reverse {
			b = s[len(s)-1-i]
		}
		if t = t.step(b); t == nil {
			return
		}
		c.nexts = append(c.nexts, t.out...)
	}
}

// accepts evaluates the matchers that are not indexed.
func (c *matchCtx) accepts(m *matcher, f *field, key []byte) bool {
	isStr := key[0] == tagString
	switch m.kind {
	case mExists:
		return true
	case mNumeric:
		return f.numOK && m.inRange(f.num)
	case mCIDR:
		if !isStr {
			return false
		}
		a, v4, ok := parseIP(bstr(key[1:]))
		return ok && m.ip.contains(a, v4)
	case mButValues:
		if f.isNum {
			_, in := numberIn(m.set, key, f)
			return !in
		}
		return !m.set[bstr(key)]
	case mButPrefix, mButSuffix:
		if !isStr {
			return true
		}
		s := bstr(key[1:])
		for _, p := range m.strs {
			if m.kind == mButPrefix && len(s) >= len(p) && s[:len(p)] == p {
				return false
			}
			if m.kind == mButSuffix && len(s) >= len(p) && s[len(s)-len(p):] == p {
				return false
			}
		}
		return true
	case mButFold:
		if !isStr {
			return true
		}
		c.foldBuf = appendFold(c.foldBuf[:0], bstr(key[1:]))
		return !m.set[bstr(c.foldBuf)]
	case mButWildcard:
		if !isStr {
			return true
		}
		s := bstr(key[1:])
		for _, w := range m.wild {
			if w.match(s) {
				return false
			}
		}
		return true
	}
	return false
}

func (m *matcher) inRange(v float64) bool {
	return !(v < m.lo || (m.loOpen && v == m.lo) || v > m.hi || (m.hiOpen && v == m.hi))
}

// numIndex answers "which ranges hold v" by binary search: the range
// endpoints cut the number line into points and open segments, and each
// piece lists the ranges that cover it. When ranges overlap so much that
// the lists would be large, buildNumIndex returns nil and the ranges are
// scanned (the answer is then large anyway).
type numIndex struct {
	bounds []float64 // sorted, distinct
	points []targets // points[i]: ranges holding bounds[i]
	segs   []targets // segs[i]: ranges holding (bounds[i-1], bounds[i])
}

func buildNumIndex(ms []*otherMatcher) *numIndex {
	var b []float64
	for _, o := range ms {
		if !math.IsInf(o.m.lo, -1) {
			b = append(b, o.m.lo)
		}
		if !math.IsInf(o.m.hi, 1) {
			b = append(b, o.m.hi)
		}
	}
	slices.Sort(b)
	b = slices.Compact(b)
	pos := func(v float64) int { i, _ := slices.BinarySearch(b, v); return i }
	type span struct{ s0, s1, p0, p1 int }
	spans := make([]span, len(ms))
	total := 0
	for i, o := range ms {
		sp := span{s0: 0, s1: len(b), p0: 0, p1: len(b) - 1}
		if !math.IsInf(o.m.lo, -1) {
			sp.s0 = pos(o.m.lo) + 1
			sp.p0 = pos(o.m.lo)
			if o.m.loOpen {
				sp.p0++
			}
		}
		if !math.IsInf(o.m.hi, 1) {
			sp.s1 = pos(o.m.hi)
			sp.p1 = pos(o.m.hi)
			if o.m.hiOpen {
				sp.p1--
			}
		}
		spans[i] = sp
		total += max(0, sp.s1-sp.s0+1) + max(0, sp.p1-sp.p0+1)
	}
	if total > 64*len(ms)+4096 {
		return nil
	}
	x := &numIndex{bounds: b, points: make([]targets, len(b)), segs: make([]targets, len(b)+1)}
	for i, o := range ms {
		sp := spans[i]
		for k := sp.s0; k <= sp.s1; k++ {
			x.segs[k] = append(x.segs[k], o.next...)
		}
		for k := sp.p0; k <= sp.p1; k++ {
			x.points[k] = append(x.points[k], o.next...)
		}
	}
	return x
}

func (x *numIndex) lookup(v float64) targets {
	lo, hi := 0, len(x.bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.bounds[m] < v {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(x.bounds) && x.bounds[lo] == v {
		return x.points[lo]
	}
	return x.segs[lo]
}
