package asl

import (
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// passChain builds a chain of n Pass states, each with Parameters and a
// ResultPath.
func passChain(n int) []byte {
	states := map[string]any{}
	for i := 0; i < n; i++ {
		s := map[string]any{
			"Type":       "Pass",
			"Parameters": map[string]any{"v.$": "$.v", "step": i, "name.$": "$.name"},
			"ResultPath": "$.last",
		}
		if i == n-1 {
			s["End"] = true
		} else {
			s["Next"] = fmt.Sprintf("S%d", i+1)
		}
		states[fmt.Sprintf("S%d", i)] = s
	}
	b, _ := json.Marshal(map[string]any{"StartAt": "S0", "States": states})
	return b
}

// BenchmarkPassChain runs a 1,000-state Pass chain with Parameters and
// ResultPath through the step API and reports states per second and
// allocations per state.
func BenchmarkPassChain(b *testing.B) {
	const n = 1000
	m, err := Parse(passChain(n), ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{"v": json.Number("42"), "name": "clip.mp4", "payload": map[string]any{"k": "v"}}
	sc := StepContext{Now: time.Unix(1700000000, 0)}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := m.NewFrame(input)
		out := m.Advance(f, sc)
		if out.Kind != KindSucceeded {
			b.Fatalf("%s: %s %s", out.Kind, out.Error, out.Cause)
		}
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	states := float64(b.N) * n
	b.ReportMetric(states/b.Elapsed().Seconds(), "states/s")
	// On a shared machine wall time includes waiting for a core; the
	// process's CPU time (GC included) measures the work itself.
	if cpu > 0 {
		b.ReportMetric(states/cpu.Seconds(), "states/cpu-s")
	}
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/states, "allocs/state")
}

// BenchmarkChoice20 evaluates a Choice state of 20 rules whose last rule
// matches (one Choice and one Succeed state per op).
func BenchmarkChoice20(b *testing.B) {
	var rules []any
	for i := 0; i < 19; i++ {
		switch i % 4 {
		case 0:
			rules = append(rules, map[string]any{"Variable": "$.kind", "StringEquals": fmt.Sprintf("k%d", i), "Next": "Done"})
		case 1:
			rules = append(rules, map[string]any{"Variable": "$.size", "NumericGreaterThan": 1e9 + float64(i), "Next": "Done"})
		case 2:
			rules = append(rules, map[string]any{"And": []any{
				map[string]any{"Variable": "$.flag", "BooleanEquals": false},
				map[string]any{"Variable": "$.key", "StringMatches": "never/*"}}, "Next": "Done"})
		case 3:
			rules = append(rules, map[string]any{"Variable": "$.at", "TimestampLessThan": "2001-01-01T00:00:00Z", "Next": "Done"})
		}
	}
	rules = append(rules, map[string]any{"Variable": "$.key", "StringMatches": "incoming/*/*.mp4", "Next": "Done"})
	def, _ := json.Marshal(map[string]any{"StartAt": "C", "States": map[string]any{
		"C":    map[string]any{"Type": "Choice", "Choices": rules, "Default": "Fail"},
		"Done": map[string]any{"Type": "Succeed"},
		"Fail": map[string]any{"Type": "Fail"},
	}})
	m, err := Parse(def, ParseOptions{})
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{"kind": "video", "size": json.Number("1024"), "flag": true,
		"key": "incoming/t1/clip.mp4", "at": "2025-01-01T00:00:00Z"}
	sc := StepContext{Now: time.Unix(1700000000, 0)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := m.Advance(m.NewFrame(input), sc)
		if out.Kind != KindSucceeded {
			b.Fatalf("%s: %s %s", out.Kind, out.Error, out.Cause)
		}
	}
}
