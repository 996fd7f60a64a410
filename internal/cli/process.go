package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
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
		Usage:   "FILE|FOLDER... [--data DIR] [--config FILE] [--tenant T] [--json] [--force] [--timeout 30m]",
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
	// Reused is set when the same content was processed before and its
	// result is shown instead of processing the file again.
	Reused bool   `json:"reused,omitempty"`
	Note   string `json:"note,omitempty"`
}

func runProcess(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "process")
	data := fs.String("data", "", "data folder (default: $LANDFALL_DATA or .landfall)")
	cfgPath := fs.String("config", "", "configuration file (YAML or JSON)")
	tenant := fs.String("tenant", "default", "tenant the files belong to")
	asJSON := fs.Bool("json", false, "print each file's record as a JSON line")
	timeout := fs.Duration("timeout", 30*time.Minute, "stop waiting for a file after this long (its run continues)")
	force := fs.Bool("force", false, "process a file again even when the same content was processed before")
	verbose := fs.Bool("v", false, "log every component's lines to stderr")
	args, err := ParseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return UsageError("process: name at least one file or folder")
	}
	files, err := mediaFiles(args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env, *cfgPath, *data)
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	level.Set(slog.LevelWarn)
	if *verbose {
		level.Set(slog.LevelInfo)
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
	tty := isTerminal(env.Stdout)
	pr := newProgress(env.Stdout, tty)
	log := slog.New(telemetry.NewLogHandler(slog.NewTextHandler(pr.Logs(env.Stderr), &slog.HandlerOptions{Level: level})))
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		return explainDataError(cfg.Data, err)
	}
	defer a.Close(context.Background())
	if err := a.Start(ctx); err != nil {
		return explainDataError(cfg.Data, err)
	}
	var results []processResult
	failed := 0
	for _, f := range files {
		began := time.Now()
		var show *progress
		if !*asJSON {
			show = pr
		}
		res := processOne(ctx, a, f, *tenant, *timeout, *force, show)
		res.Seconds = time.Since(began).Seconds()
		if res.Status == statusInterrupted {
			// What the interrupted work logs while it winds down is noise now.
			level.Set(slog.LevelError)
			return interrupted(env, a, cfg, res)
		}
		results = append(results, res)
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
	if len(results) > 1 && !*asJSON {
		printSummary(env.Stdout, results)
	}
	if failed > 0 {
		return &ExitError{Code: ExitFailure, Err: fmt.Errorf("%d of %d file(s) did not succeed", failed, len(files))}
	}
	return nil
}

// statusInterrupted marks a file whose wait was ended by Ctrl-C.
const statusInterrupted = "INTERRUPTED"

// interrupted ends process after Ctrl-C: the run is durable and goes on
// the next time Landfall runs on this data folder, unless a second Ctrl-C
// asks to stop it.
func interrupted(env *Env, a *app.App, cfg *config.Config, res processResult) error {
	grace := env.InterruptGrace
	if grace <= 0 {
		grace = 3 * time.Second
	}
	fmt.Fprintf(env.Stderr, "\ninterrupted: %s (media %s) is not finished. Its run is saved and continues the next time "+
		"`landfall serve` or `landfall process` runs with the data folder %s; running `landfall process %s` again waits for it "+
		"instead of starting over.\n", res.File, res.MediaID, cfg.Data, res.File)
	if res.Execution == "" {
		return &ExitError{Code: ExitInterrupted}
	}
	fmt.Fprintf(env.Stderr, "Press Ctrl-C again within %s to stop the run instead.\n", grace)
	select {
	case <-env.Interrupt:
	case <-time.After(grace):
		return &ExitError{Code: ExitInterrupted}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Engine.StopExecution(ctx, res.Execution, "Interrupted", "stopped with Ctrl-C in landfall process"); err != nil {
		return &ExitError{Code: ExitInterrupted, Err: fmt.Errorf("could not stop the run of %s: %w", res.File, err)}
	}
	fmt.Fprintf(env.Stderr, "stopped: the run of %s (media %s) will not continue.\n", res.File, res.MediaID)
	return &ExitError{Code: ExitInterrupted}
}

// mediaFiles expands the arguments of process: files as given, folders to
// the audio, video and image files directly inside them, by name.
func mediaFiles(args []string) ([]string, error) {
	var files []string
	for _, f := range args {
		fi, err := os.Stat(f)
		if err != nil {
			return nil, &ExitError{Code: ExitInvalid, Err: err}
		}
		if !fi.IsDir() {
			files = append(files, f)
			continue
		}
		des, err := os.ReadDir(f)
		if err != nil {
			return nil, &ExitError{Code: ExitInvalid, Err: err}
		}
		n := 0
		for _, de := range des {
			if de.Type().IsRegular() && !strings.HasPrefix(de.Name(), ".") && isMediaName(de.Name()) {
				files = append(files, filepath.Join(f, de.Name()))
				n++
			}
		}
		if n == 0 {
			return nil, UsageError("process: the folder %s has no audio, video or image files", f)
		}
	}
	return files, nil
}

// isMediaName reports whether a file name's extension is one of audio,
// video or image.
func isMediaName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	switch ext {
	case ".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac", ".wma", ".aiff", ".aif",
		".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".mpg", ".mpeg", ".ts", ".3gp",
		".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".heic":
		return true
	}
	t := mime.TypeByExtension(ext)
	return strings.HasPrefix(t, "audio/") || strings.HasPrefix(t, "video/") || strings.HasPrefix(t, "image/")
}

// printSummary prints one line per file after a run of several.
func printSummary(w io.Writer, rs []processResult) {
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSTATUS\tSECONDS\tMEDIA\tNOTE")
	for _, r := range rs {
		note := r.Error
		if r.Reused {
			note = "same content processed before"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\n", r.File, r.Status, r.Seconds, r.MediaID, note)
	}
	tw.Flush()
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

// fileSHA256 streams a file through SHA-256 (hex), the digest the catalog
// keeps per media item.
func fileSHA256(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sameContent finds the tenant's media item with this content that
// succeeded, or else one still running, or nil.
func sameContent(ctx context.Context, st catalog.Store, tenant, sum string) (*catalog.Media, error) {
	for _, status := range []types.Status{types.StatusSucceeded, types.StatusProcessing, types.StatusPending} {
		p := &catalog.MediaListParams{TenantID: tenant, Status: status, Limit: 1000}
		for {
			page, err := st.MediaList(ctx, p)
			if err != nil {
				return nil, err
			}
			for _, m := range page.Media {
				if m.SHA256 == sum {
					return m, nil
				}
			}
			if page.Next == "" {
				break
			}
			p.Cursor = page.Next
		}
	}
	return nil, nil
}

func processOne(ctx context.Context, a *app.App, file, tenant string, timeout time.Duration, force bool, pr *progress) processResult {
	res := processResult{File: file, Status: "FAILED"}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(name, cause string) processResult {
		if parent.Err() != nil {
			res.Status = statusInterrupted
		}
		res.Error, res.Cause = name, cause
		return res
	}
	sum, err := fileSHA256(file)
	if err != nil {
		return fail("File.Unreadable", err.Error())
	}
	var m *catalog.Media
	if !force {
		if m, err = sameContent(ctx, a.Catalog, tenant, sum); err != nil {
			return fail("Catalog.Unavailable", err.Error())
		}
	}
	if m != nil && m.Status == types.StatusSucceeded {
		res.Status, res.MediaID, res.Reused, res.Execution = "SUCCEEDED", m.ID, true, m.ExecutionID
		res.Note = fmt.Sprintf("the same content was processed as media %s on %s; showing that result (--force processes it again)",
			m.ID, m.CreatedAt.Local().Format(time.DateTime))
		addRecord(ctx, a, &res)
		return res
	}
	if m != nil && m.Status != types.StatusSucceeded {
		// A run that was stopped (or ended without its outcome recorded
		// yet) is no run to wait for: process the file afresh.
		xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Limit: 1})
		if err == nil && len(xs) > 0 && xs[0].Status != workflow.StatusRunning {
			m = nil
		}
	}
	header := filepath.Base(file)
	if m != nil {
		res.Note = fmt.Sprintf("the same content is already being processed as media %s; waiting for that run (--force starts another)", m.ID)
		header += ": " + res.Note
	} else {
		f, err := os.Open(file)
		if err != nil {
			return fail("File.Unreadable", err.Error())
		}
		fi, _ := f.Stat()
		m, err = a.Ingest.Upload(ctx, &apiserver.UploadParams{Tenant: tenant, Filename: filepath.Base(file), Size: fi.Size(), Body: f})
		f.Close()
		if err != nil {
			return fail("Upload.Refused", err.Error())
		}
		header += " (media " + m.ID + ")"
	}
	res.MediaID = m.ID
	if pr != nil {
		defer pr.Finish()
	}
	// The rule starts the execution; find it by the media id.
	var exec string
	for exec == "" {
		xs, _, err := a.Engine.ListExecutions(ctx, workflow.ListExecutionsParams{CorrelationID: m.ID, Limit: 1})
		if err == nil && len(xs) > 0 {
			exec = xs[0].ARN
			if pr != nil {
				names := defaultStepNames()
				if sm, err := a.Engine.DescribeStateMachine(ctx, xs[0].StateMachineARN); err == nil {
					names = newStepNames(sm.Definition)
				}
				pr.Start(header, names)
			}
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
			return fail("Timeout", "no run started for media "+m.ID+" (is a rule matching incoming/ uploads loaded?)")
		case <-time.After(100 * time.Millisecond):
		}
	}
	res.Execution = exec
	for {
		x, err := a.Engine.DescribeExecution(ctx, exec)
		if err != nil {
			return fail("Execution.Unknown", err.Error())
		}
		if pr != nil {
			evs, _, _ := a.Engine.History(ctx, exec, workflow.HistoryParams{Limit: 1000})
			pr.Events(evs)
		}
		if x.Status != workflow.StatusRunning {
			res.Status, res.Error, res.Cause = x.Status, x.Error, x.Cause
			break
		}
		select {
		case <-ctx.Done():
			res.Status = workflow.StatusRunning
			return fail("Timeout", fmt.Sprintf("the run %s is still going after %s; it continues, and `landfall process %s` again waits for it", exec, timeout, file))
		case <-time.After(150 * time.Millisecond):
		}
		if pr != nil {
			pr.Tick()
		}
	}
	addRecord(ctx, a, &res)
	return res
}

// addRecord adds the catalog record and the local paths of its outputs.
func addRecord(ctx context.Context, a *app.App, res *processResult) {
	rec, err := a.Catalog.MediaGet(context.WithoutCancel(ctx), &catalog.MediaGetParams{ID: res.MediaID})
	if err != nil {
		return
	}
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

func printResult(w io.Writer, cfg *config.Config, r processResult) {
	fmt.Fprintf(w, "\n== %s: %s in %.1fs (media %s)\n", r.File, r.Status, r.Seconds, r.MediaID)
	if r.Reused {
		fmt.Fprintf(w, "   note: %s\n", r.Note)
	}
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
	printVision(w, ins)
	for _, k := range []string{"media", "transcript", "captions"} {
		if v := r.Outputs[k]; v != "" {
			fmt.Fprintf(w, "   %s: %s\n", k, v)
		}
	}
	_ = cfg
}

// notWritable reports whether err says a file or folder could not be
// written: a permission error, a read-only file system or database.
func notWritable(err error) bool {
	msg := err.Error()
	return errors.Is(err, os.ErrPermission) || strings.Contains(msg, "permission denied") ||
		strings.Contains(msg, "readonly database") || strings.Contains(msg, "read-only file system")
}

// explainDataError names the data folder when it cannot be written.
func explainDataError(data string, err error) error {
	if notWritable(err) {
		return fmt.Errorf("the data folder %s (or a file in it) is not writable: %w\n"+
			"  give yourself write access to it, or choose another folder with --data DIR (or LANDFALL_DATA)", data, err)
	}
	return err
}
