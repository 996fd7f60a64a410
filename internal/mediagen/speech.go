package mediagen

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/landfall/landfall/errcode"
)

// Voice is a synthetic voice: Engine "flite" (Name kal, kal16, slt, awb,
// rms) or "espeak-ng" (Name a voice such as "en-us+m3" or "en+f3").
type Voice struct {
	Engine string `json:"engine"`
	Name   string `json:"name"`
}

// The voices the samples use: a male and a female flite voice.
var (
	VoiceMale   = Voice{Engine: "flite", Name: "kal16"}
	VoiceFemale = Voice{Engine: "flite", Name: "slt"}
)

func (v Voice) String() string { return v.Engine + ":" + v.Name }

// Speech writes text spoken by voice as a 16 kHz mono 16-bit WAV.
func Speech(ctx context.Context, path, text string, v Voice) error {
	if strings.TrimSpace(text) == "" {
		return errcode.New(errcode.Invalid, "mediagen: speech text is empty")
	}
	tmp, err := tempDir(path)
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, "raw.wav")
	switch v.Engine {
	case "flite":
		// Text goes through a file: flite -t treats a leading '-' or a
		// long text awkwardly, -f reads it as it is.
		txt := filepath.Join(tmp, "text.txt")
		if err := os.WriteFile(txt, []byte(text), 0o644); err != nil {
			return err
		}
		if err := run(ctx, "flite", "-voice", v.Name, "-f", txt, "-o", raw); err != nil {
			return err
		}
	case "espeak-ng":
		if err := run(ctx, "espeak-ng", "-v", v.Name, "-w", raw, "--", text); err != nil {
			return err
		}
	default:
		return errcode.New(errcode.Invalid, "mediagen: unknown speech engine %q (want flite or espeak-ng)", v.Engine)
	}
	// Normalise rate, channels and width so turns concatenate.
	return run(ctx, "sox", "-R", raw, "-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", path)
}

// Turn is one speaker's turn in a dialogue.
type Turn struct {
	Speaker string `json:"speaker"` // label, e.g. "Host"
	Voice   Voice  `json:"voice"`
	Text    string `json:"text"`
}

// TurnTiming is where a turn ended up in the dialogue's audio.
type TurnTiming struct {
	Speaker string  `json:"speaker"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
}

// Dialogue writes the turns spoken one after another with gap seconds of
// silence between them (and lead seconds before the first) as a 16 kHz
// mono WAV, and returns each turn's time span.
func Dialogue(ctx context.Context, path string, turns []Turn, lead, gap float64) ([]TurnTiming, error) {
	if len(turns) == 0 {
		return nil, errcode.New(errcode.Invalid, "mediagen: dialogue has no turns")
	}
	tmp, err := tempDir(path)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	gapPath := filepath.Join(tmp, "gap.wav")
	if err := Silence(ctx, gapPath, gap); err != nil {
		return nil, err
	}
	var parts []string
	if lead > 0 {
		leadPath := filepath.Join(tmp, "lead.wav")
		if err := Silence(ctx, leadPath, lead); err != nil {
			return nil, err
		}
		parts = append(parts, leadPath)
	}
	timings := make([]TurnTiming, 0, len(turns))
	t := lead
	for i, turn := range turns {
		p := filepath.Join(tmp, fmt.Sprintf("turn%03d.wav", i))
		if err := Speech(ctx, p, turn.Text, turn.Voice); err != nil {
			return nil, fmt.Errorf("mediagen: turn %d (%s): %w", i, turn.Speaker, err)
		}
		d, err := Duration(ctx, p)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			parts = append(parts, gapPath)
			t += gap
		}
		parts = append(parts, p)
		timings = append(timings, TurnTiming{Speaker: turn.Speaker, Start: t, End: t + d})
		t += d
	}
	if err := run(ctx, "sox", append([]string{"-R"}, append(parts, path)...)...); err != nil {
		return nil, err
	}
	return timings, nil
}
