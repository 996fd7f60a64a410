package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/errcode"
)

// Limits of the evidence frames taken from an original at a flag's time
// (flags whose provider analysed no frame of its own: Rekognition Video
// jobs, Rekognition on keyframes it was sent as bytes).
const (
	// MaxEvidenceFrames bounds the frames taken from one original, as
	// the frames task's max_frames bounds the frames analysed.
	MaxEvidenceFrames = 60
	// EvidenceFrameTimeout bounds one ffmpeg run.
	EvidenceFrameTimeout = 2 * time.Minute
	// evidenceWidth is the longest side of a frame taken from an original.
	evidenceWidth = 1280
)

// evidenceMissing is why no frame could be taken at a flag's time: a
// fact about the original (no frame decodes there) or about this
// machine (no ffmpeg), recorded in the decision; retrying would not
// change it.
type evidenceMissing struct{ why string }

func (e *evidenceMissing) Error() string { return e.why }

// originalFrame takes the frame of the media's original at ms and stores
// it as processed/<tenant>/<media id>/evidence/at-<ms>ms.jpg, returning
// the key. ffmpeg seeks before decoding (-ss before -i), so only the
// data around ms is read: from the file itself when the bucket keeps
// objects as files or the original is already staged in the work folder
// (localMedia's copy), otherwise streamed from the bucket with range
// reads through a loopback listener private to this call, without a copy.
//
// A frame that cannot be taken for a reason retrying would not change is
// an *evidenceMissing; a failure to read the original is a
// Provider.Transient error (the Persist state retries it); the
// context's end is returned as it is.
func (t *Tasks) originalFrame(ctx context.Context, s *Scope, m *Media, ms int64) (string, error) {
	k, err := s.Bucket.Key(m.Key)
	if err != nil {
		return "", err
	}
	if _, err := execx.LookPath("ffmpeg"); err != nil {
		return "", &evidenceMissing{"no frame taken from the original: " + errcode.MessageOf(err)}
	}
	dir, err := t.work.Dir(s.Tenant, m.ID)
	if err != nil {
		return "", err
	}
	dst, err := ProcessedKey(s.Tenant, m.ID, fmt.Sprintf("evidence/at-%dms.jpg", ms))
	if err != nil {
		return "", err
	}
	local, err := within(dir, filepath.FromSlash(fmt.Sprintf("evidence/at-%dms.jpg", ms)))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return "", err
	}
	defer os.Remove(local)

	src := ""
	if p, err := s.Bucket.LocalPath(k.String()); err == nil {
		src = p
	} else if p, err := within(dir, "source"+k.Ext()); err == nil {
		if fi, err := os.Stat(p); err == nil && fi.Size() == m.Size {
			src = p
		}
	}
	var stream *blob.Loopback
	if src == "" {
		attrs, err := s.Bucket.Attributes(ctx, k.String())
		if errcode.Of(err) == errcode.NotFound {
			return "", &evidenceMissing{"no frame taken: the original is no longer in the bucket"}
		}
		if err != nil {
			return "", errcode.Wrap(errcode.ProviderTransient, err, "moderation evidence: reading the original of %s", m.ID)
		}
		key := k.String()
		stream, err = blob.ServeLoopback(ctx, attrs.Size, time.Time{}, func(ctx context.Context, off int64) (io.ReadCloser, error) {
			return s.Bucket.NewRangeReader(ctx, key, off, -1)
		})
		if err != nil {
			return "", errcode.Wrap(errcode.Unavailable, err, "moderation evidence: loopback listener")
		}
		defer stream.Close()
		src = stream.URL
	}

	fctx, cancel := context.WithTimeout(ctx, EvidenceFrameTimeout)
	defer cancel()
	sec := strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
	w := strconv.Itoa(evidenceWidth)
	scale := "scale='if(gt(iw,ih),min(" + w + ",iw),-2)':'if(gt(iw,ih),-2,min(" + w + ",ih))'"
	_, runErr := execx.Run(fctx, execx.Cmd{Name: "ffmpeg", Args: []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-y",
		"-ss", sec, "-i", src, "-map", "0:v:0", "-frames:v", "1", "-vf", scale, "-q:v", "3", "-update", "1", local}})
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if stream != nil {
		if err := stream.Err(); err != nil {
			return "", errcode.Wrap(errcode.ProviderTransient, err, "moderation evidence: reading the original of %s at %ss", m.ID, sec)
		}
	}
	if errors.Is(fctx.Err(), context.DeadlineExceeded) {
		return "", errcode.New(errcode.ProviderTransient, "moderation evidence: ffmpeg took longer than %s for the frame of %s at %ss", EvidenceFrameTimeout, m.ID, sec)
	}
	if fi, err := os.Stat(local); runErr != nil || err != nil || fi.Size() == 0 {
		why := "no frame decodes there"
		if runErr != nil {
			why = strings.TrimSpace(errcode.MessageOf(runErr))
			if len(why) > 300 {
				why = why[:300]
			}
		}
		return "", &evidenceMissing{fmt.Sprintf("no frame could be taken from the original at %ss: %s", sec, why)}
	}
	b, err := os.ReadFile(local)
	if err != nil {
		return "", err
	}
	if err := s.Bucket.WriteAll(ctx, dst, b, &blob.WriterOptions{ContentType: "image/jpeg"}); err != nil {
		return "", err
	}
	return dst.String(), nil
}
