package expr

import (
	"github.com/landfall/landfall/internal/jsonata/jparse"
)

// statesUse is what an expression reads of $states, so that evaluation
// converts only that much of the (possibly large) input for the engine.
type statesUse struct {
	all    bool                 // $states is used as a whole
	fields map[string]*fieldUse // "input", "context", "result", "errorOutput"
}

// fieldUse is what an expression reads of one $states field: the whole
// value, or only some of its keys ($states.input.a, $states.input.b[0]).
type fieldUse struct {
	all  bool
	keys map[string]bool
}

func (u *statesUse) field(name string) *fieldUse {
	if u.fields == nil {
		u.fields = map[string]*fieldUse{}
	}
	f := u.fields[name]
	if f == nil {
		f = &fieldUse{}
		u.fields[name] = f
	}
	return f
}

// analyseStates finds the expression's uses of $states.
func analyseStates(n jparse.Node) *statesUse {
	u := &statesUse{}
	var visit func(n jparse.Node)
	visit = func(n jparse.Node) {
		if n == nil || u.all {
			return
		}
		switch x := n.(type) {
		case *jparse.VariableNode:
			if x.Name == "states" {
				u.all = true // $states on its own
			}
			return
		case *jparse.PathNode:
			if len(x.Steps) == 0 {
				return
			}
			if v, ok := x.Steps[0].(*jparse.VariableNode); ok && v.Name == "states" {
				if len(x.Steps) < 2 {
					u.all = true
					return
				}
				f, ok := x.Steps[1].(*jparse.NameNode)
				if !ok {
					u.all = true
					return
				}
				fu := u.field(f.Value)
				key := ""
				if len(x.Steps) > 2 {
					switch k := x.Steps[2].(type) {
					case *jparse.NameNode:
						key = k.Value
					case *jparse.PredicateNode:
						if kn, ok := k.Expr.(*jparse.NameNode); ok {
							key = kn.Value
						}
					}
				}
				if key == "" {
					fu.all = true
				} else {
					if fu.keys == nil {
						fu.keys = map[string]bool{}
					}
					fu.keys[key] = true
				}
				for _, st := range x.Steps[2:] {
					forEachChild(st, visit)
				}
				return
			}
		}
		forEachChild(n, visit)
	}
	visit(n)
	return u
}

// forEachChild calls fn on each direct child of n.
func forEachChild(n jparse.Node, fn func(jparse.Node)) {
	switch x := n.(type) {
	case *jparse.PathNode:
		for _, s := range x.Steps {
			fn(s)
		}
	case *jparse.PredicateNode:
		fn(x.Expr)
		for _, f := range x.Filters {
			fn(f)
		}
	case *jparse.SortNode:
		fn(x.Expr)
		for _, t := range x.Terms {
			fn(t.Expr)
		}
	case *jparse.GroupNode:
		fn(x.Expr)
		if x.ObjectNode != nil {
			forEachChild(x.ObjectNode, fn)
		}
	case *jparse.ObjectNode:
		for _, p := range x.Pairs {
			fn(p[0])
			fn(p[1])
		}
	case *jparse.ArrayNode:
		for _, it := range x.Items {
			fn(it)
		}
	case *jparse.BlockNode:
		for _, e := range x.Exprs {
			fn(e)
		}
	case *jparse.FunctionCallNode:
		fn(x.Func)
		for _, a := range x.Args {
			fn(a)
		}
	case *jparse.PartialNode:
		fn(x.Func)
		for _, a := range x.Args {
			fn(a)
		}
	case *jparse.LambdaNode:
		fn(x.Body)
	case *jparse.TypedLambdaNode:
		if x.LambdaNode != nil {
			fn(x.LambdaNode.Body)
		}
	case *jparse.ConditionalNode:
		fn(x.If)
		fn(x.Then)
		fn(x.Else)
	case *jparse.AssignmentNode:
		fn(x.Value)
	case *jparse.NegationNode:
		fn(x.RHS)
	case *jparse.RangeNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.NumericOperatorNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.ComparisonOperatorNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.BooleanOperatorNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.StringConcatenationNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.FunctionApplicationNode:
		fn(x.LHS)
		fn(x.RHS)
	case *jparse.ObjectTransformationNode:
		fn(x.Pattern)
		fn(x.Updates)
		fn(x.Deletes)
	}
}

// statesFor builds the $states value an expression with use u needs.
func (b *bindings) statesFor(u *statesUse) any {
	if u == nil || u.all {
		return b.statesValue()
	}
	m := make(map[string]any, len(u.fields))
	for name, fu := range u.fields {
		raw, ok := b.rawField(name)
		if !ok {
			continue
		}
		obj, isObj := raw.(map[string]any)
		if fu.all || !isObj {
			m[name] = b.fieldValue(name, raw)
			continue
		}
		sub := make(map[string]any, len(fu.keys))
		for k := range fu.keys {
			if v, ok := obj[k]; ok {
				sub[k] = b.keyValue(name, k, v)
			}
		}
		m[name] = sub
	}
	return m
}

// rawField returns the value-model value of a $states field.
func (b *bindings) rawField(name string) (any, bool) {
	switch name {
	case "input":
		return b.env.Input, true
	case "context":
		return b.env.Context, true
	}
	v, ok := b.env.States[name]
	return v, ok
}

func (b *bindings) fieldValue(name string, raw any) any {
	if v, ok := b.fields[name]; ok {
		return v
	}
	v := toJSONata(raw)
	if b.fields == nil {
		b.fields = map[string]any{}
	}
	b.fields[name] = v
	return v
}

func (b *bindings) keyValue(field, key string, raw any) any {
	if v, ok := b.fields[field]; ok {
		return v.(map[string]any)[key] // the whole field is converted already
	}
	ck := field + "\x00" + key
	if v, ok := b.keys[ck]; ok {
		return v
	}
	v := toJSONata(raw)
	if b.keys == nil {
		b.keys = map[string]any{}
	}
	b.keys[ck] = v
	return v
}
