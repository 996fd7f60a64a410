package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(strings.NewReader("data: /tmp/lf\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.DB != "sqlite:///tmp/lf/landfall.db" || c.Blob != "file:///tmp/lf/bucket" || c.Role != "all" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.Provider("transcribe") != "local" {
		t.Fatal("default provider is not local")
	}
}

func TestParseFields(t *testing.T) {
	c, err := Parse(strings.NewReader(`{"data":"/d","uploads":{"abort_after":"2h"},"analysers":{"summarise":"openai"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Uploads.AbortAfter.Duration != 2*time.Hour || c.Provider("summarise") != "openai" {
		t.Fatalf("%+v", c)
	}
}

func TestParseRejects(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"data: /d\nbogus: 1\n", `unknown field "bogus"`},
		{"openai:\n  base_url: x\n  modle: y\n", `unknown field "modle"`},
		{"role: boss\n", "/role: must be all, api or worker"},
		{"analysers:\n  transcribe: magic\n", `/analysers/transcribe: unknown provider "magic"`},
		{"uploads:\n  abort_after: soon\n", `invalid duration "soon"`},
	} {
		_, err := Parse(strings.NewReader(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error = %v, want containing %q", tc.doc, err, tc.want)
		}
	}
}
