package aws

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/landfall/landfall/catalog/dynamodb"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/rule"
)

// repoOptions reads the pipeline definitions the repository ships, as
// they are now (other states may have been added since this test was
// written: it checks what the files hold).
func repoOptions(t *testing.T) Options {
	t.Helper()
	root := testutil.RepoRoot(t)
	def, err := os.ReadFile(filepath.Join(root, "pipelines", "media.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := os.ReadFile(filepath.Join(root, "pipelines", "media.rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	return Options{Definition: def, DefinitionFile: "pipelines/media.asl.json", Rules: rules, RulesFile: "pipelines/media.rules.json",
		Tenants: []string{"acme", "globex"}, CodeBucket: "landfall-code"}
}

// roundTrip returns the template as JSON values (what CloudFormation reads).
func roundTrip(t *testing.T, tmpl Template) map[string]any {
	t.Helper()
	b, err := tmpl.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func resources(v map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for k, r := range v["Resources"].(map[string]any) {
		out[k] = r.(map[string]any)
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestTemplateFromDefinitions checks that the template is built from the
// two definition files as they are, with each resource configured as the
// AWS notes say.
func TestTemplateFromDefinitions(t *testing.T) {
	t.Parallel()
	o := repoOptions(t)
	tmpl, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	v := roundTrip(t, tmpl)
	res := resources(v)

	// The state machine is the definition file, unchanged but for
	// activity ARNs (filled from the stack's activities), with the
	// substitutions CloudFormation fills.
	var def any
	if err := json.Unmarshal(o.Definition, &def); err != nil {
		t.Fatal(err)
	}
	var want any
	_ = json.Unmarshal(o.Definition, &want)
	rewriteActivities(want, func(name string) string {
		return "${Activity" + strings.NewReplacer("-", "", "_", "").Replace(name) + "}"
	})
	sm := props(res[idMachine])
	if !reflect.DeepEqual(sm["Definition"], want) {
		t.Fatal("the state machine's Definition is not the definition file as written")
	}
	subs := sm["DefinitionSubstitutions"].(map[string]any)
	if js(subs["Region"]) != `{"Ref":"AWS::Region"}` || js(subs["AccountId"]) != `{"Ref":"AWS::AccountId"}` {
		t.Fatalf("DefinitionSubstitutions = %s", js(subs))
	}
	if dig(sm, "LoggingConfiguration", "Level") != "ERROR" || dig(sm, "LoggingConfiguration", "IncludeExecutionData") != false ||
		dig(sm, "TracingConfiguration", "Enabled") != true {
		t.Fatalf("logging/tracing: %s %s", js(sm["LoggingConfiguration"]), js(sm["TracingConfiguration"]))
	}
	if !strings.HasPrefix(js(props(res[idMachineLogs])["LogGroupName"]), `{"Fn::Sub":"/aws/vendedlogs/states/`) {
		t.Errorf("state machine log group: %s", js(props(res[idMachineLogs])))
	}
	if dig(props(res[idSampling]), "SamplingRule", "ServiceType") != "AWS::StepFunctions::StateMachine" {
		t.Errorf("no X-Ray sampling rule for the state machine")
	}

	// Every rule of the rules file, its pattern verbatim.
	specs, err := rule.ParseRulesFile(o.Rules)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range specs {
		er := res[logicalID("Rule", r.Name)]
		if er == nil {
			t.Fatalf("no EventBridge rule for %s", r.Name)
		}
		var want any
		json.Unmarshal(r.EventPattern, &want)
		if !reflect.DeepEqual(props(er)["EventPattern"], want) {
			t.Errorf("rule %s: EventPattern %s, want the file's %s", r.Name, js(props(er)["EventPattern"]), js(want))
		}
		tg := props(er)["Targets"].([]any)[0].(map[string]any)
		if js(tg["Arn"]) != `{"Ref":"`+idMachine+`"}` || js(dig(tg, "InputTransformer", "InputTemplate")) != js(r.Targets[0].InputTransformer.InputTemplate) {
			t.Errorf("rule %s target: %s", r.Name, js(tg))
		}
	}

	// One function per Lambda task the definition names, each with its
	// own role and log group; no role shared.
	lambdas, _, err := Scan(def)
	if err != nil {
		t.Fatal(err)
	}
	if len(lambdas) < 5 {
		t.Fatalf("found %d Lambda tasks in the definition", len(lambdas))
	}
	roles := map[string]string{}
	for _, l := range lambdas {
		fn := res[logicalID("Fn", l.Task)]
		if fn == nil {
			t.Fatalf("no function for landfall-%s", l.Task)
		}
		p := props(fn)
		if p["FunctionName"] != "landfall-"+l.Task {
			t.Errorf("function name %v", p["FunctionName"])
		}
		role := js(p["Role"])
		if other, dup := roles[role]; dup {
			t.Errorf("landfall-%s shares its role with landfall-%s", l.Task, other)
		}
		roles[role] = l.Task
		if dig(p, "TracingConfig", "Mode") != "Active" {
			t.Errorf("landfall-%s is not traced", l.Task)
		}
		lg := res[logicalID("Fn", l.Task)+"Logs"]
		if lg == nil || props(lg)["LogGroupName"] != "/aws/lambda/landfall-"+l.Task || props(lg)["RetentionInDays"] == nil {
			t.Errorf("landfall-%s: log group without retention: %s", l.Task, js(lg))
		}
		if Functions[l.Task].Native && !strings.Contains(js(p["Code"]), "ToolsImageUri") {
			t.Errorf("landfall-%s runs native tools but is not an image function", l.Task)
		}
		if !Functions[l.Task].Native && (p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap") {
			t.Errorf("landfall-%s: runtime %v handler %v", l.Task, p["Runtime"], p["Handler"])
		}
	}
	// The classify function reads incoming/ and no other prefix; persist
	// writes only the media table.
	classify := js(props(res["FnClassifyRole"]))
	if !strings.Contains(classify, `"/incoming/*"`) || strings.Contains(classify, `"/processed/*"`) || strings.Contains(classify, "s3:DeleteObject") {
		t.Errorf("classify's role: %s", classify)
	}
	persist := js(props(res["FnPersistRole"]))
	if strings.Contains(persist, "FailuresTable") || strings.Contains(persist, "CatalogTable") || !strings.Contains(persist, "MediaTable") {
		t.Errorf("persist's role reaches beyond the media table: %s", persist)
	}

	// The bucket: versioning, encryption, EventBridge, lifecycle.
	bp := props(res[idBucket])
	if dig(bp, "VersioningConfiguration", "Status") != "Enabled" || dig(bp, "NotificationConfiguration", "EventBridgeConfiguration", "EventBridgeEnabled") != true {
		t.Errorf("bucket: %s", js(bp))
	}
	lc := js(bp["LifecycleConfiguration"])
	for _, want := range []string{`"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":{"Ref":"AbortIncompleteUploadDays"}}`,
		`"NoncurrentVersionExpiration":{"NoncurrentDays":{"Ref":"ProcessedNoncurrentDays"}},"Prefix":"processed/"`} {
		if !strings.Contains(lc, want) {
			t.Errorf("lifecycle lacks %s: %s", want, lc)
		}
	}
	if !strings.Contains(js(bp["BucketEncryption"]), `"aws:kms"`) || !strings.Contains(js(bp["BucketEncryption"]), `"AES256"`) {
		t.Errorf("encryption is not KMS-or-SSE-S3: %s", js(bp["BucketEncryption"]))
	}
	if res[idBucket]["DeletionPolicy"] != "Retain" {
		t.Error("the media bucket is deleted with the stack")
	}

	// The tables are the DynamoDB driver's, keyed as the catalog expects.
	mt := props(res[idMediaTable])
	if js(mt["KeySchema"]) != `[{"AttributeName":"media_id","KeyType":"HASH"},{"AttributeName":"created_at","KeyType":"RANGE"}]` {
		t.Errorf("media table key: %s", js(mt["KeySchema"]))
	}
	if !strings.Contains(js(mt["GlobalSecondaryIndexes"]), `"IndexName":"`+dynamodb.IndexTenantStatus+`"`) {
		t.Errorf("no tenant/status index: %s", js(mt["GlobalSecondaryIndexes"]))
	}
	for _, id := range []string{idFailures, idCatalog, idTopic, idAlarm, "AccessPointAcme", "AccessPointGlobex", "TenantRoleAcme"} {
		if res[id] == nil {
			t.Errorf("no %s", id)
		}
	}
	if dig(props(res[idAlarm]), "MetricName") != "ExecutionsFailed" || js(props(res[idAlarm])["Threshold"]) != `{"Ref":"AlarmThreshold"}` {
		t.Errorf("alarm: %s", js(props(res[idAlarm])))
	}
	ap := js(props(res["AccessPointAcme"])["Policy"])
	if !strings.Contains(ap, "/object/incoming/acme/*") || strings.Contains(ap, "globex") {
		t.Errorf("acme's access point policy: %s", ap)
	}
	for _, p := range []string{"BucketName", "BedrockModelId", "AlarmThreshold", "AlertEmail", "AlertWebhook", "LogRetentionDays", "KmsKeyArn"} {
		if dig(v, "Parameters", p) == nil {
			t.Errorf("no parameter %s", p)
		}
	}
}

// TestTemplateYAML: the YAML form holds the same template.
func TestTemplateYAML(t *testing.T) {
	t.Parallel()
	tmpl, err := Generate(repoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	y, err := tmpl.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(y), "AWS::StepFunctions::StateMachine") || !strings.Contains(string(y), "Default: 30\n") {
		t.Fatalf("YAML template:\n%.2000s", y)
	}
}

// TestGenerateErrors: bad definitions, rules and options are refused
// with errors naming what and where.
func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	base := repoOptions(t)
	cases := []struct {
		name string
		edit func(o *Options)
		want string
	}{
		{"unknown function", func(o *Options) {
			o.Definition = []byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:${Region}:${AccountId}:function:landfall-teleport","End":true}}}`)
		}, "landfall-teleport (/States/A)"},
		{"foreign resource", func(o *Options) {
			o.Definition = []byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:other","End":true}}}`)
		}, "/States/A/Resource"},
		{"invalid definition", func(o *Options) { o.Definition = []byte(`{"StartAt":"Nowhere","States":{}}`) }, "pipelines/media.asl.json"},
		{"webhook target", func(o *Options) {
			o.Rules = []byte(`[{"name":"r","event_pattern":{"source":["x"]},"state":"ENABLED","targets":[{"id":"t","type":"webhook","url":"https://x.y/"}]}]`)
		}, "pipelines/media.rules.json/0/targets/0/type"},
		{"other state machine", func(o *Options) {
			o.Rules = []byte(`[{"name":"r","event_pattern":{"source":["x"]},"state":"ENABLED","targets":[{"id":"t","type":"workflow","state_machine":"other"}]}]`)
		}, `state_machine: "other"`},
		{"bad tenant", func(o *Options) { o.Tenants = []string{"Acme"} }, `tenants[0]: "Acme"`},
		{"bad retention", func(o *Options) { o.LogRetentionDays = 8 }, "log retention: 8 days"},
		{"bad arch", func(o *Options) { o.Architecture = "mips" }, "architecture"},
		{"http webhook", func(o *Options) { o.AlertWebhook = "http://x.y" }, "https://"},
		{"unprovisioned integration", func(o *Options) {
			o.Definition = []byte(`{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","Parameters":{"QueueUrl":"q","MessageBody":"m"},"End":true}}}`)
		}, "/States/A"},
	}
	for _, c := range cases {
		o := base
		c.edit(&o)
		_, err := Generate(o)
		if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want InvalidArgument naming %q", c.name, err, c.want)
		}
	}
}

// TestServiceIntegrations: a definition that calls services directly gets
// exactly those permissions on the state machine's role, and its
// activities are created.
func TestServiceIntegrations(t *testing.T) {
	t.Parallel()
	o := repoOptions(t)
	o.Definition = []byte(`{"StartAt":"Put","States":{
	  "Put":{"Type":"Task","Resource":"arn:aws:states:::dynamodb:putItem","Parameters":{"TableName":"${FailuresTable}","Item":{"failure_id":{"N":"1"}}},"Next":"Job"},
	  "Job":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:transcribe:startTranscriptionJob","Parameters":{"TranscriptionJobName":"j","Media":{"MediaFileUri":"s3://${Bucket}/incoming/a"}},"Next":"Labels"},
	  "Labels":{"Type":"Task","Resource":"arn:aws:states:::aws-sdk:rekognition:startLabelDetection","Parameters":{"Video":{"S3Object":{"Bucket":"${Bucket}","Name":"k"}}},"Next":"Review"},
	  "Review":{"Type":"Task","Resource":"arn:aws:states:${Region}:${AccountId}:activity:landfall-review","Next":"Alert"},
	  "Alert":{"Type":"Task","Resource":"arn:aws:states:::sns:publish","Parameters":{"TopicArn":"${AlertTopic}","Message":"m"},"End":true}}}`)
	tmpl, err := Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	res := resources(roundTrip(t, tmpl))
	role := js(props(res[idMachineRole]))
	for _, want := range []string{`"dynamodb:PutItem"`, `"transcribe:StartTranscriptionJob"`, `"rekognition:StartLabelDetection"`, `"sns:Publish"`} {
		if !strings.Contains(role, want) {
			t.Errorf("state machine role lacks %s: %s", want, role)
		}
	}
	if strings.Contains(role, "lambda:InvokeFunction") {
		t.Errorf("a definition without Lambda tasks may invoke functions: %s", role)
	}
	if res["ActivityLandfallReview"] == nil {
		t.Error("no activity resource for landfall-review")
	}
	for id := range res {
		if strings.HasPrefix(id, "Fn") {
			t.Errorf("function %s created for a definition without Lambda tasks", id)
		}
	}
}

// TestFunctionsCoverTasks: every task the pipeline serves has a function
// declaration, and every declared action is one AWS defines for its
// service prefix.
func TestFunctionsCoverTasks(t *testing.T) {
	t.Parallel()
	served := pipeline.New(pipeline.Options{}).Funcs()
	for name := range served {
		if _, ok := Functions[name]; !ok {
			t.Errorf("the pipeline serves landfall-%s, which has no function declaration in Functions", name)
		}
	}
	for name := range Functions {
		if _, ok := served[name]; !ok {
			t.Errorf("Functions declares landfall-%s, which the pipeline does not serve", name)
		}
	}
	all := map[string]Function{}
	for name, f := range Functions {
		all[name] = f
	}
	for name, f := range EventFunctions {
		all[name] = f
	}
	for name, f := range all {
		if f.Task != name || f.MemoryMB < 128 || f.TimeoutSeconds < 1 || f.TimeoutSeconds > 900 || len(f.Grants) == 0 {
			t.Errorf("%s: %+v", name, f)
		}
		for _, g := range f.Grants {
			for _, a := range g.Actions {
				svc, _, _ := strings.Cut(a, ":")
				if !slices.Contains([]string{"s3", "dynamodb", "bedrock", "transcribe", "rekognition", "events", "states", "iam"}, svc) {
					t.Errorf("%s: action %s of an unexpected service", name, a)
				}
			}
		}
	}
}

// TestJobCompletionPath: the stack resumes asynchronous jobs from their
// completion: an EventBridge rule on ended Transcribe jobs and the
// Rekognition Video topic invoke landfall-job-events, each through a
// permission confined to its source; Rekognition publishes as a role that
// may only publish to that topic; only the job functions may pass it, and
// the functions that resume tasks may do so on the media state machine
// only.
func TestJobCompletionPath(t *testing.T) {
	t.Parallel()
	tmpl, err := Generate(repoOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	res := resources(roundTrip(t, tmpl))
	rule := props(res[idJobsRule])
	if js(rule["EventPattern"]) != `{"detail":{"TranscriptionJobStatus":["COMPLETED","FAILED"]},"detail-type":["Transcribe Job State Change"],"source":["aws.transcribe"]}` ||
		js(dig(rule, "Targets")) != `[{"Arn":{"Fn::GetAtt":["FnJobEvents","Arn"]},"Id":"job-events"}]` {
		t.Fatalf("rule: %s", js(rule))
	}
	for id, want := range map[string]string{
		idJobsRule + "InvokePermission":  `{"Action":"lambda:InvokeFunction","FunctionName":{"Ref":"FnJobEvents"},"Principal":"events.amazonaws.com","SourceArn":{"Fn::GetAtt":["TranscribeJobStateChangeRule","Arn"]}}`,
		idJobsTopic + "InvokePermission": `{"Action":"lambda:InvokeFunction","FunctionName":{"Ref":"FnJobEvents"},"Principal":"sns.amazonaws.com","SourceArn":{"Ref":"RekognitionJobsTopic"}}`,
		idJobsTopic + "Subscription":     `{"Endpoint":{"Fn::GetAtt":["FnJobEvents","Arn"]},"Protocol":"lambda","TopicArn":{"Ref":"RekognitionJobsTopic"}}`,
	} {
		if got := js(props(res[id])); got != want {
			t.Errorf("%s: %s, want %s", id, got, want)
		}
	}
	role := props(res[idJobsRole])
	if js(dig(role, "AssumeRolePolicyDocument", "Statement")) != `[{"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}},"Effect":"Allow","Principal":{"Service":"rekognition.amazonaws.com"}}]` ||
		!strings.Contains(js(role["Policies"]), `"Statement":[{"Action":"sns:Publish","Effect":"Allow","Resource":{"Ref":"RekognitionJobsTopic"}}]`) {
		t.Fatalf("publish role: %s", js(role))
	}
	// Who may pass the publish role and resume tasks.
	for id, r := range res {
		if r["Type"] != "AWS::IAM::Role" || !strings.HasPrefix(id, "Fn") {
			continue
		}
		pol := js(props(r)["Policies"])
		task := strings.TrimSuffix(strings.TrimPrefix(id, "Fn"), "Role")
		passes := strings.Contains(pol, "iam:PassRole")
		if passes != (task == "LabelsJob" || task == "ModerateJob") {
			t.Errorf("%s: iam:PassRole %v", id, passes)
		}
		if passes && !strings.Contains(pol, `"Action":["iam:PassRole"],"Effect":"Allow","Resource":[{"Fn::GetAtt":["RekognitionPublishRole","Arn"]}]`) {
			t.Errorf("%s passes more than the publish role: %s", id, pol)
		}
		resumes := strings.Contains(pol, "states:SendTaskSuccess")
		if resumes != (strings.HasSuffix(task, "Job") || task == "JobEvents") {
			t.Errorf("%s: states:SendTaskSuccess %v", id, resumes)
		}
		if resumes && !strings.Contains(pol, `"Resource":[{"Fn::Sub":"arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-media"}]`) {
			t.Errorf("%s resumes tasks beyond the media state machine: %s", id, pol)
		}
	}
	for _, fn := range []string{"FnJobEvents", "FnTranscribeJob", "FnLabelsJob", "FnModerateJob"} {
		if got := js(props(res[fn])["EphemeralStorage"]); got != `{"Size":10240}` {
			t.Errorf("%s: /tmp %s, want 10240 MiB (it copies whole originals)", fn, got)
		}
	}
	env := js(dig(props(res["FnRegister"]), "Environment", "Variables"))
	for _, k := range []string{`"LANDFALL_ASYNC_JOBS":{"Ref":"AsyncJobs"}`, `"LANDFALL_REKOGNITION_TOPIC":{"Ref":"RekognitionJobsTopic"}`} {
		if !strings.Contains(env, k) {
			t.Errorf("register's environment lacks %s: %s", k, env)
		}
	}
}
