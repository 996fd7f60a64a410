package rule

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// pathNode is one step of the field paths that some rule uses. Events are
// flattened against this tree, so fields no rule mentions are skipped
// without being decoded.
type pathNode struct {
	kids map[string]*pathNode
	// names and nodes list kids when there are few: comparing a member
	// name with a handful of strings is cheaper than hashing it.
	names []string
	nodes []*pathNode
	id    int32 // index of the exact path, or -1 when no rule uses it

	// For reading trusted events: the node's index among all nodes, its
	// parent, and how many paths rules use at or below it. Set by number.
	num    int32
	parent *pathNode
	total  int32
}

const pathNodeListMax = 8

func newPathNode() *pathNode { return &pathNode{id: -1} }

// number sets num, parent and total over the tree rooted at n and returns
// how many nodes it holds.
func (n *pathNode) number() int {
	count := 0
	var walk func(x, parent *pathNode) int32
	walk = func(x, parent *pathNode) int32 {
		x.num = int32(count)
		count++
		x.parent = parent
		x.total = 0
		if x.id >= 0 {
			x.total = 1
		}
		for _, k := range x.kids {
			x.total += walk(k, x)
		}
		return x.total
	}
	walk(n, nil)
	return count
}

// add inserts a dotted path and returns its node.
func (n *pathNode) add(path string) *pathNode {
	for _, seg := range splitPath(path) {
		if n.kids == nil {
			n.kids = map[string]*pathNode{}
		}
		k := n.kids[seg]
		if k == nil {
			k = newPathNode()
			n.kids[seg] = k
			if len(n.kids) <= pathNodeListMax {
				n.names = append(n.names, seg)
				n.nodes = append(n.nodes, k)
			} else {
				n.names, n.nodes = nil, nil
			}
		}
		n = k
	}
	return n
}

func splitPath(p string) []string {
	var out []string
	for {
		i := indexByteString(p, '.')
		if i < 0 {
			return append(out, p)
		}
		out = append(out, p[:i])
		p = p[i+1:]
	}
}

func indexByteString(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// child returns the node for a member name, which may itself contain dots
// ({"a.b": 1} and {"a": {"b": 1}} name the same path).
func (n *pathNode) child(key []byte) *pathNode {
	if n.kids == nil {
		return nil
	}
	if n.names != nil {
		dotted := false
		for i, name := range n.names {
			if len(key) == len(name) {
				if name == bstr(key) {
					return n.nodes[i]
				}
			} else if len(key) > len(name) && key[len(name)] == '.' {
				dotted = true
			}
		}
		if !dotted {
			return nil
		}
	} else if k, ok := n.kids[bstr(key)]; ok {
		return k
	} else if bytes.IndexByte(key, '.') < 0 {
		return nil
	}
	for {
		seg, rest, more := bytes.Cut(key, []byte{'.'})
		k := n.kids[bstr(seg)]
		if k == nil {
			return nil
		}
		if !more {
			return k
		}
		if k.kids == nil {
			return nil
		}
		n, key = k, rest
	}
}

// arrEntry records that a field sits inside element idx of array arr.
type arrEntry struct {
	arr, idx int32
}

// field is one leaf value of a flattened event.
type field struct {
	path   int32
	vs, ve int32 // buf[vs:ve] is the value key: tag byte + payload
	num    float64
	numOK  bool // num holds the value of a number usable in numeric ranges
	// isNum: the value is a number, and buf[vs:ve] holds tagText and its
	// literal, which is its key only when no double holds the literal
	// (see numberIn)
	isNum  bool
	ms, me int32 // mem[ms:me] is the field's array membership
}

// flattener walks an event's JSON text.
type flattener struct {
	data   []byte
	fields []field
	buf    []byte
	mem    []arrEntry
	stack  []arrEntry
	keyBuf []byte
	arrays int32
	// trusted: the event is known to be valid JSON (with no path given
	// twice outside arrays), so values no rule reads are skipped by
	// counting brackets rather than checked, and an object is left as soon
	// as every path the rules use below it has had its value.
	trusted bool
	root    *pathNode
	done    bool     // every path has its value: stop reading
	inArray int32    // depth of arrays around the current value
	gen     uint32   // generation of pathSeen and nodeGen
	seen    []uint32 // per path id: == gen when its value was read outside arrays
	nodeGen []uint32 // per node num: == gen when found is valid
	found   []int32  // per node num: paths below it read outside arrays
}

// sized prepares the per-path and per-node scratch of trusted reading.
func (f *flattener) sized(npaths, nnodes int) {
	f.seen = make([]uint32, npaths)
	f.nodeGen = make([]uint32, nnodes)
	f.found = make([]int32, nnodes)
}

// complete reports whether every path at or below n has had its value.
func (f *flattener) complete(n *pathNode) bool {
	return f.nodeGen[n.num] == f.gen && f.found[n.num] == n.total
}

// got records, for trusted reading, that path node n had its value.
func (f *flattener) got(n *pathNode) {
	if f.inArray > 0 || f.seen[n.id] == f.gen {
		return
	}
	f.seen[n.id] = f.gen
	for a := n; a != nil; a = a.parent {
		if f.nodeGen[a.num] != f.gen {
			f.nodeGen[a.num] = f.gen
			f.found[a.num] = 0
		}
		f.found[a.num]++
	}
}

func (f *flattener) reset(data []byte, trusted bool) {
	f.data = data
	f.trusted = trusted
	f.done = false
	f.inArray = 0
	if trusted {
		if f.gen++; f.gen == 0 {
			clear(f.seen)
			clear(f.nodeGen)
			f.gen = 1
		}
	}
	f.fields = f.fields[:0]
	f.buf = f.buf[:0]
	f.mem = f.mem[:0]
	f.stack = f.stack[:0]
	f.arrays = 0
}

func (f *flattener) err(i int, format string, args ...any) error {
	return syntaxErr(f.data, i, format, args...)
}

func (f *flattener) ws(i int) int {
	d := f.data
	for i < len(d) && d[i] <= ' ' && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// flatten reads a whole event, which must be a JSON object.
func (f *flattener) flatten(root *pathNode) error {
	f.root = root
	i := f.ws(0)
	if i >= len(f.data) || f.data[i] != '{' {
		if i >= len(f.data) {
			return f.err(i, "empty event: an event must be a JSON object")
		}
		return f.err(i, "an event must be a JSON object")
	}
	i, err := f.object(i, root, 0)
	if err != nil || f.done {
		return err
	}
	i = f.ws(i)
	if i != len(f.data) {
		return f.err(i, "unexpected data after the event object")
	}
	return nil
}

func (f *flattener) object(i int, n *pathNode, depth int) (int, error) {
	if depth > maxDepth {
		return i, f.err(i, "nesting deeper than %d", maxDepth)
	}
	d := f.data
	i = f.ws(i + 1)
	if i < len(d) && d[i] == '}' {
		return i + 1, nil
	}
	for {
		if f.trusted && f.complete(n) {
			if f.complete(f.root) {
				// nothing further can change the answer
				f.done = true
				return i, nil
			}
			return skipRestTrusted(d, i), nil
		}
		if i >= len(d) || d[i] != '"' {
			return i, f.err(i, "want a member name in quotes")
		}
		var end int
		var esc bool
		var err error
		if f.trusted {
			// names with escapes are rare: those are checked as they are
			// decoded, so that decoding never meets a broken escape
			end, esc = nameEndTrusted(d, i)
		}
		if !f.trusted {
			end = shortString(d, i)
		}
		if end == 0 || esc {
			if end, esc, err = scanString(d, i); err != nil {
				return i, err
			}
		}
		key := d[i+1 : end-1]
		if esc {
			f.keyBuf = unescape(f.keyBuf[:0], key)
			key = f.keyBuf
		}
		i = f.ws(end)
		if i >= len(d) || d[i] != ':' {
			return i, f.err(i, "want ':' after member name")
		}
		i = f.ws(i + 1)
		if k := n.child(key); k != nil {
			i, err = f.value(i, k, depth+1)
		} else {
			i, err = f.skip(i, depth+1)
		}
		if err != nil || f.done {
			return i, err
		}
		i = f.ws(i)
		if i < len(d) && d[i] == ',' {
			i = f.ws(i + 1)
			continue
		}
		if i < len(d) && d[i] == '}' {
			return i + 1, nil
		}
		return i, f.err(i, "want ',' or '}' in object")
	}
}

func (f *flattener) array(i int, n *pathNode, depth int) (int, error) {
	if depth > maxDepth {
		return i, f.err(i, "nesting deeper than %d", maxDepth)
	}
	d := f.data
	id := f.arrays
	f.arrays++
	i = f.ws(i + 1)
	if i < len(d) && d[i] == ']' {
		return i + 1, nil
	}
	var err error
	f.inArray++
	for idx := int32(0); ; idx++ {
		if i < len(d) && (d[i] == '{' || d[i] == '[') {
			f.stack = append(f.stack, arrEntry{arr: id, idx: idx})
			i, err = f.value(i, n, depth+1)
			f.stack = f.stack[:len(f.stack)-1]
		} else {
			i, err = f.value(i, n, depth+1)
		}
		if err != nil {
			return i, err
		}
		i = f.ws(i)
		if i < len(d) && d[i] == ',' {
			i = f.ws(i + 1)
			continue
		}
		if i < len(d) && d[i] == ']' {
			f.inArray--
			return i + 1, nil
		}
		return i, f.err(i, "want ',' or ']' in array")
	}
}

// value handles the value at d[i] for path node n.
func (f *flattener) value(i int, n *pathNode, depth int) (int, error) {
	d := f.data
	if i >= len(d) {
		return i, f.err(i, "unexpected end of event, want a value")
	}
	switch c := d[i]; {
	case c == '{':
		if n.kids == nil {
			return f.skip(i, depth)
		}
		return f.object(i, n, depth)
	case c == '[':
		return f.array(i, n, depth)
	case c == '"':
		end, esc := shortString(d, i), false
		if end == 0 {
			var err error
			if end, esc, err = scanString(d, i); err != nil {
				return i, err
			}
		}
		if n.id >= 0 {
			vs := len(f.buf)
			f.buf = append(f.buf, tagString)
			if esc {
				f.buf = unescape(f.buf, d[i+1:end-1])
			} else {
				f.buf = append(f.buf, d[i+1:end-1]...)
			}
			f.leaf(n, vs, 0, false, false)
		}
		return end, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if n.id < 0 {
			end, ok := scanNumber(d, i)
			if !ok {
				return end, f.err(end, "malformed number")
			}
			return end, nil
		}
		end, ok, num, numOK := scanReadNumber(d, i)
		if !ok {
			return end, f.err(end, "malformed number")
		}
		// the literal stands in for the key until a lookup needs the key
		// (numberIn)
		vs := len(f.buf)
		f.buf = append(f.buf, tagText)
		f.buf = append(f.buf, d[i:end]...)
		f.leaf(n, vs, num, numOK, true)
		return end, nil
	default:
		var tag byte
		var lit string
		switch c {
		case 't':
			tag, lit = tagTrue, "true"
		case 'f':
			tag, lit = tagFalse, "false"
		case 'n':
			tag, lit = tagNull, "null"
		default:
			return i, f.err(i, "unexpected character %q, want a value", c)
		}
		if !bytes.HasPrefix(d[i:], []byte(lit)) {
			return i, f.err(i, "invalid literal, want %s", lit)
		}
		if n.id >= 0 {
			vs := len(f.buf)
			f.buf = append(f.buf, tag)
			f.leaf(n, vs, 0, false, false)
		}
		return i + len(lit), nil
	}
}

func (f *flattener) leaf(n *pathNode, vs int, num float64, numOK, isNum bool) {
	if f.trusted {
		f.got(n)
	}
	ms := len(f.mem)
	f.mem = append(f.mem, f.stack...)
	f.fields = append(f.fields, field{
		path: n.id, vs: int32(vs), ve: int32(len(f.buf)),
		num: num, numOK: numOK, isNum: isNum,
		ms: int32(ms), me: int32(len(f.mem)),
	})
}

// skip passes over the value at d[i], which no rule reads.
func (f *flattener) skip(i int, depth int) (int, error) {
	if f.trusted {
		return skipTrusted(f.data, i), nil
	}
	return skipValue(f.data, i, depth)
}

// skipValue validates and skips the JSON value at d[i], nested depth
// deep. It walks nested values with a stack of bits rather than by
// recursion, and strings and digit runs eight bytes at a time.
func skipValue(d []byte, i int, depth int) (int, error) {
	if i < len(d) && depth <= maxDepth {
		// scalars without the container walk's stack
		switch c := d[i]; {
		case c == '"':
			if k := shortString(d, i); k > 0 {
				return k, nil
			}
			end, _, err := scanString(d, i)
			return end, err
		case c == '-' || c-'0' < 10:
			end, ok := scanNumber(d, i)
			if !ok {
				return end, syntaxErr(d, end, "malformed number")
			}
			return end, nil
		}
	}
	return skipNestedValue(d, i, depth)
}

// skipNestedValue is skipValue for any value, containers included.
func skipNestedValue(d []byte, i int, depth int) (int, error) {
	var arrays [maxDepth/64 + 1]uint64 // per open container: is it an array
	top := 0                           // open containers
	inArray := false                   // the innermost open container is an array
	var c byte
	var ok bool
	var err error
	for {
		// want a value at d[i]
		if depth+top > maxDepth {
			return i, syntaxErr(d, i, "nesting deeper than %d", maxDepth)
		}
		if i >= len(d) {
			return i, syntaxErr(d, i, "unexpected end of input, want a value")
		}
		switch c = d[i]; c {
		case '"':
			if k := shortString(d, i); k > 0 {
				i = k
			} else if i, _, err = scanString(d, i); err != nil {
				return i, err
			}
		case '{', '[':
			inArray = c == '['
			if inArray {
				arrays[top>>6] |= 1 << (top & 63)
			} else {
				arrays[top>>6] &^= 1 << (top & 63)
			}
			top++
			i = skipWS(d, i+1)
			if inArray {
				if i < len(d) && d[i] == ']' {
					i++
					goto closed
				}
				continue
			}
			if i < len(d) && d[i] == '}' {
				i++
				goto closed
			}
			goto member
		case 't':
			if !hasLit(d, i, "true") {
				return i, syntaxErr(d, i, "unexpected character %q, want a value", c)
			}
			i += 4
		case 'f':
			if !hasLit(d, i, "false") {
				return i, syntaxErr(d, i, "unexpected character %q, want a value", c)
			}
			i += 5
		case 'n':
			if !hasLit(d, i, "null") {
				return i, syntaxErr(d, i, "unexpected character %q, want a value", c)
			}
			i += 4
		default:
			if c != '-' && c-'0' >= 10 {
				return i, syntaxErr(d, i, "unexpected character %q, want a value", c)
			}
			if i, ok = scanNumber(d, i); !ok {
				return i, syntaxErr(d, i, "malformed number")
			}
		}
	after:
		// a value ended at d[i]
		if top == 0 {
			return i, nil
		}
		i = skipWS(d, i)
		if i < len(d) && d[i] == ',' {
			i = skipWS(d, i+1)
			if inArray {
				continue
			}
			goto member
		}
		if inArray {
			if i < len(d) && d[i] == ']' {
				i++
				goto closed
			}
			return i, syntaxErr(d, i, "want ',' or ']' in array")
		}
		if i < len(d) && d[i] == '}' {
			i++
			goto closed
		}
		return i, syntaxErr(d, i, "want ',' or '}' in object")
	closed:
		// the innermost container closed just before d[i]
		top--
		if top > 0 {
			inArray = arrays[(top-1)>>6]&(1<<((top-1)&63)) != 0
		}
		goto after
	member:
		// want a member name at d[i]
		if i >= len(d) || d[i] != '"' {
			return i, syntaxErr(d, i, "want a member name in quotes")
		}
		if k := shortString(d, i); k > 0 {
			i = k
		} else if i, _, err = scanString(d, i); err != nil {
			return i, err
		}
		i = skipWS(d, i)
		if i >= len(d) || d[i] != ':' {
			return i, syntaxErr(d, i, "want ':' after member name")
		}
		i = skipWS(d, i+1)
	}
}

// shortString returns the offset just past the string whose opening
// quote is at d[i] when the eight bytes after the quote show it to end
// there with nothing to check (no escape, no control character), and 0
// when the string must be read by scanString.
func shortString(d []byte, i int) int {
	if i+9 > len(d) {
		return 0
	}
	w := binary.LittleEndian.Uint64(d[i+1:])
	m := zeroBytes(w^('"'*swarOnes)) | zeroBytes(w^('\\'*swarOnes)) | (w-0x20*swarOnes)&^w&swarHighs
	if m == 0 {
		return 0
	}
	k := i + 1 + bits.TrailingZeros64(m)>>3
	if d[k] != '"' {
		return 0
	}
	return k + 1
}

// skipWS returns the offset of the first byte at or after i that is not
// JSON white space.
func skipWS(d []byte, i int) int {
	for i < len(d) && d[i] <= ' ' && (d[i] == ' ' || d[i] == '\n' || d[i] == '\r' || d[i] == '\t') {
		i++
	}
	return i
}

// hasLit reports whether d[i:] starts with lit.
func hasLit(d []byte, i int, lit string) bool {
	return len(d)-i >= len(lit) && string(d[i:i+len(lit)]) == lit
}
