package live

import (
	"context"
	"encoding/binary"
	"io"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/local/speech/stream"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/types"
)

type fakeUploads struct {
	mu   sync.Mutex
	got  []byte
	name string
	id   string // the media id given ("m1" when empty)
}

func (f *fakeUploads) Upload(ctx context.Context, p *ingest.UploadParams) (*catalog.Media, error) {
	b, err := io.ReadAll(p.Body)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.got, f.name = b, p.Filename
	f.mu.Unlock()
	if f.id != "" {
		return &catalog.Media{ID: f.id}, nil
	}
	return &catalog.Media{ID: "m1"}, nil
}

// tone is n seconds of a 300 Hz tone with half-second pauses, 16 kHz PCM.
func tone(seconds float64) []byte {
	n := int(seconds * 16000)
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		v := 0.0
		if (i/8000)%2 == 0 {
			v = 8000 * math.Sin(2*math.Pi*300*float64(i)/16000)
		}
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(v)))
	}
	return b
}

// A session written to and watched from several goroutines at once ends
// once, stores every byte written, and tells every viewer (run with -race).
func TestSessionConcurrentUse(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the recogniser")
	}
	if !stream.Built {
		t.Skip("built without the incremental recogniser")
	}
	up := &fakeUploads{}
	m := New(Options{Uploads: up, TempDir: t.TempDir(), Keep: time.Minute})
	ctx := context.Background()
	s, err := m.Start(ctx, "default", &types.LiveStart{Type: "start", Format: FormatPCM16, Pause: 0.5})
	if err != nil {
		t.Skipf("recogniser: %v", err)
	}
	audio := tone(3)
	var wg sync.WaitGroup
	ended := make([]bool, 3)
	for i := range ended {
		sub := s.Subscribe()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				msg, ok, _ := sub.Next(ctx)
				if !ok {
					return
				}
				if msg.Landfall.Event == "ended" {
					ended[i] = true
				}
			}
		}()
	}
	for off := 0; off < len(audio); off += 3200 {
		if err := s.Write(ctx, audio[off:min(off+3200, len(audio))]); err != nil {
			t.Fatal(err)
		}
		_ = m.List("default")
	}
	done := make(chan *types.LiveMessage, 2)
	go func() { done <- s.Finish(ReasonEnd, nil) }()
	go func() { done <- s.Finish(ReasonDisconnect, nil) }()
	a, b := <-done, <-done
	if a != b || a.Landfall.Reason != ReasonEnd && a.Landfall.Reason != ReasonDisconnect || a.Landfall.MediaID != "m1" {
		t.Fatalf("Finish twice: %+v %+v", a, b)
	}
	wg.Wait()
	for i, e := range ended {
		if !e {
			t.Errorf("viewer %d was not told the session ended", i)
		}
	}
	if len(up.got) != len(audio)+44 || up.name == "" {
		t.Errorf("stored %d bytes as %q, want %d", len(up.got), up.name, len(audio)+44)
	}
	if err := s.Write(ctx, audio[:3200]); err == nil {
		t.Error("a write after the end was taken")
	}
}
