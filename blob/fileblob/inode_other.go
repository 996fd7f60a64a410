//go:build !unix

package fileblob

import "io/fs"

// inode is 0 where the platform has no inode numbers; sidecars then match
// their file by size and modification time alone.
func inode(fi fs.FileInfo) uint64 { return 0 }
