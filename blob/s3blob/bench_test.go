package s3blob

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/landfall/landfall/blob"
)

// BenchmarkUpload streams 64 MiB and 256 MiB, in 1 MiB writes, to the
// in-process S3 gateway as multipart uploads. The gateway shares the
// process, so B/op and peak-heap-MiB include its allocations too; what
// matters is that neither grows with the size uploaded.
func BenchmarkUpload(b *testing.B) {
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte(i*31 + i>>9)
	}
	ctx := context.Background()
	for _, mib := range []int64{64, 256} {
		b.Run(fmt.Sprintf("%dMiB", mib), func(b *testing.B) {
			bucket, err := blob.OpenBucket(ctx, bucketURL(server.NewBucket(b, false)))
			if err != nil {
				b.Fatal(err)
			}
			defer bucket.Close()
			b.SetBytes(mib << 20)
			b.ReportAllocs()
			for b.Loop() {
				peak := watchHeap()
				w, err := bucket.NewWriter(ctx, "bench/object.bin", &blob.WriterOptions{ContentType: "application/octet-stream"})
				if err != nil {
					b.Fatal(err)
				}
				for range mib {
					if _, err := w.Write(chunk); err != nil {
						b.Fatal(err)
					}
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(peak(), "peak-heap-MiB")
				if err := bucket.Delete(ctx, "bench/object.bin"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// watchHeap samples the heap in use until the returned function is
// called, which returns the peak above the starting level in MiB.
func watchHeap() func() float64 {
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
	return func() float64 {
		close(stop)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}
