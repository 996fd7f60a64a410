// Package analyser is Landfall's intelligence layer: a registry of tasks
// (classify, media, transcribe, diarise, ocr, faces, language, summarise,
// labels, moderate), each served by providers behind one interface. The
// state machine calls a task by name; configuration picks the provider.
//
// Providers live in subpackages: local/ runs offline on this machine,
// openai/ talks to OpenAI-compatible servers, aws/ calls Transcribe,
// Rekognition and Bedrock. Local providers register with Register in init,
// under a namespaced id such as "analyser.transcribe.pocketsphinx": that is
// the catalogue of built-ins. Each app owns a Registry (NewRegistry copies
// the built-ins) into which it registers the remote providers its
// configuration sets up, and which opens and closes analysers that have a
// lifecycle (Opener, Closer).
package analyser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Task names, as the state machine calls them.
const (
	TaskClassify   = "classify"
	TaskMedia      = "media"
	TaskTranscribe = "transcribe"
	TaskDiarise    = "diarise"
	TaskOCR        = "ocr"
	TaskFaces      = "faces"
	TaskLanguage   = "language"
	TaskSummarise  = "summarise"
	TaskLabels     = "labels"
	TaskModerate   = "moderate"
	TaskEmbed      = "embed"
)

// Spec describes an analyser: what it is, what it accepts and what it
// returns. `landfall analysers` lists specs.
type Spec struct {
	ID       string       // namespaced id, e.g. "analyser.transcribe.pocketsphinx"
	Task     string       // one of the Task* names
	Provider string       // "local", "openai" or "aws"
	Summary  string       // one line
	Kinds    []types.Kind // media kinds accepted; empty means any
	Requires []string     // external commands it runs, e.g. "ffmpeg"
	// OutputSchema is the JSON Schema (draft 2020-12) of the output.
	OutputSchema json.RawMessage
	// Options declare the keys Input.Options may hold; DecodeOptions
	// accepts nothing else.
	Options []Option
}

// Input is what every analyser receives: the Task state's effective input.
type Input struct {
	MediaID string `json:"media_id"`
	Tenant  string `json:"tenant,omitempty"`
	// Execution is the ARN of the execution the run belongs to, when
	// known: a provider job started for it is told apart from another
	// execution's by it, and found again by a retried attempt.
	Execution string     `json:"execution,omitempty"`
	Key       string     `json:"key,omitempty"`  // object key in the bucket
	Path      string     `json:"path,omitempty"` // local file to analyse (the engine materialises remote objects)
	Kind      types.Kind `json:"kind,omitempty"` // set once classify has run
	// Options are analyser-specific settings (a custom vocabulary, min and
	// max speakers, …). Unknown keys are errors.
	Options json.RawMessage `json:"options,omitempty"`
	// Results are outputs of earlier tasks by task name, e.g. "transcribe"
	// and "ocr" for summarise, or "media" (the extracted audio track) for
	// transcribe.
	Results map[string]json.RawMessage `json:"results,omitempty"`
}

// Env is what an analyser may use besides its input.
type Env struct {
	// Workdir is a scratch folder owned by this media item's execution;
	// artefacts (audio tracks, keyframes, thumbnails) are written here and
	// their paths returned in the output.
	Workdir string
	Logger  *slog.Logger
	// Usage records resources spent (CPU seconds, audio minutes, tokens);
	// may be nil.
	Usage func(Usage)
	// Artefacts receives the files under Workdir that later tasks read
	// (audio tracks, keyframes, thumbnails); may be nil. Only declared
	// files travel to a worker on another machine.
	Artefacts func(Artefact)
}

// Artefact is a file an analyser wrote under Env.Workdir for later tasks.
// Its output names the file by Path; the pipeline ships declared files to
// the bucket and puts them at the same place in the next worker's work
// folder, replacing Path in the output when that place differs.
type Artefact struct {
	// Name is the file's slash-separated path relative to Workdir, e.g.
	// "audio.wav" or "keyframes/0003.jpg".
	Name string `json:"name"`
	// MediaType is the file's content type, e.g. "audio/wav".
	MediaType string `json:"media_type"`
	// Path is the file's path as the output names it.
	Path string `json:"path"`
}

// Declare reports a written file to env.Artefacts when it is set. The
// name is the path relative to Workdir.
func (e *Env) Declare(path, mediaType string) {
	if e == nil || e.Artefacts == nil {
		return
	}
	rel, err := filepath.Rel(e.Workdir, path)
	if err != nil {
		rel = path // refused by the pipeline: not under the work folder
	}
	e.Artefacts(Artefact{Name: filepath.ToSlash(rel), MediaType: mediaType, Path: path})
}

// Usage is one entry of the usage ledger.
type Usage struct {
	Analyser     string  `json:"analyser"`
	CPUSeconds   float64 `json:"cpu_seconds,omitempty"`
	AudioSeconds float64 `json:"audio_seconds,omitempty"`
	Images       int     `json:"images,omitempty"`
	InputTokens  int     `json:"input_tokens,omitempty"`
	OutputTokens int     `json:"output_tokens,omitempty"`
}

// Record reports u to env.Usage when it is set.
func (e *Env) Record(u Usage) {
	if e != nil && e.Usage != nil {
		e.Usage(u)
	}
}

// Log returns env's logger or the default one.
func (e *Env) Log() *slog.Logger {
	if e == nil || e.Logger == nil {
		return slog.Default()
	}
	return e.Logger
}

// Analyser is one provider of one task. Run returns a JSON-marshalable
// value that conforms to Spec().OutputSchema, or an error whose errcode
// names what went wrong (Media.Corrupt, Provider.Throttled, …) so that the
// state machine's Retry and Catch can match it.
type Analyser interface {
	Spec() Spec
	Run(ctx context.Context, env *Env, in *Input) (any, error)
}

// Job is implemented by analysers that can run as an asynchronous job of
// a remote service (a Transcribe or Rekognition Video job) whose
// completion arrives as a notification: StartJob starts the job (or finds
// the one a previous attempt started) and returns at once, so the worker
// is free while the service works; FinishJob, called when the
// notification names the job, collects its output. The state that starts
// a job waits by task token; the notification resumes it.
type Job interface {
	Analyser
	// JobService names the service whose notifications complete the
	// jobs ("transcribe", "rekognition").
	JobService() string
	// StartJob starts the job for in and returns its id. Done is set when
	// the job had already ended (a retried attempt found it finished):
	// no notification will come, and the caller finishes it now.
	StartJob(ctx context.Context, env *Env, in *Input) (id string, done bool, err error)
	// FinishJob returns the job's output, as Run would; ErrJobRunning when
	// the job has not ended (a notification that arrived early or twice).
	FinishJob(ctx context.Context, env *Env, in *Input, id string) (any, error)
}

// JobsConfigurer is implemented by Jobs that run as jobs only once
// configured for it (Rekognition Video needs the SNS topic its
// completion is published to); without it they are run by Run.
type JobsConfigurer interface {
	JobsConfigured() bool
}

// ErrJobRunning is FinishJob's error for a job that has not ended.
var ErrJobRunning = errors.New("the job has not ended")

// Opener is implemented by analysers that acquire something before their
// first Run (a connection pool, a loaded model). The app calls Open once
// at start, through Registry.Open.
type Opener interface {
	Open(ctx context.Context) error
}

// Closer is implemented by analysers that hold something to release
// (idle connections, child processes). The app calls Close once at stop,
// through Registry.Close.
type Closer interface {
	Close() error
}

// Registry is one installation's analysers: the built-in local providers
// and the remote providers its configuration sets up (each with that
// configuration's clients). Every App owns one, so two apps in one process
// never share a configured client. It is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byID   map[string]Analyser
	opened []Analyser // opened by Open, closed in reverse by Close
}

// NewRegistry returns a registry holding the built-in analysers (those
// registered with the package-level Register).
func NewRegistry() *Registry {
	r := &Registry{byID: map[string]Analyser{}}
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	for id, a := range builtin {
		r.byID[id] = a
	}
	return r
}

// checkSpec reports an incomplete spec.
func checkSpec(s Spec) error {
	if s.ID == "" || s.Task == "" || s.Provider == "" {
		return errcode.New(errcode.Invalid, "analyser: incomplete spec (id %q, task %q, provider %q): all three are required", s.ID, s.Task, s.Provider)
	}
	return nil
}

// Register adds an analyser under its Spec().ID; an id already present is
// errcode.AlreadyExists.
func (r *Registry) Register(a Analyser) error {
	s := a.Spec()
	if err := checkSpec(s); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byID[s.ID]; dup {
		return errcode.New(errcode.AlreadyExists, "analyser: %s is already registered", s.ID)
	}
	r.byID[s.ID] = a
	return nil
}

// Lookup returns the analyser with the given id.
func (r *Registry) Lookup(id string) (Analyser, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.byID[id]
	return a, ok
}

// ForTask returns the analyser of task served by provider, or an error
// listing the providers that do serve it.
func (r *Registry) ForTask(task, provider string) (Analyser, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return forTask(r.byID, task, provider)
}

// All returns every analyser's spec, sorted by id.
func (r *Registry) All() []Spec {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return specsOf(r.byID)
}

// Open opens every analyser that implements Opener, in id order. When one
// fails, those already opened are closed and the error names the
// analyser.
func (r *Registry) Open(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opened != nil {
		return errcode.New(errcode.FailedPrecond, "analyser: registry is already open")
	}
	r.opened = []Analyser{}
	for _, s := range specsOf(r.byID) {
		a := r.byID[s.ID]
		if o, ok := a.(Opener); ok {
			if err := o.Open(ctx); err != nil {
				cerr := r.closeLocked()
				r.opened = nil
				return errors.Join(fmt.Errorf("analyser %s: open: %w", s.ID, err), cerr)
			}
		}
		r.opened = append(r.opened, a)
	}
	return nil
}

// Close closes, in reverse order, the analysers Open opened that implement
// Closer, and joins their errors. Closing a registry that is not open does
// nothing.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.closeLocked()
	r.opened = nil
	return err
}

func (r *Registry) closeLocked() error {
	var errs []error
	for i := len(r.opened) - 1; i >= 0; i-- {
		if c, ok := r.opened[i].(Closer); ok {
			if err := c.Close(); err != nil {
				errs = append(errs, fmt.Errorf("analyser %s: close: %w", r.opened[i].Spec().ID, err))
			}
		}
	}
	return errors.Join(errs...)
}

func forTask(m map[string]Analyser, task, provider string) (Analyser, error) {
	var have []string
	for _, a := range m {
		s := a.Spec()
		if s.Task != task {
			continue
		}
		if s.Provider == provider {
			return a, nil
		}
		have = append(have, s.Provider)
	}
	sort.Strings(have)
	if len(have) == 0 {
		return nil, errcode.New(errcode.ProviderNotConfigured, "analyser: no provider serves task %q", task)
	}
	return nil, errcode.New(errcode.ProviderNotConfigured, "analyser: task %q has no provider %q (have: %s)", task, provider, strings.Join(have, ", "))
}

func specsOf(m map[string]Analyser) []Spec {
	out := make([]Spec, 0, len(m))
	for _, a := range m {
		out = append(out, a.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// The built-in analysers: the local providers, which register themselves
// in init. This is a catalogue of what the binary contains, which every
// NewRegistry starts from; configured remote providers are never
// registered here but in their app's Registry.
var (
	builtinMu sync.RWMutex
	builtin   = map[string]Analyser{}
)

// Register adds a built-in analyser under its Spec().ID. It is for the
// init functions of local providers and panics on an incomplete spec or a
// duplicate id, both programming errors.
func Register(a Analyser) {
	s := a.Spec()
	if err := checkSpec(s); err != nil {
		panic(err.Error())
	}
	builtinMu.Lock()
	defer builtinMu.Unlock()
	if _, dup := builtin[s.ID]; dup {
		panic("analyser: duplicate id " + s.ID)
	}
	builtin[s.ID] = a
}

// Lookup returns the built-in analyser with the given id.
func Lookup(id string) (Analyser, bool) {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	a, ok := builtin[id]
	return a, ok
}

// ForTask returns the built-in analyser of task served by provider, or an
// error listing the built-in providers that do serve it. An app looks
// analysers up in its own Registry, which also holds the configured
// remote providers.
func ForTask(task, provider string) (Analyser, error) {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	return forTask(builtin, task, provider)
}

// All returns every built-in analyser's spec, sorted by id.
func All() []Spec {
	builtinMu.RLock()
	defer builtinMu.RUnlock()
	return specsOf(builtin)
}
