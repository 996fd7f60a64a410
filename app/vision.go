package app

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/landfall/landfall/apiserver"
	"github.com/landfall/landfall/apiserver/sfnapi"
	"github.com/landfall/landfall/identity"
	"github.com/landfall/landfall/pipelines"
)

// VisionActivities are the activities the vision worker serves.
var VisionActivities = []string{"landfall-labels", "landfall-moderate"}

// visionWorker is the supervised Node process (or processes) serving the
// labels and moderate activities.
type visionWorker struct {
	dir, node string
	// unavailable says why the worker cannot run ("" when it can).
	unavailable string
	mu          sync.Mutex
	restarts    int
	once        sync.Once
}

// startDir is the working directory the process started in: a later
// change of directory (an in-process S3 gateway in tests works from its
// own folder) does not move where the worker is looked for.
var startDir, _ = os.Getwd()

// findVisionDir returns the worker's folder: the configured one, or
// workers/vision beside the binary's folder or above the directory the
// process started in.
func findVisionDir(configured string) (string, error) {
	if configured != "" {
		return filepath.Abs(configured)
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		starts = append(starts, filepath.Dir(exe))
	}
	if startDir != "" {
		starts = append(starts, startDir)
	}
	for _, s := range starts {
		for d := s; ; d = filepath.Dir(d) {
			p := filepath.Join(d, "workers", "vision")
			if _, err := os.Stat(filepath.Join(p, "worker.js")); err == nil {
				return p, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", fmt.Errorf("workers/vision/worker.js is not beside the binary or above %s (set vision.dir)", starts)
}

// newVisionWorker checks what the worker needs: Node, its folder, its
// packages and its models.
func newVisionWorker(dir, node string) *visionWorker {
	w := &visionWorker{node: node}
	d, err := findVisionDir(dir)
	if err != nil {
		w.unavailable = "the vision worker cannot start: " + err.Error()
		return w
	}
	w.dir = d
	if p, err := exec.LookPath(node); err != nil {
		w.unavailable = fmt.Sprintf("the vision worker cannot start: Node.js (%q) is not installed: run scripts/setup, or set vision.worker: off", node)
		return w
	} else {
		w.node = p
	}
	for _, f := range []string{"node_modules/.landfall-models/centernet.bin", "node_modules/nsfwjs/dist/models/mobilenet_v2_mid/model.min.js",
		"node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm", "node_modules/jpeg-js/package.json"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			w.unavailable = fmt.Sprintf("the vision worker cannot start: %s is missing: run scripts/setup (make setup) to install its packages and models, or set vision.worker: off", filepath.Join(d, f))
			return w
		}
	}
	return w
}

// VisionUnavailable says why the vision worker cannot serve labels and
// moderation on this installation ("" when it can, or when it is not used).
func (a *App) VisionUnavailable() string {
	if a.vision == nil {
		return ""
	}
	return a.vision.unavailable
}

// VisionRestarts counts how often the supervised worker was restarted.
func (a *App) VisionRestarts() int {
	if a.vision == nil {
		return 0
	}
	a.vision.mu.Lock()
	defer a.vision.mu.Unlock()
	return a.vision.restarts
}

// provisionVision creates the vision worker's activities.
func (a *App) provisionVision(ctx context.Context) error {
	if !a.Cfg.VisionActivity() {
		return nil
	}
	for _, name := range VisionActivities {
		if _, err := a.Engine.CreateActivity(ctx, name); err != nil {
			return fmt.Errorf("activity %s: %w", name, err)
		}
	}
	return nil
}

// demandVision starts the supervised worker the first time a media item
// needs it (the frames task calls it), so a process that never analyses an
// image or video never starts Node. The workers reach this process on a
// private loopback endpoint that serves only the Step Functions protocol and
// the activity files, to callers presenting a random secret made for this
// run; they act as an operator. They stop with the app.
func (a *App) demandVision() {
	if a.vision == nil || !a.Cfg.VisionWorkerServes() || a.vision.unavailable != "" {
		return
	}
	a.vision.once.Do(func() {
		ctx := a.runCtx
		if ctx == nil {
			a.Log.Error("the vision worker cannot start: the app was not started")
			return
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			a.Log.Error("the vision worker cannot start: its endpoint", "err", err)
			return
		}
		var b [24]byte
		_, _ = rand.Read(b[:])
		secret := hex.EncodeToString(b[:])
		srv := &http.Server{Handler: a.visionEndpoint(secret), ReadHeaderTimeout: 10 * time.Second}
		a.goRun(func() { _ = srv.Serve(ln) })
		a.goRun(func() {
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		})
		env := []string{"LANDFALL_ENDPOINT=http://" + ln.Addr().String(), "LANDFALL_API_KEY=" + secret,
			"LANDFALL_ACTIVITY_PREFIX=arn:aws:states:" + pipelines.LocalSubstitutions["Region"] + ":" + pipelines.LocalSubstitutions["AccountId"] + ":activity:landfall-"}
		for i := 0; i < a.Cfg.Vision.Processes; i++ {
			name := fmt.Sprintf("landfall-%d-vision-%d", os.Getpid(), i)
			a.goRun(func() { a.superviseVision(ctx, name, env) })
		}
	})
}

// visionEndpoint serves the supervised workers: the Step Functions
// protocol (POST /) and the activity files, as an operator, to callers
// presenting secret.
func (a *App) visionEndpoint(secret string) http.Handler {
	sfn := sfnapi.New(a.Engine)
	files := apiserver.ActivityFiles(a.Bucket, a.Engine)
	want := []byte("Bearer " + secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			http.Error(w, "this endpoint serves the process's own vision workers", http.StatusForbidden)
			return
		}
		r = r.WithContext(identity.NewContext(r.Context(), identity.Principal{Role: identity.RoleOperator, KeyID: "vision-worker"}))
		if r.Method == http.MethodPost && r.URL.Path == "/" {
			sfn.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// superviseVision runs one worker process until ctx ends, restarting it
// after a crash (1 s, doubling to 30 s while it keeps crashing early).
func (a *App) superviseVision(ctx context.Context, name string, env []string) {
	log := a.Log.With("component", "vision-worker", "worker", name)
	backoff := time.Second
	for ctx.Err() == nil {
		cmd := exec.Command(a.vision.node, filepath.Join(a.vision.dir, "worker.js"))
		cmd.Dir = a.vision.dir
		cmd.Env = append(os.Environ(), append(env, "LANDFALL_WORKER_NAME="+name)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stderr, err := cmd.StderrPipe()
		if err != nil {
			log.Error("vision worker", "err", err)
			return
		}
		cmd.Stdout = nil
		start := time.Now()
		if err := cmd.Start(); err != nil {
			log.Error("the vision worker cannot start", "err", err)
			return
		}
		log.Info("vision worker started", "pid", cmd.Process.Pid)
		done := make(chan struct{})
		go func() {
			relayWorkerLog(log, stderr)
			close(done)
		}()
		waited := make(chan error, 1)
		go func() {
			<-done
			waited <- cmd.Wait()
		}()
		select {
		case err := <-waited:
			if ctx.Err() != nil {
				return
			}
			if time.Since(start) > time.Minute {
				backoff = time.Second
			}
			a.vision.mu.Lock()
			a.vision.restarts++
			a.vision.mu.Unlock()
			log.Warn("vision worker exited; restarting", "err", fmt.Sprint(err), "ran_seconds", time.Since(start).Seconds(), "restart_in", backoff.String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		case <-ctx.Done():
			// Stop with the server: SIGTERM (the worker hands back the
			// tasks it holds), then SIGKILL after 5 s.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-waited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-waited
			}
			log.Info("vision worker stopped")
			return
		}
	}
}

// relayWorkerLog copies the worker's JSON log lines into the server's log.
func relayWorkerLog(log interface {
	Info(string, ...any)
	Warn(string, ...any)
	Error(string, ...any)
}, r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		if json.Unmarshal(line, &m) != nil {
			log.Info("vision worker: " + string(line))
			continue
		}
		msg, _ := m["msg"].(string)
		level, _ := m["level"].(string)
		attrs := []any{}
		for k, v := range m {
			if k != "msg" && k != "level" && k != "time" && k != "worker" {
				attrs = append(attrs, k, v)
			}
		}
		switch level {
		case "error":
			log.Error("vision worker: "+msg, attrs...)
		case "warn":
			log.Warn("vision worker: "+msg, attrs...)
		default:
			log.Info("vision worker: "+msg, attrs...)
		}
	}
}
