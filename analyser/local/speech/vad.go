package speech

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"math"
	"os"
	"sort"

	"github.com/landfall/landfall/errcode"
)

// FrameSamples is the VAD frame: 10 ms at 16 kHz, the recogniser's frame
// rate, so frame numbers double as pocketsphinx frame indexes.
const FrameSamples = SampleRate / 100

// Spooled is PCM audio written to a raw file with its per-frame energy.
type Spooled struct {
	Path    string    // raw s16le file
	Samples int64     // samples written
	Energy  []float32 // log energy per 10 ms frame, dB relative to full scale
}

// Seconds is the duration of the spooled audio.
func (s *Spooled) Seconds() float64 { return float64(s.Samples) / SampleRate }

// Spool copies the PCM stream r to rawPath and measures each frame's
// energy on the way, holding one frame in memory. maxSeconds bounds the
// duration (Media.TooLarge past it); 0 means no bound.
func Spool(ctx context.Context, r io.Reader, rawPath string, maxSeconds float64) (*Spooled, error) {
	f, err := os.Create(rawPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 256<<10)
	br := bufio.NewReaderSize(r, 256<<10)
	sp := &Spooled{Path: rawPath}
	buf := make([]byte, FrameSamples*2)
	maxSamples := int64(maxSeconds * SampleRate)
	for {
		if len(sp.Energy)%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, errcode.Wrap(errcode.Canceled, err, "reading audio")
			}
		}
		n, err := io.ReadFull(br, buf)
		n -= n % 2
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil, werr
			}
			sp.Samples += int64(n / 2)
			sp.Energy = append(sp.Energy, frameEnergy(buf[:n]))
			if maxSamples > 0 && sp.Samples > maxSamples {
				return nil, errcode.New(errcode.MediaTooLarge, "audio is longer than the %.0f s limit (max_seconds)", maxSeconds)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return sp, f.Close()
}

// frameEnergy is the frame's mean power in dBFS (-100 for digital silence).
func frameEnergy(b []byte) float32 {
	var sum float64
	n := len(b) / 2
	var mean float64
	for i := 0; i < n; i++ {
		mean += float64(int16(binary.LittleEndian.Uint16(b[2*i:])))
	}
	mean /= float64(n)
	for i := 0; i < n; i++ {
		v := float64(int16(binary.LittleEndian.Uint16(b[2*i:]))) - mean
		sum += v * v
	}
	p := sum / float64(n) / (32768 * 32768)
	if p < 1e-10 {
		return -100
	}
	return float32(10 * math.Log10(p))
}

// VAD holds the voice activity detector's settings, in 10 ms frames and dB.
type VAD struct {
	MinSpeechDB  float64 // absolute floor: quieter frames are never speech
	AboveNoiseDB float64 // a speech frame is this much above the noise floor
	MergeGap     int     // pauses shorter than this are bridged
	MinSpeech    int     // speech runs shorter than this are dropped
	Pad          int     // frames added each side of a region
	// MaxDynamic is the noise-floor test: audio whose loud frames are less
	// than this above its quiet frames is steady noise or a tone, not speech.
	MaxDynamic float64
}

// DefaultVAD suits speech recorded at ordinary levels.
var DefaultVAD = VAD{MinSpeechDB: -55, AboveNoiseDB: 12, MergeGap: 30, MinSpeech: 12, Pad: 15, MaxDynamic: 15}

// Region is a span of frames [Start, End).
type Region struct{ Start, End int }

// Len is the region's length in frames.
func (r Region) Len() int { return r.End - r.Start }

// Regions finds speech in per-frame energies: frames above both the
// absolute floor and the noise floor (the 10th percentile) plus the
// margin, with short pauses bridged, short blips dropped and padding.
func (v VAD) Regions(energy []float32) []Region {
	if len(energy) == 0 {
		return nil
	}
	sorted := append([]float32(nil), energy...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	floor := float64(sorted[len(sorted)/10])
	loud := float64(sorted[len(sorted)*95/100])
	if loud-floor < v.MaxDynamic && len(energy) > 100 {
		// Steady noise, a hum or a tone: no pauses, so no speech to find.
		return nil
	}
	thr := math.Max(v.MinSpeechDB, floor+v.AboveNoiseDB)
	if loud-floor < v.AboveNoiseDB+3 {
		// Speech with hardly any pauses: the 10th percentile is speech.
		thr = math.Max(v.MinSpeechDB, loud-v.AboveNoiseDB-6)
	}
	var rs []Region
	in := false
	start := 0
	for i, e := range energy {
		sp := float64(e) > thr
		switch {
		case sp && !in:
			in, start = true, i
		case !sp && in:
			in = false
			rs = append(rs, Region{start, i})
		}
	}
	if in {
		rs = append(rs, Region{start, len(energy)})
	}
	// Bridge short pauses.
	var merged []Region
	for _, r := range rs {
		if n := len(merged); n > 0 && r.Start-merged[n-1].End < v.MergeGap {
			merged[n-1].End = r.End
			continue
		}
		merged = append(merged, r)
	}
	out := merged[:0]
	for _, r := range merged {
		if r.Len() < v.MinSpeech {
			continue
		}
		r.Start = max(0, r.Start-v.Pad)
		r.End = min(len(energy), r.End+v.Pad)
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			out[n-1].End = r.End
			continue
		}
		out = append(out, r)
	}
	return out
}

// Chunks groups speech regions into decoding units of at most maxFrames,
// cutting only in pauses between regions; a region longer than maxFrames
// is cut at its quietest frame in the second half of each window.
func Chunks(regions []Region, energy []float32, maxFrames int) []Region {
	var split []Region
	for _, r := range regions {
		for r.Len() > maxFrames {
			cut := r.Start + maxFrames/2
			best := float32(math.MaxFloat32)
			for i := r.Start + maxFrames/2; i < r.Start+maxFrames; i++ {
				if energy[i] < best {
					best, cut = energy[i], i
				}
			}
			split = append(split, Region{r.Start, cut})
			r.Start = cut
		}
		split = append(split, r)
	}
	var out []Region
	for _, r := range split {
		if n := len(out); n > 0 && r.End-out[n-1].Start <= maxFrames && r.Start-out[n-1].End < 100 &&
			(r.Len() < 100 || out[n-1].Len() < 100) {
			// A blip under a second joins its neighbour when they are under
			// a second apart: too short to decode well on its own.
			out[n-1].End = r.End
			continue
		}
		out = append(out, r)
	}
	return out
}
