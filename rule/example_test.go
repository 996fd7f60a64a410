package rule_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/landfall/landfall/rule"
)

func ExampleRuleSet() {
	s := rule.NewRuleSet()
	_ = s.Add("media-pipeline", []byte(`{"source":["aws.s3"],"detail-type":["Object Created"],`+
		`"detail":{"object":{"key":[{"prefix":"incoming/"}],"size":[{"numeric":[">",1024]}]}}}`))
	_ = s.Add("videos", []byte(`{"detail":{"object":{"key":[{"suffix":{"equals-ignore-case":".mp4"}}]}}}`))

	names, err := s.Match([]byte(`{"source":"aws.s3","detail-type":"Object Created",` +
		`"detail":{"bucket":{"name":"media"},"object":{"key":"incoming/acme/Talk.MP4","size":48213504}}}`))
	fmt.Println(names, err)
	// Output: [media-pipeline videos] <nil>
}

func ExampleParsePattern_error() {
	_, err := rule.ParsePattern([]byte(`{"detail":{"size":[{"numeric":[">",10,">",20]}]}}`))
	fmt.Println(err)
	// Output: /detail/size/0/numeric/2: Bad numeric range operator: >
}

func ExampleInputTransformer() {
	t := &rule.InputTransformer{
		InputPathsMap: map[string]string{"bucket": "$.detail.bucket.name", "key": "$.detail.object.key"},
		InputTemplate: `{"bucket": <bucket>, "key": <key>, "rule": "<aws.events.rule-name>"}`,
	}
	out, err := t.Apply([]byte(`{"detail":{"bucket":{"name":"media"},"object":{"key":"incoming/acme/a.mp4"}}}`),
		rule.TransformContext{RuleName: "media-pipeline", IngestionTime: time.Now()})
	fmt.Println(string(out), err)
	// Output: {"bucket": "media", "key": "incoming/acme/a.mp4", "rule": "media-pipeline"} <nil>
}

func ExampleLoadRulesFile() {
	specs, err := rule.LoadRulesFile(strings.NewReader(`
- name: media-pipeline
  event_pattern: {source: [aws.s3], detail: {object: {key: [{prefix: incoming/}]}}}
  targets:
    - {id: start, type: workflow, state_machine: media}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(specs[0].Name, specs[0].State, specs[0].Targets[0].Type, specs[0].Targets[0].StateMachine)
	// Output: media-pipeline ENABLED workflow media
}
