// Package webui is Landfall's browser interface: a single-page app of plain
// HTML, CSS and JavaScript embedded in the binary and served under /ui/.
// It talks only to the JSON API of the same origin (/v1/…): the media list
// with uploads, search, the media detail page (player, transcript following
// playback, chapters, insights, exports) and the failures list with
// redrive. Nothing is fetched from other hosts and there is no build step:
// the files in static/ are what the browser runs.
//
// Text assets are also held gzip-compressed and sent so to clients that
// accept it (Vary: Accept-Encoding; the compressed form has its own ETag).
//
// Caching: index.html is served with "Cache-Control: no-cache" and refers to
// every other asset with a "?v=<content hash>" query that Handler writes in
// when the package loads. A request whose v matches the asset's current
// hash is cached for a year as immutable; any other request for an asset
// (no v, or an old one) is served with "no-cache" and a strong ETag, so a
// browser revalidates it. Every response carries a Content-Security-Policy
// that allows the same origin only.
package webui

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Prefix is the path the UI is served under.
const Prefix = "/ui/"

//go:embed static
var staticFS embed.FS

// contentTypes are the types of the files the UI ships, set explicitly so
// they do not depend on the host's MIME tables.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
	".json": "application/json",
	".txt":  "text/plain; charset=utf-8",
	".ico":  "image/x-icon",
	".png":  "image/png",
}

// csp allows the same origin only. Media and images may also come from
// blob: URLs (local previews); inline scripts and styles are not allowed.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file, ready to serve.
type asset struct {
	name  string // path under static/, e.g. "app.js"
	body  []byte
	ctype string
	hash  string // first 16 hex digits of the SHA-256 of body
	etag  string
	// gz is body compressed with gzip, for text types when that is
	// smaller; it has its own ETag.
	gz     []byte
	gzEtag string
}

// site is the set of assets served by Handler.
type site struct {
	assets map[string]*asset
}

// attrRef matches a relative src or href attribute value in index.html.
var attrRef = regexp.MustCompile(`\b(src|href)="([A-Za-z0-9_./-]+)"`)

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])[:16]
	ct := contentTypes[path.Ext(name)]
	if ct == "" {
		ct = "application/octet-stream"
	}
	a := &asset{name: name, body: body, ctype: ct, hash: h, etag: `"` + h + `"`}
	if strings.HasPrefix(ct, "text/") || ct == "image/svg+xml" || ct == "application/json" {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if b.Len() < len(body) {
			a.gz, a.gzEtag = b.Bytes(), `"`+h+`-gz"`
		}
	}
	return a
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip (a
// "gzip" or "*" coding whose q is not 0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		return q > 0
	}
	return false
}

// load reads the embedded files and versions index.html's references.
func load(fsys fs.FS) (*site, error) {
	s := &site{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		s.assets[p] = newAsset(p, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if idx := s.assets["index.html"]; idx != nil {
		body := attrRef.ReplaceAllFunc(idx.body, func(m []byte) []byte {
			sub := attrRef.FindSubmatch(m)
			a := s.assets[path.Clean(string(sub[2]))]
			if a == nil || a.name == "index.html" {
				return m
			}
			return []byte(string(sub[1]) + `="` + string(sub[2]) + "?v=" + a.hash + `"`)
		})
		s.assets["index.html"] = newAsset("index.html", body)
	}
	return s, nil
}

var defaultSite = func() *site {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic("webui: " + err.Error())
	}
	s, err := load(sub)
	if err != nil {
		panic("webui: " + err.Error())
	}
	return s
}()

// Handler serves the UI under /ui/: GET and HEAD of /ui/ (index.html) and
// of the assets beside it. /ui redirects to /ui/; other methods get 405;
// unknown files get 404. Mount it at "/ui/" (and "/ui" if the mux does not
// redirect by itself).
func Handler() http.Handler { return defaultSite }

// Assets lists the embedded files' names (for tests and diagnostics).
func Assets() []string {
	names := make([]string, 0, len(defaultSite.assets))
	for n := range defaultSite.assets {
		names = append(names, n)
	}
	return names
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	if strings.HasPrefix(r.URL.Path, Prefix+"live-view.") {
		// The live caption viewer is made to be embedded in other sites'
		// pages; it still talks to this origin only.
		h.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'", "frame-ancestors *", 1))
	} else {
		h.Set("Content-Security-Policy", csp)
	}
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		target := Prefix
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Error(w, "not found: the web UI is served under "+Prefix, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: the web UI is read-only (GET, HEAD)", http.StatusMethodNotAllowed)
		return
	}
	if rest == "" {
		rest = "index.html"
	}
	a := s.assets[rest]
	if a == nil || strings.Contains(rest, "..") || strings.HasPrefix(rest, "/") {
		http.Error(w, "not found: "+r.URL.Path+" is not part of the web UI", http.StatusNotFound)
		return
	}
	h.Set("Content-Type", a.ctype)
	body, etag := a.body, a.etag
	if a.gz != nil {
		h.Set("Vary", "Accept-Encoding")
		// Ranges are served from the identity body, so their offsets mean
		// the same thing for every client.
		if r.Header.Get("Range") == "" && acceptsGzip(r.Header.Get("Accept-Encoding")) {
			body, etag = a.gz, a.gzEtag
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("ETag", etag)
	switch {
	case a.name == "index.html":
		h.Set("Cache-Control", "no-cache")
	case r.URL.Query().Get("v") == a.hash:
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	default:
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, a.name, time.Time{}, bytes.NewReader(body))
}

var _ http.Handler = (*site)(nil)
