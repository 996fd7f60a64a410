package analysertest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Fixtures is test media generated offline once per test binary, on first
// use, into a temporary folder that Main removes when the tests end.
type Fixtures struct {
	prefix string
	make   func(ctx context.Context, dir string) error

	once sync.Once
	mu   sync.Mutex
	dir  string
	err  error
}

// NewFixtures returns fixtures that make generates into a folder named
// after prefix.
func NewFixtures(prefix string, make func(ctx context.Context, dir string) error) *Fixtures {
	return &Fixtures{prefix: prefix, make: make}
}

// Dir generates the media on first use and returns their folder; a
// failure to generate them fails t.
func (f *Fixtures) Dir(t testing.TB) string {
	t.Helper()
	f.once.Do(func() {
		dir, err := os.MkdirTemp("", "landfall-"+f.prefix+"-")
		if err == nil {
			err = f.make(context.Background(), dir)
		}
		f.mu.Lock()
		f.dir, f.err = dir, err
		f.mu.Unlock()
	})
	if f.err != nil {
		t.Fatalf("generating the %s test media: %v", f.prefix, f.err)
	}
	return f.dir
}

// Path is the path of a generated file (generating them on first use).
func (f *Fixtures) Path(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(f.Dir(t), name)
}

// Remove deletes the generated media.
func (f *Fixtures) Remove() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

// Main runs a test binary's tests, then removes the fixtures' folders:
// call it from TestMain.
func Main(m *testing.M, fixtures ...*Fixtures) {
	code := m.Run()
	for _, f := range fixtures {
		f.Remove()
	}
	os.Exit(code)
}

// Shared is a result computed once per test binary and shared by the tests
// that read it (a long analyser run several tests check).
type Shared[T any] struct {
	once sync.Once
	v    T
	err  error
}

// Get computes the value with make on first use and returns it; a failure
// fails t, then and on every later Get.
func (s *Shared[T]) Get(t testing.TB, make func() (T, error)) T {
	t.Helper()
	s.once.Do(func() { s.v, s.err = make() })
	if s.err != nil {
		t.Fatal(s.err)
	}
	return s.v
}
