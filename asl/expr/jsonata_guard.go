package expr

import (
	"errors"
	"reflect"
	"time"

	"github.com/landfall/landfall/internal/jsonata"
	"github.com/landfall/landfall/internal/jsonata/jparse"
	"github.com/landfall/landfall/internal/jsonata/jtypes"
)

// The engine recurses on the goroutine stack with no limit of its own, so a
// JSONata function that calls itself without end would exhaust the stack
// and end the process. Step Functions fails such an evaluation instead. To
// do the same, every evaluation of an expression that defines functions
// has an engineGuard, which the engine calls as each lambda is entered: it
// fails the evaluation once lambdas nest more than maxLambdaDepth deep or
// the evaluation has run longer than maxEngineTime.
const (
	// maxLambdaDepth bounds lambda nesting: a level costs the engine 5 to
	// 10 Go frames, so this stays near 20,000 frames.
	maxLambdaDepth = 2000
	// maxSourceNesting bounds bracket nesting in an expression's text, so
	// that parsing (which also recurses) stays shallow.
	maxSourceNesting = 1000
	// guardEvery is how many lambda calls pass between two looks at the
	// clock.
	guardEvery = 32
)

var errTooDeep = errors.New("Stack overflow error: the expression nests or recurses too deeply")

// maxEngineTime bounds an evaluation that keeps calling lambdas (a
// variable so that tests can shorten it).
var maxEngineTime = 5 * time.Second

var errTooLong = errors.New("Expression evaluation timeout: Check for infinite loop")

// engineGuard is the lambda-call check of one evaluation.
type engineGuard struct {
	calls int
	start time.Time
}

func newEngineGuard() *engineGuard { return &engineGuard{start: time.Now()} }

// enter is called by the engine as a lambda is entered, depth lambdas
// deep.
func (g *engineGuard) enter(depth int) error {
	if depth > maxLambdaDepth {
		return errTooDeep
	}
	g.calls++
	if g.calls%guardEvery == 0 && time.Since(g.start) > maxEngineTime {
		return errTooLong
	}
	return nil
}

// hasLambdas reports whether the tree defines a function.
func hasLambdas(root jparse.Node) bool {
	found := false
	var visit func(n jparse.Node)
	visit = func(n jparse.Node) {
		if n == nil || found {
			return
		}
		switch n.(type) {
		case *jparse.LambdaNode, *jparse.TypedLambdaNode:
			found = true
			return
		}
		forEachChild(n, visit)
	}
	visit(root)
	return found
}

// rewriteExists turns $exists(<variable>.a.b) into
// __landfallExists(<variable>.a, "b"): the engine reads a path that ends at
// an empty array as nothing, so its $exists says false where JSONata says
// true.
func rewriteExists(root jparse.Node) bool {
	found := false
	var visit func(n jparse.Node)
	visit = func(n jparse.Node) {
		if n == nil {
			return
		}
		forEachChild(n, visit)
		call, ok := n.(*jparse.FunctionCallNode)
		if !ok || len(call.Args) != 1 {
			return
		}
		if fn, ok := call.Func.(*jparse.VariableNode); !ok || fn.Name != "exists" {
			return
		}
		pn, ok := call.Args[0].(*jparse.PathNode)
		if !ok || pn.KeepArrays || len(pn.Steps) < 2 {
			return
		}
		if v, ok := pn.Steps[0].(*jparse.VariableNode); !ok || v.Name == "" || v.Name == "$" {
			return
		}
		for _, st := range pn.Steps[1:] {
			if _, ok := st.(*jparse.NameNode); !ok {
				return
			}
		}
		last := pn.Steps[len(pn.Steps)-1].(*jparse.NameNode).Value
		var parent jparse.Node = pn.Steps[0]
		if len(pn.Steps) > 2 {
			parent = &jparse.PathNode{Steps: pn.Steps[:len(pn.Steps)-1]}
		}
		call.Func = &jparse.VariableNode{Name: existsName}
		call.Args = []jparse.Node{parent, &jparse.StringNode{Value: last}}
		found = true
	}
	visit(root)
	return found
}

const existsName = "__landfallExists"

// jsExists is $exists(parent.name) as JSONata answers it: true when the
// field is there, whatever it holds (null and [] included); over an array
// of objects, true when the mapped path yields anything.
func jsExists(parent reflect.Value, name string) bool {
	if !parent.IsValid() {
		return false
	}
	p := jtypes.Resolve(parent)
	if !p.IsValid() || !p.CanInterface() {
		return false
	}
	switch x := p.Interface().(type) {
	case map[string]any:
		_, ok := x[name]
		return ok
	case []any:
		for _, e := range x {
			if walkItem(e, name) {
				return true
			}
		}
	}
	return false
}

// walkItem reports whether an item of a mapped path yields something for
// name: a field that is not an empty array (those flatten to nothing).
func walkItem(e any, name string) bool {
	switch x := e.(type) {
	case map[string]any:
		fv, ok := x[name]
		if !ok {
			return false
		}
		if a, ok := fv.([]any); ok && len(a) == 0 {
			return false
		}
		return true
	case []any:
		for _, y := range x {
			if walkItem(y, name) {
				return true
			}
		}
	}
	return false
}

var existsCallable = func() any {
	e := jsonata.MustCompile("$" + existsName)
	if err := e.RegisterExts(map[string]jsonata.Extension{existsName: {Func: jsExists}}); err != nil {
		panic("expr: registering $exists: " + err.Error())
	}
	fn, err := e.Eval(nil)
	if err != nil {
		panic("expr: registering $exists: " + err.Error())
	}
	return fn
}()

// sourceNesting returns the deepest bracket nesting in src, skipping
// string literals (an over-estimate elsewhere is harmless).
func sourceNesting(src string) int {
	depth, deepest := 0, 0
	var quote byte
	for i := 0; i < len(src); i++ {
		c := src[i]
		if quote != 0 {
			if c == '\\' {
				i++
			} else if c == quote {
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth--
		}
	}
	return deepest
}
