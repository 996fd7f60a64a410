// Package live runs live caption sessions: audio arrives in blocks (from
// the API server's WebSocket), an incremental recogniser turns it into
// partial and final results that any number of viewers receive (a late
// viewer first gets the captions so far), and when the session ends the
// recording is stored as an ordinary upload of the tenant (so the rules
// and the pipeline run on it) with the live transcript kept beside it as
// transcript.live.json.
//
// Nothing is buffered without bound: a client that sends faster than the
// recogniser decodes is held back (Write blocks until the recogniser has
// taken the previous block, and the server stops reading its socket); a
// viewer that falls behind misses partial results, and is dropped if it
// cannot take a final one. The recording is spooled to a file, bounded by
// the session's audio limit.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/blob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/types"
)

// Uploader stores a recording as a media item (ingest.Service).
type Uploader interface {
	Upload(ctx context.Context, p *ingest.UploadParams) (*catalog.Media, error)
}

// Versions keeps the live transcript as a version of the stored media
// item (catalog.Store).
type Versions interface {
	MediaVersionAdd(ctx context.Context, p *catalog.MediaVersionAddParams) (*catalog.MediaVersion, error)
}

// Options configure the session manager.
type Options struct {
	Uploads Uploader
	Bucket  *blob.Bucket
	// Versions, when set, lists the live transcript among the media
	// item's versions (kind "live"); a catalog that keeps no versions
	// leaves it a file only, and the log says so.
	Versions Versions
	// Engine recognises the sessions' audio; nil means the local
	// recogniser (stream.Engine with Recogniser).
	Engine realtime.Engine
	// Recogniser prepares the local recogniser's model files; nil means
	// the default pocketsphinx analyser.
	Recogniser *speech.Analyser
	// TempDir holds recordings while sessions run (os.TempDir when empty).
	TempDir string
	// MaxSeconds bounds one session's audio (default 4 h); the session
	// ends, and is stored, when it is reached. Its wall-clock time is
	// bounded too, at MaxSeconds plus a minute.
	MaxSeconds float64
	// MaxSessions bounds the sessions running at once (default twice the
	// number of CPUs); past it a start is refused with RateLimited.
	MaxSessions int
	// IdleTimeout ends a session whose client sends nothing for this long
	// (default 15 s); the API server enforces it.
	IdleTimeout time.Duration
	// Keep is how long an ended session stays for viewers (default 15 min).
	Keep time.Duration
	// Vocabulary and DomainText are the installation's, added to each
	// session's own (config transcribe:).
	Vocabulary []string
	DomainText string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Manager runs the sessions of one process.
type Manager struct {
	opt Options
	log *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	running  int
	closed   bool
}

// New returns a manager.
func New(opt Options) *Manager {
	if opt.Recogniser == nil {
		opt.Recogniser = &speech.Analyser{}
	}
	if opt.Engine == nil {
		opt.Engine = &stream.Engine{Recogniser: opt.Recogniser}
	}
	if opt.TempDir == "" {
		opt.TempDir = os.TempDir()
	}
	if opt.MaxSeconds <= 0 {
		opt.MaxSeconds = 4 * 3600
	}
	if opt.MaxSessions <= 0 {
		opt.MaxSessions = 2 * runtime.GOMAXPROCS(0)
	}
	if opt.IdleTimeout <= 0 {
		opt.IdleTimeout = 15 * time.Second
	}
	if opt.Keep <= 0 {
		opt.Keep = 15 * time.Minute
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Manager{opt: opt, log: opt.Logger, sessions: map[string]*Session{}}
}

// IdleTimeout is how long a client may send nothing.
func (m *Manager) IdleTimeout() time.Duration { return m.opt.IdleTimeout }

// MaxSeconds is the audio limit of one session.
func (m *Manager) MaxSeconds() float64 { return m.opt.MaxSeconds }

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "live-" + hex.EncodeToString(b[:])
}

// Start opens a session for tenant. The recogniser's model is loaded
// before it returns, so the client's audio is decoded as it arrives.
func (m *Manager) Start(ctx context.Context, tenant string, st *types.LiveStart) (*Session, error) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, errcode.New(errcode.Unavailable, "live captions: the server is shutting down")
	}
	if m.running >= m.opt.MaxSessions {
		m.mu.Unlock()
		return nil, errcode.New(errcode.RateLimited, "live captions: %d sessions are running, the most this server takes (try again later)", m.opt.MaxSessions)
	}
	m.running++
	m.mu.Unlock()
	s, err := m.open(ctx, tenant, st)
	if err != nil {
		m.mu.Lock()
		m.running--
		m.mu.Unlock()
		return nil, err
	}
	m.mu.Lock()
	m.sessions[s.id] = s
	m.mu.Unlock()
	return s, nil
}

// Get returns the tenant's session id (running or recently ended). Another
// tenant's session is NotFound, as if it did not exist.
func (m *Manager) Get(tenant, id string) (*Session, error) {
	m.mu.Lock()
	s, ok := m.sessions[id]
	m.mu.Unlock()
	if !ok || s.tenant != tenant {
		return nil, errcode.New(errcode.NotFound, "live session %s not found (ended sessions are kept for %s)", id, m.opt.Keep)
	}
	return s, nil
}

// List describes the tenant's sessions, newest first.
func (m *Manager) List(tenant string) []types.LiveSession {
	m.mu.Lock()
	var ss []*Session
	for _, s := range m.sessions {
		if s.tenant == tenant {
			ss = append(ss, s)
		}
	}
	m.mu.Unlock()
	sort.Slice(ss, func(i, j int) bool { return ss[i].started.After(ss[j].started) })
	out := make([]types.LiveSession, 0, len(ss))
	for _, s := range ss {
		out = append(out, s.Describe())
	}
	return out
}

// ended is called once a session is stored: it frees its slot and drops
// it from the table after Keep.
func (m *Manager) ended(s *Session) {
	m.mu.Lock()
	m.running--
	m.mu.Unlock()
	time.AfterFunc(m.opt.Keep, func() {
		m.mu.Lock()
		if m.sessions[s.id] == s {
			delete(m.sessions, s.id)
		}
		m.mu.Unlock()
	})
}

// Close ends every running session (storing each) and refuses new ones.
func (m *Manager) Close(ctx context.Context) {
	m.mu.Lock()
	m.closed = true
	var ss []*Session
	for _, s := range m.sessions {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range ss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Finish(ReasonShutdown, nil)
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Reasons a session ends.
const (
	ReasonEnd        = "end"          // the client sent {"type":"end"}
	ReasonDisconnect = "disconnected" // the connection dropped
	ReasonIdle       = "idle"         // no audio for the idle timeout
	ReasonLimit      = "limit"        // the audio or time limit was reached
	ReasonShutdown   = "shutdown"     // the server is stopping
	ReasonError      = "error"        // bad input or a recogniser failure
)
