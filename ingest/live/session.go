package live

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/catalog"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/ingest"
	"github.com/landfall/landfall/pipeline"
	"github.com/landfall/landfall/types"
)

// LiveTranscriptName is the live transcript's file beside the batch
// transcript (processed/<tenant>/<media id>/transcript.json).
const LiveTranscriptName = "transcript.live.json"

// blockBytes is the PCM block handed to the recogniser: 100 ms.
const blockBytes = 3200

// Session is one live caption session.
type Session struct {
	m       *Manager
	id      string
	tenant  string
	start   *types.LiveStart
	started time.Time
	work    string // scratch folder: model files, recording
	info    realtime.Info

	// Input side, serialised by inMu.
	inMu     sync.Mutex
	inClosed bool
	first    bool
	recFile  *os.File
	rec      *bufio.Writer
	recBytes int64
	pcm      chan []byte // to the recogniser
	ffIn     *io.PipeWriter
	ffDone   chan error
	pcmBytes atomic.Int64 // PCM received (pcm16) or decoded (containers)
	// decFailed is set when the engine failed: Write reports it.
	decFailed atomic.Bool

	recog   realtime.Stream
	decDone chan struct{}
	decErr  error
	words   []realtime.Word // final words, in order (under mu)
	decoded float64

	// Hub.
	mu      sync.Mutex
	seq     int
	history []types.LiveMessage // started, then finals
	partial *types.LiveMessage  // the latest partial of the open utterance
	endMsg  *types.LiveMessage
	subs    map[*Subscription]struct{}
	ended   time.Time
	mediaID string
	reason  string

	finishOnce sync.Once
	finished   chan struct{}
	limit      *time.Timer
}

func (m *Manager) open(ctx context.Context, tenant string, st *types.LiveStart) (*Session, error) {
	s := &Session{m: m, id: newID(), tenant: tenant, start: st, started: m.opt.Now(), first: true,
		pcm: make(chan []byte, 4), decDone: make(chan struct{}), finished: make(chan struct{}),
		subs: map[*Subscription]struct{}{}}
	var err error
	if s.work, err = os.MkdirTemp(m.opt.TempDir, "live-"); err != nil {
		return nil, fmt.Errorf("live: scratch folder: %w", err)
	}
	fail := func(err error) (*Session, error) {
		os.RemoveAll(s.work)
		return nil, err
	}
	p := realtime.Params{Language: "en-US", Vocabulary: append(append([]string(nil), m.opt.Vocabulary...), st.Vocabulary...),
		DomainText: st.DomainText, Pause: st.Pause, Stability: st.PartialStability, SpeakerLabels: st.SpeakerLabels,
		IDPrefix: s.id + "-", WorkDir: filepath.Join(s.work, "model")}
	if p.DomainText == "" {
		p.DomainText = m.opt.DomainText
	} else if m.opt.DomainText != "" {
		p.DomainText = m.opt.DomainText + "\n" + st.DomainText
	}
	if err := os.MkdirAll(p.WorkDir, 0o755); err != nil {
		return fail(fmt.Errorf("live: scratch folder: %w", err))
	}
	if s.recog, err = m.opt.Engine.Open(ctx, p, s.emit); err != nil {
		return fail(err)
	}
	s.info = s.recog.Info()
	if s.recFile, err = os.Create(filepath.Join(s.work, "recording"+s.ext())); err != nil {
		s.recog.Close(ctx)
		return fail(err)
	}
	s.rec = bufio.NewWriterSize(s.recFile, 64<<10)
	if st.Format == FormatPCM16 {
		// A WAV header whose sizes are set when the session ends.
		_, _ = s.rec.Write(wavHeaderBytes(0))
	} else {
		if err := s.startFFmpeg(); err != nil {
			s.recFile.Close()
			s.recog.Close(ctx)
			return fail(err)
		}
	}
	go s.decode()
	s.limit = time.AfterFunc(time.Duration(m.opt.MaxSeconds*float64(time.Second))+time.Minute, func() {
		s.Finish(ReasonLimit, errcode.New(errcode.TooLarge, "the session passed its time limit (%s)", time.Duration(m.opt.MaxSeconds*float64(time.Second))+time.Minute))
	})
	s.publish(types.LiveMessage{Landfall: types.LiveInfo{Event: "started", Engine: s.info.Engine, LanguageModel: s.info.Model,
		Speakers: s.info.Speakers}}, true)
	m.log.Info("live session started", "session_id", s.id, "tenant", tenant, "format", st.Format, "engine", s.info.Engine, "model", s.info.Model)
	return s, nil
}

// ID is the session id.
func (s *Session) ID() string { return s.id }

// Tenant is the session's tenant.
func (s *Session) Tenant() string { return s.tenant }

// Done is closed when the session has ended and been stored.
func (s *Session) Done() <-chan struct{} { return s.finished }

func (s *Session) ext() string {
	switch s.start.Format {
	case FormatWebM:
		return ".webm"
	case FormatOgg:
		return ".ogg"
	}
	return ".wav"
}

// startFFmpeg decodes the container stream written to s.ffIn into PCM
// blocks for the recogniser.
func (s *Session) startFFmpeg() error {
	if _, err := execx.LookPath("ffmpeg"); err != nil {
		return err
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	s.ffIn = inW
	s.ffDone = make(chan error, 1)
	demux := "matroska"
	if s.start.Format == FormatOgg {
		demux = "ogg"
	}
	go func() {
		_, err := execx.Run(context.Background(), execx.Cmd{Name: "ffmpeg",
			Args: []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-fflags", "nobuffer",
				"-probesize", "32768", "-analyzeduration", "0", "-f", demux, "-i", "pipe:0",
				"-vn", "-ac", "1", "-ar", "16000", "-acodec", "pcm_s16le", "-f", "s16le", "-flush_packets", "1", "pipe:1"},
			Stdin: inR, Stdout: outW})
		if err != nil {
			err = errcode.Wrap(errcode.MediaCorrupt, err, "the %s stream cannot be decoded", s.start.Format)
		}
		inR.CloseWithError(io.ErrClosedPipe)
		outW.CloseWithError(err)
	}()
	go func() {
		// ffmpeg's output in blocks to the recogniser; its end closes pcm.
		defer close(s.pcm)
		buf := make([]byte, blockBytes)
		for {
			n, err := io.ReadFull(outR, buf)
			if n > 0 {
				b := append([]byte(nil), buf[:n]...)
				s.pcmBytes.Add(int64(n))
				select {
				case s.pcm <- b:
				case <-s.decDone:
					outR.CloseWithError(io.ErrClosedPipe)
					s.ffDone <- nil
					return
				}
			}
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				s.ffDone <- nil
				return
			}
			if err != nil {
				s.ffDone <- err
				return
			}
		}
	}()
	return nil
}

// emit takes the engine's results (serially, from any goroutine).
func (s *Session) emit(r realtime.Result) {
	partials := s.start.Partials == nil || *s.start.Partials
	s.mu.Lock()
	if !r.Partial {
		s.words = append(s.words, r.Words...)
	} else if !partials {
		s.mu.Unlock()
		return
	}
	s.decoded = max(s.decoded, r.Decoded)
	s.mu.Unlock()
	s.publishResult(r)
}

// decode hands the PCM blocks to the engine. An engine error ends
// decoding: the blocks still queued are drained (they are in the
// recording) and Write reports the error to the client.
func (s *Session) decode() {
	defer close(s.decDone)
	ctx := context.Background()
	for b := range s.pcm {
		if s.decErr != nil {
			continue // drain
		}
		if err := s.recog.Write(ctx, b); err != nil {
			s.decErr = err
			s.decFailed.Store(true)
		}
	}
	if err := s.recog.Close(ctx); err != nil && s.decErr == nil {
		s.decErr = err
	}
}

// Write takes a block of audio in the session's format. It blocks while
// the recogniser is behind (back-pressure), and returns an error for
// non-audio data (MediaUnsupported), a bad WAV header (Invalid), audio
// past the session's limit (TooLarge: the audio up to the limit is kept)
// or a session that has ended.
func (s *Session) Write(ctx context.Context, b []byte) error {
	s.inMu.Lock()
	defer s.inMu.Unlock()
	if s.inClosed {
		return errcode.New(errcode.FailedPrecond, "live session %s has ended", s.id)
	}
	if s.decFailed.Load() {
		return s.decoderError()
	}
	if len(b) == 0 {
		return nil
	}
	if s.first {
		skip, err := sniff(s.start.Format, b)
		if err != nil {
			return err
		}
		s.first = false
		b = b[skip:]
	}
	if s.start.Format == FormatPCM16 {
		maxBytes := int64(s.m.opt.MaxSeconds * 32000)
		var over error
		if s.pcmBytes.Load()+int64(len(b)) > maxBytes {
			b = b[:max(0, maxBytes-s.pcmBytes.Load())]
			over = errcode.New(errcode.TooLarge, "the session reached its limit of %s of audio", time.Duration(s.m.opt.MaxSeconds*float64(time.Second)))
		}
		if _, err := s.rec.Write(b); err != nil {
			return err
		}
		s.recBytes += int64(len(b))
		s.pcmBytes.Add(int64(len(b)))
		for len(b) > 0 {
			n := min(len(b), blockBytes)
			blk := append([]byte(nil), b[:n]...)
			b = b[n:]
			select {
			case s.pcm <- blk:
			case <-s.decDone:
				return s.decoderError()
			case <-ctx.Done():
				return errcode.Wrap(errcode.Canceled, ctx.Err(), "live session %s", s.id)
			}
		}
		return over
	}
	// A container: recorded as received, decoded by ffmpeg.
	maxBytes := int64(s.m.opt.MaxSeconds * 32000)
	if s.pcmBytes.Load() >= maxBytes {
		return errcode.New(errcode.TooLarge, "the session reached its limit of %s of audio", time.Duration(s.m.opt.MaxSeconds*float64(time.Second)))
	}
	if _, err := s.rec.Write(b); err != nil {
		return err
	}
	s.recBytes += int64(len(b))
	s.inMu.Unlock()
	_, err := s.ffIn.Write(b)
	s.inMu.Lock()
	if err != nil {
		select {
		case ferr := <-s.ffDone:
			s.ffDone <- ferr
			if ferr != nil {
				return ferr
			}
		default:
		}
		return errcode.Wrap(errcode.MediaCorrupt, err, "the %s stream cannot be decoded", s.start.Format)
	}
	return nil
}

func (s *Session) decoderError() error {
	if s.decErr != nil {
		return s.decErr
	}
	return errcode.New(errcode.FailedPrecond, "live session %s: the recogniser stopped", s.id)
}

// AudioSeconds is the audio received so far.
func (s *Session) AudioSeconds() float64 {
	return float64(s.pcmBytes.Load()) / 32000
}

// Finish ends the session (once; later calls wait for the first): the
// recogniser's last final result is sent, the recording stored as a media
// item (unless the start message said store: false, or no audio came),
// the live transcript written beside it, and "ended" sent to every viewer.
// cause is the error that ended it, if any. Nothing received before
// Finish is lost, whatever the reason.
func (s *Session) Finish(reason string, cause error) *types.LiveMessage {
	s.finishOnce.Do(func() { s.finish(reason, cause) })
	<-s.finished
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endMsg
}

func (s *Session) finish(reason string, cause error) {
	defer close(s.finished)
	defer os.RemoveAll(s.work)
	s.limit.Stop()
	log := s.m.log.With("session_id", s.id, "tenant", s.tenant)
	s.inMu.Lock()
	s.inClosed = true
	if s.ffIn != nil {
		s.ffIn.Close() // ffmpeg drains, then closes pcm
	} else {
		close(s.pcm)
	}
	s.inMu.Unlock()
	<-s.decDone
	if s.ffDone != nil {
		if err := <-s.ffDone; err != nil && cause == nil && s.recBytes > 0 {
			cause = err
		}
	}
	if s.decErr != nil && cause == nil {
		cause = s.decErr
	}
	s.mu.Lock()
	nwords := len(s.words)
	s.mu.Unlock()
	info := types.LiveInfo{Event: "ended", Reason: reason, Words: nwords}
	if cause != nil {
		info.Error = errcode.MessageOf(cause)
		if info.Error == "" {
			info.Error = cause.Error()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if id, err := s.store(ctx); err != nil {
		log.Error("live session: storing the recording failed", "err", err)
		if info.Error == "" {
			info.Error = "storing the recording: " + errcode.MessageOf(err)
		}
	} else {
		info.MediaID = id
	}
	s.mu.Lock()
	s.ended, s.mediaID, s.reason = s.m.opt.Now(), info.MediaID, reason
	s.mu.Unlock()
	s.publish(types.LiveMessage{Landfall: info}, true)
	s.mu.Lock()
	for sub := range s.subs {
		sub.closeLocked(nil)
	}
	s.mu.Unlock()
	s.m.ended(s)
	log.Info("live session ended", "reason", reason, "media_id", info.MediaID, "audio_seconds", float64(s.pcmBytes.Load())/32000, "words", nwords, "err", info.Error)
}

// store uploads the recording and writes the live transcript beside it;
// it returns the media id ("" when there was nothing to store).
func (s *Session) store(ctx context.Context) (string, error) {
	if err := s.rec.Flush(); err != nil {
		s.recFile.Close()
		return "", err
	}
	if s.start.Format == FormatPCM16 {
		if _, err := s.recFile.WriteAt(wavHeaderBytes(s.recBytes), 0); err != nil {
			s.recFile.Close()
			return "", err
		}
	}
	defer s.recFile.Close()
	if s.recBytes == 0 || (s.start.Store != nil && !*s.start.Store) {
		return "", nil
	}
	if _, err := s.recFile.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	size := s.recBytes
	if s.start.Format == FormatPCM16 {
		size += 44
	}
	name := s.start.Filename
	if name == "" {
		name = "live-" + s.started.UTC().Format("20060102-150405") + s.ext()
	} else if !strings.HasSuffix(strings.ToLower(name), s.ext()) {
		name += s.ext()
	}
	ct := map[string]string{FormatPCM16: "audio/wav", FormatWebM: "audio/webm", FormatOgg: "audio/ogg"}[s.start.Format]
	m, err := s.m.opt.Uploads.Upload(ctx, &ingest.UploadParams{Tenant: s.tenant, Filename: name, ContentType: ct, Size: size,
		Body: s.recFile, Vocabulary: s.start.Vocabulary})
	if err != nil {
		return "", err
	}
	if s.m.opt.Bucket != nil {
		k, err := pipeline.ProcessedKey(s.tenant, m.ID, LiveTranscriptName)
		if err != nil {
			return m.ID, err
		}
		b, err := json.Marshal(s.Transcript())
		if err != nil {
			return m.ID, err
		}
		if err := s.m.opt.Bucket.WriteAll(ctx, k.String(), b, nil); err != nil {
			return m.ID, fmt.Errorf("writing the live transcript: %w", err)
		}
		if s.m.opt.Versions != nil {
			s.mu.Lock()
			nwords := len(s.words)
			s.mu.Unlock()
			body, _ := json.Marshal(catalog.LiveVersion{Transcript: k.String(), SessionID: s.id, Engine: s.info.Engine,
				Model: s.info.Model, Speakers: s.info.Speakers, Words: nwords, AudioSeconds: round3(s.AudioSeconds())})
			if _, err := s.m.opt.Versions.MediaVersionAdd(ctx, &catalog.MediaVersionAddParams{TenantID: s.tenant, MediaID: m.ID,
				Kind: catalog.VersionLive, Author: "landfall", Body: body,
				Note: fmt.Sprintf("live captions of session %s (%s)", s.id, s.info.Engine)}); err != nil {
				s.m.log.Warn("live session: the live transcript is kept as a file only, not as a media version", "session_id", s.id,
					"media_id", m.ID, "err", err)
			}
		}
	}
	return m.ID, nil
}

// Transcript is the session's final words as a transcript (segments at
// pauses), valid once the session has ended.
func (s *Session) Transcript() *types.Transcript {
	s.mu.Lock()
	words := append([]realtime.Word(nil), s.words...)
	s.mu.Unlock()
	hyps := make([]speech.Hyp, len(words))
	for i, w := range words {
		hyps[i] = speech.Hyp{Word: w.Text, Start: w.Start, End: w.End, Confidence: w.Confidence}
	}
	t := &types.Transcript{Language: "en-US", Engine: s.info.Engine + "+live", Duration: float64(s.pcmBytes.Load()) / 32000}
	speech.Assemble(t, hyps, nil, s.start.Pause)
	for i, w := range words {
		if w.Speaker != "" && i < len(t.Words) {
			t.Words[i].Speaker = w.Speaker
		}
	}
	for i := range t.Segments {
		sg := &t.Segments[i]
		if sg.WordCount > 0 {
			sg.Speaker = t.Words[sg.FirstWord].Speaker
		}
	}
	return t
}

// Describe summarises the session.
func (s *Session) Describe() types.LiveSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := types.LiveSession{ID: s.id, Started: s.started.UTC().Format(time.RFC3339), Viewers: len(s.subs),
		MediaID: s.mediaID, Reason: s.reason, CaptionsURL: "/v1/live/" + s.id + "/captions"}
	if !s.ended.IsZero() {
		d.Ended = s.ended.UTC().Format(time.RFC3339)
	}
	d.AudioSeconds = float64(s.pcmBytes.Load()) / 32000
	return d
}

// wavHeaderBytes is a canonical 44-byte header of 16 kHz mono 16-bit PCM
// with n bytes of data.
func wavHeaderBytes(n int64) []byte {
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(min(n+36, 0xFFFFFFFF)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], 16000)
	binary.LittleEndian.PutUint32(h[28:], 32000)
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(min(n, 0xFFFFFFFF)))
	return h
}
