package export

import (
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Doc is what a named export renders: one media item's transcript and
// insights.
type Doc struct {
	MediaID    string
	FileName   string
	Duration   float64           // seconds of media, for chapter tracks
	Transcript *types.Transcript // nil for media without one (images)
	Insights   *types.Insights
}

// Named is one export file of an installation, e.g. "captions.vtt".
type Named struct {
	Name        string // the file name served at /v1/media/{id}/{name}
	ContentType string
	// NeedsTranscript exports exist only for media with a transcript.
	NeedsTranscript bool
	// Caption marks the caption files the pipeline writes beside every
	// transcript.
	Caption bool
	Write   func(w io.Writer, d *Doc) error
}

// Registry is one installation's named exports: what the API serves
// beside insights.json and transcript.json, and the caption files the
// pipeline writes. Each app builds its own with NewRegistry and may add to
// it; it is safe for concurrent use.
type Registry struct {
	mu     sync.RWMutex
	byName map[string]Named
}

// NewRegistry returns a registry of Landfall's standard exports: WebVTT
// and SubRip captions (also written beside each transcript), the Amazon
// Transcribe, Podcasting 2.0 and OpenAI verbose_json transcripts, and
// Podcasting 2.0 and WebVTT chapters.
func NewRegistry() *Registry {
	r := &Registry{byName: map[string]Named{}}
	transcript := func(name, format string, caption bool) Named {
		f, ok := Lookup(format)
		if !ok {
			panic("export: no format " + format) // the table above is fixed
		}
		return Named{Name: name, ContentType: f.MediaType, NeedsTranscript: true, Caption: caption, Write: func(w io.Writer, d *Doc) error {
			return f.Write(w, d.Transcript, d.Insights, Options{JobName: d.MediaID, FileName: d.FileName})
		}}
	}
	for _, n := range []Named{
		transcript("captions.vtt", "vtt", true),
		transcript("captions.srt", "srt", true),
		transcript("transcribe.json", "transcribe", false),
		transcript("podcast-transcript.json", "podcast-transcript", false),
		transcript("verbose.json", "verbose_json", false),
		{Name: "chapters.json", ContentType: "application/json+chapters", Write: func(w io.Writer, d *Doc) error {
			return WritePodcastChapters(w, d.Insights, d.Duration, Options{FileName: d.FileName})
		}},
		{Name: "chapters.vtt", ContentType: "text/vtt", Write: func(w io.Writer, d *Doc) error {
			return WriteVTTChapters(w, d.Insights, d.Duration)
		}},
		{Name: "labels.json", ContentType: "application/json", Write: WriteRekognitionLabels},
		{Name: "moderation.json", ContentType: "application/json", Write: WriteRekognitionModeration},
	} {
		if err := r.Register(n); err != nil {
			panic(err) // the standard set is fixed and valid
		}
	}
	return r
}

// Register adds an export. A name already present is
// errcode.AlreadyExists; a name that is not a plain file name, or a
// missing content type or writer, is errcode.Invalid.
func (r *Registry) Register(n Named) error {
	switch {
	case n.Name == "" || strings.ContainsAny(n.Name, "/\\") || n.Name == "." || n.Name == "..":
		return errcode.New(errcode.Invalid, "export: name %q is not a file name", n.Name)
	case n.ContentType == "":
		return errcode.New(errcode.Invalid, "export %s: content type required", n.Name)
	case n.Write == nil:
		return errcode.New(errcode.Invalid, "export %s: writer required", n.Name)
	case n.Caption && !n.NeedsTranscript:
		return errcode.New(errcode.Invalid, "export %s: a caption file needs a transcript", n.Name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.byName[n.Name]; dup {
		return errcode.New(errcode.AlreadyExists, "export %s is already registered", n.Name)
	}
	r.byName[n.Name] = n
	return nil
}

// Lookup returns the export of a name.
func (r *Registry) Lookup(name string) (Named, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.byName[name]
	return n, ok
}

// All returns every export sorted by name.
func (r *Registry) All() []Named {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Named, 0, len(r.byName))
	for _, n := range r.byName {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Captions returns the caption files written beside each transcript,
// sorted by name.
func (r *Registry) Captions() []Named {
	var out []Named
	for _, n := range r.All() {
		if n.Caption {
			out = append(out, n)
		}
	}
	return out
}
