package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// A rules file lists named rules and their targets, shaped like
// EventBridge's PutRule and PutTargets requests:
//
//	[
//	  {
//	    "name": "media-pipeline",
//	    "description": "Start the media pipeline for uploads over 1 KiB",
//	    "event_pattern": {"source": ["aws.s3"], "detail-type": ["Object Created"], ...},
//	    "state": "ENABLED",
//	    "targets": [
//	      {"id": "start", "type": "workflow", "state_machine": "media",
//	       "input_transformer": {"input_paths_map": {"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
//	                             "input_template": "{\"bucket\": <bucket>, \"key\": <key>}"},
//	       "retry_policy": {"maximum_retry_attempts": 10, "maximum_event_age_seconds": 3600},
//	       "dead_letter": {"bus": "dead-letters"}}
//	    ]
//	  }
//	]
//
// The file may also be an object {"rules": [...]}, and it may be written
// in YAML (any file that does not start with '[' or '{'). Unknown fields
// are errors.

// Rule states.
const (
	StateEnabled  = "ENABLED"
	StateDisabled = "DISABLED"
)

// Target types.
const (
	TargetWorkflow = "workflow" // start an execution of a state machine
	TargetWebhook  = "webhook"  // POST the input to a URL
	TargetBus      = "bus"      // put the event on another bus
)

// RuleSpec is one rule of a rules file.
type RuleSpec struct {
	Name         string          `json:"name"`
	Description  string          `json:"description,omitempty"`
	EventBus     string          `json:"event_bus,omitempty"` // the bus the rule listens on; "" is "default"
	EventPattern json.RawMessage `json:"event_pattern"`
	State        string          `json:"state"`
	Targets      []TargetSpec    `json:"targets,omitempty"`

	// Pattern is EventPattern compiled.
	Pattern *Pattern `json:"-"`
}

// Enabled reports whether the rule is ENABLED.
func (r *RuleSpec) Enabled() bool { return r.State == StateEnabled }

// TargetSpec is one target of a rule.
type TargetSpec struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// Workflow: StateMachine (a name) or ARN. Webhook: URL. Bus: Bus (a
	// name) or ARN.
	StateMachine string `json:"state_machine,omitempty"`
	ARN          string `json:"arn,omitempty"`
	URL          string `json:"url,omitempty"`
	Bus          string `json:"bus,omitempty"`
	// At most one of Input (constant JSON), InputPath and InputTransformer;
	// with none the target receives the whole event.
	Input            json.RawMessage   `json:"input,omitempty"`
	InputPath        string            `json:"input_path,omitempty"`
	InputTransformer *InputTransformer `json:"input_transformer,omitempty"`
	RetryPolicy      *RetryPolicy      `json:"retry_policy,omitempty"`
	DeadLetter       *DeadLetter       `json:"dead_letter,omitempty"`

	inputPath *jsonPath
}

// RetryPolicy bounds redelivery, as EventBridge's RetryPolicy.
type RetryPolicy struct {
	MaximumRetryAttempts   int `json:"maximum_retry_attempts"`    // 0..185
	MaximumEventAgeSeconds int `json:"maximum_event_age_seconds"` // 60..86400
}

// DefaultRetryPolicy is EventBridge's default: 185 attempts over 24 hours.
var DefaultRetryPolicy = RetryPolicy{MaximumRetryAttempts: 185, MaximumEventAgeSeconds: 86400}

// DeadLetter names where undeliverable events go: a bus by name or ARN.
type DeadLetter struct {
	Bus string `json:"bus,omitempty"`
	ARN string `json:"arn,omitempty"`
}

// FileError is one located problem in a rules file.
type FileError struct {
	Pointer string // JSON Pointer into the file
	Offset  int    // byte offset of the value, -1 when unknown
	Message string
}

func (e *FileError) Error() string {
	p := e.Pointer
	if p == "" {
		p = "(root)"
	}
	return fmt.Sprintf("%s: %s", p, e.Message)
}

// FileErrors is every problem found in a rules file.
type FileErrors []*FileError

func (es FileErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

var nameRE = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)

// LoadRulesFile reads and validates a rules file. Invalid files yield
// FileErrors listing every problem with its JSON Pointer, or a
// *SyntaxError when the text is not JSON.
func LoadRulesFile(r io.Reader) ([]RuleSpec, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return ParseRulesFile(data)
}

// ParseRulesFile is LoadRulesFile over bytes.
func ParseRulesFile(data []byte) ([]RuleSpec, error) {
	var root *jnode
	var err error
	isYAML := false
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] != '[' && t[0] != '{' {
		isYAML = true
		root, err = parseYAML(data)
	} else {
		root, err = parseJSON(data)
	}
	if err != nil {
		return nil, err
	}
	v := &fileValidator{data: data, yaml: isYAML}
	list, base := root, ""
	if root.kind == jObject {
		v.fields(root, "", "rules")
		list, base = root.get("rules"), "/rules"
		if list == nil {
			v.add(root, "", `missing "rules"`)
			return nil, v.errs
		}
	}
	if list.kind != jArray {
		v.add(list, base, "want a list of rules, got %s", list.kind)
		return nil, v.errs
	}
	specs := make([]RuleSpec, 0, len(list.elems))
	names := map[string]string{}
	for i, n := range list.elems {
		ptr := fmt.Sprintf("%s/%d", base, i)
		spec, ok := v.rule(n, ptr)
		if !ok {
			continue
		}
		key := spec.EventBus + "\x00" + spec.Name
		if first, dup := names[key]; dup {
			v.add(n.get("name"), ptr+"/name", "duplicate rule name %q (first at %s)", spec.Name, first)
			continue
		}
		names[key] = ptr
		specs = append(specs, spec)
	}
	if len(v.errs) > 0 {
		sort.SliceStable(v.errs, func(i, j int) bool { return v.errs[i].Offset < v.errs[j].Offset })
		return nil, v.errs
	}
	return specs, nil
}

type fileValidator struct {
	errs FileErrors
	data []byte
	yaml bool
}

// raw returns the JSON text of a value: as written for JSON files,
// re-encoded for YAML ones.
func (v *fileValidator) raw(n *jnode) []byte {
	if v.yaml {
		return appendJSON(nil, n)
	}
	return v.data[n.off:n.end]
}

func (v *fileValidator) add(n *jnode, ptr, format string, args ...any) {
	off := -1
	if n != nil {
		off = n.off
	}
	v.errs = append(v.errs, &FileError{Pointer: ptr, Offset: off, Message: fmt.Sprintf(format, args...)})
}

// fields reports members of n not in allowed.
func (v *fileValidator) fields(n *jnode, ptr string, allowed ...string) {
	for i, k := range n.keys {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			v.add(n.vals[i], ptr+"/"+escapePointerToken(k), "unknown field %q (allowed: %s)", k, strings.Join(allowed, ", "))
		}
	}
}

func (v *fileValidator) str(n *jnode, ptr, field string) (string, bool) {
	f := n.get(field)
	if f == nil {
		return "", false
	}
	if f.kind != jString {
		v.add(f, ptr+"/"+field, "want a string, got %s", f.kind)
		return "", false
	}
	return f.str, true
}

func (v *fileValidator) rule(n *jnode, ptr string) (RuleSpec, bool) {
	var spec RuleSpec
	if n.kind != jObject {
		v.add(n, ptr, "want a rule object, got %s", n.kind)
		return spec, false
	}
	before := len(v.errs)
	v.fields(n, ptr, "name", "description", "event_bus", "event_pattern", "state", "targets")
	name, ok := v.str(n, ptr, "name")
	switch {
	case !ok && n.get("name") == nil:
		v.add(n, ptr, `missing "name"`)
	case ok && !nameRE.MatchString(name):
		v.add(n.get("name"), ptr+"/name", "rule name %q must be 1 to 64 letters, digits, '.', '-' or '_'", name)
	}
	spec.Name = name
	if d, ok := v.str(n, ptr, "description"); ok {
		if len(d) > 512 {
			v.add(n.get("description"), ptr+"/description", "description longer than 512 characters")
		}
		spec.Description = d
	}
	if b, ok := v.str(n, ptr, "event_bus"); ok {
		if !nameRE.MatchString(b) {
			v.add(n.get("event_bus"), ptr+"/event_bus", "bus name %q must be 1 to 64 letters, digits, '.', '-' or '_'", b)
		}
		spec.EventBus = b
	}
	spec.State = StateEnabled
	if s, ok := v.str(n, ptr, "state"); ok {
		if s != StateEnabled && s != StateDisabled {
			v.add(n.get("state"), ptr+"/state", "state must be ENABLED or DISABLED, got %q", s)
		}
		spec.State = s
	}
	if p := n.get("event_pattern"); p == nil {
		v.add(n, ptr, `missing "event_pattern"`)
	} else {
		spec.EventPattern = json.RawMessage(v.raw(p))
		if p.kind == jString {
			// EventBridge's API carries the pattern as a JSON string.
			pat, err := ParsePattern([]byte(p.str))
			v.patternErr(p, ptr+"/event_pattern", err, true)
			spec.Pattern = pat
			spec.EventPattern = json.RawMessage(p.str)
		} else {
			pat, err := compilePattern(p, string(spec.EventPattern))
			v.patternErr(p, ptr+"/event_pattern", err, false)
			spec.Pattern = pat
		}
	}
	if ts := n.get("targets"); ts != nil {
		if ts.kind != jArray {
			v.add(ts, ptr+"/targets", "want a list of targets, got %s", ts.kind)
		} else {
			if len(ts.elems) > 5 {
				v.add(ts, ptr+"/targets", "a rule has at most 5 targets, got %d", len(ts.elems))
			}
			ids := map[string]bool{}
			for i, tn := range ts.elems {
				tp := fmt.Sprintf("%s/targets/%d", ptr, i)
				t, ok := v.target(tn, tp)
				if t.ID != "" {
					if ids[t.ID] {
						v.add(tn.get("id"), tp+"/id", "duplicate target id %q", t.ID)
						ok = false
					}
					ids[t.ID] = true
				}
				if ok {
					spec.Targets = append(spec.Targets, t)
				}
			}
		}
	}
	return spec, len(v.errs) == before
}

func (v *fileValidator) patternErr(p *jnode, ptr string, err error, inString bool) {
	if err == nil {
		return
	}
	var pe *PatternError
	var se *SyntaxError
	switch {
	case errors.As(err, &pe):
		off := pe.Offset // the pattern was compiled in place: offsets are file offsets
		if inString {
			off = p.off
		}
		v.errs = append(v.errs, &FileError{Pointer: ptr + pe.Pointer, Offset: off, Message: pe.Message})
	case errors.As(err, &se):
		v.add(p, ptr, "pattern is not JSON: %s", se.Msg)
	default:
		v.add(p, ptr, "%v", err)
	}
}

func (v *fileValidator) target(n *jnode, ptr string) (TargetSpec, bool) {
	var t TargetSpec
	if n.kind != jObject {
		v.add(n, ptr, "want a target object, got %s", n.kind)
		return t, false
	}
	before := len(v.errs)
	v.fields(n, ptr, "id", "type", "state_machine", "arn", "url", "bus", "input", "input_path", "input_transformer", "retry_policy", "dead_letter")
	id, ok := v.str(n, ptr, "id")
	switch {
	case !ok && n.get("id") == nil:
		v.add(n, ptr, `missing "id"`)
	case ok && !nameRE.MatchString(id):
		v.add(n.get("id"), ptr+"/id", "target id %q must be 1 to 64 letters, digits, '.', '-' or '_'", id)
	}
	t.ID = id
	t.Type, _ = v.str(n, ptr, "type")
	t.StateMachine, _ = v.str(n, ptr, "state_machine")
	t.ARN, _ = v.str(n, ptr, "arn")
	t.URL, _ = v.str(n, ptr, "url")
	t.Bus, _ = v.str(n, ptr, "bus")
	forbid := func(fields ...string) {
		for _, f := range fields {
			if x := n.get(f); x != nil {
				v.add(x, ptr+"/"+f, "%q is not used by a %s target", f, t.Type)
			}
		}
	}
	exactlyOne := func(a, b string) {
		if (n.get(a) == nil) == (n.get(b) == nil) {
			v.add(n, ptr, "a %s target needs exactly one of %q and %q", t.Type, a, b)
		}
	}
	switch t.Type {
	case TargetWorkflow:
		forbid("url", "bus")
		exactlyOne("state_machine", "arn")
		if t.StateMachine != "" && !nameRE.MatchString(t.StateMachine) {
			v.add(n.get("state_machine"), ptr+"/state_machine", "state machine name %q must be 1 to 64 letters, digits, '.', '-' or '_'", t.StateMachine)
		}
		if t.ARN != "" && !(strings.HasPrefix(t.ARN, "arn:") && strings.Contains(t.ARN, ":stateMachine:")) {
			v.add(n.get("arn"), ptr+"/arn", "want a state machine ARN (arn:…:states:…:stateMachine:NAME), got %q", t.ARN)
		}
	case TargetWebhook:
		forbid("state_machine", "arn", "bus")
		if n.get("url") == nil {
			v.add(n, ptr, `a webhook target needs "url"`)
		} else if u, err := url.Parse(t.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add(n.get("url"), ptr+"/url", "want an absolute http or https URL, got %q", t.URL)
		}
	case TargetBus:
		forbid("state_machine", "url")
		exactlyOne("bus", "arn")
		if t.Bus != "" && !nameRE.MatchString(t.Bus) {
			v.add(n.get("bus"), ptr+"/bus", "bus name %q must be 1 to 64 letters, digits, '.', '-' or '_'", t.Bus)
		}
		if t.ARN != "" && !(strings.HasPrefix(t.ARN, "arn:") && strings.Contains(t.ARN, ":event-bus/")) {
			v.add(n.get("arn"), ptr+"/arn", "want an event bus ARN (arn:…:events:…:event-bus/NAME), got %q", t.ARN)
		}
	case "":
		if n.get("type") == nil {
			v.add(n, ptr, `missing "type" (workflow, webhook or bus)`)
		}
	default:
		v.add(n.get("type"), ptr+"/type", "unknown target type %q (want workflow, webhook or bus)", t.Type)
	}
	inputs := 0
	if in := n.get("input"); in != nil {
		inputs++
		t.Input = json.RawMessage(v.raw(in))
	}
	if ip := n.get("input_path"); ip != nil {
		inputs++
		if s, ok := v.str(n, ptr, "input_path"); ok {
			p, err := parseJSONPath(s)
			if err != nil {
				v.add(ip, ptr+"/input_path", "%v", err)
			} else if len(s) > 256 {
				v.add(ip, ptr+"/input_path", "JSONPath longer than 256 characters")
			}
			t.InputPath, t.inputPath = s, p
		}
	}
	if it := n.get("input_transformer"); it != nil {
		inputs++
		t.InputTransformer = v.transformer(it, ptr+"/input_transformer")
	}
	if inputs > 1 {
		v.add(n, ptr, `use at most one of "input", "input_path" and "input_transformer"`)
	}
	if rp := n.get("retry_policy"); rp != nil {
		t.RetryPolicy = v.retry(rp, ptr+"/retry_policy")
	}
	if dl := n.get("dead_letter"); dl != nil {
		p := ptr + "/dead_letter"
		if dl.kind != jObject {
			v.add(dl, p, "want an object, got %s", dl.kind)
		} else {
			v.fields(dl, p, "bus", "arn")
			d := &DeadLetter{}
			d.Bus, _ = v.str(dl, p, "bus")
			d.ARN, _ = v.str(dl, p, "arn")
			if (dl.get("bus") == nil) == (dl.get("arn") == nil) {
				v.add(dl, p, `a dead letter needs exactly one of "bus" and "arn"`)
			}
			if d.Bus != "" && !nameRE.MatchString(d.Bus) {
				v.add(dl.get("bus"), p+"/bus", "bus name %q must be 1 to 64 letters, digits, '.', '-' or '_'", d.Bus)
			}
			t.DeadLetter = d
		}
	}
	return t, len(v.errs) == before
}

func (v *fileValidator) transformer(n *jnode, ptr string) *InputTransformer {
	if n.kind != jObject {
		v.add(n, ptr, "want an object, got %s", n.kind)
		return nil
	}
	v.fields(n, ptr, "input_paths_map", "input_template")
	t := &InputTransformer{InputPathsMap: map[string]string{}}
	if m := n.get("input_paths_map"); m != nil {
		if m.kind != jObject {
			v.add(m, ptr+"/input_paths_map", "want an object of variable names to JSONPaths, got %s", m.kind)
		} else {
			for i, k := range m.keys {
				if m.vals[i].kind != jString {
					v.add(m.vals[i], ptr+"/input_paths_map/"+escapePointerToken(k), "want a JSONPath string, got %s", m.vals[i].kind)
					continue
				}
				t.InputPathsMap[k] = m.vals[i].str
			}
		}
	}
	if tn := n.get("input_template"); tn == nil {
		v.add(n, ptr, `missing "input_template"`)
		return t
	} else if tn.kind != jString {
		v.add(tn, ptr+"/input_template", "want a string, got %s", tn.kind)
		return t
	} else {
		t.InputTemplate = tn.str
	}
	for _, p := range t.check() {
		at := n
		if strings.HasPrefix(p.ptr, "/input_template") {
			at = n.get("input_template")
		}
		if m := n.get("input_paths_map"); m != nil && m.kind == jObject {
			for i, k := range m.keys {
				if p.ptr == "/input_paths_map/"+escapePointerToken(k) {
					at = m.vals[i]
				}
			}
		}
		v.add(at, ptr+p.ptr, "%s", p.msg)
	}
	return t
}

func (v *fileValidator) retry(n *jnode, ptr string) *RetryPolicy {
	if n.kind != jObject {
		v.add(n, ptr, "want an object, got %s", n.kind)
		return nil
	}
	v.fields(n, ptr, "maximum_retry_attempts", "maximum_event_age_seconds")
	rp := DefaultRetryPolicy
	num := func(field string, lo, hi int, dst *int) {
		f := n.get(field)
		if f == nil {
			return
		}
		var x int
		if f.kind != jNumber || json.Unmarshal([]byte(f.str), &x) != nil {
			v.add(f, ptr+"/"+field, "want an integer, got %s", f.kind)
			return
		}
		if x < lo || x > hi {
			v.add(f, ptr+"/"+field, "must be between %d and %d, got %d", lo, hi, x)
			return
		}
		*dst = x
	}
	num("maximum_retry_attempts", 0, 185, &rp.MaximumRetryAttempts)
	num("maximum_event_age_seconds", 60, 86400, &rp.MaximumEventAgeSeconds)
	return &rp
}

// TargetInput computes what the target receives for an event: the event
// itself, the constant Input, the value InputPath selects (null when it
// selects nothing), or the input transformer's output.
func (t *TargetSpec) TargetInput(event []byte, ctx TransformContext) ([]byte, error) {
	switch {
	case len(t.Input) > 0:
		return append([]byte(nil), t.Input...), nil
	case t.InputPath != "":
		p := t.inputPath
		if p == nil {
			var err error
			if p, err = parseJSONPath(t.InputPath); err != nil {
				return nil, err
			}
		}
		root, err := parseJSON(event)
		if err != nil {
			return nil, fmt.Errorf("event: %w", err)
		}
		v := p.eval(root)
		if v == nil {
			return []byte("null"), nil
		}
		return appendJSON(nil, v), nil
	case t.InputTransformer != nil:
		return t.InputTransformer.Apply(event, ctx)
	}
	return append([]byte(nil), event...), nil
}

// RuleSetOf builds a rule set from the enabled rules of a rules file.
func RuleSetOf(specs []RuleSpec) *RuleSet {
	s := NewRuleSet()
	for i := range specs {
		if specs[i].Enabled() && specs[i].Pattern != nil {
			s.AddPattern(specs[i].Name, specs[i].Pattern)
		}
	}
	return s
}
