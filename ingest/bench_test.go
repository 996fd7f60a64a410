package ingest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// pattern is a reader of n bytes that allocates nothing per read.
type pattern struct{ left int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.left <= 0 {
		return 0, io.EOF
	}
	n := len(b)
	if int64(n) > p.left {
		n = int(p.left)
	}
	for i := range b[:n] {
		b[i] = byte(i)
	}
	p.left -= int64(n)
	return n, nil
}

var benchSize int64 = 1 << 30

// BenchmarkUpload1GiB streams 1 GiB through the upload path (bucket write
// with hashing, row and event) and reports throughput and the peak heap
// growth: memory stays constant, whatever the size. Compare with
// BenchmarkRawWrite1GiB, the same bytes written straight to a file.
func BenchmarkUpload1GiB(b *testing.B) {
	s, _, _, _, _ := setup(b, 0)
	b.SetBytes(benchSize)
	b.ReportAllocs()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	peak := uint64(0)
	for b.Loop() {
		if _, err := s.Upload(context.Background(), &UploadParams{Tenant: "acme", Filename: "big.mp4", Size: benchSize, Body: &pattern{left: benchSize}}); err != nil {
			b.Fatal(err)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		peak = max(peak, after.HeapInuse)
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-inuse")
}

func BenchmarkRawWrite1GiB(b *testing.B) {
	dir := b.TempDir()
	b.SetBytes(benchSize)
	buf := make([]byte, 32<<10)
	for b.Loop() {
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(f, &pattern{left: benchSize}, buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
