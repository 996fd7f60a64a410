package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"math"
	mrand "math/rand"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/landfall/landfall/internal/jsonata"
	"github.com/landfall/landfall/internal/jsonata/jlib"
	"github.com/landfall/landfall/internal/jsonata/jparse"
	"github.com/landfall/landfall/internal/jsonata/jtypes"
)

// JSONata is a compiled JSONata expression as Step Functions evaluates it:
// $states.input, $states.result, $states.errorOutput and $states.context
// are bound from the Env, every variable in scope is bound by name, and
// the functions Step Functions adds ($partition, $range, $hash, $random,
// $uuid, $parse) are available. Numbers are IEEE doubles inside an
// expression, as in JSONata; results convert back to the value model with
// integral numbers printed as integers.
type JSONata struct {
	src  string // the expression, without "{%" "%}"
	expr *jsonata.Expr
	// vars are the "$name" tokens the expression mentions: only those
	// variables are converted and bound at evaluation.
	vars []string
	// simple is set when the expression is a variable or a plain path
	// from one ($states.input.a.b, $v.a): see simpleGet.
	simple *simplePath
	// states is what the expression reads of $states.
	states *statesUse
	// guarded is set when lambda bodies call the depth guard, exists when
	// $exists calls were rewritten; the functions they call are then bound.
	guarded, exists bool
}

// simplePath is a variable or a path of field names from a variable.
type simplePath struct {
	root  string
	names []string
}

// String returns the expression (without the "{% %}" delimiters).
func (j *JSONata) String() string { return j.src }

// IsJSONataString reports whether s is a JSONata expression string:
// "{%" ... "%}".
func IsJSONataString(s string) bool {
	return len(s) >= 4 && strings.HasPrefix(s, "{%") && strings.HasSuffix(s, "%}")
}

// MustCompileJSONata is CompileJSONata that panics on error.
func MustCompileJSONata(s string) *JSONata {
	j, err := CompileJSONata(s)
	if err != nil {
		panic(err)
	}
	return j
}

// CompileJSONata compiles a JSONata expression, given either bare or
// wrapped in "{% %}".
func CompileJSONata(s string) (*JSONata, error) {
	src := s
	if IsJSONataString(s) {
		src = strings.TrimSpace(s[2 : len(s)-2])
	}
	if strings.TrimSpace(src) == "" {
		return nil, &CompileError{Expr: s, Offset: -1, Msg: "empty JSONata expression"}
	}
	if !utf8.ValidString(src) {
		return nil, &CompileError{Expr: src, Offset: invalidUTF8Offset(src), Msg: codeInvalidJSONata + ": not valid UTF-8"}
	}
	if sourceNesting(src) > maxSourceNesting {
		return nil, &CompileError{Expr: src, Offset: -1, Msg: codeInvalidJSONata + ": the expression nests brackets more than " + strconv.Itoa(maxSourceNesting) + " deep"}
	}
	node, err := parseSafely(src)
	if err != nil {
		ce := &CompileError{Expr: src, Offset: -1, Msg: codeInvalidJSONata + ": " + parseMessage(err)}
		var pe *jparse.Error
		if errors.As(err, &pe) {
			ce.Offset = pe.Position
		}
		return nil, ce
	}
	if msg := checkJSONataSupport(node); msg != "" {
		return nil, &CompileError{Expr: src, Offset: -1, Msg: msg}
	}
	j := &JSONata{src: src, vars: mentionedVars(src), states: analyseStates(node)}
	if v, ok := node.(*jparse.VariableNode); ok && v.Name != "" && v.Name != "states" {
		j.simple = &simplePath{root: v.Name}
	}
	if pn, ok := node.(*jparse.PathNode); ok && len(pn.Steps) > 1 && !pn.KeepArrays {
		if v, ok := pn.Steps[0].(*jparse.VariableNode); ok && v.Name != "" {
			sp := &simplePath{root: v.Name}
			for _, st := range pn.Steps[1:] {
				n, ok := st.(*jparse.NameNode)
				if !ok {
					sp = nil
					break
				}
				sp.names = append(sp.names, n.Value)
			}
			j.simple = sp
		}
	}
	// The tree is ours until NewExpr: rewrite it, then only read it.
	j.guarded = hasLambdas(node)
	j.exists = rewriteExists(node)
	j.expr = jsonata.NewExpr(node)
	return j, nil
}

// simpleGet evaluates a plain path natively, without the engine: through
// objects only, a path selects the value it ends at (with numbers as
// JSONata prints them). handled is false when the path meets an array on
// the way (JSONata maps over arrays; the engine does that).
func (j *JSONata) simpleGet(env *Env) (v any, defined, handled bool) {
	sp := j.simple
	names := sp.names
	var cur any
	if sp.root == "states" {
		if len(names) == 0 {
			return nil, false, false
		}
		switch names[0] {
		case "input":
			cur = env.Input
		case "context":
			cur = env.Context
		default:
			x, ok := env.States[names[0]]
			if !ok {
				return nil, false, true
			}
			cur = x
		}
		names = names[1:]
	} else {
		x, ok := env.Vars[sp.root]
		if !ok {
			return nil, false, true
		}
		cur = x
	}
	for _, n := range names {
		switch x := cur.(type) {
		case map[string]any:
			var ok bool
			if cur, ok = x[n]; !ok {
				return nil, false, true
			}
		case []any:
			return nil, false, false
		default:
			return nil, false, true // a field of a scalar is undefined
		}
	}
	return jsonataNumbers(cur), true, true
}

// jsonataNumbers returns v with its numbers written as JSONata writes them
// (1.50 is 1.5, 1e2 is 100); integers that fit in 64 bits stay exact, as
// in Step Functions. v itself is returned when nothing changes.
func jsonataNumbers(v any) any {
	if !needsJSONataNumbers(v) {
		return v
	}
	switch x := v.(type) {
	case json.Number:
		return jsonataNumber(x)
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonataNumbers(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = jsonataNumbers(e)
		}
		return a
	}
	return v
}

func jsonataNumber(n json.Number) json.Number {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return Int(i)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return n
	}
	return jsNumber(f)
}

func needsJSONataNumbers(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return jsonataNumber(x) != x
	case map[string]any:
		for _, e := range x {
			if needsJSONataNumbers(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if needsJSONataNumbers(e) {
				return true
			}
		}
	}
	return false
}

func invalidUTF8Offset(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			return i
		}
	}
	return -1
}

// parseSafely runs the engine's parser, turning a panic inside it into an
// error.
func parseSafely(src string) (node jparse.Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			node, err = nil, fmt.Errorf("the parser failed: %v", r)
		}
	}()
	return jparse.Parse(src)
}

// mentionedVars lists the $names in an expression (a superset of the
// variables it reads: names inside strings count too, which is harmless).
func mentionedVars(src string) []string {
	seen := map[string]bool{}
	var out []string
	for i := 0; i < len(src); i++ {
		if src[i] != '$' {
			continue
		}
		j := i + 1
		for j < len(src) && isVarChar(src[j]) {
			j++
		}
		if j > i+1 {
			name := src[i+1 : j]
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		i = j - 1
	}
	sort.Strings(out)
	return out
}

// Eval evaluates the expression. An undefined result is an *Error
// (States.QueryEvaluationError) wrapping ErrUndefined.
func (j *JSONata) Eval(env *Env) (any, error) {
	return j.EvalField(env, "")
}

// EvalField is Eval for the expression of a state field ("Output",
// "Arguments/a", "Condition", "Items"...), named in error causes as Step
// Functions does: "The JSONata expression '$x' specified for the field
// 'Output' returned nothing (undefined)."
func (j *JSONata) EvalField(env *Env, field string) (any, error) {
	if env == nil {
		env = &Env{}
	}
	b := newBindings(env)
	return j.eval(b, field)
}

// bindings holds an Env converted for the JSONata engine, converted lazily
// and shared by the expressions of one template evaluation.
type bindings struct {
	env    *Env
	states any            // the whole $states, converted
	fields map[string]any // converted $states fields
	keys   map[string]any // converted keys of $states fields ("input\x00name")
	vars   map[string]any
	done   bool
}

func newBindings(env *Env) *bindings { return &bindings{env: env} }

func (b *bindings) statesValue() any {
	if !b.done {
		m := map[string]any{}
		m["input"] = b.fieldValue("input", b.env.Input)
		m["context"] = b.fieldValue("context", b.env.Context)
		for k, v := range b.env.States {
			m[k] = b.fieldValue(k, v)
		}
		b.states = m
		b.done = true
	}
	return b.states
}

func (b *bindings) variable(name string) (any, bool) {
	if v, ok := b.vars[name]; ok {
		return v, true
	}
	raw, ok := b.env.Vars[name]
	if !ok {
		return nil, false
	}
	v := toJSONata(raw)
	if b.vars == nil {
		b.vars = map[string]any{}
	}
	b.vars[name] = v
	return v, true
}

func (j *JSONata) cause(field, what string) string {
	if field == "" {
		return "The JSONata expression '" + j.src + "' " + what
	}
	return "The JSONata expression '" + j.src + "' specified for the field '" + field + "' " + what
}

func (j *JSONata) eval(b *bindings, field string) (any, error) {
	if j.simple != nil {
		if v, defined, handled := j.simpleGet(b.env); handled {
			if !defined {
				return nil, &Error{Name: ErrNameQueryEvaluation, Cause: j.cause(field, "returned nothing (undefined)."), Err: ErrUndefined}
			}
			return v, nil
		}
	}
	vals := make(map[string]any, len(j.vars)+1)
	for _, name := range j.vars {
		if fn, ok := stepFunctionsCallables[name]; ok {
			vals[name] = fn
		}
		if name == "eval" {
			// Step Functions disables $eval ($parse replaces it): calling
			// it is invoking a non-function (T1006).
			vals[name] = jsonataNull
			continue
		}
		if name == "states" {
			vals[name] = b.statesFor(j.states)
			continue
		}
		if v, ok := b.variable(name); ok {
			vals[name] = v
		}
	}
	if j.exists {
		vals[existsName] = existsCallable
	}
	params := jsonata.EvalParams{Vars: vals}
	if j.guarded {
		params.OnLambdaCall = newEngineGuard().enter
	}
	res, err := evalSafely(j.expr, params)
	if err != nil {
		if errors.Is(err, jsonata.ErrUndefined) {
			return nil, &Error{Name: ErrNameQueryEvaluation, Cause: j.cause(field, "returned nothing (undefined)."), Err: ErrUndefined}
		}
		msg := jsonataMessage(err)
		// Step Functions ends its sentence with ". " before a message that
		// carries a JSONata code and with ": " before one that does not.
		sep := ": "
		if jsonataCoded.MatchString(msg) {
			sep = ". "
		}
		return nil, &Error{Name: ErrNameQueryEvaluation, Cause: j.cause(field, "threw an error during evaluation"+sep+msg)}
	}
	v, ok := fromJSONata(reflect.ValueOf(res))
	if !ok {
		return nil, &Error{Name: ErrNameQueryEvaluation, Cause: j.cause(field, "returned an unsupported result type.")}
	}
	return v, nil
}

// jsonataCoded matches a message that starts with a JSONata error code.
var jsonataCoded = regexp.MustCompile(`^[A-Z][0-9]{4}: `)

// parseMessage words a parse error as Step Functions does (JSONata's
// message, without its code) for the common errors; others keep the
// parser's text.
func parseMessage(err error) string {
	var pe *jparse.Error
	if !errors.As(err, &pe) {
		return err.Error()
	}
	switch pe.Type {
	case jparse.ErrUnexpectedToken:
		return fmt.Sprintf("Expected %q, got %q", pe.Hint, pe.Token)
	case jparse.ErrMissingToken:
		return fmt.Sprintf("Expected %q before end of expression", pe.Hint)
	case jparse.ErrUnexpectedEOF:
		return "Unexpected end of expression"
	case jparse.ErrUnterminatedString:
		return "String literal must be terminated by a matching quote"
	case jparse.ErrUnterminatedRegex:
		return "No terminating / in regular expression"
	case jparse.ErrUnterminatedName:
		return "Quoted property name must be terminated with a backquote (`)"
	case jparse.ErrPrefix:
		return fmt.Sprintf("The symbol %q cannot be used as a unary operator", pe.Token)
	case jparse.ErrEmptyRegex:
		return "Empty regular expressions are not allowed"
	}
	return err.Error()
}

// codedError is an error JSONata raises with one of its codes.
type codedError struct{ code, msg string }

func (e *codedError) Error() string { return e.code + ": " + e.msg }

func jsError(msg jtypes.OptionalString) (any, error) {
	if !msg.IsSet() {
		return nil, &codedError{"D3137", "$error() function evaluated"}
	}
	return nil, &codedError{"D3137", msg.String}
}

func jsAssert(cond bool, msg jtypes.OptionalString) (any, error) {
	if cond {
		return nil, jtypes.ErrUndefined
	}
	if !msg.IsSet() {
		return nil, &codedError{"D3141", "$assert() statement failed"}
	}
	return nil, &codedError{"D3141", msg.String}
}

func jsBase64Encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func jsBase64Decode(s string) (string, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return "", fmt.Errorf("the string is not valid base64: %v", err)
	}
	return string(b), nil
}

// jsonataMessage words an engine error the way Step Functions reports it,
// with JSONata's standard error code (T0410, T1006, T2001...), for the
// errors whose wording is known; others keep the engine's text.
func jsonataMessage(err error) string {
	var coded *codedError
	if errors.As(err, &coded) {
		return coded.Error()
	}
	var argType *jsonata.ArgTypeError
	if errors.As(err, &argType) {
		return fmt.Sprintf("T0410: Argument %d of function %q does not match function signature", argType.Which, argType.Func)
	}
	var argCount *jsonata.ArgCountError
	if errors.As(err, &argCount) {
		which := argCount.Received + 1
		if argCount.Received > argCount.Expected {
			which = argCount.Expected + 1
		}
		return fmt.Sprintf("T0410: Argument %d of function %q does not match function signature", which, argCount.Func)
	}
	msg := err.Error()
	for _, fn := range []string{"sum", "max", "min", "average"} {
		if strings.Contains(msg, "cannot call "+fn+" on a non-array type") || strings.Contains(msg, "cannot call "+fn+" on an array with non-number types") {
			return fmt.Sprintf("T0412: Argument 1 of function %q must be an array of \"numbers\"", fn)
		}
	}
	var ev *jsonata.EvalError
	if errors.As(err, &ev) {
		switch ev.Type {
		case jsonata.ErrNonNumberLHS:
			return fmt.Sprintf("T2001: The left side of the %q operator must evaluate to a number", ev.Value)
		case jsonata.ErrNonNumberRHS:
			return fmt.Sprintf("T2002: The right side of the %q operator must evaluate to a number", ev.Value)
		case jsonata.ErrNonIntegerLHS:
			return "T2003: The left side of the range operator (..) must evaluate to an integer"
		case jsonata.ErrNonIntegerRHS:
			return "T2004: The right side of the range operator (..) must evaluate to an integer"
		case jsonata.ErrNonComparableLHS, jsonata.ErrNonComparableRHS:
			return fmt.Sprintf("T2010: The expressions either side of operator %q must evaluate to numeric or string values", ev.Value)
		case jsonata.ErrTypeMismatch:
			return fmt.Sprintf("T2009: The values either side of operator %q must be of the same data type", ev.Value)
		case jsonata.ErrNonCallable, jsonata.ErrNonCallableApply, jsonata.ErrNonCallablePartial:
			return "T1006: Attempted to invoke a non-function"
		case jsonata.ErrNumberInf, jsonata.ErrNumberNaN:
			return "D1001: Number out of range"
		case jsonata.ErrMaxRangeItems:
			return "D2014: The size of the sequence allocated by the range operator (..) must not exceed 1e7"
		}
	}
	return err.Error()
}

// evalSafely runs the engine, turning a panic inside it into an error.
// Evaluations of one compiled expression may run concurrently: the engine
// only reads the parsed tree, and p holds everything that varies.
func evalSafely(e *jsonata.Expr, p jsonata.EvalParams) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in the JSONata engine: %v", r)
		}
	}()
	return e.EvalWith(nil, p)
}

// jsonataNull is how the engine represents JSON null (a nil interface
// would read as undefined).
var jsonataNull *any

// toJSONata converts a value-model value for the engine: numbers become
// float64, null becomes the engine's null, containers are copied.
func toJSONata(v any) any {
	switch x := v.(type) {
	case nil:
		return jsonataNull
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = toJSONata(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = toJSONata(e)
		}
		return a
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return math.Inf(1)
		}
		return f
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

// fromJSONata converts an engine result to the value model. ok is false
// for values JSON cannot hold (functions, non-finite numbers).
func fromJSONata(v reflect.Value) (any, bool) {
	for v.IsValid() && (v.Kind() == reflect.Interface || v.Kind() == reflect.Ptr) {
		if v.IsNil() {
			return nil, true
		}
		if v.Kind() == reflect.Ptr && v.Elem().Kind() == reflect.Struct {
			return nil, false // callables
		}
		v = v.Elem()
	}
	if !v.IsValid() {
		return nil, true
	}
	switch v.Kind() {
	case reflect.String:
		return v.String(), true
	case reflect.Bool:
		return v.Bool(), true
	case reflect.Float32, reflect.Float64:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN", true // JSON has no NaN: Step Functions writes the name
		case math.IsInf(f, 1):
			return "Infinity", true
		case math.IsInf(f, -1):
			return "-Infinity", true
		}
		return jsNumber(f), true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return Int(v.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(v.Uint(), 10)), true
	case reflect.Slice, reflect.Array:
		out := make([]any, v.Len())
		for i := range out {
			e, ok := fromJSONata(v.Index(i))
			if !ok {
				return nil, false
			}
			out[i] = e
		}
		return out, true
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return nil, false
		}
		out := make(map[string]any, v.Len())
		it := v.MapRange()
		for it.Next() {
			e, ok := fromJSONata(it.Value())
			if !ok {
				return nil, false
			}
			out[it.Key().String()] = e
		}
		return out, true
	}
	return nil, false
}

// jsNumber formats f as JavaScript prints a number.
func jsNumber(f float64) json.Number {
	if f == 0 {
		return "0"
	}
	abs := math.Abs(f)
	if f == math.Trunc(f) && abs < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	if abs >= 1e-6 && abs < 1e21 {
		return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-07, 1.5e+22
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return json.Number(mant + "e" + string(sign) + exp)
}

// The functions Step Functions adds to JSONata.
var stepFunctionsExts = map[string]jsonata.Extension{
	// JSONata's $not(undefined) is undefined; the engine answers true.
	"not": {Func: jlib.Not, UndefinedHandler: jtypes.ArgUndefined(0)},
	// JSONata functions the engine lacks or words differently.
	"error":        {Func: jsError},
	"assert":       {Func: jsAssert},
	"base64encode": {Func: jsBase64Encode, UndefinedHandler: jtypes.ArgUndefined(0)},
	"base64decode": {Func: jsBase64Decode, UndefinedHandler: jtypes.ArgUndefined(0)},
	"partition":    {Func: jsPartition},
	"range":        {Func: jsRange},
	"hash":         {Func: jsHash},
	"random":       {Func: jsRandom},
	"uuid":         {Func: jsUUID},
	"parse":        {Func: jsParse},
}

// stepFunctionsCallables holds the engine's callable for each extension,
// bound as a variable on each evaluation's copy of the expression (binding
// on a shared Expr would race).
var stepFunctionsCallables = func() map[string]any {
	out := map[string]any{}
	for name, ext := range stepFunctionsExts {
		e := jsonata.MustCompile("$" + name)
		if err := e.RegisterExts(map[string]jsonata.Extension{name: ext}); err != nil {
			panic("expr: registering $" + name + ": " + err.Error())
		}
		fn, err := e.Eval(nil)
		if err != nil {
			panic("expr: registering $" + name + ": " + err.Error())
		}
		out[name] = fn
	}
	return out
}()

// jsPartition is Step Functions' $partition(array, size): the size is
// truncated towards zero, and a size below 1 or an empty array gives
// nothing.
func jsPartition(arr []any, size float64) (any, error) {
	if math.IsNaN(size) || math.IsInf(size, 0) {
		return nil, errors.New("T0410: Argument 2 of function \"partition\" does not match function signature")
	}
	n := int64(size)
	if n < 1 || len(arr) == 0 {
		return nil, jtypes.ErrUndefined
	}
	step := int(min(n, int64(len(arr)))) // a size past the length is one chunk
	out := []any{}
	for i := 0; i < len(arr); i += step {
		end := min(len(arr), i+step)
		chunk := make([]any, end-i)
		copy(chunk, arr[i:end])
		out = append(out, chunk)
	}
	return out, nil
}

// maxJSONataRange is the most items Step Functions lets $range produce.
const maxJSONataRange = 360_145

// jsRange is Step Functions' $range(start, end, step): the arguments are
// truncated to integers, the end is inclusive, a step of 0 or one that
// points away from the end gives nothing, and one item comes back as the
// item itself (a JSONata sequence of length one).
func jsRange(start, end, step float64) (any, error) {
	for i, f := range []float64{start, end, step} {
		if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("T0410: Argument %d of function \"range\" does not match function signature", i+1)
		}
	}
	s, e, st := int64(start), int64(end), int64(step)
	if st == 0 || (st > 0 && s > e) || (st < 0 && s < e) {
		return nil, jtypes.ErrUndefined
	}
	count := (e-s)/st + 1
	if count > maxJSONataRange {
		return nil, errors.New("Expression evaluation memory limit exceeded")
	}
	if count == 1 {
		return float64(s), nil
	}
	out := make([]any, count)
	for i := range out {
		out[i] = float64(s + int64(i)*st)
	}
	return out, nil
}

// jsHash is Step Functions' $hash(data, algorithm); without an algorithm
// it gives nothing.
func jsHash(data string, algorithm jtypes.OptionalString) (any, error) {
	if !algorithm.IsSet() {
		return nil, jtypes.ErrUndefined
	}
	alg := algorithm.String
	var h hash.Hash
	switch alg {
	case "MD5":
		h = md5.New()
	case "SHA-1":
		h = sha1.New()
	case "SHA-256":
		h = sha256.New()
	case "SHA-384":
		h = sha512.New384()
	case "SHA-512":
		h = sha512.New()
	default:
		return nil, fmt.Errorf("the hash algorithm %q is not supported: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

// jsRandom returns a number in [0, 1): from the seed when one is given,
// else from the package's generator (Env.Rand does not reach JSONata).
func jsRandom(seed jtypes.OptionalFloat64) (float64, error) {
	if seed.IsSet() {
		return mrand.New(mrand.NewSource(int64(seed.Float64))).Float64(), nil
	}
	var e *Env
	return float64(e.random()>>10) / float64(1<<53), nil
}

func jsUUID() string {
	var e *Env
	return e.uuid()
}

func jsParse(s string) (any, error) {
	v, err := Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("the string is not valid JSON: %v", err)
	}
	return toJSONata(v), nil
}
