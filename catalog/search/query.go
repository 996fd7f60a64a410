package search

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
)

// Filters are the field:value parts of a query.
type Filters struct {
	Fields  []string  `json:"fields,omitempty"`  // field: / in:
	Speaker string    `json:"speaker,omitempty"` // speaker:spk_0 or speaker:"Speaker 1"
	Kind    string    `json:"kind,omitempty"`    // kind:video
	Label   string    `json:"label,omitempty"`   // label:car (media with that label)
	Entity  string    `json:"entity,omitempty"`  // entity:"Ada Lovelace" (media mentioning it)
	MediaID string    `json:"media_id,omitempty"`
	File    string    `json:"file,omitempty"` // file:lecture (file name contains)
	Since   time.Time `json:"since,omitzero"` // after: / since:
	Until   time.Time `json:"until,omitzero"` // before: / until:
}

// fieldAliases maps the names users type to index fields.
var fieldAliases = map[string]string{
	"transcript": catalog.FieldTranscript, "speech": catalog.FieldTranscript, "said": catalog.FieldTranscript, "spoken": catalog.FieldTranscript,
	"ocr": catalog.FieldOCR, "screen": catalog.FieldOCR, "slide": catalog.FieldOCR, "slides": catalog.FieldOCR, "text": catalog.FieldOCR, "onscreen": catalog.FieldOCR,
	"entity": catalog.FieldEntity, "entities": catalog.FieldEntity, "person": catalog.FieldEntity, "people": catalog.FieldEntity,
	"topic": catalog.FieldTopic, "topics": catalog.FieldTopic,
	"label": catalog.FieldLabel, "labels": catalog.FieldLabel, "object": catalog.FieldLabel,
	"moderation": catalog.FieldModeration,
	"chapter":    catalog.FieldChapter, "chapters": catalog.FieldChapter,
	"summary":  catalog.FieldSummary,
	"filename": catalog.FieldFilename, "name": catalog.FieldFilename,
}

// SplitFilters takes the field:value parts out of a query (value may be
// quoted) and returns the rest. Unknown names stay in the text, where
// ":" separates words. Bad values are errcode.Invalid naming the filter.
func SplitFilters(s string, now time.Time) (Filters, string, error) {
	var f Filters
	var rest strings.Builder
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) || r == '-' || r == '"' {
			if r == '"' { // copy a quoted phrase as it is
				end := strings.IndexByte(s[i+1:], '"')
				if end < 0 {
					rest.WriteString(s[i:])
					break
				}
				rest.WriteString(s[i : i+end+2])
				i += end + 2
				continue
			}
			rest.WriteRune(r)
			i += size
			continue
		}
		j := i
		for j < len(s) {
			r2, sz := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r2) || r2 == ':' || r2 == '"' {
				break
			}
			j += sz
		}
		name := strings.ToLower(s[i:j])
		if j < len(s) && s[j] == ':' && isFilter(name) {
			k := j + 1
			var val string
			if k < len(s) && s[k] == '"' {
				end := strings.IndexByte(s[k+1:], '"')
				if end < 0 {
					val, k = s[k+1:], len(s)
				} else {
					val, k = s[k+1:k+1+end], k+1+end+1
				}
			} else {
				e := k
				for e < len(s) {
					r2, sz := utf8.DecodeRuneInString(s[e:])
					if unicode.IsSpace(r2) {
						break
					}
					e += sz
				}
				val, k = s[k:e], e
			}
			if err := f.set(name, strings.TrimSpace(val), now); err != nil {
				return f, "", err
			}
			i = k
			continue
		}
		rest.WriteString(s[i:j])
		i = j
		if i < len(s) && s[i] == ':' {
			rest.WriteByte(' ')
			i++
		}
	}
	return f, strings.TrimSpace(rest.String()), nil
}

func isFilter(name string) bool {
	switch name {
	case "field", "in", "speaker", "kind", "label", "entity", "person", "media", "file", "after", "before", "since", "until", "date":
		return true
	}
	return false
}

func (f *Filters) set(name, val string, now time.Time) error {
	if val == "" {
		return errcode.New(errcode.Invalid, "search query: %s: has no value (write %s:value)", name, name)
	}
	switch name {
	case "field", "in":
		for _, v := range strings.Split(val, ",") {
			fl, ok := fieldAliases[strings.ToLower(strings.TrimSpace(v))]
			if !ok {
				return errcode.New(errcode.Invalid, "search query: %s:%s: not a field (fields: %s)", name, v, strings.Join(catalog.Fields, ", "))
			}
			f.Fields = append(f.Fields, fl)
		}
	case "speaker":
		f.Speaker = SpeakerLabel(val)
	case "kind":
		switch strings.ToLower(val) {
		case "audio", "video", "image":
			f.Kind = strings.ToLower(val)
		default:
			return errcode.New(errcode.Invalid, "search query: kind:%s: not audio, video or image", val)
		}
	case "label":
		f.Label = val
	case "entity", "person":
		f.Entity = val
	case "media":
		if err := catalog.ValidateID("media", val); err != nil {
			return errcode.New(errcode.Invalid, "search query: media:%s: not a media id", val)
		}
		f.MediaID = val
	case "file":
		f.File = strings.ToLower(val)
	case "after", "since":
		t, err := parseWhen(val, now)
		if err != nil {
			return errcode.New(errcode.Invalid, "search query: %s:%s: %v", name, val, err)
		}
		f.Since = t
	case "before", "until":
		t, err := parseWhen(val, now)
		if err != nil {
			return errcode.New(errcode.Invalid, "search query: %s:%s: %v", name, val, err)
		}
		f.Until = t
	case "date":
		t, err := time.Parse("2006-01-02", val)
		if err != nil {
			return errcode.New(errcode.Invalid, "search query: date:%s: want YYYY-MM-DD", val)
		}
		f.Since, f.Until = t, t.AddDate(0, 0, 1)
	}
	return nil
}

// parseWhen reads a date (YYYY-MM-DD), a time (RFC 3339) or an age before
// now (30m, 24h, 7d, 2w).
func parseWhen(v string, now time.Time) (time.Time, error) {
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if n := len(v); n >= 2 {
		num, err := strconv.Atoi(v[:n-1])
		if err == nil && num >= 0 && num < 100000 {
			switch v[n-1] {
			case 'm':
				return now.Add(-time.Duration(num) * time.Minute), nil
			case 'h':
				return now.Add(-time.Duration(num) * time.Hour), nil
			case 'd':
				return now.AddDate(0, 0, -num), nil
			case 'w':
				return now.AddDate(0, 0, -7*num), nil
			}
		}
	}
	return time.Time{}, errcode.New(errcode.Invalid, "want YYYY-MM-DD, an RFC 3339 time or an age such as 7d")
}

// SpeakerLabel turns what a user types for a speaker ("Speaker 2", "2",
// "spk_1") into the transcript's label ("spk_1").
func SpeakerLabel(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	l = strings.TrimPrefix(l, "speaker")
	l = strings.TrimSpace(strings.TrimPrefix(l, "_"))
	if n, err := strconv.Atoi(l); err == nil && n >= 1 {
		return "spk_" + strconv.Itoa(n-1)
	}
	return strings.TrimSpace(v)
}
