package expr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/jsonata"
)

// TestConcurrentEvaluation evaluates the same compiled expressions from many
// goroutines with different inputs (run it with -race): compiled values are
// shared by every execution of a state machine.
func TestConcurrentEvaluation(t *testing.T) {
	t.Parallel()
	jt, err := CompileJSONataTemplateField(map[string]any{
		"n":   "{% $states.input.n * 2 %}",
		"v":   "{% $v & '-' & $string($states.input.n) %}",
		"p":   "{% $partition([1,2,3], 2) %}",
		"raw": "{% $states.input.n %}",
	}, "Output")
	if err != nil {
		t.Fatal(err)
	}
	pt := MustCompileTemplate(map[string]any{"n.$": "$.n", "f.$": "States.Format('{}-{}', $v, $.n)"})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				n := g*1000 + i
				env := &Env{Input: map[string]any{"n": Int(int64(n))}, Vars: map[string]any{"v": fmt.Sprint("g", g)}}
				got, err := jt.Eval(env)
				if err != nil {
					t.Error(err)
					return
				}
				m := got.(map[string]any)
				if !Equal(m["n"], Int(int64(2*n))) || m["v"] != fmt.Sprintf("g%d-%d", g, n) || !Equal(m["raw"], Int(int64(n))) {
					t.Errorf("goroutine %d: got %s", g, MarshalString(got))
					return
				}
				got, err = pt.Eval(env)
				if err != nil {
					t.Error(err)
					return
				}
				if got.(map[string]any)["f"] != fmt.Sprintf("g%d-%d", g, n) {
					t.Errorf("goroutine %d: got %s", g, MarshalString(got))
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestConcurrentJSONataEngine evaluates expressions that go through the
// engine (built-ins, lambdas, ~>, partial application, Step Functions'
// functions, $exists, errors) from many goroutines at once, each with its
// own input and variables. Run it with -race: nothing is serialised.
func TestConcurrentJSONataEngine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src  string
		want func(n int, v string) any // nil: the evaluation fails
	}{
		{"{% $states.input.n * 2 + $count($states.input.items) %}", func(n int, _ string) any { return Int(int64(2*n + 3)) }},
		{"{% $states.input.items ~> $map(function($i) { $i * $states.input.n }) ~> $sum() %}", func(n int, _ string) any { return Int(int64(6 * n)) }},
		{"{% ($f := $string; $f($states.input.n) & '/' & $uppercase($v)) %}", func(n int, v string) any { return fmt.Sprintf("%d/%s", n, strings.ToUpper(v)) }},
		{"{% ($add := function($a, $b) { $a + $b }; $inc := $add(?, $states.input.n); $inc(1)) %}", func(n int, _ string) any { return Int(int64(n + 1)) }},
		{"{% ($f := function($k) { $k <= 1 ? 1 : $k * $f($k - 1) }; $f($states.input.n % 10)) %}", func(n int, _ string) any {
			f := 1
			for k := 2; k <= n%10; k++ {
				f *= k
			}
			return Int(int64(f))
		}},
		{"{% $count($partition($states.input.items, 2)) %}", func(int, string) any { return Int(2) }},
		{"{% $exists($states.input.empty) and $not($exists($states.input.missing)) %}", func(int, string) any { return true }},
		{"{% $hash($v, 'SHA-256') = $hash($v, 'SHA-256') %}", func(int, string) any { return true }},
		{"{% $states.input.n + 'x' %}", nil},
		{"{% $sum($v) %}", nil},
	}
	compiled := make([]*JSONata, len(cases))
	for i, c := range cases {
		compiled[i] = MustCompileJSONata(c.src)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range 50 {
				n := g*100 + i
				v := fmt.Sprint("g", g)
				env := &Env{
					Input: map[string]any{"n": Int(int64(n)), "items": []any{Int(1), Int(2), Int(3)}, "empty": []any{}},
					Vars:  map[string]any{"v": v},
				}
				for k, c := range cases {
					got, err := compiled[k].Eval(env)
					if c.want == nil {
						var e *Error
						if !errors.As(err, &e) || e.Name != ErrNameQueryEvaluation {
							t.Errorf("%s with n=%d: got %v, %v; want States.QueryEvaluationError", c.src, n, got, err)
							return
						}
						continue
					}
					if err != nil {
						t.Errorf("%s with n=%d: %v", c.src, n, err)
						return
					}
					if want := c.want(n, v); !Equal(got, want) {
						t.Errorf("%s with n=%d: got %s, want %s", c.src, n, MarshalString(got), MarshalString(want))
						return
					}
				}
			}
		}()
	}
	close(start)
	wg.Wait()
}

// TestJSONataEvaluationsOverlap proves evaluations are not serialised:
// two evaluations of one expression each call a function that waits until
// the other has called it too, which only returns when both are inside the
// engine at once. Not parallel: it adds a function to the package's table.
func TestJSONataEvaluationsOverlap(t *testing.T) {
	const name = "testBarrier"
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	go func() { arrived.Wait(); close(both) }()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	barrier := func() (bool, error) {
		arrived.Done()
		select {
		case <-both:
			return true, nil
		case <-timeout.C:
			return false, errors.New("the other evaluation never ran at the same time")
		}
	}
	e := jsonata.MustCompile("$" + name)
	if err := e.RegisterExts(map[string]jsonata.Extension{name: {Func: barrier}}); err != nil {
		t.Fatal(err)
	}
	fn, err := e.Eval(nil)
	if err != nil {
		t.Fatal(err)
	}
	stepFunctionsCallables[name] = fn
	defer delete(stepFunctionsCallables, name)

	j := MustCompileJSONata("{% $count($states.input.items) > 0 and $" + name + "() %}")
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			got, err := j.Eval(&Env{Input: map[string]any{"items": []any{Int(1)}}})
			if err == nil && got != true {
				err = fmt.Errorf("got %s, want true", MarshalString(got))
			}
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestJSONataDeepRecursion: recursion within the lambda depth limit
// evaluates; past it the evaluation fails instead of exhausting the stack.
func TestJSONataDeepRecursion(t *testing.T) {
	t.Parallel()
	j := MustCompileJSONata("{% ($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f($states.input.n)) %}")
	got, err := j.Eval(&Env{Input: map[string]any{"n": Int(maxLambdaDepth - 1)}})
	if err != nil || !Equal(got, Int(maxLambdaDepth-1)) {
		t.Fatalf("depth %d: got %v, %v", maxLambdaDepth-1, got, err)
	}
	_, err = j.Eval(&Env{Input: map[string]any{"n": Int(maxLambdaDepth)}})
	var e *Error
	if !errors.As(err, &e) || !strings.HasSuffix(e.Cause, errTooDeep.Error()) {
		t.Fatalf("depth %d: got %v, want the stack overflow error", maxLambdaDepth, err)
	}
}

// TestNilEnv: a nil Env is an empty one.
func TestNilEnv(t *testing.T) {
	t.Parallel()
	if _, err := MustCompilePath("$.a").Eval(nil); !errors.Is(err, ErrPathNotFound) {
		t.Fatalf("path: %v", err)
	}
	if v, err := MustCompileTemplate(map[string]any{"a": "b"}).Eval(nil); err != nil || !Equal(v, map[string]any{"a": "b"}) {
		t.Fatalf("template: %v %v", v, err)
	}
	if v, err := MustCompileIntrinsic("States.Array(1)").Eval(nil); err != nil || !Equal(v, []any{Int(1)}) {
		t.Fatalf("intrinsic: %v %v", v, err)
	}
	if _, err := MustCompileJSONata("{% $states.input.a %}").Eval(nil); !errors.Is(err, ErrUndefined) {
		t.Fatalf("jsonata: %v", err)
	}
}

// TestJSONataTimeLimit: an evaluation that keeps calling lambdas past the
// time limit fails. Not parallel: it shortens the package's limit.
func TestJSONataTimeLimit(t *testing.T) {
	saved := maxEngineTime
	maxEngineTime = time.Millisecond
	defer func() { maxEngineTime = saved }()
	j := MustCompileJSONata("{% $count($map([1..1000000], function($v){ $v })) %}")
	_, err := j.Eval(nil)
	var e *Error
	if !errors.As(err, &e) || e.Name != ErrNameQueryEvaluation || !strings.HasSuffix(e.Cause, "threw an error during evaluation: Expression evaluation timeout: Check for infinite loop") {
		t.Fatalf("got %v, want the evaluation timeout", err)
	}
}
