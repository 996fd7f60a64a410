// Package diarise is Landfall's offline speaker diarisation analyser
// (analyser.diarise.bic), in pure Go: MFCC features (pre-emphasis,
// Hamming-windowed frames, FFT, mel filterbank, DCT), speech found at
// pauses (by frame energy, or from the transcript's word times), cut into
// pieces of a few seconds, then clustered.
//
// By default the pieces are clustered on GMM-UBM supervectors fitted per
// file (supervector.go), which tells apart voices whose average spectra
// are alike (two male voices with different accents), and the number of
// speakers is estimated from the likelihood each further speaker gains.
// With {"method": "bic"} (and for audio past MaxSupervectorPieces) the
// older method runs: agglomerative clustering with the Bayesian
// information criterion over full-covariance Gaussians of c1..c12. The dendrogram is cut below its final run of positive ΔBIC
// merges (within min/max speakers); ΔBIC counts are capped at 20 s of
// frames so voices with minutes of speech still merge; pieces under a
// second join the cluster most likely to have produced them; audio past
// a few hundred pieces is clustered in blocks after speaker-change
// detection. Speaker labels spk_0… (in order of first appearance) are
// written on the transcript's words and segments, with a speakers list of
// seconds each.
package diarise

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// ID is the analyser's registered id.
const ID = "analyser.diarise.bic"

//go:embed schema.json
var outputSchema []byte

// Options are the analyser's settings. Unknown keys are errors.
type Options struct {
	MinSpeakers int     `json:"min_speakers,omitempty"`  // default 1
	MaxSpeakers int     `json:"max_speakers,omitempty"`  // default 0: as many as BIC finds
	Lambda      float64 `json:"lambda,omitempty"`        // BIC penalty weight; default 2.5 (tuned on synthetic voices)
	PieceLen    float64 `json:"piece_seconds,omitempty"` // longest piece clustered; default 5 s (supervector), 2.5 s (bic)
	// Method is "supervector" (GMM-UBM supervectors, cosine similarity,
	// silhouette speaker count; the default) or "bic" (full-covariance
	// Gaussians and ΔBIC).
	Method string `json:"method,omitempty"`
}

// Turn is a stretch of speech by one speaker.
type Turn struct {
	Speaker string  `json:"speaker"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
}

// Output is the diarised transcript plus the speaker turns found in the
// audio (which exist also where no words were recognised). Fields of the
// transcribe result that a transcript does not model (keywords, the
// language model used…) pass through unchanged.
type Output struct {
	types.Transcript
	Turns []Turn `json:"turns"`
	// Extra holds the transcribe result's other top-level fields.
	Extra map[string]json.RawMessage `json:"-"`
}

// MarshalJSON writes the transcript fields and turns, then Extra's fields
// that they do not already name.
func (o Output) MarshalJSON() ([]byte, error) {
	type plain struct {
		types.Transcript
		Turns []Turn `json:"turns"`
	}
	b, err := json.Marshal(plain{o.Transcript, o.Turns})
	if err != nil || len(o.Extra) == 0 {
		return b, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range o.Extra {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	return json.Marshal(m)
}

// Analyser is the BIC diariser.
type Analyser struct{}

func init() { analyser.Register(&Analyser{}) }

// Spec describes the analyser.
func (a *Analyser) Spec() analyser.Spec {
	return analyser.Spec{
		ID:           ID,
		Task:         analyser.TaskDiarise,
		Provider:     "local",
		Summary:      "Offline speaker diarisation: MFCC features, GMM-UBM supervector clustering with speaker-count estimation (or BIC); labels the transcript's words and segments spk_0…",
		Kinds:        []types.Kind{types.KindAudio, types.KindVideo},
		Requires:     []string{"ffmpeg"},
		OutputSchema: outputSchema,
		Options:      optionsSpec,
	}
}

// optionsSpec declares the options.
var optionsSpec = []analyser.Option{
	{Name: "min_speakers", Type: analyser.OptionInteger, Default: 1, Min: analyser.Bound(1), Max: analyser.Bound(30),
		Description: "fewest speakers to label"},
	{Name: "max_speakers", Type: analyser.OptionInteger, Min: analyser.Bound(1), Max: analyser.Bound(30),
		Description: "most speakers to label; absent: as many as BIC finds"},
	{Name: "lambda", Type: analyser.OptionNumber, Default: 2.5, Min: analyser.Bound(0), ExclusiveMin: true, Max: analyser.Bound(10),
		Description: "BIC penalty weight (higher merges more)"},
	{Name: "method", Type: analyser.OptionString, Enum: []string{"supervector", "bic"}, Default: "supervector",
		Description: "clustering: GMM-UBM supervectors (tells similar voices apart) or BIC over single Gaussians"},
	{Name: "piece_seconds", Type: analyser.OptionNumber, Min: analyser.Bound(0.5), Max: analyser.Bound(30),
		Description: "longest piece of speech clustered, in seconds; absent: 5 with supervectors (a piece must hold enough of a voice to move the mixture), 2.5 with bic"},
}

// ParseOptions decodes and checks raw options by the spec; errors name
// the analyser and the JSON pointer.
func ParseOptions(raw json.RawMessage) (Options, error) {
	var o Options
	spec := (&Analyser{}).Spec()
	if err := analyser.DecodeOptions(spec, raw, &o); err != nil {
		return o, err
	}
	if o.MaxSpeakers > 0 && o.MinSpeakers > o.MaxSpeakers {
		return o, analyser.OptionError(spec, "min_speakers", "%d is more than max_speakers %d", o.MinSpeakers, o.MaxSpeakers)
	}
	return o, nil
}

// transcriptOf reads Results["transcribe"] (any transcribe provider's
// output carries the types.Transcript fields) and its other top-level
// fields; nil when absent.
func transcriptOf(in *analyser.Input) (*types.Transcript, map[string]json.RawMessage, error) {
	raw, ok := in.Results["transcribe"]
	if !ok || len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	var t types.Transcript
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, nil, errcode.Wrap(errcode.Invalid, err, "/results/transcribe: not a transcript")
	}
	var extra map[string]json.RawMessage
	if err := json.Unmarshal(raw, &extra); err != nil {
		return nil, nil, errcode.Wrap(errcode.Invalid, err, "/results/transcribe: not an object")
	}
	for _, k := range []string{"language", "duration", "text", "words", "segments", "speakers", "engine", "turns"} {
		delete(extra, k)
	}
	for i, w := range t.Words {
		if !(w.End >= w.Start) || w.Start < 0 || math.IsInf(w.End, 0) {
			return nil, nil, errcode.New(errcode.Invalid, "/results/transcribe/words/%d: times %v..%v are not a span", i, w.Start, w.End)
		}
	}
	for i, s := range t.Segments {
		if s.FirstWord < 0 || s.WordCount < 0 || s.FirstWord+s.WordCount > len(t.Words) {
			return nil, nil, errcode.New(errcode.Invalid, "/results/transcribe/segments/%d: words %d+%d outside the %d words", i, s.FirstWord, s.WordCount, len(t.Words))
		}
	}
	return &t, extra, nil
}

// Run diarises the input.
func (a *Analyser) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	return a.Diarise(ctx, env, in)
}

// Diarise is Run with a typed result.
func (a *Analyser) Diarise(ctx context.Context, env *analyser.Env, in *analyser.Input) (*Output, error) {
	opts, err := ParseOptions(in.Options)
	if err != nil {
		return nil, err
	}
	tr, extra, err := transcriptOf(in)
	if err != nil {
		return nil, err
	}
	path, err := speech.AudioPath(in)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	pcm, err := speech.OpenPCM(ctx, path)
	if err != nil {
		return nil, err
	}
	feats, err := Extract(ctxReader{ctx, pcm}, DefaultMFCC)
	cerr := pcm.Close()
	if err != nil {
		if ctx.Err() != nil {
			return nil, errcode.Wrap(errcode.Canceled, ctx.Err(), "diarise")
		}
		if errcode.Of(err) != errcode.Unknown {
			return nil, err // the decoder's own verdict (Media.Empty, Media.Corrupt…)
		}
		return nil, errcode.Wrap(errcode.MediaCorrupt, err, "reading audio of %s", path)
	}
	if cerr != nil {
		return nil, cerr
	}
	out := &Output{Turns: []Turn{}, Extra: extra}
	if tr != nil {
		out.Transcript = *tr
	} else {
		out.Transcript = types.Transcript{Words: []types.Word{}, Segments: []types.Segment{}}
	}
	out.Duration = math.Round(float64(len(feats.Energy))) / 100
	if tr != nil && tr.Duration > 0 {
		out.Duration = tr.Duration
	}

	regions := speechRegions(feats, tr)
	pieceLen := opts.PieceLen
	if pieceLen == 0 {
		pieceLen = 5
		if opts.Method == "bic" {
			pieceLen = 2.5
		}
	}
	pieces := cutPieces(regions, int(pieceLen*100))
	if len(pieces) == 0 {
		out.Speakers = []types.Speaker{}
		return out, nil
	}
	segStats := make([]*stats, len(pieces))
	for i, p := range pieces {
		s := newStats(DefaultMFCC.Coeffs - 1)
		for f := p.Start; f < p.End && f < feats.Frames(); f++ {
			s.add(feats.Frame(f)[1:]) // c1..c12: c0 is loudness, not voice
		}
		segStats[i] = s
	}
	var labels []int
	if opts.Method == "bic" || len(pieces) > MaxSupervectorPieces {
		labels = clusterPieces(segStats, Cluster{Lambda: opts.Lambda, Ridge: 1e-3, Cap: 2000, MinSpeakers: opts.MinSpeakers, MaxSpeakers: opts.MaxSpeakers})
	} else {
		frames := make([][][]float64, len(pieces))
		for i, p := range pieces {
			for f := p.Start; f < p.End && f < feats.Frames(); f++ {
				row := make([]float64, DefaultMFCC.Coeffs-1)
				for d, v := range feats.Frame(f)[1:] {
					row[d] = float64(v)
				}
				frames[i] = append(frames[i], row)
			}
		}
		labels = clusterSupervectors(frames, minModelled, SupervectorConfig{MinSpeakers: opts.MinSpeakers, MaxSpeakers: opts.MaxSpeakers})
	}

	for i, p := range pieces {
		t := Turn{Speaker: label(labels[i]), Start: float64(p.Start) / 100, End: float64(p.End) / 100}
		if n := len(out.Turns); n > 0 && out.Turns[n-1].Speaker == t.Speaker && t.Start-out.Turns[n-1].End < 1.0 {
			out.Turns[n-1].End = t.End
			continue
		}
		out.Turns = append(out.Turns, t)
	}
	Apply(&out.Transcript, out.Turns)
	env.Record(analyser.Usage{Analyser: ID, AudioSeconds: float64(len(feats.Energy)) / 100})
	env.Log().Info("diarise: done", "media_id", in.MediaID, "speakers", len(out.Speakers), "pieces", len(pieces),
		"wall", time.Since(started).Round(time.Millisecond))
	return out, nil
}

func label(i int) string { return fmt.Sprintf("spk_%d", i) }

// minModelled is the shortest piece (in frames) clustered: shorter ones
// ("Thanks.") hold too few frames for a full covariance and join the
// cluster under whose Gaussian they are most likely.
const minModelled = 100

// clusterPieces clusters the pieces of at least minModelled frames, then
// assigns each shorter piece to the most likely cluster.
func clusterPieces(segs []*stats, c Cluster) []int {
	var long []int
	for i, s := range segs {
		if s.n >= minModelled {
			long = append(long, i)
		}
	}
	if len(long) == 0 || len(long) == len(segs) {
		return c.RunLarge(segs)
	}
	sub := make([]*stats, len(long))
	for k, i := range long {
		sub[k] = segs[i]
	}
	subLabels := c.RunLarge(sub)
	k := 0
	for _, l := range subLabels {
		k = max(k, l+1)
	}
	pooled := make([]*stats, k)
	labels := make([]int, len(segs))
	for i := range labels {
		labels[i] = -1
	}
	for j, i := range long {
		l := subLabels[j]
		labels[i] = l
		if pooled[l] == nil {
			pooled[l] = segs[i]
		} else {
			pooled[l] = pooled[l].merged(segs[i])
		}
	}
	gs := make([]gaussian, k)
	for l, p := range pooled {
		gs[l] = p.gaussian(c.Ridge)
	}
	for i, s := range segs {
		if labels[i] >= 0 {
			continue
		}
		best, bestLL := 0, math.Inf(-1)
		for l, g := range gs {
			if ll := g.logLik(s); ll > bestLL {
				best, bestLL = l, ll
			}
		}
		labels[i] = best
	}
	return renumber(labels)
}

// speechRegions are the stretches to diarise, in 10 ms frames: the energy
// detector's speech regions, which cover whole turns; when it finds none
// (speech under steady noise), the transcript's words joined across
// pauses under 0.3 s.
func speechRegions(f *Features, tr *types.Transcript) []speech.Region {
	if rs := speech.DefaultVAD.Regions(f.Energy); len(rs) > 0 || tr == nil {
		return rs
	}
	n := len(f.Energy)
	var rs []speech.Region
	for _, w := range tr.Words {
		s := min(n, max(0, int(math.Round(w.Start*100))))
		e := min(n, max(s, int(math.Round(w.End*100))))
		if e <= s {
			continue
		}
		if k := len(rs); k > 0 && s-rs[k-1].End < 30 {
			rs[k-1].End = max(rs[k-1].End, e)
			continue
		}
		rs = append(rs, speech.Region{Start: s, End: e})
	}
	return rs
}

// cutPieces splits regions into near-equal pieces of at most maxLen
// frames; pieces under 0.3 s are dropped (too short to model).
func cutPieces(rs []speech.Region, maxLen int) []speech.Region {
	var out []speech.Region
	for _, r := range rs {
		if r.Len() < 30 {
			continue
		}
		k := (r.Len() + maxLen - 1) / maxLen
		step := r.Len() / k
		for i := 0; i < k; i++ {
			s := r.Start + i*step
			e := s + step
			if i == k-1 {
				e = r.End
			}
			out = append(out, speech.Region{Start: s, End: e})
		}
	}
	return out
}

// Apply writes speaker labels on t: each word takes the speaker of the
// turn it overlaps most (the nearest turn when none), segments are split
// where the speaker changes, and the speakers list sums turn seconds.
func Apply(t *types.Transcript, turns []Turn) {
	for i := range t.Words {
		t.Words[i].Speaker = speakerAt(turns, t.Words[i].Start, t.Words[i].End)
	}
	if len(t.Words) > 0 {
		var segs []types.Segment
		var texts []string
		for _, s := range t.Segments {
			if s.WordCount <= 0 || s.FirstWord < 0 || s.FirstWord+s.WordCount > len(t.Words) {
				continue
			}
			first := s.FirstWord
			end := s.FirstWord + s.WordCount
			for i := first + 1; i <= end; i++ {
				if i == end || t.Words[i].Speaker != t.Words[i-1].Speaker {
					seg := types.Segment{ID: len(segs), Start: t.Words[first].Start, End: t.Words[i-1].End,
						Speaker: t.Words[first].Speaker, FirstWord: first, WordCount: i - first}
					if first == s.FirstWord && i == end {
						seg.Text = s.Text // unsplit: keep the recogniser's text
					} else {
						seg.Text = sentence(t.Words[first:i])
					}
					segs = append(segs, seg)
					texts = append(texts, seg.Text)
					first = i
				}
			}
		}
		if segs != nil {
			t.Segments = segs
			t.Text = strings.Join(texts, " ")
		}
	}
	secs := map[string]float64{}
	for _, tu := range turns {
		secs[tu.Speaker] += tu.End - tu.Start
	}
	t.Speakers = make([]types.Speaker, 0, len(secs))
	for l, s := range secs {
		t.Speakers = append(t.Speakers, types.Speaker{Label: l, Seconds: math.Round(s*100) / 100})
	}
	sort.Slice(t.Speakers, func(i, j int) bool { return speakerIndex(t.Speakers[i].Label) < speakerIndex(t.Speakers[j].Label) })
}

func speakerIndex(l string) int {
	var n int
	fmt.Sscanf(l, "spk_%d", &n)
	return n
}

func speakerAt(turns []Turn, start, end float64) string {
	best, bestOv := "", 0.0
	nearest, nearestD := "", math.Inf(1)
	for _, tu := range turns {
		ov := math.Min(end, tu.End) - math.Max(start, tu.Start)
		if ov > bestOv {
			best, bestOv = tu.Speaker, ov
		}
		d := math.Max(tu.Start-end, start-tu.End)
		if d < nearestD {
			nearest, nearestD = tu.Speaker, d
		}
	}
	if best != "" {
		return best
	}
	return nearest
}

// sentence joins words into text with a capital first letter and a full
// stop.
func sentence(ws []types.Word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.Text
	}
	s := strings.Join(parts, " ")
	if s == "" {
		return s
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "?") && !strings.HasSuffix(s, "!") {
		s += "."
	}
	return s
}

// ctxReader stops reading when ctx is cancelled.
type ctxReader struct {
	ctx context.Context
	r   interface{ Read([]byte) (int, error) }
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

var _ analyser.Analyser = (*Analyser)(nil)
