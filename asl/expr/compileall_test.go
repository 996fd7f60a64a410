package expr

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/internal/testutil"
)

// TestConformanceCompileEverything compiles every path, reference path,
// template, intrinsic and JSONata expression in every definition of the
// conformance suite: definitions AWS accepted must compile.
func TestConformanceCompileEverything(t *testing.T) {
	dir := testutil.ConformanceDir(t, "asl")
	files, _ := filepath.Glob(filepath.Join(dir, "executions", "*.jsonl"))
	files = append(files, filepath.Join(dir, "test_state", "test_state.jsonl"))
	counts := map[string]int{}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		for _, line := range readLines(t, rel) {
			v := mustDecode(t, line).(map[string]any)
			def := v["definition"]
			if req, ok := v["request"].(map[string]any); ok {
				def = req["definition"]
			}
			compileAll(t, v["name"].(string), def, "", "JSONPath", counts)
		}
	}
	t.Logf("compiled: %v", counts)
}

// compileAll walks a definition (or a single state) and compiles what it
// holds, by field name.
func compileAll(t *testing.T, name string, v any, ptr, ql string, counts map[string]int) {
	m, ok := v.(map[string]any)
	if !ok {
		if a, ok := v.([]any); ok {
			for i, e := range a {
				compileAll(t, name, e, ptr+"/"+itoa(i), ql, counts)
			}
		}
		return
	}
	if q, ok := m["QueryLanguage"].(string); ok {
		ql = q
	}
	fail := func(field string, err error) {
		t.Errorf("%s: %s/%s: %v", name, ptr, field, err)
	}
	for k, val := range m {
		s, isStr := val.(string)
		switch {
		case ql == "JSONata" && isStr && IsJSONataString(s):
			if _, err := CompileJSONata(s); err != nil {
				fail(k, err)
			}
			counts["jsonata"]++
		case ql == "JSONata" && (k == "Arguments" || k == "Output" || k == "Assign"):
			if _, err := CompileJSONataTemplateField(val, k); err != nil {
				fail(k, err)
			}
			counts["jsonata template"]++
		case k == "ResultPath" && isStr:
			if _, err := CompileReferencePath(s); err != nil {
				fail(k, err)
			}
			counts["reference path"]++
		case (k == "InputPath" || k == "OutputPath" || k == "ItemsPath" || k == "Variable" ||
			(strings.HasSuffix(k, "Path") && strings.HasPrefix(s, "$"))) && isStr:
			if _, err := CompilePath(s); err != nil {
				fail(k, err)
			}
			counts["path"]++
		case ql != "JSONata" && (k == "Parameters" || k == "ResultSelector" || k == "ItemSelector" || k == "Assign"):
			if _, err := CompileTemplate(val); err != nil {
				fail(k, err)
			}
			counts["template"]++
		}
		if k != "Result" && k != "Parameters" && k != "ResultSelector" && k != "ItemSelector" && k != "Arguments" && k != "Output" && k != "Assign" {
			compileAll(t, name, val, ptr+"/"+pointerEscape(k), ql, counts)
		}
	}
}
