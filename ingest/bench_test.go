package ingest

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
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

// BenchmarkUploadVsRawWrite measures, in the same run, the upload path
// (bucket write with hashing and fsync, media row and event) against a
// plain write of the same bytes to a file in the same folder with one
// fsync, alternating the two so both see the same disk and machine load.
// It reports each one's MB/s, the upload's share of the raw write
// (upload-vs-raw, the target is at least 0.8) and the heap in use.
func BenchmarkUploadVsRawWrite(b *testing.B) {
	const size = 256 << 20
	s, _, _, _, _ := setup(b, 0)
	dir := b.TempDir()
	buf := make([]byte, 1<<20)
	var up, raw time.Duration
	peak := uint64(0)
	b.SetBytes(size)
	b.ReportAllocs()
	rawWrite := func() {
		t0 := time.Now()
		f, err := os.Create(filepath.Join(dir, "raw"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(onlyWriter{f}, &pattern{left: size}, buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		raw += time.Since(t0)
	}
	var keys []string
	upload := func() {
		t0 := time.Now()
		m, err := s.Upload(context.Background(), &UploadParams{Tenant: "acme", Filename: "big.mp4", Size: size, Body: &pattern{left: size}})
		if err != nil {
			b.Fatal(err)
		}
		up += time.Since(t0)
		keys = append(keys, m.BucketKey)
	}
	i := 0
	for b.Loop() {
		// Alternate which goes first, so neither always follows the
		// other's fsync.
		if i%2 == 0 {
			rawWrite()
			upload()
		} else {
			upload()
			rawWrite()
		}
		i++
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
		// Keep the disk from filling (outside the timed parts).
		_ = os.Remove(filepath.Join(dir, "raw"))
		for _, k := range keys {
			_ = s.opt.Bucket.Delete(context.Background(), k)
		}
		keys = keys[:0]
	}
	n := float64(b.N)
	b.ReportMetric(n*size/1e6/up.Seconds(), "upload-MB/s")
	b.ReportMetric(n*size/1e6/raw.Seconds(), "raw-MB/s")
	b.ReportMetric(raw.Seconds()/up.Seconds(), "upload-vs-raw")
	b.ReportMetric(float64(peak)/(1<<20), "MiB-heap-inuse")
}

// onlyWriter hides *os.File's ReadFrom so the raw write copies through
// the same 1 MiB buffer as a plain write loop.
type onlyWriter struct{ w io.Writer }

func (o onlyWriter) Write(p []byte) (int, error) { return o.w.Write(p) }
