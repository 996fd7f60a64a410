package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // the "sqlite" database/sql driver

	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/internal/testutil"
)

// serveProc is a `landfall serve` child process.
type serveProc struct {
	cmd  *exec.Cmd
	addr string
	name string
}

// startServe runs `landfall serve args…` as a child process listening on
// addr (empty: no listener is waited for), logging to a file in dir.
func startServe(t *testing.T, dir, name, addr string, args ...string) *serveProc {
	t.Helper()
	return startServeEnv(t, dir, name, addr, nil, args...)
}

// startServeEnv is startServe with env added to the child's environment.
func startServeEnv(t *testing.T, dir, name, addr string, env []string, args ...string) *serveProc {
	t.Helper()
	logf, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	all := append([]string{"serve", "--log-format", "text"}, args...)
	if addr != "" {
		all = append(all, "--addr", addr)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), serveArgsEnv+"="+strings.Join(all, "\x1f"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{cmd: cmd, addr: addr, name: name}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				_ = cmd.Process.Kill()
				<-done
			}
		}
	})
	if addr != "" {
		deadline := time.Now().Add(60 * time.Second)
		for {
			resp, err := http.Get("http://" + addr + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				log, _ := os.ReadFile(filepath.Join(dir, name+".log"))
				t.Fatalf("%s did not answer on %s within a minute:\n%s", name, addr, log)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return p
}

func (p *serveProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func uploadFile(t *testing.T, addr, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+addr+"/v1/uploads?filename="+filepath.Base(path), "application/octet-stream", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ ID string }
	if resp.StatusCode/100 != 2 || json.NewDecoder(resp.Body).Decode(&m) != nil || m.ID == "" {
		t.Fatalf("upload %s: %s", path, resp.Status)
	}
	return m.ID
}

// engineDB reads the workflow engine's task rows of a media item.
type engineDB struct {
	db *sql.DB
	pg bool
}

func openEngineDB(t *testing.T, url string) *engineDB {
	t.Helper()
	var e engineDB
	var err error
	if path, ok := strings.CutPrefix(url, "sqlite://"); ok {
		e.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(30000)")
	} else {
		e.db, err = sql.Open("pgx", url)
		e.pg = true
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	return &e
}

type taskRow struct {
	token, state, owner, status string
	dispatch                    int
}

func (e *engineDB) task(token string) (taskRow, error) {
	q := `SELECT token, state_name, owner, status, dispatch FROM wf_tasks WHERE token = ?`
	if e.pg {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var k taskRow
	err := e.db.QueryRow(q, token).Scan(&k.token, &k.state, &k.owner, &k.status, &k.dispatch)
	return k, err
}

// waitTaken waits until the killed worker's task is claimed by another
// worker (or has ended) and returns when.
func (e *engineDB) waitTaken(t *testing.T, k taskRow, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := e.task(k.token)
		if err == nil && (got.owner != k.owner || got.dispatch > k.dispatch || got.status != "running") {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s task of the killed process is still %+v after %v", k.state, got, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitFinal(t *testing.T, addr, id string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var m map[string]any
		resp, err := http.Get("http://" + addr + "/v1/media/" + id)
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&m)
			resp.Body.Close()
		}
		switch m["status"] {
		case "SUCCEEDED", "FAILED", "SKIPPED":
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s still %v after %v", id, m["status"], within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// audioStates are the task states of the default pipeline for an audio
// file, in order.
var audioStates = []string{"RegisterMedia", "ClassifyMedia", "ExtractMedia", "TranscribeAudio", "DiariseAudio", "Summarise", "Persist", "MoveToProcessed"}

// TestKillServeAtEachStep kills a single `landfall serve` (SQLite) with
// SIGKILL as soon as a media item reaches each task state of the
// pipeline, and restarts it: the restarted process resumes the item
// within 5 s of its start (the interrupted task runs again, or the
// execution moves on), and every item ends in a final state.
func TestKillServeAtEachStep(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts landfall serve processes and runs the pipeline")
	}
	dir := t.TempDir()
	wav := filepath.Join(dir, "talk.wav")
	if err := mediagen.Speech(context.Background(), wav, "The lighthouse keeper writes the weather in a red notebook.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	addr := freeAddr(t)
	srv := startServe(t, dir, "serve", addr, "--data", data)
	edb := openEngineDB(t, "sqlite://"+filepath.Join(data, "workflow.db"))

	var items []string
	var worst time.Duration
	for _, state := range audioStates {
		id := uploadFile(t, addr, wav)
		items = append(items, id)
		if _, ok := edb.waitReached(id, state, 2*time.Minute); !ok {
			t.Fatalf("media %s never reached %s", id, state)
		}
		srv.kill(t)
		killed := time.Now()
		at, _ := edb.waitReached(id, state, time.Second)
		last := edb.lastEvent(id)
		srv = startServe(t, dir, "serve", "", "--data", data, "--addr", addr)
		started := time.Now()
		var resumed time.Time
		how := ""
		if at.status == "running" {
			resumed, how = edb.waitTaken(t, at, time.Minute), "its interrupted task ran again"
		} else {
			resumed, how = edb.waitProgress(t, id, last, time.Minute), "its execution moved on"
		}
		took := resumed.Sub(started)
		t.Logf("killed at %s (task %s): %s %.2fs after the restart (%.2fs after the kill)", state, at.status, how, took.Seconds(), resumed.Sub(killed).Seconds())
		worst = max(worst, took)
		srv = waitAnswering(t, srv, addr)
	}
	for _, id := range items {
		m := waitFinal(t, addr, id, 10*time.Minute)
		if m["status"] != "SUCCEEDED" {
			t.Errorf("media %s ended %v: %v %v", id, m["status"], m["error"], m["cause"])
		}
	}
	t.Logf("killed at each of %d task states; all %d items SUCCEEDED; slowest resume %.2fs after a restart", len(audioStates), len(items), worst.Seconds())
	if worst > 5*time.Second {
		t.Fatalf("a restarted serve took %v to resume the interrupted media, want within 5s", worst)
	}
}

// waitReached polls until the item has a task of state, returning it.
func (e *engineDB) waitReached(mediaID, state string, within time.Duration) (taskRow, bool) {
	q := `SELECT t.token, t.state_name, t.owner, t.status, t.dispatch FROM wf_tasks t JOIN wf_executions x ON x.arn = t.execution_arn
		WHERE x.correlation_id = ? AND t.state_name = ? ORDER BY t.created_us DESC LIMIT 1`
	if e.pg {
		q = strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1)
	}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		var k taskRow
		if err := e.db.QueryRow(q, mediaID, state).Scan(&k.token, &k.state, &k.owner, &k.status, &k.dispatch); err == nil {
			return k, true
		}
		time.Sleep(time.Millisecond)
	}
	return taskRow{}, false
}

// lastEvent is the id of the newest history event of the item's
// execution.
func (e *engineDB) lastEvent(mediaID string) int64 {
	q := `SELECT COALESCE(MAX(h.id), 0) FROM wf_history h JOIN wf_executions x ON x.arn = h.execution_arn WHERE x.correlation_id = ?`
	if e.pg {
		q = strings.Replace(q, "?", "$1", 1)
	}
	var n int64
	_ = e.db.QueryRow(q, mediaID).Scan(&n)
	return n
}

// waitProgress waits until the item's execution has a history event
// after last, and returns when.
func (e *engineDB) waitProgress(t *testing.T, mediaID string, last int64, within time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if e.lastEvent(mediaID) > last {
			return time.Now()
		}
		if time.Now().After(deadline) {
			t.Fatalf("media %s: no progress after event %d within %v of the restart", mediaID, last, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitAnswering(t *testing.T, p *serveProc, addr string) *serveProc {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return p
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("restarted serve does not answer on %s", addr)
	return p
}

// TestKillWorkerTakeoverPostgres runs an api process and two worker
// processes on PostgreSQL with one bucket folder, kills the worker running
// a media item's transcription with SIGKILL, and checks that the other
// worker takes the task over within 10 s and the item succeeds.
func TestKillWorkerTakeoverPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("runs landfall serve processes and the pipeline")
	}
	pg := testutil.PostgresURL(t)
	sep := "?"
	if strings.Contains(pg, "?") {
		sep = "&"
	}
	db := fmt.Sprintf("%s%sschema=lf_kill_%d", pg, sep, rand.Uint32())
	dir := t.TempDir()
	wav := filepath.Join(dir, "talk.wav")
	if err := mediagen.Speech(context.Background(), wav, "The lighthouse keeper writes the weather in a red notebook.", mediagen.VoiceFemale); err != nil {
		t.Fatal(err)
	}
	bucket := "file://" + filepath.Join(dir, "bucket")
	common := []string{"--db", db, "--blob", bucket}
	addr := freeAddr(t)
	startServe(t, dir, "api", addr, append(common, "--data", filepath.Join(dir, "api"), "--role", "api")...)
	workers := map[string]*serveProc{}
	for _, n := range []string{"worker-1", "worker-2"} {
		workers[n] = startServe(t, dir, n, freeAddr(t), append(common, "--data", filepath.Join(dir, n), "--role", "worker")...)
	}
	edb := openEngineDB(t, strings.Replace(db, "schema=", "search_path=", 1))
	id := uploadFile(t, addr, wav)
	k, ok := edb.waitReached(id, "TranscribeAudio", 3*time.Minute)
	if !ok || k.status != "running" {
		t.Fatalf("the transcription was never seen running: %+v", k)
	}
	// The worker's id is not its process: kill each in turn until the
	// task's owner is gone.
	var killed time.Time
	for n, w := range workers {
		if !ownerIsProcess(t, edb, k, w) {
			continue
		}
		w.kill(t)
		killed = time.Now()
		t.Logf("killed %s while it ran %s", n, k.state)
		break
	}
	if killed.IsZero() {
		t.Fatal("no worker process owns the running task")
	}
	took := edb.waitTaken(t, k, 60*time.Second).Sub(killed)
	t.Logf("PostgreSQL, two workers: the other worker took the %s task over %.2fs after the kill", k.state, took.Seconds())
	m := waitFinal(t, addr, id, 5*time.Minute)
	if m["status"] != "SUCCEEDED" {
		t.Fatalf("media %s ended %v: %v %v", id, m["status"], m["error"], m["cause"])
	}
	if took > 10*time.Second {
		t.Fatalf("takeover took %v, want within 10s", took)
	}
}

// ownerIsProcess reports whether worker process w runs task k, by the
// worker id it logged at start.
func ownerIsProcess(t *testing.T, edb *engineDB, k taskRow, w *serveProc) bool {
	t.Helper()
	log, err := os.ReadFile(w.cmd.Stdout.(*os.File).Name())
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Contains(log, []byte(k.owner))
}
