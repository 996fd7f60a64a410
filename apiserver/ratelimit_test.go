package apiserver

import (
	"fmt"
	"testing"
	"time"
)

func TestLimiterRefillsAtTheRate(t *testing.T) {
	t.Parallel()
	now := time.Unix(0, 0)
	l := newLimiter(60, func() time.Time { return now }) // one a second, bursts of 60
	for i := 0; i < 60; i++ {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.take("a")
	if ok || wait != time.Second {
		t.Fatalf("past the burst: %v %v", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, wait := l.take("a"); ok || wait != 500*time.Millisecond {
		t.Fatalf("half a token: %v %v", ok, wait)
	}
	now = now.Add(500 * time.Millisecond)
	if ok, _ := l.take("a"); !ok {
		t.Fatal("a token back after a second was refused")
	}
	if ok, _ := l.take("b"); !ok {
		t.Fatal("another caller shares the bucket")
	}
	// Idle buckets are forgotten (they would be full again).
	now = now.Add(2 * time.Minute)
	l.take("c")
	if _, kept := l.buckets["a"]; kept || len(l.buckets) != 1 {
		t.Fatalf("idle buckets kept: %d", len(l.buckets))
	}
	if ok, _ := (*limiter)(nil).take("x"); !ok {
		t.Fatal("no limit refused a request")
	}
	if newLimiter(0, time.Now) != nil {
		t.Fatal("a zero rate made a limiter")
	}
}

func BenchmarkLimiterTake(b *testing.B) {
	l := newLimiter(1<<30, time.Now)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%016x", i)
	}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			l.take(keys[i%len(keys)])
			i++
		}
	})
}
