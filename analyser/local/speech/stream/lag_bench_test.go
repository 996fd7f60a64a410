package stream

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPartialLag decodes three turns of the test dialogue as fast as
// the recogniser goes, in blocks of blockMS, and reports the lag that
// does not depend on the machine's load: for every word of the final
// results, how much audio past the word's end had been given to the
// recogniser when a partial first held it (audio-ms), plus the process's
// CPU time per second of audio, and the finals' word error rate against
// the script. Sub-benchmarks pair the client's block
// with the partial cadence (Endpoint.PartialEvery).
func BenchmarkPartialLag(b *testing.B) {
	if !Built {
		b.Skip("built without the incremental recogniser")
	}
	path, script := testSpeech(b, 3)
	pcm := pcmOf(b, path)
	files := prepared(b)
	// The first is the cadence before 50 ms (its stability agreement over
	// two partials), the second the default.
	for _, c := range []struct{ blockMS, every, after int }{{100, 10, 2}, {50, 5, 0}} {
		name := fmt.Sprintf("block=%dms/every=%dms", c.blockMS, 10*c.every)
		if c.after > 0 {
			name += fmt.Sprintf("/after=%d", c.after)
		}
		b.Run(name, func(b *testing.B) {
			blockMS := c.blockMS
			for b.Loop() {
				base := DefaultEndpoint
				base.PartialEvery = c.every
				ep := EndpointFor(base, 0.5, "high")
				if c.after > 0 {
					ep.StableAfter = c.after
				}
				r, err := New(Config{Files: files, Endpoint: ep})
				if err != nil {
					b.Fatal(err)
				}
				type key struct {
					id, word string
					at       float64
				}
				first := map[key]float64{}
				var lags []float64
				var finals []string
				fed := 0
				emit := func(res Result) {
					given := float64(fed) / 32000
					for _, w := range res.Words {
						k := key{res.ID, w.Text, math.Round(w.Start * 10)}
						if _, ok := first[k]; !ok {
							first[k] = given
						}
					}
					if !res.Partial {
						finals = append(finals, res.Text())
						for _, w := range res.Words {
							t := given
							for _, d := range []float64{0, -1, 1} {
								if f, ok := first[key{res.ID, w.Text, math.Round(w.Start*10) + d}]; ok && f < t {
									t = f
								}
							}
							lags = append(lags, t-w.End)
						}
					}
				}
				c0 := cpuTime()
				block := 32 * blockMS
				for off := 0; off < len(pcm); off += block {
					end := min(off+block, len(pcm))
					fed = end
					if err := r.Write(pcm[off:end], emit); err != nil {
						b.Fatal(err)
					}
				}
				if err := r.Close(emit); err != nil {
					b.Fatal(err)
				}
				sort.Float64s(lags)
				b.ReportMetric(1000*lags[len(lags)/2], "audio-ms-lag-p50")
				b.ReportMetric(1000*lags[len(lags)*95/100], "audio-ms-lag-p95")
				wer, _, _ := WordErrorRate(script, strings.Join(finals, " "))
				b.ReportMetric(100*wer, "%WER")
				b.ReportMetric((cpuTime()-c0).Seconds()/(float64(len(pcm))/32000), "cpu-s/audio-s")
			}
		})
	}
}
