package live

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/blob"
	_ "github.com/landfall/landfall/blob/memblob"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// brokenEngine gives one final result per block until failAfter blocks,
// then fails as a remote service that went away.
type brokenEngine struct {
	failAfter int
}

type brokenStream struct {
	e    *brokenEngine
	emit func(realtime.Result)
	n    int
	p    realtime.Params
}

func (e *brokenEngine) Open(ctx context.Context, p realtime.Params, emit func(realtime.Result)) (realtime.Stream, error) {
	return &brokenStream{e: e, emit: emit, p: p}, nil
}

func (s *brokenStream) Info() realtime.Info {
	return realtime.Info{Engine: "broken", Model: "m", Speakers: "engine"}
}

func (s *brokenStream) Write(ctx context.Context, pcm []byte) error {
	s.n++
	if s.n > s.e.failAfter {
		return errcode.New(errcode.ProviderTransient, "the speech service went away")
	}
	at := float64(s.n-1) / 10
	s.emit(realtime.Result{ID: s.p.IDPrefix + "1", Start: at, End: at + 0.1, Words: []realtime.Word{{Text: "word", Start: at, End: at + 0.1,
		Confidence: 0.5, Stable: true, Speaker: "spk_1"}}})
	return nil
}

func (s *brokenStream) Close(ctx context.Context) error { return nil }

type versions struct {
	mu  sync.Mutex
	got []*catalog.MediaVersionAddParams
}

func (v *versions) MediaVersionAdd(ctx context.Context, p *catalog.MediaVersionAddParams) (*catalog.MediaVersion, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.got = append(v.got, p)
	return &catalog.MediaVersion{Version: int64(len(v.got))}, nil
}

// An engine that fails mid-session: the next write reports its error,
// and the session, ended on it, stores every byte received with the live
// transcript so far as a media version.
func TestEngineFailureKeepsTheRecording(t *testing.T) {
	t.Parallel()
	const id = "0b6f3c4e-8a2d-4c1b-9e57-2f1d3a4b5c6d"
	up, vs := &fakeUploads{id: id}, &versions{}
	bucket, err := blob.OpenBucket(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	m := New(Options{Uploads: up, Versions: vs, Bucket: bucket, Engine: &brokenEngine{failAfter: 5}, TempDir: t.TempDir(), Keep: time.Minute})
	ctx := context.Background()
	s, err := m.Start(ctx, "default", &types.LiveStart{Type: "start", Format: FormatPCM16, Pause: 0.5, SpeakerLabels: true})
	if err != nil {
		t.Fatal(err)
	}
	audio := tone(2)
	var werr error
	sent := 0
	for off := 0; off < len(audio) && werr == nil; off += 3200 {
		werr = s.Write(ctx, audio[off:off+3200])
		if werr == nil {
			sent += 3200
		}
		time.Sleep(5 * time.Millisecond) // let the engine take the block
	}
	if errcode.Of(werr) != errcode.ProviderTransient || !strings.Contains(werr.Error(), "went away") {
		t.Fatalf("write after the engine failed: %v", werr)
	}
	end := s.Finish(ReasonError, werr)
	if end.Landfall.MediaID != id || end.Landfall.Words != 5 || !strings.Contains(end.Landfall.Error, "went away") {
		t.Fatalf("ended: %+v", end.Landfall)
	}
	if len(up.got) != sent+44 {
		t.Errorf("stored %d bytes, want the %d received", len(up.got), sent+44)
	}
	if tr := s.Transcript(); len(tr.Words) != 5 || tr.Words[0].Speaker != "spk_1" || tr.Engine != "broken+live" {
		t.Errorf("live transcript: %+v", tr)
	}
	if _, err := bucket.Attributes(ctx, "processed/default/"+id+"/"+LiveTranscriptName); err != nil {
		t.Errorf("live transcript file: %v", err)
	}
	if len(vs.got) != 1 || vs.got[0].Kind != catalog.VersionLive || vs.got[0].MediaID != id {
		t.Fatalf("versions: %+v", vs.got)
	}
	var lv catalog.LiveVersion
	if err := json.Unmarshal(vs.got[0].Body, &lv); err != nil || lv.Engine != "broken" || lv.Words != 5 || lv.Speakers != "engine" {
		t.Errorf("version body %s", vs.got[0].Body)
	}
}
