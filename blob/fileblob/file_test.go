package fileblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/blob/driver"
	"github.com/landfall/landfall/errcode"
)

func open(t *testing.T, dir, params string) *blob.Bucket {
	t.Helper()
	b, err := blob.OpenBucket(context.Background(), "file://"+filepath.ToSlash(dir)+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func pattern(n int) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

func TestEncryptionDetectsTampering(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := writeKeyFile(t)
	dir := t.TempDir()
	b := open(t, dir, "?encryption_key_file="+key)
	content := append([]byte("PLAINTEXT-MARKER "), pattern(3*chunkSize+1000)...)
	if err := b.WriteAll(ctx, "m/a.bin", content, nil); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "m", "a.bin")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(orig, []byte("PLAINTEXT-MARKER")) {
		t.Fatal("the stored file holds plaintext")
	}
	if want := headerLen + 3*sealedSize + 1000 + 17 + tagLen; len(orig) != want {
		t.Fatalf("encrypted file is %d bytes; want %d", len(orig), want)
	}
	got, err := b.ReadAll(ctx, "m/a.bin")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read back: %v (same %v)", err, bytes.Equal(got, content))
	}
	chunk := func(p []byte, i int) []byte {
		start := headerLen + i*sealedSize
		return p[start:min(start+sealedSize, len(p))]
	}
	mutations := []struct {
		name string
		f    func(p []byte) []byte
	}{
		{"flipped bit in chunk 1", func(p []byte) []byte { p[headerLen+sealedSize+10] ^= 1; return p }},
		{"flipped bit in the header", func(p []byte) []byte { p[20] ^= 1; return p }},
		{"chunks 0 and 1 swapped", func(p []byte) []byte {
			c0 := append([]byte(nil), chunk(p, 0)...)
			copy(chunk(p, 0), chunk(p, 1))
			copy(chunk(p, 1), c0)
			return p
		}},
		{"last chunk removed", func(p []byte) []byte { return p[:headerLen+3*sealedSize] }},
		{"last chunk cut short", func(p []byte) []byte { return p[:len(p)-5] }},
		{"a chunk appended", func(p []byte) []byte { return append(p, chunk(p, 1)...) }},
		{"header only", func(p []byte) []byte { return p[:headerLen] }},
		{"bytes dropped from chunk 0", func(p []byte) []byte { return append(p[:headerLen+100], p[headerLen+116:]...) }},
	}
	for _, m := range mutations {
		p := m.f(append([]byte(nil), orig...))
		if err := os.WriteFile(file, p, 0o640); err != nil {
			t.Fatal(err)
		}
		_, err := b.ReadAll(ctx, "m/a.bin")
		if !errors.Is(err, errcode.MediaCorrupt) || !strings.Contains(err.Error(), `"m/a.bin"`) {
			t.Errorf("%s: read = %v; want Media.Corrupt naming the key", m.name, err)
		}
	}
	// A different key cannot read it.
	os.WriteFile(file, orig, 0o640)
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, bytes.Repeat([]byte{7}, 32), 0o600)
	b2 := open(t, dir, "?encryption_key_file="+other)
	if _, err := b2.ReadAll(ctx, "m/a.bin"); !errors.Is(err, errcode.MediaCorrupt) {
		t.Errorf("read with another key: %v; want Media.Corrupt", err)
	}
	// A plain file put in the folder by hand is refused, not served.
	os.WriteFile(filepath.Join(dir, "m", "plain.txt"), []byte("hello"), 0o640)
	if _, err := b.ReadAll(ctx, "m/plain.txt"); !errors.Is(err, errcode.MediaCorrupt) || !strings.Contains(err.Error(), "not an encrypted object") {
		t.Errorf("plain file in an encrypted bucket: %v", err)
	}
	if _, err := b.LocalPath("m/a.bin"); !errors.Is(err, errcode.FailedPrecond) {
		t.Errorf("LocalPath on an encrypted bucket: %v; want FailedPrecondition", err)
	}
}

func TestEncryptedRangesAcrossChunks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := open(t, t.TempDir(), "?encryption_key_file="+writeKeyFile(t))
	for _, n := range []int{chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize, 2*chunkSize + 1} {
		content := pattern(n)
		if err := b.WriteAll(ctx, "k", content, nil); err != nil {
			t.Fatal(err)
		}
		for _, off := range []int64{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, int64(n) - 1, int64(n)} {
			for _, l := range []int64{-1, 0, 1, 2, chunkSize, chunkSize + 2} {
				r, err := b.NewRangeReader(ctx, "k", off, l, nil)
				if err != nil {
					t.Fatal(err)
				}
				var got bytes.Buffer
				_, err = got.ReadFrom(r)
				r.Close()
				lo := min(off, int64(n))
				hi := int64(n)
				if l >= 0 {
					hi = min(lo+l, int64(n))
				}
				if err != nil || !bytes.Equal(got.Bytes(), content[lo:hi]) {
					t.Fatalf("size %d range [%d,+%d): %v, %d bytes; want %d", n, off, l, err, got.Len(), hi-lo)
				}
			}
		}
	}
}

func TestStaleSidecarIsIgnored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, "")
	err := b.WriteAll(ctx, "a/clip.wav", []byte("original"), &blob.WriterOptions{
		ContentType: "audio/wave", Metadata: map[string]string{"tenant": "acme"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := b.Attributes(ctx, "a/clip.wav")
	if a.SHA256 == "" || a.Metadata["tenant"] != "acme" {
		t.Fatalf("attributes before: %+v", a)
	}
	// Replaced by hand: the sidecar no longer describes the file.
	if err := os.WriteFile(filepath.Join(dir, "a", "clip.wav"), []byte("replaced by hand"), 0o640); err != nil {
		t.Fatal(err)
	}
	a, err = b.Attributes(ctx, "a/clip.wav")
	if err != nil {
		t.Fatal(err)
	}
	if a.SHA256 != "" || a.Metadata != nil || a.Size != int64(len("replaced by hand")) || a.ETag == "" {
		t.Fatalf("attributes after a hand replacement: %+v; want file-only attributes", a)
	}
	// A file that was never written through Landfall.
	os.MkdirAll(filepath.Join(dir, "drop"), 0o750)
	os.WriteFile(filepath.Join(dir, "drop", "x.bin"), []byte("12345"), 0o640)
	a, err = b.Attributes(ctx, "drop/x.bin")
	if err != nil || a.Size != 5 || a.ContentType == "" {
		t.Fatalf("hand-placed file: %+v %v", a, err)
	}
	if got, _ := b.ReadAll(ctx, "drop/x.bin"); string(got) != "12345" {
		t.Fatalf("hand-placed file read %q", got)
	}
}

func TestNothingVisibleUntilClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, "")
	w, err := b.NewWriter(ctx, "up/big.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(pattern(3 << 20))
	ents, _ := os.ReadDir(filepath.Join(dir, "up"))
	if len(ents) != 1 || !strings.HasPrefix(ents[0].Name(), tmpPrefix) {
		t.Fatalf("during a write the folder holds %v; want one temporary file", ents)
	}
	objs, _, err := b.ListPage(ctx, nil, 0, nil)
	if err != nil || len(objs) != 0 {
		t.Fatalf("listing during a write: %v %v", objs, err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "up")); err == nil {
		ents, _ := os.ReadDir(filepath.Join(dir, "up"))
		if len(ents) != 0 {
			t.Fatalf("after Abort the folder holds %v", ents)
		}
	}
}

func TestDriverRefusesEscapingKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../escape", "/etc/passwd", "a/../../b", "a\\..\\b", "a\x00b", ".landfall-signing-key"} {
		_, err := d.Attributes(ctx, key, &driver.AttributesOptions{})
		if !errors.Is(err, errcode.Invalid) || !strings.Contains(err.Error(), fmt.Sprintf("%q", key)) {
			t.Errorf("Attributes(%q) = %v; want InvalidArgument", key, err)
		}
		if _, err := d.NewTypedWriter(ctx, key, "text/plain", &driver.WriterOptions{}); !errors.Is(err, errcode.Invalid) {
			t.Errorf("NewTypedWriter(%q) = %v; want InvalidArgument", key, err)
		}
		if _, err := d.NewRangeReader(ctx, key, 0, -1, &driver.ReaderOptions{}); !errors.Is(err, errcode.Invalid) {
			t.Errorf("NewRangeReader(%q) = %v; want InvalidArgument", key, err)
		}
		if err := d.Delete(ctx, key); !errors.Is(err, errcode.Invalid) {
			t.Errorf("Delete(%q) = %v; want InvalidArgument", key, err)
		}
	}
}

func TestOpenURLErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, []byte("x"), 0o640)
	badKey := filepath.Join(dir, "badkey")
	os.WriteFile(badKey, []byte("too short"), 0o600)
	cases := []struct {
		url  string
		code errcode.Code
		want string
	}{
		{"file://" + dir + "/missing?create_dir=false", errcode.NotFound, "does not exist"},
		{"file://" + file, errcode.Invalid, "is not a folder"},
		{"file://" + dir + "?encryption_key_file=" + badKey, errcode.Invalid, "32-byte key"},
		{"file://" + dir + "?encryption_key_file=" + dir + "/nokey", errcode.Invalid, "encryption_key_file"},
		{"file://" + dir + "?bogus=1", errcode.Invalid, `unknown parameter "bogus"`},
		{"file://" + dir + "?create_dir=maybe", errcode.Invalid, "create_dir"},
		{"file://host" + dir, errcode.Invalid, "names host"},
		{"file:relative/path", errcode.Invalid, "absolute path"},
	}
	for _, c := range cases {
		_, err := blob.OpenBucket(ctx, c.url)
		if !errors.Is(err, c.code) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("OpenBucket(%s) = %v; want %s mentioning %q", c.url, err, c.code, c.want)
		}
	}
	// create_dir (the default) makes the folder.
	b := open(t, filepath.Join(dir, "new", "media"), "")
	if err := b.WriteAll(ctx, "k", []byte("v"), nil); err != nil {
		t.Fatal(err)
	}
	var info Info
	if !b.As(&info) || info.Root != filepath.Join(dir, "new", "media") || info.Encrypted {
		t.Fatalf("As(*Info) = %+v", info)
	}
}

func TestSigningKeyPersists(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b1 := open(t, dir, "?base_url=https://api.example/blob")
	u, err := b1.SignedURL(ctx, "a/b.mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	b2 := open(t, dir, "?base_url=https://api.example/blob")
	pu, _ := url.Parse(u)
	if sr, err := b2.VerifySignedURL("GET", pu); err != nil || sr.Key != "a/b.mp4" {
		t.Fatalf("a URL signed before a restart: %+v %v", sr, err)
	}
	fi, err := os.Stat(filepath.Join(dir, signingKey))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key file: %v %v", fi, err)
	}
}

func TestMoveKeepsAttributesAndPrunesFolders(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, "")
	b.WriteAll(ctx, "incoming/acme/x.mp4", []byte("media"), &blob.WriterOptions{Metadata: map[string]string{"tenant": "acme"}})
	before, _ := b.Attributes(ctx, "incoming/acme/x.mp4")
	if err := b.Move(ctx, "processed/acme/01J/x.mp4", "incoming/acme/x.mp4"); err != nil {
		t.Fatal(err)
	}
	after, err := b.Attributes(ctx, "processed/acme/01J/x.mp4")
	if err != nil || after.SHA256 != before.SHA256 || after.ETag != before.ETag || after.Metadata["tenant"] != "acme" {
		t.Fatalf("after move %+v %v; before %+v", after, err, before)
	}
	if _, err := os.Stat(filepath.Join(dir, "incoming")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty folders left behind after the move: %v", err)
	}
	p, err := b.LocalPath("processed/acme/01J/x.mp4")
	if err != nil || p != filepath.Join(dir, "processed", "acme", "01J", "x.mp4") {
		t.Fatalf("LocalPath = %s, %v", p, err)
	}
}

func TestSweepRemovesCrashLeftovers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	b := open(t, dir, "")
	b.WriteAll(ctx, "a/kept.bin", []byte("kept"), nil)
	w, _ := b.NewWriter(ctx, "a/pending.bin", nil)
	w.Write(pattern(1 << 20))
	// A crash between the sidecar rename and the data rename of a new key.
	os.WriteFile(filepath.Join(dir, "a", metaDir, "orphan.bin.json"), []byte(`{"v":1}`), 0o640)
	n, err := b.SweepIncomplete(ctx, 0)
	if err != nil || n != 2 {
		t.Fatalf("SweepIncomplete = %d, %v; want 2 (a temporary file and an orphan sidecar)", n, err)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close of a swept write succeeded")
	}
	if a, err := b.Attributes(ctx, "a/kept.bin"); err != nil || a.SHA256 == "" {
		t.Fatalf("committed object after a sweep: %+v %v", a, err)
	}
}

// FuzzEncryptedFile reads arbitrary bytes as an encrypted object: the
// reader must not panic, and must return content only when the file is
// exactly what the writer makes for it.
func FuzzEncryptedFile(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	ck, _ := newCipherKey(key)
	seal := func(p []byte) []byte {
		var buf bytes.Buffer
		w, _ := ck.newWriter(&buf)
		w.Write(p)
		w.Close()
		return buf.Bytes()
	}
	f.Add(seal(nil), int64(0), int64(-1))
	f.Add(seal([]byte("hello")), int64(1), int64(3))
	f.Add(seal(pattern(chunkSize+10)), int64(chunkSize-2), int64(5))
	f.Add([]byte(magic), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, file []byte, off, length int64) {
		if len(file) > 4*sealedSize || off < 0 {
			return
		}
		size, err := plainSize(int64(len(file)), "fuzz")
		if err != nil {
			return
		}
		off = min(off, size)
		remain := size - off
		if length >= 0 && length < remain {
			remain = length
		}
		r, err := ck.newReader(bytes.NewReader(file), int64(len(file)), "fuzz", off, remain)
		if err != nil {
			return
		}
		var got bytes.Buffer
		if _, err := got.ReadFrom(r); err != nil {
			if !errors.Is(err, errcode.MediaCorrupt) {
				t.Fatalf("read error %v is not Media.Corrupt", err)
			}
			return
		}
		if int64(got.Len()) != remain {
			t.Fatalf("read %d bytes; want %d", got.Len(), remain)
		}
	})
}

// TestConcurrentChurn writes, moves and deletes keys in shared folders
// from several goroutines: folder pruning must never break another
// operation, and every object left must read back whole with its SHA-256.
func TestConcurrentChurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := open(t, t.TempDir(), "")
	keys := func(i int) string { return fmt.Sprintf("d%d/e%d/k%d", i%2, i%3, i%5) }
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range 6 {
		wg.Go(func() {
			for i := range 60 {
				k, k2 := keys(g*7+i), keys(g*11+i*3+1)
				var err error
				switch i % 3 {
				case 0:
					err = b.WriteAll(ctx, k, pattern(1000+i), nil)
				case 1:
					err = b.Move(ctx, k2, k)
				case 2:
					err = b.Delete(ctx, k)
				}
				if err != nil && !errors.Is(err, errcode.NotFound) {
					errs <- fmt.Errorf("op %d on %s: %w", i%3, k, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	it := b.List(nil)
	for {
		o, err := it.Next(ctx)
		if err != nil {
			break
		}
		a, err := b.Attributes(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.ReadAll(ctx, o.Key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(got)
		if a.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: SHA-256 attribute %q does not match its content", o.Key, a.SHA256)
		}
	}
}
