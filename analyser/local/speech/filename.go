package speech

import (
	"path"
	"strings"
	"unicode"
)

// FilenameWords are the words a file's name says ("Kubernetes
// operators - lecture 3.mp4" → "Kubernetes operators lecture"), for the
// media_text option: separators become spaces, camelCase splits, and
// parts holding digits (camera counters, ids, bit rates), shorter than
// three letters, made of hexadecimal letters only, or naming a file
// rather than its content ("IMG", "recording") are left out.
func FilenameWords(name string) string {
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if ext := path.Ext(name); ext != "" && len(ext) <= 6 {
		name = strings.TrimSuffix(name, ext)
	}
	var words []string
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' }) {
		for _, w := range splitCamel(part) {
			letters, digits := 0, 0
			for _, r := range w {
				switch {
				case unicode.IsLetter(r):
					letters++
				case unicode.IsDigit(r):
					digits++
				}
			}
			if digits == 0 && letters >= 3 && !hexLike(w) && !cameraPrefixes[strings.ToLower(w)] {
				words = append(words, w)
			}
		}
	}
	return strings.Join(words, " ")
}

// cameraPrefixes start the names cameras and phones give files.
var cameraPrefixes = map[string]bool{"img": true, "mvi": true, "dsc": true, "dscn": true, "dscf": true, "dcim": true,
	"vid": true, "mov": true, "pxl": true, "gopr": true, "wav": true, "mp4": true, "audio": true, "video": true, "recording": true}

// splitCamel splits "MediaPipelines" into "Media" and "Pipelines", and
// keeps "AWS" or "iPhone" whole.
func splitCamel(s string) []string {
	rs := []rune(s)
	var out []string
	start := 0
	for i := 1; i < len(rs); i++ {
		if unicode.IsUpper(rs[i]) && unicode.IsLower(rs[i-1]) && i-start > 1 {
			out = append(out, string(rs[start:i]))
			start = i
		}
	}
	return append(out, string(rs[start:]))
}

// hexLike reports a word of eight or more hexadecimal letters, likely
// part of an id ("deadbeef").
func hexLike(w string) bool {
	if len(w) < 8 {
		return false
	}
	for _, r := range strings.ToLower(w) {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
