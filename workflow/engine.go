package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/landfall/landfall/errcode"
)

// Role selects what an engine process does.
type Role string

const (
	// RoleAll serves the API and works executions (the default).
	RoleAll Role = "all"
	// RoleAPI only starts, stops and reads executions; jobs are left for
	// workers.
	RoleAPI Role = "api"
	// RoleWorker works executions.
	RoleWorker Role = "worker"
)

// Config configures an Engine.
type Config struct {
	// DB is the database URL: sqlite:///path/file.db or postgres://….
	DB string
	// Resources maps Task resources to invokers. Activities need none.
	Resources *Resources
	// Role defaults to RoleAll.
	Role Role
	// Workers is how many steps and tasks run at once (default 50).
	Workers int
	// Lease is how long a worker may go silent before its running tasks
	// are handed to another worker (default 5s). Workers renew it every
	// Lease/4. On SQLite a restarted worker does not wait for it: the
	// workers' lock file proves its predecessor dead, and its tasks are
	// taken over at start.
	Lease time.Duration
	// ReapInterval is how often timeouts and dead workers are looked for
	// (default 1s).
	ReapInterval time.Duration
	// PollInterval is how often a worker polls for new jobs when no
	// notification reaches it, e.g. jobs inserted by another process on
	// SQLite (default 50ms on SQLite, 100ms on PostgreSQL).
	PollInterval time.Duration
	// Region and Account fill the ARNs (defaults "local", "000000000000").
	Region, Account string
	// Retention is how long ended executions and their history are kept
	// (default DefaultRetention, 90 days as in Step Functions; negative:
	// forever). Workers remove older ones every RetentionInterval
	// (default 1 minute) in bounded batches.
	Retention, RetentionInterval time.Duration
	// MapIO reads the items of Maps with an ItemReader and writes the
	// results of Maps with a ResultWriter (nil: such Maps fail with
	// States.ItemReaderFailed or States.ResultWriterFailed).
	MapIO MapIO
	// QueueURLBase starts the URLs of the engine's message queues
	// (QueueURL; default http://localhost).
	QueueURLBase string
	// HistoryEvents caps the history of one execution (default 25,000,
	// as in Step Functions). An execution whose next event would pass it
	// fails with States.Runtime, and no further event is written.
	HistoryEvents int
	// ExecutionTimeout bounds every execution: the timeout it starts with
	// (StartExecutionParams.TimeoutSeconds, else the definition's
	// TimeoutSeconds) is cut to it, and one without a timeout gets it
	// (0: no bound beyond the execution's own).
	ExecutionTimeout time.Duration
	// ConcurrentExecutions caps the RUNNING executions of one tenant:
	// StartExecution (and RedriveExecution) for a tenant already running
	// that many fails with errcode.ResourceExhausted (0: no cap).
	// Installation work, which has no tenant, is not capped.
	ConcurrentExecutions int
	Logger               *slog.Logger
	// Now is the engine's clock (default time.Now): start, stop and event
	// times, Wait deadlines, task and execution timeouts and worker leases
	// are all read from it, never from the process clock. River runs
	// scheduled jobs by the database's clock, so Now must advance in real
	// time; it may be offset from it (tests move it).
	Now func() time.Time
	// compile overrides the ASL compiler (tests).
	compile compileFunc
}

// Engine runs durable executions of ASL state machines.
type Engine struct {
	cfg      Config
	b        backend
	log      *slog.Logger
	workerID string
	// wlock marks this worker alive to the other workers of a SQLite
	// database while it works.
	wlock *workerLock
	// pgLock is the PostgreSQL connection holding this worker's advisory
	// lock: it vanishes with the process, which tells the other workers
	// at once that this one is dead.
	pgLock  *pgx.Conn
	compile compileFunc
	progs   progCache
	st      store
	// fair spreads step jobs over the live workers (fetch.go).
	fair *fairFetch

	startOnce sync.Once
	stopOnce  sync.Once
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	started   bool

	// activityWake wakes long polls of GetActivityTask in this process.
	activityMu   sync.Mutex
	activityWake chan struct{}
	// slots bounds the tasks run outside River jobs (started by the API
	// calls of this process); runCtx ends with the engine.
	slots  chan struct{}
	runCtx context.Context
	// waiters wakes WaitExecution calls in this process by execution.
	doneMu  sync.Mutex
	waiters map[string]chan struct{}
	// queues wakes long polls of ReceiveMessages in this process.
	queues queueWake
	// swept counts executions removed by retention since space was last
	// reclaimed.
	swept atomic.Int64
	// mapItems keeps the items of recent map runs (they never change).
	mapItems itemCache
}

const stepJobKind = "landfall_workflow_step"

// DefaultLease is the worker lease when the configuration sets none.
const DefaultLease = 5 * time.Second

// DefaultHistoryEvents is the history cap of an execution when the
// configuration sets none (Step Functions' 25,000).
const DefaultHistoryEvents = 25000

// minHistoryEvents is the smallest history cap: an execution must be able
// to start, run a state and end.
const minHistoryEvents = 8

// stepArgs is the River job of one transition: advance frame Frame of
// execution Exec, if its version is still Version.
type stepArgs struct {
	Exec    string `json:"e"`
	Frame   string `json:"f"`
	Version int64  `json:"v"`
}

func (stepArgs) Kind() string { return stepJobKind }

// Open opens the database, migrates it and prepares an engine. Call Start
// to begin working and Close to release it.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Role == "" {
		cfg.Role = RoleAll
	}
	switch cfg.Role {
	case RoleAll, RoleAPI, RoleWorker:
	default:
		return nil, errcode.New(errcode.Invalid, "role %q: want all, api or worker", cfg.Role)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 50
	}
	if cfg.Lease <= 0 {
		cfg.Lease = DefaultLease
	}
	if cfg.ReapInterval <= 0 {
		cfg.ReapInterval = time.Second
	}
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.RetentionInterval <= 0 {
		cfg.RetentionInterval = time.Minute
	}
	if cfg.Region == "" {
		cfg.Region = "local"
	}
	if cfg.Account == "" {
		cfg.Account = "000000000000"
	}
	if cfg.HistoryEvents < 0 || cfg.ExecutionTimeout < 0 || cfg.ConcurrentExecutions < 0 {
		return nil, errcode.New(errcode.Invalid, "workflow limits: history events %d, execution timeout %v, concurrent executions %d: none may be negative",
			cfg.HistoryEvents, cfg.ExecutionTimeout, cfg.ConcurrentExecutions)
	}
	if cfg.HistoryEvents == 0 {
		cfg.HistoryEvents = DefaultHistoryEvents
	}
	if cfg.HistoryEvents < minHistoryEvents {
		return nil, errcode.New(errcode.Invalid, "workflow limits: history events %d: at least %d", cfg.HistoryEvents, minHistoryEvents)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Resources == nil {
		cfg.Resources = NewResources()
	}
	b, err := openBackend(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, b, cfg.Now); err != nil {
		b.close()
		return nil, fmt.Errorf("migrate %s: %w", redact(cfg.DB), err)
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
		if b.dialect() == dialectSQLite {
			cfg.PollInterval = 50 * time.Millisecond
		}
	}
	e := &Engine{
		cfg:          cfg,
		b:            b,
		log:          cfg.Logger,
		workerID:     randomID(12),
		compile:      cfg.compile,
		activityWake: make(chan struct{}),
		waiters:      map[string]chan struct{}{},
		slots:        make(chan struct{}, cfg.Workers),
		st:           newStore(b.dialect()),
	}
	if e.compile == nil {
		e.compile = defaultCompile
	}
	if e.compile == nil {
		b.close()
		return nil, errcode.New(errcode.NotImplemented, "workflow: no ASL interpreter is linked in")
	}
	e.progs.init(256)
	rc := &river.Config{
		ID:                   e.workerID,
		JobTimeout:           -1,
		MaxAttempts:          25,
		RescueStuckJobsAfter: time.Hour,
		Logger:               slog.New(slog.DiscardHandler),
		// Jobs of this engine are small and many; keep finished ones an
		// hour only.
		CompletedJobRetentionPeriod: time.Hour,
	}
	if cfg.Role != RoleAPI {
		workers := river.NewWorkers()
		river.AddWorker(workers, river.WorkFunc(e.workStep))
		river.AddWorker(workers, river.WorkFunc(e.workSyncDone))
		river.AddWorker(workers, river.WorkFunc(e.workStopChildren))
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {
			MaxWorkers:        cfg.Workers,
			FetchCooldown:     2 * time.Millisecond,
			FetchPollInterval: cfg.PollInterval,
		}}
	}
	if cfg.Role != RoleAPI {
		e.fair = &fairFetch{poll: cfg.PollInterval}
	}
	if err := b.newRiver(rc, e.fair); err != nil {
		b.close()
		return nil, fmt.Errorf("river: %w", err)
	}
	return e, nil
}

// now reads the engine's clock.
func (e *Engine) now() time.Time { return e.cfg.Now() }

// WorkerID names this process in task leases.
func (e *Engine) WorkerID() string { return e.workerID }

// Role is the engine's role.
func (e *Engine) Role() Role { return e.cfg.Role }

// Start begins working jobs, renewing this worker's lease and reaping
// timeouts (not for RoleAPI, which only writes).
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Role == RoleAPI {
		return nil
	}
	var err error
	e.startOnce.Do(func() {
		if err = e.registerWorker(ctx); err != nil {
			return
		}
		if err = e.b.startRiver(ctx); err != nil {
			e.unregisterWorker(context.WithoutCancel(ctx))
			return
		}
		bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
		e.cancel = cancel
		e.runCtx = bg
		e.started = true
		e.wg.Add(3)
		go e.heartbeatLoop(bg)
		go e.reapLoop(bg)
		go e.retentionLoop(bg)
	})
	return err
}

// Close stops working and closes the database. Running tasks are
// cancelled and handed to other workers; Close waits for them until ctx
// ends.
func (e *Engine) Close(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		if e.started {
			// Tasks in flight are abandoned: their contexts end, they stay
			// marked running under this worker, and deleting the worker's
			// row below hands them to the other workers at once.
			e.cancel()
			err = e.b.stopRiver(ctx)
			done := make(chan struct{})
			go func() { e.wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				// An invoker that ignores its context keeps running; its
				// late result will be fenced off.
				err = errors.Join(err, fmt.Errorf("workflow: tasks still running at close: %w", ctx.Err()))
			}
			e.unregisterWorker(context.WithoutCancel(ctx))
		}
		e.releaseLocks()
		if cerr := e.b.close(); err == nil {
			err = cerr
		}
	})
	return err
}

func randomID(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// ---- worker lease ----

// registerWorker records this worker's lease. On a SQLite file it first
// takes the workers' lock: when no other process holds it, every other
// registered worker is dead, and its row is removed so that the reaper
// hands its tasks and step jobs on at once.
func (e *Engine) registerWorker(ctx context.Context) error {
	sole := false
	if sb, ok := e.b.(*sqliteBackend); ok && sb.path != ":memory:" {
		l, s, err := lockWorkers(sb.path)
		if err != nil {
			return err
		}
		e.wlock, sole = l, s
		defer l.started()
	}
	if pb, ok := e.b.(*pgBackend); ok {
		c, err := pb.lockWorker(ctx, e.workerID)
		if err != nil {
			return err
		}
		e.pgLock = c
	}
	now := micros(e.now())
	var dead []string
	err := e.withTx(ctx, func(tx dbtx) error {
		dead = nil
		if sole {
			var err error
			if dead, err = e.st.WorkerDeleteOthers(ctx, tx, &workerDeleteParams{ID: e.workerID}); err != nil {
				return err
			}
		}
		if err := e.st.WorkerInsert(ctx, tx, &workerInsertParams{ID: e.workerID, StartedUS: now}); err != nil {
			return err
		}
		return e.countLive(ctx, tx, e.now())
	})
	if err != nil {
		e.releaseLocks()
		return err
	}
	if len(dead) > 0 {
		e.log.Info("workflow: taking over the work of dead workers of this database", "worker", e.workerID, "dead", dead)
	}
	return nil
}

// releaseLocks drops the locks that mark this worker alive.
func (e *Engine) releaseLocks() {
	if e.wlock != nil {
		e.wlock.release()
		e.wlock = nil
	}
	if e.pgLock != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = e.pgLock.Close(ctx)
		e.pgLock = nil
	}
}

// renewPGLock checks the connection that holds this worker's advisory
// lock and, when it was lost (the lock with it), takes the lock again on
// a new one.
func (e *Engine) renewPGLock(ctx context.Context) {
	pb, ok := e.b.(*pgBackend)
	if !ok || e.pgLock == nil {
		return
	}
	pctx, cancel := context.WithTimeout(ctx, e.cfg.Lease/4)
	err := e.pgLock.Ping(pctx)
	cancel()
	if err == nil || ctx.Err() != nil {
		return
	}
	e.log.Warn("workflow: the connection holding the worker lock was lost; taking the lock again", "worker", e.workerID, "err", err)
	_ = e.pgLock.Close(ctx)
	c, err := pb.lockWorker(ctx, e.workerID)
	if err != nil {
		e.log.Warn("workflow: taking the worker lock again failed", "worker", e.workerID, "err", err)
		return
	}
	e.pgLock = c
}

// countLive records the workers that hold a fresh lease and their
// running tasks, for the fetch policy.
func (e *Engine) countLive(ctx context.Context, tx dbtx, now time.Time) error {
	if e.fair == nil {
		return nil
	}
	ids, err := e.st.WorkerListAlive(ctx, tx, &workerListAliveParams{SinceUS: micros(now.Add(-e.cfg.Lease))})
	if err != nil || len(ids) <= 1 {
		e.fair.observe(e.workerID, ids, nil)
		return err
	}
	running, err := e.st.TaskCountRunning(ctx, tx)
	if err != nil {
		return err
	}
	e.fair.observe(e.workerID, ids, running)
	return nil
}

func (e *Engine) unregisterWorker(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// Tasks still marked running by this worker were interrupted by the
	// shutdown: a deleted worker row makes the reaper hand them on at once.
	_ = e.withTx(ctx, func(tx dbtx) error {
		return e.st.WorkerDelete(ctx, tx, &workerDeleteParams{ID: e.workerID})
	})
}

func (e *Engine) heartbeatLoop(ctx context.Context) {
	defer e.wg.Done()
	t := time.NewTicker(e.cfg.Lease / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		e.renewPGLock(ctx)
		err := e.withTx(ctx, func(tx dbtx) error {
			now := e.now()
			if err := e.st.WorkerHeartbeat(ctx, tx, &workerHeartbeatParams{ID: e.workerID, HeartbeatUS: micros(now)}); err != nil {
				return err
			}
			return e.countLive(ctx, tx, now)
		})
		if err != nil && ctx.Err() == nil {
			e.log.Warn("workflow: renewing the worker lease failed", "worker", e.workerID, "err", err)
		}
	}
}

// withTx runs f in a transaction, retrying on lock conflicts.
func (e *Engine) withTx(ctx context.Context, f func(tx dbtx) error) error {
	for attempt := 0; ; attempt++ {
		err := e.b.run(ctx, f)
		if err != nil && isConflict(err) && attempt < 20 {
			backoff(ctx, attempt)
			continue
		}
		return err
	}
}

func backoff(ctx context.Context, attempt int) {
	d := time.Duration(1<<min(attempt, 8)) * time.Millisecond
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// errStale reports a transition lost to a newer one (compare-and-swap
// failed): the work it carried is already done or no longer wanted.
var errStale = errors.New("workflow: stale transition")

// trySlot reserves a slot to run a task in this process outside a River
// job; it fails when the engine does not work or all slots are taken.
func (e *Engine) trySlot() bool {
	if !e.started || e.cfg.Role == RoleAPI {
		return false
	}
	select {
	case e.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

// spawn runs run (and the tasks after it) in the background and then
// frees the slot trySlot reserved.
func (e *Engine) spawn(run *taskRun) {
	if run == nil {
		<-e.slots
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() { <-e.slots }()
		e.runLoop(e.runCtx, run)
	}()
}

// notifyActivity wakes local long polls.
func (e *Engine) notifyActivity() {
	e.activityMu.Lock()
	close(e.activityWake)
	e.activityWake = make(chan struct{})
	e.activityMu.Unlock()
}

func (e *Engine) activityWaiter() <-chan struct{} {
	e.activityMu.Lock()
	defer e.activityMu.Unlock()
	return e.activityWake
}

func (e *Engine) notifyDone(arn string) {
	e.doneMu.Lock()
	if ch, ok := e.waiters[arn]; ok {
		close(ch)
		delete(e.waiters, arn)
	}
	e.doneMu.Unlock()
}

func (e *Engine) doneWaiter(arn string) <-chan struct{} {
	e.doneMu.Lock()
	defer e.doneMu.Unlock()
	ch, ok := e.waiters[arn]
	if !ok {
		ch = make(chan struct{})
		e.waiters[arn] = ch
	}
	return ch
}

func (e *Engine) dropWaiter(arn string) {
	e.doneMu.Lock()
	delete(e.waiters, arn)
	e.doneMu.Unlock()
}
