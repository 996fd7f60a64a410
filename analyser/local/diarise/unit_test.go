package diarise

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/internal/mediagen"
	"github.com/landfall/landfall/types"
)

func TestFFTMatchesDFT(t *testing.T) {
	const n = 64
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]complex128, n)
	for i := range x {
		x[i] = complex(r.Float64()-0.5, r.Float64()-0.5)
	}
	want := make([]complex128, n)
	for k := range want {
		for j, v := range x {
			want[k] += v * cmplx.Rect(1, -2*math.Pi*float64(j*k)/n)
		}
	}
	got := append([]complex128(nil), x...)
	newFFT(n).transform(got)
	for k := range got {
		if cmplx.Abs(got[k]-want[k]) > 1e-9 {
			t.Fatalf("bin %d: %v, want %v", k, got[k], want[k])
		}
	}
}

// pcm renders samples (−1..1) as s16le bytes.
func pcm(samples []float64) []byte {
	b := make([]byte, 2*len(samples))
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(math.Round(s*32767))))
	}
	return b
}

func sine(freq float64, seconds float64, amp float64) []float64 {
	n := int(seconds * 16000)
	out := make([]float64, n)
	for i := range out {
		out[i] = amp * math.Sin(2*math.Pi*freq*float64(i)/16000)
	}
	return out
}

func TestMFCC(t *testing.T) {
	f, err := Extract(bytes.NewReader(pcm(sine(440, 1, 0.5))), DefaultMFCC)
	if err != nil {
		t.Fatal(err)
	}
	// 16000 samples, 400-sample window, 160 hop: 1 + (16000-400)/160 frames.
	if f.Frames() != 98 || f.Dim != 13 || len(f.Data) != 98*13 {
		t.Fatalf("%d frames of %d coefficients", f.Frames(), f.Dim)
	}
	// Doubling the amplitude multiplies every mel energy by four: c0
	// rises by √26·ln 4 and the shape (c1..c12) stays.
	loud, err := Extract(bytes.NewReader(pcm(sine(440, 1, 1.0))), DefaultMFCC)
	if err != nil {
		t.Fatal(err)
	}
	if d := float64(loud.Frame(10)[0] - f.Frame(10)[0]); math.Abs(d-math.Sqrt(26)*math.Log(4)) > 0.05 {
		t.Fatalf("c0 rose by %v, want %v", d, math.Sqrt(26)*math.Log(4))
	}
	for k := 1; k < 13; k++ {
		if d := math.Abs(float64(loud.Frame(10)[k] - f.Frame(10)[k])); d > 0.05 {
			t.Fatalf("c%d moved by %v with loudness", k, d)
		}
	}
	if d := float64(loud.Energy[10] - f.Energy[10]); math.Abs(d-20*math.Log10(2)) > 0.1 {
		t.Fatalf("energy rose by %v dB, want 6.02", d)
	}
	if e := f.Energy[10]; e > -3 || e < -40 {
		t.Fatalf("energy %v dBFS", e)
	}
	// Different tones give different cepstra; odd byte counts are fine.
	g, err := Extract(bytes.NewReader(append(pcm(sine(2500, 1, 0.5)), 7)), DefaultMFCC)
	if err != nil {
		t.Fatal(err)
	}
	var d float64
	for k := 1; k < 13; k++ {
		d += math.Abs(float64(g.Frame(10)[k] - f.Frame(10)[k]))
	}
	if d < 5 {
		t.Fatalf("440 Hz and 2500 Hz cepstra too close: %v", d)
	}
	// Silence is −100 dBFS and finite.
	s, _ := Extract(bytes.NewReader(make([]byte, 8000)), DefaultMFCC)
	for i := 0; i < s.Frames(); i++ {
		for _, v := range s.Frame(i) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("non-finite coefficient on silence")
			}
		}
	}
}

func gaussianSegment(r *rand.Rand, mean []float64, scale float64, n int) *stats {
	s := newStats(len(mean))
	x := make([]float32, len(mean))
	for i := 0; i < n; i++ {
		for k := range x {
			x[k] = float32(mean[k] + scale*r.NormFloat64())
		}
		s.add(x)
	}
	return s
}

func TestClusterSeparatesGaussians(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	d := 12
	a, b, c := make([]float64, d), make([]float64, d), make([]float64, d)
	for k := 0; k < d; k++ {
		a[k], b[k], c[k] = 0, 3, -3
	}
	var segs []*stats
	want := []int{}
	order := []int{0, 1, 0, 2, 1, 0, 2, 1}
	for _, o := range order {
		m := [][]float64{a, b, c}[o]
		segs = append(segs, gaussianSegment(r, m, 1, 200))
		want = append(want, o)
	}
	got := Cluster{Lambda: 1, Ridge: 1e-3, MinSpeakers: 1}.Run(segs)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("labels %v, want %v", got, want)
		}
	}
	// max 2 forces a merge, min 4 forbids one.
	if got := (Cluster{Lambda: 1, Ridge: 1e-3, MinSpeakers: 1, MaxSpeakers: 2}).Run(segs); maxLabel(got) != 1 {
		t.Fatalf("max 2: %v", got)
	}
	if got := (Cluster{Lambda: 1, Ridge: 1e-3, MinSpeakers: 4}).Run(segs); maxLabel(got) != 3 {
		t.Fatalf("min 4: %v", got)
	}
}

func maxLabel(ls []int) int {
	m := -1
	for _, l := range ls {
		m = max(m, l)
	}
	return m
}

func TestSpeakerOptions(t *testing.T) {
	path, _ := testDialogue(t)
	one, err := diarise(t, &analyser.Input{Path: path, Options: json.RawMessage(`{"max_speakers": 1}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Speakers) != 1 {
		t.Fatalf("max 1: %+v", one.Speakers)
	}
	three, err := diarise(t, &analyser.Input{Path: path, Options: json.RawMessage(`{"min_speakers": 3}`)})
	if err != nil {
		t.Fatal(err)
	}
	if len(three.Speakers) != 3 {
		t.Fatalf("min 3: %+v", three.Speakers)
	}
	analysertest.ValidateOutput(t, (&Analyser{}).Spec(), three)
}

func TestDiariseBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := mediagen.Silence(ctx, p("silence.wav"), 5); err != nil {
		t.Fatal(err)
	}
	if err := mediagen.Noise(ctx, p("noise.wav"), 5, 0.3); err != nil {
		t.Fatal(err)
	}
	if _, err := mediagen.Video(ctx, p("silent.mp4"), mediagen.VideoSpec{Width: 320, Height: 240, Slides: []mediagen.Slide{{Text: "x", Seconds: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := mediagen.Empty(p("empty.wav")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"silence.wav", "noise.wav"} {
		out, err := diarise(t, &analyser.Input{Path: p(f)})
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		analysertest.ValidateOutput(t, (&Analyser{}).Spec(), out)
		if len(out.Speakers) != 0 || len(out.Turns) != 0 {
			t.Errorf("%s: speakers %+v turns %+v", f, out.Speakers, out.Turns)
		}
	}
	for f, code := range map[string]errcode.Code{"silent.mp4": errcode.MediaEmpty, "empty.wav": errcode.MediaEmpty, "nope.wav": errcode.NotFound} {
		if _, err := diarise(t, &analyser.Input{Path: p(f)}); errcode.Of(err) != code {
			t.Errorf("%s: %v, want %s", f, err, code)
		}
	}
	bad := map[string]json.RawMessage{"transcribe": json.RawMessage(`{"words": [{"text": "x", "start": 2, "end": 1}]}`)}
	if _, err := diarise(t, &analyser.Input{Path: p("silence.wav"), Results: bad}); errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "/results/transcribe/words/0") {
		t.Errorf("bad transcript: %v", err)
	}
}

// FuzzApply: labelling any transcript with any turns keeps every word in
// exactly one single-speaker segment.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`{"words":[{"text":"a","start":0,"end":1},{"text":"b","start":1,"end":2}],"segments":[{"id":0,"start":0,"end":2,"text":"A b.","first_word":0,"word_count":2}]}`),
		[]byte(`[{"speaker":"spk_0","start":0,"end":1.2},{"speaker":"spk_1","start":1.3,"end":3}]`))
	f.Fuzz(func(t *testing.T, trJSON, turnsJSON []byte) {
		var tr types.Transcript
		var turns []Turn
		if json.Unmarshal(trJSON, &tr) != nil || json.Unmarshal(turnsJSON, &turns) != nil || len(tr.Words) > 500 || len(turns) > 500 {
			t.Skip()
		}
		segsOK := true
		n := 0
		for _, s := range tr.Segments {
			if s.FirstWord != n || s.WordCount <= 0 {
				segsOK = false
			}
			n += s.WordCount
		}
		segsOK = segsOK && n == len(tr.Words)
		Apply(&tr, turns)
		if !segsOK {
			return
		}
		n = 0
		for _, s := range tr.Segments {
			if s.FirstWord != n {
				t.Fatalf("segment %d starts at %d, want %d", s.ID, s.FirstWord, n)
			}
			for _, w := range tr.Words[s.FirstWord : s.FirstWord+s.WordCount] {
				if w.Speaker != s.Speaker {
					t.Fatalf("segment of %q holds a word of %q", s.Speaker, w.Speaker)
				}
			}
			n += s.WordCount
		}
		if n != len(tr.Words) {
			t.Fatalf("segments cover %d of %d words", n, len(tr.Words))
		}
	})
}

// BenchmarkDiarise measures the whole diarisation of the dialogue and
// reports the real-time factor.
func BenchmarkDiarise(b *testing.B) {
	path, _ := testDialogue(b)
	var audio float64
	for b.Loop() {
		out, err := (&Analyser{}).Diarise(context.Background(), &analyser.Env{}, &analyser.Input{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		audio += out.Duration
	}
	b.ReportMetric(b.Elapsed().Seconds()/audio, "rtf")
}

// TestClusterLarge: many segments go through the blocked path and still
// find the three speakers, within bounded time.
func TestClusterLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	means := make([][]float64, 3)
	for s := range means {
		means[s] = make([]float64, 12)
		for k := range means[s] {
			means[s][k] = float64(s*3) - 3
		}
	}
	old := BlockSize
	BlockSize = 40
	defer func() { BlockSize = old }()
	var segs []*stats
	var want []int
	for i := 0; i < 400; i++ {
		// Turns of a few segments each.
		spk := (i / 3) % 3
		if (i/3)%7 == 5 {
			spk = 2
		}
		segs = append(segs, gaussianSegment(r, means[spk], 1, 120))
		want = append(want, spk)
	}
	got := Cluster{Lambda: 1, Ridge: 1e-3, MinSpeakers: 1}.RunLarge(segs)
	// Same partition up to renaming.
	m := map[int]int{}
	for i := range got {
		if v, ok := m[got[i]]; ok && v != want[i] {
			t.Fatalf("segment %d: cluster %d holds speakers %d and %d", i, got[i], v, want[i])
		}
		m[got[i]] = want[i]
	}
	if len(m) != 3 {
		t.Fatalf("%d clusters, want 3", len(m))
	}
}

// BenchmarkClusterLarge clusters an hour of speech in 2.5 s pieces.
func BenchmarkClusterLarge(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	var segs []*stats
	for i := 0; i < 1440; i++ {
		m := make([]float64, 12)
		for k := range m {
			m[k] = float64(((i/4)%2)*3) + 0.3*r.NormFloat64()
		}
		segs = append(segs, gaussianSegment(r, m, 1, 250))
	}
	for b.Loop() {
		Cluster{Lambda: 2.5, Ridge: 1e-3, MinSpeakers: 1}.RunLarge(segs)
	}
}

// TestGaussianLogLik: the likelihood from sufficient statistics equals
// the sum over frames.
func TestGaussianLogLik(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	d := 4
	fit, probe := newStats(d), newStats(d)
	var frames [][]float32
	for i := 0; i < 300; i++ {
		x := make([]float32, d)
		for k := range x {
			x[k] = float32(r.NormFloat64()*float64(k+1) + float64(k))
		}
		fit.add(x)
		if i%10 == 0 {
			probe.add(x)
			frames = append(frames, x)
		}
	}
	g := fit.gaussian(1e-3)
	c := fit.cov(1e-3)
	// A·Σ = I checks the inverse.
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			var v float64
			for k := 0; k < d; k++ {
				v += g.inv[i*d+k] * c[k*d+j]
			}
			if want := map[bool]float64{true: 1, false: 0}[i == j]; math.Abs(v-want) > 1e-9 {
				t.Fatalf("(A·Σ)[%d][%d] = %v", i, j, v)
			}
		}
	}
	var want float64
	for _, x := range frames {
		var q float64
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				q += (float64(x[i]) - g.mean[i]) * g.inv[i*d+j] * (float64(x[j]) - g.mean[j])
			}
		}
		want += -0.5 * (q + g.logDet)
	}
	if got := g.logLik(probe); math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Fatalf("logLik %v, want %v", got, want)
	}
}

// TestSupervectorsSeparateCloseVoices clusters pieces drawn from two
// mixtures that share their average (one component of each moved in
// opposite directions), which a single Gaussian per piece cannot tell
// apart, and pieces from one mixture, which must stay one speaker.
func TestSupervectorsSeparateCloseVoices(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	const dim = 12
	voice := func(shift float64) func() []float64 {
		return func() []float64 {
			x := make([]float64, dim)
			c := r.IntN(2)
			for d := range x {
				x[d] = r.NormFloat64()
			}
			if c == 0 {
				x[0] += 2 + shift
				x[1] -= shift
			} else {
				x[0] -= 2 + shift
				x[1] += shift
			}
			return x
		}
	}
	a, b := voice(0.6), voice(-0.6)
	piece := func(v func() []float64) [][]float64 {
		out := make([][]float64, 400)
		for i := range out {
			out[i] = v()
		}
		return out
	}
	var pieces [][][]float64
	want := []int{}
	for i := 0; i < 10; i++ {
		if i%3 == 0 {
			pieces = append(pieces, piece(b))
			want = append(want, 1)
		} else {
			pieces = append(pieces, piece(a))
			want = append(want, 0)
		}
	}
	got := clusterSupervectors(pieces, 100, SupervectorConfig{})
	same := 0
	for i := range got {
		if (got[i] == got[0]) == (want[i] == want[0]) {
			same++
		}
	}
	if maxLabel(got) != 1 || same != len(got) {
		t.Errorf("labels %v, want the pattern of %v", got, want)
	}
	var one [][][]float64
	for i := 0; i < 8; i++ {
		one = append(one, piece(a))
	}
	if l := clusterSupervectors(one, 100, SupervectorConfig{}); maxLabel(l) != 0 {
		t.Errorf("one voice split into %v", l)
	}
}
