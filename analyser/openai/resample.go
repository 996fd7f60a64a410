package openai

import "math"

// upsampler turns 16 kHz PCM16 into 24 kHz PCM16 as it streams: each
// output sample is a windowed-sinc interpolation (16 taps, Hann window,
// cut-off at the input's Nyquist frequency) of the input around its time.
// Output sample k lies at input position 2k/3, so the three phases 0, 2/3
// and 1/3 repeat and their kernels are computed once.
type upsampler struct {
	in   []float64 // input samples not yet passed by every kernel
	base int64     // input index of in[0]
	k    int64     // next output sample
}

const (
	usHalf = 8 // taps each side
)

var usKernels = func() [3][2 * usHalf]float64 {
	var ks [3][2 * usHalf]float64
	for ph := 0; ph < 3; ph++ {
		frac := float64(ph) / 3
		sum := 0.0
		for j := 0; j < 2*usHalf; j++ {
			// Tap j multiplies input floor(pos)-usHalf+1+j.
			x := float64(j-usHalf+1) - frac
			v := 1.0
			if x != 0 {
				v = math.Sin(math.Pi*x) / (math.Pi * x)
			}
			w := 0.5 + 0.5*math.Cos(math.Pi*x/float64(usHalf))
			ks[ph][j] = v * w
			sum += v * w
		}
		for j := range ks[ph] {
			ks[ph][j] /= sum
		}
	}
	return ks
}()

// write adds little-endian PCM16 input (an even number of bytes) and
// returns the output it completes, as little-endian PCM16.
func (u *upsampler) write(pcm []byte) []byte {
	for i := 0; i+1 < len(pcm); i += 2 {
		u.in = append(u.in, float64(int16(uint16(pcm[i])|uint16(pcm[i+1])<<8)))
	}
	return u.drain(false)
}

// flush pads the end with silence and returns the rest of the output.
func (u *upsampler) flush() []byte {
	return u.drain(true)
}

func (u *upsampler) drain(final bool) []byte {
	end := u.base + int64(len(u.in)) // input samples known
	var out []byte
	for {
		num := 2 * u.k // output position is num/3 input samples
		whole := num / 3
		if final {
			if whole >= end {
				break
			}
		} else if whole+usHalf >= end {
			break // the kernel needs input not yet here
		}
		ph := num % 3
		ker := &usKernels[ph]
		acc := 0.0
		for j := 0; j < 2*usHalf; j++ {
			idx := whole - usHalf + 1 + int64(j)
			if idx < u.base || idx >= end {
				continue // before the start, or the silence after the end
			}
			acc += ker[j] * u.in[idx-u.base]
		}
		if ph == 0 {
			acc = u.in[whole-u.base] // the kernel is an identity there
		}
		v := int16(max(-32768, min(32767, math.Round(acc))))
		out = append(out, byte(v), byte(uint16(v)>>8))
		u.k++
	}
	// Drop input no later kernel reaches.
	keepFrom := (2*u.k)/3 - usHalf + 1
	if drop := keepFrom - u.base; drop > 0 && drop <= int64(len(u.in)) {
		u.in = append(u.in[:0], u.in[drop:]...)
		u.base = keepFrom
	}
	return out
}
