package expr

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// fuzzDoc is the document paths and intrinsics are evaluated against.
var fuzzDoc = map[string]any{
	"a": map[string]any{"b": []any{Int(1), "x", nil, map[string]any{"c": true}}},
	"s": "text", "n": Int(3), "f": json.Number("1.5"),
	"list": []any{map[string]any{"id": Int(1), "v": "p"}, map[string]any{"id": Int(2)}},
}

const fuzzMaxLen = 512

func FuzzPath(f *testing.F) {
	for _, s := range []string{"$", "$.a.b[0]", "$['a']['b'][-1]", "$..c", "$.a.b[1:3]", "$.list[?(@.id > 1 && @.v == 'p')].id",
		"$.a.*", "$$.x", "$var.y", "$.a.b[0,2]", "$['x','y']", "$.list[?(@.v =~ /p.*/i)]", "$.a.length()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMaxLen {
			return
		}
		p, err := CompilePath(s)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("compile error %T is not a *CompileError", err)
			}
			return
		}
		v, err := p.Get(fuzzDoc)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Name == "" || e.Cause == "" {
				t.Fatalf("evaluation error %T %v is not a complete *Error", err, err)
			}
			return
		}
		if _, err := Marshal(v); err != nil {
			t.Fatalf("result is not JSON: %v", err)
		}
		if !p.Definite() {
			if _, ok := v.([]any); !ok {
				t.Fatalf("indefinite path returned %T, want an array", v)
			}
		}
	})
}

func FuzzIntrinsic(f *testing.F) {
	for _, s := range []string{"States.Format('a {} b', $.s)", "States.Array(1, 'x', $.a.b, null)", "States.StringSplit($.s, 'x')",
		"States.ArrayRange(1, 10, 3)", "States.MathAdd($.n, -1.5)", "States.JsonMerge($.a, $.a, false)",
		"States.Hash($.s, 'SHA-1')", "States.ArrayGetItem(States.StringSplit('a,b', ','), 1)", "States.Format('\\{\\} \\' \\\\')"} {
		f.Add(s)
	}
	env := &Env{Input: fuzzDoc, Context: fuzzDoc, Vars: map[string]any{"v": fuzzDoc}}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > fuzzMaxLen {
			return
		}
		fn, err := CompileIntrinsic(s)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("compile error %T is not a *CompileError", err)
			}
			return
		}
		v, err := fn.Eval(env)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Name == "" {
				t.Fatalf("evaluation error %T %v is not an *Error", err, err)
			}
			return
		}
		if _, err := Marshal(v); err != nil {
			t.Fatalf("result is not JSON: %v", err)
		}
	})
}

func FuzzJSONata(f *testing.F) {
	for _, s := range []string{"$states.input.a.b[0]", "$sum([1,2]) + 1", "$partition([1,2,3], 2)", "$range(1, 5, 2)",
		"{'k': $states.input.s}", "$map([1,2], function($x){$x*2})", "$hash('x', 'MD5')", "$parse('[1]')", "$count($states.input.list[id > 1])"} {
		f.Add(s)
	}
	env := &Env{Input: fuzzDoc, Context: fuzzDoc}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 128 {
			return // the engine's recursion makes long inputs slow, not interesting
		}
		j, err := CompileJSONata(s)
		if err != nil {
			return
		}
		done := make(chan struct{})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go func() {
			defer close(done)
			v, err := j.Eval(env)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.Name != ErrNameQueryEvaluation {
					t.Errorf("evaluation error %T %v is not a QueryEvaluationError", err, err)
				}
				return
			}
			if _, err := Marshal(v); err != nil {
				t.Errorf("result is not JSON: %v", err)
			}
		}()
		select {
		case <-done:
		case <-ctx.Done():
			// Unbounded expressions ([1..1e7]) are the engine's to limit;
			// the interpreter bounds evaluation time around it.
		}
	})
}

// FuzzJSONataRepeatable: evaluating a compiled expression again, and from
// two goroutines at once, gives the result of the first evaluation (the
// engine must not change the shared tree or callables). Expressions that
// read the clock or a random source are left out.
func FuzzJSONataRepeatable(f *testing.F) {
	for _, s := range []string{"[1,2] ~> $sum()", "$states.input.list ~> $map(function($v){$v.id}) ~> $count()",
		"($f := $string; $f(1) & $f(2))", "($inc := $sum([?, 1]); $inc(2))", "$exists($states.input.a.b)"} {
		f.Add(s)
	}
	env := &Env{Input: fuzzDoc, Context: fuzzDoc}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64 || strings.Contains(s, "..") {
			return // long inputs and ranges are slow, not interesting here
		}
		for _, clock := range []string{"$now", "$millis", "$random", "$uuid", "$eval"} {
			if strings.Contains(s, clock) {
				return
			}
		}
		j, err := CompileJSONata(s)
		if err != nil || j.simple != nil {
			return
		}
		first, err1 := j.Eval(env)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				again, err2 := j.Eval(env)
				if (err1 == nil) != (err2 == nil) || (err1 == nil && !Equal(first, again)) || (err1 != nil && err1.Error() != err2.Error()) {
					t.Errorf("%s: first %s (%v), again %s (%v)", s, MarshalString(first), err1, MarshalString(again), err2)
				}
			}()
		}
		wg.Wait()
	})
}

func FuzzTemplate(f *testing.F) {
	for _, s := range []string{`{"a.$":"$.a","b":[{"c.$":"States.Array($.n)"}]}`, `{"x":"{% $states.input.n + 1 %}"}`,
		`{"k.$":"$$.s","v.$":"$v.n"}`, `[1,"{% [] %}",{"z.$":"$"}]`} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	env := &Env{Input: fuzzDoc, Context: fuzzDoc, Vars: map[string]any{"v": fuzzDoc}}
	f.Fuzz(func(t *testing.T, data []byte, jsonataMode bool) {
		if len(data) > fuzzMaxLen {
			return
		}
		v, err := Decode(data)
		if err != nil {
			return
		}
		var tmpl *Template
		if jsonataMode {
			tmpl, err = CompileJSONataTemplate(v)
		} else {
			tmpl, err = CompileTemplate(v)
		}
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) {
				t.Fatalf("compile error %T is not a *CompileError", err)
			}
			return
		}
		if jsonataMode {
			return // JSONata evaluation is FuzzJSONata's
		}
		out, err := tmpl.Eval(env)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("evaluation error %T is not an *Error", err)
			}
			return
		}
		if _, err := Marshal(out); err != nil {
			t.Fatalf("result is not JSON: %v", err)
		}
	})
}
