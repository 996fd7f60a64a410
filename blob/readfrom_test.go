package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
)

// TestWriterReadFrom: ReadFrom's overlapped chunks store the bytes read
// and their SHA-256, whatever sizes the reader returns, and Write goes on
// in step afterwards.
func TestWriterReadFrom(t *testing.T) {
	const chunk = 1 << 20 // Writer.ReadFrom's
	ctx := context.Background()
	b, err := blob.OpenBucket(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	r := rand.New(rand.NewPCG(5, 6))
	data := make([]byte, 5*chunk+4321)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, n := range []int{0, 100, chunk, chunk + 1, 2*chunk + 9, len(data)} {
		w, err := b.NewWriter(ctx, "k", &blob.WriterOptions{ContentType: "application/octet-stream"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.ReadFrom(iotest.HalfReader(bytes.NewReader(data[:n]))); err != nil {
			t.Fatal(err)
		}
		tail := data[n:min(n+(64<<10)+3, len(data))]
		if _, err := w.Write(tail); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		all := data[:n+len(tail)]
		want := sha256.Sum256(all)
		if got := w.SHA256(); got != hex.EncodeToString(want[:]) {
			t.Fatalf("n=%d: SHA-256 %s; want %x", n, got, want)
		}
		got, err := b.ReadAll(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, all) {
			t.Fatalf("n=%d: stored %d bytes that differ from the %d written", n, len(got), len(all))
		}
	}
}
