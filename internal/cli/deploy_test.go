package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployAWSOut writes the template from the repository's definition
// files and checks that its state machine passes `landfall states
// validate` with the substitutions CloudFormation fills.
func TestDeployAWSOut(t *testing.T) {
	out := t.TempDir()
	t.Chdir(filepath.Join("..", ".."))
	code, stdout, stderr := run(t, "", "deploy", "aws", "--out", out, "--no-build", "--tenants", "acme,globex", "--alert-email", "ops@example.com")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, filepath.Join(out, "template.json")) {
		t.Fatalf("stdout: %s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(out, "template.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tmpl struct {
		Metadata  map[string]map[string]any
		Resources map[string]struct {
			Type       string
			Properties map[string]json.RawMessage
		}
	}
	if err := json.Unmarshal(b, &tmpl); err != nil {
		t.Fatal(err)
	}
	if tmpl.Metadata["Landfall"]["Definition"] != "pipelines/media.asl.json" {
		t.Fatalf("not built from the repository's file: %v", tmpl.Metadata["Landfall"])
	}
	def := filepath.Join(out, "definition.json")
	if err := os.WriteFile(def, tmpl.Resources["MediaStateMachine"].Properties["Definition"], 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"states", "validate", def, "--subst", "Region=eu-west-1", "--subst", "AccountId=123456789012"}
	var subs map[string]json.RawMessage
	_ = json.Unmarshal(tmpl.Resources["MediaStateMachine"].Properties["DefinitionSubstitutions"], &subs)
	for k := range subs {
		if strings.HasPrefix(k, "Activity") {
			// The stack's activities, by their ARNs.
			args = append(args, "--subst", k+"=arn:aws:states:eu-west-1:123456789012:activity:"+k)
		}
	}
	code, stdout, stderr = run(t, "", args...)
	if code != 0 || !strings.Contains(stdout, "valid") {
		t.Fatalf("states validate: exit %d\n%s\n%s", code, stdout, stderr)
	}

	code, _, _ = run(t, "", "deploy", "aws", "--out", out, "--format", "yaml", "--no-build")
	if y, err := os.ReadFile(filepath.Join(out, "template.yaml")); code != 0 || err != nil || !strings.Contains(string(y), "AWS::StepFunctions::StateMachine") {
		t.Fatalf("yaml: exit %d, %v", code, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"deploy", "aws"}, "give --out DIR"},
		{[]string{"deploy", "aws", "--out", out, "--format", "xml"}, "--format"},
		{[]string{"deploy", "aws", "--out", out, "--no-build", "--tenants", "Bad!"}, `tenants[0]: "Bad!"`},
		{[]string{"deploy", "aws", "--stack", "s"}, "--stack needs --region"},
		{[]string{"deploy", "aws", "--out", out, "--definition", "no-such.json"}, "no-such.json"},
	} {
		code, _, stderr := run(t, "", c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 naming %q", c.args, code, stderr, c.want)
		}
	}
}
