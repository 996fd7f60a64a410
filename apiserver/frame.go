package apiserver

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// frameSlots bounds the ffmpeg processes frame thumbnails run at once.
var frameSlots = make(chan struct{}, 2)

// FrameTimeout bounds one frame extraction.
const FrameTimeout = 20 * time.Second

// mediaFrame serves a 320-pixel-wide JPEG of a video's frame at ?t=
// seconds (an image's picture for images): the thumbnail search results
// show beside a moment. ffmpeg reads the original over a loopback HTTP
// listener private to the request (a random path), so it can seek in the
// object whatever the bucket's driver, without a copy.
func (s *Server) mediaFrame(w http.ResponseWriter, r *http.Request) error {
	m, err := s.media(r)
	if err != nil {
		return err
	}
	if m.Kind != types.KindVideo && m.Kind != types.KindImage {
		return errcode.New(errcode.NotFound, "media %s is %s: it has no frames", m.ID, orUnknown(string(m.Kind)))
	}
	if s.cfg.Bucket == nil {
		return errcode.New(errcode.NotImplemented, "media files are not served by this server role")
	}
	t := 0.0
	if v := r.URL.Query().Get("t"); v != "" {
		if t, err = strconv.ParseFloat(v, 64); err != nil || t < 0 || t > 1e7 {
			return errcode.New(errcode.Invalid, "t: %q is not a number of seconds", v)
		}
	}
	if m.Duration > 0 && t > m.Duration {
		t = m.Duration
	}
	if m.Kind == types.KindImage {
		t = 0
	}
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		return errcode.New(errcode.Unavailable, "frame thumbnails need ffmpeg, which is not installed on this server")
	}
	attrs, err := s.cfg.Bucket.Attributes(r.Context(), m.BucketKey)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), FrameTimeout)
	defer cancel()
	select {
	case frameSlots <- struct{}{}:
		defer func() { <-frameSlots }()
	case <-ctx.Done():
		return errcode.New(errcode.Unavailable, "frame thumbnails are busy; try again")
	}
	stream, err := blob.ServeLoopback(ctx, attrs.Size, attrs.ModTime, s.cfg.Bucket.Opener(m.BucketKey))
	if err != nil {
		return errcode.Wrap(errcode.Unavailable, err, "frame: loopback listener")
	}
	defer stream.Close()
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error"}
	if t > 0 {
		args = append(args, "-ss", strconv.FormatFloat(t, 'f', 3, 64))
	}
	args = append(args, "-i", stream.URL, "-frames:v", "1", "-vf", "scale=320:-2",
		"-f", "image2pipe", "-c:v", "mjpeg", "-q:v", "5", "pipe:1")
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil || out.Len() == 0 {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return errcode.New(errcode.DeadlineExceeded, "frame of %s at %.1fs: ffmpeg took longer than %s", m.ID, t, FrameTimeout)
		}
		msg := strings.TrimSpace(errb.String())
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return errcode.New(errcode.Unknown, "frame of %s at %.1fs: ffmpeg: %s", m.ID, t, orUnknown(msg))
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, err = out.WriteTo(w)
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
