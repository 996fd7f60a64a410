package apiserver

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// Exporter renders one export of a media item.
type Exporter struct {
	ContentType string
	// NeedsTranscript exports fail with NotFound for media without one
	// (images).
	NeedsTranscript bool
	Write           func(w io.Writer, m *catalog.Media, tr *types.Transcript) error
}

// exporters are the exports served at /v1/media/{id}/{name}. The app adds
// the caption and interchange formats (see RegisterExporter).
var exporters = map[string]Exporter{
	"insights.json": {ContentType: "application/json", Write: func(w io.Writer, m *catalog.Media, _ *types.Transcript) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(m.Insights)
	}},
	"transcript.json": {ContentType: "application/json", NeedsTranscript: true, Write: func(w io.Writer, _ *catalog.Media, tr *types.Transcript) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(tr)
	}},
}

// RegisterExporter adds an export served at /v1/media/{id}/{name}.
func RegisterExporter(name string, e Exporter) { exporters[name] = e }

func (s *Server) mediaExport(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("export")
	ex, ok := exporters[name]
	if !ok {
		return errcode.New(errcode.NotFound, "no export %q (have insights.json, transcript.json, captions.vtt, captions.srt, chapters.json, transcribe.json, podcast-transcript.json, verbose.json)", name)
	}
	m, err := s.media(r)
	if err != nil {
		return err
	}
	if m.Insights == nil {
		return errcode.New(errcode.NotFound, "media %s has no results yet (status %s)", m.ID, m.Status)
	}
	var tr *types.Transcript
	if ex.NeedsTranscript || m.TranscriptKey != "" {
		if m.TranscriptKey == "" {
			return errcode.New(errcode.NotFound, "media %s has no transcript (kind %s)", m.ID, m.Kind)
		}
		b, err := s.cfg.Bucket.ReadAll(r.Context(), m.TranscriptKey)
		if err != nil {
			return err
		}
		tr = &types.Transcript{}
		if err := json.Unmarshal(b, tr); err != nil {
			return errcode.Wrap(errcode.Unknown, err, "transcript %s", m.TranscriptKey)
		}
	}
	var buf bytes.Buffer
	if err := ex.Write(&buf, m, tr); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ex.ContentType)
	w.Header().Set("Content-Disposition", `inline; filename="`+m.ID+"-"+name+`"`)
	_, err = buf.WriteTo(w)
	return err
}
