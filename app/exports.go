package app

import (
	"io"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/types"
)

// captionFiles are the caption files the pipeline writes beside each
// transcript, from an app's export registry, by file name.
func captionFiles(r *export.Registry) map[string]captionWriter {
	out := map[string]captionWriter{}
	for _, n := range r.Captions() {
		out[n.Name] = captionWriter{n.ContentType, func(w io.Writer, t *types.Transcript) error {
			return n.Write(w, &export.Doc{Transcript: t})
		}}
	}
	return out
}

// The pipeline's tasks read the caption files from the package variable
// captionWriters; it holds the standard set (the same for every app) until
// the tasks take an app's registry (captionFiles) directly.
func init() {
	for k, v := range captionFiles(export.NewRegistry()) {
		captionWriters[k] = v
	}
}
