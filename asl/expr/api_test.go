package expr

import (
	"encoding/json"
	"errors"
	"math/rand"
	"testing"
)

func TestPathAccessors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src             string
		root            Root
		varName         string
		isRoot, def, rf bool
	}{
		{"$", RootInput, "", true, true, true},
		{"$.a[0]", RootInput, "", false, true, true},
		{"$$", RootContext, "", true, true, true},
		{"$$.Execution.Id", RootContext, "", false, true, true},
		{"$myVar", RootVariable, "myVar", true, true, true},
		{"$my_var2.a[*]", RootVariable, "my_var2", false, false, false},
		{"$..a", RootInput, "", false, false, false},
	} {
		p := MustCompilePath(tc.src)
		if p.Root() != tc.root || p.VarName() != tc.varName || p.IsRoot() != tc.isRoot || p.Definite() != tc.def || p.IsReference() != tc.rf {
			t.Errorf("%s: root %v var %q isRoot %v definite %v reference %v", tc.src, p.Root(), p.VarName(), p.IsRoot(), p.Definite(), p.IsReference())
		}
	}
	r, err := CompileReferencePath("$.a.b")
	if err != nil || r.String() != "$.a.b" {
		t.Fatalf("reference path: %v %v", r, err)
	}
}

func TestTemplateIsStatic(t *testing.T) {
	t.Parallel()
	if !MustCompileTemplate(map[string]any{"a": []any{"$.x"}}).IsStatic() {
		t.Error("a template without .$ keys is static")
	}
	if MustCompileTemplate(map[string]any{"a": []any{map[string]any{"b.$": "$"}}}).IsStatic() {
		t.Error("a template with a nested .$ key is not static")
	}
	tj, err := CompileJSONataTemplate(map[string]any{"a": "{% 1 %}"})
	if err != nil || tj.IsStatic() {
		t.Errorf("a JSONata template with an expression is not static: %v", err)
	}
	if f := MustCompileIntrinsic("States.UUID()"); f.String() != "States.UUID()" {
		t.Errorf("Intrinsic.String() = %q", f.String())
	}
	if j := MustCompileJSONata("{%  $x  %}"); j.String() != "$x" {
		t.Errorf("JSONata.String() = %q", j.String())
	}
}

func TestNumbersAndTypes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v    any
		want string
	}{
		{nil, "null"}, {true, "boolean"}, {"s", "string"}, {json.Number("1"), "number"}, {1.5, "number"},
		{map[string]any{}, "object"}, {[]any{}, "array"},
	} {
		if got := TypeName(tc.v); got != tc.want {
			t.Errorf("TypeName(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
	for f, want := range map[float64]string{3: "3", -0.5: "-0.5", 1e21: "1e+21", 2.5e-7: "2.5e-07"} {
		if got := string(Float(f)); got != want {
			t.Errorf("Float(%v) = %s, want %s", f, got, want)
		}
	}
	got := MarshalString(AWSNumbers(map[string]any{"a": json.Number("1.50"), "b": []any{json.Number("1e2"), json.Number("7")}, "c": "1.50"}))
	if want := `{"a":1.5,"b":[100.0,7],"c":"1.50"}`; got != want {
		t.Errorf("AWSNumbers = %s, want %s", got, want)
	}
	for _, tc := range []struct {
		a, b any
		eq   bool
	}{
		{json.Number("1"), json.Number("1.0"), true}, {json.Number("1"), 1.0, true}, {json.Number("2"), json.Number("3"), false},
		{json.Number("1"), "1", false}, {nil, nil, true}, {map[string]any{"a": json.Number("1")}, map[string]any{"a": json.Number("1.00")}, true},
		{[]any{1.0, "x"}, []any{json.Number("1"), "x"}, true}, {[]any{1.0}, []any{1.0, 2.0}, false},
	} {
		if Equal(tc.a, tc.b) != tc.eq {
			t.Errorf("Equal(%v, %v) != %v", tc.a, tc.b, tc.eq)
		}
	}
	if _, err := Decode([]byte(`{"a":1} x`)); err == nil {
		t.Error("Decode accepted trailing data")
	}
	if v, err := Decode([]byte(" [1, 2.50] \n")); err != nil || MarshalString(v) != "[1,2.50]" {
		t.Errorf("Decode kept %s, %v", MarshalString(v), err)
	}
}

// seqRand is a deterministic Rand.
type seqRand struct{ r *rand.Rand }

func (s seqRand) Int63() int64 { return s.r.Int63() }

func TestEnvRand(t *testing.T) {
	t.Parallel()
	run := func() (any, any) {
		env := &Env{Rand: seqRand{rand.New(rand.NewSource(1))}}
		n, err := MustCompileIntrinsic("States.MathRandom(1, 1000)").Eval(env)
		if err != nil {
			t.Fatal(err)
		}
		u, err := MustCompileIntrinsic("States.UUID()").Eval(env)
		if err != nil {
			t.Fatal(err)
		}
		return n, u
	}
	n1, u1 := run()
	n2, u2 := run()
	if !Equal(n1, n2) || u1 != u2 {
		t.Errorf("the same Env.Rand gave %v %v then %v %v", n1, u1, n2, u2)
	}
	if x, _ := toNumber(n1); x.i < 1 || x.i >= 1000 {
		t.Errorf("MathRandom(1, 1000) = %v", n1)
	}
}

func TestErrorText(t *testing.T) {
	t.Parallel()
	_, err := MustCompilePath("$.a").Get(map[string]any{})
	if err.Error() != "States.Runtime: Invalid path '$.a' : No results for path: $['a']" {
		t.Errorf("Error() = %q", err.Error())
	}
	if !errors.Is(err, ErrPathNotFound) {
		t.Error("not ErrPathNotFound")
	}
	_, err = CompileTemplate(map[string]any{"a": map[string]any{"b.$": "$["}})
	if err.Error() != `/a/b.$: unterminated '[' in "$[" at offset 2` {
		t.Errorf("compile error text = %q", err.Error())
	}
}
