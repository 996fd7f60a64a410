package webui

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

type requestCase struct {
	Name         string            `json:"name"`
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	Header       map[string]string `json:"header"`
	Status       int               `json:"status"`
	ContentType  string            `json:"content_type"`
	CacheControl string            `json:"cache_control"`
	Location     string            `json:"location"`
	Allow        string            `json:"allow"`
	Encoding     string            `json:"content_encoding"`
	Vary         string            `json:"vary"`
	ETag         string            `json:"etag"`
	BodyContains string            `json:"body_contains"`
	EmptyBody    bool              `json:"empty_body"`
}

// hashRef replaces {hash:NAME} in a case with that asset's current hash.
var hashRef = regexp.MustCompile(`\{hash:([^}]+)\}`)

func expandHashes(t *testing.T, s string) string {
	return hashRef.ReplaceAllStringFunc(s, func(m string) string {
		name := hashRef.FindStringSubmatch(m)[1]
		a := defaultSite.assets[name]
		if a == nil {
			t.Fatalf("testdata names asset %q, which is not embedded", name)
		}
		return a.hash
	})
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("testdata/%s: %v", name, err)
	}
}

func TestHandler(t *testing.T) {
	t.Parallel()
	var cases []requestCase
	readJSON(t, "requests.json", &cases)
	h := Handler()
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.Method, expandHashes(t, c.Path), nil)
			for k, v := range c.Header {
				r.Header.Set(k, expandHashes(t, v))
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			res := w.Result()
			body := w.Body.String()
			if res.StatusCode != c.Status {
				t.Fatalf("%s %s: status %d, want %d; body %q", c.Method, c.Path, res.StatusCode, c.Status, body)
			}
			check := func(header, want string) {
				if got := res.Header.Get(header); want != "" && got != want {
					t.Errorf("%s: %q, want %q", header, got, want)
				}
			}
			check("Content-Type", c.ContentType)
			check("Cache-Control", c.CacheControl)
			check("Location", c.Location)
			check("Allow", c.Allow)
			check("Vary", c.Vary)
			check("ETag", expandHashes(t, c.ETag))
			if got := res.Header.Get("Content-Encoding"); got != c.Encoding {
				t.Errorf("Content-Encoding: %q, want %q", got, c.Encoding)
			}
			if c.Encoding == "gzip" && res.StatusCode == http.StatusOK && c.Method == http.MethodGet {
				zr, err := gzip.NewReader(strings.NewReader(body))
				if err != nil {
					t.Fatalf("gzip body: %v", err)
				}
				plain, err := io.ReadAll(zr)
				if err != nil {
					t.Fatalf("gzip body: %v", err)
				}
				body = string(plain)
				name := strings.TrimPrefix(strings.SplitN(r.URL.Path, "?", 2)[0], Prefix)
				if name == "" {
					name = "index.html"
				}
				if !bytes.Equal(plain, defaultSite.assets[name].body) {
					t.Errorf("gzip body does not decompress to %s", name)
				}
			}
			if c.BodyContains != "" && !strings.Contains(body, c.BodyContains) {
				t.Errorf("body does not contain %q:\n%.300s", c.BodyContains, body)
			}
			if c.EmptyBody && body != "" {
				t.Errorf("body %.100q, want none", body)
			}
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("X-Content-Type-Options: %q, want nosniff", res.Header.Get("X-Content-Type-Options"))
			}
			if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("Content-Security-Policy: %q, want same-origin only", csp)
			}
			if res.StatusCode == http.StatusOK && res.Header.Get("ETag") == "" {
				t.Error("no ETag on a served asset")
			}
		})
	}
}

// refs are the relative references of the files the browser loads:
// attributes in HTML, imports in JavaScript, url() in CSS.
var (
	htmlRef = regexp.MustCompile(`\b(?:src|href)="([^"#]*)"`)
	jsRef   = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?\bfrom\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)`)
	cssRef  = regexp.MustCompile(`url\(\s*['"]?([^'")]+)`)
)

func serve(t *testing.T, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", target, w.Code, w.Body)
	}
	return w
}

// TestReferencesExist follows every reference from the served index.html
// (and onward from the scripts and stylesheets it loads) and fetches it
// through the handler.
func TestReferencesExist(t *testing.T) {
	t.Parallel()
	index := serve(t, Prefix).Body.String()
	var refs []string
	for _, m := range htmlRef.FindAllStringSubmatch(index, -1) {
		ref := m[1]
		if strings.HasPrefix(ref, "../") || ref == "" {
			continue // the API beside the UI (openapi.json), not an asset
		}
		name, query, _ := strings.Cut(ref, "?")
		a := defaultSite.assets[path.Clean(name)]
		if a == nil {
			t.Errorf("index.html refers to %q, which is not embedded (have %v)", ref, Assets())
			continue
		}
		if query != "v="+a.hash {
			t.Errorf("index.html refers to %q without its version v=%s", ref, a.hash)
		}
		w := serve(t, Prefix+ref)
		if got := w.Header().Get("Cache-Control"); !strings.Contains(got, "immutable") {
			t.Errorf("%s: Cache-Control %q, want immutable for a versioned asset", ref, got)
		}
		refs = append(refs, name)
	}
	for _, want := range []string{"app.js", "app.css", "icon.svg"} {
		if !slices.Contains(refs, want) {
			t.Errorf("index.html does not load %s (loads %v)", want, refs)
		}
	}
	seen := map[string]bool{}
	for len(refs) > 0 {
		name := refs[0]
		refs = refs[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		var next []string
		body := string(defaultSite.assets[name].body)
		switch path.Ext(name) {
		case ".js":
			for _, m := range jsRef.FindAllStringSubmatch(body, -1) {
				next = append(next, m[1]+m[2])
			}
		case ".css":
			for _, m := range cssRef.FindAllStringSubmatch(body, -1) {
				if !strings.HasPrefix(m[1], "data:") {
					next = append(next, m[1])
				}
			}
		}
		for _, ref := range next {
			target := path.Join(path.Dir(name), ref)
			if defaultSite.assets[target] == nil {
				t.Errorf("%s refers to %q, which is not embedded", name, ref)
				continue
			}
			serve(t, Prefix+target)
			refs = append(refs, target)
		}
	}
	if !seen["lib.js"] {
		t.Error("lib.js is not reached from index.html through app.js")
	}
}

// TestNoOtherHosts makes sure the UI loads nothing from other hosts: no
// absolute http(s) URLs and no protocol-relative references in any asset.
// The SVG namespace is a name, not a request, and is allowed as xmlns.
func TestNoOtherHosts(t *testing.T) {
	t.Parallel()
	abs := regexp.MustCompile(`(?i)https?://[^\s"'<>)]*`)
	protoRel := regexp.MustCompile(`(?i)(?:src|href|action)\s*=\s*["']//|url\(\s*['"]?//|from\s+["']//|fetch\(\s*["'\x60]//`)
	for name, a := range defaultSite.assets {
		body := string(a.body)
		for _, loc := range abs.FindAllStringIndex(body, -1) {
			u := body[loc[0]:loc[1]]
			if u == "http://www.w3.org/2000/svg" && strings.HasSuffix(body[:loc[0]], `xmlns="`) {
				continue
			}
			t.Errorf("%s: absolute URL %q (line %d): assets may refer to the same origin only", name, u, strings.Count(body[:loc[0]], "\n")+1)
		}
		if m := protoRel.FindStringIndex(body); m != nil {
			t.Errorf("%s: protocol-relative reference %q (line %d)", name, body[m[0]:m[1]], strings.Count(body[:m[0]], "\n")+1)
		}
	}
}

// TestNoInlineCode keeps index.html within the Content-Security-Policy: no
// inline scripts, event handler attributes or style attributes, and no
// style attributes written by the scripts either.
func TestNoInlineCode(t *testing.T) {
	t.Parallel()
	index := string(defaultSite.assets["index.html"].body)
	bad := map[string]*regexp.Regexp{
		"inline script":           regexp.MustCompile(`<script\b[^>]*>\s*[^<\s]`),
		"event handler attribute": regexp.MustCompile(`\son[a-z]+\s*=`),
		"style attribute":         regexp.MustCompile(`\sstyle\s*=`),
		"style element":           regexp.MustCompile(`<style\b`),
	}
	for what, re := range bad {
		if m := re.FindString(index); m != "" {
			t.Errorf("index.html has an %s (%q), which the Content-Security-Policy blocks", what, m)
		}
	}
	for _, tag := range regexp.MustCompile(`<script\b[^>]*>`).FindAllString(index, -1) {
		if !strings.Contains(tag, " src=") {
			t.Errorf("index.html has a script without src (%q), which the Content-Security-Policy blocks", tag)
		}
	}
	for name, a := range defaultSite.assets {
		if path.Ext(name) == ".js" && regexp.MustCompile(`setAttribute\(\s*"style"|\bstyle:\s*"|cssText`).Match(a.body) {
			t.Errorf("%s writes a style attribute, which the Content-Security-Policy blocks; set el.style properties", name)
		}
	}
}

func nodeOrSkip(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: JavaScript checks skipped")
	}
	return node
}

// TestJavaScriptSyntax runs node --check on every script as an ES module.
func TestJavaScriptSyntax(t *testing.T) {
	t.Parallel()
	node := nodeOrSkip(t)
	dir := t.TempDir()
	n := 0
	for name, a := range defaultSite.assets {
		if path.Ext(name) != ".js" {
			continue
		}
		n++
		f := filepath.Join(dir, strings.ReplaceAll(strings.TrimSuffix(name, ".js"), "/", "_")+".mjs")
		if err := os.WriteFile(f, a.body, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, "--check", f).CombinedOutput(); err != nil {
			t.Errorf("static/%s: %v\n%s", name, err, out)
		}
	}
	if n < 2 {
		t.Fatalf("checked %d scripts, want app.js and lib.js at least", n)
	}
}

// TestLib runs the UI's pure helpers under node against the cases in
// testdata/lib_cases.json.
func TestLib(t *testing.T) {
	t.Parallel()
	node := nodeOrSkip(t)
	var cases []struct {
		Name string          `json:"name"`
		Fn   string          `json:"fn"`
		Args json.RawMessage `json:"args"`
		Want json.RawMessage `json:"want"`
	}
	readJSON(t, "lib_cases.json", &cases)
	dir := t.TempDir()
	harness, err := os.ReadFile(filepath.Join("testdata", "run_lib.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"lib.mjs": defaultSite.assets["lib.js"].body, "run_lib.mjs": harness} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	casesPath, err := filepath.Abs(filepath.Join("testdata", "lib_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, filepath.Join(dir, "run_lib.mjs"), casesPath, filepath.Dir(casesPath))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Name  string          `json:"name"`
		Got   json.RawMessage `json:"got"`
		Error string          `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	if len(results) != len(cases) {
		t.Fatalf("%d results for %d cases", len(results), len(cases))
	}
	for i, c := range cases {
		r := results[i]
		if r.Error != "" {
			t.Errorf("%s: %s(%s) threw: %s", c.Name, c.Fn, c.Args, r.Error)
			continue
		}
		var got, want any
		if err := json.Unmarshal(r.Got, &got); err != nil {
			t.Fatalf("%s: result %s: %v", c.Name, r.Got, err)
		}
		if err := json.Unmarshal(c.Want, &want); err != nil {
			t.Fatalf("%s: want %s: %v", c.Name, c.Want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %s(%s) = %s, want %s", c.Name, c.Fn, c.Args, r.Got, c.Want)
		}
	}
}

// TestLoadVersionsReferences checks the rewriting of index.html on a small
// file system: embedded references get ?v=hash, others are left alone.
func TestLoadVersionsReferences(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{
		"index.html": {Data: []byte(`<link href="a.css"><script src="js/b.js"></script><a href="index.html">x</a><img src="missing.png"><a href="../openapi.json">api</a>`)},
		"a.css":      {Data: []byte("body{}")},
		"js/b.js":    {Data: []byte("1")},
	}
	s, err := load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := `<link href="a.css?v=` + s.assets["a.css"].hash + `"><script src="js/b.js?v=` + s.assets["js/b.js"].hash +
		`"></script><a href="index.html">x</a><img src="missing.png"><a href="../openapi.json">api</a>`
	if got := string(s.assets["index.html"].body); got != want {
		t.Errorf("index.html:\n got %s\nwant %s", got, want)
	}
	if s.assets["a.css"].hash == s.assets["js/b.js"].hash {
		t.Error("different files have the same hash")
	}
	var names []string
	_ = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, _ error) error {
		if !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if len(s.assets) != len(names) {
		t.Errorf("loaded %d assets, want %d", len(s.assets), len(names))
	}
}

// FuzzHandler sends arbitrary methods and paths: the handler never panics,
// answers only with the statuses it documents, and serves a file's bytes
// only for that file's own path.
func FuzzHandler(f *testing.F) {
	for _, p := range []string{"/ui/", "/ui", "/ui/app.js", "/ui/../x", "/ui//app.js", "/ui/static/app.js", "/", "/ui/app.js?v=1", "/ui/%2e%2e/"} {
		f.Add("GET", p)
	}
	f.Add("HEAD", "/ui/app.css")
	f.Add("POST", "/ui/")
	h := Handler()
	f.Fuzz(func(t *testing.T, method, target string) {
		if len(target) > 512 || !strings.HasPrefix(target, "/") {
			return
		}
		if _, err := http.NewRequest(method, "http://x"+target, nil); err != nil {
			return
		}
		r := httptest.NewRequest("GET", "/", nil)
		r2, err := http.NewRequest(method, "http://x"+target, nil)
		if err != nil {
			return
		}
		r.Method, r.URL, r.RequestURI = r2.Method, r2.URL, target
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			rest := strings.TrimPrefix(r.URL.Path, Prefix)
			if rest == "" {
				rest = "index.html"
			}
			a := defaultSite.assets[rest]
			if a == nil || !strings.HasPrefix(r.URL.Path, Prefix) {
				t.Fatalf("%s %q: 200 for a path that is no asset", method, target)
			}
			if method == http.MethodGet && !bytes.Equal(w.Body.Bytes(), a.body) {
				t.Fatalf("%s %q: body is not %s", method, target, rest)
			}
		case http.StatusMovedPermanently, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("%s %q: unexpected status %d", method, target, w.Code)
		}
	})
}

// BenchmarkHandler serves index.html and a versioned script, the two
// requests of every page load (figures are rough on a shared machine).
func BenchmarkHandler(b *testing.B) {
	h := Handler()
	for _, target := range []string{Prefix, Prefix + "app.js?v=" + defaultSite.assets["app.js"].hash} {
		b.Run(strings.Trim(strings.SplitN(target, "?", 2)[0], "/"), func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
			}
		})
	}
}

// FuzzLib feeds arbitrary strings to the UI's helpers that read outside
// data (snippets, location hashes, history events, transcripts) in one
// long-lived node process per fuzz worker, which checks their invariants:
// no markup survives escaping, marks are balanced, routes parse to a known
// page and their queries round-trip, history and transcript readers never
// throw and stay within their input.
func FuzzLib(f *testing.F) {
	node, err := exec.LookPath("node")
	if err != nil {
		f.Skip("node is not installed: JavaScript fuzzing skipped")
	}
	dir := f.TempDir()
	script, err := os.ReadFile(filepath.Join("testdata", "fuzz_lib.mjs"))
	if err != nil {
		f.Fatal(err)
	}
	for name, b := range map[string][]byte{"lib.mjs": defaultSite.assets["lib.js"].body, "fuzz_lib.mjs": script} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	var cases []struct {
		Args []json.RawMessage `json:"args"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "lib_cases.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		for _, a := range c.Args {
			var s string
			if json.Unmarshal(a, &s) == nil {
				f.Add(s)
			} else {
				f.Add(string(a))
			}
		}
	}
	for _, name := range []string{"history_succeeded.json", "history_failed.json", "api/transcript_med_audio.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`[{"id":1,"previousEventId":2,"type":"TaskStateEntered"},{"id":2,"previousEventId":1,"type":"TaskStateExited"}]`)

	cmd := exec.Command(node, filepath.Join(dir, "fuzz_lib.mjs"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		f.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		f.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		stdin.Close()
		_ = cmd.Wait()
	})
	replies := bufio.NewReader(stdout)
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		line, _ := json.Marshal(s)
		if _, err := stdin.Write(append(line, '\n')); err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		reply, err := replies.ReadBytes('\n')
		if err != nil {
			t.Fatalf("node: %v\n%s", err, stderr.String())
		}
		var out string
		if err := json.Unmarshal(reply, &out); err != nil {
			t.Fatalf("node reply %q: %v", reply, err)
		}
		if out != "ok" {
			t.Fatalf("input %q: %s", s, out)
		}
	})
}
