// Package expr is the expression layer of Landfall's Amazon States Language
// interpreter: JSONPath as Step Functions evaluates it (Jayway semantics),
// reference paths (ResultPath), the States.* intrinsic functions, payload
// templates (Parameters, ResultSelector, ItemSelector, Assign, Arguments,
// Output) and JSONata expressions. It is pure: no I/O and no clock;
// randomness only in States.UUID, States.MathRandom, $uuid and $random.
//
// Compile once, evaluate many times (concurrently):
//
//	p, _ := expr.CompilePath("$.detail.object.key")          // InputPath, OutputPath, ItemsPath, Choice Variable
//	v, err := p.Eval(&expr.Env{Input: in, Context: ctx, Vars: vars})
//	r, _ := expr.CompileReferencePath("$.result")            // ResultPath
//	out, err := r.Set(in, result)                            // copy-on-write
//	t, _ := expr.CompileTemplate(params)                     // JSONPath-mode Parameters, ResultSelector, ...
//	t, _ = expr.CompileJSONataTemplateField(output, "Output") // JSONata-mode Arguments, Output, Assign, ...
//	v, err = t.Eval(env)
//	j, _ := expr.CompileJSONata("{% $states.input.n > 1 %}")  // Condition, Items, Seconds, ...
//	v, err = j.EvalField(env, "Condition")
//	f, _ := expr.CompileIntrinsic("States.Format('{}', $.a)")
//
// # Value model
//
// JSON values are the Go values produced by a json.Decoder with UseNumber:
// map[string]any, []any, string, json.Number, bool and nil. Numbers keep
// their lexical form, so integers stay integers ("3", not "3.0"). Decode
// produces such values; Equal compares them (numbers by value); Marshal
// prints them compactly. Values are treated as immutable: results may share
// subtrees with inputs and templates, and nothing here mutates a value it
// did not just create. Objects do not keep their key order, so where Step
// Functions would print keys in insertion order (States.JsonToString,
// States.Format, causes, JSONPath wildcards) they come sorted, and JSONata
// functions that walk an object's keys ($keys, $each, $spread, $sift) see
// them in no fixed order.
//
// # Errors
//
// Evaluation errors are *Error values whose Name is the Step Functions
// error name ("States.Runtime", "States.IntrinsicFailure",
// "States.QueryEvaluationError", "States.ResultPathMatchFailure") and whose
// Cause is the text Step Functions reports, without the "An error occurred
// while executing the state 'X' (entered at the event id #N). " prefix,
// which the interpreter adds. A path that selects nothing wraps
// ErrPathNotFound and an undefined JSONata result wraps ErrUndefined, for
// errors.Is. Compile errors are *CompileError values naming the JSON pointer
// of the bad value inside a template and the offset in the expression.
//
// # JSONata
//
// JSONata runs on internal/jsonata (a fork of github.com/blues/jsonata-go
// made safe for concurrent evaluation), with Step Functions' bindings
// ($states.input, $states.context, $states.result, $states.errorOutput,
// variables) and functions ($partition, $range, $hash, $random, $uuid,
// $parse) added. Plain paths ($states.input.a.b, $var.x) are evaluated
// natively; other expressions go through the engine, concurrently (a
// compiled expression is shared by every execution), with only the parts of
// $states they read converted for it.
// Where the engine's semantics differ from JSONata's reference
// implementation, the differences Step Functions users meet most are
// corrected here (null values, paths ending at an empty array, $exists,
// $not, error codes and wording, $eval disabled). The engine has no recursion limit of its own: lambda bodies are
// instrumented so that a function recursing without end fails the
// evaluation (States.QueryEvaluationError) instead of exhausting the stack,
// and one that keeps calling its own functions past five seconds fails too.
// An evaluation that runs long without calling a lambda (a range of ten
// million items) is not bounded, and holds up the process's other engine
// evaluations while it runs.
package expr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
)

// Step Functions error names raised by this package.
const (
	ErrNameRuntime              = "States.Runtime"
	ErrNameIntrinsicFailure     = "States.IntrinsicFailure"
	ErrNameQueryEvaluation      = "States.QueryEvaluationError"
	ErrNameResultPathMatch      = "States.ResultPathMatchFailure"
	ErrNameParameterPathFailure = "States.ParameterPathFailure"
)

// Error is an evaluation error as Step Functions reports it: Name is the
// ASL error name a Retry or Catch matches, Cause is AWS's message text.
type Error struct {
	Name  string
	Cause string
	// Err is an optional sentinel (ErrPathNotFound, ErrUndefined) so callers
	// can tell "nothing there" from other failures with errors.Is.
	Err error

	jayway    string // a path error's message from the JSONPath evaluator alone
	indexMiss bool   // a definite path's array index was out of range
}

func (e *Error) Error() string { return e.Name + ": " + e.Cause }

// Unwrap returns the sentinel, if any.
func (e *Error) Unwrap() error { return e.Err }

// Sentinels carried by *Error.Err.
var (
	// ErrPathNotFound: a definite JSONPath (or a variable) selected nothing.
	ErrPathNotFound = errors.New("path not found")
	// ErrUndefined: a JSONata expression returned nothing (undefined).
	ErrUndefined = errors.New("expression returned undefined")
)

// CompileError is an invalid expression or template. Pointer is the JSON
// pointer of the offending value inside the compiled template ("" for a
// bare expression); Offset is the byte offset in the expression, or -1.
type CompileError struct {
	Pointer string
	Expr    string
	Offset  int
	Msg     string
}

func (e *CompileError) Error() string {
	var b bytes.Buffer
	if e.Pointer != "" {
		b.WriteString(e.Pointer)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Expr != "" {
		b.WriteString(" in ")
		b.WriteString(strconv.Quote(e.Expr))
		if e.Offset >= 0 {
			fmt.Fprintf(&b, " at offset %d", e.Offset)
		}
	}
	return b.String()
}

// Env is what an expression sees.
type Env struct {
	// Input is the state's effective input: "$" in JSONPath,
	// $states.input in JSONata.
	Input any
	// Context is the context object: "$$" in JSONPath,
	// $states.context in JSONata.
	Context any
	// Vars are the variables in scope: "$name" in JSONPath templates and
	// intrinsic arguments, $name in JSONata.
	Vars map[string]any
	// States holds the JSONata $states fields other than input and context:
	// "result" and "errorOutput" when the state has them. A missing key is
	// undefined.
	States map[string]any
	// Rand, when set, is the random source for States.MathRandom,
	// States.UUID, $random and $uuid. When nil a package-level
	// source seeded from crypto/rand is used.
	Rand Rand
}

// Rand is the source of randomness for the nondeterministic functions.
type Rand interface {
	// Int63 returns a non-negative pseudo-random 63-bit integer.
	Int63() int64
}

// Decode decodes one JSON value into the package's value model (numbers as
// json.Number). Trailing data after the value is an error.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: trailing data after the value")
	}
	return v, nil
}

// Marshal encodes v compactly, as Step Functions prints values inside
// causes: no HTML escaping, numbers in their lexical form, object keys
// sorted.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	out := b.Bytes()
	return out[:len(out)-1], nil // drop the encoder's newline
}

// MarshalString is Marshal for cause texts; unencodable values print as
// their Go form.
func MarshalString(v any) string {
	b, err := Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// Equal reports whether a and b are the same JSON value. Numbers compare by
// value (1 == 1.0), object keys are unordered, array order matters.
func Equal(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !Equal(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	if xn, ok := toNumber(a); ok {
		if yn, ok := toNumber(b); ok {
			return compareNumbers(xn, yn) == 0
		}
	}
	return false
}

// number is a JSON number: an int64 when it is an integer that fits, else a
// float64.
type number struct {
	isInt bool
	i     int64
	f     float64
}

func (n number) float() float64 {
	if n.isInt {
		return float64(n.i)
	}
	return n.f
}

// toNumber converts the numeric Go types a value may hold.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return number{isInt: true, i: i}, true
		}
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			// Out-of-range literals still have a sign and magnitude.
			if bf, ok := new(big.Float).SetString(string(x)); ok {
				f, _ = bf.Float64()
				return number{f: f}, true
			}
			return number{}, false
		}
		if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return number{isInt: true, i: int64(f)}, true
		}
		return number{f: f}, true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return number{isInt: true, i: int64(x)}, true
		}
		return number{f: x}, true
	case int:
		return number{isInt: true, i: int64(x)}, true
	case int64:
		return number{isInt: true, i: x}, true
	case float32:
		return toNumber(float64(x))
	case int32:
		return number{isInt: true, i: int64(x)}, true
	}
	return number{}, false
}

func compareNumbers(a, b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	fa, fb := a.float(), b.float()
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

// IsNumber reports whether v is a JSON number of the value model.
func IsNumber(v any) bool {
	_, ok := toNumber(v)
	return ok
}

// Int returns a JSON integer value.
func Int(i int64) json.Number { return json.Number(strconv.FormatInt(i, 10)) }

// Float returns a JSON number for f: an integer literal when f is integral
// and small enough, else the shortest decimal that round-trips.
func Float(f float64) json.Number {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

// typeName names v's JSON type as Step Functions does in causes.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	if IsNumber(v) {
		return "number"
	}
	return fmt.Sprintf("%T", v)
}

// TypeName names v's JSON type: "null", "boolean", "string", "number",
// "object" or "array".
func TypeName(v any) string { return typeName(v) }
