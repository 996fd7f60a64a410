package asltest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/landfall/landfall/asl/expr"
)

// Outcome is how one execution of a recorded case ended, on whichever
// runner ran it.
type Outcome struct {
	Status string // SUCCEEDED, FAILED or TIMED_OUT
	Error  string
	Cause  string
	Output any
}

// EventIDRe matches the event id Step Functions puts in some causes; a
// cause that differs only there counts as an id-only match.
var EventIDRe = regexp.MustCompile(` \(entered at the event id #\d+\)`)

// CheckExpected compares an outcome with a recorded case's expectation
// ("output" with optional "unchecked_paths", or "error" with an optional
// "cause" or "cause_unchecked"). idOnly reports a pass that needed the event id
// removed from the cause.
func CheckExpected(exp map[string]any, o Outcome) (ok bool, why string, idOnly bool) {
	if want, has := exp["output"]; has {
		if o.Status != "SUCCEEDED" {
			return false, fmt.Sprintf("want output %s, got %s %s: %s", Short(want), o.Status, o.Error, o.Cause), false
		}
		got := o.Output
		// Unchecked paths must exist; their values are not compared.
		if up, _ := exp["unchecked_paths"].([]any); len(up) > 0 {
			got, want = DeepCopy(got), DeepCopy(want)
			for _, p := range up {
				ps, _ := p.(string)
				if !ExistsAt(got, ps) {
					return false, fmt.Sprintf("unchecked path %s missing in output %s", ps, Short(got)), false
				}
				got, want = BlankAt(got, ps), BlankAt(want, ps)
			}
		}
		if !expr.Equal(got, want) {
			return false, fmt.Sprintf("output %s, want %s", Short(got), Short(want)), false
		}
		return true, "", false
	}
	status := o.Status
	if status == "TIMED_OUT" {
		// Step Functions reports an execution past its TimeoutSeconds as
		// TIMED_OUT with States.Timeout; the in-memory runner as FAILED.
		status = "FAILED"
	}
	if status != "FAILED" {
		return false, fmt.Sprintf("want error %v, got %s with %s", exp["error"], o.Status, Short(o.Output)), false
	}
	wantErr, _ := exp["error"].(string)
	if o.Error != wantErr {
		return false, fmt.Sprintf("error %q (cause %q), want %q", o.Error, o.Cause, wantErr), false
	}
	if u, _ := exp["cause_unchecked"].(bool); u {
		return true, "", false
	}
	// A case without a cause checks only the error name.
	wantCause, has := exp["cause"].(string)
	if !has || o.Cause == wantCause {
		return true, "", false
	}
	if EventIDRe.ReplaceAllString(o.Cause, "") == EventIDRe.ReplaceAllString(wantCause, "") {
		return true, "", true
	}
	return false, fmt.Sprintf("cause %q, want %q", o.Cause, wantCause), false
}

// Short prints v as JSON, cut to 300 bytes for messages.
func Short(v any) string {
	s := expr.MarshalString(v)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// DeepCopy copies a decoded JSON value.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = DeepCopy(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = DeepCopy(x)
		}
		return a
	}
	return v
}

func pointerTokens(p string) []string {
	if p == "" || p == "/" {
		return nil
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

// ExistsAt reports whether the JSON pointer p names a value in v.
func ExistsAt(v any, p string) bool {
	for _, tok := range pointerTokens(p) {
		switch t := v.(type) {
		case map[string]any:
			x, ok := t[tok]
			if !ok {
				return false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return false
			}
			v = t[i]
		default:
			return false
		}
	}
	return true
}

// BlankAt replaces the value at the JSON pointer p in v (change a copy)
// with a marker, so two values compare equal there.
func BlankAt(v any, p string) any {
	toks := pointerTokens(p)
	if len(toks) == 0 {
		return "<unchecked>"
	}
	cur := v
	for i, tok := range toks {
		last := i == len(toks)-1
		switch t := cur.(type) {
		case map[string]any:
			if _, ok := t[tok]; !ok {
				return v
			}
			if last {
				t[tok] = "<unchecked>"
				return v
			}
			cur = t[tok]
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(t) {
				return v
			}
			if last {
				t[n] = "<unchecked>"
				return v
			}
			cur = t[n]
		default:
			return v
		}
	}
	return v
}
