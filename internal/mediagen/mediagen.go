// Package mediagen generates test media offline: speech from text with a
// chosen synthetic voice (flite, espeak-ng), slide videos with drawn text,
// hard cuts and an optional speech track (ffmpeg lavfi), images with text
// (ImageMagick), silence and noise (sox), and broken files (empty,
// truncated, corrupted, mislabelled, decompression bombs) for the
// analysers' negative tests.
//
// Every generator is deterministic for the same arguments and tool
// versions, runs its tools through execx (argument lists, no shell, bounded
// by ctx), and fails with errcode.ToolMissing naming the Debian package
// when a tool is not installed.
package mediagen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/landfall/landfall/analyser/local/execx"
	"github.com/landfall/landfall/errcode"
)

// FontPath is the TrueType font drawn into slides and images (Debian
// package fonts-dejavu-core).
const FontPath = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

// SampleRate is the rate of every generated speech file: 16 kHz mono
// 16-bit PCM, what the transcription analysers expect.
const SampleRate = 16000

func checkFont() error {
	if _, err := os.Stat(FontPath); err != nil {
		return errcode.New(errcode.ToolMissing, "font %s is missing: install the Debian package fonts-dejavu-core", FontPath)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) error {
	_, err := execx.Run(ctx, execx.Cmd{Name: name, Args: args})
	return err
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }

// Duration returns the duration in seconds of an audio file that sox reads
// (WAV, FLAC, …).
func Duration(ctx context.Context, path string) (float64, error) {
	res, err := execx.Run(ctx, execx.Cmd{Name: "sox", Args: []string{"--i", "-D", path}})
	if err != nil {
		return 0, err
	}
	d, err := strconv.ParseFloat(strings.TrimSpace(string(res.Stdout)), 64)
	if err != nil {
		return 0, fmt.Errorf("mediagen: duration of %s: %q is not a number", path, res.Stdout)
	}
	return d, nil
}

// Silence writes seconds of digital silence as a 16 kHz mono WAV.
func Silence(ctx context.Context, path string, seconds float64) error {
	return run(ctx, "sox", "-R", "-n", "-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", path, "trim", "0", ftoa(seconds))
}

// Noise writes seconds of white noise at amplitude 0..1 as a 16 kHz mono
// WAV. sox's generator is seeded so the file is reproducible.
func Noise(ctx context.Context, path string, seconds, amplitude float64) error {
	return run(ctx, "sox", "-R", "-n", "-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", path,
		"synth", ftoa(seconds), "whitenoise", "vol", ftoa(amplitude))
}

// Tone writes a sine tone of freq Hz as a 16 kHz mono WAV.
func Tone(ctx context.Context, path string, seconds, freq float64) error {
	return run(ctx, "sox", "-R", "-n", "-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", path,
		"synth", ftoa(seconds), "sine", ftoa(freq), "vol", "0.5")
}

// safePath reports whether p can be placed in an ffmpeg filtergraph option
// without escaping.
func safePath(p string) error {
	for _, r := range p {
		ok := r == '/' || r == '.' || r == '_' || r == '-' || r == '+' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return errcode.New(errcode.Invalid, "mediagen: path %q has a character (%q) that ffmpeg filter options need escaped; use a plainer temp folder", p, r)
		}
	}
	return nil
}

// tempDir makes a scratch folder next to the output (same filesystem,
// removed by the caller).
func tempDir(out string) (string, error) {
	dir, err := os.MkdirTemp(filepath.Dir(out), ".mediagen-")
	if err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return abs, nil
}
