package search

import (
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed+1)) }

// The parallel scan finds the same neighbours as one scan, and one scan
// finds what sorting every row finds.
func TestNearestIsExact(t *testing.T) {
	t.Parallel()
	f, qs := NewFlat(parallelRows+777, 32, 9)
	for _, q := range qs[:4] {
		got, serial := NearestIDs(f, q, 20), NearestIDsSerial(f, q, 20)
		if !slices.Equal(got, serial) {
			t.Fatalf("parallel %v, serial %v", got, serial)
		}
		type rs struct {
			id  int64
			sim float32
		}
		var all []rs
		for r := range f.ids {
			all = append(all, rs{f.ids[r], dot(q, f.vecs[r*f.dim:(r+1)*f.dim])})
		}
		slices.SortFunc(all, func(a, b rs) int {
			if a.sim > b.sim {
				return -1
			}
			if a.sim < b.sim {
				return 1
			}
			return int(a.id - b.id)
		})
		for i := 0; i < 20; i++ {
			if all[i].id != got[i] {
				t.Fatalf("rank %d: %d, want %d", i, got[i], all[i].id)
			}
		}
	}
}

// BenchmarkNearest is the exact scan alone (k = 50, 384 dimensions) over
// 100,000 and 1,000,000 rows; the 1M copy holds 1.5 GiB.
func BenchmarkNearest(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(map[int]string{100_000: "100k", 1_000_000: "1M"}[n], func(b *testing.B) {
			f, qs := NewFlat(n, 384, 3)
			var ru0, ru1 syscall.Rusage
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f.Nearest(qs[i%len(qs)], 50, nil)
			}
			b.StopTimer()
			syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
			cpu := (ru1.Utime.Nano() + ru1.Stime.Nano()) - (ru0.Utime.Nano() + ru0.Stime.Nano())
			b.ReportMetric(float64(cpu)/1e6/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(len(f.vecs)*4)/(1<<20), "MiB")
		})
	}
}
