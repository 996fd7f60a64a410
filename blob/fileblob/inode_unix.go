//go:build unix

package fileblob

import (
	"io/fs"
	"syscall"
)

// inode identifies the file behind fi, so that a sidecar can tell the file
// it describes from one put in its place.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
