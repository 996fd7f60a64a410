package app

import (
	"io"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// captionFiles are the caption files the pipeline writes beside each
// transcript, from an app's export registry, by file name.
func captionFiles(r *export.Registry) map[string]pipeline.CaptionWriter {
	out := map[string]pipeline.CaptionWriter{}
	for _, n := range r.Captions() {
		out[n.Name] = pipeline.CaptionWriter{ContentType: n.ContentType, Write: func(w io.Writer, t *types.Transcript) error {
			return n.Write(w, &export.Doc{Transcript: t})
		}}
	}
	return out
}
