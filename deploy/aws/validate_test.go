package aws

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/landfall/landfall/internal/testutil"
)

// variants are the templates the validators check: the defaults, and
// every optional part switched on.
func variants(t *testing.T) map[string]Template {
	t.Helper()
	out := map[string]Template{}
	o := repoOptions(t)
	tmpl, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	out["defaults"] = tmpl
	o.KMSKeyARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	o.AlertEmail, o.AlertWebhook = "ops@example.com", "https://alerts.example.com/landfall"
	o.ImageURI = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/landfall-tools:1"
	o.BucketName, o.Architecture, o.LogRetentionDays = "landfall-media-example", "x86_64", 90
	o.Tenants = []string{"t1", "t2", "t3"}
	if tmpl, err = Generate(o); err != nil {
		t.Fatal(err)
	}
	out["everything"] = tmpl
	return out
}

// cfnLintFalsePositives are cfn-lint 1.x findings on Step Functions
// definitions that the service accepts: a Lambda ARN written with
// DefinitionSubstitutions (${Region}) inside a Parallel branch,
// Parameters on a Parallel state and OutputPath on a Succeed state (all
// in the States Language specification; the definition passes the
// project's validator, which is tested against executions recorded on
// AWS).
var cfnLintFalsePositives = []*regexp.Regexp{
	regexp.MustCompile(`E3601:'arn:aws:lambda:\$\{Region\}:\$\{AccountId\}:function:landfall-[a-z-]+' does not match`),
	regexp.MustCompile(`E3601:Additional properties are not allowed \('Parameters' was unexpected\)`),
	regexp.MustCompile(`E3601:Additional properties are not allowed \('OutputPath' was unexpected\)`),
}

// RequireCfnLintEnv names the environment variable that makes a missing
// cfn-lint fail TestCfnLint instead of skipping it.
const RequireCfnLintEnv = "LANDFALL_REQUIRE_CFNLINT"

// TestCfnLint runs cfn-lint, when installed, on the JSON and YAML forms.
// (TestResourceSpecification validates against the CloudFormation
// specification always.)
func TestCfnLint(t *testing.T) {
	t.Parallel()
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv(RequireCfnLintEnv) == "1" {
			t.Fatalf("cfn-lint is not on PATH and %s=1", RequireCfnLintEnv)
		}
		t.Skip("cfn-lint is not on PATH")
	}
	dir := t.TempDir()
	var files []string
	for name, tmpl := range variants(t) {
		j, err := tmpl.JSON()
		if err != nil {
			t.Fatal(err)
		}
		y, err := tmpl.YAML()
		if err != nil {
			t.Fatal(err)
		}
		for ext, b := range map[string][]byte{"json": j, "yaml": y} {
			f := filepath.Join(dir, name+"."+ext)
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
	}
	sort.Strings(files)
	out, err := exec.Command(lint, append([]string{"--format", "parseable", "--"}, files...)...).CombinedOutput()
	var kept []string
	suppressed := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		fp := false
		for _, re := range cfnLintFalsePositives {
			fp = fp || re.MatchString(line)
		}
		if fp {
			suppressed++
			continue
		}
		kept = append(kept, line)
	}
	if len(kept) > 0 {
		t.Fatalf("cfn-lint (%v):\n%s", err, strings.Join(kept, "\n"))
	}
	if err != nil && suppressed == 0 {
		t.Fatalf("cfn-lint failed with no finding: %v\n%s", err, out)
	}
	t.Logf("cfn-lint: %d templates clean (%d known false positives on the ASL definition set aside)", len(files), suppressed)
}

// spec is the part of the CloudFormation resource specification the
// validator reads (from the @aws-cdk/aws-service-spec package's database).
type spec struct {
	resources map[string]*specResource
	types     map[string]*specType
}

type specResource struct {
	Type       string               `json:"cloudFormationType"`
	Properties map[string]*specProp `json:"properties"`
	Attributes map[string]any       `json:"attributes"`
}

type specType struct {
	ID         string               `json:"$id"`
	Properties map[string]*specProp `json:"properties"`
}

type specProp struct {
	Type     *specTypeRef `json:"type"`
	Required bool         `json:"required"`
}

type specTypeRef struct {
	Type      string `json:"type"`
	Reference *struct {
		Ref string `json:"$ref"`
	} `json:"reference"`
	Element *specTypeRef   `json:"element"`
	Types   []*specTypeRef `json:"types"`
	Allowed []any          `json:"allowedValues"`
}

var (
	specOnce sync.Once
	specDB   *spec
	specErr  error
)

func loadSpec(t *testing.T) *spec {
	t.Helper()
	dir, _ := testutil.NodeTools(t)
	specOnce.Do(func() {
		f, err := os.Open(filepath.Join(dir, "node_modules", "@aws-cdk", "aws-service-spec", "db.json.gz"))
		if err != nil {
			specErr = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			specErr = err
			return
		}
		var db struct {
			Schema struct {
				Resource struct {
					Entities []*specResource `json:"entities"`
				} `json:"resource"`
				TypeDefinition struct {
					Entities []*specType `json:"entities"`
				} `json:"typeDefinition"`
			} `json:"schema"`
		}
		if err := json.NewDecoder(zr).Decode(&db); err != nil {
			specErr = err
			return
		}
		s := &spec{resources: map[string]*specResource{}, types: map[string]*specType{}}
		for _, r := range db.Schema.Resource.Entities {
			s.resources[r.Type] = r
		}
		for _, ty := range db.Schema.TypeDefinition.Entities {
			s.types[ty.ID] = ty
		}
		specDB = s
	})
	if specErr != nil {
		t.Fatalf("reading the CloudFormation specification: %v", specErr)
	}
	return specDB
}

// validator checks a template against the specification: resource types,
// property names and types, required properties, Ref and GetAtt targets,
// conditions.
type validator struct {
	s     *spec
	tmpl  map[string]any
	res   map[string]any
	errs  []string
	conds map[string]any
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs = append(v.errs, path+": "+fmt.Sprintf(format, args...))
}

var pseudo = map[string]bool{"AWS::AccountId": true, "AWS::Region": true, "AWS::StackName": true, "AWS::StackId": true,
	"AWS::Partition": true, "AWS::URLSuffix": true, "AWS::NoValue": true, "AWS::NotificationARNs": true}

// intrinsic checks an intrinsic function and reports whether value was one.
func (v *validator) intrinsic(path string, value any) bool {
	m, ok := value.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	for k, arg := range m {
		switch k {
		case "Ref":
			name, _ := arg.(string)
			_, isParam := v.tmpl["Parameters"].(map[string]any)[name]
			if !isParam && !pseudo[name] && v.res[name] == nil {
				v.errorf(path, "Ref to unknown %q", name)
			}
			return true
		case "Fn::GetAtt":
			parts, _ := arg.([]any)
			if len(parts) != 2 {
				v.errorf(path, "Fn::GetAtt wants [resource, attribute]")
				return true
			}
			id, _ := parts[0].(string)
			attr, _ := parts[1].(string)
			r, _ := v.res[id].(map[string]any)
			if r == nil {
				v.errorf(path, "Fn::GetAtt of unknown resource %q", id)
				return true
			}
			typ, _ := r["Type"].(string)
			if sr := v.s.resources[typ]; sr != nil {
				if _, ok := sr.Attributes[attr]; !ok {
					v.errorf(path, "%s has no attribute %q", typ, attr)
				}
			}
			return true
		case "Fn::If":
			parts, _ := arg.([]any)
			if len(parts) != 3 {
				v.errorf(path, "Fn::If wants [condition, then, else]")
				return true
			}
			if c, _ := parts[0].(string); v.conds[c] == nil {
				v.errorf(path, "Fn::If on unknown condition %q", c)
			}
			return true
		case "Fn::Sub", "Fn::Join", "Fn::Not", "Fn::Equals", "Fn::Select", "Fn::Split", "Fn::GetAZs", "Fn::ImportValue", "Fn::Base64":
			v.walkIntrinsics(path+"/"+k, arg)
			return true
		}
	}
	return false
}

// walkIntrinsics checks the intrinsics nested in an intrinsic's argument.
func (v *validator) walkIntrinsics(path string, value any) {
	if v.intrinsic(path, value) {
		return
	}
	switch t := value.(type) {
	case []any:
		for i, x := range t {
			v.walkIntrinsics(fmt.Sprintf("%s/%d", path, i), x)
		}
	case map[string]any:
		for k, x := range t {
			v.walkIntrinsics(path+"/"+k, x)
		}
	}
}

// value checks value against a property type.
func (v *validator) value(path string, ty *specTypeRef, value any) {
	if ty == nil {
		return
	}
	if m, ok := value.(map[string]any); ok {
		if fi, ok := m["Fn::If"].([]any); ok && len(m) == 1 && len(fi) == 3 {
			v.intrinsic(path, value)
			for i, branch := range fi[1:] {
				if js(branch) != `{"Ref":"AWS::NoValue"}` {
					v.value(fmt.Sprintf("%s/Fn::If/%d", path, i+1), ty, branch)
				}
			}
			return
		}
	}
	if v.intrinsic(path, value) {
		return
	}
	switch ty.Type {
	case "string", "date-time":
		if _, ok := value.(string); !ok {
			v.errorf(path, "want a string, got %s", js(value))
		} else if len(ty.Allowed) > 0 && !contains(ty.Allowed, value) {
			v.errorf(path, "%q is not one of %v", value, ty.Allowed)
		}
	case "integer", "number":
		if _, ok := value.(float64); !ok {
			v.errorf(path, "want a number, got %s", js(value))
		}
	case "boolean":
		if _, ok := value.(bool); !ok {
			v.errorf(path, "want a boolean, got %s", js(value))
		}
	case "json":
		// any JSON
	case "array":
		a, ok := value.([]any)
		if !ok {
			v.errorf(path, "want a list, got %s", js(value))
			return
		}
		for i, x := range a {
			v.value(fmt.Sprintf("%s/%d", path, i), ty.Element, x)
		}
	case "map":
		m, ok := value.(map[string]any)
		if !ok {
			v.errorf(path, "want a map, got %s", js(value))
			return
		}
		for k, x := range m {
			v.value(path+"/"+k, ty.Element, x)
		}
	case "union":
		for _, alt := range ty.Types {
			sub := &validator{s: v.s, tmpl: v.tmpl, res: v.res, conds: v.conds}
			sub.value(path, alt, value)
			if len(sub.errs) == 0 {
				return
			}
		}
		v.errorf(path, "%s matches none of the property's types", js(value))
	case "ref":
		td := v.s.types[ty.Reference.Ref]
		if td == nil {
			return
		}
		v.object(path, td.Properties, value)
	case "tag":
		m, ok := value.(map[string]any)
		if !ok || m["Key"] == nil || m["Value"] == nil {
			v.errorf(path, "want a tag {Key, Value}")
		}
	}
}

func contains(s []any, v any) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// object checks a map of properties against their definitions.
func (v *validator) object(path string, defs map[string]*specProp, value any) {
	m, ok := value.(map[string]any)
	if !ok {
		v.errorf(path, "want an object, got %s", js(value))
		return
	}
	for k, x := range m {
		d := defs[k]
		if d == nil {
			v.errorf(path, "unknown property %q", k)
			continue
		}
		v.value(path+"/"+k, d.Type, x)
	}
	for k, d := range defs {
		if d.Required && m[k] == nil {
			v.errorf(path, "required property %q is missing", k)
		}
	}
}

func validateTemplate(s *spec, tmpl Template) []string {
	var doc map[string]any
	b, _ := json.Marshal(tmpl)
	json.Unmarshal(b, &doc)
	v := &validator{s: s, tmpl: doc, res: doc["Resources"].(map[string]any), conds: doc["Conditions"].(map[string]any)}
	ids := make([]string, 0, len(v.res))
	for id := range v.res {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := v.res[id].(map[string]any)
		path := "/Resources/" + id
		typ, _ := r["Type"].(string)
		sr := s.resources[typ]
		if sr == nil {
			v.errorf(path, "unknown resource type %q", typ)
			continue
		}
		if c, ok := r["Condition"].(string); ok && v.conds[c] == nil {
			v.errorf(path, "unknown condition %q", c)
		}
		for _, d := range asList(r["DependsOn"]) {
			if v.res[d] == nil {
				v.errorf(path, "DependsOn unknown %q", d)
			}
		}
		p, _ := r["Properties"].(map[string]any)
		if p == nil {
			p = map[string]any{}
		}
		v.object(path+"/Properties", sr.Properties, p)
	}
	for name, o := range doc["Outputs"].(map[string]any) {
		v.walkIntrinsics("/Outputs/"+name, o)
	}
	for name, c := range v.conds {
		v.walkIntrinsics("/Conditions/"+name, c)
	}
	sort.Strings(v.errs)
	return v.errs
}

func asList(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// TestResourceSpecification validates every variant against the
// CloudFormation resource specification, offline.
func TestResourceSpecification(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	if len(s.resources) < 1000 {
		t.Fatalf("the specification lists only %d resource types", len(s.resources))
	}
	for name, tmpl := range variants(t) {
		if errs := validateTemplate(s, tmpl); len(errs) > 0 {
			t.Errorf("%s template:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}

// TestValidatorCatchesMistakes: the validator is not a rubber stamp.
func TestValidatorCatchesMistakes(t *testing.T) {
	t.Parallel()
	s := loadSpec(t)
	tmpl, err := Generate(repoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	var doc Template
	b, _ := json.Marshal(tmpl)
	json.Unmarshal(b, &doc)
	res := doc["Resources"].(map[string]any)
	bucket := res[idBucket].(map[string]any)["Properties"].(map[string]any)
	bucket["Versioning"] = map[string]any{"Status": "Enabled"}             // unknown property
	bucket["VersioningConfiguration"] = map[string]any{"State": "Enabled"} // wrong field, required one missing
	res[idMachine].(map[string]any)["Properties"].(map[string]any)["RoleArn"] = map[string]any{"Fn::GetAtt": []any{idMachineRole, "Name"}}
	res["Extra"] = map[string]any{"Type": "AWS::S3::Bukket"}
	res[idTopic].(map[string]any)["Properties"].(map[string]any)["DisplayName"] = map[string]any{"Ref": "NoSuchParameter"}
	errs := strings.Join(validateTemplate(s, doc), "\n")
	for _, want := range []string{`unknown property "Versioning"`, `unknown property "State"`, `required property "Status" is missing`,
		`AWS::IAM::Role has no attribute "Name"`, `unknown resource type "AWS::S3::Bukket"`, `Ref to unknown "NoSuchParameter"`} {
		if !strings.Contains(errs, want) {
			t.Errorf("validator missed %s; it said:\n%s", want, errs)
		}
	}
}
