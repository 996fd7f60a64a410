package pipeline

import (
	"context"
	"encoding/json"
	"log/slog"
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
		r, err := t.prepare(ctx, c, task, &in)
		if err != nil {
			return nil, err
		}
		start := time.Now()
		stop := heartbeat(ctx, c)
		rctx, span := telemetry.Start(ctx, r.in.MediaID, "analyser.run", attribute.String("landfall.analyser", r.a.Spec().ID))
		out, err := r.a.Run(rctx, r.env, r.in)
		telemetry.End(span, err)
		stop()
		return t.finish(ctx, r, start, out, err)
	}
}

// run is one analyser run being prepared or finished: the analyser, its
// input and environment in the media item's work folder.
type run struct {
	task     string
	a        analyser.Analyser
	s        *Scope
	k        Key
	filename string
	src      string
	dir      string
	in       *analyser.Input
	env      *analyser.Env
	log      *slog.Logger

	mu       sync.Mutex
	declared []analyser.Artefact
}

// prepare resolves the analyser of task and its input: the media (the
// original on this machine), its kind, and the earlier results with their
// artefacts.
func (t *Tasks) prepare(ctx context.Context, c Call, task string, in *TaskInput) (*run, error) {
	s, k, err := t.scopedMedia(ctx, c, &in.Media)
	if err != nil {
		return nil, err
	}
	a := t.providerFor(task)
	if a == nil {
		return nil, errcode.New(errcode.ProviderNotConfigured, "no %s provider is configured (analysers.%s = %q)", task, task, t.cfg.Provider(task))
	}
	id := in.Media.ID
	r := &run{task: task, a: a, s: s, k: k, filename: in.Media.Filename,
		log: t.log.With("media_id", id, "tenant", s.Tenant, "task", task, "analyser", a.Spec().ID, "attempt", c.Attempt)}
	if r.dir, err = t.work.Dir(s.Tenant, id); err != nil {
		return nil, err
	}
	if r.src, err = localMedia(ctx, s, k, in.Media.Size, r.dir); err != nil {
		return nil, err
	}
	r.in = &analyser.Input{MediaID: id, Tenant: s.Tenant, Execution: c.ExecutionARN, Key: k.String(), Path: r.src,
		Options: in.Options, Results: map[string]json.RawMessage{}}
	if len(in.Classify) > 0 {
		var cl struct {
			Kind types.Kind `json:"kind"`
		}
		res, err := loadResult(ctx, s, in.Classify, "/classify")
		if err != nil {
			return nil, err
		}
		if res != nil {
			_ = json.Unmarshal(res.output, &cl)
		}
		r.in.Kind = cl.Kind
	}
	for name, raw := range in.Results {
		res, err := loadResult(ctx, s, raw, "/results/"+name)
		if err != nil {
			return nil, err
		}
		if res == nil {
			continue
		}
		if err := localiseArtefacts(ctx, s, r.dir, res); err != nil {
			return nil, err
		}
		r.in.Results[name] = res.output
	}
	r.env = &analyser.Env{Workdir: r.dir, Logger: r.log,
		Usage: func(u analyser.Usage) { t.recordUsage(ctx, s, id, u) },
		Artefacts: func(a analyser.Artefact) {
			r.mu.Lock()
			r.declared = append(r.declared, a)
			r.mu.Unlock()
		}}
	return r, nil
}

// finish checks an analyser's output against its schema and stores it
// (with the files it declared) as the task's result.
func (t *Tasks) finish(ctx context.Context, r *run, start time.Time, out any, err error) (json.RawMessage, error) {
	a, id := r.a, r.in.MediaID
	if t.opt.Metrics != nil {
		t.opt.Metrics.AnalyserObserved(a.Spec().ID, time.Since(start), err)
	}
	if t.opt.Trace != nil {
		t.opt.Trace(id, r.task, start, time.Now())
	}
	if err != nil {
		r.log.Warn("analyser failed", "err", err, "seconds", time.Since(start).Seconds())
		return nil, nameFile(err, r.filename, r.src, r.k)
	}
	// Every output is checked against its analyser's schema, so a
	// provider's drift fails here, named, not three states later.
	if err := analyser.ValidateOutput(a.Spec(), out); err != nil {
		r.log.Error("analyser output rejected", "err", err)
		return nil, errcode.Wrap(errcode.ProviderBadOutput, err, "%s", a.Spec().ID)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	declared := r.declared
	r.mu.Unlock()
	r.log.Info("analyser done", "seconds", time.Since(start).Seconds(), "bytes", len(b), "artefacts", len(declared))
	arts, err := shipArtefacts(ctx, r.s, id, r.dir, declared, t.opt.ShareFiles)
	if err != nil {
		return nil, err
	}
	name := r.task
	if r.task == analyser.TaskDiarise {
		name = "transcript-diarised"
	}
	ref, err := storeResult(ctx, r.s, id, name, b, arts)
	if err != nil {
		return nil, err
	}
	if r.task == analyser.TaskClassify {
		// The Choice states read the kind: classify's output is small
		// and always inline, at the top level.
		return b, nil
	}
	return ref, nil
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
