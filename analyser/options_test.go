package analyser

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/errcode"
)

var testSpec = Spec{ID: "analyser.test.options", Task: "test", Provider: "local", Options: []Option{
	{Name: "count", Type: OptionInteger, Default: 3, Min: Bound(1), Max: Bound(10), Description: "a count"},
	{Name: "ratio", Type: OptionNumber, Min: Bound(0), ExclusiveMin: true, Max: Bound(1), Description: "a ratio"},
	{Name: "mode", Type: OptionString, Default: "fast", Enum: []string{"fast", "slow"}, Description: "a mode"},
	{Name: "terms", Type: OptionStrings, Max: Bound(2), ItemMaxLen: 5, Description: "terms"},
	{Name: "flag", Type: OptionBoolean, Description: "a flag"},
}}

type testOptions struct {
	Count int      `json:"count"`
	Ratio float64  `json:"ratio,omitempty"`
	Mode  string   `json:"mode"`
	Terms []string `json:"terms,omitempty"`
	Flag  bool     `json:"flag,omitempty"`
}

func TestDecodeOptions(t *testing.T) {
	t.Parallel()
	if err := CheckOptionsSpec(testSpec); err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{``, `null`, ` {} `} {
		var o testOptions
		if err := DecodeOptions(testSpec, json.RawMessage(raw), &o); err != nil || o.Count != 3 || o.Mode != "fast" {
			t.Fatalf("%q: %+v %v (want the defaults)", raw, o, err)
		}
	}
	var o testOptions
	if err := DecodeOptions(testSpec, json.RawMessage(`{"count":10,"ratio":1,"mode":"SLOW","terms":["a","bcdef"],"flag":true}`), &o); err != nil {
		t.Fatal(err)
	}
	if o.Count != 10 || o.Ratio != 1 || o.Mode != "SLOW" || len(o.Terms) != 2 || !o.Flag {
		t.Fatalf("%+v", o)
	}
	for raw, want := range map[string]string{
		`[]`:                      "analyser.test.options: /options: must be an object",
		`"x"`:                     "/options: must be an object",
		`{"cuont":1}`:             "analyser.test.options: /options/cuont: unknown option (known: count, ratio, mode, terms, flag)",
		`{"a/b":1}`:               "/options/a~1b: unknown option",
		`{"count":0}`:             "/options/count: 0 is outside [1, 10]",
		`{"count":11}`:            "/options/count: 11 is outside [1, 10]",
		`{"count":1.5}`:           "/options/count: 1.5 is not an integer",
		`{"count":"3"}`:           "/options/count: must be an integer",
		`{"ratio":0}`:             "/options/ratio: 0 is outside (0, 1]",
		`{"ratio":true}`:          "/options/ratio: must be a number",
		`{"mode":"medium"}`:       `/options/mode: "medium" is not one of fast, slow`,
		`{"mode":3}`:              "/options/mode: must be a string",
		`{"terms":"a"}`:           "/options/terms: must be an array of strings",
		`{"terms":null}`:          "/options/terms: must be an array of strings",
		`{"terms":["a",2]}`:       "/options/terms/1: must be a string",
		`{"terms":["toolong"]}`:   "/options/terms/0: 7 bytes, at most 5",
		`{"terms":["a","b","c"]}`: "/options/terms: 3 items is outside ≤ 2",
		`{"flag":1}`:              "/options/flag: must be true or false",
	} {
		err := DecodeOptions(testSpec, json.RawMessage(raw), &testOptions{})
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want Invalid containing %q", raw, err, want)
		}
	}
	// A spec the options struct does not follow is the analyser's defect.
	var short struct {
		Count int `json:"count"`
	}
	if err := DecodeOptions(testSpec, nil, &short); errcode.Of(err) != errcode.Unknown || !strings.Contains(err.Error(), "options spec does not match") {
		t.Fatalf("mismatched struct: %v", err)
	}
}

func TestCheckOptionsSpec(t *testing.T) {
	t.Parallel()
	bad := map[string]Option{
		"no name":              {Type: OptionString, Description: "d"},
		"is not string":        {Name: "x", Type: "date", Description: "d"},
		"no description":       {Name: "x", Type: OptionString},
		"min 2 is above max 1": {Name: "x", Type: OptionInteger, Min: Bound(2), Max: Bound(1), Description: "d"},
		"a boolean has no":     {Name: "x", Type: OptionBoolean, Min: Bound(0), Description: "d"},
		"default 0":            {Name: "x", Type: OptionInteger, Default: 0, Min: Bound(1), Description: "d"},
		`default "x"`:          {Name: "x", Type: OptionInteger, Default: "x", Description: "d"},
	}
	for want, o := range bad {
		err := CheckOptionsSpec(Spec{ID: "analyser.t", Options: []Option{o}})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", o, err, want)
		}
	}
	dup := Spec{ID: "analyser.t", Options: []Option{{Name: "x", Type: OptionString, Description: "d"}, {Name: "x", Type: OptionString, Description: "d"}}}
	if err := CheckOptionsSpec(dup); err == nil || !strings.Contains(err.Error(), "repeated") {
		t.Errorf("duplicate: %v", err)
	}
}

// FuzzDecodeOptions: any input decodes or fails with errcode.Invalid, never
// panics, and what decodes is within the spec.
func FuzzDecodeOptions(f *testing.F) {
	for _, s := range []string{`{}`, `{"count":5,"mode":"slow"}`, `{"terms":["a"]}`, `[`, `{"ratio":1e400}`, `{"count":-0}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 4096 {
			return
		}
		var o testOptions
		err := DecodeOptions(testSpec, raw, &o)
		if err != nil {
			if errcode.Of(err) != errcode.Invalid {
				t.Fatalf("%q: %v is not Invalid", raw, err)
			}
			return
		}
		if o.Count < 1 || o.Count > 10 || o.Ratio < 0 || o.Ratio > 1 || len(o.Terms) > 2 || !strings.EqualFold(o.Mode, "fast") && !strings.EqualFold(o.Mode, "slow") {
			t.Fatalf("%q decoded outside the spec: %+v", raw, o)
		}
	})
}
