package apiserver

import (
	"math"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per caller (an API key's id, or a
// remote address on open installations). Each holds up to a minute's worth
// of tokens and refills at perMinute/60 a second, so a caller may burst to
// the per-minute limit and then continues at the steady rate. Buckets live
// in this process's memory only: N processes behind a load balancer allow
// up to N times the configured rate, and a restart refills every bucket.
type limiter struct {
	perMinute int
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*tokenBucket
	sweep   time.Time
}

type tokenBucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(perMinute int, now func() time.Time) *limiter {
	if perMinute <= 0 {
		return nil
	}
	return &limiter{perMinute: perMinute, now: now, buckets: map[string]*tokenBucket{}}
}

// take spends one token of caller's bucket. When the bucket is empty it
// reports how long until a token is back.
func (l *limiter) take(caller string) (ok bool, retryAfter time.Duration) {
	return l.use(caller, true)
}

// check reports whether caller's bucket has a token, without spending it.
func (l *limiter) check(caller string) (ok bool, retryAfter time.Duration) {
	return l.use(caller, false)
}

func (l *limiter) use(caller string, spend bool) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.now()
	rate := float64(l.perMinute) / 60 // tokens a second
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		// A bucket idle for a minute is full again: forget it.
		for k, b := range l.buckets {
			if now.Sub(b.last) > time.Minute {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[caller]
	if b == nil {
		b = &tokenBucket{tokens: float64(l.perMinute), last: now}
		l.buckets[caller] = b
	}
	if d := now.Sub(b.last).Seconds(); d > 0 {
		b.tokens = math.Min(float64(l.perMinute), b.tokens+d*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		if spend {
			b.tokens--
		}
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / rate * float64(time.Second))
	return false, wait
}
