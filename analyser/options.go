package analyser

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
)

// OptionType is the JSON type of an analyser option.
type OptionType string

const (
	OptionString  OptionType = "string"
	OptionInteger OptionType = "integer"
	OptionNumber  OptionType = "number"
	OptionBoolean OptionType = "boolean"
	OptionStrings OptionType = "string-list" // an array of strings
)

// Option declares one key of an analyser's options (Input.Options). The
// options spec drives DecodeOptions, the `landfall analysers` listing and
// the conformance suite's valid and invalid cases.
type Option struct {
	Name        string
	Type        OptionType
	Description string
	// Default is the value used when the key is absent; nil when there is
	// none or it is computed at run time (the description then says how).
	Default any
	// Min and Max bound integers and numbers; for strings they bound the
	// length in bytes, for lists the number of items. Nil is unbounded.
	Min, Max *float64
	// ExclusiveMin and ExclusiveMax make the numeric bounds strict.
	ExclusiveMin, ExclusiveMax bool
	// Enum lists the allowed values of a string or of a list's items,
	// compared without regard to case.
	Enum []string
	// ItemMaxLen bounds each list item's length in bytes (0: unbounded).
	ItemMaxLen int
	// Example is a valid value for documentation and tests, for options
	// whose valid values the bounds alone do not say (language codes).
	Example any
}

// Bound returns a pointer to v, for Option.Min and Option.Max.
func Bound(v float64) *float64 { return &v }

// Range describes the option's bounds in interval notation ("[1, 30]",
// "(0, 10]", "≥ 0"), or "" when it has none.
func (o Option) Range() string {
	lo, hi := "[", "]"
	if o.ExclusiveMin {
		lo = "("
	}
	if o.ExclusiveMax {
		hi = ")"
	}
	switch {
	case o.Min != nil && o.Max != nil:
		return fmt.Sprintf("%s%v, %v%s", lo, *o.Min, *o.Max, hi)
	case o.Min != nil && o.ExclusiveMin:
		return fmt.Sprintf("> %v", *o.Min)
	case o.Min != nil:
		return fmt.Sprintf("≥ %v", *o.Min)
	case o.Max != nil && o.ExclusiveMax:
		return fmt.Sprintf("< %v", *o.Max)
	case o.Max != nil:
		return fmt.Sprintf("≤ %v", *o.Max)
	}
	return ""
}

// CheckOptionsSpec reports a malformed options spec: a missing or repeated
// name, an unknown type, bounds the wrong way round, a default of the
// wrong type or outside its own bounds.
func CheckOptionsSpec(s Spec) error {
	seen := map[string]bool{}
	for i, o := range s.Options {
		where := fmt.Sprintf("%s: options[%d]", s.ID, i)
		if o.Name == "" {
			return fmt.Errorf("%s: no name", where)
		}
		where += " (" + o.Name + ")"
		if seen[o.Name] {
			return fmt.Errorf("%s: name repeated", where)
		}
		seen[o.Name] = true
		switch o.Type {
		case OptionString, OptionInteger, OptionNumber, OptionBoolean, OptionStrings:
		default:
			return fmt.Errorf("%s: type %q is not string, integer, number, boolean or string-list", where, o.Type)
		}
		if o.Description == "" {
			return fmt.Errorf("%s: no description", where)
		}
		if o.Min != nil && o.Max != nil && *o.Min > *o.Max {
			return fmt.Errorf("%s: min %v is above max %v", where, *o.Min, *o.Max)
		}
		if o.Type == OptionBoolean && (o.Min != nil || o.Max != nil || len(o.Enum) > 0) {
			return fmt.Errorf("%s: a boolean has no bounds or enum", where)
		}
		for what, v := range map[string]any{"default": o.Default, "example": o.Example} {
			if v == nil {
				continue
			}
			raw, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("%s: %s: %v", where, what, err)
			}
			if err := checkOption(o, raw); err != nil {
				return fmt.Errorf("%s: %s %s%s", where, what, raw, err.Error())
			}
		}
	}
	return nil
}

// DecodeOptions decodes raw options strictly by the analyser's options
// spec into v, a struct whose json tags are the option names: absent or
// null options are {}; anything but an object, an unknown key, a value of
// the wrong type, out of range or not in the enum is an errcode.Invalid
// error naming the analyser and the key's JSON pointer
// ("analyser.diarise.local: /options/min_speakers: 0 is below the minimum 1").
// Absent keys take their declared defaults.
func DecodeOptions(s Spec, raw json.RawMessage, v any) error {
	m := map[string]json.RawMessage{}
	if t := bytes.TrimSpace(raw); len(t) > 0 && string(t) != "null" {
		if t[0] != '{' || json.Unmarshal(t, &m) != nil {
			return errcode.New(errcode.Invalid, "%s: /options: must be an object", s.ID)
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	byName := make(map[string]Option, len(s.Options))
	for _, o := range s.Options {
		byName[o.Name] = o
	}
	for _, k := range keys {
		o, ok := byName[k]
		if !ok {
			return errcode.New(errcode.Invalid, "%s: /options/%s: unknown option (known: %s)", s.ID, escapePointer(k), strings.Join(OptionNames(s), ", "))
		}
		if err := checkOption(o, m[k]); err != nil {
			return errcode.New(errcode.Invalid, "%s: /options/%s%s", s.ID, k, err.Error())
		}
	}
	for _, o := range s.Options {
		if _, ok := m[o.Name]; ok || o.Default == nil {
			continue
		}
		raw, err := json.Marshal(o.Default)
		if err != nil {
			return errcode.Wrap(errcode.Unknown, err, "%s: options spec: default of %s", s.ID, o.Name)
		}
		m[o.Name] = raw
	}
	b, err := json.Marshal(m)
	if err != nil {
		return errcode.Wrap(errcode.Unknown, err, "%s: options", s.ID)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The values were checked against the spec: the spec and the
		// options struct disagree, a defect of the analyser.
		return errcode.Wrap(errcode.Unknown, err, "%s: options spec does not match the analyser's options", s.ID)
	}
	return nil
}

// OptionError is an errcode.Invalid error about one option, for checks
// the spec cannot express (one option against another).
func OptionError(s Spec, key, format string, args ...any) error {
	return errcode.New(errcode.Invalid, "%s: /options/%s: %s", s.ID, key, fmt.Sprintf(format, args...))
}

// OptionNames lists the spec's option names in declaration order.
func OptionNames(s Spec) []string {
	out := make([]string, len(s.Options))
	for i, o := range s.Options {
		out[i] = o.Name
	}
	return out
}

func escapePointer(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// checkOption checks one value; its error text continues a JSON pointer
// (": must be …" or "/3: must be …").
func checkOption(o Option, raw json.RawMessage) error {
	switch o.Type {
	case OptionBoolean:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return fmt.Errorf(": must be true or false")
		}
	case OptionInteger, OptionNumber:
		var f float64
		if json.Unmarshal(raw, &f) != nil || math.IsNaN(f) {
			if o.Type == OptionInteger {
				return fmt.Errorf(": must be an integer")
			}
			return fmt.Errorf(": must be a number")
		}
		if o.Type == OptionInteger && (f != math.Trunc(f) || math.Abs(f) > 1<<53) {
			return fmt.Errorf(": %v is not an integer", f)
		}
		return checkBounds(o, f, "")
	case OptionString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return fmt.Errorf(": must be a string")
		}
		if !utf8.ValidString(s) {
			return fmt.Errorf(": not valid UTF-8")
		}
		if err := checkBounds(o, float64(len(s)), " bytes long"); err != nil {
			return err
		}
		return checkEnum(o, s)
	case OptionStrings:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || items == nil {
			return fmt.Errorf(": must be an array of strings")
		}
		if err := checkBounds(o, float64(len(items)), " items"); err != nil {
			return err
		}
		for i, it := range items {
			var s string
			if json.Unmarshal(it, &s) != nil {
				return fmt.Errorf("/%d: must be a string", i)
			}
			if !utf8.ValidString(s) {
				return fmt.Errorf("/%d: not valid UTF-8", i)
			}
			if o.ItemMaxLen > 0 && len(s) > o.ItemMaxLen {
				return fmt.Errorf("/%d: %d bytes, at most %d", i, len(s), o.ItemMaxLen)
			}
			if err := checkEnum(o, s); err != nil {
				return fmt.Errorf("/%d%s", i, err.Error())
			}
		}
	}
	return nil
}

func checkBounds(o Option, f float64, unit string) error {
	if o.Min != nil && (f < *o.Min || o.ExclusiveMin && f == *o.Min) {
		return fmt.Errorf(": %v%s is outside %s", f, unit, o.Range())
	}
	if o.Max != nil && (f > *o.Max || o.ExclusiveMax && f == *o.Max) {
		return fmt.Errorf(": %v%s is outside %s", f, unit, o.Range())
	}
	return nil
}

func checkEnum(o Option, s string) error {
	if len(o.Enum) == 0 {
		return nil
	}
	for _, e := range o.Enum {
		if strings.EqualFold(e, s) {
			return nil
		}
	}
	return fmt.Errorf(": %q is not one of %s", s, strings.Join(o.Enum, ", "))
}
