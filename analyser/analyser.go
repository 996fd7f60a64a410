// Package analyser is Landfall's intelligence layer: a registry of tasks
// (classify, media, transcribe, diarise, ocr, faces, language, summarise,
// labels, moderate), each served by providers behind one interface. The
// state machine calls a task by name; configuration picks the provider.
//
// Providers live in subpackages: local/ runs offline on this machine,
// openai/ talks to OpenAI-compatible servers, aws/ calls Transcribe,
// Rekognition and Bedrock. Each registers its analysers with Register in
// init, under a namespaced id such as "analyser.transcribe.pocketsphinx".
package analyser

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"sync"

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
}

// Input is what every analyser receives: the Task state's effective input.
type Input struct {
	MediaID string     `json:"media_id"`
	Tenant  string     `json:"tenant,omitempty"`
	Key     string     `json:"key,omitempty"`  // object key in the bucket
	Path    string     `json:"path,omitempty"` // local file to analyse (the engine materialises remote objects)
	Kind    types.Kind `json:"kind,omitempty"` // set once classify has run
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

var (
	mu       sync.RWMutex
	registry = map[string]Analyser{}
)

// Register adds an analyser under its Spec().ID. It panics on a duplicate
// id, a programming error.
func Register(a Analyser) {
	s := a.Spec()
	if s.ID == "" || s.Task == "" || s.Provider == "" {
		panic(fmt.Sprintf("analyser: incomplete spec %+v", s))
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[s.ID]; dup {
		panic("analyser: duplicate id " + s.ID)
	}
	registry[s.ID] = a
}

// Lookup returns the analyser with the given id.
func Lookup(id string) (Analyser, bool) {
	mu.RLock()
	defer mu.RUnlock()
	a, ok := registry[id]
	return a, ok
}

// ForTask returns the analyser of task served by provider, or an error
// listing the providers that do serve it.
func ForTask(task, provider string) (Analyser, error) {
	mu.RLock()
	defer mu.RUnlock()
	var have []string
	for _, a := range registry {
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
		return nil, fmt.Errorf("analyser: no provider serves task %q", task)
	}
	return nil, fmt.Errorf("analyser: task %q has no provider %q (have: %s)", task, provider, strings.Join(have, ", "))
}

// All returns every registered analyser's spec, sorted by id.
func All() []Spec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Spec, 0, len(registry))
	for _, a := range registry {
		out = append(out, a.Spec())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
