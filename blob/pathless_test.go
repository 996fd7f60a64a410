package blob

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/landfall/landfall/errcode"
)

// A driver's file-system error (a full disk) reaches callers naming the
// key, not the folder the driver keeps it in; errors.Is still sees the
// cause.
func TestWrapHidesLocalPaths(t *testing.T) {
	t.Parallel()
	for _, cause := range []error{
		&fs.PathError{Op: "write", Path: "/srv/landfall/bucket/incoming/acme/x.mp4", Err: syscall.ENOSPC},
		&os.LinkError{Op: "rename", Old: "/srv/landfall/bucket/.tmp-1", New: "/srv/landfall/bucket/incoming/acme/x.mp4", Err: syscall.ENOSPC},
	} {
		// What wrap builds around a driver's error.
		err := &errcode.Error{Code: errcode.Unavailable, Message: `blob: write "incoming/acme/x.mp4"`, Err: pathless(cause)}
		for _, text := range []string{err.Error(), errcode.MessageOf(err)} {
			if strings.Contains(text, "/srv/") || !strings.Contains(text, "incoming/acme/x.mp4") || !strings.Contains(text, "no space left on device") {
				t.Errorf("%q", text)
			}
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("errors.Is(ENOSPC) = false for %v", err)
		}
	}
}
