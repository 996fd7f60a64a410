package jsonata

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/internal/jsonata/jparse"
)

// TestConcurrentEvalWith evaluates shared expressions from many goroutines
// with different variables (run with -race): built-ins called under other
// names, lambdas, partial application and ~> all share callables and the
// parsed tree across evaluations.
func TestConcurrentEvalWith(t *testing.T) {
	t.Parallel()
	exprs := []struct {
		src  string
		want func(n int) interface{}
	}{
		{`$n * 2`, func(n int) interface{} { return float64(2 * n) }},
		{`[1..$n] ~> $sum()`, func(n int) interface{} { return float64(n * (n + 1) / 2) }},
		{`($f := $string; $f($n) & "-" & $uppercase($s))`, func(n int) interface{} { return fmt.Sprintf("%d-G%d", n, n%7) }},
		{`$map([1, 2], function($v) { $v * $n })`, func(n int) interface{} { return []interface{}{float64(n), float64(2 * n)} }},
		{`($add := function($a, $b) { $a + $b }; $inc := $add(?, 1); $inc($n))`, func(n int) interface{} { return float64(n + 1) }},
		{`$substring("abcdefgh", 0, $n % 8 + 1) ~> $length()`, func(n int) interface{} { return float64(n%8 + 1) }},
		{`$formatNumber($n * 1000, "#,##0.00")`, func(n int) interface{} { return commas(n*1000) + ".00" }},
		{`$count($match("a" & $string($n) & "b22", /[0-9]+/))`, func(n int) interface{} { return float64(2) }},
		{`$sort([$n, 3, 1], function($a, $b) { $a > $b })[0]`, func(n int) interface{} { return float64(min(n, 1)) }},
		{`$fromMillis($n * 86400000) ~> $substring(0, 10)`, func(n int) interface{} { return time.UnixMilli(int64(n) * 86400000).UTC().Format("2006-01-02") }},
		{`{"k": $s} ~> |$|{"n": $n}|`, func(n int) interface{} { return fmt.Sprintf("map[k:g%d n:%d]", n%7, n) }},
	}
	compiled := make([]*Expr, len(exprs))
	for i, x := range exprs {
		compiled[i] = MustCompile(x.src)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				n := g*100 + i + 1
				vars := map[string]interface{}{"n": float64(n), "s": fmt.Sprintf("g%d", n%7)}
				for k, e := range compiled {
					got, err := e.EvalWith(nil, EvalParams{Vars: vars})
					if err != nil {
						t.Errorf("%s with $n=%d: %v", exprs[k].src, n, err)
						return
					}
					if want := exprs[k].want(n); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s with $n=%d: got %v, want %v", exprs[k].src, n, got, want)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
}

// TestApplyChainRepeated: evaluating x ~> $f() again gives the same result
// (the operator used to add x to the parsed call on every evaluation).
func TestApplyChainRepeated(t *testing.T) {
	t.Parallel()
	e := MustCompile(`[1, 2, 3] ~> $sum()`)
	for i := 0; i < 3; i++ {
		got, err := e.Eval(nil)
		if err != nil || got != float64(6) {
			t.Fatalf("evaluation %d: got %v, %v; want 6", i+1, got, err)
		}
	}
}

// TestEvalWithVarsLeaveExpr: variables bound by EvalWith are not seen by
// later evaluations.
func TestEvalWithVarsLeaveExpr(t *testing.T) {
	t.Parallel()
	e := MustCompile(`$v`)
	got, err := e.EvalWith(nil, EvalParams{Vars: map[string]interface{}{"v": "x"}})
	if err != nil || got != "x" {
		t.Fatalf("got %v, %v; want x", got, err)
	}
	if got, err := e.Eval(nil); !errors.Is(err, ErrUndefined) {
		t.Fatalf("second evaluation: got %v, %v; want undefined", got, err)
	}
}

// TestOnLambdaCall: the hook sees the lambda nesting depth and its error
// ends the evaluation.
func TestOnLambdaCall(t *testing.T) {
	t.Parallel()
	node, err := jparse.Parse(`($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(10))`)
	if err != nil {
		t.Fatal(err)
	}
	e := NewExpr(node)
	deepest := 0
	got, err := e.EvalWith(nil, EvalParams{OnLambdaCall: func(depth int) error {
		deepest = max(deepest, depth)
		return nil
	}})
	if err != nil || got != float64(10) {
		t.Fatalf("got %v, %v; want 10", got, err)
	}
	if deepest != 11 {
		t.Fatalf("deepest lambda nesting %d, want 11", deepest)
	}
	errDeep := errors.New("too deep")
	_, err = e.EvalWith(nil, EvalParams{OnLambdaCall: func(depth int) error {
		if depth > 5 {
			return errDeep
		}
		return nil
	}})
	if !errors.Is(err, errDeep) {
		t.Fatalf("got %v, want the hook's error", err)
	}
}

// commas writes n with a comma between groups of three digits.
func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
