package pipeline

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/identity"
)

// Workdirs are the media items' scratch folders on this machine, under
// Root: <root>/<tenant>/<media id>.
type Workdirs struct{ Root string }

// Dir returns (and creates) the work folder of one media item. It is built
// from a checked tenant id and media id only, and the result is checked to
// lie under the root: no input can name a folder elsewhere.
func (w Workdirs) Dir(tenant, mediaID string) (string, error) {
	if err := identity.CheckTenantID(tenant); err != nil {
		return "", errcode.Wrap(errcode.ForbiddenReference, err, "work folder")
	}
	if err := CheckMediaID(mediaID); err != nil {
		return "", errcode.Wrap(errcode.ForbiddenReference, err, "work folder")
	}
	dir, err := within(w.Root, filepath.Join(tenant, mediaID))
	if err != nil {
		return "", err
	}
	return dir, os.MkdirAll(dir, 0o755)
}

// within joins rel (a relative, OS-separated path) to root and checks the
// result stays below root.
func within(root, rel string) (string, error) {
	root = filepath.Clean(root)
	p := filepath.Join(root, rel)
	r, err := filepath.Rel(root, p)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) || filepath.IsAbs(r) {
		return "", errcode.New(errcode.ForbiddenReference, "%q is not below %s", rel, root)
	}
	return p, nil
}
