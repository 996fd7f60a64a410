//go:build unix

package workflow

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// workerLock is the lock files of the worker processes of one SQLite
// database. Every working engine holds a shared lock on <db>.workers.lock
// for its life; the kernel drops it when the process dies, however it
// dies. An engine that starts takes <db>.start.lock (so that starts run
// one at a time) and then tries an exclusive lock on <db>.workers.lock:
// getting it proves that no other worker of the database is alive, so the
// rows of wf_workers other than its own belong to dead processes and
// their tasks can be handed on at once instead of after the lease.
type workerLock struct {
	start, live *os.File
}

// lockWorkers takes the start lock and a shared lock on the workers' lock
// file; sole reports that no other worker held one. Call started once the
// worker is registered, and release at close.
func lockWorkers(dbPath string) (l *workerLock, sole bool, err error) {
	l = &workerLock{}
	if l.start, err = os.OpenFile(dbPath+".start.lock", os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, false, fmt.Errorf("workflow: worker lock: %w", err)
	}
	if err = flock(l.start, syscall.LOCK_EX); err != nil {
		l.start.Close()
		return nil, false, fmt.Errorf("workflow: worker lock %s: %w", l.start.Name(), err)
	}
	if l.live, err = os.OpenFile(dbPath+".workers.lock", os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		l.release()
		return nil, false, fmt.Errorf("workflow: worker lock: %w", err)
	}
	switch err = flock(l.live, syscall.LOCK_EX|syscall.LOCK_NB); {
	case err == nil:
		sole = true
	case errors.Is(err, syscall.EWOULDBLOCK):
	default:
		l.release()
		return nil, false, fmt.Errorf("workflow: worker lock %s: %w", l.live.Name(), err)
	}
	// Other starters wait on the start lock, so nothing can take the
	// exclusive lock between dropping it and taking the shared one.
	if err = flock(l.live, syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		l.release()
		return nil, false, fmt.Errorf("workflow: worker lock %s: %w", l.live.Name(), err)
	}
	return l, sole, nil
}

// started releases the start lock: the worker's shared lock now marks it
// alive.
func (l *workerLock) started() {
	if l.start != nil {
		l.start.Close()
		l.start = nil
	}
}

func (l *workerLock) release() {
	l.started()
	if l.live != nil {
		l.live.Close()
		l.live = nil
	}
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
