package analysertest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
)

var spec = analyser.Spec{ID: "analyser.test.suite", Task: "test", Provider: "local", Options: []analyser.Option{
	{Name: "n", Type: analyser.OptionInteger, Default: 2, Min: analyser.Bound(1), Max: analyser.Bound(5), Description: "n"},
	{Name: "r", Type: analyser.OptionNumber, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(1), ExclusiveMax: true, Description: "r"},
	{Name: "mode", Type: analyser.OptionString, Enum: []string{"a", "b"}, Description: "mode"},
	{Name: "code", Type: analyser.OptionString, Min: analyser.Bound(2), Max: analyser.Bound(3), Description: "code"},
	{Name: "langs", Type: analyser.OptionStrings, Min: analyser.Bound(2), Max: analyser.Bound(4), ItemMaxLen: 2, Example: []string{"en", "de"}, Description: "langs"},
	{Name: "on", Type: analyser.OptionBoolean, Description: "on"},
}}

// The derived cases agree with the decoder: every invalid case is refused
// naming its pointer, every valid one accepted.
func TestDerivedCasesAgreeWithTheDecoder(t *testing.T) {
	t.Parallel()
	if err := analyser.CheckOptionsSpec(spec); err != nil {
		t.Fatal(err)
	}
	invalid := InvalidOptions(spec)
	if len(invalid) < 15 {
		t.Fatalf("only %d invalid cases derived", len(invalid))
	}
	for _, c := range invalid {
		var m map[string]any
		err := analyser.DecodeOptions(spec, c.Options, &m)
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), c.Pointer+":") {
			t.Errorf("%s: %s: %v, want Invalid naming %s", c.Name, c.Options, err, c.Pointer)
		}
	}
	valid := ValidOptions(spec)
	if len(valid) < 10 {
		t.Fatalf("only %d valid cases derived", len(valid))
	}
	for _, c := range valid {
		var m map[string]any
		if err := analyser.DecodeOptions(spec, c.Options, &m); err != nil {
			t.Errorf("%s: %s: %v", c.Name, c.Options, err)
		}
	}
	// Exclusive bounds are crossed at the bound itself.
	var sawR bool
	for _, c := range invalid {
		if string(c.Options) == `{"r":0}` || string(c.Options) == `{"r":1}` {
			sawR = true
		}
	}
	if !sawR {
		t.Error("no case at an exclusive bound")
	}
	raw, _ := json.Marshal(validItems(spec.Options[4], 3))
	if string(raw) != `["en","de","en"]` {
		t.Errorf("items %s", raw)
	}
}

func TestSharedComputesOnce(t *testing.T) {
	t.Parallel()
	var s Shared[int]
	calls := 0
	for range 3 {
		if v := s.Get(t, func() (int, error) { calls++; return 42, nil }); v != 42 {
			t.Fatalf("got %d", v)
		}
	}
	if calls != 1 {
		t.Fatalf("computed %d times", calls)
	}
}
