package rule

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadRulesFileValid(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "rules_valid.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	specs, err := LoadRulesFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 2 {
		t.Fatalf("got %d rules", len(specs))
	}
	r := specs[0]
	if r.Name != "media-pipeline" || !r.Enabled() || len(r.Targets) != 5 || r.Pattern == nil {
		t.Fatalf("rule 0: %+v", r)
	}
	if got := r.Targets[0].RetryPolicy; got == nil || got.MaximumRetryAttempts != 3 || got.MaximumEventAgeSeconds != 86400 {
		t.Fatalf("retry policy %+v, want 3 attempts and the default age", got)
	}
	if r.Targets[0].DeadLetter == nil || r.Targets[0].DeadLetter.Bus != "dead-letters" {
		t.Fatalf("dead letter %+v", r.Targets[0].DeadLetter)
	}
	if specs[1].Enabled() || specs[1].EventBus != "audit" || specs[1].Pattern == nil || string(specs[1].EventPattern) != `{"source": ["aws.s3"]}` {
		t.Fatalf("rule 1: %+v", specs[1])
	}
	event := []byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"media"},"object":{"key":"incoming/a/b.mp4","size":4096}}}`)
	set := RuleSetOf(specs)
	got, err := set.Match(event)
	if err != nil || strings.Join(got, ",") != "media-pipeline" {
		t.Fatalf("matched %v, %v (the disabled rule must not match)", got, err)
	}
	ctx := TransformContext{RuleName: r.Name}
	for i, want := range []string{
		`{"bucket": "media", "key": "incoming/a/b.mp4"}`,
		`{"bucket":{"name":"media"},"object":{"key":"incoming/a/b.mp4","size":4096}}`,
		`{"kind": "upload"}`,
		string(event),
	} {
		out, err := r.Targets[i].TargetInput(event, ctx)
		if err != nil || string(out) != want {
			t.Errorf("target %d input %s, %v; want %s", i, out, err, want)
		}
	}
}

func TestLoadRulesFileInvalid(t *testing.T) {
	var cases []struct {
		Name   string      `json:"name"`
		File   string      `json:"file"`
		Errors [][2]string `json:"errors"`
	}
	loadCases(t, "rules_invalid.json", &cases)
	target := `{"id": "tN", "type": "bus", "bus": "b"}`
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			file := strings.ReplaceAll(c.File, "DESC513", strings.Repeat("d", 513))
			for i := 6; i >= 1; i-- {
				name := "T" + string(rune('0'+i))
				if i == 1 {
					name = "T"
				}
				file = strings.ReplaceAll(file, name, strings.ReplaceAll(target, "N", string(rune('0'+i))))
			}
			_, err := ParseRulesFile([]byte(file))
			if len(c.Errors) == 0 {
				if err != nil {
					t.Fatalf("file %s: %v", file, err)
				}
				return
			}
			var fe FileErrors
			if !errors.As(err, &fe) {
				t.Fatalf("file %s: error %v, want FileErrors", file, err)
			}
			var got [][2]string
			for _, e := range fe {
				got = append(got, [2]string{e.Pointer, e.Message})
				if e.Offset < 0 || e.Offset >= len(file) {
					t.Errorf("%s: offset %d outside the file", e.Pointer, e.Offset)
				}
			}
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(c.Errors)
			if !bytes.Equal(gj, wj) {
				t.Fatalf("errors\n%s\nwant\n%s", gj, wj)
			}
		})
	}
}

func TestInputTransformer(t *testing.T) {
	var cases []struct {
		Name     string            `json:"name"`
		Paths    map[string]string `json:"paths"`
		Template string            `json:"template"`
		Want     string            `json:"want"`
		Error    string            `json:"error"`
	}
	loadCases(t, "transform_cases.json", &cases)
	event := []byte(`{"id":"e-1","source":"aws.s3","resources":["arn:aws:s3:::media"],"detail":{"bucket":{"name":"media"},"object":{"key":"incoming/acme/a \"b\".mp4","size":2048.0},"tags":[{"k":"tenant"},{"k":"kind"}]}}`)
	ctx := TransformContext{
		RuleName:      "media-pipeline",
		RuleARN:       "arn:landfall:events:local:rule/media-pipeline",
		IngestionTime: time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC),
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tr := &InputTransformer{InputPathsMap: c.Paths, InputTemplate: c.Template}
			out, err := tr.Apply(event, ctx)
			if c.Error != "" {
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("error %v, want %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.Want {
				t.Fatalf("got  %s\nwant %s", out, c.Want)
			}
		})
	}
}

func TestLoadRulesFileYAML(t *testing.T) {
	read := func(name string) []RuleSpec {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		specs, err := ParseRulesFile(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return specs
	}
	js, ys := read("rules_valid.json"), read("rules_valid.yaml")
	if len(js) != len(ys) {
		t.Fatalf("%d rules from JSON, %d from YAML", len(js), len(ys))
	}
	event := []byte(`{"source":"aws.s3","detail-type":"Object Created","detail":{"bucket":{"name":"media"},"object":{"key":"incoming/a/b.mp4","size":4096}}}`)
	for i := range js {
		j, y := js[i], ys[i]
		if j.Name != y.Name || j.State != y.State || j.EventBus != y.EventBus || len(j.Targets) != len(y.Targets) {
			t.Fatalf("rule %d differs:\n%+v\n%+v", i, j, y)
		}
		mj, _ := j.Pattern.Matches(event)
		my, _ := y.Pattern.Matches(event)
		if mj != my || !mj {
			t.Fatalf("rule %s: JSON pattern matches %v, YAML pattern %v", j.Name, mj, my)
		}
		for k := range j.Targets {
			a, _ := j.Targets[k].TargetInput(event, TransformContext{})
			b, _ := y.Targets[k].TargetInput(event, TransformContext{})
			var av, bv any
			if json.Unmarshal(a, &av) != nil || json.Unmarshal(b, &bv) != nil {
				t.Fatalf("target %s: input is not JSON: %s | %s", j.Targets[k].ID, a, b)
			}
			aj, _ := json.Marshal(av)
			bj, _ := json.Marshal(bv)
			if !bytes.Equal(aj, bj) {
				t.Fatalf("target %s: JSON file gives %s, YAML file %s", j.Targets[k].ID, aj, bj)
			}
		}
	}
	// Errors in YAML files are located too.
	bad := []byte("- name: r\n  event_pattern:\n    detail:\n      size: [{numeric: [\">\", 5, \">\", 9]}]\n")
	_, err := ParseRulesFile(bad)
	var fe FileErrors
	if !errors.As(err, &fe) || len(fe) != 1 || fe[0].Pointer != "/0/event_pattern/detail/size/0/numeric/2" || fe[0].Message != "Bad numeric range operator: >" {
		t.Fatalf("error %v", err)
	}
	if line := 1 + bytes.Count(bad[:fe[0].Offset], []byte("\n")); line != 4 {
		t.Fatalf("error located on line %d, want 4", line)
	}
}
