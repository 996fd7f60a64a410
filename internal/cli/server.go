package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/landfall/landfall/app"
	"github.com/landfall/landfall/telemetry"
)

func init() {
	Register(Command{
		Name:    "serve",
		Usage:   "[--data DIR] [--addr HOST:PORT] [--db URL] [--blob URL] [--role all|api|worker] [--config FILE] [--watch] [--open]",
		Summary: "run the API, rules, engine and workers (embedded default: one data folder)",
		Run:     runServe,
	})
}

func runServe(ctx context.Context, env *Env, args []string) error {
	fs := NewFlagSet(env, "serve")
	data := fs.String("data", "", "data folder (default: $LANDFALL_DATA or .landfall)")
	addr := fs.String("addr", "", "listen address HOST:PORT, or a port alone for 127.0.0.1:PORT (default 127.0.0.1:8080)")
	db := fs.String("db", "", "database URL: sqlite:///path.db (default, under --data) or postgres://…")
	blobURL := fs.String("blob", "", "bucket URL: file:///path (default, under --data), s3://bucket?endpoint=… or mem://")
	role := fs.String("role", "", "all (default), api or worker")
	cfgPath := fs.String("config", "", "configuration file (YAML or JSON)")
	watch := fs.Bool("watch", false, "watch the bucket's incoming/ folder for dropped files")
	open := fs.Bool("open", false, "serve an installation without tenants (no keys) beyond loopback: anyone who can reach it can read and change everything")
	logFormat := fs.String("log-format", "", "json (default) or text")
	if _, err := ParseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(env, *cfgPath, *data)
	if err != nil {
		return err
	}
	if *addr != "" {
		a, err := listenAddr(*addr)
		if err != nil {
			return &ExitError{Code: ExitInvalid, Err: err}
		}
		*addr = a
	}
	for flagVal, dst := range map[string]*string{*addr: &cfg.Addr, *db: &cfg.DB, *blobURL: &cfg.Blob, *role: &cfg.Role} {
		if flagVal != "" {
			*dst = flagVal
		}
	}
	if *watch {
		cfg.Uploads.Watch = true
	}
	if *open {
		cfg.Open = true
	}
	if *logFormat != "" {
		cfg.Log.Format = *logFormat
	}
	if err := cfg.Validate(); err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	log := newLogger(env, cfg.Log.Format, cfg.Log.Level, cfg.Log.Sample)
	shutdownTraces, err := telemetry.Setup(ctx, telemetry.Config{Endpoint: cfg.OTLP.Endpoint, Role: cfg.Role,
		Version: version(), SampleRatio: cfg.OTLP.SampleRatio, Headers: cfg.OTLP.Headers})
	if err != nil {
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdownTraces(sctx); err != nil {
			log.Warn(err.Error())
		}
	}()
	a, err := app.New(ctx, cfg, app.Options{Logger: log, Version: version(), Mounts: mounts})
	if err != nil {
		return explainDataError(cfg.Data, err)
	}
	defer a.Close(context.Background())
	if err := a.Start(ctx); err != nil {
		return explainDataError(cfg.Data, err)
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s is already in use: another landfall serve (or another program) may be running there; "+
			"stop it, or listen elsewhere with --addr HOST:PORT (or just --addr PORT)", cfg.Addr)
	}
	if err != nil {
		return err
	}
	if err := a.CheckBinding(ln.Addr()); err != nil {
		ln.Close()
		return &ExitError{Code: ExitInvalid, Err: err}
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(env.Stderr, "landfall serving on %s (role %s)\n  web UI:    %s/ui/\n  data:      %s\n  database:  %s\n  bucket:    %s\n  API:       %s/v1/media  %s/openapi.json  %s/metrics\n",
		base, cfg.Role, base, cfg.Data, redactURL(cfg.DB), redactURL(cfg.Blob), base, base, base)
	return a.Serve(ctx, ln)
}

// listenAddr accepts HOST:PORT, :PORT (every interface) and a bare port,
// which means 127.0.0.1:PORT.
func listenAddr(s string) (string, error) {
	if p, err := strconv.Atoi(s); err == nil {
		if p < 0 || p > 65535 {
			return "", fmt.Errorf("--addr %s: a port is between 0 and 65535", s)
		}
		return "127.0.0.1:" + s, nil
	}
	if _, port, err := net.SplitHostPort(s); err != nil || port == "" {
		return "", fmt.Errorf("--addr %q: want HOST:PORT (such as 127.0.0.1:8080 or :8080) or a port alone", s)
	}
	return s, nil
}

func redactURL(u string) string {
	if i := strings.Index(u, "@"); i > 0 {
		if j := strings.Index(u, "://"); j > 0 && j < i {
			userinfo := u[j+3 : i]
			if k := strings.IndexByte(userinfo, ':'); k >= 0 {
				return u[:j+3] + userinfo[:k] + ":***" + u[i:]
			}
		}
	}
	return u
}

func newLogger(env *Env, format, level string, sample float64) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler = slog.NewJSONHandler(env.Stderr, opts)
	if format == "text" {
		h = slog.NewTextHandler(env.Stderr, opts)
	}
	h = telemetry.NewLogHandler(h)
	if sample > 0 && sample < 1 {
		h = &sampler{Handler: h, keep: sample}
	}
	return slog.New(h)
}

func version() string {
	if v := os.Getenv("LANDFALL_VERSION"); v != "" {
		return v
	}
	return "dev"
}
