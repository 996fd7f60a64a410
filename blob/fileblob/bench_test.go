package fileblob

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/landfall/landfall/blob"
)

// benchSize is the stream written per operation: 1 GiB, or
// LANDFALL_BENCH_MIB MiB when set (for a quick run).
func benchSize(b *testing.B) int64 {
	if v := os.Getenv("LANDFALL_BENCH_MIB"); v != "" {
		var n int64
		if _, err := fmt.Sscan(v, &n); err != nil || n <= 0 {
			b.Fatalf("LANDFALL_BENCH_MIB=%q", v)
		}
		return n << 20
	}
	return 1 << 30
}

// peakHeap samples the heap in use while fn runs and reports the peak
// above the level before it started.
func peakHeap(b *testing.B, fn func()) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > base && m.HeapInuse-base > peak.Load() {
					peak.Store(m.HeapInuse - base)
				}
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkWrite1GiB streams the same 1 GiB, in 1 MiB writes, through a raw
// os.File (temporary file, fsync, rename: the least an atomic write
// needs), the file driver, and the file driver with encryption at rest.
// Compare the MB/s columns; B/op and peak-heap-MiB show that memory does
// not grow with the size written.
func BenchmarkWrite1GiB(b *testing.B) {
	size := benchSize(b)
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*31 + i>>9)
	}
	keyFile := filepath.Join(b.TempDir(), "key")
	os.WriteFile(keyFile, []byte("0123456789abcdef0123456789abcdef"), 0o600)

	rawDir := b.TempDir()
	writeRaw := func(b *testing.B) {
		f, err := os.CreateTemp(rawDir, "raw-*")
		if err != nil {
			b.Fatal(err)
		}
		for n := int64(0); n < size; n += int64(len(chunk)) {
			if _, err := f.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		final := filepath.Join(rawDir, "object")
		if err := os.Rename(f.Name(), final); err != nil {
			b.Fatal(err)
		}
		if err := syncDirs(rawDir); err != nil {
			b.Fatal(err)
		}
	}
	// Like the driver's Delete, the cleanup makes the removal durable, so
	// that freeing 1 GiB is not left for the next timed write's fsync.
	cleanRaw := func() {
		os.Remove(filepath.Join(rawDir, "object"))
		syncDirs(rawDir)
	}
	ctx := context.Background()
	openBucket := func(b *testing.B, params string) *blob.Bucket {
		bucket, err := blob.OpenBucket(ctx, "file://"+filepath.ToSlash(b.TempDir())+params)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { bucket.Close() })
		return bucket
	}
	writeBlob := func(b *testing.B, bucket *blob.Bucket) {
		w, err := bucket.NewWriter(ctx, "incoming/bench/object.bin", &blob.WriterOptions{ContentType: "application/octet-stream"})
		if err != nil {
			b.Fatal(err)
		}
		for n := int64(0); n < size; n += int64(len(chunk)) {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	cleanBlob := func(b *testing.B, bucket *blob.Bucket) {
		if err := bucket.Delete(ctx, "incoming/bench/object.bin"); err != nil {
			b.Fatal(err)
		}
	}
	encParams := "?encryption_key_file=" + keyFile

	b.Run("raw-os-file", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			peakHeap(b, func() { writeRaw(b) })
			b.StopTimer()
			cleanRaw()
			b.StartTimer()
		}
	})
	for _, v := range []struct{ name, params string }{
		{"fileblob", ""},
		{"fileblob-encrypted", encParams},
	} {
		b.Run(v.name, func(b *testing.B) {
			bucket := openBucket(b, v.params)
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				peakHeap(b, func() { writeBlob(b, bucket) })
				b.StopTimer()
				cleanBlob(b, bucket)
				b.StartTimer()
			}
		})
	}
	// paired writes the three back to back in every iteration, rotating
	// their order, so that a change in the machine's load (or the cost of
	// freeing the previous 1 GiB) affects them alike; it reports each one's
	// throughput and the drivers' throughput as a percentage of raw.
	b.Run("paired", func(b *testing.B) {
		plain, enc := openBucket(b, ""), openBucket(b, encParams)
		var took, cpu [3]time.Duration
		runs := [3]func(){func() { writeRaw(b) }, func() { writeBlob(b, plain) }, func() { writeBlob(b, enc) }}
		cleans := [3]func(){cleanRaw, func() { cleanBlob(b, plain) }, func() { cleanBlob(b, enc) }}
		i := 0
		for b.Loop() {
			for j := range 3 {
				k := (i + j) % 3
				c0, t0 := cpuTime(), time.Now()
				runs[k]()
				took[k] += time.Since(t0)
				cpu[k] += cpuTime() - c0
				cleans[k]()
			}
			i++
		}
		mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / d.Seconds() / 1e6 }
		b.ReportMetric(mbps(took[0]), "raw-MB/s")
		b.ReportMetric(mbps(took[1]), "fileblob-MB/s")
		b.ReportMetric(mbps(took[2]), "encrypted-MB/s")
		b.ReportMetric(100*took[0].Seconds()/took[1].Seconds(), "fileblob-%-of-raw")
		b.ReportMetric(100*took[0].Seconds()/took[2].Seconds(), "encrypted-%-of-raw")
		// CPU seconds per GiB: less sensitive than wall time to other
		// processes on the machine.
		gib := float64(size) * float64(b.N) / (1 << 30)
		b.ReportMetric(cpu[0].Seconds()/gib, "raw-cpu-s/GiB")
		b.ReportMetric(cpu[1].Seconds()/gib, "fileblob-cpu-s/GiB")
		b.ReportMetric(cpu[2].Seconds()/gib, "encrypted-cpu-s/GiB")
	})
}

// BenchmarkListPrefix lists one tenant's 50 objects in a bucket that holds
// 30 tenants: the walk reads only the prefix's folder.
func BenchmarkListPrefix(b *testing.B) {
	ctx := context.Background()
	bucket, err := blob.OpenBucket(ctx, "file://"+filepath.ToSlash(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	defer bucket.Close()
	for t := range 30 {
		for i := range 50 {
			if err := bucket.WriteAll(ctx, fmt.Sprintf("incoming/t%03d/%03d.mp4", t, i), []byte("x"), nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		it := bucket.List(&blob.ListOptions{Prefix: "incoming/t017/"})
		n := 0
		for {
			if _, err := it.Next(ctx); err != nil {
				break
			}
			n++
		}
		if n != 50 {
			b.Fatalf("listed %d; want 50", n)
		}
	}
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
