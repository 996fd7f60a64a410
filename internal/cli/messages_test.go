package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/landfall/landfall/errcode"
)

// TestMessages runs the cases in testdata/messages/cases.json: what the
// command line says when it is used wrongly, and what to do next.
func TestMessages(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "messages", "cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Name     string   `json:"name"`
		Args     []string `json:"args"`
		Env      map[string]string
		Code     int      `json:"code"`
		Stdout   *string  `json:"stdout"`
		Stderr   []string `json:"stderr"`
		Lacks    []string `json:"stderr_lacks"`
		MaxLines int      `json:"stderr_max_lines"`
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join("testdata", "messages"))
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			var out, errb bytes.Buffer
			env := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return c.Env[k] }}
			code := RunEnv(context.Background(), env, c.Args)
			if code != c.Code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, c.Code, out.String(), errb.String())
			}
			if c.Stdout != nil && out.String() != *c.Stdout {
				t.Errorf("stdout:\n%s\nwant:\n%s", out.String(), *c.Stdout)
			}
			for _, want := range c.Stderr {
				if !strings.Contains(errb.String(), want) {
					t.Errorf("stderr does not contain %q:\n%s", want, errb.String())
				}
			}
			for _, bad := range c.Lacks {
				if strings.Contains(errb.String(), bad) {
					t.Errorf("stderr contains %q:\n%s", bad, errb.String())
				}
			}
			if n := strings.Count(errb.String(), "\n"); c.MaxLines > 0 && n > c.MaxLines {
				t.Errorf("stderr has %d lines, want at most %d:\n%s", n, c.MaxLines, errb.String())
			}
		})
	}
}

// fakeServer answers the routes the messages need: an API key check, one
// search hit and its media record.
func fakeServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"title":"Unauthorized","status":401,"code":"Unauthenticated","detail":"an API key is required"}`)
			return
		}
		switch r.URL.Path {
		case "/v1/search":
			fmt.Fprint(w, `{"query":"harbour","hits":[{"media_id":"m1","source":"transcript","snippet":"the harbour opens","start":75},{"media_id":"m1","source":"summary","snippet":"Harbour Day."}]}`)
		case "/v1/media/m1":
			fmt.Fprint(w, `{"id":"m1","filename":"harbour-day.mp4","status":"SUCCEEDED"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestUnauthenticatedNamesTheKeyFlag(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	code, _, stderr := run(t, "", "media", "list", "--server", srv.URL)
	if code != ExitFailure || !strings.Contains(stderr, "Unauthenticated") ||
		!strings.Contains(stderr, "--api-key KEY or LANDFALL_API_KEY") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestSearchShowsFileNames(t *testing.T) {
	t.Parallel()
	srv := fakeServer(t)
	code, stdout, stderr := run(t, "", "media", "search", "--server", srv.URL, "--api-key", "good", "harbour")
	if code != 0 {
		t.Fatalf("code %d: %s", code, stderr)
	}
	want := "harbour-day.mp4  transcript  1:15  the harbour opens  m1\nharbour-day.mp4  summary           Harbour Day.       m1\n"
	if stdout != want {
		t.Fatalf("stdout:\n%q\nwant:\n%q", stdout, want)
	}
}

func TestServeSaysThePortIsInUse(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	// A bare port means 127.0.0.1:PORT.
	code, _, stderr := run(t, "", "serve", "--data", t.TempDir(), "--addr", port)
	if code != ExitFailure || !strings.Contains(stderr, "127.0.0.1:"+port+" is already in use") ||
		!strings.Contains(stderr, "another landfall serve") || !strings.Contains(stderr, "--addr") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

func TestKeysCreateForAnUnknownTenantSaysHowToCreateIt(t *testing.T) {
	t.Parallel()
	code, _, stderr := run(t, "", "keys", "create", "--tenant", "acme", "--data", filepath.Join(t.TempDir(), "fresh"))
	if code != ExitFailure || !strings.Contains(stderr, "landfall tenants create acme") {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
}

// A data folder that cannot be written is named, with --data as the way
// out (tested on the error, since root may write anywhere).
func TestReadOnlyDataFolderIsNamed(t *testing.T) {
	t.Parallel()
	pe := &fs.PathError{Op: "open", Path: "/srv/landfall/.landfall/bucket/.signing-key", Err: syscall.EACCES}
	err := errcode.Wrap(errcode.Unavailable, pe, "fileblob: signing key")
	var b bytes.Buffer
	printHint(&b, err)
	if !strings.Contains(b.String(), "/srv/landfall/.landfall/bucket is not writable") || !strings.Contains(b.String(), "--data DIR") {
		t.Fatalf("hint %q", b.String())
	}
	b.Reset()
	printHint(&b, errcode.New(errcode.Unavailable, "catalog: open sqlite /x/landfall.db: attempt to write a readonly database (1544)"))
	if !strings.Contains(b.String(), "the data folder is not writable") {
		t.Fatalf("hint %q", b.String())
	}
	msg := explainDataError("/srv/landfall/.landfall", err).Error()
	if !strings.Contains(msg, "the data folder /srv/landfall/.landfall (or a file in it) is not writable") || !strings.Contains(msg, "--data DIR") {
		t.Fatalf("message %q", msg)
	}
}
