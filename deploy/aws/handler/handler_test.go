package handler

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambda/messages"
	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/landfall/landfall/asl"
	"github.com/landfall/landfall/asl/expr"
	"github.com/landfall/landfall/blob/s3blob/s3test"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/catalog/dynamodb"
	awsdeploy "github.com/landfall/landfall/deploy/aws"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/internal/testutil"
	"github.com/landfall/landfall/rule"
	"github.com/landfall/landfall/types"
)

var server *s3test.Server

func TestMain(m *testing.M) {
	s, err := s3test.Start()
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	server = s
	code := m.Run()
	s3test.Stop()
	os.Exit(code)
}

// Call is one AWS API call a function made: its IAM action and the
// resource it named (a bucket key, a table or index name).
type Call struct {
	Action   string
	Resource string
}

// recorder is the functions' HTTP client: it notes each call's IAM
// action and resource, then sends it on.
type recorder struct {
	mu       sync.Mutex
	calls    map[string]map[Call]bool // by task
	task     string                   // the task of this client
	shared   *recorder
	dynamoEP string
}

func (r *recorder) forTask(task string) *recorder {
	return &recorder{task: task, shared: r, dynamoEP: r.dynamoEP}
}

func (r *recorder) note(c Call) {
	s := r.shared
	if s == nil {
		s = r
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.calls[r.task] == nil {
		s.calls[r.task] = map[Call]bool{}
	}
	s.calls[r.task][c] = true
}

func (r *recorder) Do(req *http.Request) (*http.Response, error) {
	if target := req.Header.Get("X-Amz-Target"); strings.HasPrefix(target, "AWSEvents.") {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var in struct {
			Entries []struct{ EventBusName string }
		}
		json.Unmarshal(body, &in)
		for _, e := range in.Entries {
			r.note(Call{"events:" + strings.TrimPrefix(target, "AWSEvents."), "event-bus/" + e.EventBusName})
		}
	} else if svc, op, ok := strings.Cut(target, "."); ok && (svc == "Transcribe" || svc == "RekognitionService") {
		name := map[string]string{"Transcribe": "transcribe", "RekognitionService": "rekognition"}[svc]
		r.note(Call{name + ":" + op, "*"})
		// Starting a job that publishes its completion as a role passes
		// that role (iam:PassRole, checked by the service).
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ NotificationChannel struct{ RoleArn string } }
		json.Unmarshal(body, &in)
		if in.NotificationChannel.RoleArn != "" {
			r.note(Call{"iam:PassRole", in.NotificationChannel.RoleArn})
		}
	} else if op, ok := strings.CutPrefix(target, "AWSStepFunctions."); ok {
		r.note(Call{"states:" + op, "stateMachine:landfall-media"})
	} else if m := converseRe.FindStringSubmatch(req.URL.Path); m != nil {
		// Converse is authorised as bedrock:InvokeModel on the model.
		r.note(Call{"bedrock:InvokeModel", "foundation-model/" + m[1]})
	} else if req.URL.Path == "/out/transcript.json" {
		// Transcribe's presigned output URL: no IAM permission.
	} else if strings.HasPrefix(target, "DynamoDB_") {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		var in struct{ TableName, IndexName string }
		json.Unmarshal(body, &in)
		res := in.TableName
		if in.IndexName != "" {
			res += "/index/" + in.IndexName
		}
		_, op, _ := strings.Cut(target, ".")
		r.note(Call{"dynamodb:" + op, res})
	} else {
		for _, c := range s3Calls(req) {
			r.note(c)
		}
	}
	return http.DefaultClient.Do(req)
}

var converseRe = regexp.MustCompile(`^/model/([^/]+)/converse$`)

// s3Calls maps a path-style S3 request to the IAM actions it needs.
func s3Calls(req *http.Request) []Call {
	path := strings.TrimPrefix(req.URL.Path, "/")
	_, key, _ := strings.Cut(path, "/")
	q := req.URL.Query()
	if key == "" {
		if req.Method == http.MethodGet {
			return []Call{{"s3:ListBucket", "bucket"}}
		}
		if _, ok := q["delete"]; ok {
			return []Call{{"s3:DeleteObject", "bucket(batch)"}}
		}
		return []Call{{"s3:" + req.Method + "Bucket", "bucket"}}
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead:
		return []Call{{"s3:GetObject", key}}
	case http.MethodPut:
		out := []Call{{"s3:PutObject", key}}
		if src := req.Header.Get("X-Amz-Copy-Source"); src != "" {
			src, _ = url.PathUnescape(src)
			_, sk, _ := strings.Cut(strings.TrimPrefix(src, "/"), "/")
			out = append(out, Call{"s3:GetObject", sk})
		}
		return out
	case http.MethodPost:
		return []Call{{"s3:PutObject", key}}
	case http.MethodDelete:
		if _, ok := q["uploadId"]; ok {
			return []Call{{"s3:AbortMultipartUpload", key}}
		}
		return []Call{{"s3:DeleteObject", key}}
	}
	return []Call{{"s3:" + req.Method, key}}
}

// stack is a local stand-in for a deployed stack: the media bucket on a
// local S3, the catalog tables on dynalite, one handler per function.
type stack struct {
	svc      *services
	sfn      *fakeStates
	mu       sync.Mutex
	last     map[string][]byte // the last event each function received
	services string
	events   *eventBus
	bucket   string
	prefix   string
	rec      *recorder
	handlers map[string]*Handler
	store    catalog.Store
	s3       *s3.Client
	machine  *asl.Machine
	rules    []rule.RuleSpec
}

func sdkConfig(rec *recorder) awssdk.Config {
	return awssdk.Config{Region: server.Region, HTTPClient: rec, RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(server.AccessKey, server.SecretKey, "")}
}

func newStack(t *testing.T) *stack {
	t.Helper()
	ctx := context.Background()
	dynEP := testutil.Dynalite(t)
	root := testutil.RepoRoot(t)
	def, err := os.ReadFile(filepath.Join(root, "pipelines", "media.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	rulesFile, err := os.ReadFile(filepath.Join(root, "pipelines", "media.rules.json"))
	if err != nil {
		t.Fatal(err)
	}
	st := &stack{bucket: server.NewBucket(t, true), prefix: "lambdatest-", rec: &recorder{calls: map[string]map[Call]bool{}, dynamoEP: dynEP},
		handlers: map[string]*Handler{}, events: newEventBus(t), svc: newServices(t), sfn: newFakeStates(t), last: map[string][]byte{}}
	st.services = st.svc.url
	st.rules, err = rule.ParseRulesFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	// The same substitutions CloudFormation makes.
	st.machine, err = asl.Parse(def, asl.ParseOptions{Substitutions: map[string]string{"Region": "eu-west-1", "AccountId": "123456789012"}})
	if err != nil {
		t.Fatal(err)
	}
	admin := sdkConfig(&recorder{calls: map[string]map[Call]bool{}})
	st.s3 = s3.NewFromConfig(admin, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = awssdk.String(server.Endpoint), true })
	dc := ddb.NewFromConfig(admin, func(o *ddb.Options) { o.BaseEndpoint = awssdk.String(dynEP) })
	// The tables as the stack creates them.
	st.store, err = dynamodb.Open(ctx, dynamodb.Config{Client: dc, Prefix: st.prefix, CreateTables: true}, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{"acme", "globex"} {
		if _, err := st.store.TenantCreate(ctx, &catalog.TenantCreateParams{ID: tn}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// eventBus is a loopback server answering EventBridge's PutEvents, as the
// default bus would, keeping the events.
type eventBus struct {
	url    string
	mu     sync.Mutex
	events []map[string]any
}

func newEventBus(t *testing.T) *eventBus {
	b := &eventBus{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
			http.Error(w, `{"__type":"UnknownOperationException"}`, http.StatusBadRequest)
			return
		}
		var in struct{ Entries []map[string]any }
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, `{"__type":"SerializationException"}`, http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		var out []map[string]any
		for _, e := range in.Entries {
			b.events = append(b.events, e)
			out = append(out, map[string]any{"EventId": fmt.Sprintf("ev-%d", len(b.events))})
		}
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		json.NewEncoder(w).Encode(map[string]any{"FailedEntryCount": 0, "Entries": out})
	}))
	t.Cleanup(srv.Close)
	b.url = srv.URL
	return b
}

const transcript = `{"jobName":"j","status":"COMPLETED","results":{"language_code":"en-US",
"transcripts":[{"transcript":"The harbour opens at dawn."}],"items":[
{"type":"pronunciation","start_time":"0.1","end_time":"0.4","speaker_label":"spk_0","alternatives":[{"content":"The","confidence":"0.99"}]},
{"type":"pronunciation","start_time":"0.4","end_time":"0.9","speaker_label":"spk_0","alternatives":[{"content":"harbour","confidence":"0.97"}]},
{"type":"pronunciation","start_time":"0.9","end_time":"1.3","speaker_label":"spk_0","alternatives":[{"content":"opens","confidence":"0.98"}]},
{"type":"pronunciation","start_time":"1.3","end_time":"1.5","speaker_label":"spk_0","alternatives":[{"content":"at","confidence":"0.99"}]},
{"type":"pronunciation","start_time":"1.5","end_time":"2.0","speaker_label":"spk_0","alternatives":[{"content":"dawn","confidence":"0.96"}]},
{"type":"punctuation","alternatives":[{"content":".","confidence":"0.0"}]}],
"speaker_labels":{"speakers":1,"segments":[{"start_time":"0.1","end_time":"2.0","speaker_label":"spk_0","items":[]}]}}}`

// services is a loopback stand-in for Transcribe, Rekognition and
// Bedrock, answering as they do, so the functions' AWS providers run
// their real calls. A Transcribe job the test marks ended answers a new
// start with ConflictException (a retried attempt finds it); Rekognition
// Video jobs stay IN_PROGRESS until the test sets their status.
type services struct {
	url        string
	mu         sync.Mutex
	transcribe map[string]string // job name → status the test set
	lastName   string
	rekTokens  map[string]string // ClientRequestToken → JobId
	rekStatus  map[string]string // JobId → JobStatus
	lastRek    map[string]string // Start operation → JobId
	flag       bool              // DetectModerationLabels flags alcohol
}

func (s *services) set(m map[string]string, k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m[k] = v
}

func newServices(t *testing.T) *services {
	s := &services{transcribe: map[string]string{}, rekTokens: map[string]string{}, rekStatus: map[string]string{}, lastRek: map[string]string{}}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		op := r.Header.Get("X-Amz-Target")
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case op == "Transcribe.StartTranscriptionJob":
			name, _ := body["TranscriptionJobName"].(string)
			s.lastName = name
			if s.transcribe[name] != "" {
				w.Header().Set("X-Amzn-ErrorType", "ConflictException")
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"__type":"ConflictException","message":"The requested job name already exists."}`)
				return
			}
			io.WriteString(w, `{"TranscriptionJob":{"TranscriptionJobStatus":"IN_PROGRESS"}}`)
		case op == "Transcribe.GetTranscriptionJob":
			name, _ := body["TranscriptionJobName"].(string)
			if s.transcribe[name] == "FAILED" {
				io.WriteString(w, `{"TranscriptionJob":{"TranscriptionJobStatus":"FAILED","FailureReason":"Internal failure."}}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"TranscriptionJob": map[string]any{"TranscriptionJobStatus": "COMPLETED",
				"Transcript": map[string]any{"TranscriptFileUri": srv.URL + "/out/transcript.json"}}})
		case r.URL.Path == "/out/transcript.json":
			io.WriteString(w, transcript)
		case op == "RekognitionService.DetectLabels":
			io.WriteString(w, `{"Labels":[{"Name":"Harbor","Confidence":93.5}],"LabelModelVersion":"3.0"}`)
		case op == "RekognitionService.DetectModerationLabels" && s.flag:
			io.WriteString(w, `{"ModerationLabels":[{"Name":"Alcohol","Confidence":82.5,"TaxonomyLevel":1}],"ModerationModelVersion":"7.0"}`)
		case op == "RekognitionService.DetectModerationLabels":
			io.WriteString(w, `{"ModerationLabels":[],"ModerationModelVersion":"7.0"}`)
		case op == "RekognitionService.StartLabelDetection" || op == "RekognitionService.StartContentModeration":
			token, _ := body["ClientRequestToken"].(string)
			id := s.rekTokens[token]
			if id == "" {
				id = fmt.Sprintf("%064x", len(s.rekTokens)+1)
				s.rekTokens[token], s.rekStatus[id] = id, "IN_PROGRESS"
			}
			s.lastRek[op] = id
			json.NewEncoder(w).Encode(map[string]any{"JobId": id})
		case op == "RekognitionService.GetLabelDetection" || op == "RekognitionService.GetContentModeration":
			id, _ := body["JobId"].(string)
			out := map[string]any{"JobStatus": s.rekStatus[id]}
			if s.rekStatus[id] == "FAILED" {
				out["StatusMessage"] = "Access denied to the SNS topic."
			}
			if s.rekStatus[id] == "SUCCEEDED" && op == "RekognitionService.GetLabelDetection" {
				out["Labels"] = []any{map[string]any{"Timestamp": 500, "Label": map[string]any{"Name": "Harbor", "Confidence": 93.5}}}
			}
			json.NewEncoder(w).Encode(out)
		case converseRe.MatchString(r.URL.Path):
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"record_insights","input":`+
				`{"summary":"A harbour opens at dawn.","chapters":[{"title":"Dawn","start_seconds":0}],"topics":["harbour"],`+
				`"entities":{"people":[],"organisations":[],"places":["Harbour"]},"seo_description":"The harbour at dawn."}}}]}},`+
				`"stopReason":"tool_use","usage":{"inputTokens":120,"outputTokens":40,"totalTokens":160},"metrics":{"latencyMs":5}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"UnknownOperationException","message":"%s %s"}`, op, r.URL.Path)
		}
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// fakeStates is a loopback Step Functions answering SendTaskSuccess and
// SendTaskFailure, keeping what each token was sent.
type fakeStates struct {
	url  string
	mu   sync.Mutex
	sent map[string]map[string]any // token → the request
}

func newFakeStates(t *testing.T) *fakeStates {
	f := &fakeStates{sent: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		token, _ := body["taskToken"].(string)
		f.mu.Lock()
		defer f.mu.Unlock()
		if (op != "SendTaskSuccess" && op != "SendTaskFailure") || token == "" {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"UnknownOperationException"}`)
			return
		}
		if f.sent[token] != nil {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"__type":"TaskTimedOut","message":"Task Timed Out"}`)
			return
		}
		body["op"] = op
		f.sent[token] = body
		io.WriteString(w, `{}`)
	}))
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *fakeStates) of(token string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent[token]
}

// handler returns the function of task, made as Lambda makes it: from
// the environment the template sets.
func (st *stack) handler(t *testing.T, task string) *Handler {
	t.Helper()
	if h := st.handlers[task]; h != nil {
		return h
	}
	env := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "landfall-" + task, "LANDFALL_BUCKET": st.bucket,
		"LANDFALL_TABLE_PREFIX": st.prefix, "LANDFALL_BEDROCK_MODEL": "test-model",
		"LANDFALL_REKOGNITION_TOPIC": testRekognitionTopic, "LANDFALL_REKOGNITION_ROLE": testRekognitionRole,
		"LANDFALL_MODERATION": `{"reject":[{"label":"Alcohol","min_confidence":60}]}`,
		// The stack's providers: Transcribe, Rekognition and Bedrock
		// (answered by newServices), the rest local.
	}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ac := sdkConfig(st.rec.forTask(task))
	cfg.ServicesEndpoint, cfg.StatesEndpoint = st.services, st.sfn.url
	cfg.AWS, cfg.S3Endpoint, cfg.DynamoDBEndpoint, cfg.EventsEndpoint, cfg.WorkRoot = &ac, server.Endpoint, st.rec.dynamoEP, st.events.url, t.TempDir()
	h, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	st.handlers[task] = h
	return h
}

var functionARN = regexp.MustCompile(`^arn:aws:lambda:eu-west-1:123456789012:function:landfall-([a-z-]+)$`)

// RunTask invokes the function a Task state names with the JSON event
// Step Functions sends (the state's effective input), and maps a
// function error to the error name and cause Step Functions reports.
func (st *stack) tasks(t *testing.T) asl.TaskHandler {
	var mu sync.Mutex
	return asl.TaskHandlerFunc(func(ctx context.Context, req *asl.TaskRequest) (any, error) {
		m := functionARN.FindStringSubmatch(req.Resource)
		if m == nil {
			return nil, &asl.TaskError{Name: "States.TaskFailed", Cause: "no function for " + req.Resource}
		}
		mu.Lock()
		h := st.handler(t, m[1])
		mu.Unlock()
		event, err := json.Marshal(req.Input)
		if err != nil {
			return nil, err
		}
		st.mu.Lock()
		st.last[m[1]] = event
		st.mu.Unlock()
		out, err := h.Invoke(ctx, event)
		if m[1] == "ocr" && err == nil {
			// The frames function runs only when a vision activity worker
			// serves labels or moderation; Step Functions sends it the
			// same event as the text reading (the image itself, or the
			// video's keyframes). Run it beside every text reading.
			mu.Lock()
			fh := st.handler(t, "frames")
			mu.Unlock()
			if _, ferr := fh.Invoke(ctx, event); ferr != nil {
				return nil, &asl.TaskError{Name: "States.TaskFailed", Cause: "frames: " + ferr.Error()}
			}
		}
		var le messages.InvokeResponse_Error
		if errors.As(err, &le) {
			return nil, &asl.TaskError{Name: le.Type, Cause: le.Message}
		}
		if err != nil {
			return nil, err
		}
		return expr.Decode(out)
	})
}

// upload stores a file under key and returns the EventBridge event S3
// sends for it.
func (st *stack) upload(t *testing.T, key, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: &st.bucket, Key: &key, Body: bytes.NewReader(b)}); err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(b)
	ev := map[string]any{
		"version": "0", "id": fmt.Sprintf("17793124-05d4-b198-2fde-%012x", len(b)), "detail-type": "Object Created", "source": "aws.s3",
		"account": "123456789012", "time": time.Now().UTC().Format(time.RFC3339), "region": "eu-west-1",
		"resources": []string{"arn:aws:s3:::" + st.bucket},
		"detail": map[string]any{"version": "0", "bucket": map[string]any{"name": st.bucket},
			"object":     map[string]any{"key": key, "size": len(b), "etag": hex.EncodeToString(sum[:]), "sequencer": "00617F08299329D189"},
			"request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012", "reason": "PutObject"},
	}
	out, _ := json.Marshal(ev)
	return out
}

// start runs the execution the rules file's rule starts for event (its
// pattern must match; its input transformer makes the input).
func (st *stack) start(t *testing.T, event []byte) *asl.Result {
	t.Helper()
	for _, r := range st.rules {
		ok, err := r.Pattern.Matches(event)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			continue
		}
		input, err := r.Targets[0].TargetInput(event, rule.TransformContext{RuleName: r.Name})
		if err != nil {
			t.Fatal(err)
		}
		in, err := expr.Decode(input)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		res, err := asl.Run(ctx, st.machine, in, asl.RunOptions{Tasks: st.tasks(t),
			Context: map[string]any{"Execution": map[string]any{"Id": "arn:aws:states:eu-west-1:123456789012:execution:landfall-media:" + r.Name,
				"Name": r.Name, "StartTime": time.Now().UTC().Format(time.RFC3339Nano), "Input": in}}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	t.Fatalf("no rule matches the event %s", event)
	return nil
}

// TestLambdaPipeline runs the media state machine with every Task state
// served by the Lambda handler, on the events AWS sends: S3's Object
// Created event through the rules file's rule and input transformer,
// each function invoked with the state's input as JSON, S3 and DynamoDB
// behind them. An image is analysed and persisted; an unsupported file
// fails into the failures table.
func TestLambdaPipeline(t *testing.T) {
	st := newStack(t)
	dir := t.TempDir()
	ctx := context.Background()
	png := filepath.Join(dir, "harbour.png")
	if err := mediagen.Image(ctx, png, mediagen.ImageSpec{Text: "Harbour Day"}); err != nil {
		t.Fatal(err)
	}
	res := st.start(t, st.upload(t, "incoming/acme/harbour.png", png))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("image: %s %s: %s", res.Status, res.Error, res.Cause)
	}
	page, err := st.store.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Status: types.StatusSucceeded})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Media) != 1 || page.Media[0].Kind != types.KindImage || !strings.HasPrefix(page.Media[0].BucketKey, "processed/acme/") {
		t.Fatalf("media rows: %+v", page.Media)
	}
	if _, err := st.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &st.bucket, Key: &page.Media[0].BucketKey}); err != nil {
		t.Fatalf("the processed file is not in the bucket: %v", err)
	}
	st.events.mu.Lock()
	evs := js(st.events.events)
	st.events.mu.Unlock()
	if !strings.Contains(evs, `"DetailType":"Media Processed"`) || !strings.Contains(evs, page.Media[0].ID) {
		t.Fatalf("no Media Processed event on the bus: %s", evs)
	}

	notes := filepath.Join(dir, "notes.bin")
	if err := os.WriteFile(notes, bytes.Repeat([]byte("not media at all "), 200), 0o644); err != nil {
		t.Fatal(err)
	}
	res = st.start(t, st.upload(t, "incoming/globex/notes.bin", notes))
	if res.Status != "FAILED" || res.Error != "Media.Unsupported" {
		t.Fatalf("unsupported file: %s %s: %s", res.Status, res.Error, res.Cause)
	}
	fl, err := st.store.FailureList(ctx, &catalog.FailureListParams{TenantID: "globex"})
	if err != nil {
		t.Fatal(err)
	}
	if len(fl.Failures) != 1 || fl.Failures[0].ErrorName != "Media.Unsupported" || fl.Failures[0].Retryable {
		t.Fatalf("failures: %+v", fl.Failures)
	}

	// Speech: media extraction, transcription, diarisation.
	wav := filepath.Join(dir, "dawn.wav")
	if err := mediagen.Speech(ctx, wav, "The harbour opens at dawn and the boats go out.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	res = st.start(t, st.upload(t, "incoming/acme/dawn.wav", wav))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("speech: %s %s: %s", res.Status, res.Error, res.Cause)
	}
	page, err = st.store.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Kind: types.KindAudio})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Media) != 1 || page.Media[0].TranscriptKey == "" || page.Media[0].Summary != "A harbour opens at dawn." {
		t.Fatalf("audio row: %+v", page.Media)
	}

	// Step Functions runs a task again when an attempt timed out after
	// the work was done: move finds the file already moved, and
	// record-failure the failure already recorded.
	for _, task := range []string{"move", "record-failure"} {
		if _, err := st.handler(t, task).Invoke(ctx, st.last[task]); err != nil {
			t.Fatalf("%s again: %v", task, err)
		}
	}
	if fl, err := st.store.FailureList(ctx, &catalog.FailureListParams{TenantID: "globex"}); err != nil || len(fl.Failures) != 1 {
		t.Fatalf("a repeated record-failure made another row: %v %v", fl, err)
	}

	// A video with speech and text on screen: keyframes for OCR, faces,
	// labels and moderation; the soundtrack for transcription.
	mp4 := filepath.Join(dir, "briefing.mp4")
	if _, err := mediagen.Video(ctx, mp4, mediagen.VideoSpec{Width: 640, Height: 360, FPS: 10, Audio: wav,
		Slides: []mediagen.Slide{{Text: "Harbour Briefing", Seconds: 2}, {Text: "Boats at Dawn", Seconds: 2}}}); err != nil {
		t.Fatal(err)
	}
	res = st.start(t, st.upload(t, "incoming/acme/briefing.mp4", mp4))
	if res.Status != "SUCCEEDED" {
		t.Fatalf("video: %s %s: %s", res.Status, res.Error, res.Cause)
	}
	st.asyncJobs(t)

	// A flagged image: the installation's moderation policy (the
	// ModerationPolicy parameter) rejects it. Rekognition analysed no
	// frame of Landfall's, so Persist takes the evidence from the
	// original in incoming/ (ffmpeg reading it with range requests).
	st.svc.mu.Lock()
	st.svc.flag = true
	st.svc.mu.Unlock()
	cellar := filepath.Join(dir, "cellar.png")
	if err := mediagen.Image(ctx, cellar, mediagen.ImageSpec{Text: "Cellar", Background: "0x7C2D12"}); err != nil {
		t.Fatal(err)
	}
	res = st.start(t, st.upload(t, "incoming/acme/cellar.png", cellar))
	st.svc.mu.Lock()
	st.svc.flag = false
	st.svc.mu.Unlock()
	if res.Status != "SUCCEEDED" || !strings.Contains(js(res.Output), "REJECTED") {
		t.Fatalf("flagged image: %s %s: %s %s", res.Status, res.Error, res.Cause, js(res.Output))
	}
	page, err = st.store.MediaList(ctx, &catalog.MediaListParams{TenantID: "acme", Status: types.StatusRejected})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Media) != 1 || page.Media[0].Insights == nil || page.Media[0].Insights.ModerationDecision == nil ||
		len(page.Media[0].Insights.ModerationDecision.Reasons) != 1 {
		t.Fatalf("rejected rows: %+v", page.Media)
	}
	r := page.Media[0].Insights.ModerationDecision.Reasons[0]
	if r.Evidence != "processed/acme/"+page.Media[0].ID+"/evidence/at-0ms.jpg" || r.EvidenceMissing != "" {
		t.Fatalf("evidence %+v", r)
	}
	obj, err := st.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: &st.bucket, Key: &r.Evidence})
	if err != nil {
		t.Fatalf("the evidence frame is not in the bucket: %v", err)
	}
	img, err := jpeg.Decode(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatalf("the evidence frame is not a JPEG: %v", err)
	}
	if cr, cg, cb, _ := img.At(img.Bounds().Dx()/2, 2).RGBA(); cr>>8 < 0x5C || cr>>8 > 0x9C || cg>>8 > 0x4D || cb>>8 > 0x32 {
		t.Errorf("the evidence frame's top is %d,%d,%d, not the image's background", cr>>8, cg>>8, cb>>8)
	}
	writeCalls(t, st.rec)
	t.Run("LeastPrivilege", func(t *testing.T) { checkLeastPrivilege(t, st) })
}

// checkLeastPrivilege compares, for each function the template deploys,
// the calls its code made in the scenarios above with the role the
// template gives it (awsdeploy.Functions): a call the role does not allow
// fails, and so does a permission no call used.
func checkLeastPrivilege(t *testing.T, st *stack) {
	def, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "pipelines", "media.asl.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	json.Unmarshal(def, &v)
	lambdas, _, err := awsdeploy.Scan(v)
	if err != nil {
		t.Fatal(err)
	}
	for name := range awsdeploy.EventFunctions {
		lambdas = append(lambdas, awsdeploy.LambdaTask{Task: name})
	}
	for _, l := range lambdas {
		f, ok := awsdeploy.Functions[l.Task]
		if !ok {
			f, ok = awsdeploy.EventFunctions[l.Task]
		}
		if !ok {
			t.Errorf("landfall-%s has no declared role", l.Task)
			continue
		}
		declared := map[string]bool{}
		for _, g := range f.Grants {
			for _, a := range g.Actions {
				declared[a+" on "+string(g.On)] = true
			}
		}
		calls := st.rec.calls[l.Task]
		if len(calls) == 0 && f.Unavailable != "" {
			t.Logf("landfall-%s not checked: %s", l.Task, f.Unavailable)
			continue
		}
		if len(calls) == 0 {
			t.Errorf("landfall-%s is deployed but no scenario ran it, so its role is unchecked", l.Task)
			continue
		}
		used := map[string]bool{}
		for c := range calls {
			r, ok := st.resOf(c)
			if !ok {
				t.Errorf("landfall-%s called %s on %s, which no grant can name", l.Task, c.Action, c.Resource)
				continue
			}
			k := c.Action + " on " + string(r)
			used[k] = true
			if !declared[k] {
				t.Errorf("landfall-%s called %s (%s) but its role does not allow it", l.Task, k, c.Resource)
			}
		}
		for k := range declared {
			if !used[k] {
				t.Errorf("landfall-%s's role allows %s, which its code never called", l.Task, k)
			}
		}
	}
}

// resOf names the template resource a call reached.
func (st *stack) resOf(c Call) (awsdeploy.Res, bool) {
	svc, _, _ := strings.Cut(c.Action, ":")
	switch svc {
	case "s3":
		area, _, _ := strings.Cut(c.Resource, "/")
		r, ok := map[string]awsdeploy.Res{"incoming": awsdeploy.ResIncoming, "work": awsdeploy.ResWork, "processed": awsdeploy.ResProcessed}[area]
		return r, ok
	case "dynamodb":
		table, index, _ := strings.Cut(strings.TrimPrefix(c.Resource, st.prefix), "/index/")
		r, ok := map[string]awsdeploy.Res{"media": awsdeploy.ResMediaTable, "failures": awsdeploy.ResFailures, "catalog": awsdeploy.ResCatalogTable,
			"media/i": awsdeploy.ResMediaIndexes, "failures/i": awsdeploy.ResFailuresIndex}[table+map[bool]string{true: "/i"}[index != ""]]
		return r, ok
	case "events":
		return awsdeploy.ResDefaultBus, c.Resource == "event-bus/default"
	case "transcribe":
		return awsdeploy.ResTranscribe, true
	case "rekognition":
		return awsdeploy.ResRekognition, true
	case "bedrock":
		return awsdeploy.ResBedrockModel, c.Resource == "foundation-model/test-model"
	case "states":
		return awsdeploy.ResStateMachine, c.Resource == "stateMachine:landfall-media"
	case "iam":
		return awsdeploy.ResRekognitionRole, c.Resource == testRekognitionRole
	}
	return "", false
}

// writeCalls keeps the calls each function made for TestLeastPrivilege
// (in deploy/aws), which compares them with the functions' roles.
func writeCalls(t *testing.T, rec *recorder) {
	out := map[string][]Call{}
	for task, calls := range rec.calls {
		for c := range calls {
			out[task] = append(out[task], c)
		}
		sort.Slice(out[task], func(i, j int) bool {
			return out[task][i].Action+out[task][i].Resource < out[task][j].Action+out[task][j].Resource
		})
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	t.Logf("calls by function:\n%s", b)
}

// TestInvokeErrors: events without a tenant, or not JSON, fail with the
// names the definition's Catch sees.
func TestInvokeErrors(t *testing.T) {
	st := newStack(t)
	for _, c := range []struct {
		task, event, name string
	}{
		{"register", `{"bucket":"b","key":"elsewhere/acme/a.png"}`, "Landfall.ForbiddenReference"},
		{"classify", `{"media":{}}`, "Landfall.ForbiddenReference"},
		{"notify", `[1,2]`, "States.Runtime"},
		{"register", `{"bucket":"not-this-bucket","key":"incoming/acme/a.png","size":2000}`, "Landfall.ForbiddenReference"},
	} {
		_, err := st.handler(t, c.task).Invoke(context.Background(), []byte(c.event))
		var le messages.InvokeResponse_Error
		if !errors.As(err, &le) || le.Type != c.name {
			t.Errorf("%s %s: err = %#v, want type %s", c.task, c.event, err, c.name)
		}
	}
	if _, err := ConfigFromEnv(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "LANDFALL_BUCKET") {
		t.Errorf("empty environment: %v", err)
	}
	// The ModerationPolicy parameter is checked as the configuration's
	// moderation: section is.
	for policy, want := range map[string]string{
		`{"reject":[{"label":"Alcohol","min_confidence":160}]}`: "/moderation/reject/0/min_confidence",
		`{"reject":[{"label":"Alcohol"}],"revue":[]}`:           `unknown field "revue"`,
		`{"review":[{"label":""}]}`:                             "/moderation/review/0/label",
	} {
		env := map[string]string{"LANDFALL_TASK": "persist", "LANDFALL_BUCKET": "b", "LANDFALL_TABLE_PREFIX": "p-", "LANDFALL_MODERATION": policy}
		if _, err := ConfigFromEnv(func(k string) string { return env[k] }); errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("LANDFALL_MODERATION %s: %v, want Invalid naming %s", policy, err, want)
		}
	}
}

func js(v any) string { b, _ := json.Marshal(v); return string(b) }
