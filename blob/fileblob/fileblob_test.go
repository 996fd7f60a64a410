package fileblob

import (
	"context"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/blobtest"
)

func TestConformance(t *testing.T) {
	blobtest.RunConformanceTests(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), "file://"+filepath.ToSlash(t.TempDir()))
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

func writeKeyFile(t testing.TB) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(name, []byte(hex.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestConformanceEncrypted(t *testing.T) {
	key := writeKeyFile(t)
	blobtest.RunConformanceTests(t, func(t *testing.T) *blob.Bucket {
		b, err := blob.OpenBucket(context.Background(), "file://"+filepath.ToSlash(t.TempDir())+"?encryption_key_file="+key)
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}
