package bus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/rule"
)

// condition is one top-level field condition of an event pattern: the
// dotted path of the field and the pattern's list of accepted values (or
// an $or list).
type condition struct {
	path string
	raw  json.RawMessage
}

// conditions splits an event pattern into its field conditions, in the
// pattern's order of paths.
func conditions(pattern json.RawMessage) []condition {
	var out []condition
	var walk func(prefix string, raw json.RawMessage)
	walk = func(prefix string, raw json.RawMessage) {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			out = append(out, condition{path: prefix, raw: raw})
			return
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := bytes.TrimSpace(obj[k])
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			if k == "$or" || len(v) > 0 && v[0] == '[' {
				out = append(out, condition{path: p, raw: v})
				continue
			}
			walk(p, v)
		}
	}
	walk("", pattern)
	return out
}

// nest wraps a condition's values back into a pattern testing that field
// alone.
func (c condition) pattern() []byte {
	parts := strings.Split(c.path, ".")
	if parts[len(parts)-1] == "$or" {
		parts = parts[:len(parts)-1]
		inner, _ := json.Marshal(map[string]json.RawMessage{"$or": c.raw})
		return wrap(parts, inner)
	}
	return wrap(parts[:len(parts)-1], mustObject(parts[len(parts)-1], c.raw))
}

func mustObject(k string, v json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]json.RawMessage{k: v})
	return b
}

func wrap(parts []string, inner []byte) []byte {
	for i := len(parts) - 1; i >= 0; i-- {
		inner = mustObject(parts[i], inner)
	}
	return inner
}

// failedConditions returns the conditions of a rule's pattern that the
// event does not meet. A condition that cannot be checked on its own
// counts as failed.
func failedConditions(spec *rule.RuleSpec, event []byte) []condition {
	var failed []condition
	for _, c := range conditions(spec.EventPattern) {
		p, err := rule.ParsePattern(c.pattern())
		if err != nil {
			failed = append(failed, c)
			continue
		}
		if ok, err := p.Matches(event); err != nil || !ok {
			failed = append(failed, c)
		}
	}
	return failed
}

// explainNoMatch says why an event matched no enabled rule of its bus:
// the rule that came closest (fewest failed field conditions) and what
// each failed condition wanted against what the event has.
func explainNoMatch(rules []*entry, event []byte) string {
	if len(rules) == 0 {
		return "no rule matched: no enabled rule is loaded for this event's bus"
	}
	var best *entry
	var bestFailed []condition
	for _, e := range rules {
		f := failedConditions(&e.spec, event)
		if best == nil || len(f) < len(bestFailed) || len(f) == len(bestFailed) && e.spec.Name < best.spec.Name {
			best, bestFailed = e, f
		}
	}
	if len(bestFailed) == 0 {
		return fmt.Sprintf("no rule matched this event (closest rule %q)", best.spec.Name)
	}
	var doc any
	_ = json.Unmarshal(event, &doc)
	parts := make([]string, 0, len(bestFailed))
	for _, c := range bestFailed {
		parts = append(parts, describeFailure(c, doc))
	}
	return fmt.Sprintf("no rule matched: %s (closest rule %q)", strings.Join(parts, "; "), best.spec.Name)
}

// describeFailure says how the event's value at c.path fails c.
func describeFailure(c condition, doc any) string {
	v, found := lookup(doc, c.path)
	if !found {
		return fmt.Sprintf("%s is absent, the rule wants %s", c.path, compact(c.raw))
	}
	if n, ok := v.(float64); ok {
		if s, ok := numericFailure(c, n); ok {
			return s
		}
	}
	got, _ := json.Marshal(v)
	return fmt.Sprintf("%s is %s, the rule wants %s", c.path, got, compact(c.raw))
}

// numericFailure phrases a failed single numeric condition as the
// comparison that held instead, e.g. "size 64 B ≤ 1 KiB".
func numericFailure(c condition, n float64) (string, bool) {
	var vals []map[string][]any
	if json.Unmarshal(c.raw, &vals) != nil || len(vals) != 1 || len(vals[0]["numeric"]) == 0 {
		return "", false
	}
	ops := vals[0]["numeric"]
	name := c.path[strings.LastIndexByte(c.path, '.')+1:]
	format := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	if name == "size" {
		format = humanBytes
	}
	neg := map[string]string{">": "≤", ">=": "<", "<": "≥", "<=": ">", "=": "≠"}
	for i := 0; i+1 < len(ops); i += 2 {
		op, _ := ops[i].(string)
		lim, ok := ops[i+1].(float64)
		if !ok || neg[op] == "" {
			return "", false
		}
		held := map[string]bool{">": n > lim, ">=": n >= lim, "<": n < lim, "<=": n <= lim, "=": n == lim}[op]
		if !held {
			return fmt.Sprintf("%s %s %s %s", name, format(n), neg[op], format(lim)), true
		}
	}
	return "", false
}

// humanBytes formats a byte count: "64 B", "1 KiB", "1.5 MiB".
func humanBytes(x float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for math.Abs(x) >= 1024 && i < len(units)-1 {
		x /= 1024
		i++
	}
	return strconv.FormatFloat(math.Round(x*10)/10, 'f', -1, 64) + " " + units[i]
}

func lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func compact(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}
