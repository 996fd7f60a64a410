// Package config holds Landfall's configuration: one strict document (YAML
// or JSON) in which an unknown key is an error naming its place, with
// defaults that give the embedded mode (a local folder and SQLite).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/landfall/landfall/analyser/profile"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Config is the whole configuration of one Landfall process.
type Config struct {
	// Data is the data folder of the embedded mode: the SQLite database,
	// the bucket folder and scratch space live under it.
	Data string `yaml:"data" json:"data"`
	// Addr is the HTTP listen address.
	Addr string `yaml:"addr" json:"addr"`
	// DB is the database URL: sqlite:///path/landfall.db (default, under
	// Data) or postgres://… for scale-out.
	DB string `yaml:"db" json:"db"`
	// Blob is the bucket URL: file:///path (default, under Data), s3://…
	// or mem://.
	Blob string `yaml:"blob" json:"blob"`
	// Role is "all" (default), "api" or "worker".
	Role string `yaml:"role" json:"role"`
	// Workers is the number of concurrent workflow tasks per process.
	Workers int `yaml:"workers" json:"workers"`

	Pipeline   Pipeline          `yaml:"pipeline" json:"pipeline"`
	Uploads    Uploads           `yaml:"uploads" json:"uploads"`
	Analysers  map[string]string `yaml:"analysers" json:"analysers"` // task → provider ("local", "openai", "aws")
	Transcribe Transcribe        `yaml:"transcribe" json:"transcribe"`
	Vision     Vision            `yaml:"vision" json:"vision"`
	// Moderation is the installation's moderation policy (tenants may
	// have their own).
	Moderation *ModerationPolicy `yaml:"moderation" json:"moderation"`
	OpenAI     OpenAI            `yaml:"openai" json:"openai"`
	AWS        AWS               `yaml:"aws" json:"aws"`
	Notify     Notify            `yaml:"notify" json:"notify"`
	Prices     map[string]Price  `yaml:"prices" json:"prices"` // analyser id → price
	Log        Log               `yaml:"log" json:"log"`
	Tenants    []Tenant          `yaml:"tenants" json:"tenants"`
	OTLP       OTLP              `yaml:"otlp" json:"otlp"`
	Limits     Limits            `yaml:"limits" json:"limits"`
	Review     Review            `yaml:"review" json:"review"`
	Live       Live              `yaml:"live" json:"live"`
	// StepFunctions configures the workflow engine as Step Functions
	// users see it.
	StepFunctions StepFunctions `yaml:"step_functions" json:"step_functions"`
	// SecretFile holds the installation secret (derives secret access keys,
	// signs media URLs): created with mode 0600 on first start. Default
	// <data>/installation.secret; every process of a scale-out
	// installation must point at the same secret.
	SecretFile string `yaml:"secret_file" json:"secret_file"`
	// Open serves an open installation (no tenants configured, no keys) on
	// a non-loopback address. Without it such an installation only binds
	// to loopback.
	Open bool `yaml:"open" json:"open"`
}

// StepFunctions configures what the Step Functions API shows.
type StepFunctions struct {
	// Region and Account fill the engine's ARNs
	// (arn:aws:states:REGION:ACCOUNT:…) and TaskScheduled events; an SDK
	// configured with the same region builds ARNs that match. Defaults
	// "local" and "000000000000".
	Region  string `yaml:"region" json:"region"`
	Account string `yaml:"account" json:"account"`
	// Connections are the HTTP Task's connections by name (a state names
	// one with Authentication.ConnectionArn
	// arn:aws:events:REGION:ACCOUNT:connection/NAME). Secrets come from
	// environment variables, never from this file or a state's input.
	Connections map[string]Connection `yaml:"connections" json:"connections"`
	// Retention is how long ended executions and their history are kept
	// (default 90 days, as Step Functions; a negative value keeps them
	// forever). Older ones are removed in bounded batches every minute.
	Retention Duration `yaml:"retention" json:"retention"`
}

// Connection is what an HTTP Task's request carries besides what the
// state gives.
type Connection struct {
	// APIKeyHeader is sent with the value of the variable APIKeyEnv.
	APIKeyHeader string `yaml:"api_key_header" json:"api_key_header"`
	APIKeyEnv    string `yaml:"api_key_env" json:"api_key_env"`
	// BearerTokenEnv names a variable sent as "Authorization: Bearer …".
	BearerTokenEnv string `yaml:"bearer_token_env" json:"bearer_token_env"`
	// Username and the variable PasswordEnv are sent as basic auth.
	Username    string `yaml:"username" json:"username"`
	PasswordEnv string `yaml:"password_env" json:"password_env"`
	// Headers and Query are further parameters of every request.
	Headers map[string]string `yaml:"headers" json:"headers"`
	Query   map[string]string `yaml:"query" json:"query"`
}

// Limits bound what one tenant, key or execution can use. Zero takes the
// default; a negative value is an error. Rates are per process.
type Limits struct {
	// HistoryEvents caps the history of one execution (Step Functions:
	// 25,000); an execution that would exceed it fails with States.Runtime.
	HistoryEvents int `yaml:"history_events" json:"history_events"`
	// ExecutionTimeout caps how long any execution may run.
	ExecutionTimeout Duration `yaml:"execution_timeout" json:"execution_timeout"`
	// ConcurrentExecutions caps one tenant's running executions.
	ConcurrentExecutions int `yaml:"concurrent_executions" json:"concurrent_executions"`
	// StoredBytes caps one tenant's stored media (uploads are refused past
	// it); 0 means unlimited.
	StoredBytes int64 `yaml:"stored_bytes" json:"stored_bytes"`
	// RequestsPerMinute and UploadsPerMinute rate-limit each API key.
	RequestsPerMinute int `yaml:"requests_per_minute" json:"requests_per_minute"`
	UploadsPerMinute  int `yaml:"uploads_per_minute" json:"uploads_per_minute"`
	// FailedAuthPerMinute bounds failed authentications from one remote
	// address; past it the address is refused before its credentials are
	// looked up.
	FailedAuthPerMinute int `yaml:"failed_auth_per_minute" json:"failed_auth_per_minute"`
	// BodyReadTimeout cuts off a request whose body stops arriving: no
	// byte for this long ends the request.
	BodyReadTimeout Duration `yaml:"body_read_timeout" json:"body_read_timeout"`
	// IdleTimeout closes idle keep-alive connections.
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Live configures live caption sessions (GET /v1/live). Zero takes the
// default.
type Live struct {
	// Provider recognises the sessions' audio: local (the default: the
	// incremental pocketsphinx recogniser in process), openai (an
	// OpenAI-compatible realtime transcription session, with openai.*)
	// or aws (Amazon Transcribe Streaming, with aws.*).
	Provider string `yaml:"provider" json:"provider"`
	// MaxSeconds is the audio one session may send (default 4 h); the
	// session ends, and is stored, when it is reached.
	MaxSeconds float64 `yaml:"max_seconds" json:"max_seconds"`
	// MaxSessions is how many sessions one process runs at once (default
	// two per CPU).
	MaxSessions int `yaml:"max_sessions" json:"max_sessions"`
	// IdleTimeout ends a session whose client sends nothing for this long
	// (default 15 s).
	IdleTimeout Duration `yaml:"idle_timeout" json:"idle_timeout"`
}

// Pipeline overrides the embedded default pipeline files.
type Pipeline struct {
	Definition string `yaml:"definition" json:"definition"` // path to an ASL file; empty = embedded media.asl.json
	Rules      string `yaml:"rules" json:"rules"`           // path to a rules file; empty = embedded media.rules.json
	// Substitutions are ASL definition substitutions (${Name}).
	Substitutions map[string]string `yaml:"substitutions" json:"substitutions"`
}

// Uploads bounds ingest.
type Uploads struct {
	MaxBytes   int64    `yaml:"max_bytes" json:"max_bytes"`
	AbortAfter Duration `yaml:"abort_after" json:"abort_after"` // incomplete uploads older than this are aborted
	Watch      bool     `yaml:"watch" json:"watch"`             // watch the bucket folder for dropped files
}

// Vision configures the offline vision worker: the Node process that
// serves the labels and moderate tasks as a Step Functions activity worker
// (workers/vision), used when those tasks' provider is local.
type Vision struct {
	// Worker is "serve" (default: landfall serve starts and supervises
	// it), "external" (it runs elsewhere against the API with an operator
	// key; the pipeline still hands it the tasks) or "off" (labels and
	// moderation run only where another provider is configured).
	Worker string `yaml:"worker" json:"worker"`
	// Dir is the worker's folder (default: workers/vision beside the
	// binary or above the working directory).
	Dir string `yaml:"dir" json:"dir"`
	// Node is the Node.js command (default "node").
	Node string `yaml:"node" json:"node"`
	// Processes is how many worker processes serve, sharing the queue
	// (default 1).
	Processes int `yaml:"processes" json:"processes"`
}

// VisionWorkerServes reports whether this process starts the vision
// worker; VisionActivity whether labels and moderation go to it.
func (c *Config) VisionWorkerServes() bool { return c.Vision.Worker == "serve" && c.Role != "api" }

// VisionActivity reports whether the labels and moderate tasks of
// provider local are handed to the vision worker's activities.
func (c *Config) VisionActivity() bool {
	return c.Vision.Worker == "serve" || c.Vision.Worker == "external"
}

// Transcribe adapts transcription to an installation's domain: the
// vocabulary (names, product words) and domain text build the local
// recogniser's adapted dictionary and language model, and are sent as the
// prompt to OpenAI-compatible servers. Uploads can add their own words.
type Transcribe struct {
	Vocabulary     []string `yaml:"vocabulary" json:"vocabulary"`
	DomainTextFile string   `yaml:"domain_text_file" json:"domain_text_file"`
}

// OpenAI configures an OpenAI-compatible server.
type OpenAI struct {
	BaseURL         string `yaml:"base_url" json:"base_url"`
	APIKey          string `yaml:"api_key" json:"api_key"`
	APIKeyEnv       string `yaml:"api_key_env" json:"api_key_env"`
	TranscribeModel string `yaml:"transcribe_model" json:"transcribe_model"`
	// RealtimeModel transcribes live captions (live.provider: openai;
	// default transcribe_model, else gpt-4o-transcribe); RealtimeURL is
	// the realtime WebSocket (default <base_url>/realtime?intent=transcription).
	RealtimeModel  string   `yaml:"realtime_model" json:"realtime_model"`
	RealtimeURL    string   `yaml:"realtime_url" json:"realtime_url"`
	ChatModel      string   `yaml:"chat_model" json:"chat_model"`
	EmbeddingModel string   `yaml:"embedding_model" json:"embedding_model"`
	Timeout        Duration `yaml:"timeout" json:"timeout"`
	MaxTokens      int      `yaml:"max_tokens" json:"max_tokens"` // token budget per summarise call
}

// AWS configures the AWS providers.
type AWS struct {
	Region           string `yaml:"region" json:"region"`
	Profile          string `yaml:"profile" json:"profile"`
	Endpoint         string `yaml:"endpoint" json:"endpoint"`
	TranscribeBucket string `yaml:"transcribe_bucket" json:"transcribe_bucket"`
	BedrockModel     string `yaml:"bedrock_model" json:"bedrock_model"`
	// EmbeddingModel is the Bedrock embedding model of analysers.embed:
	// aws (amazon.titan-embed-text-v2:0, cohere.embed-english-v3,
	// cohere.embed-multilingual-v3); EmbeddingDimensions Titan v2's size
	// (256, 512 or 1024; 0 is the model's 1024).
	EmbeddingModel      string `yaml:"embedding_model" json:"embedding_model"`
	EmbeddingDimensions int    `yaml:"embedding_dimensions" json:"embedding_dimensions"`
	// AsyncJobs runs Transcribe jobs asynchronously: the state starts the
	// job and waits by task token with no worker held; the job's
	// "Transcribe Job State Change" event, delivered to POST
	// /v1/intake/aws-events (an EventBridge API destination), resumes it.
	// Without it the provider polls the job from a worker.
	AsyncJobs bool `yaml:"async_jobs" json:"async_jobs"`
	// JobHeartbeat is the longest an asynchronous job may run without its
	// completion arriving; past it the item fails with Transcribe.JobLost
	// or Rekognition.JobLost (default 2h).
	JobHeartbeat Duration `yaml:"job_heartbeat" json:"job_heartbeat"`
	// LiveVocabulary names a custom vocabulary created in Amazon
	// Transcribe that every live session of live.provider aws uses
	// (Transcribe Streaming takes no inline words). LiveVocabularyFilter
	// names a vocabulary filter created there, applied by
	// LiveVocabularyFilterMethod: mask (the default), remove or tag.
	LiveVocabulary             string `yaml:"live_vocabulary" json:"live_vocabulary"`
	LiveVocabularyFilter       string `yaml:"live_vocabulary_filter" json:"live_vocabulary_filter"`
	LiveVocabularyFilterMethod string `yaml:"live_vocabulary_filter_method" json:"live_vocabulary_filter_method"`
	// RekognitionSNSTopic is the SNS topic ARN Rekognition Video publishes
	// its jobs' completion to, and RekognitionRoleARN the role it
	// publishes as. With both and async_jobs, a video's labels and
	// moderation run as Rekognition Video jobs (StartLabelDetection,
	// StartContentModeration) resumed by the topic's notification, which
	// reaches POST /v1/intake/sns through an HTTPS subscription (or the
	// stack's function). Without them videos are analysed on keyframes.
	RekognitionSNSTopic string `yaml:"rekognition_sns_topic" json:"rekognition_sns_topic"`
	RekognitionRoleARN  string `yaml:"rekognition_role_arn" json:"rekognition_role_arn"`
}

// Notify configures failure notifications.
type Notify struct {
	WebhookURL     string   `yaml:"webhook_url" json:"webhook_url"`
	Secret         string   `yaml:"secret" json:"secret"` // HMAC-SHA256 key for the signature header
	AlertThreshold int      `yaml:"alert_threshold" json:"alert_threshold"`
	AlertWindow    Duration `yaml:"alert_window" json:"alert_window"`
}

// Price is what one unit of an analyser's usage costs, in the configured
// currency.
type Price struct {
	PerCPUSecond     float64 `yaml:"per_cpu_second" json:"per_cpu_second"`
	PerAudioMinute   float64 `yaml:"per_audio_minute" json:"per_audio_minute"`
	PerImage         float64 `yaml:"per_image" json:"per_image"`
	PerInputKTokens  float64 `yaml:"per_1k_input_tokens" json:"per_1k_input_tokens"`
	PerOutputKTokens float64 `yaml:"per_1k_output_tokens" json:"per_1k_output_tokens"`
}

// Log configures structured logging.
type Log struct {
	Level  string  `yaml:"level" json:"level"`   // debug, info, warn, error
	Format string  `yaml:"format" json:"format"` // json (default) or text
	Sample float64 `yaml:"sample" json:"sample"` // fraction of debug/info lines kept (1 = all)
}

// Review policies.
const (
	ReviewOff  = "off"  // nothing waits for a person
	ReviewAuto = "auto" // the thresholds decide
	ReviewAll  = "all"  // every item waits for a person
)

// Review decides which processed media wait for a person before they are
// published, and how long they wait.
type Review struct {
	// Policy is off (the default), auto or all; a tenant's own policy
	// (tenants[].review) wins.
	Policy string `yaml:"policy" json:"policy"`
	// MinConfidence: under auto, a transcript whose mean word confidence
	// is below it is reviewed (default 0.6).
	MinConfidence float64 `yaml:"min_confidence" json:"min_confidence"`
	// ModerationThreshold: under auto, a moderation label at or above this
	// confidence (0..100) is reviewed (default 60).
	ModerationThreshold float64 `yaml:"moderation_threshold" json:"moderation_threshold"`
	// Timeout is how long an item waits for a decision before it is
	// escalated (default 6h; every round and escalation must fit in
	// limits.execution_timeout); Heartbeat, when set, escalates an item no
	// reviewer has touched (claimed, edited) for that long.
	Timeout   Duration `yaml:"timeout" json:"timeout"`
	Heartbeat Duration `yaml:"heartbeat" json:"heartbeat"`
	// MaxEscalations is how many times a timed-out item is escalated
	// (priority raised, queued again) before it fails with
	// Review.TimedOut (default 2).
	MaxEscalations int `yaml:"max_escalations" json:"max_escalations"`
	// ClaimLease is how long a reviewer's claim lasts (default 15m).
	ClaimLease Duration `yaml:"claim_lease" json:"claim_lease"`
}

// ReviewPolicy returns the review policy of a tenant.
func (c *Config) ReviewPolicy(tenant string) string {
	for _, t := range c.Tenants {
		if t.ID == tenant && t.Review != "" {
			return t.Review
		}
	}
	if c.Review.Policy == "" {
		return ReviewOff
	}
	return c.Review.Policy
}

// Tenant is one tenant and its API keys.
type Tenant struct {
	ID string `yaml:"id" json:"id"`
	// Review is the tenant's review policy (off, auto, all); empty takes
	// review.policy.
	Review string `yaml:"review" json:"review"`
	// Vocabulary is added to every transcription of this tenant's media.
	Vocabulary []string `yaml:"vocabulary" json:"vocabulary"`
	// Profile is the insight profile filled for this tenant's media
	// (podcast, lecture, support-call, moderation) unless an upload or
	// a rule names another.
	Profile string `yaml:"profile" json:"profile"`
	// Moderation, when set, is this tenant's moderation policy (instead
	// of the installation's).
	Moderation *ModerationPolicy `yaml:"moderation" json:"moderation"`
}

// ModerationPolicy decides what moderation flags do to a media item: a
// flag named in Reject at or above its confidence rejects the item, one
// in Review marks it for human review. Names match a moderation label or
// its parent (e.g. "Explicit" covers "Explicit Nudity"); "*" matches any.
// The frames that triggered a rule are kept as evidence.
type ModerationPolicy struct {
	Review []ModerationRule `yaml:"review" json:"review"`
	Reject []ModerationRule `yaml:"reject" json:"reject"`
}

// ModerationRule is one label (or parent, or "*") and the confidence
// (0..100) from which it applies.
type ModerationRule struct {
	Label         string  `yaml:"label" json:"label"`
	MinConfidence float64 `yaml:"min_confidence" json:"min_confidence"`
}

// ModerationPolicyFor returns tenant's moderation policy: its own, else the
// installation's (nil when neither is set).
func (c *Config) ModerationPolicyFor(tenant string) (*ModerationPolicy, string) {
	for _, t := range c.Tenants {
		if t.ID == tenant && t.Moderation != nil {
			return t.Moderation, "tenant:" + tenant
		}
	}
	if c.Moderation != nil {
		return c.Moderation, "installation"
	}
	return nil, ""
}

// OTLP configures trace export.
type OTLP struct {
	Endpoint    string            `yaml:"endpoint" json:"endpoint"`         // e.g. http://127.0.0.1:4318; empty = no traces
	SampleRatio float64           `yaml:"sample_ratio" json:"sample_ratio"` // fraction of media traces kept; 0 = all
	Headers     map[string]string `yaml:"headers" json:"headers"`           // sent with every export, e.g. Authorization
}

// Duration is a time.Duration written as "90s", "15m" or "24h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 90s, 15m, 24h)", b)
	}
	d.Duration = v
	return nil
}

// MarshalText prints the duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the embedded-mode configuration rooted at data.
func Default(data string) *Config {
	c := &Config{Data: data}
	c.applyDefaults()
	return c
}

func (c *Config) applyDefaults() {
	if c.Data == "" {
		c.Data = ".landfall"
	}
	if abs, err := filepath.Abs(c.Data); err == nil {
		c.Data = abs
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.DB == "" {
		c.DB = "sqlite://" + filepath.Join(c.Data, "landfall.db")
	}
	if c.Blob == "" {
		c.Blob = "file://" + filepath.Join(c.Data, "bucket")
	}
	if c.Role == "" {
		c.Role = "all"
	}
	if c.SecretFile == "" {
		c.SecretFile = filepath.Join(c.Data, "installation.secret")
	}
	if c.Workers == 0 {
		c.Workers = 4
	}
	if c.Vision.Worker == "" {
		c.Vision.Worker = "serve"
	}
	if c.Vision.Node == "" {
		c.Vision.Node = "node"
	}
	if c.Vision.Processes == 0 {
		c.Vision.Processes = 1
	}
	if c.Uploads.MaxBytes == 0 {
		c.Uploads.MaxBytes = 20 << 30
	}
	if c.Uploads.AbortAfter.Duration == 0 {
		c.Uploads.AbortAfter.Duration = 24 * time.Hour
	}
	if c.Notify.AlertWindow.Duration == 0 {
		c.Notify.AlertWindow.Duration = 15 * time.Minute
	}
	if c.Notify.AlertThreshold == 0 {
		c.Notify.AlertThreshold = 5
	}
	if c.Log.Format == "" {
		c.Log.Format = "json"
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Sample == 0 {
		c.Log.Sample = 1
	}
	if c.OpenAI.Timeout.Duration == 0 {
		c.OpenAI.Timeout.Duration = 5 * time.Minute
	}
	if c.Analysers == nil {
		c.Analysers = map[string]string{}
	}
	r := &c.Review
	if r.Policy == "" {
		r.Policy = ReviewOff
	}
	if r.MinConfidence == 0 {
		r.MinConfidence = 0.6
	}
	if r.ModerationThreshold == 0 {
		r.ModerationThreshold = 60
	}
	if r.Timeout.Duration == 0 {
		r.Timeout.Duration = 6 * time.Hour
	}
	if r.MaxEscalations == 0 {
		r.MaxEscalations = 2
	}
	if r.ClaimLease.Duration == 0 {
		r.ClaimLease.Duration = 15 * time.Minute
	}
	l := &c.Limits
	if l.HistoryEvents == 0 {
		l.HistoryEvents = 25000
	}
	if l.ExecutionTimeout.Duration == 0 {
		l.ExecutionTimeout.Duration = 24 * time.Hour
	}
	if l.ConcurrentExecutions == 0 {
		l.ConcurrentExecutions = 100
	}
	if l.RequestsPerMinute == 0 {
		l.RequestsPerMinute = 1200
	}
	if l.UploadsPerMinute == 0 {
		l.UploadsPerMinute = 120
	}
	if l.FailedAuthPerMinute == 0 {
		l.FailedAuthPerMinute = 60
	}
	if l.BodyReadTimeout.Duration == 0 {
		l.BodyReadTimeout.Duration = time.Minute
	}
	if l.IdleTimeout.Duration == 0 {
		l.IdleTimeout.Duration = 2 * time.Minute
	}
}

// Load reads a configuration file (YAML or JSON). Unknown keys are errors
// that name the file, line and key.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration document strictly and applies defaults.
func Parse(r io.Reader) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(r, yaml.DisallowUnknownField(), yaml.UseJSONUnmarshaler())
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, errors.New(strings.TrimSpace(yaml.FormatError(err, false, true)))
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	c.applyDefaults()
	return &c, nil
}

// Tasks are the analyser tasks an analysers: key may name: the task
// names of package analyser.
var Tasks = []string{
	analyser.TaskClassify, analyser.TaskMedia, analyser.TaskTranscribe, analyser.TaskDiarise,
	analyser.TaskOCR, analyser.TaskFaces, analyser.TaskLanguage, analyser.TaskSummarise,
	analyser.TaskLabels, analyser.TaskModerate, analyser.TaskEmbed,
}

// MaxWorkers is the most concurrent workflow tasks one process may run.
const MaxWorkers = 1024

// Validate checks values that decoding cannot. Every problem is reported,
// each an errcode.Invalid error naming its place as a JSON pointer.
var (
	regionPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}[a-z0-9]$`)
	// transcribeNamePattern is a Transcribe vocabulary or filter name.
	transcribeNamePattern = regexp.MustCompile(`^[0-9A-Za-z._-]{1,200}$`)
	accountPattern        = regexp.MustCompile(`^[0-9]{12}$`)
	// connectionNamePattern is EventBridge's connection name.
	connectionNamePattern = regexp.MustCompile(`^[.\-_A-Za-z0-9]{1,64}$`)
)

func (c *Config) Validate() error {
	var errs []error
	bad := func(pointer, format string, args ...any) {
		errs = append(errs, errcode.New(errcode.Invalid, "%s: %s", pointer, fmt.Sprintf(format, args...)))
	}
	switch c.Role {
	case "", "all", "api", "worker":
	default:
		bad("/role", "must be all, api or worker, not %q", c.Role)
	}
	switch c.Vision.Worker {
	case "", "serve", "external", "off":
	default:
		bad("/vision/worker", "must be serve, external or off, not %q", c.Vision.Worker)
	}
	checkPolicy := func(pointer string, p *ModerationPolicy) {
		if p == nil {
			return
		}
		for name, rules := range map[string][]ModerationRule{"review": p.Review, "reject": p.Reject} {
			for i, r := range rules {
				if strings.TrimSpace(r.Label) == "" {
					bad(fmt.Sprintf("%s/%s/%d/label", pointer, name, i), "required (a moderation label, a parent label, or *)")
				}
				if r.MinConfidence < 0 || r.MinConfidence > 100 {
					bad(fmt.Sprintf("%s/%s/%d/min_confidence", pointer, name, i), "must be within 0..100, not %g", r.MinConfidence)
				}
			}
		}
	}
	checkPolicy("/moderation", c.Moderation)
	for i, t := range c.Tenants {
		checkPolicy(fmt.Sprintf("/tenants/%d/moderation", i), t.Moderation)
	}
	if t := c.AWS.RekognitionSNSTopic; t != "" && (!strings.HasPrefix(t, "arn:aws") || !strings.Contains(t, ":sns:")) {
		bad("/aws/rekognition_sns_topic", "must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>), not %q", t)
	}
	if r := c.AWS.RekognitionRoleARN; r != "" && (!strings.HasPrefix(r, "arn:aws") || !strings.Contains(r, ":iam::")) {
		bad("/aws/rekognition_role_arn", "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>), not %q", r)
	}
	if (c.AWS.RekognitionSNSTopic == "") != (c.AWS.RekognitionRoleARN == "") {
		bad("/aws", "rekognition_sns_topic and rekognition_role_arn go together (Rekognition publishes to the topic as the role)")
	}
	if c.Vision.Processes < 0 || c.Vision.Processes > 16 {
		bad("/vision/processes", "must be between 1 and 16, not %d", c.Vision.Processes)
	}
	if c.Workers < 0 || c.Workers > MaxWorkers {
		bad("/workers", "must be between 0 (the default, 4) and %d, not %d", MaxWorkers, c.Workers)
	}
	for _, task := range sortedKeys(c.Analysers) {
		if !slices.Contains(Tasks, task) {
			known := slices.Clone(Tasks)
			slices.Sort(known)
			bad("/analysers/"+pointerToken(task), "unknown analyser task %q (known tasks: %s)", task, strings.Join(known, ", "))
		}
		switch p := c.Analysers[task]; p {
		case "local", "openai", "aws", "none":
		default:
			bad("/analysers/"+pointerToken(task), "unknown provider %q (want local, openai, aws or none)", p)
		}
	}
	switch c.AWS.EmbeddingDimensions {
	case 0, 256, 512, 1024:
	default:
		bad("/aws/embedding_dimensions", "must be 256, 512 or 1024 (Titan Text Embeddings v2), not %d", c.AWS.EmbeddingDimensions)
	}
	firstAt := map[string]int{}
	for i, t := range c.Tenants {
		pointer := fmt.Sprintf("/tenants/%d/id", i)
		switch j, dup := firstAt[t.ID]; {
		case t.ID == "":
			bad(pointer, "required")
		case identity.CheckTenantID(t.ID) != nil:
			bad(pointer, "%v", identity.CheckTenantID(t.ID))
		case dup:
			bad(pointer, "tenant %q is already configured at /tenants/%d", t.ID, j)
		default:
			firstAt[t.ID] = i
		}
		switch t.Review {
		case "", ReviewOff, ReviewAuto, ReviewAll:
		default:
			bad(fmt.Sprintf("/tenants/%d/review", i), "must be off, auto or all, not %q", t.Review)
		}
		if t.Profile != "" {
			if _, err := profile.Find(t.Profile); err != nil {
				bad(fmt.Sprintf("/tenants/%d/profile", i), "%v", err)
			}
		}
	}
	switch c.Review.Policy {
	case "", ReviewOff, ReviewAuto, ReviewAll:
	default:
		bad("/review/policy", "must be off, auto or all, not %q", c.Review.Policy)
	}
	if !(c.Review.MinConfidence >= 0 && c.Review.MinConfidence <= 1) {
		bad("/review/min_confidence", "must be between 0 and 1, not %v", c.Review.MinConfidence)
	}
	if !(c.Review.ModerationThreshold >= 0 && c.Review.ModerationThreshold <= 100) {
		bad("/review/moderation_threshold", "must be between 0 and 100, not %v", c.Review.ModerationThreshold)
	}
	if d := c.Review.Timeout.Duration; d < 0 || d > 365*24*time.Hour {
		bad("/review/timeout", "must be between 0 and 8760h, not %s", d)
	}
	if d := c.Review.Heartbeat.Duration; d < 0 || d > 365*24*time.Hour {
		bad("/review/heartbeat", "must be between 0 and 8760h, not %s", d)
	}
	if c.Review.MaxEscalations < 0 || c.Review.MaxEscalations > 100 {
		bad("/review/max_escalations", "must be between 0 and 100, not %d", c.Review.MaxEscalations)
	}
	if rv := c.Review; rv.Policy != ReviewOff && rv.Policy != "" && rv.Timeout.Duration > 0 && c.Limits.ExecutionTimeout.Duration > 0 &&
		rv.Timeout.Duration*time.Duration(rv.MaxEscalations+1) >= c.Limits.ExecutionTimeout.Duration {
		bad("/review/timeout", "%s for each of %d rounds (max_escalations %d + 1) does not fit in limits.execution_timeout %s: an item would stop waiting only when its execution is cut off",
			rv.Timeout.Duration, rv.MaxEscalations+1, rv.MaxEscalations, c.Limits.ExecutionTimeout.Duration)
	}
	notNegativeLease := c.Review.ClaimLease.Duration < 0 || c.Review.ClaimLease.Duration > 24*time.Hour
	if notNegativeLease {
		bad("/review/claim_lease", "must be between 0 and 24h, not %s", c.Review.ClaimLease.Duration)
	}
	notNegative := func(pointer string, negative bool) {
		if negative {
			bad(pointer, "must not be negative")
		}
	}
	notNegative("/uploads/max_bytes", c.Uploads.MaxBytes < 0)
	notNegative("/uploads/abort_after", c.Uploads.AbortAfter.Duration < 0)
	notNegative("/openai/timeout", c.OpenAI.Timeout.Duration < 0)
	notNegative("/openai/max_tokens", c.OpenAI.MaxTokens < 0)
	notNegative("/notify/alert_threshold", c.Notify.AlertThreshold < 0)
	notNegative("/notify/alert_window", c.Notify.AlertWindow.Duration < 0)
	notNegative("/live/max_seconds", c.Live.MaxSeconds < 0)
	notNegative("/live/max_sessions", c.Live.MaxSessions < 0)
	notNegative("/live/idle_timeout", c.Live.IdleTimeout.Duration < 0)
	switch c.Live.Provider {
	case "", "local", "aws":
	case "openai":
		if c.OpenAI.BaseURL == "" {
			bad("/live/provider", "openai needs openai.base_url")
		}
	default:
		bad("/live/provider", "unknown provider %q (want local, openai or aws)", c.Live.Provider)
	}
	for _, v := range []struct{ path, name string }{{"/aws/live_vocabulary", c.AWS.LiveVocabulary}, {"/aws/live_vocabulary_filter", c.AWS.LiveVocabularyFilter}} {
		if v.name != "" && !transcribeNamePattern.MatchString(v.name) {
			bad(v.path, "%q is not a Transcribe resource name (1 to 200 letters, digits, '.', '_' and '-')", v.name)
		}
	}
	switch c.AWS.LiveVocabularyFilterMethod {
	case "":
	case "mask", "remove", "tag":
		if c.AWS.LiveVocabularyFilter == "" {
			bad("/aws/live_vocabulary_filter_method", "set without aws.live_vocabulary_filter")
		}
	default:
		bad("/aws/live_vocabulary_filter_method", "unknown method %q (want mask, remove or tag)", c.AWS.LiveVocabularyFilterMethod)
	}
	if r := c.StepFunctions.Region; r != "" && !regionPattern.MatchString(r) {
		bad("/step_functions/region", "%q is not a region name (lowercase letters, digits and dashes, e.g. eu-west-1)", r)
	}
	if a := c.StepFunctions.Account; a != "" && !accountPattern.MatchString(a) {
		bad("/step_functions/account", "%q is not an account id (12 digits)", a)
	}
	for _, name := range sortedKeys(c.StepFunctions.Connections) {
		cn, p := c.StepFunctions.Connections[name], "/step_functions/connections/"+pointerToken(name)
		if !connectionNamePattern.MatchString(name) {
			bad(p, "connection name %q: 1 to 64 letters, digits, '.', '-' and '_'", name)
		}
		if (cn.APIKeyHeader == "") != (cn.APIKeyEnv == "") {
			bad(p, "api_key_header and api_key_env go together")
		}
		if (cn.Username == "") != (cn.PasswordEnv == "") {
			bad(p, "username and password_env go together")
		}
		for h := range cn.Headers {
			if strings.EqualFold(h, "authorization") {
				bad(p+"/headers/"+pointerToken(h), "credentials come from environment variables (bearer_token_env, password_env), not from the file")
			}
		}
	}
	l := c.Limits
	notNegative("/limits/history_events", l.HistoryEvents < 0)
	notNegative("/limits/execution_timeout", l.ExecutionTimeout.Duration < 0)
	notNegative("/limits/concurrent_executions", l.ConcurrentExecutions < 0)
	notNegative("/limits/stored_bytes", l.StoredBytes < 0)
	notNegative("/limits/requests_per_minute", l.RequestsPerMinute < 0)
	notNegative("/limits/uploads_per_minute", l.UploadsPerMinute < 0)
	notNegative("/limits/failed_auth_per_minute", l.FailedAuthPerMinute < 0)
	notNegative("/limits/body_read_timeout", l.BodyReadTimeout.Duration < 0)
	notNegative("/limits/idle_timeout", l.IdleTimeout.Duration < 0)
	for _, id := range sortedKeys(c.Prices) {
		p := c.Prices[id]
		for _, f := range []struct {
			name string
			v    float64
		}{
			{"per_cpu_second", p.PerCPUSecond}, {"per_audio_minute", p.PerAudioMinute}, {"per_image", p.PerImage},
			{"per_1k_input_tokens", p.PerInputKTokens}, {"per_1k_output_tokens", p.PerOutputKTokens},
		} {
			if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
				bad("/prices/"+pointerToken(id)+"/"+f.name, "must be a finite number not below 0, not %v", f.v)
			}
		}
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		bad("/log/level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "text":
	default:
		bad("/log/format", "must be json or text, not %q", c.Log.Format)
	}
	if !(c.Log.Sample >= 0 && c.Log.Sample <= 1) {
		bad("/log/sample", "must be between 0 and 1, not %v", c.Log.Sample)
	}
	if !(c.OTLP.SampleRatio >= 0 && c.OTLP.SampleRatio <= 1) {
		bad("/otlp/sample_ratio", "must be between 0 and 1, not %v", c.OTLP.SampleRatio)
	}
	return errors.Join(errs...)
}

// pointerToken escapes a key for a JSON pointer (RFC 6901).
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Provider returns the configured provider of task, defaulting to local.
func (c *Config) Provider(task string) string {
	if p, ok := c.Analysers[task]; ok {
		return p
	}
	return "local"
}
