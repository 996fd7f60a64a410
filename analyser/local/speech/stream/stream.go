// Package stream is Landfall's incremental speech recogniser for live
// captions: 16 kHz mono PCM arrives in blocks of any size, an online
// energy voice activity detector opens an utterance when speech starts
// and closes it at a pause, and pocketsphinx decodes each utterance as
// the audio arrives (libpocketsphinx's incremental API through cgo, one
// decoder per stream, the model loaded once per stream).
//
// cgo rather than a long-running pocketsphinx process: the command-line
// tools of the packaged pocketsphinx give a hypothesis only at the end
// of an utterance, while the library's ps_get_hyp and ps_seg_iter give the
// best hypothesis with word frames at any point, which is what partial
// captions are; and decoding in process costs no pipe round trip per
// block. A binary built without cgo (or with the nopocketsphinx tag) says
// so when a stream is opened.
//
// Results follow Amazon Transcribe Streaming: an utterance's partial
// results share its result id until the final one (IsPartial false). The
// words of a partial are a stable prefix followed by the rest: a word is
// stable once it has been hypothesised at the same place in the last
// partials and lies well behind the decoding front; stable words never
// change, in later partials or in the final result. The final result
// decodes the utterance again as batch transcription would (Rescore),
// keeping the stable words.
package stream

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// Word is one recognised word (realtime.Word).
type Word = realtime.Word

// Result is one caption update (realtime.Result).
type Result = realtime.Result

// Config sets a recogniser up.
type Config struct {
	// Files are the model files (speech.Analyser.Prepare).
	Files *speech.Prepared
	// Args are further recogniser arguments; nil means speech.DefaultArgs.
	Args []string
	// Endpoint settings; the zero value means DefaultEndpoint.
	Endpoint Endpoint
	// IDPrefix starts every result id ("<prefix>-<n>").
	IDPrefix string
}

// Endpoint holds the online voice activity detector's settings, in 10 ms
// frames and dB.
type Endpoint struct {
	MinSpeechDB  float64 // quieter frames are never speech
	AboveNoiseDB float64 // a speech frame is this much above the noise floor
	Onset        int     // speech frames in a row that open an utterance
	Pad          int     // frames of audio before the onset fed to the decoder
	Pause        int     // silent frames in a row that close an utterance
	// MaxUtterance closes an utterance this long at its next short pause
	// (ShortPause frames), and cuts it outright at twice the length.
	MaxUtterance int
	ShortPause   int
	// PartialEvery is how often, in frames of audio, a partial result is
	// looked for (one is sent only when the words changed). Audio comes
	// in the client's blocks, so a partial is looked for at most once a
	// block.
	PartialEvery int
	// Stabilize marks words of partial results stable once StableAfter
	// partials in a row agree on them and they end StableLag frames
	// behind the decoding front; stable words never change, in later
	// partials or the final result.
	Stabilize   bool
	StableAfter int
	StableLag   int
	// WarmUp is how many frames of speech the incremental decoder is
	// given before a word may be stable: its live cepstral mean starts
	// from the model's initial one, not the speaker's or the
	// microphone's, and words decoded on it are often wrong ("the
	// morning" for "good morning"); the final result decodes them again.
	WarmUp int
	// Rescore decodes each utterance again when it ends, as the batch
	// recogniser decodes a chunk (the whole utterance at once, normalised
	// by its own cepstral mean, the same search arguments), for its final
	// result: more accurate than the incremental hypothesis, the first
	// words of an utterance especially, at the cost of one more decoding
	// of the utterance, by a second decoder the stream loads when its
	// first utterance ends. With Stabilize the final keeps the stable
	// words and takes the rescored words after them.
	Rescore bool
}

// DefaultEndpoint finalises at half-second pauses, looks for partials
// every 50 ms and rescores each utterance for its final result. (Every
// 50 ms rather than 100: on three turns of the test dialogue fed in 50 ms
// blocks a word first shows in a partial 160 ms of audio after its end at
// the median, 390 ms at p95, against 210 and 460 ms every 100 ms in 100 ms
// blocks, at the same word error rate and no CPU difference benchstat
// could tell at a load average of 20; BenchmarkPartialLag.)
var DefaultEndpoint = Endpoint{MinSpeechDB: -55, AboveNoiseDB: 12, Onset: 3, Pad: 20, Pause: 50,
	MaxUtterance: 1500, ShortPause: 15, PartialEvery: 5, StableAfter: 6, StableLag: 60, WarmUp: 300, Rescore: true}

// FrameSamples is one 10 ms frame.
const FrameSamples = speech.FrameSamples

// segment is a decoder word with frames relative to the utterance start.
type segment struct {
	word   string
	sf, ef int
	conf   float64
}

// Recogniser turns a PCM stream into results. It is not safe for
// concurrent use; Close it to release the decoder.
type Recogniser struct {
	cfg Config
	ep  Endpoint
	dec *psDecoder
	// resc decodes whole utterances for Rescore: a decoder of its own, so
	// that the incremental decoder's state (its live cepstral mean, its
	// noise estimate) is the same as without rescoring, and the whole
	// utterance is normalised by its own mean (once a decoder has decoded
	// block by block, sphinxbase keeps it on the live estimate).
	resc *psDecoder
	tail []byte // bytes of an incomplete frame

	frame     int     // frames seen
	floor     float64 // noise floor estimate, dB
	floorInit bool
	pre       [][]int16 // recent frames kept for padding, idle only
	onset     int       // speech frames in a row while idle

	inUtt      bool
	uttStart   int // frame the utterance starts at
	silent     int // silent frames in a row in the utterance
	pending    []int16
	uttAudio   []int16 // the utterance's audio, for Rescore
	sinceHyp   int
	uttN       int
	fed        int // frames given to the incremental decoder before this utterance
	stable     []Word
	stableEnd  int // utterance frame the last stable word ends at
	history    [][]segment
	lastText   string
	lastResult *Result
}

// New loads the decoder.
func New(cfg Config) (*Recogniser, error) {
	if cfg.Files == nil {
		return nil, errcode.New(errcode.Invalid, "stream: no model files")
	}
	args := cfg.Args
	if args == nil {
		args = speech.DefaultArgs
	}
	dec, err := newPSDecoder(cfg.Files.HMM, cfg.Files.LM, cfg.Files.Dict, args)
	if err != nil {
		return nil, err
	}
	ep := cfg.Endpoint
	if ep == (Endpoint{}) {
		ep = DefaultEndpoint
	}
	r := &Recogniser{cfg: cfg, ep: ep, dec: dec, floor: -100}
	if ep.Rescore {
		// Loaded now rather than when the first utterance ends, where it
		// would delay that utterance's final result.
		if r.resc, err = newPSDecoder(cfg.Files.HMM, cfg.Files.LM, cfg.Files.Dict, args); err != nil {
			dec.free()
			return nil, err
		}
	}
	return r, nil
}

// Seconds is how much audio the recogniser has been given.
func (r *Recogniser) Seconds() float64 { return float64(r.frame) / 100 }

// Write feeds PCM bytes (s16le, 16 kHz mono) and calls emit with each
// result it produces.
func (r *Recogniser) Write(b []byte, emit func(Result)) error {
	const fb = FrameSamples * 2
	if len(r.tail) > 0 {
		need := fb - len(r.tail)
		if len(b) < need {
			r.tail = append(r.tail, b...)
			return nil
		}
		r.tail = append(r.tail, b[:need]...)
		b = b[need:]
		if err := r.frameIn(r.tail, emit); err != nil {
			return err
		}
		r.tail = r.tail[:0]
	}
	for len(b) >= fb {
		if err := r.frameIn(b[:fb], emit); err != nil {
			return err
		}
		b = b[fb:]
	}
	r.tail = append(r.tail, b...)
	if r.inUtt && len(r.pending) > 0 {
		// Decode what arrived now rather than wait for a full partial
		// period: the block boundary is the freshest point there is.
		return r.decodePending(emit)
	}
	return nil
}

func samplesOf(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// frameIn runs the endpoint detector over one frame.
func (r *Recogniser) frameIn(b []byte, emit func(Result)) error {
	e := float64(speech.FrameEnergy(b))
	r.frame++
	if !r.floorInit {
		r.floor, r.floorInit = e, true
	}
	thr := math.Max(r.ep.MinSpeechDB, r.floor+r.ep.AboveNoiseDB)
	speaking := e > thr
	// The noise floor follows quiet frames down at once and rises
	// slowly (2 dB a second), so speech does not lift it.
	if e < r.floor {
		r.floor = e
	} else if !speaking {
		r.floor += 0.02
	} else {
		r.floor += 0.002
	}
	samples := samplesOf(b)
	if !r.inUtt {
		r.pre = append(r.pre, samples)
		if len(r.pre) > r.ep.Pad+r.ep.Onset {
			r.pre = r.pre[1:]
		}
		if speaking {
			r.onset++
		} else {
			r.onset = 0
		}
		if r.onset < r.ep.Onset {
			return nil
		}
		if err := r.dec.startUtt(); err != nil {
			return err
		}
		r.inUtt, r.silent, r.sinceHyp = true, 0, 0
		r.uttStart = r.frame - len(r.pre)
		r.uttN++
		r.stable, r.stableEnd, r.history, r.lastText, r.lastResult = nil, 0, nil, "", nil
		for _, f := range r.pre {
			r.pending = append(r.pending, f...)
		}
		r.pre, r.onset = r.pre[:0], 0
		return nil
	}
	r.pending = append(r.pending, samples...)
	if speaking {
		r.silent = 0
	} else {
		r.silent++
	}
	n := r.frame - r.uttStart
	if r.silent >= r.ep.Pause || (n >= r.ep.MaxUtterance && r.silent >= r.ep.ShortPause) || n >= 2*r.ep.MaxUtterance {
		return r.finish(emit)
	}
	if len(r.pending) >= r.ep.PartialEvery*FrameSamples {
		return r.decodePending(emit)
	}
	return nil
}

// decodePending decodes the audio queued for the utterance and emits a
// partial result when the words changed.
func (r *Recogniser) decodePending(emit func(Result)) error {
	if r.ep.Rescore {
		r.uttAudio = append(r.uttAudio, r.pending...)
	}
	if err := r.dec.process(r.pending); err != nil {
		return err
	}
	r.sinceHyp += len(r.pending) / FrameSamples
	r.pending = r.pending[:0]
	if r.sinceHyp < r.ep.PartialEvery {
		return nil
	}
	r.sinceHyp = 0
	segs := r.words(r.dec.segments())
	res := r.assemble(segs, true)
	if t := res.Text() + stableMarks(res.Words); t != r.lastText && len(res.Words) > 0 {
		r.lastText = t
		r.lastResult = &res
		emit(res)
	}
	return nil
}

func stableMarks(ws []Word) string {
	n := 0
	for _, w := range ws {
		if w.Stable {
			n++
		}
	}
	return fmt.Sprint("|", n)
}

// finish ends the utterance and emits its final result.
func (r *Recogniser) finish(emit func(Result)) error {
	if r.ep.Rescore {
		r.uttAudio = append(r.uttAudio, r.pending...)
	}
	if err := r.dec.process(r.pending); err != nil {
		return err
	}
	r.pending = r.pending[:0]
	if err := r.dec.endUtt(); err != nil {
		return err
	}
	segs := r.words(r.dec.segments())
	if r.resc != nil && len(r.uttAudio) > 0 {
		err := r.resc.decodeWhole(r.uttAudio)
		r.uttAudio = r.uttAudio[:0]
		if err != nil {
			return err
		}
		segs = r.words(r.resc.segments())
		if len(r.stable) > 0 {
			// The stable words stay; the rescored words after them follow.
			segs = segs[r.spliceAt(segs):]
			for i := range segs {
				segs[i].sf = max(segs[i].sf, r.stableEnd)
				segs[i].ef = max(segs[i].ef, segs[i].sf)
			}
		}
	}
	r.inUtt = false
	r.fed += r.frame - r.uttStart
	res := r.assemble(segs, false)
	if len(res.Words) > 0 || r.lastResult != nil {
		emit(res)
	}
	r.pre = r.pre[:0]
	return nil
}

// Close finalises the utterance in progress (emitting its final result)
// and releases the decoder.
func (r *Recogniser) Close(emit func(Result)) error {
	defer func() {
		r.dec.free()
		if r.resc != nil {
			r.resc.free()
		}
	}()
	if r.inUtt {
		return r.finish(emit)
	}
	return nil
}

// words drops fillers and alternate-pronunciation marks.
func (r *Recogniser) words(segs []segment) []segment {
	out := segs[:0]
	for _, s := range segs {
		w := s.word
		if i := strings.IndexByte(w, '('); i > 0 {
			w = w[:i]
		}
		if w == "" || w[0] == '<' || w[0] == '[' || w[0] == '+' {
			continue
		}
		s.word = w
		out = append(out, s)
	}
	return out
}

// assemble builds a result from the decoder's words: the stable words,
// then the hypothesis after them. For a partial it first extends the
// stable prefix with the words the recent partials agree on.
func (r *Recogniser) assemble(segs []segment, partial bool) Result {
	var rest []segment
	for _, s := range segs {
		if s.sf >= r.stableEnd {
			rest = append(rest, s)
		}
	}
	if partial && r.ep.Stabilize {
		r.history = append(r.history, rest)
		if len(r.history) > r.ep.StableAfter {
			r.history = r.history[1:]
		}
		front := r.frame - r.uttStart
		k := 0
		for ; k < len(rest); k++ {
			s := rest[k]
			if s.ef > front-r.ep.StableLag || r.fed+s.sf < r.ep.WarmUp || len(r.history) < r.ep.StableAfter || !r.agreed(s) {
				break
			}
		}
		for _, s := range rest[:k] {
			r.stable = append(r.stable, r.word(s, true))
			r.stableEnd = s.ef + 1
		}
		rest = rest[k:]
	}
	words := append([]Word(nil), r.stable...)
	for _, s := range rest {
		words = append(words, r.word(s, !partial))
	}
	res := Result{ID: fmt.Sprintf("%s%d", r.cfg.IDPrefix, r.uttN), Partial: partial, Words: words,
		Decoded: float64(r.frame) / 100}
	if len(words) > 0 {
		res.Start, res.End = words[0].Start, words[len(words)-1].End
	} else {
		res.Start = float64(r.uttStart) / 100
		res.End = res.Start
	}
	return res
}

// agreed reports whether every partial in the history has s's word at
// about the same place.
func (r *Recogniser) agreed(s segment) bool {
	for _, h := range r.history {
		found := false
		for _, o := range h {
			if o.word == s.word && abs(o.sf-s.sf) <= 3 {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func (r *Recogniser) word(s segment, stable bool) Word {
	c := s.conf
	if !(c >= 0 && c <= 1) {
		c = 1
	}
	return Word{Text: speech.Cased(s.word, r.cfg.Files.Casing),
		Start:      round3(float64(r.uttStart+s.sf) / 100),
		End:        round3(float64(r.uttStart+s.ef+1) / 100),
		Confidence: round3(c), Stable: stable}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// spliceAt is where the stable words end in the rescored words segs: the
// count of rescored words that best align with the stable words (fewest
// word edits; among equals, the one ending nearest the last stable word).
func (r *Recogniser) spliceAt(segs []segment) int {
	n := len(r.stable)
	// d[j] is the edit distance between the stable words and the first j
	// rescored words, computed row by row over the stable words.
	d := make([]int, len(segs)+1)
	prev := make([]int, len(segs)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= n; i++ {
		d[0] = i
		for j := 1; j <= len(segs); j++ {
			cost := 1
			if strings.EqualFold(r.stable[i-1].Text, speech.Cased(segs[j-1].word, r.cfg.Files.Casing)) {
				cost = 0
			}
			d[j] = min(prev[j]+1, d[j-1]+1, prev[j-1]+cost)
		}
		prev, d = d, prev
	}
	best, bestGap := 0, math.MaxInt
	for j := range prev {
		end := 0
		if j > 0 {
			end = segs[j-1].ef + 1
		}
		gap := abs(end - r.stableEnd)
		if prev[j] < prev[best] || (prev[j] == prev[best] && gap < bestGap) {
			best, bestGap = j, gap
		}
	}
	return best
}
