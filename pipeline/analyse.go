package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/types"
)

// TaskInput is what every analysis Task state passes.
type TaskInput struct {
	Media    Media                      `json:"media"`
	Classify json.RawMessage            `json:"classify"`
	Results  map[string]json.RawMessage `json:"results"`
	Options  json.RawMessage            `json:"options"`
}

// Analyse runs the configured analyser of task on the media: in the media
// item's work folder, reading the original and earlier results through the
// execution's scope, and storing its output (and the files it declares)
// under work/<tenant>/<media id>/.
func (t *Tasks) Analyse(task string) TaskFunc {
	return func(ctx context.Context, c Call) (json.RawMessage, error) {
		var in TaskInput
		if err := decodeInput(c, &in); err != nil {
			return nil, err
		}
		s, err := t.scope(c)
		if err != nil {
			return nil, err
		}
		k, err := s.Media(ctx, &in.Media, "/media")
		if err != nil {
			return nil, err
		}
		a := t.providerFor(task)
		if a == nil {
			return nil, errcode.New(errcode.ProviderNotConfigured, "no %s provider is configured (analysers.%s = %q)", task, task, t.cfg.Provider(task))
		}
		id := in.Media.ID
		log := t.log.With("media_id", id, "tenant", s.Tenant, "task", task, "analyser", a.Spec().ID, "attempt", c.Attempt)
		dir, err := t.work.Dir(s.Tenant, id)
		if err != nil {
			return nil, err
		}
		src, err := localMedia(ctx, s, k, in.Media.Size, dir)
		if err != nil {
			return nil, err
		}
		ain := &analyser.Input{MediaID: id, Tenant: s.Tenant, Key: k.String(), Path: src,
			Options: in.Options, Results: map[string]json.RawMessage{}}
		if len(in.Classify) > 0 {
			var cl struct {
				Kind types.Kind `json:"kind"`
			}
			r, err := loadResult(ctx, s, in.Classify, "/classify")
			if err != nil {
				return nil, err
			}
			if r != nil {
				_ = json.Unmarshal(r.output, &cl)
			}
			ain.Kind = cl.Kind
		}
		for name, raw := range in.Results {
			r, err := loadResult(ctx, s, raw, "/results/"+name)
			if err != nil {
				return nil, err
			}
			if r == nil {
				continue
			}
			if err := localiseArtefacts(ctx, s, dir, r); err != nil {
				return nil, err
			}
			ain.Results[name] = r.output
		}
		var mu sync.Mutex
		var declared []analyser.Artefact
		env := &analyser.Env{Workdir: dir, Logger: log,
			Usage: func(u analyser.Usage) { t.recordUsage(ctx, s, id, u) },
			Artefacts: func(a analyser.Artefact) {
				mu.Lock()
				declared = append(declared, a)
				mu.Unlock()
			}}
		start := time.Now()
		stop := heartbeat(ctx, c)
		rctx, span := telemetry.Start(ctx, id, "analyser.run", attribute.String("landfall.analyser", a.Spec().ID))
		out, err := a.Run(rctx, env, ain)
		telemetry.End(span, err)
		stop()
		if t.opt.Metrics != nil {
			t.opt.Metrics.AnalyserObserved(a.Spec().ID, time.Since(start), err)
		}
		if t.opt.Trace != nil {
			t.opt.Trace(id, task, start, time.Now())
		}
		if err != nil {
			log.Warn("analyser failed", "err", err, "seconds", time.Since(start).Seconds())
			return nil, nameFile(err, in.Media.Filename, src, k)
		}
		// Every output is checked against its analyser's schema, so a
		// provider's drift fails here, named, not three states later.
		if err := analyser.ValidateOutput(a.Spec(), out); err != nil {
			log.Error("analyser output rejected", "err", err)
			return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "%s", a.Spec().ID)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, err
		}
		log.Info("analyser done", "seconds", time.Since(start).Seconds(), "bytes", len(b), "artefacts", len(declared))
		arts, err := shipArtefacts(ctx, s, id, dir, declared, t.opt.ShareFiles)
		if err != nil {
			return nil, err
		}
		name := task
		if task == analyser.TaskDiarise {
			name = "transcript-diarised"
		}
		ref, err := storeResult(ctx, s, id, name, b, arts)
		if err != nil {
			return nil, err
		}
		if task == analyser.TaskClassify {
			// The Choice states read the kind: classify's output is small
			// and always inline, at the top level.
			return b, nil
		}
		return ref, nil
	}
}

// localMedia returns a path on this machine holding the media: the file
// driver's own file, or a streamed download into the work folder.
func localMedia(ctx context.Context, s *Scope, k Key, size int64, dir string) (string, error) {
	if p, err := s.Bucket.LocalPath(k.String()); err == nil {
		return p, nil
	}
	dst, err := within(dir, "source"+k.Ext())
	if err != nil {
		return "", err
	}
	if fi, err := os.Stat(dst); err == nil && fi.Size() == size {
		return dst, nil
	}
	f, err := os.CreateTemp(dir, "download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	if err := s.Bucket.Download(ctx, k.String(), f); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return dst, os.Rename(f.Name(), filepath.Clean(dst))
}

// nameFile rewrites an analyser's error to name the media by the file
// name people know rather than the object or work file it read (a media
// id), keeping the error's code.
func nameFile(err error, filename, src string, k Key) error {
	if filename == "" {
		return err
	}
	msg := errcode.MessageOf(err)
	out := msg
	for _, internal := range []string{k.String(), filepath.Base(src), k.Base()} {
		if internal != "" && internal != filename {
			out = strings.ReplaceAll(out, internal, strconv.Quote(filename))
		}
	}
	if out == msg {
		return err
	}
	return &errcode.Error{Code: errcode.Of(err), Message: out}
}
