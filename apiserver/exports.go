package apiserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/landfall/landfall/analyser/export"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
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
	w.Header().Set("Content-Disposition", `inline; filename="`+m.ID+"-"+name+`"`)
	_, err = buf.WriteTo(w)
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
	rs := &blobSeeker{ctx: r.Context(), b: s.cfg.Bucket, key: m.BucketKey, size: attrs.Size}
	defer rs.Close()
	ct := attrs.ContentType
	if ct == "" || ct == "application/octet-stream" {
		ct = m.ContentType
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if attrs.ETag != "" {
		w.Header().Set("ETag", attrs.ETag)
	}
	http.ServeContent(w, r, "", attrs.ModTime, rs)
	return nil
}

// blobSeeker is an io.ReadSeeker over an object, opening a range reader
// from the current offset on first read after a seek.
type blobSeeker struct {
	ctx  context.Context
	b    *blob.Bucket
	key  string
	size int64
	off  int64
	r    io.ReadCloser
}

func (s *blobSeeker) Read(p []byte) (int, error) {
	if s.off >= s.size {
		return 0, io.EOF
	}
	if s.r == nil {
		r, err := s.b.NewRangeReader(s.ctx, s.key, s.off, -1, nil)
		if err != nil {
			return 0, err
		}
		s.r = r
	}
	n, err := s.r.Read(p)
	s.off += int64(n)
	return n, err
}

func (s *blobSeeker) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = s.off + offset
	case io.SeekEnd:
		abs = s.size + offset
	}
	if abs < 0 {
		return 0, errors.New("seek before start")
	}
	if abs != s.off && s.r != nil {
		s.r.Close()
		s.r = nil
	}
	s.off = abs
	return abs, nil
}

func (s *blobSeeker) Close() error {
	if s.r != nil {
		return s.r.Close()
	}
	return nil
}
