// Package profile holds insight profiles: what to extract from a media
// file beyond the summary, for one kind of media. A profile is a JSON
// Schema of its output plus the prompt that asks a language model for it;
// the local summariser computes, for the built-in profiles, the fields it
// can honestly compute offline and marks the others not available.
//
// The built-in profiles are podcast (show notes), lecture (key points and
// quiz questions), support-call (sentiment per speaker, escalation
// signals, action items) and moderation (policy reasoning). A profile is
// chosen per upload (?profile=), per tenant (tenants[].profile in the
// configuration) or by a rule's input transformer (the execution input's
// "profile").
//
// Every top-level field of a profile's output is required and may be
// null: a model answers every field (structured outputs need them all),
// and null is how either provider says "not available".
package profile

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/landfall/landfall/errcode"
)

// Profile is one insight profile.
type Profile struct {
	Name   string          `json:"name"`
	Title  string          `json:"title"`
	Prompt string          `json:"prompt"`
	Schema json.RawMessage `json:"schema"`

	once     sync.Once
	compiled *jsonschema.Schema
	err      error
}

//go:embed builtin/*.json
var builtinFS embed.FS

var builtin = func() map[string]*Profile {
	out := map[string]*Profile{}
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := builtinFS.ReadFile(path.Join("builtin", e.Name()))
		if err != nil {
			panic(err)
		}
		p, err := Parse(b)
		if err != nil {
			panic(fmt.Sprintf("built-in profile %s: %v", e.Name(), err))
		}
		out[p.Name] = p
	}
	return out
}()

// Lookup returns the built-in profile with the given name.
func Lookup(name string) (*Profile, bool) {
	p, ok := builtin[name]
	return p, ok
}

// Names lists the built-in profiles.
func Names() []string {
	out := make([]string, 0, len(builtin))
	for n := range builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Find returns the built-in profile name, or an Invalid error listing the
// profiles there are.
func Find(name string) (*Profile, error) {
	if p, ok := Lookup(name); ok {
		return p, nil
	}
	return nil, errcode.New(errcode.Invalid, "profile %q does not exist (have: %s)", name, strings.Join(Names(), ", "))
}

// Parse reads a profile document ({name, title, prompt, schema}) and
// checks that its schema compiles and has the shape profiles need: an
// object whose properties are all required and whose other properties are
// refused.
func Parse(b []byte) (*Profile, error) {
	var p Profile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, errcode.New(errcode.Invalid, "profile: %v", err)
	}
	if p.Name == "" || strings.ContainsFunc(p.Name, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }) {
		return nil, errcode.New(errcode.Invalid, "profile: /name %q must be lower-case letters, digits and hyphens", p.Name)
	}
	if strings.TrimSpace(p.Prompt) == "" {
		return nil, errcode.New(errcode.Invalid, "profile %s: /prompt is empty", p.Name)
	}
	var shape struct {
		Type                 string                     `json:"type"`
		AdditionalProperties *bool                      `json:"additionalProperties"`
		Required             []string                   `json:"required"`
		Properties           map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(p.Schema, &shape); err != nil {
		return nil, errcode.New(errcode.Invalid, "profile %s: /schema: %v", p.Name, err)
	}
	if shape.Type != "object" || shape.AdditionalProperties == nil || *shape.AdditionalProperties || len(shape.Properties) == 0 {
		return nil, errcode.New(errcode.Invalid, "profile %s: /schema must be an object with properties and \"additionalProperties\": false", p.Name)
	}
	for name := range shape.Properties {
		found := false
		for _, r := range shape.Required {
			found = found || r == name
		}
		if !found {
			return nil, errcode.New(errcode.Invalid, "profile %s: /schema/required lacks %q (every field is required; null says not available)", p.Name, name)
		}
	}
	if _, err := p.schema(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Fields lists the top-level fields of the profile's output, in order.
func (p *Profile) Fields() []string {
	var shape struct {
		Required []string `json:"required"`
	}
	_ = json.Unmarshal(p.Schema, &shape)
	return shape.Required
}

func (p *Profile) schema() (*jsonschema.Schema, error) {
	p.once.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(p.Schema))
		if err != nil {
			p.err = errcode.New(errcode.Invalid, "profile %s: /schema: %v", p.Name, err)
			return
		}
		c := jsonschema.NewCompiler()
		url := "landfall:profile/" + p.Name + ".json"
		if err := c.AddResource(url, doc); err != nil {
			p.err = errcode.New(errcode.Invalid, "profile %s: /schema: %v", p.Name, err)
			return
		}
		if p.compiled, err = c.Compile(url); err != nil {
			p.err = errcode.New(errcode.Invalid, "profile %s: /schema: %v", p.Name, err)
		}
	})
	return p.compiled, p.err
}

// Validate checks an output document against the profile's schema; the
// error names the failing location.
func (p *Profile) Validate(doc []byte) error {
	sch, err := p.schema()
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("profile %s: %v", p.Name, err)
	}
	return nil
}
