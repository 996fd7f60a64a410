package diarise

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"math/cmplx"
)

// MFCCConfig sets up the feature extractor. Times are in samples of
// 16 kHz audio.
type MFCCConfig struct {
	SampleRate  int     // 16000
	FrameLen    int     // window, 400 (25 ms)
	Hop         int     // step, 160 (10 ms)
	FFTSize     int     // 512, a power of two ≥ FrameLen
	Filters     int     // mel filters, 26
	Coeffs      int     // cepstral coefficients kept, 13 (c0..c12)
	LowHz       float64 // lowest filter edge, 64
	HighHz      float64 // highest filter edge, 8000
	PreEmphasis float64 // 0.97
}

// DefaultMFCC is the usual speech front end.
var DefaultMFCC = MFCCConfig{SampleRate: 16000, FrameLen: 400, Hop: 160, FFTSize: 512, Filters: 26, Coeffs: 13, LowHz: 64, HighHz: 8000, PreEmphasis: 0.97}

// MFCC computes mel-frequency cepstral coefficients frame by frame.
type MFCC struct {
	cfg     MFCCConfig
	window  []float64
	fbank   [][]float64 // Filters × (FFTSize/2+1)
	dct     [][]float64 // Coeffs × Filters
	fft     *fft
	buf     []float64 // samples waiting to be framed (pre-emphasised)
	prev    float64   // last raw sample, for pre-emphasis
	started bool
	spec    []complex128
	power   []float64
	mel     []float64
}

// NewMFCC builds the window, filterbank and DCT for cfg.
func NewMFCC(cfg MFCCConfig) *MFCC {
	m := &MFCC{cfg: cfg, fft: newFFT(cfg.FFTSize)}
	m.window = make([]float64, cfg.FrameLen)
	for i := range m.window {
		m.window[i] = 0.54 - 0.46*math.Cos(2*math.Pi*float64(i)/float64(cfg.FrameLen-1))
	}
	bins := cfg.FFTSize/2 + 1
	mel := func(f float64) float64 { return 2595 * math.Log10(1+f/700) }
	imel := func(m float64) float64 { return 700 * (math.Pow(10, m/2595) - 1) }
	lo, hi := mel(cfg.LowHz), mel(math.Min(cfg.HighHz, float64(cfg.SampleRate)/2))
	edges := make([]float64, cfg.Filters+2) // in FFT bins (fractional)
	for i := range edges {
		f := imel(lo + (hi-lo)*float64(i)/float64(cfg.Filters+1))
		edges[i] = f * float64(cfg.FFTSize) / float64(cfg.SampleRate)
	}
	m.fbank = make([][]float64, cfg.Filters)
	for j := 0; j < cfg.Filters; j++ {
		row := make([]float64, bins)
		l, c, r := edges[j], edges[j+1], edges[j+2]
		for k := 0; k < bins; k++ {
			x := float64(k)
			switch {
			case x > l && x <= c:
				row[k] = (x - l) / (c - l)
			case x > c && x < r:
				row[k] = (r - x) / (r - c)
			}
		}
		m.fbank[j] = row
	}
	m.dct = make([][]float64, cfg.Coeffs)
	for i := range m.dct {
		m.dct[i] = make([]float64, cfg.Filters)
		scale := math.Sqrt(2 / float64(cfg.Filters))
		if i == 0 {
			scale = math.Sqrt(1 / float64(cfg.Filters))
		}
		for j := range m.dct[i] {
			m.dct[i][j] = scale * math.Cos(math.Pi*float64(i)*(float64(j)+0.5)/float64(cfg.Filters))
		}
	}
	m.spec = make([]complex128, cfg.FFTSize)
	m.power = make([]float64, bins)
	m.mel = make([]float64, cfg.Filters)
	return m
}

// Push adds samples (scaled to -1..1) and calls emit for each complete
// frame with its coefficients and log energy (dBFS). The coefficient
// slice is reused: copy what you keep.
func (m *MFCC) Push(samples []float64, emit func(coeffs []float64, energyDB float64)) {
	for _, s := range samples {
		v := s
		if m.started {
			v = s - m.cfg.PreEmphasis*m.prev
		}
		m.prev, m.started = s, true
		m.buf = append(m.buf, v)
		if len(m.buf) >= m.cfg.FrameLen {
			m.frame(m.buf[:m.cfg.FrameLen], emit)
			m.buf = append(m.buf[:0], m.buf[m.cfg.Hop:]...)
		}
	}
}

func (m *MFCC) frame(x []float64, emit func([]float64, float64)) {
	var energy float64
	for i := range m.spec {
		if i < len(x) {
			m.spec[i] = complex(x[i]*m.window[i], 0)
			energy += x[i] * x[i]
		} else {
			m.spec[i] = 0
		}
	}
	m.fft.transform(m.spec)
	for k := range m.power {
		a := cmplx.Abs(m.spec[k])
		m.power[k] = a * a / float64(m.cfg.FFTSize)
	}
	for j, row := range m.fbank {
		var e float64
		for k, w := range row {
			if w != 0 {
				e += w * m.power[k]
			}
		}
		m.mel[j] = math.Log(math.Max(e, 1e-10))
	}
	out := make([]float64, m.cfg.Coeffs)
	for i, row := range m.dct {
		var c float64
		for j, w := range row {
			c += w * m.mel[j]
		}
		out[i] = c
	}
	db := -100.0
	if p := energy / float64(len(x)); p > 1e-10 {
		db = 10 * math.Log10(p)
	}
	emit(out, db)
}

// Features are the per-frame coefficients and energies of a whole file,
// stored flat (an hour is 360 000 frames: 19 MB of coefficients).
type Features struct {
	Dim    int       // coefficients per frame
	Data   []float32 // frames × Dim, row major
	Energy []float32 // dBFS per frame
}

// Frames is the number of frames.
func (f *Features) Frames() int { return len(f.Energy) }

// Frame returns frame i's coefficients.
func (f *Features) Frame(i int) []float32 { return f.Data[i*f.Dim : (i+1)*f.Dim] }

// Extract reads s16le mono PCM from r and returns its features.
func Extract(r io.Reader, cfg MFCCConfig) (*Features, error) {
	m := NewMFCC(cfg)
	f := &Features{Dim: cfg.Coeffs}
	br := bufio.NewReaderSize(r, 64<<10)
	raw := make([]byte, 32<<10)
	samples := make([]float64, 0, len(raw)/2)
	emit := func(c []float64, e float64) {
		for _, v := range c {
			f.Data = append(f.Data, float32(v))
		}
		f.Energy = append(f.Energy, float32(e))
	}
	carry := -1
	for {
		n, err := br.Read(raw)
		samples = samples[:0]
		i := 0
		if carry >= 0 && n > 0 {
			samples = append(samples, float64(int16(uint16(carry)|uint16(raw[0])<<8))/32768)
			i, carry = 1, -1
		}
		for ; i+1 < n; i += 2 {
			samples = append(samples, float64(int16(binary.LittleEndian.Uint16(raw[i:])))/32768)
		}
		if i < n {
			carry = int(raw[i])
		}
		m.Push(samples, emit)
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fft is an iterative radix-2 complex FFT of a fixed size.
type fft struct {
	n       int
	twiddle []complex128
	rev     []int
}

func newFFT(n int) *fft {
	f := &fft{n: n, twiddle: make([]complex128, n/2), rev: make([]int, n)}
	for i := range f.twiddle {
		f.twiddle[i] = cmplx.Rect(1, -2*math.Pi*float64(i)/float64(n))
	}
	bits := 0
	for 1<<bits < n {
		bits++
	}
	for i := range f.rev {
		r := 0
		for b := 0; b < bits; b++ {
			if i&(1<<b) != 0 {
				r |= 1 << (bits - 1 - b)
			}
		}
		f.rev[i] = r
	}
	return f
}

func (f *fft) transform(x []complex128) {
	for i, r := range f.rev {
		if i < r {
			x[i], x[r] = x[r], x[i]
		}
	}
	for size := 2; size <= f.n; size <<= 1 {
		half := size / 2
		step := f.n / size
		for start := 0; start < f.n; start += size {
			for k := 0; k < half; k++ {
				t := f.twiddle[k*step] * x[start+k+half]
				x[start+k+half] = x[start+k] - t
				x[start+k] += t
			}
		}
	}
}
