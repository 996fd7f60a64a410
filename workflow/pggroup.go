package workflow

import (
	"context"
	"errors"
	"sort"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Group commit on PostgreSQL.
//
// A transition started from a snapshot (the completion of a task this
// process claimed) reads nothing: its writes, each execution row, frame
// and task compare-and-swap included, are known before anything is sent.
// Such transitions of concurrent workers are committed together, in one
// transaction and one round trip: BEGIN, the writes of each, COMMIT. The
// server then runs one commit (one WAL flush, one round trip, one backend
// woken) for the group instead of one per task.
//
// Nothing is acknowledged before the group's COMMIT returns, so a
// completion reported done is durable as with a transaction of its own.
// The transitions of a group are of different executions (a snapshot is
// the claiming worker's only), and their execution rows are written in
// the order of their ARNs, so two groups lock rows in one order.
//
// When a statement of a group fails, the server has rolled the whole
// group back and nothing of it is committed: every transition of the
// group is then committed again on its own, and each gets its own outcome
// (a compare-and-swap that misses, errStale, is one transition's, not its
// neighbours'). When the connection fails, the outcome is unknown, as for
// a transaction of its own, and every transition of the group returns the
// error.
//
// Groups form without a timer: a committer takes every transition waiting
// when it is free, so a group is as large as what arrived while the
// previous one was being committed, and a transition that arrives alone
// goes at once.

// pgCommitters is how many groups of one backend are committed at once:
// while one waits for the server's flush, the next is gathered and sent.
const pgCommitters = 2

// maxPGGroup bounds the transitions of one group.
const maxPGGroup = 32

type pgGroup struct {
	b *pgBackend
	// ctx is the committers' context, cancelled by stop: a group still
	// at the server when the backend closes fails like any statement
	// whose context ended.
	ctx    context.Context
	cancel context.CancelFunc
	reqs   chan *pgCommitReq
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup
}

type pgCommitReq struct {
	stmts []stmt
	cas   []int
	key   string // the execution row's ARN, the order of the group's writes
	err   error
	done  chan struct{}
}

func newPGGroup(b *pgBackend) *pgGroup {
	g := &pgGroup{b: b, reqs: make(chan *pgCommitReq, 4*maxPGGroup), quit: make(chan struct{})}
	g.ctx, g.cancel = context.WithCancel(context.Background())
	g.wg.Add(pgCommitters)
	for range pgCommitters {
		go g.committer()
	}
	return g
}

// stop ends the committers (the engine's workers have stopped by then;
// a group still at the server is cancelled); transitions still waiting
// fail with errClosed.
func (g *pgGroup) stop() {
	g.once.Do(func() {
		g.cancel()
		close(g.quit)
	})
	g.wg.Wait()
	for {
		select {
		case r := <-g.reqs:
			r.err = errClosed
			close(r.done)
		default:
			return
		}
	}
}

// commit commits stmts (those at the indexes in cas must each change a
// row) with whatever other transitions are ready, and returns as
// pgTx.commitBatch does: nil once committed, errCASMissed when a
// compare-and-swap changed no row and nothing was committed.
func (g *pgGroup) commit(ctx context.Context, key string, stmts []stmt, cas []int) error {
	r := &pgCommitReq{stmts: stmts, cas: cas, key: key, done: make(chan struct{})}
	select {
	case g.reqs <- r:
	case <-g.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once handed over, the outcome is waited for whatever ctx says: the
	// group may already be on its way to the server.
	<-r.done
	return r.err
}

func (g *pgGroup) committer() {
	defer g.wg.Done()
	for {
		var first *pgCommitReq
		select {
		case first = <-g.reqs:
		case <-g.quit:
			return
		}
		g.run(gather(first, g.reqs, maxPGGroup))
	}
}

// run commits a group, or each of its transitions on its own when the
// group fails on a statement.
func (g *pgGroup) run(group []*pgCommitReq) {
	ctx := g.ctx
	if len(group) == 1 {
		g.solo(ctx, group[0])
		return
	}
	sort.Slice(group, func(i, j int) bool { return group[i].key < group[j].key })
	err := g.together(ctx, group)
	var pe *pgconn.PgError
	if err != nil && (errors.As(err, &pe) || errors.Is(err, errGroupRolledBack)) {
		// Nothing of the group was committed: each goes again alone.
		for _, r := range group {
			g.solo(ctx, r)
		}
		return
	}
	for _, r := range group {
		r.err = err
		close(r.done)
	}
}

// errGroupRolledBack: the server answered the group's COMMIT with
// ROLLBACK.
var errGroupRolledBack = errors.New("workflow: group commit rolled back")

func (g *pgGroup) together(ctx context.Context, group []*pgCommitReq) error {
	c, err := g.b.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	n := 0
	for _, r := range group {
		queueCAS(b, r.stmts, r.cas)
		n += len(r.stmts)
	}
	b.Queue("COMMIT")
	res := c.SendBatch(ctx, b)
	for range n + 1 {
		if _, err := res.Exec(); err != nil {
			res.Close()
			if c.Conn().PgConn().TxStatus() != 'I' {
				// Aborted: end it so the connection goes back to the
				// pool (a connection left in a transaction is closed).
				_, _ = c.Exec(ctx, "ROLLBACK")
			}
			return err
		}
	}
	tag, err := res.Exec()
	if cerr := res.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if tag.String() == "ROLLBACK" {
		return errGroupRolledBack
	}
	return nil
}

// solo commits one transition in a transaction of its own.
func (g *pgGroup) solo(ctx context.Context, r *pgCommitReq) {
	t := &pgTx{b: g.b, solo: true}
	err := t.commitBatch(ctx, r.stmts, r.cas)
	if err != nil {
		_ = t.rollback(ctx)
	} else {
		err = t.commit(ctx)
	}
	r.err = err
	close(r.done)
}
