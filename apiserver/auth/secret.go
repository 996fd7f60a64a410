package auth

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretFile is the installation secret's file name in the data folder.
const SecretFile = "installation.secret"

// LoadSecret reads the installation secret from path, creating it (32
// random bytes, hex, mode 0600) when it does not exist. A file that others
// may read or write, or that holds fewer than 32 bytes of hex, is an error
// naming the path: every process of an installation must load the same
// secret, so a fresh one is never made in place of a bad one.
func LoadSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSecret(path)
	}
	if err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	return checkSecret(path, b)
}

func checkSecret(path string, b []byte) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o007 != 0 {
		return nil, fmt.Errorf("installation secret %s: mode %04o lets other users read or write it; chmod 600 it", path, fi.Mode().Perm())
	}
	sec, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("installation secret %s: not hex: %v", path, err)
	}
	if len(sec) < 32 {
		return nil, fmt.Errorf("installation secret %s: %d bytes, want at least 32", path, len(sec))
	}
	return sec, nil
}

func createSecret(path string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	sec := make([]byte, 32)
	_, _ = rand.Read(sec)
	// Write a temporary file, then link it into place: the secret appears
	// whole or not at all, and when two processes start at once one link
	// wins and the other reads the winner's secret.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".secret-*")
	if err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString(hex.EncodeToString(sec) + "\n")
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return LoadSecret(path)
	} else if err != nil {
		return nil, fmt.Errorf("installation secret %s: %w", path, err)
	}
	return sec, nil
}
