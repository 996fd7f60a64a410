//go:build cgo && !nopocketsphinx

package stream

/*
#cgo pkg-config: pocketsphinx
#include <stdlib.h>
#include <pocketsphinx.h>

static cmd_ln_t *lf_config(int argc, char **argv) {
	return cmd_ln_parse_r(NULL, ps_args(), argc, argv, 1);
}

// The cepstral mean normalisation the model asks for ("batch": each
// utterance's own mean). Decoding block by block switches the feature
// computation to the live estimate for good (sphinxbase's feat_cmn), so it
// is read once, after loading, and set back before a whole-utterance
// decoding.
static int lf_cmn(ps_decoder_t *ps) {
	feat_t *f = ps_get_feat(ps);
	return f ? (int)f->cmn : -1;
}

static void lf_set_cmn(ps_decoder_t *ps, int cmn) {
	feat_t *f = ps_get_feat(ps);
	if (f && cmn >= 0)
		f->cmn = (cmn_type_t)cmn;
}

*/
import "C"

import (
	"strings"
	"sync"
	"unsafe"

	"github.com/landfall/landfall/errcode"
)

// Built reports whether the incremental recogniser is compiled in.
const Built = true

// psDecoder is one pocketsphinx decoder (libpocketsphinx's incremental
// API: ps_start_utt, ps_process_raw, ps_get_hyp, ps_end_utt). It is not
// safe for concurrent use.
type psDecoder struct {
	ps    *C.ps_decoder_t
	cfg   *C.cmd_ln_t
	lmth  *C.logmath_t
	cmn   C.int // the model's cepstral mean normalisation
	inUtt bool
	// base is the decoder's frame count at the utterance's start; last
	// the frames of the previous utterance.
	base, last, utts int
}

// pocketsphinx's model loading touches process-wide state (its log
// file); one decoder is built at a time.
var initMu sync.Mutex

// newPSDecoder loads the model files with the recogniser arguments args
// ("-name", "value" pairs).
func newPSDecoder(hmm, lm, dict string, args []string) (*psDecoder, error) {
	all := append([]string{"-hmm", hmm, "-lm", lm, "-dict", dict, "-logfn", "/dev/null",
		"-remove_silence", "no", "-samprate", "16000"}, args...)
	argv := make([]*C.char, len(all))
	for i, a := range all {
		argv[i] = C.CString(a)
	}
	defer func() {
		for _, p := range argv {
			C.free(unsafe.Pointer(p))
		}
	}()
	initMu.Lock()
	defer initMu.Unlock()
	cfg := C.lf_config(C.int(len(argv)), &argv[0])
	if cfg == nil {
		return nil, errcode.New(errcode.Invalid, "pocketsphinx refused the recogniser arguments %s", strings.Join(all, " "))
	}
	ps := C.ps_init(cfg)
	if ps == nil {
		C.cmd_ln_free_r(cfg)
		return nil, errcode.New(errcode.ToolFailed, "pocketsphinx could not load the model (hmm %s, lm %s, dict %s)", hmm, lm, dict)
	}
	return &psDecoder{ps: ps, cfg: cfg, lmth: C.ps_get_logmath(ps), cmn: C.lf_cmn(ps)}, nil
}

func (d *psDecoder) startUtt() error {
	// The decoder counts frames across utterances (a new stream per
	// utterance would count from 0, but resets cepstral mean
	// normalisation and costs accuracy); base is where this one starts.
	if d.utts > 0 {
		d.base += d.last
	}
	if C.ps_start_utt(d.ps) < 0 {
		return errcode.New(errcode.ToolFailed, "pocketsphinx: cannot start an utterance")
	}
	d.inUtt = true
	return nil
}

// process decodes samples (s16le) of the current utterance.
func (d *psDecoder) process(samples []int16) error {
	if len(samples) == 0 {
		return nil
	}
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)), 0, 0) < 0 {
		return errcode.New(errcode.ToolFailed, "pocketsphinx: decoding failed")
	}
	return nil
}

// decodeWhole decodes samples as one whole utterance (full_utt, with the
// model's cepstral mean normalisation: for the installed model the
// utterance's own mean, as in batch decoding) and leaves its words for
// segments. It starts a new stream, so its frames count from 0; the next
// utterance then counts on from its end.
func (d *psDecoder) decodeWhole(samples []int16) error {
	if len(samples) == 0 {
		return nil
	}
	C.lf_set_cmn(d.ps, d.cmn)
	if C.ps_start_stream(d.ps) < 0 || C.ps_start_utt(d.ps) < 0 {
		return errcode.New(errcode.ToolFailed, "pocketsphinx: cannot start an utterance")
	}
	d.base, d.utts = 0, 0
	d.inUtt = true
	if C.ps_process_raw(d.ps, (*C.int16)(unsafe.Pointer(&samples[0])), C.size_t(len(samples)), 0, 1) < 0 {
		return errcode.New(errcode.ToolFailed, "pocketsphinx: decoding failed")
	}
	return d.endUtt()
}

func (d *psDecoder) endUtt() error {
	d.inUtt = false
	d.utts++
	defer func() { d.last = int(C.ps_get_n_frames(d.ps)) }()
	if C.ps_end_utt(d.ps) < 0 {
		return errcode.New(errcode.ToolFailed, "pocketsphinx: cannot end the utterance")
	}
	return nil
}

// segments are the best hypothesis's words so far (or of the utterance
// just ended), frames relative to the utterance start.
func (d *psDecoder) segments() []segment {
	var score C.int32
	if C.ps_get_hyp(d.ps, &score) == nil {
		return nil
	}
	var out []segment
	for it := C.ps_seg_iter(d.ps); it != nil; it = C.ps_seg_next(it) {
		var sf, ef C.int
		C.ps_seg_frames(it, &sf, &ef)
		var ascr, lscr, lback C.int32
		prob := C.ps_seg_prob(it, &ascr, &lscr, &lback)
		w := C.GoString(C.ps_seg_word(it))
		out = append(out, segment{word: w, sf: int(sf) - d.base, ef: int(ef) - d.base, conf: float64(C.logmath_exp(d.lmth, C.int(prob)))})
	}
	return out
}

func (d *psDecoder) free() {
	if d.ps != nil {
		if d.inUtt {
			C.ps_end_utt(d.ps)
		}
		C.ps_free(d.ps)
		C.cmd_ln_free_r(d.cfg)
		d.ps = nil
	}
}
