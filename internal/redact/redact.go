// Package redact removes this machine's folders from texts that users
// see: failure causes, problem details, events and execution history.
//
// A Redactor knows the installation's roots (the data folder, the work
// folder, a file bucket's folder, the temporary folder) and rewrites every
// absolute path under one of them to a name that means something without
// the machine: a file bucket's path becomes the object key, a work file
// its name inside the media item's work folder. It is applied once, where
// a text leaves the process's own code, not in each producer.
package redact

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Root is a folder whose paths are rewritten.
type Root struct {
	// Dir is an absolute folder.
	Dir string
	// Name replaces Dir itself when it appears without a file under it
	// ("the work folder"); empty means "<redacted>".
	Name string
	// Skip drops this many leading elements of the path below Dir (the
	// work folder's <tenant>/<media id>/), keeping at least the last one.
	Skip int
	// Prefix is put before what remains ("" keeps the relative name).
	Prefix string
}

// Redactor rewrites paths under its roots. The zero value and nil rewrite
// nothing.
type Redactor struct {
	roots []Root
}

// New returns a Redactor for roots. Relative and empty folders are
// ignored; a folder reached through symbolic links is matched by both its
// given and its resolved form. Longer folders are matched first, so a
// bucket inside the data folder gives object keys.
func New(roots ...Root) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(rt Root) {
		rt.Dir = strings.TrimRight(rt.Dir, string(filepath.Separator))
		if rt.Dir == "" || !filepath.IsAbs(rt.Dir+string(filepath.Separator)) || seen[rt.Dir] {
			return
		}
		seen[rt.Dir] = true
		r.roots = append(r.roots, rt)
	}
	for _, rt := range roots {
		if rt.Dir == "" {
			continue
		}
		rt.Dir = filepath.Clean(rt.Dir)
		if !filepath.IsAbs(rt.Dir) || rt.Dir == string(filepath.Separator) {
			continue
		}
		add(rt)
		if real, err := filepath.EvalSymlinks(rt.Dir); err == nil && real != rt.Dir {
			rr := rt
			rr.Dir = real
			add(rr)
		}
	}
	sort.SliceStable(r.roots, func(i, j int) bool { return len(r.roots[i].Dir) > len(r.roots[j].Dir) })
	return r
}

// Default returns roots every process has: the temporary folder and the
// home folder, both rewritten to the file's base name.
func Default() []Root {
	roots := []Root{{Dir: os.TempDir(), Name: "a temporary folder", Skip: 1 << 20}}
	if h, err := os.UserHomeDir(); err == nil {
		roots = append(roots, Root{Dir: h, Name: "a home folder", Skip: 1 << 20})
	}
	return roots
}

// String returns s with every path under a root rewritten.
func (r *Redactor) String(s string) string {
	if r == nil || len(r.roots) == 0 {
		return s
	}
	for _, rt := range r.roots {
		if strings.Contains(s, rt.Dir) {
			s = rt.rewrite(s)
		}
	}
	return s
}

// rewrite replaces each occurrence of rt.Dir that starts a path (it is
// not the tail of a longer path) in s.
func (rt Root) rewrite(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, rt.Dir)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(rt.Dir)
		// "/data/work" inside "/x/data/work" or "/data/workshop" is not
		// this root.
		if i > 0 && !boundary(s[i-1]) || end < len(s) && s[end] != filepath.Separator && !terminator(s[end]) {
			b.WriteString(s[:end])
			s = s[end:]
			continue
		}
		b.WriteString(s[:i])
		if end == len(s) || s[end] != filepath.Separator {
			name := rt.Name
			if name == "" {
				name = "<redacted>"
			}
			b.WriteString(name)
			s = s[end:]
			continue
		}
		j := end + 1
		for j < len(s) && !terminator(s[j]) {
			j++
		}
		b.WriteString(rt.relative(s[end+1 : j]))
		s = s[j:]
	}
}

// relative is what a path below the root becomes.
func (rt Root) relative(rel string) string {
	parts := strings.Split(strings.Trim(rel, "/"), "/")
	skip := rt.Skip
	if skip > len(parts)-1 {
		skip = len(parts) - 1
	}
	if skip < 0 {
		skip = 0
	}
	return rt.Prefix + strings.Join(parts[skip:], "/")
}

// boundary reports whether c may come right before a path.
func boundary(c byte) bool { return c != filepath.Separator && !isPathByte(c) }

// terminator reports whether c ends a path in running text: white space,
// quotes, brackets and the punctuation tools put after a file name.
func terminator(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', '`', ',', ';', ':', ')', ']', '}', '>', '<', '(', '[', '{', '|', '\\', '=':
		return true
	}
	return c < 0x20
}

func isPathByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c >= 0x80
}
