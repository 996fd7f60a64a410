package workflow

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivershared/baseservice"
	"github.com/riverqueue/river/rivershared/riverpilot"
)

// Fair fetching.
//
// River's producer locks as many available jobs as its worker has free
// slots. A step job usually runs a whole chain of tasks (the media
// pipeline's analysers, minutes of work), so when two jobs become
// available together the first worker to look takes both while the other
// idles. With more than one live worker this engine's fetch is
// capacity-aware instead:
//
//   - a fetch locks one job, so what is available spreads over the
//     workers that look for it, one job each;
//   - a worker running more than the least loaded other live worker (by
//     the running tasks counted at each lease renewal) waits two poll
//     intervals before it looks, so that worker (which polls at least
//     once in that time) takes a new job first; it then looks anyway, so
//     no job waits on a worker that is gone.
//
// A worker that is alone keeps River's behaviour (it takes what it has
// room for). Workers equally loaded fetch at once, and a backlog is still
// drained by every worker: a fetch that locked its one job leaves River
// to fetch again as soon as the worker finishes a job, at its next poll or
// at the next insert notification.

// fairFetch holds what the fetch policy reads: this worker's running
// step jobs, and the live workers and the least load among the others as
// seen at the last lease renewal.
type fairFetch struct {
	// poll is how long a busier worker defers to a less loaded one.
	poll   time.Duration
	active atomic.Int32
	live   atomic.Int32
	// minPeer is the fewest running tasks of another live worker.
	minPeer atomic.Int32
}

// limit is how many jobs one fetch may lock when River offers want, and
// how long the worker waits before it fetches.
func (f *fairFetch) limit(want int) (int, time.Duration) {
	if f.live.Load() <= 1 || want <= 1 {
		return want, 0
	}
	if f.active.Load() > f.minPeer.Load() {
		return 1, 2 * f.poll
	}
	return 1, 0
}

// observe records the live workers and their running tasks.
func (f *fairFetch) observe(self string, live []string, running map[string]int) {
	f.live.Store(int32(len(live)))
	least := int32(-1)
	for _, id := range live {
		if id == self {
			continue
		}
		if n := int32(running[id]); least < 0 || n < least {
			least = n
		}
	}
	f.minPeer.Store(max(least, 0))
}

// fairPilot is River's standard pilot with fairFetch's limit on
// JobGetAvailable.
type fairPilot struct {
	riverpilot.StandardPilot
	fair *fairFetch
}

func (p *fairPilot) JobGetAvailable(ctx context.Context, exec riverdriver.Executor, state riverpilot.ProducerState, params *riverdriver.JobGetAvailableParams) (*riverdriver.JobGetAvailableResult, error) {
	n, wait := p.fair.limit(params.MaxToLock)
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return &riverdriver.JobGetAvailableResult{}, nil
		case <-t.C:
		}
	}
	if n != params.MaxToLock {
		q := *params
		q.MaxToLock = n
		params = &q
	}
	return p.StandardPilot.JobGetAvailable(ctx, exec, state, params)
}

// fairDriver is a River driver whose client fetches through fairPilot
// (River asks a driver for its pilot through these two methods).
type fairDriver[TTx any] struct {
	riverdriver.Driver[TTx]
	pilot *fairPilot
}

func (d *fairDriver[TTx]) PluginInit(*baseservice.Archetype) {}

func (d *fairDriver[TTx]) PluginPilot() riverpilot.Pilot { return d.pilot }

func withFairFetch[TTx any](d riverdriver.Driver[TTx], f *fairFetch) riverdriver.Driver[TTx] {
	if f == nil {
		return d
	}
	return &fairDriver[TTx]{Driver: d, pilot: &fairPilot{fair: f}}
}
