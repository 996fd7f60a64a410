// Package analysertest is the conformance suite every analyser passes, and
// the helpers the providers' own tests share. Run checks that:
//
//   - the Spec is well formed: a namespaced id (analyser.<task>.<name>), a
//     known task, provider and media kinds, a summary, an output schema that
//     compiles, and an options spec that CheckOptionsSpec accepts;
//   - the options spec drives Run: an unknown key, a value of the wrong
//     type, each bound crossed and a value outside an enum are refused with
//     errcode.Invalid naming the analyser and the option's JSON pointer,
//     and every declared boundary value, enum value and default is
//     accepted (Run may then fail for other reasons, never for that
//     option);
//   - where the provider runs offline (Config.Input is set), its output on
//     generated media validates against its output schema, with and
//     without every option at its default;
//   - failures carry errcode codes: an input that names a missing file or
//     nothing at all fails with a code, not errcode.Unknown.
//
// Remote providers (openai, aws) run the spec, options and error checks
// without a server: options are decoded before anything is sent.
package analysertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Config adapts the suite to one analyser.
type Config struct {
	// Input returns a valid input on media generated offline (under dir,
	// a folder of the test's), for analysers that run on this machine;
	// nil for remote providers, whose output the suite does not check.
	Input func(t *testing.T, dir string) *analyser.Input
	// Env returns the environment runs get; a fresh work folder when nil.
	Env func(t *testing.T) *analyser.Env
}

// ValidateOutput fails t unless out validates against the output schema
// of the analyser spec s.
func ValidateOutput(t testing.TB, s analyser.Spec, out any) {
	t.Helper()
	if err := analyser.ValidateOutput(s, out); err != nil {
		b, _ := json.Marshal(out)
		if len(b) > 2000 {
			b = append(b[:2000], "…"...)
		}
		t.Fatalf("%v\noutput: %s", err, b)
	}
}

var (
	idRE = regexp.MustCompile(`^analyser\.[a-z]+\.[a-z0-9_-]+$`)

	knownTasks = []string{analyser.TaskClassify, analyser.TaskMedia, analyser.TaskTranscribe, analyser.TaskDiarise, analyser.TaskOCR,
		analyser.TaskFaces, analyser.TaskLanguage, analyser.TaskSummarise, analyser.TaskLabels, analyser.TaskModerate, analyser.TaskEmbed}
	knownProviders = []string{"local", "openai", "aws"}
	knownKinds     = []types.Kind{types.KindAudio, types.KindVideo, types.KindImage}
)

// Run runs the conformance suite on a.
func Run(t *testing.T, a analyser.Analyser, cfg Config) {
	t.Helper()
	s := a.Spec()
	env := func(t *testing.T) *analyser.Env {
		if cfg.Env != nil {
			return cfg.Env(t)
		}
		return &analyser.Env{Workdir: t.TempDir()}
	}
	t.Run("Spec", func(t *testing.T) { checkSpec(t, s) })
	t.Run("InvalidOptions", func(t *testing.T) {
		for _, c := range InvalidOptions(s) {
			_, err := a.Run(context.Background(), env(t), &analyser.Input{MediaID: "m-conformance", Options: c.Options})
			if !errors.Is(err, errcode.Invalid) {
				t.Errorf("%s: options %s: error %v, want %s", c.Name, c.Options, err, errcode.Invalid)
				continue
			}
			if msg := err.Error(); !strings.Contains(msg, s.ID) || !strings.Contains(msg, c.Pointer) {
				t.Errorf("%s: options %s: error %q does not name %s and %s", c.Name, c.Options, msg, s.ID, c.Pointer)
			}
		}
	})
	t.Run("ValidOptions", func(t *testing.T) {
		for _, c := range ValidOptions(s) {
			_, err := a.Run(context.Background(), env(t), &analyser.Input{MediaID: "m-conformance", Options: c.Options})
			if err != nil && strings.Contains(err.Error(), "/options") {
				t.Errorf("%s: options %s are valid by the spec but refused: %v", c.Name, c.Options, err)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "missing.mp4")
		for name, in := range map[string]*analyser.Input{
			"empty input":  {MediaID: "m-conformance"},
			"missing file": {MediaID: "m-conformance", Key: "incoming/t/missing.mp4", Path: missing, Kind: kindOf(s)},
		} {
			_, err := a.Run(context.Background(), env(t), in)
			if err == nil {
				continue // some analysers have a sensible result for nothing (an empty summary)
			}
			if code := errcode.Of(err); code == errcode.Unknown {
				t.Errorf("%s: error without a code: %v", name, err)
			}
		}
	})
	if cfg.Input == nil {
		return
	}
	t.Run("Output", func(t *testing.T) {
		dir := t.TempDir()
		in := cfg.Input(t, dir)
		out, err := a.Run(context.Background(), env(t), in)
		if err != nil {
			t.Fatalf("run on generated media: %v", err)
		}
		ValidateOutput(t, s, out)
		if len(s.Options) == 0 {
			return
		}
		defaults := map[string]any{}
		for _, o := range s.Options {
			if o.Default != nil {
				defaults[o.Name] = o.Default
			}
		}
		raw, _ := json.Marshal(defaults)
		in.Options = raw
		out, err = a.Run(context.Background(), env(t), in)
		if err != nil {
			t.Fatalf("run with every option at its default %s: %v", raw, err)
		}
		ValidateOutput(t, s, out)
	})
}

func kindOf(s analyser.Spec) types.Kind {
	if len(s.Kinds) > 0 {
		return s.Kinds[0]
	}
	return ""
}

func checkSpec(t *testing.T, s analyser.Spec) {
	if !idRE.MatchString(s.ID) {
		t.Errorf("id %q is not analyser.<task>.<name>", s.ID)
	}
	if !contains(knownTasks, s.Task) {
		t.Errorf("%s: task %q is not one of %s", s.ID, s.Task, strings.Join(knownTasks, ", "))
	} else if !strings.HasPrefix(s.ID, "analyser."+s.Task+".") {
		t.Errorf("%s: id does not start with analyser.%s.", s.ID, s.Task)
	}
	if !contains(knownProviders, s.Provider) {
		t.Errorf("%s: provider %q is not one of %s", s.ID, s.Provider, strings.Join(knownProviders, ", "))
	}
	if strings.TrimSpace(s.Summary) == "" {
		t.Errorf("%s: no summary", s.ID)
	}
	for _, k := range s.Kinds {
		if !contains(knownKinds, k) {
			t.Errorf("%s: kind %q is not audio, video or image", s.ID, k)
		}
	}
	for _, c := range s.Requires {
		if c == "" || strings.ContainsAny(c, " /") {
			t.Errorf("%s: required command %q is not a command name", s.ID, c)
		}
	}
	if err := analyser.CheckOutputSchema(s); err != nil {
		t.Error(err)
	}
	if err := analyser.CheckOptionsSpec(s); err != nil {
		t.Error(err)
	}
}

// OptionsCase is one options value the suite runs with.
type OptionsCase struct {
	Name    string
	Options json.RawMessage
	// Pointer is the JSON pointer the error must name (invalid cases).
	Pointer string
}

// InvalidOptions derives the options every analyser of spec s must refuse
// from its options spec.
func InvalidOptions(s analyser.Spec) []OptionsCase {
	var out []OptionsCase
	add := func(name, ptr string, v map[string]any) {
		raw, _ := json.Marshal(v)
		out = append(out, OptionsCase{Name: name, Options: raw, Pointer: ptr})
	}
	out = append(out, OptionsCase{Name: "not an object", Options: json.RawMessage(`[1]`), Pointer: "/options"})
	add("unknown key", "/options/no_such_option", map[string]any{"no_such_option": 1})
	for _, o := range s.Options {
		ptr := "/options/" + o.Name
		one := func(v any) map[string]any { return map[string]any{o.Name: v} }
		switch o.Type {
		case analyser.OptionBoolean:
			add(o.Name+": a string", ptr, one("yes"))
		case analyser.OptionInteger, analyser.OptionNumber:
			add(o.Name+": a string", ptr, one("1"))
			if o.Type == analyser.OptionInteger {
				add(o.Name+": a fraction", ptr, one(1.5))
			}
			if o.Min != nil {
				below := *o.Min - 1
				if o.ExclusiveMin {
					below = *o.Min
				} else if o.Type == analyser.OptionNumber {
					below = *o.Min - 0.001
				}
				add(fmt.Sprintf("%s: below %v", o.Name, *o.Min), ptr, one(below))
			}
			if o.Max != nil {
				above := *o.Max + 1
				if o.ExclusiveMax {
					above = *o.Max
				} else if o.Type == analyser.OptionNumber {
					above = *o.Max + 0.001
				}
				add(fmt.Sprintf("%s: above %v", o.Name, *o.Max), ptr, one(above))
			}
		case analyser.OptionString:
			add(o.Name+": a number", ptr, one(1))
			if len(o.Enum) > 0 {
				add(o.Name+": outside the enum", ptr, one("not-"+o.Enum[0]))
			}
			if o.Min != nil && *o.Min >= 1 {
				add(o.Name+": too short", ptr, one(strings.Repeat("a", int(*o.Min)-1)))
			}
			if o.Max != nil && *o.Max < 1<<20 {
				add(o.Name+": too long", ptr, one(strings.Repeat("a", int(*o.Max)+1)))
			}
		case analyser.OptionStrings:
			// A bad first item in a list that is otherwise valid.
			withFirst := func(bad any) []any {
				list := []any{bad}
				for _, it := range validItems(o, minItems(o))[1:] {
					list = append(list, it)
				}
				return list
			}
			add(o.Name+": a string", ptr, one("x"))
			add(o.Name+": an item not a string", ptr+"/0", one(withFirst(1)))
			if o.ItemMaxLen > 0 {
				add(o.Name+": an item too long", ptr+"/0", one(withFirst(strings.Repeat("a", o.ItemMaxLen+1))))
			}
			if o.Max != nil && *o.Max < 100000 {
				add(o.Name+": too many items", ptr, one(validItems(o, int(*o.Max)+1)))
			}
			if o.Min != nil && *o.Min >= 1 {
				add(o.Name+": too few items", ptr, one(validItems(o, int(*o.Min)-1)))
			}
			if len(o.Enum) > 0 {
				add(o.Name+": an item outside the enum", ptr+"/0", one(withFirst("not-"+o.Enum[0])))
			}
		}
	}
	return out
}

// ValidOptions derives options that the spec of s allows: each option at
// its default, at each bound, and at each enum value.
func ValidOptions(s analyser.Spec) []OptionsCase {
	var out []OptionsCase
	add := func(name string, v map[string]any) {
		raw, _ := json.Marshal(v)
		out = append(out, OptionsCase{Name: name, Options: raw})
	}
	add("no options", map[string]any{})
	for _, o := range s.Options {
		one := func(v any) map[string]any { return map[string]any{o.Name: v} }
		if o.Default != nil {
			add(o.Name+": default", one(o.Default))
		}
		switch o.Type {
		case analyser.OptionBoolean:
			add(o.Name+": true", one(true))
			add(o.Name+": false", one(false))
		case analyser.OptionInteger, analyser.OptionNumber:
			if o.Min != nil && !o.ExclusiveMin {
				add(fmt.Sprintf("%s: minimum %v", o.Name, *o.Min), one(*o.Min))
			}
			if o.Max != nil && !o.ExclusiveMax {
				add(fmt.Sprintf("%s: maximum %v", o.Name, *o.Max), one(*o.Max))
			}
		case analyser.OptionString:
			for _, e := range o.Enum {
				add(o.Name+": "+e, one(e))
			}
			if o.Example != nil {
				add(o.Name+": example", one(o.Example))
			}
		case analyser.OptionStrings:
			add(o.Name+": fewest items", one(validItems(o, minItems(o))))
			if o.Max != nil && *o.Max < 100000 {
				add(o.Name+": most items", one(validItems(o, int(*o.Max))))
			}
		}
	}
	return out
}

// validItems is a list of n items the option allows, cycling through its
// example's items, its default's, its enum, or a word.
func validItems(o analyser.Option, n int) []string {
	pool := []string{"landfall"}
	for _, v := range []any{o.Example, o.Default} {
		if d, ok := v.([]string); ok && len(d) > 0 {
			pool = d
			break
		}
	}
	if o.Example == nil && o.Default == nil && len(o.Enum) > 0 {
		pool = o.Enum
	}
	out := make([]string, max(n, 0))
	for i := range out {
		out[i] = pool[i%len(pool)]
	}
	return out
}

// minItems is the fewest items a list option takes, at least one.
func minItems(o analyser.Option) int {
	if o.Min != nil && *o.Min > 1 {
		return int(*o.Min)
	}
	return 1
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
