package expr

import (
	"strings"
)

// Template is a compiled payload template: a JSON value whose dynamic
// parts are evaluated against an Env. In JSONPath mode (CompileTemplate)
// object keys ending in ".$" take a path, a context path ("$$..."), a
// variable ("$name...") or an intrinsic function and lose their ".$"
// suffix in the output; in JSONata mode (CompileJSONataTemplate) every
// string of the form "{% expr %}" is an expression. Everything else is
// copied as is.
//
// Results may share unchanged subtrees with the template and with the
// Env's values: treat all values as immutable (this package never mutates
// a value it did not just create).
type Template struct {
	root    tnode
	jsonata bool // has JSONata expressions (which share one set of bindings per evaluation)
}

// tnode is a compiled template node. b holds the JSONata bindings of the
// evaluation in progress (nil in JSONPath templates, so evaluating one
// allocates nothing but its results).
type tnode interface {
	eval(env *Env, b *bindings) (any, error)
}

type tLiteral struct{ v any }

func (n tLiteral) eval(*Env, *bindings) (any, error) { return n.v, nil }

type tObject struct {
	keys []string
	vals []tnode
}

func (n *tObject) eval(env *Env, b *bindings) (any, error) {
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		v, err := n.vals[i].eval(env, b)
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

type tArray struct{ elems []tnode }

func (n *tArray) eval(env *Env, b *bindings) (any, error) {
	out := make([]any, len(n.elems))
	for i, e := range n.elems {
		v, err := e.eval(env, b)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

type tPath struct {
	key  string // the template key, with its ".$"
	path *Path
}

func (n *tPath) eval(env *Env, _ *bindings) (any, error) {
	v, err := n.path.Eval(env)
	if err != nil {
		if e, ok := err.(*Error); ok && e.indexMiss {
			// Step Functions selects null with an index past the end of an
			// array in a payload template (an intrinsic argument fails).
			return nil, nil
		}
		if e, ok := err.(*Error); ok && e.Err == ErrPathNotFound {
			doc := env.Input
			switch n.path.root {
			case RootContext:
				doc = env.Context
			case RootVariable:
				doc = env.Vars[n.path.varName]
			}
			return nil, &Error{Name: ErrNameRuntime, Err: ErrPathNotFound,
				Cause: "The JSONPath '" + n.path.src + "' specified for the field '" + n.key + "' could not be found in the input '" + MarshalString(doc) + "'"}
		}
		return nil, err
	}
	return v, nil
}

type tIntrinsic struct {
	f *Intrinsic
}

func (n *tIntrinsic) eval(env *Env, _ *bindings) (any, error) { return n.f.Eval(env) }

// IsStatic reports whether the template has no dynamic part, so its
// result is always the same value.
func (t *Template) IsStatic() bool {
	_, ok := t.root.(tLiteral)
	return ok
}

// Eval evaluates the template. Errors are *Error with Step Functions'
// name and cause.
func (t *Template) Eval(env *Env) (any, error) {
	if env == nil {
		env = &Env{}
	}
	if l, ok := t.root.(tLiteral); ok {
		return l.v, nil
	}
	var b *bindings
	if t.jsonata {
		b = newBindings(env)
	}
	return t.root.eval(env, b)
}

// CompileTemplate compiles a JSONPath-mode payload template (Parameters,
// ResultSelector, ItemSelector, Assign in a JSONPath state). Errors are
// *CompileError whose Pointer locates the bad value inside v.
func CompileTemplate(v any) (*Template, error) {
	root, err := compileJSONPathNode(v, "")
	if err != nil {
		return nil, err
	}
	return &Template{root: root}, nil
}

// MustCompileTemplate is CompileTemplate that panics on error.
func MustCompileTemplate(v any) *Template {
	t, err := CompileTemplate(v)
	if err != nil {
		panic(err)
	}
	return t
}

// pointerEscape escapes a JSON pointer reference token.
func pointerEscape(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func compileJSONPathNode(v any, ptr string) (tnode, error) {
	switch x := v.(type) {
	case map[string]any:
		obj := &tObject{}
		static := true
		for _, k := range sortedKeys(x) {
			cptr := ptr + "/" + pointerEscape(k)
			if strings.HasSuffix(k, ".$") {
				node, err := compileDynamicField(k, x[k], cptr)
				if err != nil {
					return nil, err
				}
				obj.keys = append(obj.keys, strings.TrimSuffix(k, ".$"))
				obj.vals = append(obj.vals, node)
				static = false
				continue
			}
			node, err := compileJSONPathNode(x[k], cptr)
			if err != nil {
				return nil, err
			}
			if _, ok := node.(tLiteral); !ok {
				static = false
			}
			obj.keys = append(obj.keys, k)
			obj.vals = append(obj.vals, node)
		}
		for i := range obj.keys {
			for j := i + 1; j < len(obj.keys); j++ {
				if obj.keys[i] == obj.keys[j] {
					return nil, &CompileError{Pointer: ptr, Offset: -1, Msg: "the fields \"" + obj.keys[i] + "\" and \"" + obj.keys[i] + ".$\" both set \"" + obj.keys[i] + "\""}
				}
			}
		}
		if static {
			return tLiteral{v}, nil
		}
		return obj, nil
	case []any:
		arr := &tArray{elems: make([]tnode, len(x))}
		static := true
		for i, e := range x {
			node, err := compileJSONPathNode(e, ptr+"/"+itoa(i))
			if err != nil {
				return nil, err
			}
			if _, ok := node.(tLiteral); !ok {
				static = false
			}
			arr.elems[i] = node
		}
		if static {
			return tLiteral{v}, nil
		}
		return arr, nil
	}
	return tLiteral{v}, nil
}

func compileDynamicField(key string, v any, ptr string) (tnode, error) {
	s, ok := v.(string)
	if !ok {
		return nil, &CompileError{Pointer: ptr, Offset: -1, Msg: "the value of a field ending in \".$\" must be a string holding a JSONPath or an intrinsic function, got " + typeName(v)}
	}
	if strings.HasPrefix(s, "$") {
		p, err := CompilePath(s)
		if err != nil {
			return nil, withPointer(err, ptr)
		}
		return &tPath{key: key, path: p}, nil
	}
	if IsIntrinsic(s) {
		f, err := CompileIntrinsic(s)
		if err != nil {
			return nil, withPointer(err, ptr)
		}
		return &tIntrinsic{f: f}, nil
	}
	return nil, &CompileError{Pointer: ptr, Expr: s, Offset: -1, Msg: "the value of a field ending in \".$\" must be a JSONPath (\"$...\", \"$$...\", \"$variable\") or an intrinsic function (\"States.Name(...)\")"}
}

func withPointer(err error, ptr string) error {
	if ce, ok := err.(*CompileError); ok {
		c := *ce
		c.Pointer = ptr
		return &c
	}
	return err
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

type tJSONata struct {
	field string // the field path for causes: "Output/result"
	j     *JSONata
}

func (n *tJSONata) eval(env *Env, b *bindings) (any, error) {
	if b == nil {
		b = newBindings(env)
	}
	return n.j.eval(b, n.field)
}

// CompileJSONataTemplate compiles a JSONata-mode template (Arguments,
// Output, Assign, Items, ...): every string "{% expr %}" inside v, at any
// depth, is an expression; other values are literals. Errors are
// *CompileError whose Pointer locates the expression inside v.
func CompileJSONataTemplate(v any) (*Template, error) {
	return CompileJSONataTemplateField(v, "")
}

// CompileJSONataTemplateField is CompileJSONataTemplate for the state field
// named field ("Output", "Arguments", "Assign", ...), which evaluation
// errors name with the path inside it, as Step Functions does: object keys
// joined with "/" ("Output/result"), array items by index
// ("Arguments/list[0]").
func CompileJSONataTemplateField(v any, field string) (*Template, error) {
	root, err := compileJSONataNode(v, "", field)
	if err != nil {
		return nil, err
	}
	return &Template{root: root, jsonata: true}, nil
}

func joinField(field, key string) string {
	if field == "" {
		return key
	}
	return field + "/" + key
}

func compileJSONataNode(v any, ptr, field string) (tnode, error) {
	switch x := v.(type) {
	case string:
		if !IsJSONataString(x) {
			return tLiteral{v}, nil
		}
		j, err := CompileJSONata(x)
		if err != nil {
			return nil, withPointer(err, ptr)
		}
		return &tJSONata{field: field, j: j}, nil
	case map[string]any:
		obj := &tObject{}
		static := true
		for _, k := range sortedKeys(x) {
			node, err := compileJSONataNode(x[k], ptr+"/"+pointerEscape(k), joinField(field, k))
			if err != nil {
				return nil, err
			}
			if _, ok := node.(tLiteral); !ok {
				static = false
			}
			obj.keys = append(obj.keys, k)
			obj.vals = append(obj.vals, node)
		}
		if static {
			return tLiteral{v}, nil
		}
		return obj, nil
	case []any:
		arr := &tArray{elems: make([]tnode, len(x))}
		static := true
		for i, e := range x {
			node, err := compileJSONataNode(e, ptr+"/"+itoa(i), field+"["+itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			if _, ok := node.(tLiteral); !ok {
				static = false
			}
			arr.elems[i] = node
		}
		if static {
			return tLiteral{v}, nil
		}
		return arr, nil
	}
	return tLiteral{v}, nil
}
