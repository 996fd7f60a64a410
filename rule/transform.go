package rule

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// This file evaluates EventBridge target input: InputPath and the input
// transformer (InputPathsMap + InputTemplate).

// jsonPath is the JSONPath subset EventBridge accepts in input paths:
// $, .name, ['name'], [index], .* and [*].
type jsonPath struct {
	src   string
	steps []pathStep
}

type pathStep struct {
	name  string
	index int
	kind  byte // 'n' name, 'i' index, '*' wildcard
}

// parseJSONPath compiles an input path such as $.detail.object.key or
// $.detail.resources[0].
func parseJSONPath(s string) (*jsonPath, error) {
	p := &jsonPath{src: s}
	if !strings.HasPrefix(s, "$") {
		return nil, fmt.Errorf("JSONPath %q must start with $", s)
	}
	i := 1
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			j := i
			for j < len(s) && s[j] != '.' && s[j] != '[' {
				j++
			}
			name := s[i:j]
			switch {
			case name == "":
				return nil, fmt.Errorf("JSONPath %q: empty name at offset %d", s, i)
			case name == "*":
				p.steps = append(p.steps, pathStep{kind: '*'})
			default:
				for _, r := range name {
					if r == ' ' || r == '\'' || r == '"' || r == ']' || r == '*' {
						return nil, fmt.Errorf("JSONPath %q: character %q is not allowed in a name", s, r)
					}
				}
				p.steps = append(p.steps, pathStep{kind: 'n', name: name})
			}
			i = j
		case '[':
			j := strings.IndexByte(s[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("JSONPath %q: unclosed [ at offset %d", s, i)
			}
			inner := s[i+1 : i+j]
			switch {
			case inner == "*":
				p.steps = append(p.steps, pathStep{kind: '*'})
			case len(inner) >= 2 && (inner[0] == '\'' && inner[len(inner)-1] == '\'' || inner[0] == '"' && inner[len(inner)-1] == '"'):
				p.steps = append(p.steps, pathStep{kind: 'n', name: inner[1 : len(inner)-1]})
			default:
				n, err := strconv.Atoi(inner)
				if err != nil || n < 0 {
					return nil, fmt.Errorf("JSONPath %q: %q is not an array index, a quoted name or *", s, inner)
				}
				p.steps = append(p.steps, pathStep{kind: 'i', index: n})
			}
			i += j + 1
		default:
			return nil, fmt.Errorf("JSONPath %q: unexpected %q at offset %d", s, s[i], i)
		}
	}
	return p, nil
}

func (p *jsonPath) String() string { return p.src }

// eval returns the selected value, or nil when the path selects nothing. A
// path with a wildcard selects an array of every match.
func (p *jsonPath) eval(root *jnode) *jnode {
	cur := []*jnode{root}
	multi := false
	for _, st := range p.steps {
		var next []*jnode
		for _, n := range cur {
			switch st.kind {
			case 'n':
				if n.kind == jObject {
					if v := n.get(st.name); v != nil {
						next = append(next, v)
					}
				}
			case 'i':
				if n.kind == jArray && st.index < len(n.elems) {
					next = append(next, n.elems[st.index])
				}
			case '*':
				multi = true
				switch n.kind {
				case jObject:
					next = append(next, n.vals...)
				case jArray:
					next = append(next, n.elems...)
				}
			}
		}
		cur = next
	}
	if multi {
		return &jnode{kind: jArray, elems: cur}
	}
	if len(cur) == 0 {
		return nil
	}
	return cur[0]
}

// appendJSON writes n as compact JSON, numbers as written in the source.
func appendJSON(dst []byte, n *jnode) []byte {
	switch n.kind {
	case jNull:
		return append(dst, "null"...)
	case jTrue:
		return append(dst, "true"...)
	case jFalse:
		return append(dst, "false"...)
	case jNumber:
		return append(dst, n.str...)
	case jString:
		return appendQuoted(dst, n.str)
	case jArray:
		dst = append(dst, '[')
		for i, e := range n.elems {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSON(dst, e)
		}
		return append(dst, ']')
	default:
		dst = append(dst, '{')
		for i, k := range n.keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendQuoted(dst, k)
			dst = append(dst, ':')
			dst = appendJSON(dst, n.vals[i])
		}
		return append(dst, '}')
	}
}

// Reserved input-transformer variables.
const (
	VarRuleARN       = "aws.events.rule-arn"
	VarRuleName      = "aws.events.rule-name"
	VarIngestionTime = "aws.events.event.ingestion-time"
	VarEvent         = "aws.events.event"      // the event without its detail field
	VarEventJSON     = "aws.events.event.json" // the whole event
)

var reservedVars = map[string]bool{VarRuleARN: true, VarRuleName: true, VarIngestionTime: true, VarEvent: true, VarEventJSON: true}

var (
	placeholderRE = regexp.MustCompile(`<([A-Za-z0-9_.\-]+)>`)
	varNameRE     = regexp.MustCompile(`^[A-Za-z0-9_\-]+$`)
)

// InputTransformer is EventBridge's input transformer: variables taken
// from the event by JSONPath, substituted into a template as <name>.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"input_paths_map,omitempty"`
	InputTemplate string            `json:"input_template"`

	paths map[string]*jsonPath
	json  bool
}

// TransformContext carries the values of the reserved variables.
type TransformContext struct {
	RuleName      string
	RuleARN       string
	IngestionTime time.Time
}

// transformError is a located problem in an input transformer.
type fieldProblem struct {
	ptr string
	msg string
}

// check validates the transformer and prepares it for Apply. It returns
// every problem, each with a pointer relative to the transformer.
func (t *InputTransformer) check() []fieldProblem {
	var probs []fieldProblem
	add := func(ptr, format string, args ...any) {
		probs = append(probs, fieldProblem{ptr, fmt.Sprintf(format, args...)})
	}
	if len(t.InputPathsMap) > 100 {
		add("/input_paths_map", "at most 100 variables are allowed, got %d", len(t.InputPathsMap))
	}
	t.paths = map[string]*jsonPath{}
	for _, k := range sortedKeys(t.InputPathsMap) {
		v := t.InputPathsMap[k]
		ptr := "/input_paths_map/" + escapePointerToken(k)
		if reservedVars[k] || strings.HasPrefix(k, "aws.events.") {
			add(ptr, "variable name %q is reserved", k)
			continue
		}
		if !varNameRE.MatchString(k) {
			add(ptr, "variable name %q must be letters, digits, '_' or '-'", k)
			continue
		}
		if len(v) > 256 {
			add(ptr, "JSONPath longer than 256 characters")
			continue
		}
		p, err := parseJSONPath(v)
		if err != nil {
			add(ptr, "%v", err)
			continue
		}
		t.paths[k] = p
	}
	tpl := t.InputTemplate
	switch {
	case tpl == "":
		add("/input_template", "an input template is required")
		return probs
	case len(tpl) > 8192:
		add("/input_template", "input template longer than 8192 characters")
	}
	for _, m := range placeholderRE.FindAllStringSubmatch(tpl, -1) {
		if _, ok := t.InputPathsMap[m[1]]; !ok && !reservedVars[m[1]] {
			add("/input_template", "placeholder <%s> is neither in input_paths_map nor a reserved aws.events variable", m[1])
		}
	}
	trimmed := strings.TrimSpace(tpl)
	t.json = strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
	if t.json {
		// The template must be JSON once every placeholder is a value.
		sample, keyErr := t.render(func(string) (*jnode, bool) { return &jnode{kind: jNull}, true }, nil)
		if keyErr != "" {
			add("/input_template", "%s", keyErr)
		} else if _, err := parseJSON(sample); err != nil {
			add("/input_template", "template is not valid JSON with its placeholders filled: %v", err)
		}
	}
	return probs
}

// Validate reports the first problem with the transformer, if any.
func (t *InputTransformer) Validate() error {
	c := *t // check fills in compiled fields; leave t untouched
	if p := c.check(); len(p) > 0 {
		return fmt.Errorf("%s: %s", p[0].ptr, p[0].msg)
	}
	return nil
}

// Apply evaluates the transformer for one event. In a JSON template a
// placeholder inside a string is replaced by the value's text (strings
// unquoted and escaped); outside a string by the value as JSON, and by
// null when the path selects nothing. In a text template values are
// inserted as text. The result of a JSON template is checked to be JSON.
func (t *InputTransformer) Apply(event []byte, ctx TransformContext) ([]byte, error) {
	if t.paths == nil {
		// Built by hand rather than loaded from a rules file: compile a
		// copy, so that concurrent Apply calls never write to t.
		c := *t
		if p := c.check(); len(p) > 0 {
			return nil, fmt.Errorf("%s: %s", p[0].ptr, p[0].msg)
		}
		t = &c
	}
	root, err := parseJSON(event)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	lookup := func(name string) (*jnode, bool) {
		switch name {
		case VarRuleARN:
			return &jnode{kind: jString, str: ctx.RuleARN}, true
		case VarRuleName:
			return &jnode{kind: jString, str: ctx.RuleName}, true
		case VarIngestionTime:
			ts := ctx.IngestionTime
			if ts.IsZero() {
				ts = time.Now()
			}
			return &jnode{kind: jString, str: ts.UTC().Format("2006-01-02T15:04:05Z")}, true
		case VarEventJSON:
			return root, true
		case VarEvent:
			if root.kind != jObject {
				return root, true
			}
			c := &jnode{kind: jObject}
			for i, k := range root.keys {
				if k != "detail" {
					c.keys = append(c.keys, k)
					c.vals = append(c.vals, root.vals[i])
				}
			}
			return c, true
		}
		p := t.paths[name]
		if p == nil {
			return nil, false
		}
		v := p.eval(root)
		return v, v != nil
	}
	out, keyErr := t.render(lookup, nil)
	if keyErr != "" {
		return nil, fmt.Errorf("input_template: %s", keyErr)
	}
	if t.json {
		if _, err := parseJSON(out); err != nil {
			return nil, fmt.Errorf("input_template: the transformed input is not valid JSON: %v", err)
		}
	}
	return out, nil
}

// IsJSON reports whether the template (and so its output) is JSON.
func (t *InputTransformer) IsJSON() bool {
	trimmed := strings.TrimSpace(t.InputTemplate)
	return strings.HasPrefix(trimmed, "{") || strings.HasPrefix(trimmed, "[")
}

// render substitutes placeholders. For JSON templates it tracks whether a
// placeholder sits inside a string literal, and rejects placeholders used
// as object keys.
func (t *InputTransformer) render(lookup func(string) (*jnode, bool), dst []byte) ([]byte, string) {
	tpl := t.InputTemplate
	inStr, strHasPlaceholder := false, ""
	for i := 0; i < len(tpl); {
		c := tpl[i]
		if c == '<' {
			if loc := placeholderRE.FindStringSubmatchIndex(tpl[i:]); loc != nil && loc[0] == 0 {
				name := tpl[i+loc[2] : i+loc[3]]
				end := i + loc[1]
				v, ok := lookup(name)
				switch {
				case !t.json:
					if ok {
						if v.kind == jString {
							dst = append(dst, v.str...)
						} else {
							dst = appendJSON(dst, v)
						}
					}
				case inStr:
					strHasPlaceholder = name
					if ok {
						var text string
						if v.kind == jString {
							text = v.str
						} else {
							text = string(appendJSON(nil, v))
						}
						q := appendQuoted(nil, text)
						dst = append(dst, q[1:len(q)-1]...)
					}
				default:
					rest := strings.TrimLeft(tpl[end:], " \t\r\n")
					if strings.HasPrefix(rest, ":") {
						return nil, fmt.Sprintf("placeholder <%s> cannot be used as an object key", name)
					}
					if ok {
						dst = appendJSON(dst, v)
					} else {
						dst = append(dst, "null"...)
					}
				}
				i = end
				continue
			}
		}
		if t.json {
			if c == '"' {
				if inStr && strHasPlaceholder != "" {
					if rest := strings.TrimLeft(tpl[i+1:], " \t\r\n"); strings.HasPrefix(rest, ":") {
						return nil, fmt.Sprintf("placeholder <%s> cannot be used as an object key", strHasPlaceholder)
					}
				}
				inStr, strHasPlaceholder = !inStr, ""
			} else if c == '\\' && inStr && i+1 < len(tpl) {
				dst = append(dst, c, tpl[i+1])
				i += 2
				continue
			}
		}
		dst = append(dst, c)
		i++
	}
	return dst, ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}
