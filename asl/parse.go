package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/landfall/landfall/asl/expr"
)

// Query languages.
const (
	JSONPath = "JSONPath"
	JSONata  = "JSONata"
)

// State types.
const (
	TypePass     = "Pass"
	TypeTask     = "Task"
	TypeChoice   = "Choice"
	TypeWait     = "Wait"
	TypeSucceed  = "Succeed"
	TypeFail     = "Fail"
	TypeParallel = "Parallel"
	TypeMap      = "Map"
)

// ParseOptions tune Parse.
type ParseOptions struct {
	// Substitutions replace ${Name} in the definition's strings, like
	// CloudFormation's DefinitionSubstitutions. When nil, ${...} is left
	// as written.
	Substitutions map[string]string
	// Express validates the definition for an EXPRESS state machine, which
	// rejects the .sync and .waitForTaskToken integration patterns.
	Express bool

	// singleState accepts transitions to states that are not defined
	// (TestState runs one state whose Next lies outside the definition).
	singleState bool
}

// Machine is a parsed and validated state machine. It is immutable and
// safe for concurrent use.
type Machine struct {
	// QueryLanguage is the top-level query language.
	QueryLanguage string
	// TimeoutSeconds is the execution timeout (0 when unset).
	TimeoutSeconds int
	// Comment is the top-level comment.
	Comment string

	root   *graph
	graphs map[string]*graph
	def    any
}

// Definition returns the decoded definition (after substitutions).
func (m *Machine) Definition() any { return m.def }

// graph is one StartAt/States block: the top level, a Parallel branch or a
// Map's item processor. Its id is the JSON pointer of that block.
type graph struct {
	id      string
	startAt string
	states  map[string]*state
	names   []string // sorted
	owner   *state   // the Parallel or Map state, nil at the top level
	ql      string   // the query language of the block's enclosing scope
}

// Parse decodes, substitutes, validates and compiles a definition given as
// JSON or YAML. Its error is ValidationErrors listing every problem with
// its JSON pointer.
func Parse(def []byte, opts ParseOptions) (*Machine, error) {
	v, err := decodeDefinition(def)
	if err != nil {
		return nil, err
	}
	m, err := ParseValue(v, opts)
	if verrs, ok := err.(ValidationErrors); ok {
		addPositions(def, verrs)
	}
	return m, err
}

// ParseValue is Parse for an already decoded definition (the value model
// of package expr).
func ParseValue(v any, opts ParseOptions) (*Machine, error) {
	var errs ValidationErrors
	if opts.Substitutions != nil {
		v = substitute(v, opts.Substitutions, "", &errs)
		if len(errs) > 0 {
			return nil, errs
		}
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, ValidationErrors{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}}
	}
	p := &parser{errs: &errs, opts: opts, graphs: map[string]*graph{}, names: map[string]string{}}
	m := &Machine{QueryLanguage: JSONPath, def: v}
	o := p.obj(top, "")
	var missing []string
	if _, ok := top["States"]; !ok {
		missing = append(missing, "States")
	}
	if _, ok := top["StartAt"]; !ok {
		missing = append(missing, "StartAt")
	}
	if len(missing) > 0 {
		errs.add("", "These fields are required: [%s]", strings.Join(missing, ", "))
	}
	if ql, ok := o.str("QueryLanguage"); ok {
		if ql != JSONPath && ql != JSONata {
			errs.add("/QueryLanguage", "must be JSONPath or JSONata, not %q", ql)
		} else {
			m.QueryLanguage = ql
		}
	}
	m.Comment, _ = o.str("Comment")
	if _, ok := top["Version"]; ok {
		if s, ok := o.str("Version"); ok && s != "1.0" {
			errs.add("/Version", "must be \"1.0\"")
		}
	}
	if n, ok := o.integer("TimeoutSeconds", 0, math.MaxInt32); ok {
		m.TimeoutSeconds = n
	}
	o.allow("Comment", "StartAt", "States", "Version", "TimeoutSeconds", "QueryLanguage")
	p.topQL = m.QueryLanguage
	if len(missing) == 0 {
		m.root = p.graph(top, "", m.QueryLanguage, nil)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, errs
	}
	m.graphs = p.graphs
	return m, nil
}

func sortErrors(errs ValidationErrors) {
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Pointer < errs[j].Pointer })
}

type parser struct {
	errs   *ValidationErrors
	opts   ParseOptions
	graphs map[string]*graph
	topQL  string
	// names maps every state name to where it is first defined: names
	// are unique across the whole machine, branches and processors
	// included.
	names map[string]string
}

// obj reads the fields of one JSON object and remembers which were read so
// unknown fields can be reported.
type obj struct {
	p   *parser
	m   map[string]any
	ptr string
}

func (p *parser) obj(m map[string]any, ptr string) *obj { return &obj{p: p, m: m, ptr: ptr} }

func (o *obj) at(name string) string { return o.ptr + "/" + escapePointer(name) }

func (o *obj) has(name string) bool { _, ok := o.m[name]; return ok }

func (o *obj) err(name, format string, args ...any) {
	ptr := o.ptr
	if name != "" {
		ptr = o.at(name)
	}
	o.p.errs.add(ptr, format, args...)
}

func (o *obj) str(name string) (string, bool) {
	v, ok := o.m[name]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		o.err(name, "must be a string, not %s", expr.TypeName(v))
		return "", false
	}
	return s, true
}

func (o *obj) boolean(name string) (bool, bool) {
	v, ok := o.m[name]
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		o.err(name, "must be a boolean, not %s", expr.TypeName(v))
		return false, false
	}
	return b, true
}

func (o *obj) integer(name string, lo, hi int) (int, bool) {
	v, ok := o.m[name]
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		o.err(name, "must be an integer, not %s", expr.TypeName(v))
		return 0, false
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		o.err(name, "must be an integer, not %s", n)
		return 0, false
	}
	if i < int64(lo) || i > int64(hi) {
		o.err(name, "must be between %d and %d, not %d", lo, hi, i)
		return 0, false
	}
	return int(i), true
}

func (o *obj) number(name string) (float64, bool) {
	v, ok := o.m[name]
	if !ok {
		return 0, false
	}
	n, ok := v.(json.Number)
	if !ok {
		o.err(name, "must be a number, not %s", expr.TypeName(v))
		return 0, false
	}
	f, err := n.Float64()
	if err != nil {
		o.err(name, "must be a number, not %s", n)
		return 0, false
	}
	return f, true
}

func (o *obj) object(name string) (map[string]any, bool) {
	v, ok := o.m[name]
	if !ok {
		return nil, false
	}
	m, ok := v.(map[string]any)
	if !ok {
		o.err(name, "must be an object, not %s", expr.TypeName(v))
		return nil, false
	}
	return m, true
}

func (o *obj) array(name string) ([]any, bool) {
	v, ok := o.m[name]
	if !ok {
		return nil, false
	}
	a, ok := v.([]any)
	if !ok {
		o.err(name, "must be an array, not %s", expr.TypeName(v))
		return nil, false
	}
	return a, true
}

// allow reports every field not in names.
func (o *obj) allow(names ...string) {
	var unknown []string
	for k := range o.m {
		found := false
		for _, n := range names {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		o.err(k, "field %q is not supported here", k)
	}
}

// graph parses a StartAt/States block.
func (p *parser) graph(m map[string]any, ptr, ql string, owner *state) *graph {
	g := &graph{id: ptr, states: map[string]*state{}, owner: owner, ql: ql}
	p.graphs[ptr] = g
	o := p.obj(m, ptr)
	g.startAt, _ = o.str("StartAt")
	states, ok := o.object("States")
	if !ok {
		return g
	}
	if len(states) == 0 {
		o.err("States", "must define at least one state")
	}
	for name := range states {
		g.names = append(g.names, name)
	}
	sort.Strings(g.names)
	for _, name := range g.names {
		sptr := ptr + "/States/" + escapePointer(name)
		if len(name) > 80 {
			p.errs.add(sptr, "state name must be at most 80 characters")
		}
		if first, dup := p.names[name]; dup {
			p.errs.add(sptr, "state name %q is already used at %s; state names must be unique in the whole state machine", name, first)
		} else {
			p.names[name] = sptr
		}
		sm, ok := states[name].(map[string]any)
		if !ok {
			p.errs.add(sptr, "must be an object, not %s", expr.TypeName(states[name]))
			continue
		}
		s := p.state(name, sm, sptr, ql, g)
		if s != nil {
			g.states[name] = s
		}
	}
	if g.startAt != "" {
		if _, ok := states[g.startAt]; !ok {
			o.err("StartAt", "state %q does not exist", g.startAt)
		}
	}
	p.checkGraph(g, o)
	return g
}

// checkGraph checks transitions and reachability within one block.
func (p *parser) checkGraph(g *graph, o *obj) {
	for _, name := range g.names {
		s := g.states[name]
		if s == nil {
			continue
		}
		for _, t := range s.transitions() {
			if t.to == "" {
				continue // reported where the field is read
			}
			if _, ok := g.states[t.to]; !ok && !(p.opts.singleState && g.owner == nil) {
				if _, exists := o.m["States"].(map[string]any)[t.to]; !exists {
					p.errs.add(t.ptr, "state %q does not exist in this block", t.to)
				}
			}
		}
	}
	if _, ok := g.states[g.startAt]; !ok {
		return
	}
	if len(g.states) < len(g.names) {
		return // some state did not parse, so its transitions are unknown
	}
	seen := map[string]bool{g.startAt: true}
	queue := []string{g.startAt}
	for len(queue) > 0 {
		s := g.states[queue[0]]
		queue = queue[1:]
		if s == nil {
			continue
		}
		for _, t := range s.transitions() {
			if !seen[t.to] {
				seen[t.to] = true
				queue = append(queue, t.to)
			}
		}
	}
	for _, name := range g.names {
		if !seen[name] {
			p.errs.add(g.id+"/States/"+escapePointer(name), "state %q is not reachable from StartAt", name)
		}
	}
	// A block must be able to end: at least one terminal state reachable.
	terminal := false
	for name := range seen {
		if s := g.states[name]; s != nil && s.isTerminal() {
			terminal = true
		}
	}
	if !terminal && len(seen) > 0 && len(*p.errs) == 0 && !(p.opts.singleState && g.owner == nil) {
		p.errs.add(g.id+"/States", "no terminal state (End, Succeed or Fail) is reachable, so an execution could never end")
	}
}

type transition struct{ to, ptr string }

func (s *state) transitions() []transition {
	var ts []transition
	if s.next != "" {
		ts = append(ts, transition{s.next, s.ptr + "/Next"})
	}
	for i, c := range s.catch {
		ts = append(ts, transition{c.next, fmt.Sprintf("%s/Catch/%d/Next", s.ptr, i)})
	}
	for i, c := range s.choices {
		if c.next != "" {
			ts = append(ts, transition{c.next, fmt.Sprintf("%s/Choices/%d/Next", s.ptr, i)})
		}
	}
	if s.defaultNext != "" {
		ts = append(ts, transition{s.defaultNext, s.ptr + "/Default"})
	}
	return ts
}

func (s *state) isTerminal() bool {
	switch s.typ {
	case TypeSucceed, TypeFail:
		return true
	case TypeChoice:
		return false
	}
	return s.end
}

var jsonPathOnly = []string{"InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector", "ItemsPath",
	"SecondsPath", "TimestampPath", "ErrorPath", "CausePath", "TimeoutSecondsPath", "HeartbeatSecondsPath",
	"MaxConcurrencyPath", "ToleratedFailureCountPath", "ToleratedFailurePercentagePath", "Iterator"}

var jsonataOnly = []string{"Arguments", "Output", "Items"}

func (p *parser) state(name string, m map[string]any, ptr, parentQL string, g *graph) *state {
	o := p.obj(m, ptr)
	s := &state{name: name, ptr: ptr, g: g, ql: parentQL, usesContext: mentionsContext(m)}
	typ, ok := o.str("Type")
	if !ok {
		if !o.has("Type") {
			o.err("", "These fields are required: [Type]")
		}
		return nil
	}
	s.typ = typ
	if ql, ok := o.str("QueryLanguage"); ok {
		switch {
		case ql != JSONPath && ql != JSONata:
			o.err("QueryLanguage", "must be JSONPath or JSONata, not %q", ql)
		case ql == JSONPath && p.topQL == JSONata:
			o.err("", "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine")
		default:
			s.ql = ql
		}
	}
	if s.ql == JSONata {
		for _, f := range jsonPathOnly {
			if o.has(f) {
				o.err(f, "field %q is not supported when QueryLanguage is JSONata", f)
			}
		}
	} else {
		for _, f := range jsonataOnly {
			if o.has(f) {
				o.err(f, "field %q is not supported when QueryLanguage is JSONPath (use %s)", f, jsonPathEquivalent(f))
			}
		}
	}
	s.comment, _ = o.str("Comment")
	common := []string{"Type", "Comment", "QueryLanguage"}
	var allowed []string
	switch typ {
	case TypePass:
		allowed = []string{"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "Result", "Assign", "Output"}
		p.flow(o, s)
		p.io(o, s, true, true, true, false)
		if v, ok := m["Result"]; ok {
			s.result, s.hasResult = v, true
			s.resultSize = jsonSize(v, MaxPayloadBytes)
			s.resultTooLarge = s.resultSize > MaxPayloadBytes
			if s.ql == JSONata {
				o.err("Result", "field \"Result\" is not supported when QueryLanguage is JSONata (use Output)")
			}
		}
	case TypeTask:
		allowed = []string{"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector",
			"Resource", "Retry", "Catch", "TimeoutSeconds", "TimeoutSecondsPath", "HeartbeatSeconds",
			"HeartbeatSecondsPath", "Credentials", "Arguments", "Output", "Assign"}
		p.flow(o, s)
		p.io(o, s, true, true, true, true)
		p.task(o, s)
		p.retryCatch(o, s)
	case TypeChoice:
		allowed = []string{"Choices", "Default", "InputPath", "OutputPath", "Assign", "Output"}
		p.io(o, s, false, false, false, false)
		p.choice(o, s)
	case TypeWait:
		allowed = []string{"Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath",
			"TimestampPath", "Assign", "Output"}
		p.flow(o, s)
		p.io(o, s, false, false, false, false)
		p.wait(o, s)
	case TypeSucceed:
		allowed = []string{"InputPath", "OutputPath", "Output"}
		p.io(o, s, false, false, false, false)
	case TypeFail:
		allowed = []string{"Error", "Cause", "ErrorPath", "CausePath"}
		p.fail(o, s)
	case TypeParallel:
		allowed = []string{"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector",
			"Branches", "Retry", "Catch", "Arguments", "Output", "Assign"}
		p.flow(o, s)
		p.io(o, s, true, true, true, true)
		p.retryCatch(o, s)
		p.parallel(o, s)
	case TypeMap:
		allowed = []string{"Next", "End", "InputPath", "OutputPath", "ResultPath", "Parameters", "ResultSelector",
			"Iterator", "ItemProcessor", "ItemsPath", "Items", "ItemSelector", "ItemReader", "ItemBatcher",
			"ResultWriter", "MaxConcurrency", "MaxConcurrencyPath", "ToleratedFailureCount",
			"ToleratedFailureCountPath", "ToleratedFailurePercentage", "ToleratedFailurePercentagePath", "Label",
			"Retry", "Catch", "Output", "Assign"}
		if o.has("Arguments") {
			if s.ql == JSONata {
				o.err("Arguments", "a Map state takes its items from Items and shapes them with ItemSelector; Arguments is not supported here")
			}
			allowed = append(allowed, "Arguments") // reported once, above or as a JSONata-only field
		}
		p.flow(o, s)
		p.io(o, s, true, true, true, true)
		p.retryCatch(o, s)
		p.mapState(o, s)
	default:
		o.err("Type", "unknown state type %q (want Pass, Task, Choice, Wait, Succeed, Fail, Parallel or Map)", typ)
		return nil
	}
	o.allow(append(common, allowed...)...)
	return s
}

// mentionsContext reports whether any string in v (keys included) could
// read the context object: "$$" in JSONPath, "$states" in JSONata.
func mentionsContext(v any) bool {
	switch t := v.(type) {
	case string:
		return strings.Contains(t, "$$") || strings.Contains(t, "$states")
	case map[string]any:
		for k, x := range t {
			if mentionsContext(k) || mentionsContext(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if mentionsContext(x) {
				return true
			}
		}
	}
	return false
}

func jsonPathEquivalent(f string) string {
	switch f {
	case "Arguments":
		return "Parameters"
	case "Output":
		return "OutputPath or ResultSelector"
	case "Items":
		return "ItemsPath"
	}
	return "the JSONPath field"
}

// flow reads Next/End.
func (p *parser) flow(o *obj, s *state) {
	next, hasNext := o.str("Next")
	end, hasEnd := o.boolean("End")
	switch {
	case hasNext && hasEnd && end:
		o.err("", "only one of Next and End may be set")
	case hasNext:
		s.next = next
	case hasEnd && end:
		s.end = true
	case hasEnd && !end:
		o.err("End", "must be true when present")
	default:
		if !o.has("Next") && !o.has("End") {
			o.err("", "must have Next or End: true")
		}
	}
}

// io reads the data-flow fields a state type supports.
func (p *parser) io(o *obj, s *state, params, resultPath, result, selector bool) {
	if s.ql == JSONPath {
		s.inputPath = p.optPath(o, "InputPath")
		s.outputPath = p.optPath(o, "OutputPath")
		if resultPath {
			if v, ok := o.m["ResultPath"]; ok {
				switch t := v.(type) {
				case nil:
					s.resultPath = &resultPathSpec{discard: true}
				case string:
					rp, err := compileResultPath(t)
					if err != nil {
						o.err("ResultPath", "%v", err)
					} else {
						s.resultPath = rp
					}
				default:
					o.err("ResultPath", "must be a string or null, not %s", expr.TypeName(v))
				}
			}
		}
		if params {
			if v, ok := o.m["Parameters"]; ok {
				s.parameters = p.template(o, "Parameters", v)
			}
		}
		if selector {
			if v, ok := o.m["ResultSelector"]; ok {
				s.resultSelector = p.template(o, "ResultSelector", v)
			}
		}
	} else {
		if params {
			if v, ok := o.m["Arguments"]; ok {
				s.arguments = p.jsonata(o, "Arguments", v)
			}
		}
		if v, ok := o.m["Output"]; ok {
			s.output = p.jsonata(o, "Output", v)
		}
	}
	if v, ok := o.m["Assign"]; ok {
		s.assign = p.assign(o, "Assign", v, s.ql)
	}
}

// optPath reads an InputPath/OutputPath-like field: a path, or null (which
// means an empty object {}).
func (p *parser) optPath(o *obj, name string) *pathSpec {
	v, ok := o.m[name]
	if !ok {
		return nil
	}
	switch t := v.(type) {
	case nil:
		return &pathSpec{null: true}
	case string:
		ps, err := compileRefPath(t)
		if err != nil {
			o.err(name, "%v", err)
			return nil
		}
		return ps
	}
	o.err(name, "must be a string or null, not %s", expr.TypeName(v))
	return nil
}

func (p *parser) path(o *obj, name string) *pathSpec {
	s, ok := o.str(name)
	if !ok {
		return nil
	}
	ps, err := compileRefPath(s)
	if err != nil {
		o.err(name, "%v", err)
		return nil
	}
	return ps
}

func (p *parser) template(o *obj, name string, v any) evaluator {
	if _, ok := v.(map[string]any); !ok && name != "Result" {
		if _, isArr := v.([]any); !isArr {
			o.err(name, "must be an object, not %s", expr.TypeName(v))
			return nil
		}
	}
	t, err := compileTemplate(v)
	if err != nil {
		p.exprErr(o.at(name), err)
		return nil
	}
	return t
}

func (p *parser) jsonata(o *obj, name string, v any) evaluator {
	t, err := compileJSONataTemplate(v, name)
	if err != nil {
		p.exprErr(o.at(name), err)
		return nil
	}
	return t
}

func (p *parser) exprErr(ptr string, err error) {
	var ce *expr.CompileError
	if errors.As(err, &ce) {
		msg := ce.Msg
		if ce.Expr != "" {
			msg += " in " + strconv.Quote(ce.Expr)
			if ce.Offset >= 0 {
				msg += fmt.Sprintf(" at offset %d", ce.Offset)
			}
		}
		p.errs.add(ptr+ce.Pointer, "%s", msg)
		return
	}
	p.errs.add(ptr, "%v", err)
}

// assign compiles an Assign object: JSONata templates in JSONata states,
// payload templates (".$" keys) in JSONPath states.
func (p *parser) assign(o *obj, name string, v any, ql string) *assignSpec {
	m, ok := v.(map[string]any)
	if !ok {
		o.err(name, "must be an object, not %s", expr.TypeName(v))
		return nil
	}
	for k := range m {
		vn := strings.TrimSuffix(k, ".$")
		if !validVarName(vn) {
			p.errs.add(o.at(name)+"/"+escapePointer(k), "invalid variable name %q", vn)
		}
		if strings.HasPrefix(vn, "states") && vn == "states" {
			p.errs.add(o.at(name)+"/"+escapePointer(k), "the variable name \"states\" is reserved")
		}
	}
	a := &assignSpec{}
	if ql == JSONata {
		a.t = p.jsonata(o, name, v)
	} else {
		a.t = p.template(o, name, v)
	}
	if a.t == nil {
		return nil
	}
	return a
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 127:
		case i > 0 && r >= '0' && r <= '9':
		default:
			return false
		}
	}
	return true
}

// task reads a Task state's own fields.
func (p *parser) task(o *obj, s *state) {
	res, ok := o.str("Resource")
	if !ok {
		if !o.has("Resource") {
			o.err("", "These fields are required: [Resource]")
		}
	} else if res == "" {
		o.err("Resource", "must name the task's resource (an ARN or a registered resource name)")
	} else {
		s.resource = res
		s.pattern = RequestResponse
		switch {
		case strings.HasSuffix(res, ".sync") || strings.Contains(res, ".sync:"):
			s.pattern = Sync
		case strings.HasSuffix(res, ".waitForTaskToken"):
			s.pattern = WaitForTaskToken
		}
		if p.opts.Express && strings.HasPrefix(res, "arn:aws:states:::") {
			switch s.pattern {
			case Sync:
				o.err("Resource", "Express state machine does not support '.sync' service integration")
			case WaitForTaskToken:
				o.err("Resource", "Express state machine does not support '.waitForTaskToken' service integration ")
			}
		}
	}
	s.timeout = p.seconds(o, s, "TimeoutSeconds", 1, 99999999)
	s.heartbeat = p.seconds(o, s, "HeartbeatSeconds", 1, 99999999)
	if s.timeout != nil && s.heartbeat != nil && s.timeout.fixed > 0 && s.heartbeat.fixed > 0 && s.heartbeat.fixed >= s.timeout.fixed {
		o.err("HeartbeatSeconds", "must be smaller than TimeoutSeconds")
	}
	if c, ok := o.object("Credentials"); ok {
		co := p.obj(c, o.at("Credentials"))
		if !co.has("RoleArn") && !co.has("RoleArn.$") {
			co.err("", "The field 'RoleArn' is required but was missing")
		}
		co.allow("RoleArn", "RoleArn.$")
		if s.ql == JSONata {
			s.credentials = p.jsonata(o, "Credentials", c)
		} else {
			s.credentials = p.template(o, "Credentials", c)
		}
	}
}

// seconds reads TimeoutSeconds/HeartbeatSeconds and their Path forms.
func (p *parser) seconds(o *obj, s *state, name string, lo, hi int) *valueSpec {
	pathName := name + "Path"
	if o.has(name) && o.has(pathName) {
		o.err("", "only one of %s and %s may be set", name, pathName)
		return nil
	}
	if o.has(pathName) {
		ps := p.path(o, pathName)
		if ps == nil {
			return nil
		}
		return &valueSpec{path: ps, field: pathName}
	}
	v, ok := o.m[name]
	if !ok {
		return nil
	}
	if str, isStr := v.(string); isStr && s.ql == JSONata && isJSONataString(str) {
		return &valueSpec{jsonata: p.jsonata(o, name, str), field: name, src: str}
	}
	n, ok := o.integer(name, lo, hi)
	if !ok {
		return nil
	}
	return &valueSpec{fixed: n, field: name}
}

func isJSONataString(s string) bool {
	return strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}")
}

// retryCatch reads Retry and Catch.
func (p *parser) retryCatch(o *obj, s *state) {
	if arr, ok := o.array("Retry"); ok {
		for i, e := range arr {
			ptr := fmt.Sprintf("%s/%d", o.at("Retry"), i)
			m, ok := e.(map[string]any)
			if !ok {
				p.errs.add(ptr, "must be an object")
				continue
			}
			ro := p.obj(m, ptr)
			r := retrier{intervalSeconds: 1, maxAttempts: 3, backoffRate: 2}
			r.errorEquals = p.errorEquals(ro, i == len(arr)-1, "Retry")
			if n, ok := ro.integer("IntervalSeconds", 1, 99999999); ok {
				r.intervalSeconds = n
			}
			if n, ok := ro.integer("MaxAttempts", 0, 99999999); ok {
				r.maxAttempts = n
			}
			if f, ok := ro.number("BackoffRate"); ok {
				if f < 1.0 {
					ro.err("BackoffRate", "must be ≥ 1.0")
				} else {
					r.backoffRate = f
				}
			}
			if n, ok := ro.integer("MaxDelaySeconds", 1, 31622400); ok {
				r.maxDelaySeconds = n
			}
			if js, ok := ro.str("JitterStrategy"); ok {
				switch js {
				case "FULL", "NONE":
					r.jitterFull = js == "FULL"
				default:
					ro.err("JitterStrategy", "must be FULL or NONE, not %q", js)
				}
			}
			ro.allow("ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment")
			s.retry = append(s.retry, r)
		}
	}
	if arr, ok := o.array("Catch"); ok {
		for i, e := range arr {
			ptr := fmt.Sprintf("%s/%d", o.at("Catch"), i)
			m, ok := e.(map[string]any)
			if !ok {
				p.errs.add(ptr, "must be an object")
				continue
			}
			co := p.obj(m, ptr)
			c := catcher{}
			c.errorEquals = p.errorEquals(co, i == len(arr)-1, "Catch")
			if next, ok := co.str("Next"); ok {
				c.next = next
			} else if !co.has("Next") {
				co.err("", "These fields are required: [Next]")
			}
			if s.ql == JSONata {
				if co.has("ResultPath") {
					co.err("ResultPath", "field \"ResultPath\" is not supported when QueryLanguage is JSONata (use Output)")
				}
				if v, ok := m["Output"]; ok {
					c.output = p.jsonata(co, "Output", v)
				}
			} else {
				if co.has("Output") {
					co.err("Output", "field \"Output\" is not supported when QueryLanguage is JSONPath (use ResultPath)")
				}
				if v, ok := m["ResultPath"]; ok {
					switch t := v.(type) {
					case nil:
						c.resultPath = &resultPathSpec{discard: true}
					case string:
						rp, err := compileResultPath(t)
						if err != nil {
							co.err("ResultPath", "%v", err)
						} else {
							c.resultPath = rp
						}
					default:
						co.err("ResultPath", "must be a string or null")
					}
				}
			}
			if v, ok := m["Assign"]; ok {
				c.assign = p.assign(co, "Assign", v, s.ql)
			}
			co.allow("ErrorEquals", "Next", "ResultPath", "Output", "Assign", "Comment")
			s.catch = append(s.catch, c)
		}
	}
}

func (p *parser) errorEquals(o *obj, last bool, what string) []string {
	arr, ok := o.array("ErrorEquals")
	if !ok {
		if !o.has("ErrorEquals") {
			o.err("", "These fields are required: [ErrorEquals]")
		}
		return nil
	}
	if len(arr) == 0 {
		o.err("ErrorEquals", "must list at least one error name")
	}
	var names []string
	for j, e := range arr {
		n, ok := e.(string)
		if !ok {
			p.errs.add(fmt.Sprintf("%s/%d", o.at("ErrorEquals"), j), "must be a string")
			continue
		}
		if n == ErrAll {
			if len(arr) > 1 {
				p.errs.add(fmt.Sprintf("%s/%d", o.at("ErrorEquals"), j), "States.ALL must appear alone in ErrorEquals")
			}
			if !last {
				p.errs.add(fmt.Sprintf("%s/%d", o.at("ErrorEquals"), j), "States.ALL must be in the last %s entry", what)
			}
		}
		names = append(names, n)
	}
	return names
}

// wait reads a Wait state's duration.
func (p *parser) wait(o *obj, s *state) {
	n := 0
	for _, f := range []string{"Seconds", "Timestamp", "SecondsPath", "TimestampPath"} {
		if o.has(f) {
			n++
		}
	}
	if n != 1 {
		o.err("", "exactly one of Seconds, Timestamp, SecondsPath and TimestampPath must be set")
		return
	}
	w := &waitSpec{}
	s.wait = w
	switch {
	case o.has("Seconds"):
		v := o.m["Seconds"]
		if str, ok := v.(string); ok && s.ql == JSONata && isJSONataString(str) {
			w.seconds = &valueSpec{jsonata: p.jsonata(o, "Seconds", str), field: "Seconds", src: str}
		} else if n, ok := o.integer("Seconds", 0, 99999999); ok {
			w.seconds = &valueSpec{fixed: n, field: "Seconds"}
		}
	case o.has("Timestamp"):
		str, ok := o.str("Timestamp")
		if !ok {
			return
		}
		if s.ql == JSONata && isJSONataString(str) {
			w.timestamp = &valueSpec{jsonata: p.jsonata(o, "Timestamp", str), field: "Timestamp", src: str}
		} else if t, ok := parseTimestamp(str); ok {
			w.timestamp = &valueSpec{fixedTime: t, isTime: true, field: "Timestamp"}
		} else {
			o.err("Timestamp", "must be an RFC 3339 timestamp such as 2016-03-14T01:59:00Z, not %q", str)
		}
	case o.has("SecondsPath"):
		if ps := p.path(o, "SecondsPath"); ps != nil {
			w.seconds = &valueSpec{path: ps, field: "SecondsPath"}
		}
	case o.has("TimestampPath"):
		if ps := p.path(o, "TimestampPath"); ps != nil {
			w.timestamp = &valueSpec{path: ps, field: "TimestampPath"}
		}
	}
}

// fail reads a Fail state.
func (p *parser) fail(o *obj, s *state) {
	f := &failSpec{}
	s.failSpec = f
	for _, pair := range [][2]string{{"Error", "ErrorPath"}, {"Cause", "CausePath"}} {
		if o.has(pair[0]) && o.has(pair[1]) {
			o.err("", "only one of %s and %s may be set", pair[0], pair[1])
			continue
		}
		var vs *valueSpec
		if str, ok := o.str(pair[0]); ok {
			if s.ql == JSONata && isJSONataString(str) {
				vs = &valueSpec{jsonata: p.jsonata(o, pair[0], str), field: pair[0], src: str}
			} else {
				vs = &valueSpec{fixedStr: str, isStr: true, field: pair[0]}
			}
		} else if str, ok := o.str(pair[1]); ok {
			if strings.HasPrefix(str, "States.") {
				in, err := compileIntrinsic(str)
				if err != nil {
					p.exprErr(o.at(pair[1]), err)
				} else {
					vs = &valueSpec{intrinsic: in, field: pair[1], src: str}
				}
			} else if ps, err := compileRefPath(str); err != nil {
				o.err(pair[1], "%v", err)
			} else {
				vs = &valueSpec{path: ps, field: pair[1], src: str}
			}
		}
		if pair[0] == "Error" {
			f.errorV = vs
		} else {
			f.causeV = vs
		}
	}
}

// parallel reads Branches.
func (p *parser) parallel(o *obj, s *state) {
	arr, ok := o.array("Branches")
	if !ok {
		if !o.has("Branches") {
			o.err("", "These fields are required: [Branches]")
		}
		return
	}
	if len(arr) == 0 {
		o.err("Branches", "must contain at least one branch")
	}
	for i, b := range arr {
		ptr := fmt.Sprintf("%s/%d", o.at("Branches"), i)
		bm, ok := b.(map[string]any)
		if !ok {
			p.errs.add(ptr, "must be an object")
			continue
		}
		bo := p.obj(bm, ptr)
		var missing []string
		if !bo.has("States") {
			missing = append(missing, "States")
		}
		if !bo.has("StartAt") {
			missing = append(missing, "StartAt")
		}
		if len(missing) > 0 {
			bo.err("", "These fields are required: [%s]", strings.Join(missing, ", "))
			continue
		}
		bo.allow("StartAt", "States", "Comment", "QueryLanguage")
		ql := s.ql
		if q, ok := bo.str("QueryLanguage"); ok {
			ql = q
		}
		s.branches = append(s.branches, p.graph(bm, ptr, ql, s))
	}
}

// mapState reads a Map state's own fields.
func (p *parser) mapState(o *obj, s *state) {
	ms := &mapSpec{mode: "INLINE"}
	s.mapSpec = ms
	procName := "ItemProcessor"
	if o.has("Iterator") {
		procName = "Iterator"
		if o.has("ItemProcessor") {
			o.err("", "only one of ItemProcessor and Iterator may be set")
		}
	}
	proc, ok := o.object(procName)
	if !ok {
		if !o.has(procName) {
			o.err("", "These fields are required: [ItemProcessor]")
		}
		return
	}
	po := p.obj(proc, o.at(procName))
	if pc, ok := po.object("ProcessorConfig"); ok {
		pco := p.obj(pc, po.at("ProcessorConfig"))
		if mode, ok := pco.str("Mode"); ok {
			if mode != "INLINE" && mode != "DISTRIBUTED" {
				pco.err("Mode", "must be INLINE or DISTRIBUTED, not %q", mode)
			}
			ms.mode = mode
		}
		if et, ok := pco.str("ExecutionType"); ok {
			if et != "STANDARD" && et != "EXPRESS" {
				pco.err("ExecutionType", "must be STANDARD or EXPRESS, not %q", et)
			}
			ms.executionType = et
		}
		pco.allow("Mode", "ExecutionType")
		if ms.mode == "DISTRIBUTED" && ms.executionType == "" && !pco.has("ExecutionType") {
			pco.err("", "These fields are required: [ExecutionType] (a DISTRIBUTED Map runs its items as STANDARD or EXPRESS child workflows)")
		}
	}
	var missing []string
	if !po.has("States") {
		missing = append(missing, "States")
	}
	if !po.has("StartAt") {
		missing = append(missing, "StartAt")
	}
	if len(missing) > 0 {
		po.err("", "These fields are required: [%s]", strings.Join(missing, ", "))
	} else {
		po.allow("StartAt", "States", "Comment", "ProcessorConfig", "QueryLanguage")
		ql := s.ql
		if q, ok := po.str("QueryLanguage"); ok {
			ql = q
		}
		ms.processor = p.graph(proc, po.ptr, ql, s)
	}
	distributed := ms.mode == "DISTRIBUTED"
	if s.ql == JSONPath {
		ms.itemsPath = p.path(o, "ItemsPath")
	} else if v, ok := o.m["Items"]; ok {
		ms.items = p.jsonata(o, "Items", v)
		ms.itemsSrc, _ = v.(string)
	}
	if o.has("ItemSelector") && o.has("Parameters") {
		o.err("", "only one of ItemSelector and Parameters may be set")
	}
	if v, ok := o.m["ItemSelector"]; ok {
		if s.ql == JSONata {
			ms.itemSelector = p.jsonata(o, "ItemSelector", v)
		} else {
			ms.itemSelector = p.template(o, "ItemSelector", v)
		}
	} else if s.parameters != nil {
		ms.itemSelector = s.parameters
		s.parameters = nil
	}
	ms.maxConcurrency = p.mapNumber(o, s, "MaxConcurrency", false)
	ms.toleratedCount = p.mapNumber(o, s, "ToleratedFailureCount", false)
	ms.toleratedPercent = p.mapNumber(o, s, "ToleratedFailurePercentage", true)
	if !distributed {
		// Step Functions accepts the tolerated-failure fields on an inline
		// Map too; only reading and writing the bucket need DISTRIBUTED.
		for _, f := range []string{"ItemReader", "ItemBatcher", "ResultWriter"} {
			if o.has(f) {
				o.err(f, "field %q requires ProcessorConfig.Mode DISTRIBUTED", f)
			}
		}
	}
	if ir, ok := o.object("ItemReader"); ok {
		ms.reader = p.itemReader(p.obj(ir, o.at("ItemReader")), s)
	}
	if ib, ok := o.object("ItemBatcher"); ok {
		ms.batcher = p.itemBatcher(p.obj(ib, o.at("ItemBatcher")), s)
	}
	if rw, ok := o.object("ResultWriter"); ok {
		rwo := p.obj(rw, o.at("ResultWriter"))
		ms.writer = &resultWriterSpec{}
		ms.writer.resource, _ = rwo.str("Resource")
		if v, ok := rw["Parameters"]; ok {
			ms.writer.params = p.template(rwo, "Parameters", v)
		}
		if v, ok := rw["Arguments"]; ok {
			ms.writer.params = p.jsonata(rwo, "Arguments", v)
		}
		if wc, ok := rwo.object("WriterConfig"); ok {
			ms.writer.config = wc
			wco := p.obj(wc, rwo.at("WriterConfig"))
			if t, ok := wco.str("Transformation"); ok && t != "NONE" && t != "COMPACT" && t != "FLATTEN" {
				wco.err("Transformation", "must be NONE, COMPACT or FLATTEN, not %q", t)
			}
			if t, ok := wco.str("OutputType"); ok && t != "JSON" && t != "JSONL" {
				wco.err("OutputType", "must be JSON or JSONL, not %q", t)
			}
			wco.allow("Transformation", "OutputType")
		}
		rwo.allow("Resource", "Parameters", "Arguments", "WriterConfig")
	}
	if l, ok := o.str("Label"); ok && len(l) > 40 {
		o.err("Label", "must be at most 40 characters")
	}
}

// mapNumber reads MaxConcurrency / ToleratedFailure* and their Path forms.
func (p *parser) mapNumber(o *obj, s *state, name string, float bool) *valueSpec {
	pathName := name + "Path"
	if o.has(name) && o.has(pathName) {
		o.err("", "only one of %s and %s may be set", name, pathName)
		return nil
	}
	if o.has(pathName) {
		if ps := p.path(o, pathName); ps != nil {
			return &valueSpec{path: ps, field: pathName}
		}
		return nil
	}
	v, ok := o.m[name]
	if !ok {
		return nil
	}
	if str, isStr := v.(string); isStr && s.ql == JSONata && isJSONataString(str) {
		return &valueSpec{jsonata: p.jsonata(o, name, str), field: name, src: str}
	}
	if float {
		f, ok := o.number(name)
		if !ok {
			return nil
		}
		if f < 0 || f > 100 {
			o.err(name, "must be between 0 and 100")
			return nil
		}
		return &valueSpec{fixedFloat: f, isFloat: true, field: name}
	}
	n, ok := o.integer(name, 0, math.MaxInt32)
	if !ok {
		return nil
	}
	return &valueSpec{fixed: n, field: name}
}

func (p *parser) itemReader(o *obj, s *state) *readerSpec {
	r := &readerSpec{}
	var ok bool
	if r.resource, ok = o.str("Resource"); !ok && !o.has("Resource") {
		o.err("", "These fields are required: [Resource]")
	}
	if v, ok := o.m["Parameters"]; ok {
		r.params = p.template(o, "Parameters", v)
	}
	if v, ok := o.m["Arguments"]; ok {
		r.params = p.jsonata(o, "Arguments", v)
	}
	if rc, ok := o.object("ReaderConfig"); ok {
		rco := p.obj(rc, o.at("ReaderConfig"))
		r.inputType, _ = rco.str("InputType")
		switch r.inputType {
		case "", "JSON", "JSONL", "CSV", "MANIFEST", "PARQUET":
		default:
			rco.err("InputType", "must be JSON, JSONL, CSV, MANIFEST or PARQUET, not %q", r.inputType)
		}
		r.csvHeaderLocation, _ = rco.str("CSVHeaderLocation")
		if arr, ok := rco.array("CSVHeaders"); ok {
			for i, h := range arr {
				hs, ok := h.(string)
				if !ok {
					p.errs.add(fmt.Sprintf("%s/%d", rco.at("CSVHeaders"), i), "must be a string")
					continue
				}
				r.csvHeaders = append(r.csvHeaders, hs)
			}
		}
		if d, ok := rco.str("CSVDelimiter"); ok {
			switch d {
			case "COMMA":
				r.csvDelimiter = ','
			case "PIPE":
				r.csvDelimiter = '|'
			case "SEMICOLON":
				r.csvDelimiter = ';'
			case "SPACE":
				r.csvDelimiter = ' '
			case "TAB":
				r.csvDelimiter = '\t'
			default:
				rco.err("CSVDelimiter", "must be COMMA, PIPE, SEMICOLON, SPACE or TAB, not %q", d)
			}
		}
		r.maxItems = p.readerMaxItems(rco, s)
		rco.allow("InputType", "CSVHeaderLocation", "CSVHeaders", "CSVDelimiter", "MaxItems", "MaxItemsPath", "ManifestType", "Transformation")
	}
	o.allow("Resource", "Parameters", "Arguments", "ReaderConfig")
	return r
}

func (p *parser) readerMaxItems(o *obj, s *state) *valueSpec {
	if o.has("MaxItemsPath") {
		if ps := p.path(o, "MaxItemsPath"); ps != nil {
			return &valueSpec{path: ps, field: "MaxItemsPath"}
		}
		return nil
	}
	v, ok := o.m["MaxItems"]
	if !ok {
		return nil
	}
	if str, isStr := v.(string); isStr && s.ql == JSONata && isJSONataString(str) {
		return &valueSpec{jsonata: p.jsonata(o, "MaxItems", str), field: "MaxItems", src: str}
	}
	n, isNum := v.(json.Number)
	if !isNum {
		o.err("MaxItems", "must be an integer")
		return nil
	}
	i, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		o.err("MaxItems", "must be an integer")
		return nil
	}
	return &valueSpec{fixed: int(i), field: "MaxItems"}
}

func (p *parser) itemBatcher(o *obj, s *state) *batcherSpec {
	b := &batcherSpec{}
	b.maxItems = p.mapNumber(o, s, "MaxItemsPerBatch", false)
	b.maxBytes = p.mapNumber(o, s, "MaxInputBytesPerBatch", false)
	if v, ok := o.m["BatchInput"]; ok {
		if s.ql == JSONata {
			b.batchInput = p.jsonata(o, "BatchInput", v)
		} else {
			b.batchInput = p.template(o, "BatchInput", v)
		}
	}
	if b.maxItems == nil && b.maxBytes == nil {
		o.err("", "must set MaxItemsPerBatch or MaxInputBytesPerBatch")
	}
	o.allow("MaxItemsPerBatch", "MaxItemsPerBatchPath", "MaxInputBytesPerBatch", "MaxInputBytesPerBatchPath", "BatchInput")
	return b
}
