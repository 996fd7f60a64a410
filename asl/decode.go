package asl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
)

// decodeDefinition turns definition text (JSON or YAML) into the value
// model: map[string]any, []any, string, json.Number, bool, nil.
func decodeDefinition(def []byte) (any, error) {
	trimmed := bytes.TrimSpace(def)
	if len(trimmed) == 0 {
		return nil, ValidationErrors{{Code: CodeSchema, Message: "Definition must be a valid JSON object"}}
	}
	if trimmed[0] == '{' || trimmed[0] == '[' || trimmed[0] == '"' {
		v, err := decodeJSON(trimmed)
		if err != nil {
			return nil, ValidationErrors{{Code: CodeInvalidJSON, Message: err.Error()}}
		}
		if dups := jsonDuplicateKeys(trimmed); len(dups) > 0 {
			addPositions(trimmed, dups)
			return nil, dups
		}
		return v, nil
	}
	var raw any
	if err := yaml.UnmarshalWithOptions(trimmed, &raw, yaml.UseOrderedMap()); err != nil {
		// Text that is neither JSON nor YAML: report it as JSON, which
		// is what Step Functions accepts.
		if _, jerr := decodeJSON(trimmed); jerr != nil {
			return nil, ValidationErrors{{Code: CodeInvalidJSON, Message: jerr.Error() + " (nor valid YAML: " + firstLine(err.Error()) + ")"}}
		}
		return nil, ValidationErrors{{Code: CodeInvalidJSON, Message: err.Error()}}
	}
	if _, isMap := raw.(yaml.MapSlice); !isMap {
		// A YAML scalar or list is no definition; report the JSON error,
		// as Step Functions reads definitions as JSON.
		if _, jerr := decodeJSON(trimmed); jerr != nil {
			return nil, ValidationErrors{{Code: CodeInvalidJSON, Message: jerr.Error()}}
		}
	}
	v, err := fromYAML(raw, "")
	if err != nil {
		return nil, ValidationErrors{{Code: CodeInvalidJSON, Message: err.Error()}}
	}
	return v, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// decodeJSON decodes one JSON value with numbers kept as json.Number and
// rejects trailing data.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, jsonErr(b, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("invalid JSON at offset %d: unexpected data after the top-level value", dec.InputOffset())
	}
	return v, nil
}

func jsonErr(b []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line, col := lineCol(b, int(se.Offset))
		return fmt.Errorf("invalid JSON at line %d, column %d (offset %d): %v", line, col, se.Offset, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("invalid JSON: unexpected end of input")
	}
	return fmt.Errorf("invalid JSON: %v", err)
}

func lineCol(b []byte, off int) (int, int) {
	if off > len(b) {
		off = len(b)
	}
	line, col := 1, 1
	for _, c := range b[:off] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// fromYAML converts a goccy/go-yaml value into the JSON value model.
func fromYAML(v any, ptr string) (any, error) {
	switch t := v.(type) {
	case nil, string, bool:
		return t, nil
	case yaml.MapSlice:
		m := make(map[string]any, len(t))
		for _, it := range t {
			k, ok := it.Key.(string)
			if !ok {
				k = fmt.Sprint(it.Key)
			}
			if _, dup := m[k]; dup {
				return nil, fmt.Errorf("%s: duplicate key %q", pointerOrRoot(ptr), k)
			}
			c, err := fromYAML(it.Value, ptr+"/"+escapePointer(k))
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			c, err := fromYAML(e, ptr+"/"+escapePointer(k))
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			c, err := fromYAML(e, ptr+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			a[i] = c
		}
		return a, nil
	case int:
		return json.Number(strconv.FormatInt(int64(t), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(t, 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(t, 10)), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return nil, fmt.Errorf("%s: %v is not a JSON number", pointerOrRoot(ptr), t)
		}
		return json.Number(strconv.FormatFloat(t, 'g', -1, 64)), nil
	default:
		return nil, fmt.Errorf("%s: unsupported YAML value of type %T", pointerOrRoot(ptr), v)
	}
}

func pointerOrRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// escapePointer escapes one JSON pointer reference token (RFC 6901).
func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}

var substRe = regexp.MustCompile(`\$\{([A-Za-z0-9_.:-]+)\}`)

// substitute replaces ${Name} in every string of v (keys and values) with
// the named substitution. A string that is exactly one ${Name} whose
// substitution is a JSON number or boolean literal keeps that type, as
// CloudFormation's textual substitution would produce.
func substitute(v any, subs map[string]string, ptr string, errs *ValidationErrors) any {
	switch t := v.(type) {
	case string:
		if !strings.Contains(t, "${") {
			return t
		}
		if m := substRe.FindStringSubmatch(t); m != nil && m[0] == t {
			s, ok := subs[m[1]]
			if !ok {
				errs.add(ptr, "no definition substitution for ${%s}", m[1])
				return t
			}
			return s
		}
		return substRe.ReplaceAllStringFunc(t, func(ref string) string {
			name := ref[2 : len(ref)-1]
			s, ok := subs[name]
			if !ok {
				errs.add(ptr, "no definition substitution for ${%s}", name)
				return ref
			}
			return s
		})
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			nk := k
			if strings.Contains(k, "${") {
				nk, _ = substitute(k, subs, ptr+"/"+escapePointer(k), errs).(string)
			}
			out[nk] = substitute(e, subs, ptr+"/"+escapePointer(k), errs)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = substitute(e, subs, ptr+"/"+strconv.Itoa(i), errs)
		}
		return out
	default:
		return v
	}
}
