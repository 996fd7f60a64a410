package asl

import (
	"encoding/json"
	"errors"
	"math"
	"strings"

	"github.com/landfall/landfall/asl/expr"
)

// evaluator is anything that evaluates against an expression environment:
// payload templates, JSONata templates and intrinsic functions.
type evaluator interface {
	Eval(env *expr.Env) (any, error)
}

func compileTemplate(v any) (evaluator, error) {
	t, err := expr.CompileTemplate(v)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func compileJSONataTemplate(v any, field string) (evaluator, error) {
	t, err := expr.CompileJSONataTemplateField(v, field)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func compileIntrinsic(s string) (evaluator, error) {
	f, err := expr.CompileIntrinsic(s)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// compileRefPath compiles a JSONPath that reads the input, the context
// object or a variable.
func compileRefPath(s string) (*pathSpec, error) {
	p, err := expr.CompilePath(s)
	if err != nil {
		return nil, err
	}
	return &pathSpec{src: s, p: p}, nil
}

// compileResultPath compiles a ResultPath.
func compileResultPath(s string) (*resultPathSpec, error) {
	rp, err := expr.CompileReferencePath(s)
	if err != nil {
		return nil, err
	}
	return &resultPathSpec{src: s, ref: rp}, nil
}

// get evaluates a reference path; found is false when a definite path
// selects nothing.
func (ps *pathSpec) get(env *expr.Env) (v any, found bool, serr *stateError) {
	v, err := ps.p.Eval(env)
	if err != nil {
		if errors.Is(err, expr.ErrPathNotFound) {
			return nil, false, nil
		}
		return nil, false, fromExprErr(err)
	}
	return v, true, nil
}

// eval evaluates a reference path and fails when it selects nothing.
func (ps *pathSpec) eval(env *expr.Env) (any, *stateError) {
	if ps.null {
		return map[string]any{}, nil
	}
	v, err := ps.p.Eval(env)
	if err != nil {
		return nil, fromExprErr(err)
	}
	return v, nil
}

// toInt converts a JSON number of any Go numeric type to an int64 when it
// is integral.
func toInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		f, err := n.Float64()
		if err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// toFloat converts a JSON number of any Go numeric type.
func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

// fromExprErr converts an evaluation error into a state error with the
// AWS name and cause.
func fromExprErr(err error) *stateError {
	var ee *expr.Error
	if errors.As(err, &ee) {
		return &stateError{name: ee.Name, cause: ee.Cause, prefixed: true}
	}
	return &stateError{name: ErrRuntime, cause: err.Error(), prefixed: true}
}

func jsonataSource(s string) string {
	s = strings.TrimPrefix(s, "{%")
	s = strings.TrimSuffix(s, "%}")
	return strings.TrimSpace(s)
}
