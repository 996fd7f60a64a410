package expr

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	mrand "math/rand"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

type intrinsicFunc struct {
	minArgs, maxArgs int // maxArgs < 0: variadic
	impl             func(c callCtx, args []any) (any, error)
}

func (f *intrinsicFunc) arity() string {
	switch {
	case f.maxArgs < 0:
		return fmt.Sprintf("at least %d argument(s)", f.minArgs)
	case f.minArgs == f.maxArgs:
		return fmt.Sprintf("exactly %d argument(s)", f.minArgs)
	}
	return fmt.Sprintf("%d to %d arguments", f.minArgs, f.maxArgs)
}

// Limits Step Functions applies to intrinsic arguments.
const (
	maxArrayRangeItems = 1000
	maxBase64Input     = 10000
	maxHashInput       = 10000
)

var intrinsicFuncs map[string]*intrinsicFunc

func init() {
	intrinsicFuncs = map[string]*intrinsicFunc{
		"Format":         {1, -1, fnFormat},
		"StringToJson":   {1, 1, fnStringToJson},
		"JsonToString":   {1, 1, fnJsonToString},
		"Array":          {0, -1, fnArray},
		"ArrayPartition": {2, 2, fnArrayPartition},
		"ArrayContains":  {2, 2, fnArrayContains},
		"ArrayRange":     {3, 3, fnArrayRange},
		"ArrayGetItem":   {2, 2, fnArrayGetItem},
		"ArrayLength":    {1, 1, fnArrayLength},
		"ArrayUnique":    {1, 1, fnArrayUnique},
		"Base64Encode":   {1, 1, fnBase64Encode},
		"Base64Decode":   {1, 1, fnBase64Decode},
		"Hash":           {2, 2, fnHash},
		"JsonMerge":      {3, 3, fnJsonMerge},
		"MathRandom":     {2, 3, fnMathRandom},
		"MathAdd":        {2, 2, fnMathAdd},
		"StringSplit":    {2, 2, fnStringSplit},
		"UUID":           {0, 0, fnUUID},
	}
}

// argInt returns args[i] as an integer, failing for non-numbers and
// numbers with a fraction.
func (c callCtx) argInt(args []any, i int, what string) (int64, error) {
	n, ok := toNumber(args[i])
	if !ok {
		return 0, c.fail("the %s must be an integer, got %s %s", what, typeName(args[i]), MarshalString(args[i]))
	}
	if !n.isInt {
		return 0, c.fail("the %s must be an integer, got %s", what, MarshalString(args[i]))
	}
	return n.i, nil
}

func (c callCtx) argString(args []any, i int, what string) (string, error) {
	s, ok := args[i].(string)
	if !ok {
		return "", c.fail("the %s must be a string, got %s %s", what, typeName(args[i]), MarshalString(args[i]))
	}
	return s, nil
}

func (c callCtx) argArray(args []any, i int, what string) ([]any, error) {
	a, ok := args[i].([]any)
	if !ok {
		return nil, c.fail("the %s must be an array, got %s %s", what, typeName(args[i]), MarshalString(args[i]))
	}
	return a, nil
}

func fnFormat(c callCtx, args []any) (any, error) {
	tmpl, err := c.argString(args, 0, "format string (first argument)")
	if err != nil {
		return nil, err
	}
	var holes []int
	if a := &c.call.args[0]; a.kind == argLiteral {
		holes = a.holes
	} else {
		for i := 0; ; {
			j := strings.Index(tmpl[i:], "{}")
			if j < 0 {
				break
			}
			holes = append(holes, i+j)
			i += j + 2
		}
	}
	vals := args[1:]
	if len(holes) != len(vals) {
		return nil, c.fail("the format string has %d placeholder(s) {} but %d value(s) were given", len(holes), len(vals))
	}
	var b strings.Builder
	last := 0
	for i, h := range holes {
		b.WriteString(tmpl[last:h])
		writeJava(&b, vals[i])
		last = h + 2
	}
	b.WriteString(tmpl[last:])
	return b.String(), nil
}

// writeJava writes v as Java's toString of the equivalent Java value
// prints it, which is what States.Format substitutes: strings bare, objects
// as {k=v, ...}, arrays as [a, b].
func writeJava(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		b.WriteString(x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(k)
			b.WriteByte('=')
			writeJava(b, x[k])
		}
		b.WriteByte('}')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeJava(b, e)
		}
		b.WriteByte(']')
	case json.Number:
		b.WriteString(javaNumber(x))
	default:
		b.WriteString(MarshalString(x))
	}
}

// javaNumber writes a JSON number as Step Functions' JSON library holds and
// prints it: integers as written, anything with a fraction or an exponent
// as a Java double (1.10 is 1.1, 1e2 is 100.0, 1e-5 is 1.0E-5).
func javaNumber(n json.Number) string {
	s := string(n)
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return javaDouble(f)
}

// javaDouble is Java's Double.toString.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'E', -1, 64) // 1E-05, 1.5E+22
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	exp = strings.TrimLeft(exp[1:], "0")
	if exp == "" {
		exp = "0"
	}
	return mant + "E" + sign + exp
}

// javaNumbers returns v with every number written as javaNumber writes it.
func javaNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return json.Number(javaNumber(x))
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = javaNumbers(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = javaNumbers(e)
		}
		return a
	}
	return v
}

func fnStringToJson(c callCtx, args []any) (any, error) {
	s, err := c.argString(args, 0, "argument")
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	v, err := Decode([]byte(s))
	if err != nil {
		return nil, c.fail("the string is not valid JSON: %v", err)
	}
	return javaNumbers(v), nil
}

func fnJsonToString(c callCtx, args []any) (any, error) {
	b, err := Marshal(javaNumbers(args[0]))
	if err != nil {
		return nil, c.fail("%v", err)
	}
	return string(b), nil
}

func fnArray(c callCtx, args []any) (any, error) {
	out := make([]any, len(args))
	copy(out, args)
	return out, nil
}

func fnArrayPartition(c callCtx, args []any) (any, error) {
	a, err := c.argArray(args, 0, "first argument")
	if err != nil {
		return nil, err
	}
	size, err := c.argInt(args, 1, "chunk size")
	if err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, c.fail("the chunk size must be greater than 0, got %d", size)
	}
	out := []any{}
	for i := 0; i < len(a); i += int(size) {
		end := min(len(a), i+int(size))
		chunk := make([]any, end-i)
		copy(chunk, a[i:end])
		out = append(out, chunk)
	}
	return out, nil
}

func fnArrayContains(c callCtx, args []any) (any, error) {
	a, err := c.argArray(args, 0, "first argument")
	if err != nil {
		return nil, err
	}
	for _, e := range a {
		if Equal(e, args[1]) {
			return true, nil
		}
	}
	return false, nil
}

func fnArrayRange(c callCtx, args []any) (any, error) {
	start, err := c.argInt(args, 0, "start")
	if err != nil {
		return nil, err
	}
	end, err := c.argInt(args, 1, "end")
	if err != nil {
		return nil, err
	}
	step, err := c.argInt(args, 2, "step")
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, c.fail("the step must not be 0")
	}
	out := []any{}
	for i := start; (step > 0 && i <= end) || (step < 0 && i >= end); i += step {
		if len(out) == maxArrayRangeItems {
			return nil, c.fail("the range has more than %d items", maxArrayRangeItems)
		}
		out = append(out, Int(i))
	}
	return out, nil
}

func fnArrayGetItem(c callCtx, args []any) (any, error) {
	a, err := c.argArray(args, 0, "first argument")
	if err != nil {
		return nil, err
	}
	i, err := c.argInt(args, 1, "index")
	if err != nil {
		return nil, err
	}
	if i < 0 || i >= int64(len(a)) {
		return nil, c.fail("the index %d is out of bounds for an array of length %d", i, len(a))
	}
	return a[i], nil
}

func fnArrayLength(c callCtx, args []any) (any, error) {
	a, err := c.argArray(args, 0, "argument")
	if err != nil {
		return nil, err
	}
	return Int(int64(len(a))), nil
}

func fnArrayUnique(c callCtx, args []any) (any, error) {
	a, err := c.argArray(args, 0, "argument")
	if err != nil {
		return nil, err
	}
	out := []any{}
next:
	for _, e := range a {
		for _, o := range out {
			if Equal(e, o) {
				continue next
			}
		}
		out = append(out, e)
	}
	return out, nil
}

func fnBase64Encode(c callCtx, args []any) (any, error) {
	s, err := c.argString(args, 0, "argument")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(s) > maxBase64Input {
		return nil, c.fail("the input string is longer than %d characters", maxBase64Input)
	}
	return base64.StdEncoding.EncodeToString([]byte(s)), nil
}

func fnBase64Decode(c callCtx, args []any) (any, error) {
	s, err := c.argString(args, 0, "argument")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(s) > maxBase64Input {
		return nil, c.fail("the input string is longer than %d characters", maxBase64Input)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, c.fail("the input is not valid base64: %v", err)
	}
	return string(b), nil
}

func fnHash(c callCtx, args []any) (any, error) {
	data, err := c.argString(args, 0, "data (first argument)")
	if err != nil {
		return nil, err
	}
	alg, err := c.argString(args, 1, "algorithm (second argument)")
	if err != nil {
		return nil, err
	}
	if utf8.RuneCountInString(data) > maxHashInput {
		return nil, c.fail("the input string is longer than %d characters", maxHashInput)
	}
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
		return nil, c.fail("the hash algorithm %q is not supported: use MD5, SHA-1, SHA-256, SHA-384 or SHA-512", alg)
	}
	h.Write([]byte(data))
	return hex.EncodeToString(h.Sum(nil)), nil
}

func fnJsonMerge(c callCtx, args []any) (any, error) {
	a, ok := args[0].(map[string]any)
	if !ok {
		return nil, c.fail("the first argument must be an object, got %s %s", typeName(args[0]), MarshalString(args[0]))
	}
	b, ok := args[1].(map[string]any)
	if !ok {
		return nil, c.fail("the second argument must be an object, got %s %s", typeName(args[1]), MarshalString(args[1]))
	}
	deep, ok := args[2].(bool)
	if !ok {
		return nil, c.fail("the third argument (deep merge) must be a boolean, got %s", MarshalString(args[2]))
	}
	if deep {
		return nil, c.fail("deep merge (true) is not supported; the third argument must be false")
	}
	out := make(map[string]any, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out, nil
}

// javaRound is Java's Math.round: the closest integer, ties towards
// positive infinity.
func javaRound(f float64) float64 { return math.Floor(f + 0.5) }

func fnMathAdd(c callCtx, args []any) (any, error) {
	var sum int64
	for i := range 2 {
		n, ok := toNumber(args[i])
		if !ok {
			return nil, c.fail("argument %d must be a number, got %s %s", i+1, typeName(args[i]), MarshalString(args[i]))
		}
		v := n.i
		if !n.isInt {
			r := javaRound(n.f)
			if r < math.MinInt32 || r > math.MaxInt32 {
				return nil, c.fail("argument %d (%s) is outside the integer range", i+1, MarshalString(args[i]))
			}
			v = int64(r)
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, c.fail("argument %d (%s) is outside the integer range", i+1, MarshalString(args[i]))
		}
		sum += v
	}
	return Int(sum), nil
}

func fnMathRandom(c callCtx, args []any) (any, error) {
	start, err := c.argInt(args, 0, "start")
	if err != nil {
		return nil, err
	}
	end, err := c.argInt(args, 1, "end")
	if err != nil {
		return nil, err
	}
	if end <= start {
		return nil, c.fail("the end (%d) must be greater than the start (%d)", end, start)
	}
	var r int64
	if len(args) == 3 {
		seed, err := c.argInt(args, 2, "seed")
		if err != nil {
			return nil, err
		}
		r = mrand.New(mrand.NewSource(seed)).Int63()
	} else {
		r = c.env.random()
	}
	return Int(start + r%(end-start)), nil
}

func fnStringSplit(c callCtx, args []any) (any, error) {
	s, err := c.argString(args, 0, "string (first argument)")
	if err != nil {
		return nil, err
	}
	seps, err := c.argString(args, 1, "delimiter (second argument)")
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		out = append(out, part)
	}
	return out, nil
}

func fnUUID(c callCtx, args []any) (any, error) {
	return c.env.uuid(), nil
}

var (
	globalRandMu sync.Mutex
	globalRand   *mrand.Rand
)

// random returns a non-negative random int63 from env.Rand or a
// package-level source seeded from crypto/rand.
func (e *Env) random() int64 {
	if e != nil && e.Rand != nil {
		return e.Rand.Int63()
	}
	globalRandMu.Lock()
	defer globalRandMu.Unlock()
	if globalRand == nil {
		var seed [8]byte
		if _, err := rand.Read(seed[:]); err != nil {
			panic("expr: crypto/rand failed: " + err.Error())
		}
		globalRand = mrand.New(mrand.NewSource(int64(binary.LittleEndian.Uint64(seed[:]))))
	}
	return globalRand.Int63()
}

// uuid returns a version 4 UUID.
func (e *Env) uuid() string {
	var b [16]byte
	if e != nil && e.Rand != nil {
		binary.LittleEndian.PutUint64(b[:8], uint64(e.Rand.Int63()))
		binary.LittleEndian.PutUint64(b[8:], uint64(e.Rand.Int63()))
	} else if _, err := rand.Read(b[:]); err != nil {
		panic("expr: crypto/rand failed: " + err.Error())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// AWSNumbers returns v with its numbers written as Step Functions prints
// the values it parsed: integers as written, numbers with a fraction or an
// exponent as Java doubles (1.10 is 1.1, 1e2 is 100.0). v is not modified.
func AWSNumbers(v any) any { return javaNumbers(v) }
