package aws

import (
	"sort"
)

// Res names a resource of the stack that a grant applies to.
type Res string

const (
	ResIncoming      Res = "bucket:incoming/*"  // uploaded originals
	ResWork          Res = "bucket:work/*"      // task results between states
	ResProcessed     Res = "bucket:processed/*" // finished media and their artefacts
	ResMediaTable    Res = "table:media"
	ResMediaIndexes  Res = "table:media/index/*"
	ResFailures      Res = "table:failures"
	ResFailuresIndex Res = "table:failures/index/*"
	ResCatalogTable  Res = "table:catalog" // tenants, counters, usage, guards
	ResBedrockModel  Res = "bedrock:model"
	ResTranscribe    Res = "transcribe:*" // Transcribe has no resource-level permissions for jobs started by name
	ResRekognition   Res = "rekognition:*"
	ResDefaultBus    Res = "events:event-bus/default" // events written with media rows
	// ResStateMachine is the media state machine, whose waiting tasks the
	// asynchronous jobs' completions resume (SendTaskSuccess/Failure).
	ResStateMachine Res = "states:state-machine"
	// ResRekognitionRole is the role Rekognition Video publishes its
	// jobs' completion to the stack's topic as (passed when starting one).
	ResRekognitionRole Res = "iam:rekognition-publish-role"
)

// Grant is one statement of a function's role: actions on a resource.
type Grant struct {
	Actions []string
	On      Res
}

// Function is one Lambda function serving a pipeline task: its sizing,
// its packaging and its declared permissions. The permissions are the
// least the task's code needs (the calls it makes through the blob and
// catalog drivers and the AWS providers); TestLeastPrivilege checks them
// against the calls the handler makes and against the template's roles.
type Function struct {
	Task string
	// Native tasks run ffmpeg, ffprobe or tesseract: they are container
	// image functions (deploy/aws/Dockerfile), the others zip packages
	// with the bootstrap binary.
	Native bool
	// Unavailable, when set, says why the task cannot do its work on AWS
	// yet; it is deployed (the definition names it) and fails there with
	// errcode.NotImplemented.
	Unavailable    string
	MemoryMB       int
	TimeoutSeconds int
	// TmpMB is the function's /tmp in MiB when it needs more than
	// Lambda's 512 (it copies whole originals there); native functions
	// always get 10240.
	TmpMB  int
	Grants []Grant
}

// The catalog calls, as DynamoDB actions (catalog/dynamodb): reading a
// media row is a Query on its partition; every row write is a
// conditional PutItem; tenants, counters, usage and guards are items of
// the catalog table.
var (
	mediaRead   = Grant{[]string{"dynamodb:Query"}, ResMediaTable}
	mediaWrite  = Grant{[]string{"dynamodb:PutItem", "dynamodb:Query"}, ResMediaTable}
	tenantRead  = Grant{[]string{"dynamodb:GetItem"}, ResCatalogTable}
	usageWrite  = Grant{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, ResCatalogTable}
	workRW      = Grant{[]string{"s3:GetObject", "s3:PutObject"}, ResWork}
	incomingGet = Grant{[]string{"s3:GetObject"}, ResIncoming}
)

// videoJobGrants are what a Rekognition Video job function needs: read
// the original (Rekognition reads it from the bucket as the caller) and
// the earlier results, check the media row, keep the job's record. It
// records no usage (Rekognition Video's output has none to record).
func videoJobGrants(extra ...Grant) []Grant {
	return append([]Grant{incomingGet, workRW, mediaRead, {[]string{"dynamodb:GetItem", "dynamodb:PutItem"}, ResCatalogTable}}, extra...)
}

// jobEnd is what finishing an asynchronous job takes besides reading
// its output: resume the waiting task, forget the job's record.
var jobEnd = []Grant{
	{[]string{"states:SendTaskFailure", "states:SendTaskSuccess"}, ResStateMachine},
	{[]string{"dynamodb:DeleteItem"}, ResCatalogTable},
}

// analyserGrants are what every analysis task needs: read the original,
// check the media row, read and write results, record usage.
func analyserGrants(extra ...Grant) []Grant {
	return append([]Grant{incomingGet, workRW, mediaRead, usageWrite}, extra...)
}

// Functions are the Lambda functions Landfall deploys, by task (the
// part of the function name after "landfall-", as the ASL's Resource
// ARNs name them). Every Lambda task of the state machine must be here.
var Functions = map[string]Function{
	"register": {Task: "register", MemoryMB: 256, TimeoutSeconds: 30, Grants: []Grant{
		incomingGet, mediaWrite, {[]string{"dynamodb:GetItem", "dynamodb:UpdateItem"}, ResCatalogTable}}},
	// classify is the first analysis: it reads no earlier result.
	"classify": {Task: "classify", Native: true, MemoryMB: 1024, TimeoutSeconds: 300, Grants: []Grant{
		incomingGet, {[]string{"s3:PutObject"}, ResWork}, mediaRead, usageWrite}},
	"media":     {Task: "media", Native: true, MemoryMB: 3008, TimeoutSeconds: 900, Grants: analyserGrants()},
	"diarise":   {Task: "diarise", Native: true, MemoryMB: 2048, TimeoutSeconds: 900, Grants: analyserGrants()},
	"ocr":       {Task: "ocr", Native: true, MemoryMB: 2048, TimeoutSeconds: 900, Grants: analyserGrants()},
	"faces":     {Task: "faces", Native: true, MemoryMB: 2048, TimeoutSeconds: 900, Grants: analyserGrants()},
	"language":  {Task: "language", MemoryMB: 1024, TimeoutSeconds: 300, Grants: analyserGrants()},
	"summarise": {Task: "summarise", MemoryMB: 512, TimeoutSeconds: 900, Grants: analyserGrants(Grant{[]string{"bedrock:InvokeModel"}, ResBedrockModel})},
	"transcribe": {Task: "transcribe", MemoryMB: 512, TimeoutSeconds: 900, Grants: analyserGrants(
		Grant{[]string{"transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob"}, ResTranscribe})},
	// The <task>-job functions start a provider job for a
	// .waitForTaskToken state (aws.async_jobs) and record its task token
	// in the catalog table: a Transcribe job, or a Rekognition Video job
	// (passing the role Rekognition publishes its completion as). A retried
	// attempt that finds its job ended finishes it at once (jobEnd).
	"transcribe-job": {Task: "transcribe-job", MemoryMB: 512, TimeoutSeconds: 300, TmpMB: 10240, Grants: analyserGrants(append(jobEnd,
		Grant{[]string{"transcribe:GetTranscriptionJob", "transcribe:StartTranscriptionJob"}, ResTranscribe})...)},
	"labels-job": {Task: "labels-job", MemoryMB: 512, TimeoutSeconds: 300, TmpMB: 10240, Grants: videoJobGrants(append(jobEnd,
		Grant{[]string{"rekognition:GetLabelDetection", "rekognition:StartLabelDetection"}, ResRekognition},
		Grant{[]string{"iam:PassRole"}, ResRekognitionRole})...)},
	"moderate-job": {Task: "moderate-job", MemoryMB: 512, TimeoutSeconds: 300, TmpMB: 10240, Grants: videoJobGrants(append(jobEnd,
		Grant{[]string{"rekognition:GetContentModeration", "rekognition:StartContentModeration"}, ResRekognition},
		Grant{[]string{"iam:PassRole"}, ResRekognitionRole})...)},
	"labels":   {Task: "labels", MemoryMB: 512, TimeoutSeconds: 300, Grants: analyserGrants(Grant{[]string{"rekognition:DetectLabels"}, ResRekognition})},
	"moderate": {Task: "moderate", MemoryMB: 512, TimeoutSeconds: 300, Grants: analyserGrants(Grant{[]string{"rekognition:DetectModerationLabels"}, ResRekognition})},
	// frames prepares the JPEG frames the vision activity worker reads
	// (ffmpeg; writes under work/).
	"frames": {Task: "frames", Native: true, MemoryMB: 1024, TimeoutSeconds: 900, Grants: []Grant{incomingGet, workRW, mediaRead}},
	// persist applies the moderation policy: a flag no frame was
	// analysed for (Rekognition Video jobs, Rekognition on keyframes)
	// keeps the original's frame at its time as evidence, which ffmpeg
	// takes reading only around that time (range reads of the original).
	// An item the policy rejects ends there, written with its Media
	// Rejected event.
	"persist": {Task: "persist", Native: true, MemoryMB: 1024, TimeoutSeconds: 300, Grants: []Grant{
		incomingGet, {[]string{"s3:GetObject"}, ResWork}, {[]string{"s3:PutObject"}, ResProcessed}, mediaWrite,
		{[]string{"events:PutEvents"}, ResDefaultBus}}},
	// embed stores vectors in SQL catalogs only: on DynamoDB it reads the
	// media row and says the catalog stores no vectors (the state's Catch
	// moves on).
	"embed": {Task: "embed", MemoryMB: 256, TimeoutSeconds: 600, Grants: []Grant{mediaRead}},
	"move": {Task: "move", MemoryMB: 256, TimeoutSeconds: 900, Grants: []Grant{
		{[]string{"s3:DeleteObject", "s3:GetObject"}, ResIncoming}, {[]string{"s3:GetObject", "s3:PutObject"}, ResProcessed}, mediaWrite,
		{[]string{"events:PutEvents"}, ResDefaultBus}}},
	"record-failure": {Task: "record-failure", MemoryMB: 256, TimeoutSeconds: 30, Grants: []Grant{
		mediaWrite, {[]string{"dynamodb:GetItem", "dynamodb:PutItem"}, ResFailures},
		{[]string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, ResCatalogTable}}},
	"notify": {Task: "notify", MemoryMB: 256, TimeoutSeconds: 30, Grants: []Grant{
		{[]string{"dynamodb:Query"}, ResFailuresIndex}, tenantRead}},
	// review-policy decides from the media row and the results the state
	// carries whether a person reviews (the calls TestLambdaPipeline saw).
	"review-policy": {Task: "review-policy", MemoryMB: 256, TimeoutSeconds: 60, Grants: []Grant{mediaRead}},
	// The other review tasks keep the review queue and versions, which the
	// DynamoDB catalog does not implement yet: on AWS they fail with
	// NotImplemented (run the stack with review.policy off). Their grants
	// are what the code needs once the queue exists.
	"review-open": reviewQueueTask("review-open", 256, 60,
		Grant{[]string{"s3:GetObject", "s3:PutObject"}, ResProcessed}, mediaWrite),
	"review-escalate": reviewQueueTask("review-escalate", 256, 60, mediaRead),
	"review-rerun":    reviewQueueTask("review-rerun", 256, 60, mediaRead),
	"review-apply": reviewQueueTask("review-apply", 512, 120,
		Grant{[]string{"s3:GetObject", "s3:PutObject"}, ResProcessed}, mediaWrite),
	"review-reject": reviewQueueTask("review-reject", 256, 60, mediaWrite),
}

// JobEventsFunction is the function asynchronous jobs' completion events
// invoke (landfall-job-events).
const JobEventsFunction = "job-events"

// EventFunctions are the Lambda functions events invoke rather than the
// state machine, by name after "landfall-".
var EventFunctions = map[string]Function{
	// job-events resumes executions waiting for asynchronous jobs: an
	// EventBridge rule sends it Transcribe Job State Change events, the
	// Rekognition Video topic its SNS notifications. It reads the job's
	// output (the transcript, every page of detections), stores it as the
	// state's result and sends the task its result or error.
	JobEventsFunction: {Task: JobEventsFunction, MemoryMB: 1024, TimeoutSeconds: 900, TmpMB: 10240, Grants: analyserGrants(append(jobEnd,
		Grant{[]string{"transcribe:GetTranscriptionJob"}, ResTranscribe},
		Grant{[]string{"rekognition:GetContentModeration", "rekognition:GetLabelDetection"}, ResRekognition})...)},
}

func reviewQueueTask(name string, memory, timeout int, grants ...Grant) Function {
	return Function{Task: name, MemoryMB: memory, TimeoutSeconds: timeout, Grants: grants,
		Unavailable: "the review queue is not built on the DynamoDB catalog yet"}
}

// FunctionNames lists the tasks of Functions, sorted.
func FunctionNames() []string {
	out := make([]string, 0, len(Functions))
	for k := range Functions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
