package expr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
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
