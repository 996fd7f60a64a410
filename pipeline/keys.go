package pipeline

import (
	"path"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// The bucket's areas. Every key Landfall reads or writes for media lies in
// one of them, below the tenant's folder:
//
//	incoming/<tenant>/<media id>.<ext>    an upload (named by its media id)
//	incoming/<tenant>/<name>              a file dropped into the bucket
//	processed/<tenant>/<media id>/<name>  the original and artefacts once done
//	work/<tenant>/<media id>/<name>       task results and shipped files
const (
	AreaIncoming  = "incoming"
	AreaProcessed = "processed"
	AreaWork      = "work"
)

// MaxKeyBytes bounds a key (S3's limit).
const MaxKeyBytes = 1024

// Key is a parsed bucket key of the media layout. Build keys with
// UploadKey, ProcessedKey and WorkKey and read them with ParseKey; nothing
// else in Landfall joins or splits these keys.
type Key struct {
	Area   string
	Tenant string
	// MediaID is the media id folder of processed/ and work/ keys, and the
	// id an upload's name carries (incoming/<t>/<id>.<ext>); empty for a
	// dropped file whose name is not a media id.
	MediaID string
	// Name is the slash-separated rest of the key: the object's name under
	// incoming/<tenant>/, the file under the media id folder otherwise.
	Name string
}

// String is the key in the bucket.
func (k Key) String() string {
	if k.Area == AreaIncoming {
		return k.Area + "/" + k.Tenant + "/" + k.Name
	}
	return k.Area + "/" + k.Tenant + "/" + k.MediaID + "/" + k.Name
}

// Uploaded reports whether an incoming key names its media id (an upload
// through the API), as opposed to a dropped file.
func (k Key) Uploaded() bool { return k.Area == AreaIncoming && k.MediaID != "" }

// Ext is the lower-cased extension of the key's last component, with the
// dot ("" when it has none).
func (k Key) Ext() string { return strings.ToLower(path.Ext(k.Name)) }

// Base is the key's last component.
func (k Key) Base() string { return path.Base(k.Name) }

var extRE = regexp.MustCompile(`^[a-z0-9]{1,8}$`)

// UploadKey is the key of an upload: incoming/<tenant>/<media id>.<ext>.
// ext is 1–8 of a-z and 0-9, without the dot.
func UploadKey(tenant, mediaID, ext string) (Key, error) {
	if !extRE.MatchString(ext) {
		return Key{}, errcode.New(errcode.Invalid, "extension %q: want 1–8 of a-z and 0-9", ext)
	}
	k := Key{Area: AreaIncoming, Tenant: tenant, MediaID: mediaID, Name: mediaID + "." + ext}
	return k, k.check()
}

// ProcessedKey is processed/<tenant>/<media id>/<name>.
func ProcessedKey(tenant, mediaID, name string) (Key, error) {
	k := Key{Area: AreaProcessed, Tenant: tenant, MediaID: mediaID, Name: name}
	return k, k.check()
}

// WorkKey is work/<tenant>/<media id>/<name>.
func WorkKey(tenant, mediaID, name string) (Key, error) {
	k := Key{Area: AreaWork, Tenant: tenant, MediaID: mediaID, Name: name}
	return k, k.check()
}

// TenantPrefixes are the key prefixes one tenant's media lives under.
func TenantPrefixes(tenant string) []string {
	return []string{AreaIncoming + "/" + tenant + "/", AreaProcessed + "/" + tenant + "/", AreaWork + "/" + tenant + "/"}
}

// ParseKey reads a key of the media layout. It refuses keys outside the
// three areas, tenant ids identity.CheckTenantID refuses, media id folders
// that are not media ids, and any component that is empty, "." or "..",
// or holds a backslash, NUL or another control character; and keys that
// are absolute, longer than MaxKeyBytes or not UTF-8. Errors are
// errcode.Invalid and name the key and what is wrong with it.
func ParseKey(key string) (Key, error) {
	if err := checkKeyText(key); err != nil {
		return Key{}, err
	}
	area, rest, _ := strings.Cut(key, "/")
	tenant, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return Key{}, badKey(key, "want <area>/<tenant>/<name>")
	}
	k := Key{Area: area, Tenant: tenant}
	switch area {
	case AreaIncoming:
		k.Name = rest
		if id, ext, ok := strings.Cut(rest, "."); ok && extRE.MatchString(ext) && CheckMediaID(id) == nil {
			k.MediaID = id
		}
	case AreaProcessed, AreaWork:
		id, name, ok := strings.Cut(rest, "/")
		if !ok {
			return Key{}, badKey(key, "want "+area+"/<tenant>/<media id>/<name>")
		}
		k.MediaID, k.Name = id, name
	default:
		return Key{}, badKey(key, "not under incoming/, processed/ or work/")
	}
	if err := k.check(); err != nil {
		return Key{}, err
	}
	return k, nil
}

// ParseIncoming reads a key under incoming/.
func ParseIncoming(key string) (Key, error) {
	k, err := ParseKey(key)
	if err != nil {
		return Key{}, err
	}
	if k.Area != AreaIncoming {
		return Key{}, badKey(key, "not under incoming/")
	}
	return k, nil
}

// check validates every part of k and that String gives a key ParseKey
// reads back as k.
func (k Key) check() error {
	s := k.String()
	if err := checkKeyText(s); err != nil {
		return err
	}
	switch k.Area {
	case AreaIncoming, AreaProcessed, AreaWork:
	default:
		return badKey(s, "area %q is not incoming, processed or work", k.Area)
	}
	if err := identity.CheckTenantID(k.Tenant); err != nil {
		return errcode.Wrap(errcode.Invalid, err, "key %q", s)
	}
	if k.Area != AreaIncoming || k.MediaID != "" {
		if err := CheckMediaID(k.MediaID); err != nil {
			return errcode.Wrap(errcode.Invalid, err, "key %q", s)
		}
	}
	if k.Area == AreaIncoming && k.MediaID != "" && !strings.HasPrefix(k.Name, k.MediaID+".") {
		return badKey(s, "an upload's name is <media id>.<ext>")
	}
	if k.Name == "" {
		return badKey(s, "no name after the folder")
	}
	for i, c := range strings.Split(k.Name, "/") {
		if err := checkComponent(c); err != nil {
			return badKey(s, "name component %d: %s", i, err.Error())
		}
	}
	return nil
}

func checkKeyText(key string) error {
	switch {
	case key == "":
		return errcode.New(errcode.Invalid, "key: empty")
	case len(key) > MaxKeyBytes:
		return badKey(key[:64]+"…", "%d bytes, at most %d", len(key), MaxKeyBytes)
	case !utf8.ValidString(key):
		return badKey(key, "not UTF-8")
	case strings.HasPrefix(key, "/"):
		return badKey(key, "absolute")
	}
	return nil
}

type componentError string

func (e componentError) Error() string { return string(e) }

// checkComponent checks one path component of a key or artefact name.
func checkComponent(c string) error {
	switch c {
	case "":
		return componentError("empty")
	case ".", "..":
		return componentError(`"` + c + `" is not a name`)
	}
	for _, r := range c {
		switch {
		case r == '\\':
			return componentError("holds a backslash")
		case r == 0:
			return componentError("holds NUL")
		case r < 0x20 || r == 0x7f:
			return componentError("holds a control character")
		case r == utf8.RuneError:
			return componentError("not UTF-8")
		}
	}
	return nil
}

// CheckRelPath checks a slash-separated relative path (an artefact's
// name): components as in keys, nothing absolute.
func CheckRelPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || !utf8.ValidString(p) {
		return errcode.New(errcode.Invalid, "path %q: want a relative slash-separated path", p)
	}
	for i, c := range strings.Split(p, "/") {
		if err := checkComponent(c); err != nil {
			return errcode.New(errcode.Invalid, "path %q: component %d: %v", p, i, err)
		}
	}
	return nil
}

func badKey(key, format string, args ...any) error {
	return errcode.New(errcode.Invalid, "key %q: "+format, append([]any{key}, args...)...)
}

// CheckMediaID checks a media id: a UUID in its canonical lower-case form,
// as catalog.NewMediaID and DroppedMediaID make them.
func CheckMediaID(id string) error {
	u, err := uuid.Parse(id)
	if err != nil || u.String() != id {
		return errcode.New(errcode.Invalid, "media id %q: want a lower-case UUID", id)
	}
	return nil
}

// droppedNamespace makes the media id of a dropped file deterministic.
var droppedNamespace = uuid.MustParse("6c1f8a2e-4f3b-4c8e-9d27-3b1e0f6a5d11")

// DroppedMediaID is the media id of an object no upload named: derived
// from its key and ETag, so the same object seen twice (by two watchers,
// by a watcher and the pipeline's register step, or by a notification
// delivered twice) is one media item. The ETag's quotes, which some
// stores and notifications carry and others do not, are ignored.
func DroppedMediaID(key, etag string) string {
	return uuid.NewSHA1(droppedNamespace, []byte(key+"\x00"+strings.Trim(etag, `"`))).String()
}

// MediaIDOf is the media id of an incoming object: the id an upload's
// name carries, else the dropped file's derived id. It is also the
// correlation id of the object's execution.
func MediaIDOf(k Key, etag string) string {
	if k.Uploaded() {
		return k.MediaID
	}
	return DroppedMediaID(k.String(), etag)
}
