package apiserver

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest/live"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// ownExports are the exports every server has; the app's export registry
// (Config.Exports) adds the caption and interchange formats.
var ownExports = map[string]export.Named{
	"insights.json": {Name: "insights.json", ContentType: "application/json", Write: func(w io.Writer, d *export.Doc) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d.Insights)
	}},
	"transcript.json": {Name: "transcript.json", ContentType: "application/json", NeedsTranscript: true, Write: func(w io.Writer, d *export.Doc) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(d.Transcript)
	}},
}

// exportOf finds a named export, or says which exist.
func (s *Server) exportOf(name string) (export.Named, error) {
	if ex, ok := ownExports[name]; ok {
		return ex, nil
	}
	if s.cfg.Exports != nil {
		if ex, ok := s.cfg.Exports.Lookup(name); ok {
			return ex, nil
		}
	}
	have := []string{"insights.json", "transcript.json"}
	if s.cfg.Exports != nil {
		for _, ex := range s.cfg.Exports.All() {
			have = append(have, ex.Name)
		}
	}
	return export.Named{}, errcode.New(errcode.NotFound, "no export %q (have %s)", name, strings.Join(have, ", "))
}

func (s *Server) mediaExport(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("export")
	if name == "original" {
		return s.mediaOriginal(w, r)
	}
	if name == "frame.jpg" {
		return s.mediaFrame(w, r)
	}
	if name == live.LiveTranscriptName {
		return s.mediaLiveTranscript(w, r)
	}
	ex, err := s.exportOf(name)
	if err != nil {
		return err
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
	if err := ex.Write(&buf, &export.Doc{MediaID: m.ID, FileName: m.Filename, Duration: m.Duration, Transcript: tr, Insights: m.Insights}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ex.ContentType)
	w.Header().Set("Content-Disposition", contentDisposition("inline", exportFileName(m, name)))
	_, err = buf.WriteTo(w)
	return err
}

// mediaLiveTranscript serves the transcript a live session made, kept
// beside the batch one.
func (s *Server) mediaLiveTranscript(w http.ResponseWriter, r *http.Request) error {
	m, err := s.media(r)
	if err != nil {
		return err
	}
	k, err := pipeline.ProcessedKey(m.TenantID, m.ID, live.LiveTranscriptName)
	if err != nil {
		return err
	}
	b, err := s.cfg.Bucket.ReadAll(r.Context(), k.String())
	if err != nil {
		if errcode.Of(err) == errcode.NotFound {
			return errcode.New(errcode.NotFound, "media %s was not recorded live: it has no live transcript", m.ID)
		}
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", contentDisposition("inline", exportFileName(m, live.LiveTranscriptName)))
	_, err = w.Write(b)
	return err
}

// mediaOriginal streams the media file itself, with Range support so
// players can seek.
func (s *Server) mediaOriginal(w http.ResponseWriter, r *http.Request) error {
	m, err := s.media(r)
	if err != nil {
		return err
	}
	if s.cfg.Bucket == nil {
		return errcode.New(errcode.NotImplemented, "media files are not served by this server role")
	}
	attrs, err := s.cfg.Bucket.Attributes(r.Context(), m.BucketKey)
	if err != nil {
		return err
	}
	rs := blob.NewSeeker(r.Context(), attrs.Size, s.cfg.Bucket.Opener(m.BucketKey))
	defer rs.Close()
	ct := attrs.ContentType
	if ct == "" || ct == "application/octet-stream" {
		ct = m.ContentType
	}
	ct, disposition := originalHeaders(ct, m)
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", disposition)
	// Whatever the bytes are, they run nothing: no script, no plugin, no
	// same-origin access, even when opened directly.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; media-src 'self'; img-src 'self'; sandbox")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if attrs.ETag != "" {
		w.Header().Set("ETag", attrs.ETag)
	}
	http.ServeContent(w, r, "", attrs.ModTime, rs)
	return nil
}

// originalHeaders returns the Content-Type and Content-Disposition an
// original is served with. Audio, video and raster images are shown
// inline (players need that); everything else, SVG included since it can
// run script, is an attachment, and types a browser would run as a
// document (HTML, XML, script) or that are unknown are served as
// application/octet-stream, so an uploaded page never renders on the API's
// origin.
func originalHeaders(stored string, m *catalog.Media) (ctype, disposition string) {
	mt, _, err := mime.ParseMediaType(stored)
	if err != nil {
		mt = ""
	}
	name := m.Filename
	if name == "" {
		name = m.ID + path.Ext(m.BucketKey)
	}
	switch {
	case mt == "image/svg+xml":
	case strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"), strings.HasPrefix(mt, "image/"):
		return stored, contentDisposition("inline", name)
	}
	ctype = stored
	if mt == "" || activeType(mt) {
		ctype = "application/octet-stream"
	}
	return ctype, contentDisposition("attachment", name)
}

// exportFileName is the name an export is saved as: the media's file name
// without its extension, a dot and the export's name ("talk.mp3" and
// "captions.srt" give "talk.captions.srt"); without a file name, the
// media id stands in.
func exportFileName(m *catalog.Media, export string) string {
	base := path.Base(strings.ReplaceAll(m.Filename, "\\", "/"))
	if base == "." || base == "/" {
		base = ""
	}
	stem := base
	if dot := strings.LastIndexByte(base, '.'); dot > 0 {
		stem = base[:dot]
	}
	if stem == "" {
		stem = m.ID
	}
	return stem + "." + export
}

// activeType reports whether a browser may treat media type mt as a
// document or script.
func activeType(mt string) bool {
	for _, s := range []string{"html", "xml", "script", "svg", "xsl", "pdf", "multipart/"} {
		if strings.Contains(mt, s) {
			return true
		}
	}
	return false
}

// contentDisposition formats a Content-Disposition with an ASCII filename
// for old clients and the exact name as RFC 8187 filename*.
func contentDisposition(kind, name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r >= 0x7f || r == '"' || r == '\\' || r == '/' || r == '%' {
			return '_'
		}
		return r
	}, name)
	return kind + `; filename="` + ascii + `"; filename*=UTF-8''` + rfc8187(name)
}

// rfc8187 percent-encodes s as an RFC 8187 value (attr-char kept).
func rfc8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// securityHeaders are set on every response: no MIME sniffing, no
// Referer leaving the server, and, outside the web UI (which sets its own
// policy), a policy under which a response is data that runs nothing and
// that no page may frame.
func securityHeaders(h http.Header, r *http.Request) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if !strings.HasPrefix(r.URL.Path, "/ui/") && r.URL.Path != "/ui" {
		h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	}
}
