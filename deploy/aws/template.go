// Package aws builds Landfall's AWS deployment from the same definitions
// the local engine runs: the rules file becomes EventBridge rules, the
// state machine definition becomes a Step Functions state machine (with
// DefinitionSubstitutions for ${Region} and ${AccountId}), and each
// Lambda task it names becomes a function with its own narrowly scoped
// role, running the same task code (cmd/landfall-lambda). Generate
// returns the CloudFormation template; Deploy creates or updates a stack
// from it through a change set.
package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/rule"
)

// Options are the inputs of Generate. Everything a stack may vary
// between deployments is a template parameter whose default comes from
// here; tenants are fixed at generation (one access point each).
type Options struct {
	// Definition and Rules are the contents of the state machine
	// definition (JSON or YAML) and the rules file; DefinitionFile and
	// RulesFile name them in errors.
	Definition     []byte
	DefinitionFile string
	Rules          []byte
	RulesFile      string
	// StateMachine is the name rules' workflow targets use for this
	// definition ("media").
	StateMachine string
	// Tenants get an S3 access point each, confined to their prefixes.
	Tenants []string
	// Defaults of the template's parameters.
	BucketName          string // "" lets CloudFormation name the bucket
	BedrockModel        string
	AlarmThreshold      int
	AlertEmail          string
	AlertWebhook        string
	LogRetentionDays    int
	KMSKeyARN           string // "" is SSE-S3
	AbortMultipartDays  int
	ProcessedNoncurrent int // days before noncurrent processed/ versions expire
	WorkExpirationDays  int
	TraceSamplingRate   float64
	Architecture        string // arm64 or x86_64
	CodeBucket          string // where the function zip is uploaded
	CodeKey             string
	ImageURI            string // the container image of native tasks
}

// Defaults fills zero options with Landfall's defaults.
func (o *Options) Defaults() {
	if o.StateMachine == "" {
		o.StateMachine = "media"
	}
	if o.BedrockModel == "" {
		o.BedrockModel = "anthropic.claude-3-5-haiku-20241022-v1:0"
	}
	if o.AlarmThreshold == 0 {
		o.AlarmThreshold = 5
	}
	if o.LogRetentionDays == 0 {
		o.LogRetentionDays = 30
	}
	if o.AbortMultipartDays == 0 {
		o.AbortMultipartDays = 7
	}
	if o.ProcessedNoncurrent == 0 {
		o.ProcessedNoncurrent = 30
	}
	if o.WorkExpirationDays == 0 {
		o.WorkExpirationDays = 14
	}
	if o.TraceSamplingRate == 0 {
		o.TraceSamplingRate = 0.05
	}
	if o.Architecture == "" {
		o.Architecture = "arm64"
	}
	if o.CodeKey == "" {
		o.CodeKey = "landfall/lambda-" + o.Architecture + ".zip"
	}
}

// Template is a CloudFormation template.
type Template map[string]any

// JSON returns the template as indented JSON.
func (t Template) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// YAML returns the template as YAML (intrinsic functions in their long
// "Fn::" form, which CloudFormation's YAML accepts).
func (t Template) YAML() ([]byte, error) {
	// Round-trip through JSON so the YAML holds plain maps, sorted.
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return yaml.MarshalWithOptions(integers(v), yaml.UseLiteralStyleIfMultiline(true))
}

// integers turns whole float64s back into integers, so YAML writes 30,
// not 30.0 (CloudFormation compares AllowedValues as written).
func integers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = integers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = integers(x)
		}
	case float64:
		if t == float64(int64(t)) {
			return int64(t)
		}
	}
	return v
}

// Intrinsic functions.
func ref(name string) any              { return map[string]any{"Ref": name} }
func getAtt(res, attr string) any      { return map[string]any{"Fn::GetAtt": []any{res, attr}} }
func sub(s string) any                 { return map[string]any{"Fn::Sub": s} }
func ifThen(cond string, a, b any) any { return map[string]any{"Fn::If": []any{cond, a, b}} }
func noValue() any                     { return ref("AWS::NoValue") }

// LambdaTask is a Lambda function the definition invokes.
type LambdaTask struct {
	Task   string // after "landfall-"
	States []string
}

// Integration is a service Step Functions calls itself (not a Lambda).
type Integration struct {
	Resource string
	States   []string
}

// Scan lists the Lambda functions and the service integrations a
// definition's Task states use, with the JSON pointer of each state.
func Scan(def any) (lambdas []LambdaTask, integrations []Integration, err error) {
	root, ok := def.(map[string]any)
	if !ok {
		return nil, nil, errcode.New(errcode.Invalid, "definition: not a JSON object")
	}
	lam := map[string][]string{}
	svc := map[string][]string{}
	var errs []string
	var walk func(states map[string]any, ptr string)
	walk = func(states map[string]any, ptr string) {
		names := make([]string, 0, len(states))
		for n := range states {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			st, _ := states[name].(map[string]any)
			p := ptr + "/" + escapePtr(name)
			if st == nil {
				continue
			}
			if bs, ok := st["Branches"].([]any); ok {
				for i, b := range bs {
					if bm, ok := b.(map[string]any); ok {
						if ss, ok := bm["States"].(map[string]any); ok {
							walk(ss, fmt.Sprintf("%s/Branches/%d/States", p, i))
						}
					}
				}
			}
			for _, k := range []string{"ItemProcessor", "Iterator"} {
				if ip, ok := st[k].(map[string]any); ok {
					if ss, ok := ip["States"].(map[string]any); ok {
						walk(ss, p+"/"+k+"/States")
					}
				}
			}
			if st["Type"] != "Task" {
				continue
			}
			res, _ := st["Resource"].(string)
			if task, ok := lambdaTask(res, st); ok {
				lam[task] = append(lam[task], p)
				continue
			}
			if strings.HasPrefix(res, "arn:aws:states:::") || strings.Contains(res, ":activity:") {
				svc[res] = append(svc[res], p)
				continue
			}
			errs = append(errs, fmt.Sprintf("%s/Resource: %q is neither a Landfall Lambda function (arn:aws:lambda:${Region}:${AccountId}:function:landfall-TASK) nor a Step Functions service integration", p, res))
		}
	}
	states, _ := root["States"].(map[string]any)
	walk(states, "/States")
	if len(errs) > 0 {
		return nil, nil, errcode.New(errcode.Invalid, "%s", strings.Join(errs, "; "))
	}
	for _, t := range sortedKeys(lam) {
		lambdas = append(lambdas, LambdaTask{Task: t, States: lam[t]})
	}
	for _, r := range sortedKeys(svc) {
		integrations = append(integrations, Integration{Resource: r, States: svc[r]})
	}
	return lambdas, integrations, nil
}

func escapePtr(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

var lambdaARN = regexp.MustCompile(`^arn:aws:lambda:\$\{Region\}:\$\{AccountId\}:function:landfall-([a-z0-9-]+)(:[A-Za-z0-9$_-]+)?$`)

// lambdaTask recognises a Landfall function, called directly by ARN or
// through arn:aws:states:::lambda:invoke with FunctionName.
func lambdaTask(res string, st map[string]any) (string, bool) {
	if m := lambdaARN.FindStringSubmatch(res); m != nil {
		return m[1], true
	}
	if strings.HasPrefix(res, "arn:aws:states:::lambda:invoke") {
		for _, k := range []string{"Parameters", "Arguments"} {
			if p, ok := st[k].(map[string]any); ok {
				if fn, ok := p["FunctionName"].(string); ok {
					if m := lambdaARN.FindStringSubmatch(fn); m != nil {
						return m[1], true
					}
					if t, ok := strings.CutPrefix(fn, "landfall-"); ok {
						return t, true
					}
				}
			}
		}
	}
	return "", false
}

// Substitutions are the DefinitionSubstitutions the template passes to
// the state machine: ${Region} and ${AccountId} as in the Lambda ARNs,
// and the stack's resources for direct service integrations.
var Substitutions = []string{"Region", "AccountId", "Bucket", "MediaTable", "FailuresTable", "CatalogTable", "AlertTopic"}

// tablePrefix is the DynamoDB table-name prefix of a stack.
func tablePrefix() any { return sub("${AWS::StackName}-") }

// Generate builds the template. The definition must pass the same
// validation as `landfall states validate` (with the substitutions
// filled), every rule must parse, every workflow target must name
// opts.StateMachine, and every Lambda task must be one of Functions.
func Generate(opts Options) (Template, error) {
	opts.Defaults()
	if err := checkOptions(&opts); err != nil {
		return nil, err
	}
	def, err := validateDefinition(opts)
	if err != nil {
		return nil, err
	}
	rules, err := rule.ParseRulesFile(opts.Rules)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "%s", opts.RulesFile)
	}
	lambdas, integrations, err := Scan(def)
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "%s", opts.DefinitionFile)
	}
	var unknown []string
	for _, l := range lambdas {
		if _, ok := Functions[l.Task]; !ok {
			unknown = append(unknown, fmt.Sprintf("landfall-%s (%s)", l.Task, strings.Join(l.States, ", ")))
		}
	}
	if len(unknown) > 0 {
		return nil, errcode.New(errcode.Invalid, "%s: no Lambda function is defined for %s: add the task to deploy/aws.Functions with its permissions",
			opts.DefinitionFile, strings.Join(unknown, "; "))
	}

	b := &builder{opts: opts, res: map[string]any{}, out: map[string]any{}}
	b.parameters()
	b.conditions()
	b.bucket()
	b.tables()
	b.alerts()
	b.functions(lambdas)
	if err := b.stateMachine(def, lambdas, integrations); err != nil {
		return nil, err
	}
	if err := b.rules(rules); err != nil {
		return nil, err
	}
	b.tenants()
	return Template{
		"AWSTemplateFormatVersion": "2010-09-09",
		"Description":              "Landfall: media lands in S3, EventBridge starts the media state machine, Lambda tasks analyse it, DynamoDB keeps the catalog. Generated by landfall deploy aws from " + opts.DefinitionFile + " and " + opts.RulesFile + ".",
		"Metadata":                 b.metadata(lambdas, integrations),
		"Parameters":               b.params,
		"Conditions":               b.conds,
		"Resources":                b.res,
		"Outputs":                  b.out,
	}, nil
}

var tenantRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,29}$`)

func checkOptions(o *Options) error {
	seen := map[string]bool{}
	for i, t := range o.Tenants {
		if !tenantRe.MatchString(t) {
			return errcode.New(errcode.Invalid, "tenants[%d]: %q must be 1–30 of a-z, 0-9 and '-', starting with a letter or digit (it names an S3 access point)", i, t)
		}
		if seen[t] {
			return errcode.New(errcode.Invalid, "tenants[%d]: %q appears twice", i, t)
		}
		seen[t] = true
	}
	switch o.Architecture {
	case "arm64", "x86_64":
	default:
		return errcode.New(errcode.Invalid, "architecture: %q (want arm64 or x86_64)", o.Architecture)
	}
	if o.AlarmThreshold < 1 {
		return errcode.New(errcode.Invalid, "alarm threshold: %d (want at least 1)", o.AlarmThreshold)
	}
	if !validRetention[o.LogRetentionDays] {
		return errcode.New(errcode.Invalid, "log retention: %d days is not one CloudWatch Logs offers (%s)", o.LogRetentionDays, retentionList())
	}
	if o.TraceSamplingRate < 0 || o.TraceSamplingRate > 1 {
		return errcode.New(errcode.Invalid, "trace sampling rate: %g (want 0–1)", o.TraceSamplingRate)
	}
	if o.AlertWebhook != "" && !strings.HasPrefix(o.AlertWebhook, "https://") {
		return errcode.New(errcode.Invalid, "alert webhook: %q must be an https:// URL (SNS delivers to it)", o.AlertWebhook)
	}
	if o.BucketName != "" && !regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`).MatchString(o.BucketName) {
		return errcode.New(errcode.Invalid, "bucket name: %q is not a valid S3 bucket name", o.BucketName)
	}
	for _, d := range []struct {
		name string
		v    int
	}{{"abort multipart days", o.AbortMultipartDays}, {"processed noncurrent days", o.ProcessedNoncurrent}, {"work expiration days", o.WorkExpirationDays}} {
		if d.v < 1 {
			return errcode.New(errcode.Invalid, "%s: %d (want at least 1)", d.name, d.v)
		}
	}
	return nil
}

var validRetention = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true, 150: true,
	180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true, 2922: true, 3288: true, 3653: true}

func retentionList() string {
	var ks []int
	for k := range validRetention {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = fmt.Sprint(k)
	}
	return strings.Join(s, ", ")
}

// validateDefinition parses the definition as `landfall states validate`
// does, with every substitution filled by a placeholder of the right
// shape, and returns the definition as written (substitutions kept).
func validateDefinition(o Options) (any, error) {
	subs := map[string]string{"Region": "us-east-1", "AccountId": "123456789012", "Bucket": "landfall-media",
		"MediaTable": "landfall-media", "FailuresTable": "landfall-failures", "CatalogTable": "landfall-catalog",
		"AlertTopic": "arn:aws:sns:us-east-1:123456789012:landfall-alerts"}
	if _, err := asl.Parse(o.Definition, asl.ParseOptions{Substitutions: subs}); err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "%s", o.DefinitionFile)
	}
	m, err := asl.Parse(o.Definition, asl.ParseOptions{})
	if err != nil {
		return nil, errcode.Wrap(errcode.Invalid, err, "%s", o.DefinitionFile)
	}
	return m.Definition(), nil
}
