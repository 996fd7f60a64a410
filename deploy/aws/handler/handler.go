// Package handler runs Landfall's pipeline tasks on AWS Lambda: one Go
// handler serves every landfall-<task> function (cmd/landfall-lambda,
// built as the bootstrap of the provided.al2023 runtime), with the same
// task code the local engine runs (package pipeline), over S3 (blob
// s3blob) and DynamoDB (catalog/dynamodb).
//
// The function learns its task from LANDFALL_TASK (else from its name,
// AWS_LAMBDA_FUNCTION_NAME minus "landfall-"). Step Functions sends the
// state's effective input as the event and reads the function's result as
// the state's result; a task's error is returned with its Landfall error
// name (Media.Unsupported, Provider.Throttled, …) as the Lambda error
// type, so the definition's Retry and Catch match the same names on AWS
// as locally.
//
// Events a task writes with a media row (Media Processed) go to
// EventBridge's default bus once the row is written, where rules of
// other consumers can match them.
//
// The execution's tenant: locally the engine stores it with the
// execution. On AWS a task reads it from the event: register from the
// object's key (incoming/<tenant>/…), the other tasks from the media
// reference register returned (media.tenant), record-failure from the
// state it was given and notify from the failure. The task's scope then
// confines it to that tenant's keys and rows as it does locally.
package handler

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-lambda-go/lambda/messages"
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/landfall/landfall/analyser"
	awsprov "github.com/landfall/landfall/analyser/aws"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/s3blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/dynamodb"
	lfconfig "github.com/landfall/landfall/config"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/pipeline"

	// The local analysers register themselves, as in app.
	_ "github.com/landfall/landfall/analyser/local/diarise"
	_ "github.com/landfall/landfall/analyser/local/faces"
	_ "github.com/landfall/landfall/analyser/local/language"
	_ "github.com/landfall/landfall/analyser/local/mediatools"
	_ "github.com/landfall/landfall/analyser/local/nlp"
	_ "github.com/landfall/landfall/analyser/local/ocr"
	_ "github.com/landfall/landfall/analyser/local/probe"
	_ "github.com/landfall/landfall/analyser/local/speech"
)

// Config configures a handler.
type Config struct {
	// Task is the task this function serves ("register", "classify", …).
	Task string
	// Bucket is the media bucket; TablePrefix the catalog tables' prefix
	// ("<stack>-").
	Bucket      string
	TablePrefix string
	// Analysers maps tasks to providers ("aws", "local"); tasks not named
	// use DefaultAnalysers, then "local".
	Analysers    map[string]string
	BedrockModel string
	// WorkRoot is the folder for media files while a task runs (Lambda's
	// /tmp).
	WorkRoot string
	// AWS is the SDK configuration; loaded from the environment when nil.
	AWS *awssdk.Config
	// S3Endpoint, DynamoDBEndpoint and EventsEndpoint override the
	// services' endpoints (tests); S3 then uses path-style addressing.
	S3Endpoint, DynamoDBEndpoint, EventsEndpoint string
	// ServicesEndpoint overrides the endpoint of Transcribe, Rekognition
	// and Bedrock (tests); StatesEndpoint that of Step Functions.
	ServicesEndpoint, StatesEndpoint string
	// AsyncJobs runs Transcribe and Rekognition Video as asynchronous
	// jobs whose completion resumes the execution through the job-events
	// function; RekognitionTopic and RekognitionRole are the SNS topic
	// Rekognition Video publishes to and the role it publishes as.
	AsyncJobs                         bool
	RekognitionTopic, RekognitionRole string
	// Moderation is the installation's moderation policy (nil: every
	// item passes).
	Moderation *lfconfig.ModerationPolicy
	Logger     *slog.Logger
}

// DefaultAnalysers are the providers of the AWS deployment: the managed
// services where AWS has one; the other tasks run the local analysers
// (ffmpeg, tesseract, the pure-Go ones) in the function.
var DefaultAnalysers = map[string]string{
	analyser.TaskTranscribe: "aws",
	analyser.TaskLabels:     "aws",
	analyser.TaskModerate:   "aws",
	analyser.TaskSummarise:  "aws",
}

// ConfigFromEnv reads the configuration the template sets on each
// function: LANDFALL_TASK, LANDFALL_BUCKET, LANDFALL_TABLE_PREFIX,
// LANDFALL_BEDROCK_MODEL, LANDFALL_ASYNC_JOBS ("true"),
// LANDFALL_REKOGNITION_TOPIC, LANDFALL_REKOGNITION_ROLE and, optionally,
// LANDFALL_ANALYSERS ("task=provider,…") and LANDFALL_MODERATION (the
// moderation policy as JSON, {"review":[…],"reject":[…]}).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{Task: getenv("LANDFALL_TASK"), Bucket: getenv("LANDFALL_BUCKET"), TablePrefix: getenv("LANDFALL_TABLE_PREFIX"),
		BedrockModel: getenv("LANDFALL_BEDROCK_MODEL"), WorkRoot: filepath.Join(os.TempDir(), "landfall-work"),
		AsyncJobs: getenv("LANDFALL_ASYNC_JOBS") == "true", RekognitionTopic: getenv("LANDFALL_REKOGNITION_TOPIC"),
		RekognitionRole: getenv("LANDFALL_REKOGNITION_ROLE")}
	if c.Task == "" {
		c.Task = strings.TrimPrefix(getenv("AWS_LAMBDA_FUNCTION_NAME"), "landfall-")
	}
	var missing []string
	for _, m := range []struct{ name, v string }{{"LANDFALL_TASK", c.Task}, {"LANDFALL_BUCKET", c.Bucket}, {"LANDFALL_TABLE_PREFIX", c.TablePrefix}} {
		if m.v == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return c, errcode.New(errcode.Invalid, "landfall-lambda: %s not set (the template sets them on every function)", strings.Join(missing, ", "))
	}
	if a := getenv("LANDFALL_ANALYSERS"); a != "" {
		c.Analysers = map[string]string{}
		for _, kv := range strings.Split(a, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
			if !ok || k == "" || v == "" {
				return c, errcode.New(errcode.Invalid, "LANDFALL_ANALYSERS: %q is not task=provider", kv)
			}
			c.Analysers[k] = v
		}
	}
	if p := strings.TrimSpace(getenv("LANDFALL_MODERATION")); p != "" {
		dec := json.NewDecoder(strings.NewReader(p))
		dec.DisallowUnknownFields()
		var pol lfconfig.ModerationPolicy
		if err := dec.Decode(&pol); err != nil {
			return c, errcode.New(errcode.Invalid, "LANDFALL_MODERATION (the ModerationPolicy parameter): %v", err)
		}
		lc := lfconfig.Default(c.WorkRoot)
		lc.Moderation = &pol
		if err := lc.Validate(); err != nil {
			return c, errcode.New(errcode.Invalid, "LANDFALL_MODERATION (the ModerationPolicy parameter): %s", errcode.MessageOf(err))
		}
		c.Moderation = &pol
	}
	return c, nil
}

// Handler serves one task. It implements the aws-lambda-go Handler
// interface (Invoke).
type Handler struct {
	jobs    *jobResumer // the job-events function's
	task    string
	fn      pipeline.TaskFunc
	catalog catalog.Store
	bucket  *blob.Bucket
	log     *slog.Logger
}

// New connects to the bucket and the catalog and prepares the task.
func New(ctx context.Context, c Config) (*Handler, error) {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	var ac awssdk.Config
	if c.AWS != nil {
		ac = *c.AWS
	} else {
		var err error
		if ac, err = config.LoadDefaultConfig(ctx); err != nil {
			return nil, errcode.Wrap(errcode.ProviderNotConfigured, err, "landfall-lambda: AWS configuration")
		}
	}
	s3c := s3.NewFromConfig(ac, func(o *s3.Options) {
		if c.S3Endpoint != "" {
			o.BaseEndpoint, o.UsePathStyle = awssdk.String(c.S3Endpoint), true
		}
	})
	drv, err := s3blob.New(s3c, c.Bucket, nil)
	if err != nil {
		return nil, err
	}
	bucket := blob.NewBucket(drv)
	ddbc := ddb.NewFromConfig(ac, func(o *ddb.Options) {
		if c.DynamoDBEndpoint != "" {
			o.BaseEndpoint = awssdk.String(c.DynamoDBEndpoint)
		}
	})
	st, err := dynamodb.Open(ctx, dynamodb.Config{Client: ddbc, Prefix: c.TablePrefix, TablesExist: true}, catalog.Options{})
	if err != nil {
		bucket.Close()
		return nil, err
	}
	cfg := lfconfig.Default(c.WorkRoot)
	cfg.Blob = "s3://" + c.Bucket
	for k, v := range DefaultAnalysers {
		cfg.Analysers[k] = v
	}
	for k, v := range c.Analysers {
		cfg.Analysers[k] = v
	}
	cfg.AWS.BedrockModel = c.BedrockModel
	cfg.AWS.AsyncJobs = c.AsyncJobs
	cfg.AWS.RekognitionSNSTopic, cfg.AWS.RekognitionRoleARN = c.RekognitionTopic, c.RekognitionRole
	cfg.Moderation = c.Moderation
	reg := analyser.NewRegistry()
	if usesAWS(cfg.Analysers) {
		cl, err := awsprov.New(ctx, awsprov.Config{AWS: &ac, BedrockModel: c.BedrockModel, Endpoint: c.ServicesEndpoint,
			RekognitionTopic: c.RekognitionTopic, RekognitionRole: c.RekognitionRole,
			MediaURI: func(key string) string { return "s3://" + c.Bucket + "/" + key }})
		if err != nil {
			return nil, err
		}
		for _, a := range []analyser.Analyser{awsprov.Transcriber{C: cl}, awsprov.Labeller{C: cl}, awsprov.Moderator{C: cl}, awsprov.Summariser{C: cl}} {
			if err := reg.Register(a); err != nil {
				return nil, err
			}
		}
	}
	eb := eventbridge.NewFromConfig(ac, func(o *eventbridge.Options) {
		if c.EventsEndpoint != "" {
			o.BaseEndpoint = awssdk.String(c.EventsEndpoint)
		}
	})
	h := &Handler{task: c.Task, catalog: st, bucket: bucket, log: c.Logger}
	// A job function that finds its job already ended (a retried
	// attempt) finishes it at once; the job-events function finishes the
	// jobs whose completion it receives.
	jr := &jobResumer{sfn: sfn.NewFromConfig(ac, func(o *sfn.Options) {
		if c.StatesEndpoint != "" {
			o.BaseEndpoint = awssdk.String(c.StatesEndpoint)
		}
	}), store: st, topic: c.RekognitionTopic, h: h}
	jr.tasks = pipeline.New(pipeline.Options{Config: cfg, Bucket: bucket, BucketName: c.Bucket, Catalog: &eventCatalog{Store: st, eb: eb}, Logger: c.Logger,
		WorkRoot: c.WorkRoot, ShareFiles: true, Analysers: reg, JobEnded: jr.ended})
	if c.Task == JobEventsTask {
		h.jobs = jr
		return h, nil
	}
	fn, ok := jr.tasks.Funcs()[c.Task]
	if !ok {
		return nil, errcode.New(errcode.Invalid, "landfall-lambda: no task %q (the function's name or LANDFALL_TASK names it)", c.Task)
	}
	h.fn = pipeline.Traced(c.Task, fn)
	return h, nil
}

func usesAWS(m map[string]string) bool {
	for _, p := range m {
		if p == "aws" {
			return true
		}
	}
	return false
}

// Close releases the handler's clients.
func (h *Handler) Close() error {
	h.catalog.Close()
	return h.bucket.Close()
}

// Invoke runs the task on one event (the state's effective input) and
// returns its result. Errors are messages.InvokeResponse_Error values
// whose Type is the ASL error name.
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if h.jobs != nil {
		out, err := h.jobs.handle(ctx, payload)
		if err != nil {
			h.log.Warn("landfall-lambda: job event not handled", "err", err)
			return nil, lambdaError(err)
		}
		return out, nil
	}
	tenant, exec, err := callOf(h.task, payload)
	if err != nil {
		return nil, lambdaError(err)
	}
	out, err := h.fn(ctx, pipeline.Call{ExecutionARN: exec, Tenant: tenant, Resource: "landfall-" + h.task, Input: payload})
	if err != nil {
		h.log.Warn("landfall-lambda: task failed", "task", h.task, "tenant", tenant, "err", err)
		return nil, lambdaError(err)
	}
	return out, nil
}

// lambdaError turns a task's error into the Lambda error Step Functions
// reads its error name from, as the local engine names it.
func lambdaError(err error) error {
	code := errcode.Of(err)
	if code == errcode.Unknown {
		return messages.InvokeResponse_Error{Type: "States.TaskFailed", Message: err.Error()}
	}
	return messages.InvokeResponse_Error{Type: string(code), Message: errcode.MessageOf(err)}
}

// event holds the fields a task's tenant and execution come from.
type event struct {
	Key   string          `json:"key"`
	Media *pipeline.Media `json:"media"`
	State *struct {
		Key   string          `json:"key"`
		Media *pipeline.Media `json:"media"`
	} `json:"state"`
	Failure *struct {
		TenantID string `json:"tenant_id"`
	} `json:"failure"`
	// Execution is $$.Execution.Id where a state passes it (a string);
	// other states pass other values under the name.
	Execution json.RawMessage `json:"execution"`
}

// callOf finds the execution's tenant (and its id, when the state passes
// $$.Execution.Id) in a task's event.
func callOf(task string, payload []byte) (tenant, execution string, err error) {
	var ev event
	if err := json.Unmarshal(payload, &ev); err != nil {
		return "", "", errcode.New(pipeline.ErrRuntime, "landfall-%s: the event is not a JSON object: %v", task, err)
	}
	switch {
	case task == "register":
		tenant = tenantOfKey(ev.Key)
	case task == "record-failure" && ev.State != nil:
		if ev.State.Media != nil {
			tenant = ev.State.Media.Tenant
		} else {
			tenant = tenantOfKey(ev.State.Key)
		}
	case task == "notify" && ev.Failure != nil:
		tenant = ev.Failure.TenantID
	case ev.Media != nil:
		tenant = ev.Media.Tenant
	}
	if tenant == "" {
		return "", "", errcode.New(errcode.ForbiddenReference, "landfall-%s: the event names no tenant (%s)", task, tenantSource(task))
	}
	var exec string
	_ = json.Unmarshal(ev.Execution, &exec) // not a string: no execution id
	return tenant, exec, nil
}

func tenantSource(task string) string {
	switch task {
	case "register":
		return "want key incoming/<tenant>/…"
	case "record-failure":
		return "want state.media.tenant or state.key"
	case "notify":
		return "want failure.tenant_id"
	}
	return "want media.tenant"
}

// tenantOfKey is the tenant folder of an incoming/ key, or "".
func tenantOfKey(key string) string {
	k, err := pipeline.ParseKey(key)
	if err != nil || k.Area != pipeline.AreaIncoming {
		return ""
	}
	return k.Tenant
}

// String names the handler for logs.
func (h *Handler) String() string { return fmt.Sprintf("landfall-%s", h.task) }
