//go:build !cgo || nopocketsphinx

package stream

import "github.com/landfall/landfall/errcode"

// Built reports whether the incremental recogniser is compiled in.
const Built = false

type psDecoder struct{}

func newPSDecoder(hmm, lm, dict string, args []string) (*psDecoder, error) {
	return nil, errcode.New(errcode.ToolMissing, "live captions: this binary was built without the incremental recogniser (cgo and libpocketsphinx-dev are needed: apt-get install libpocketsphinx-dev, then build with CGO_ENABLED=1)")
}

func (d *psDecoder) startUtt() error                   { return nil }
func (d *psDecoder) process(samples []int16) error     { return nil }
func (d *psDecoder) endUtt() error                     { return nil }
func (d *psDecoder) segments() []segment               { return nil }
func (d *psDecoder) free()                             {}
func (d *psDecoder) decodeWhole(samples []int16) error { return nil }
