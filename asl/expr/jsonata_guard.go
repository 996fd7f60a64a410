package expr

import (
	"errors"
	"reflect"
	"runtime"
	"time"
	"unsafe"

	jsonata "github.com/blues/jsonata-go"
	"github.com/blues/jsonata-go/jparse"
	"github.com/blues/jsonata-go/jtypes"
)

// The engine recurses on the goroutine stack with no limit of its own, so a
// JSONata function that calls itself without end would exhaust the stack
// and end the process. Step Functions fails such an evaluation instead. To
// do the same, every lambda body in a compiled expression is prefixed with a
// call to depthGuardName, which fails the evaluation once the goroutine is
// more than maxEngineFrames calls deep or has run longer than
// maxEngineTime.
const (
	depthGuardName  = "__landfallDepthGuard"
	maxEngineFrames = 20000
	// maxSourceNesting bounds bracket nesting in an expression's text, so
	// that parsing (which also recurses) stays shallow.
	maxSourceNesting = 1000
)

var errTooDeep = errors.New("Stack overflow error: the expression nests or recurses too deeply")

// guardFrames is the buffer the guard counts frames into; the engine runs
// one evaluation at a time (engineMu), so one buffer serves.
var guardFrames = make([]uintptr, maxEngineFrames+1)

// guardCalls counts the guard's calls in the evaluation in progress (reset
// by evalSafely). A lambda cannot be nested deeper than the number of
// lambda calls so far, and the stack is only walked every guardEvery calls,
// so guarding costs little and a runaway recursion is caught within
// guardEvery levels of the limit.
var (
	guardCalls int
	guardStart time.Time // when the evaluation in progress started
)

const guardEvery = 32

// maxEngineTime bounds an evaluation that keeps calling lambdas (a
// variable so that tests can shorten it).
var maxEngineTime = 5 * time.Second

var errTooLong = errors.New("Expression evaluation timeout: Check for infinite loop")

func depthGuard() (any, error) {
	guardCalls++
	if guardCalls%guardEvery == 0 {
		if runtime.Callers(0, guardFrames) > maxEngineFrames {
			return nil, errTooDeep
		}
		if time.Since(guardStart) > maxEngineTime {
			return nil, errTooLong
		}
	}
	return nil, jtypes.ErrUndefined
}

var depthGuardCallable = func() any {
	e := jsonata.MustCompile("$" + depthGuardName)
	if err := e.RegisterExts(map[string]jsonata.Extension{depthGuardName: {Func: depthGuard}}); err != nil {
		panic("expr: registering the depth guard: " + err.Error())
	}
	fn, err := e.Eval(nil)
	if err != nil {
		panic("expr: registering the depth guard: " + err.Error())
	}
	return fn
}()

// exprNodeField is the engine's (unexported) parsed tree inside a
// jsonata.Expr, located once; its absence means the pinned engine version
// changed and the guard cannot be installed.
var exprNodeField = func() reflect.StructField {
	f, ok := reflect.TypeOf(jsonata.Expr{}).FieldByName("node")
	if !ok || f.Type != reflect.TypeOf((*jparse.Node)(nil)).Elem() {
		panic("expr: github.com/blues/jsonata-go changed: jsonata.Expr has no node field of type jparse.Node")
	}
	return f
}()

// instrument rewrites e's tree in place: every lambda body is prefixed with
// the depth guard, and $exists of a plain path becomes existsName (see
// jsExists). It reports which of the two it used.
func instrument(e *jsonata.Expr) (guarded, exists bool) {
	root := *(*jparse.Node)(unsafe.Add(unsafe.Pointer(e), exprNodeField.Offset))
	guarded = guardLambdas(root)
	exists = rewriteExists(root)
	return guarded, exists
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

// guardLambdas prefixes every lambda body of the tree with the depth guard
// and reports whether it found any.
func guardLambdas(root jparse.Node) bool {
	found := false
	guard := func(body jparse.Node) jparse.Node {
		found = true
		return &jparse.BlockNode{Exprs: []jparse.Node{
			&jparse.FunctionCallNode{Func: &jparse.VariableNode{Name: depthGuardName}},
			body,
		}}
	}
	var visit func(n jparse.Node)
	visit = func(n jparse.Node) {
		if n == nil {
			return
		}
		forEachChild(n, visit)
		switch x := n.(type) {
		case *jparse.LambdaNode:
			x.Body = guard(x.Body)
		case *jparse.TypedLambdaNode:
			if x.LambdaNode != nil {
				x.LambdaNode.Body = guard(x.LambdaNode.Body)
			}
		}
	}
	visit(root)
	return found
}

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
