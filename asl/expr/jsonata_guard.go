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

// guardLambdas prefixes every lambda body of e's tree with the depth guard
// and reports whether it found any.
func guardLambdas(e *jsonata.Expr) bool {
	root := *(*jparse.Node)(unsafe.Add(unsafe.Pointer(e), exprNodeField.Offset))
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
