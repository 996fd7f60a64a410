package aws

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dt "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/landfall/landfall/catalog/dynamodb"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/rule"
)

type builder struct {
	opts   Options
	params map[string]any
	conds  map[string]any
	res    map[string]any
	out    map[string]any
}

// Logical ids.
const (
	idBucket       = "MediaBucket"
	idBucketPolicy = "MediaBucketPolicy"
	idMediaTable   = "MediaTable"
	idFailures     = "FailuresTable"
	idCatalog      = "CatalogTable"
	idTopic        = "AlertTopic"
	idAlarm        = "FailedExecutionsAlarm"
	idMachine      = "MediaStateMachine"
	idMachineRole  = "MediaStateMachineRole"
	idMachineLogs  = "MediaStateMachineLogs"
	idEventsRole   = "EventsStartExecutionRole"
	idSampling     = "StateMachineSamplingRule"
	idJobsTopic    = "RekognitionJobsTopic"
	idJobsRole     = "RekognitionPublishRole"
	idJobsRule     = "TranscribeJobStateChangeRule"
)

// logicalID turns a task or rule name into a CloudFormation logical id.
func logicalID(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	up := true
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z':
			if up {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			up = false
		default:
			up = true
		}
	}
	return b.String()
}

func (b *builder) parameters() {
	o := b.opts
	b.params = map[string]any{
		"BucketName": map[string]any{"Type": "String", "Default": o.BucketName,
			"Description":    "Name of the media bucket; empty lets CloudFormation choose one.",
			"AllowedPattern": "^$|^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"},
		"BedrockModelId": map[string]any{"Type": "String", "Default": o.BedrockModel,
			"Description": "Bedrock model the summarise function calls (it may invoke only this model)."},
		"AlarmThreshold": map[string]any{"Type": "Number", "Default": o.AlarmThreshold, "MinValue": 1,
			"Description": "Failed executions within 5 minutes that raise the alarm."},
		"AlertEmail": map[string]any{"Type": "String", "Default": o.AlertEmail,
			"Description": "E-mail address subscribed to the alert topic (empty: none)."},
		"AlertWebhook": map[string]any{"Type": "String", "Default": o.AlertWebhook, "AllowedPattern": "^$|^https://.+",
			"Description": "HTTPS endpoint subscribed to the alert topic (empty: none)."},
		"LogRetentionDays": map[string]any{"Type": "Number", "Default": o.LogRetentionDays,
			"AllowedValues": retentionValues(), "Description": "Days CloudWatch Logs keeps the state machine's and the functions' logs."},
		"KmsKeyArn": map[string]any{"Type": "String", "Default": o.KMSKeyARN,
			"Description": "KMS key for the bucket's default encryption (empty: SSE-S3)."},
		"AbortIncompleteUploadDays": map[string]any{"Type": "Number", "Default": o.AbortMultipartDays, "MinValue": 1,
			"Description": "Days after which incomplete multipart uploads are aborted (their parts cost storage otherwise)."},
		"ProcessedNoncurrentDays": map[string]any{"Type": "Number", "Default": o.ProcessedNoncurrent, "MinValue": 1,
			"Description": "Days a replaced or deleted version under processed/ is kept."},
		"WorkExpirationDays": map[string]any{"Type": "Number", "Default": o.WorkExpirationDays, "MinValue": 1,
			"Description": "Days the intermediate task results under work/ are kept."},
		"TraceSamplingRate": map[string]any{"Type": "Number", "Default": o.TraceSamplingRate, "MinValue": 0, "MaxValue": 1,
			"Description": "Share of executions X-Ray traces."},
		"CodeS3Bucket": map[string]any{"Type": "String", "MinLength": 3,
			"Description": "Bucket holding the functions' zip (landfall deploy aws uploads it)."},
		"CodeS3Key": map[string]any{"Type": "String", "Default": o.CodeKey, "MinLength": 1,
			"Description": "Key of the zip holding the bootstrap binary."},
		"AsyncJobs": map[string]any{"Type": "String", "Default": "true", "AllowedValues": []any{"true", "false"},
			"Description": "Run Transcribe and Rekognition Video as asynchronous jobs resumed by their completion (an EventBridge rule and an SNS topic invoking the job-events function); false polls Transcribe from the function and labels videos on keyframes."},
		"ModerationPolicy": map[string]any{"Type": "String", "Default": "",
			"Description": `The installation's moderation policy as JSON, {"review":[{"label":"Alcohol","min_confidence":80}],"reject":[…]} (labels, parents or "*"); empty: every item passes. Persist keeps the frames that triggered a rule as evidence.`},
		"ToolsImageUri": map[string]any{"Type": "String", "Default": o.ImageURI,
			"Description": "Container image (deploy/aws/Dockerfile, pushed to ECR) of the functions that run ffmpeg and tesseract; empty deploys them as zip functions, which then fail with Tool.Missing."},
	}
}

// withDefault sets a parameter's default when v is not empty.
func withDefault(p map[string]any, v string) map[string]any {
	if v != "" {
		p["Default"] = v
	}
	return p
}

func retentionValues() []any {
	var ks []int
	for k := range validRetention {
		ks = append(ks, k)
	}
	sort.Ints(ks)
	out := make([]any, len(ks))
	for i, k := range ks {
		out[i] = k
	}
	return out
}

func notEmpty(param string) any {
	return map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{ref(param), ""}}}}
}

func (b *builder) conditions() {
	withDefault(b.params["CodeS3Bucket"].(map[string]any), b.opts.CodeBucket)
	b.conds = map[string]any{
		"HasBucketName":   notEmpty("BucketName"),
		"UseKms":          notEmpty("KmsKeyArn"),
		"HasAlertEmail":   notEmpty("AlertEmail"),
		"HasAlertWebhook": notEmpty("AlertWebhook"),
		"HasToolsImage":   notEmpty("ToolsImageUri"),
	}
}

// objects is the ARN of the bucket's objects under prefix.
func objects(prefix string) any {
	return map[string]any{"Fn::Join": []any{"", []any{getAtt(idBucket, "Arn"), "/" + prefix}}}
}

func retain(r map[string]any) map[string]any {
	r["DeletionPolicy"] = "Retain"
	r["UpdateReplacePolicy"] = "Retain"
	return r
}

func (b *builder) bucket() {
	b.res[idBucket] = retain(map[string]any{
		"Type": "AWS::S3::Bucket",
		"Properties": map[string]any{
			"BucketName":              ifThen("HasBucketName", ref("BucketName"), noValue()),
			"VersioningConfiguration": map[string]any{"Status": "Enabled"},
			"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
				ifThen("UseKms",
					map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ref("KmsKeyArn")}, "BucketKeyEnabled": true},
					map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}}),
			}},
			// Object Created events go to EventBridge, where the rules
			// from the rules file match them (no S3 notification targets).
			"NotificationConfiguration": map[string]any{"EventBridgeConfiguration": map[string]any{"EventBridgeEnabled": true}},
			"LifecycleConfiguration": map[string]any{"Rules": []any{
				map[string]any{"Id": "abort-incomplete-uploads", "Status": "Enabled", "Prefix": "",
					"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": ref("AbortIncompleteUploadDays")}},
				map[string]any{"Id": "expire-processed-noncurrent", "Status": "Enabled", "Prefix": "processed/",
					"NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": ref("ProcessedNoncurrentDays")}},
				map[string]any{"Id": "expire-work", "Status": "Enabled", "Prefix": "work/",
					"ExpirationInDays": ref("WorkExpirationDays"), "NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": 1}},
				// Moving a file to processed/ deletes its incoming/ key;
				// the noncurrent version would otherwise be kept forever.
				map[string]any{"Id": "expire-incoming-noncurrent", "Status": "Enabled", "Prefix": "incoming/",
					"NoncurrentVersionExpiration": map[string]any{"NoncurrentDays": ref("ProcessedNoncurrentDays")}},
			}},
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true,
				"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"OwnershipControls": map[string]any{"Rules": []any{map[string]any{"ObjectOwnership": "BucketOwnerEnforced"}}},
		},
	})
	b.res[idBucketPolicy] = map[string]any{
		"Type": "AWS::S3::BucketPolicy",
		"Properties": map[string]any{
			"Bucket": ref(idBucket),
			"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{
				map[string]any{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
					"Resource":  []any{getAtt(idBucket, "Arn"), objects("*")},
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}},
				// Access control is delegated to the tenants' access
				// points: a request through an access point of this
				// account is decided by that access point's policy.
				map[string]any{"Sid": "DelegateToAccessPoints", "Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
					"Action":    []any{"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListBucket"},
					"Resource":  []any{getAtt(idBucket, "Arn"), objects("*")},
					"Condition": map[string]any{"StringEquals": map[string]any{"s3:DataAccessPointAccount": ref("AWS::AccountId")}}},
			}},
		},
	}
	b.out["BucketName"] = map[string]any{"Value": ref(idBucket), "Description": "Upload to incoming/<tenant>/ (through the tenant's access point)."}
}

// tables turns the DynamoDB driver's table definitions into resources,
// so the stack's tables are exactly what the catalog driver opens.
func (b *builder) tables() {
	ids := map[string]string{"media": idMediaTable, "failures": idFailures, "catalog": idCatalog}
	for _, t := range dynamodb.Tables("") {
		name := *t.TableName
		id := ids[name]
		b.res[id] = retain(map[string]any{
			"Type":       "AWS::DynamoDB::Table",
			"Properties": tableProps(t, name),
		})
		b.out[id] = map[string]any{"Value": ref(id)}
	}
}

func tableProps(t *ddb.CreateTableInput, name string) map[string]any {
	var attrs, keys, gsis []any
	for _, a := range t.AttributeDefinitions {
		attrs = append(attrs, map[string]any{"AttributeName": *a.AttributeName, "AttributeType": string(a.AttributeType)})
	}
	keySchema := func(ks []ddbKey) []any {
		var out []any
		for _, k := range ks {
			out = append(out, map[string]any{"AttributeName": k.name, "KeyType": k.typ})
		}
		return out
	}
	keys = keySchema(keysOf(t.KeySchema))
	for _, g := range t.GlobalSecondaryIndexes {
		gsis = append(gsis, map[string]any{"IndexName": *g.IndexName, "KeySchema": keySchema(keysOf(g.KeySchema)),
			"Projection": map[string]any{"ProjectionType": string(g.Projection.ProjectionType)}})
	}
	p := map[string]any{
		"TableName":                        sub("${AWS::StackName}-" + name),
		"BillingMode":                      "PAY_PER_REQUEST",
		"AttributeDefinitions":             attrs,
		"KeySchema":                        keys,
		"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
		"SSESpecification":                 map[string]any{"SSEEnabled": true},
		"DeletionProtectionEnabled":        true,
	}
	if len(gsis) > 0 {
		p["GlobalSecondaryIndexes"] = gsis
	}
	return p
}

type ddbKey struct{ name, typ string }

func keysOf(ks []dt.KeySchemaElement) []ddbKey {
	out := make([]ddbKey, len(ks))
	for i, k := range ks {
		out[i] = ddbKey{*k.AttributeName, string(k.KeyType)}
	}
	return out
}

func (b *builder) alerts() {
	b.res[idTopic] = map[string]any{
		"Type": "AWS::SNS::Topic",
		"Properties": map[string]any{
			"DisplayName":    sub("Landfall ${AWS::StackName} alerts"),
			"KmsMasterKeyId": "alias/aws/sns",
		},
	}
	b.res["AlertEmailSubscription"] = map[string]any{
		"Type": "AWS::SNS::Subscription", "Condition": "HasAlertEmail",
		"Properties": map[string]any{"TopicArn": ref(idTopic), "Protocol": "email", "Endpoint": ref("AlertEmail")},
	}
	b.res["AlertWebhookSubscription"] = map[string]any{
		"Type": "AWS::SNS::Subscription", "Condition": "HasAlertWebhook",
		"Properties": map[string]any{"TopicArn": ref(idTopic), "Protocol": "https", "Endpoint": ref("AlertWebhook")},
	}
	// CloudWatch publishes to a topic encrypted with the AWS-managed
	// key only when the topic policy lets it; it needs no KMS grant for
	// alias/aws/sns.
	b.res["AlertTopicPolicy"] = map[string]any{
		"Type": "AWS::SNS::TopicPolicy",
		"Properties": map[string]any{"Topics": []any{ref(idTopic)}, "PolicyDocument": map[string]any{"Version": "2012-10-17",
			"Statement": []any{map[string]any{"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
				"Action": "sns:Publish", "Resource": ref(idTopic),
				"Condition": map[string]any{"ArnLike": map[string]any{"aws:SourceArn": sub("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*")}}}}}},
	}
	b.res[idAlarm] = map[string]any{
		"Type": "AWS::CloudWatch::Alarm",
		"Properties": map[string]any{
			"AlarmDescription":   sub("Landfall ${AWS::StackName}: media executions failing past the threshold (the failures table has the details)."),
			"Namespace":          "AWS/States",
			"MetricName":         "ExecutionsFailed",
			"Dimensions":         []any{map[string]any{"Name": "StateMachineArn", "Value": ref(idMachine)}},
			"Statistic":          "Sum",
			"Period":             300,
			"EvaluationPeriods":  1,
			"Threshold":          ref("AlarmThreshold"),
			"ComparisonOperator": "GreaterThanOrEqualToThreshold",
			"TreatMissingData":   "notBreaching",
			"AlarmActions":       []any{ref(idTopic)},
			"OKActions":          []any{ref(idTopic)},
		},
	}
	b.out["AlertTopicArn"] = map[string]any{"Value": ref(idTopic)}
}

// resourceARN is the ARN (or ARNs) of a grant's resource.
func resourceARN(r Res, machine string) []any {
	table := func(id string) any { return getAtt(id, "Arn") }
	index := func(id string) any {
		return map[string]any{"Fn::Join": []any{"", []any{getAtt(id, "Arn"), "/index/*"}}}
	}
	switch r {
	case ResIncoming:
		return []any{objects("incoming/*")}
	case ResWork:
		return []any{objects("work/*")}
	case ResProcessed:
		return []any{objects("processed/*")}
	case ResMediaTable:
		return []any{table(idMediaTable)}
	case ResMediaIndexes:
		return []any{index(idMediaTable)}
	case ResFailures:
		return []any{table(idFailures)}
	case ResFailuresIndex:
		return []any{index(idFailures)}
	case ResCatalogTable:
		return []any{table(idCatalog)}
	case ResBedrockModel:
		return []any{sub("arn:${AWS::Partition}:bedrock:${AWS::Region}::foundation-model/${BedrockModelId}")}
	case ResTranscribe, ResRekognition:
		return []any{"*"}
	case ResDefaultBus:
		return []any{sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")}
	case ResStateMachine:
		// By name, not Ref: the state machine's role invokes the functions
		// whose roles name it.
		return []any{stateMachineARN(machine)}
	case ResRekognitionRole:
		return []any{getAtt(idJobsRole, "Arn")}
	}
	panic("deploy/aws: no ARN for " + string(r))
}

// policyOf renders grants as IAM statements, one per resource, actions
// sorted, so the role grants exactly the declared list.
func policyOf(grants []Grant, machine string) []any {
	byRes := map[Res]map[string]bool{}
	for _, g := range grants {
		if byRes[g.On] == nil {
			byRes[g.On] = map[string]bool{}
		}
		for _, a := range g.Actions {
			byRes[g.On][a] = true
		}
	}
	var res []string
	for r := range byRes {
		res = append(res, string(r))
	}
	sort.Strings(res)
	var st []any
	for _, r := range res {
		acts := sortedKeys(byRes[Res(r)])
		st = append(st, map[string]any{"Sid": sid(r), "Effect": "Allow", "Action": toAny(acts), "Resource": resourceARN(Res(r), machine)})
	}
	return st
}

func sid(r string) string { return logicalID("", r) }

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func usesBucket(grants []Grant) bool {
	for _, g := range grants {
		if strings.HasPrefix(string(g.On), "bucket:") {
			return true
		}
	}
	return false
}

func assumeRole(service string) map[string]any {
	return map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"Service": service}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}}}}}
}

// functions adds, for each Lambda task of the definition, its log group
// (with retention: Lambda's own never expire), its role (the declared
// grants, its log group, X-Ray, the KMS key when the bucket uses one) and
// the function.
func (b *builder) functions(lambdas []LambdaTask) {
	for _, l := range lambdas {
		b.function(l.Task, Functions[l.Task], "Landfall task "+l.Task+" ("+strings.Join(l.States, ", ")+")")
	}
	// The completion path of asynchronous jobs, when the definition
	// starts any (a <task>-job function).
	for _, l := range lambdas {
		if strings.HasSuffix(l.Task, "-job") {
			f := EventFunctions[JobEventsFunction]
			b.function(JobEventsFunction, f, "Landfall "+JobEventsFunction+": resumes executions waiting for asynchronous jobs from their completion events")
			b.jobEvents()
			return
		}
	}
}

// function adds one function with its log group and role.
func (b *builder) function(task string, f Function, description string) {
	{
		l := LambdaTask{Task: task}
		name := "landfall-" + l.Task
		id := logicalID("Fn", l.Task)
		logID, roleID := id+"Logs", id+"Role"
		b.res[logID] = map[string]any{
			"Type":       "AWS::Logs::LogGroup",
			"Properties": map[string]any{"LogGroupName": "/aws/lambda/" + name, "RetentionInDays": ref("LogRetentionDays")},
		}
		stmts := policyOf(f.Grants, b.opts.StateMachine)
		stmts = append(stmts,
			map[string]any{"Sid": "OwnLogs", "Effect": "Allow", "Action": []any{"logs:CreateLogStream", "logs:PutLogEvents"},
				"Resource": map[string]any{"Fn::Join": []any{"", []any{getAtt(logID, "Arn")}}}},
			map[string]any{"Sid": "Tracing", "Effect": "Allow", "Action": []any{"xray:PutTelemetryRecords", "xray:PutTraceSegments"}, "Resource": "*"})
		if usesBucket(f.Grants) {
			stmts = append(stmts, ifThen("UseKms", map[string]any{"Sid": "BucketKey", "Effect": "Allow",
				"Action": []any{"kms:Decrypt", "kms:GenerateDataKey"}, "Resource": ref("KmsKeyArn")}, noValue()))
		}
		b.res[roleID] = map[string]any{
			"Type": "AWS::IAM::Role",
			"Properties": map[string]any{
				"Description":              "Landfall " + name + ": only what this task's code calls",
				"AssumeRolePolicyDocument": assumeRole("lambda.amazonaws.com"),
				"Policies": []any{map[string]any{"PolicyName": "task",
					"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": stmts}}},
			},
		}
		env := map[string]any{
			"LANDFALL_TASK":              l.Task,
			"LANDFALL_BUCKET":            ref(idBucket),
			"LANDFALL_TABLE_PREFIX":      tablePrefix(),
			"LANDFALL_BEDROCK_MODEL":     ref("BedrockModelId"),
			"LANDFALL_ASYNC_JOBS":        ref("AsyncJobs"),
			"LANDFALL_REKOGNITION_TOPIC": ref(idJobsTopic),
			"LANDFALL_REKOGNITION_ROLE":  getAtt(idJobsRole, "Arn"),
			"LANDFALL_MODERATION":        ref("ModerationPolicy"),
		}
		props := map[string]any{
			"FunctionName":  name,
			"Description":   description,
			"Role":          getAtt(roleID, "Arn"),
			"MemorySize":    f.MemoryMB,
			"Timeout":       f.TimeoutSeconds,
			"Architectures": []any{b.opts.Architecture},
			"TracingConfig": map[string]any{"Mode": "Active"},
			"LoggingConfig": map[string]any{"LogGroup": ref(logID), "LogFormat": "JSON"},
			"Environment":   map[string]any{"Variables": env},
		}
		zip := map[string]any{"S3Bucket": ref("CodeS3Bucket"), "S3Key": ref("CodeS3Key")}
		if f.Native {
			props["PackageType"] = ifThen("HasToolsImage", "Image", "Zip")
			props["Code"] = ifThen("HasToolsImage", map[string]any{"ImageUri": ref("ToolsImageUri")}, zip)
			props["Runtime"] = ifThen("HasToolsImage", noValue(), "provided.al2023")
			props["Handler"] = ifThen("HasToolsImage", noValue(), "bootstrap")
			props["EphemeralStorage"] = map[string]any{"Size": 10240}
		} else {
			props["PackageType"] = "Zip"
			props["Code"] = zip
			props["Runtime"] = "provided.al2023"
			props["Handler"] = "bootstrap"
			if f.TmpMB > 512 {
				props["EphemeralStorage"] = map[string]any{"Size": f.TmpMB}
			}
		}
		b.res[id] = map[string]any{"Type": "AWS::Lambda::Function", "Properties": props}
	}
}

// stateMachineARN is the media state machine's ARN, from its name.
func stateMachineARN(name string) any {
	return sub("arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-" + name)
}

// jobEvents adds the completion path of the asynchronous jobs: an
// EventBridge rule sending Transcribe Job State Change events of ended
// jobs to the job-events function; the SNS topic Rekognition Video
// publishes its jobs' completion to (as a role that may only publish
// there), subscribed by the same function; and the permissions letting
// the rule and the topic invoke it.
func (b *builder) jobEvents() {
	fn := logicalID("Fn", JobEventsFunction)
	b.res[idJobsTopic] = map[string]any{
		"Type":       "AWS::SNS::Topic",
		"Properties": map[string]any{"DisplayName": sub("Landfall ${AWS::StackName} Rekognition Video jobs")},
	}
	b.res[idJobsRole] = map[string]any{
		"Type": "AWS::IAM::Role",
		"Properties": map[string]any{
			"Description":              "Rekognition Video publishes the completion of Landfall's jobs to the jobs topic as this role",
			"AssumeRolePolicyDocument": assumeRole("rekognition.amazonaws.com"),
			"Policies": []any{map[string]any{"PolicyName": "publish-job-completion", "PolicyDocument": map[string]any{"Version": "2012-10-17",
				"Statement": []any{map[string]any{"Effect": "Allow", "Action": "sns:Publish", "Resource": ref(idJobsTopic)}}}}},
		},
	}
	b.res[idJobsTopic+"Subscription"] = map[string]any{
		"Type":       "AWS::SNS::Subscription",
		"Properties": map[string]any{"TopicArn": ref(idJobsTopic), "Protocol": "lambda", "Endpoint": getAtt(fn, "Arn")},
	}
	b.res[idJobsTopic+"InvokePermission"] = map[string]any{
		"Type": "AWS::Lambda::Permission",
		"Properties": map[string]any{"Action": "lambda:InvokeFunction", "FunctionName": ref(fn), "Principal": "sns.amazonaws.com",
			"SourceArn": ref(idJobsTopic)},
	}
	b.res[idJobsRule] = map[string]any{
		"Type": "AWS::Events::Rule",
		"Properties": map[string]any{
			"Name":        sub("${AWS::StackName}-transcribe-job-state-change"),
			"Description": "Ended Transcribe jobs resume the executions waiting for them (landfall-job-events)",
			"EventPattern": map[string]any{"source": []any{"aws.transcribe"}, "detail-type": []any{"Transcribe Job State Change"},
				"detail": map[string]any{"TranscriptionJobStatus": []any{"COMPLETED", "FAILED"}}},
			"State":   "ENABLED",
			"Targets": []any{map[string]any{"Id": "job-events", "Arn": getAtt(fn, "Arn")}},
		},
	}
	b.res[idJobsRule+"InvokePermission"] = map[string]any{
		"Type": "AWS::Lambda::Permission",
		"Properties": map[string]any{"Action": "lambda:InvokeFunction", "FunctionName": ref(fn), "Principal": "events.amazonaws.com",
			"SourceArn": getAtt(idJobsRule, "Arn")},
	}
	b.out["RekognitionJobsTopicArn"] = map[string]any{"Value": ref(idJobsTopic)}
}

// integrationGrant maps a service integration the definition uses to the
// state machine role's permission.
func integrationGrant(res string) (map[string]any, error) {
	base := strings.TrimSuffix(strings.TrimSuffix(res, ".sync"), ".waitForTaskToken")
	base = strings.TrimSuffix(base, ":2")
	svc, action, _ := strings.Cut(strings.TrimPrefix(base, "arn:aws:states:::"), ":")
	tables := []any{getAtt(idMediaTable, "Arn"), getAtt(idFailures, "Arn"), getAtt(idCatalog, "Arn")}
	st := func(actions []string, resources ...any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": toAny(actions), "Resource": resources}
	}
	switch {
	case strings.Contains(res, ":activity:"):
		return nil, nil // activities need no permission on the machine's role
	case svc == "dynamodb":
		return st([]string{"dynamodb:" + upperFirst(action)}, tables...), nil
	case svc == "sns" && action == "publish":
		return st([]string{"sns:Publish"}, ref(idTopic)), nil
	case svc == "events" && action == "putEvents":
		return st([]string{"events:PutEvents"}, sub("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default")), nil
	case svc == "aws-sdk":
		service, api, ok := strings.Cut(action, ":")
		if !ok || service == "" || api == "" {
			return nil, fmt.Errorf("%q: want arn:aws:states:::aws-sdk:SERVICE:ACTION", res)
		}
		act := service + ":" + upperFirst(api)
		switch service {
		case "transcribe", "rekognition":
			// Both read the media with the caller's permissions.
			return st([]string{act, "s3:GetObject"}, "*"), nil
		case "s3":
			return st([]string{act}, getAtt(idBucket, "Arn"), objects("*")), nil
		case "dynamodb":
			return st([]string{act}, tables...), nil
		}
		return nil, fmt.Errorf("%q: landfall deploy aws grants aws-sdk integrations with transcribe, rekognition, s3 and dynamodb only", res)
	}
	return nil, fmt.Errorf("%q: landfall deploy aws does not provision this service integration", res)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

var activityARN = regexp.MustCompile(`^arn:aws:states:\$\{Region\}:\$\{AccountId\}:activity:([A-Za-z0-9_-]{1,80})$`)

func (b *builder) stateMachine(def any, lambdas []LambdaTask, integrations []Integration) error {
	var stmts []any
	if len(lambdas) > 0 {
		var fns []any
		for _, l := range lambdas {
			arn := getAtt(logicalID("Fn", l.Task), "Arn")
			fns = append(fns, arn, map[string]any{"Fn::Join": []any{"", []any{arn, ":*"}}})
		}
		stmts = append(stmts, map[string]any{"Sid": "InvokeTasks", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": fns})
	}
	for _, in := range integrations {
		if m := activityARN.FindStringSubmatch(in.Resource); m != nil {
			b.res[logicalID("Activity", m[1])] = map[string]any{"Type": "AWS::StepFunctions::Activity", "Properties": map[string]any{"Name": m[1]}}
			continue
		}
		g, err := integrationGrant(in.Resource)
		if err != nil {
			return errcode.New(errcode.Invalid, "%s %s: %v", b.opts.DefinitionFile, strings.Join(in.States, ", "), err)
		}
		if g != nil {
			stmts = append(stmts, g)
		}
	}
	// Logging to CloudWatch Logs and X-Ray, as the Step Functions
	// documentation requires (log delivery actions take no resource).
	stmts = append(stmts,
		map[string]any{"Sid": "LogDelivery", "Effect": "Allow", "Resource": "*", "Action": toAny([]string{
			"logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:DescribeLogGroups", "logs:DescribeResourcePolicies",
			"logs:GetLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:UpdateLogDelivery"})},
		map[string]any{"Sid": "Tracing", "Effect": "Allow", "Resource": "*", "Action": toAny([]string{
			"xray:GetSamplingRules", "xray:GetSamplingTargets", "xray:PutTelemetryRecords", "xray:PutTraceSegments"})})
	b.res[idMachineRole] = map[string]any{
		"Type": "AWS::IAM::Role",
		"Properties": map[string]any{
			"Description":              "Landfall media state machine: invoke its tasks, log, trace",
			"AssumeRolePolicyDocument": assumeRole("states.amazonaws.com"),
			"Policies": []any{map[string]any{"PolicyName": "state-machine",
				"PolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": stmts}}},
		},
	}
	// The vendedlogs prefix keeps Step Functions' log delivery from
	// growing the account's CloudWatch Logs resource policy per group.
	b.res[idMachineLogs] = map[string]any{
		"Type":       "AWS::Logs::LogGroup",
		"Properties": map[string]any{"LogGroupName": sub("/aws/vendedlogs/states/${AWS::StackName}-" + b.opts.StateMachine), "RetentionInDays": ref("LogRetentionDays")},
	}
	subs := map[string]any{}
	if b2, err := json.Marshal(def); err == nil {
		// A copy: the caller's definition stays as written.
		def = nil
		_ = json.Unmarshal(b2, &def)
	}
	// Activity resources name the stack's activities through a
	// substitution of their Ref (the activity's ARN).
	rewriteActivities(def, func(name string) string {
		key := "Activity" + strings.NewReplacer("-", "", "_", "").Replace(name)
		subs[key] = ref(logicalID("Activity", name))
		return "${" + key + "}"
	})
	for k, v := range map[string]any{
		"Region":        ref("AWS::Region"),
		"AccountId":     ref("AWS::AccountId"),
		"Bucket":        ref(idBucket),
		"MediaTable":    ref(idMediaTable),
		"FailuresTable": ref(idFailures),
		"CatalogTable":  ref(idCatalog),
		"AlertTopic":    ref(idTopic),
	} {
		subs[k] = v
	}
	b.res[idMachine] = map[string]any{
		"Type": "AWS::StepFunctions::StateMachine",
		"Properties": map[string]any{
			"StateMachineName":        sub("${AWS::StackName}-" + b.opts.StateMachine),
			"StateMachineType":        "STANDARD",
			"RoleArn":                 getAtt(idMachineRole, "Arn"),
			"Definition":              def,
			"DefinitionSubstitutions": subs,
			"LoggingConfiguration": map[string]any{
				"Level":                "ERROR",
				"IncludeExecutionData": false,
				"Destinations":         []any{map[string]any{"CloudWatchLogsLogGroup": map[string]any{"LogGroupArn": getAtt(idMachineLogs, "Arn")}}},
			},
			"TracingConfiguration": map[string]any{"Enabled": true},
		},
	}
	// X-Ray samples a share of the executions instead of tracing all.
	b.res[idSampling] = map[string]any{
		"Type": "AWS::XRay::SamplingRule",
		"Properties": map[string]any{"SamplingRule": map[string]any{
			"RuleName": sub("${AWS::StackName}-states"), "Priority": 100, "FixedRate": ref("TraceSamplingRate"), "ReservoirSize": 1,
			"ServiceName": "*", "ServiceType": "AWS::StepFunctions::StateMachine", "Host": "*", "HTTPMethod": "*",
			"URLPath": "*", "ResourceARN": "*", "Version": 1,
		}},
	}
	b.out["StateMachineArn"] = map[string]any{"Value": ref(idMachine)}
	return nil
}

// rules turns each rule of the rules file into an EventBridge rule with
// its event pattern as written; workflow targets start the state machine.
func (b *builder) rules(rules []rule.RuleSpec) error {
	var needRole bool
	for i, r := range rules {
		var pattern any
		if err := json.Unmarshal(r.EventPattern, &pattern); err != nil {
			return errcode.Wrap(errcode.Invalid, err, "%s/%d/event_pattern", b.opts.RulesFile, i)
		}
		var targets []any
		for j, t := range r.Targets {
			if t.Type != rule.TargetWorkflow {
				return errcode.New(errcode.Invalid, "%s/%d/targets/%d/type: %q targets are not deployed to AWS (only workflow targets, which start the state machine)", b.opts.RulesFile, i, j, t.Type)
			}
			if t.StateMachine != b.opts.StateMachine {
				return errcode.New(errcode.Invalid, "%s/%d/targets/%d/state_machine: %q is not the deployed state machine %q", b.opts.RulesFile, i, j, t.StateMachine, b.opts.StateMachine)
			}
			tg := map[string]any{"Id": t.ID, "Arn": ref(idMachine), "RoleArn": getAtt(idEventsRole, "Arn")}
			switch {
			case t.InputTransformer != nil:
				tg["InputTransformer"] = map[string]any{"InputPathsMap": t.InputTransformer.InputPathsMap, "InputTemplate": t.InputTransformer.InputTemplate}
			case t.InputPath != "":
				tg["InputPath"] = t.InputPath
			case len(t.Input) > 0:
				tg["Input"] = string(t.Input)
			}
			if t.RetryPolicy != nil {
				tg["RetryPolicy"] = map[string]any{"MaximumRetryAttempts": t.RetryPolicy.MaximumRetryAttempts, "MaximumEventAgeInSeconds": t.RetryPolicy.MaximumEventAgeSeconds}
			}
			targets = append(targets, tg)
			needRole = true
		}
		props := map[string]any{
			"Name":         sub("${AWS::StackName}-" + r.Name),
			"EventPattern": pattern,
			"State":        r.State,
		}
		if r.Description != "" {
			props["Description"] = r.Description
		}
		if r.EventBus != "" && r.EventBus != "default" {
			props["EventBusName"] = r.EventBus
		}
		if len(targets) > 0 {
			props["Targets"] = targets
		}
		b.res[logicalID("Rule", r.Name)] = map[string]any{"Type": "AWS::Events::Rule", "Properties": props}
	}
	if needRole {
		b.res[idEventsRole] = map[string]any{
			"Type": "AWS::IAM::Role",
			"Properties": map[string]any{
				"Description":              "EventBridge rules of Landfall: start the media state machine",
				"AssumeRolePolicyDocument": assumeRole("events.amazonaws.com"),
				"Policies": []any{map[string]any{"PolicyName": "start-execution", "PolicyDocument": map[string]any{"Version": "2012-10-17",
					"Statement": []any{map[string]any{"Effect": "Allow", "Action": "states:StartExecution", "Resource": ref(idMachine)}}}}},
			},
		}
	}
	return nil
}

// tenants adds an S3 access point per tenant, and a role the tenant's
// uploaders assume: it may write under incoming/<tenant>/ and read under
// processed/<tenant>/, through its access point only.
func (b *builder) tenants() {
	for _, t := range b.opts.Tenants {
		apID, roleID := logicalID("AccessPoint", t), logicalID("TenantRole", t)
		apName := sub("${AWS::StackName}-" + t)
		apArn := sub("arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:accesspoint/${AWS::StackName}-" + t)
		obj := func(prefix string) any {
			return sub("arn:${AWS::Partition}:s3:${AWS::Region}:${AWS::AccountId}:accesspoint/${AWS::StackName}-" + t + "/object/" + prefix + "/" + t + "/*")
		}
		b.res[roleID] = map[string]any{
			"Type": "AWS::IAM::Role",
			"Properties": map[string]any{
				"Description": "Landfall tenant " + t + ": upload and read its own media through its access point",
				"AssumeRolePolicyDocument": map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
					"Effect": "Allow", "Principal": map[string]any{"AWS": ref("AWS::AccountId")}, "Action": "sts:AssumeRole"}}},
				"Policies": []any{map[string]any{"PolicyName": "tenant", "PolicyDocument": map[string]any{"Version": "2012-10-17",
					"Statement": []any{
						map[string]any{"Effect": "Allow", "Action": []any{"s3:AbortMultipartUpload", "s3:PutObject"}, "Resource": obj("incoming")},
						map[string]any{"Effect": "Allow", "Action": "s3:GetObject", "Resource": obj("processed")},
					}}}},
			},
		}
		b.res[apID] = map[string]any{
			"Type": "AWS::S3::AccessPoint",
			"Properties": map[string]any{
				"Bucket": ref(idBucket),
				"Name":   apName,
				"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true,
					"IgnorePublicAcls": true, "RestrictPublicBuckets": true},
				"Policy": map[string]any{"Version": "2012-10-17", "Statement": []any{
					map[string]any{"Sid": "TenantWritesIncoming", "Effect": "Allow", "Principal": map[string]any{"AWS": getAtt(roleID, "Arn")},
						"Action": []any{"s3:AbortMultipartUpload", "s3:PutObject"}, "Resource": obj("incoming")},
					map[string]any{"Sid": "TenantReadsProcessed", "Effect": "Allow", "Principal": map[string]any{"AWS": getAtt(roleID, "Arn")},
						"Action": "s3:GetObject", "Resource": obj("processed")},
				}},
			},
		}
		b.out[apID] = map[string]any{"Value": apArn, "Description": "Access point of tenant " + t}
		b.out[roleID] = map[string]any{"Value": getAtt(roleID, "Arn"), "Description": "Role tenant " + t + "'s uploaders assume"}
	}
}

func (b *builder) metadata(lambdas []LambdaTask, integrations []Integration) map[string]any {
	fns, svcs := []any{}, []any{}
	for _, l := range lambdas {
		fn := map[string]any{"function": "landfall-" + l.Task, "states": toAny(l.States), "native": Functions[l.Task].Native}
		if u := Functions[l.Task].Unavailable; u != "" {
			fn["not_available_on_aws"] = u
		}
		fns = append(fns, fn)
	}
	for _, in := range integrations {
		svcs = append(svcs, map[string]any{"resource": in.Resource, "states": toAny(in.States)})
	}
	return map[string]any{"Landfall": map[string]any{
		"Definition": b.opts.DefinitionFile, "Rules": b.opts.RulesFile, "Tenants": append([]any{}, toAny(b.opts.Tenants)...),
		"LambdaTasks": fns, "ServiceIntegrations": svcs,
	}}
}

// rewriteActivities replaces every state's activity Resource in def (as
// decoded JSON) with what to returns for the activity's name.
func rewriteActivities(def any, to func(name string) string) {
	switch v := def.(type) {
	case map[string]any:
		if r, ok := v["Resource"].(string); ok {
			if m := activityARN.FindStringSubmatch(r); m != nil {
				v["Resource"] = to(m[1])
			}
		}
		for _, c := range v {
			rewriteActivities(c, to)
		}
	case []any:
		for _, c := range v {
			rewriteActivities(c, to)
		}
	}
}
