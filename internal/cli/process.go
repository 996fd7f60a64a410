package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/config"
	"github.com/landfall/landfall/telemetry"
	"github.com/landfall/landfall/types"
	"github.com/landfall/landfall/workflow"
)

func init() {
	Register(Command{
		Name:    "process",
		Usage:   "FILE... [--data DIR] [--config FILE] [--tenant T] [--json] [--timeout 30m]",
		Summary: "run the whole media pipeline in process on the given files and print what was found",
		Run:     runProcess,
	})
}

// processResult is what --json prints per file.
type processResult struct {
	File      string            `json:"file"`
	Status    string            `json:"status"`
	MediaID   string            `json:"media_id,omitempty"`
	Error     string            `json:"error,omitempty"`
	Cause     string            `json:"cause,omitempty"`
	Record    *catalog.Media    `json:"record,omitempty"`
	Execution string            `json:"execution,omitempty"`
	Outputs   map[string]string `json:"outputs,omitempty"`
	Seconds   float64           `json:"seconds"`
}

func runProcess(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "process")
	data := fs.String("data", "", "data folder (default: $LANDFALL_DATA or .landfall)")
	cfgPath := fs.String("config", "", "configuration file (YAML or JSON)")
	tenant := fs.String("tenant", "default", "tenant the files belong to")
	asJSON := fs.Bool("json", false, "print each file's record as a JSON line")
	timeout := fs.Duration("timeout", 30*time.Minute, "give up on a file after this long")
	verbose := fs.Bool("v", false, "log every component's lines to stderr")
	files, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return UsageError("process: name at least one file")
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err != nil {
			return &ExitError{Code: ExitInvalid, Err: err}
		} else if fi.IsDir() {
			return UsageError("process: %s is a folder", f)
		}
	}
	cfg, err := loadConfig(env, *cfgPath, *data)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	shutdownTraces, err := telemetry.Setup(ctx, telemetry.Config{Endpoint: cfg.OTLP.Endpoint, Role: "process",
		SampleRatio: cfg.OTLP.SampleRatio, Headers: cfg.OTLP.Headers})
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTraces(sctx); err != nil {
			fmt.Fprintln(env.Stderr, "landfall process:", err)
		}
	}()
	log := slog.New(telemetry.NewLogHandler(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})))
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return err
	}
	defer a.Close(context.Background())
	if err := a.Start(ctx); err != nil {
		return err
	}
	tty := isTerminal(env.Stdout)
	failed := 0
	for _, f := range files {
		began := time.Now()
		res := processOne(ctx, env, a, f, *tenant, *timeout, !*asJSON, tty)
		res.Seconds = time.Since(began).Seconds()
		if res.Status != "SUCCEEDED" {
			failed++
		}
		if *asJSON {
			b, _ := json.Marshal(res)
			fmt.Fprintln(env.Stdout, string(b))
		} else {
			printResult(env.Stdout, cfg, res)
		}
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d file(s) failed", failed, len(files))}
	}
	return nil
}

// loadConfig reads the configuration file, or the embedded defaults rooted
// at the data folder.
func loadConfig(env *Env, path, data string) (*config.Config, error) {
	if data == "" {
		data = env.Getenv("LANDFALL_DATA")
	}
	if path == "" {
		path = env.Getenv("LANDFALL_CONFIG")
	}
	if path == "" {
		return config.Default(data), nil
	}
	c, err := config.Load(path)
	if err != nil {
		return nil, &ExitError{Code: ExitInvalid, Err: err}
	}
	if data != "" {
		d, old := config.Default(data), config.Default(c.Data)
		if c.SecretFile == old.SecretFile {
			c.SecretFile = d.SecretFile
		}
		c.Data = data
		c.DB, c.Blob = d.DB, d.Blob
	}
	return c, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func processOne(ctx context.Context, env *Env, a *app.App, file, tenant string, timeout time.Duration, progress, tty bool) processResult {
	start := time.Now()
	res := processResult{File: file, Status: "FAILED"}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	f, err := os.Open(file)
	if err != nil {
		res.Error, res.Cause = "File.Unreadable", err.Error()
		return res
	}
	defer f.Close()
	fi, _ := f.Stat()
	m, err := a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: tenant, Filename: filepath.Base(file), Size: fi.Size(), Body: f})
	if err != nil {
		res.Error, res.Cause = "Upload.Refused", err.Error()
		return res
	}
	res.MediaID = m.ID
	say := func(format string, args ...any) {
		if progress {
			line := fmt.Sprintf(format, args...)
			if tty {
				fmt.Fprintf(env.Stdout, "\r\033[K%s", line)
			} else {
				fmt.Fprintln(env.Stdout, line)
			}
		}
	}
	say("%s: uploaded as %s", filepath.Base(file), m.ID)
	// The rule starts the execution; find it by the media id.
	var exec string
	for exec == "" {
		xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Limit: 1})
		if err == nil && len(xs) > 0 {
			exec = xs[0].ARN
			break
		}
		if m2, err := a.Catalog.MediaGet(ctx, &catalog.MediaGetParams{ID: m.ID}); err == nil &&
			(m2.Status == types.StatusFailed || m2.Status == types.StatusSkipped) {
			// Settled without an execution: no rule started one, or starting it failed.
			res.Status, res.Error, res.Cause, res.Record = string(m2.Status), m2.Error, m2.Cause, m2
			return res
		}
		select {
		case <-ctx.Done():
			res.Error, res.Cause = "Timeout", "no execution started for "+m.ID+" (is a rule matching incoming/ uploads loaded?)"
			return res
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Execution = exec
	seen := map[int64]bool{}
	for {
		x, err := a.Engine.DescribeExecution(ctx, exec)
		if err != nil {
			res.Error, res.Cause = "Execution.Unknown", err.Error()
			return res
		}
		evs, _, _ := a.Engine.History(ctx, exec, workflow.HistoryParams{Limit: 1000})
		for _, e := range evs {
			if seen[e.ID] || !strings.HasSuffix(e.Type, "StateEntered") {
				continue
			}
			seen[e.ID] = true
			var d struct {
				Name string `json:"name"`
			}
			_ = json.Unmarshal(e.Details, &d)
			say("%s: %-16s %6.1fs", filepath.Base(file), d.Name, time.Since(start).Seconds())
		}
		if x.Status != workflow.StatusRunning {
			if tty && progress {
				fmt.Fprintln(env.Stdout)
			}
			res.Status, res.Error, res.Cause = x.Status, x.Error, x.Cause
			break
		}
		select {
		case <-ctx.Done():
			res.Error, res.Cause = "Timeout", fmt.Sprintf("%s still running after %s", exec, timeout)
			return res
		case <-time.After(150 * time.Millisecond):
		}
	}
	if rec, err := a.Catalog.MediaGet(context.WithoutCancel(ctx), &catalog.MediaGetParams{ID: m.ID}); err == nil {
		res.Record = rec
		res.Outputs = map[string]string{}
		for name, key := range map[string]string{"media": rec.BucketKey, "transcript": rec.TranscriptKey, "captions": rec.CaptionsKey} {
			if key == "" {
				continue
			}
			if p, err := a.Bucket.LocalPath(key); err == nil {
				res.Outputs[name] = p
			} else {
				res.Outputs[name] = key
			}
		}
	}
	return res
}

func printResult(w io.Writer, cfg *config.Config, r processResult) {
	fmt.Fprintf(w, "\n== %s: %s in %.1fs (media %s)\n", r.File, r.Status, r.Seconds, r.MediaID)
	if r.Status != "SUCCEEDED" {
		fmt.Fprintf(w, "   error: %s\n   cause: %s\n", r.Error, r.Cause)
		return
	}
	m := r.Record
	if m == nil || m.Insights == nil {
		return
	}
	ins := m.Insights
	fmt.Fprintf(w, "   kind: %s  duration: %.1fs\n", m.Kind, m.Duration)
	fmt.Fprintf(w, "   summary: %s\n", ins.Summary)
	if len(ins.Chapters) > 0 {
		fmt.Fprintln(w, "   chapters:")
		for _, c := range ins.Chapters {
			fmt.Fprintf(w, "     %7.1fs  %s\n", c.StartSeconds, c.Title)
		}
	}
	if len(ins.Topics) > 0 {
		fmt.Fprintf(w, "   topics: %s\n", strings.Join(ins.Topics, ", "))
	}
	fmt.Fprintf(w, "   people: %s\n   organisations: %s\n   places: %s\n",
		strings.Join(ins.Entities.People, ", "), strings.Join(ins.Entities.Organisations, ", "), strings.Join(ins.Entities.Places, ", "))
	if len(ins.OCR) > 0 {
		var texts []string
		for _, o := range ins.OCR {
			texts = append(texts, strings.ReplaceAll(o.Text, "\n", " "))
		}
		fmt.Fprintf(w, "   on screen: %s\n", strings.Join(texts, " | "))
	}
	if ins.Faces != nil {
		fmt.Fprintf(w, "   faces: up to %d in a frame\n", ins.Faces.MaxCount)
	}
	for _, k := range []string{"media", "transcript", "captions"} {
		if v := r.Outputs[k]; v != "" {
			fmt.Fprintf(w, "   %s: %s\n", k, v)
		}
	}
	_ = cfg
}
