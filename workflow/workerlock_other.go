//go:build !unix

package workflow

// workerLock is not available without flock: workers of a SQLite database
// learn of a dead predecessor from its lease only.
type workerLock struct{}

func lockWorkers(string) (*workerLock, bool, error) { return &workerLock{}, false, nil }

func (*workerLock) started() {}
func (*workerLock) release() {}
