package app

import (
	"io"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// captionWriters are the caption files persist writes beside each
// transcript.
var captionWriters = map[string]pipeline.CaptionWriter{}

// The caption files persisted beside each transcript, and the exports the
// API serves at /v1/media/{id}/{name}, all rendered from the one internal
// transcript and insights.
func init() {
	captionWriters["captions.vtt"] = pipeline.CaptionWriter{ContentType: "text/vtt", Write: func(w io.Writer, t *types.Transcript) error { return export.WriteVTT(w, t, export.Options{}) }}
	captionWriters["captions.srt"] = pipeline.CaptionWriter{ContentType: "application/x-subrip", Write: func(w io.Writer, t *types.Transcript) error { return export.WriteSRT(w, t, export.Options{}) }}

	transcriptExport := func(name string) apiserver.Exporter {
		f, _ := export.Lookup(name)
		return apiserver.Exporter{ContentType: f.MediaType, NeedsTranscript: true, Write: func(w io.Writer, m *catalog.Media, t *types.Transcript) error {
			return f.Write(w, t, m.Insights, export.Options{JobName: m.ID, FileName: m.Filename})
		}}
	}
	apiserver.RegisterExporter("captions.vtt", transcriptExport("vtt"))
	apiserver.RegisterExporter("captions.srt", transcriptExport("srt"))
	apiserver.RegisterExporter("transcribe.json", transcriptExport("transcribe"))
	apiserver.RegisterExporter("podcast-transcript.json", transcriptExport("podcast-transcript"))
	apiserver.RegisterExporter("verbose.json", transcriptExport("verbose_json"))
	apiserver.RegisterExporter("chapters.json", apiserver.Exporter{ContentType: "application/json+chapters", Write: func(w io.Writer, m *catalog.Media, _ *types.Transcript) error {
		return export.WritePodcastChapters(w, m.Insights, m.Duration, export.Options{FileName: m.Filename})
	}})
	apiserver.RegisterExporter("chapters.vtt", apiserver.Exporter{ContentType: "text/vtt", Write: func(w io.Writer, m *catalog.Media, _ *types.Transcript) error {
		return export.WriteVTTChapters(w, m.Insights, m.Duration)
	}})
}
