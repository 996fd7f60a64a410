package mediagen

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/landfall/landfall/errcode"
)

// Manifest describes the bundled samples (samples.json): what was said,
// by whom, what each slide shows and the key terms an end-to-end run should
// find.
type Manifest struct {
	Version int      `json:"version"`
	Samples []Sample `json:"samples"`
}

// Sample is one generated sample file.
type Sample struct {
	Name     string    `json:"name"`
	File     string    `json:"file"`
	Kind     string    `json:"kind"` // audio, video or image
	Duration float64   `json:"duration,omitempty"`
	Width    int       `json:"width,omitempty"`
	Height   int       `json:"height,omitempty"`
	Speakers []Speaker `json:"speakers,omitempty"`
	Turns    []Said    `json:"turns,omitempty"`
	Script   string    `json:"script,omitempty"` // everything said, in order
	Slides   []Shown   `json:"slides,omitempty"`
	Cuts     []float64 `json:"cuts,omitempty"`
	Text     string    `json:"text,omitempty"` // text drawn in an image
	KeyTerms KeyTerms  `json:"key_terms"`
}

// Speaker is a voice in a sample.
type Speaker struct {
	Label  string `json:"label"`
	Voice  Voice  `json:"voice"`
	Gender string `json:"gender"`
}

// Said is one turn of speech with its time span.
type Said struct {
	Speaker string  `json:"speaker"`
	Text    string  `json:"text"`
	Start   float64 `json:"start"`
	End     float64 `json:"end"`
}

// Shown is one slide with its time span.
type Shown struct {
	Text  string  `json:"text"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// KeyTerms are the names a sample mentions, which entity extraction,
// OCR and summaries are expected to surface.
type KeyTerms struct {
	People        []string `json:"people"`
	Organisations []string `json:"organisations"`
	Places        []string `json:"places"`
	Topics        []string `json:"topics,omitempty"`
}

var interviewTurns = []Turn{
	{Speaker: "Host", Voice: VoiceMale, Text: "Welcome back to the show. Today I am talking with Sarah Johnson, the chief engineer at the Red Cross in London."},
	{Speaker: "Guest", Voice: VoiceFemale, Text: "Thank you for having me. I joined the Red Cross after ten years at Microsoft in Seattle."},
	{Speaker: "Host", Voice: VoiceMale, Text: "What does your team build?"},
	{Speaker: "Guest", Voice: VoiceFemale, Text: "We build tools that help volunteers find supplies during floods. Last spring we worked with David Miller from the United Nations in Geneva."},
	{Speaker: "Host", Voice: VoiceMale, Text: "And what comes next for the project?"},
	{Speaker: "Guest", Voice: VoiceFemale, Text: "Next year we will open a second office in Paris, and we are hiring engineers."},
}

var interviewTerms = KeyTerms{
	People:        []string{"Sarah Johnson", "David Miller"},
	Organisations: []string{"Red Cross", "Microsoft", "United Nations"},
	Places:        []string{"London", "Seattle", "Geneva", "Paris"},
	Topics:        []string{"floods", "volunteers", "engineering"},
}

type lectureSlide struct {
	Slide string // drawn on screen
	Said  string // narrated while it shows
}

var lectureSlides = []lectureSlide{
	{"Media Pipelines 101\nProfessor Alan Turner", "Hello everyone. My name is Alan Turner, and today we look at media pipelines."},
	{"Step 1: Upload\nFiles land in storage", "First, a file is uploaded and lands in storage. An event starts the workflow."},
	{"Step 2: Transcribe\nSpeech becomes text", "Second, the audio track is transcribed, so that speech becomes searchable text."},
	{"Step 3: Understand\nSummaries and chapters", "Third, we write a summary and chapters. Amazon and Google sell services for this."},
	{"Thank you\nQuestions from Boston", "Thank you for listening. I will take questions from our students in Boston."},
}

var lectureTerms = KeyTerms{
	People:        []string{"Alan Turner"},
	Organisations: []string{"Amazon", "Google"},
	Places:        []string{"Boston"},
	Topics:        []string{"media pipelines", "transcription", "summaries"},
}

const posterText = "Landfall Summit 2026\nKeynote: Sarah Johnson\nLisbon, Portugal"

var posterTerms = KeyTerms{
	People:        []string{"Sarah Johnson"},
	Organisations: []string{"Landfall"},
	Places:        []string{"Lisbon", "Portugal"},
}

// MakeSamples generates the bundled samples into dir — interview.mp3 (two
// voices, 16 kHz mono), lecture.mp4 (1280×720 slides with hard cuts and
// narration) and poster.png (an image with text) — and writes
// dir/samples.json describing them. Each sample lasts under a minute.
func MakeSamples(ctx context.Context, dir string) (*Manifest, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	dir = abs
	m := &Manifest{Version: 1}
	for _, f := range []func(context.Context, string) (*Sample, error){interview, lecture, poster} {
		s, err := f(ctx, dir)
		if err != nil {
			return nil, err
		}
		m.Samples = append(m.Samples, *s)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "samples.json"), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return m, nil
}

func interview(ctx context.Context, dir string) (*Sample, error) {
	tmp, err := tempDir(filepath.Join(dir, "x"))
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	wav := filepath.Join(tmp, "interview.wav")
	timings, err := Dialogue(ctx, wav, interviewTurns, 0.5, 0.6)
	if err != nil {
		return nil, fmt.Errorf("interview: %w", err)
	}
	dur, err := Duration(ctx, wav)
	if err != nil {
		return nil, err
	}
	if dur >= 60 {
		return nil, errcode.New(errcode.Invalid, "interview: %.1fs, over a minute", dur)
	}
	out := filepath.Join(dir, "interview.mp3")
	if err := run(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", wav,
		"-c:a", "libmp3lame", "-b:a", "96k", "-ac", "1", "-ar", strconv.Itoa(SampleRate), out); err != nil {
		return nil, err
	}
	s := &Sample{Name: "interview", File: "interview.mp3", Kind: "audio", Duration: round3(dur), KeyTerms: interviewTerms,
		Speakers: []Speaker{{Label: "Host", Voice: VoiceMale, Gender: "male"}, {Label: "Guest", Voice: VoiceFemale, Gender: "female"}}}
	var script []string
	for i, t := range interviewTurns {
		s.Turns = append(s.Turns, Said{Speaker: t.Speaker, Text: t.Text, Start: round3(timings[i].Start), End: round3(timings[i].End)})
		script = append(script, t.Text)
	}
	s.Script = strings.Join(script, " ")
	return s, nil
}

func lecture(ctx context.Context, dir string) (*Sample, error) {
	var slides []LectureSlide
	for _, ls := range lectureSlides {
		slides = append(slides, LectureSlide(ls))
	}
	s, err := Lecture(ctx, filepath.Join(dir, "lecture.mp4"), slides, VoiceMale)
	if err != nil {
		return nil, err
	}
	s.Name, s.File, s.KeyTerms = "lecture", "lecture.mp4", lectureTerms
	return s, nil
}

// LectureSlide is one slide of a generated lecture: the text drawn on
// screen and the narration spoken while it shows.
type LectureSlide struct {
	Slide string
	Said  string
}

// Lecture generates a 1280×720 slide video at path: each slide shows while
// its narration (in voice) plays, with hard cuts between slides. The
// sample describes the turns and the slides with their times.
func Lecture(ctx context.Context, path string, slides []LectureSlide, voice Voice) (*Sample, error) {
	tmp, err := tempDir(path)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	const fps = 25
	const lead, tail = 0.6, 0.8
	var parts []string
	var shown []Slide
	s := &Sample{Name: strings.TrimSuffix(filepath.Base(path), filepath.Ext(path)), File: filepath.Base(path), Kind: "video", Width: 1280, Height: 720,
		Speakers: []Speaker{{Label: "Lecturer", Voice: voice, Gender: "unknown"}}}
	var script []string
	t := 0.0
	for i, ls := range slides {
		speech := filepath.Join(tmp, fmt.Sprintf("said%02d.wav", i))
		if err := Speech(ctx, speech, ls.Said, voice); err != nil {
			return nil, fmt.Errorf("lecture slide %d: %w", i+1, err)
		}
		d, err := Duration(ctx, speech)
		if err != nil {
			return nil, err
		}
		// Each slide lasts its narration plus a pause, in whole frames;
		// its audio is padded to exactly that length so speech and slides
		// stay aligned.
		frames := int((lead+d+tail)*fps) + 1
		length := float64(frames) / fps
		fit := filepath.Join(tmp, fmt.Sprintf("slide%02d.wav", i))
		if err := run(ctx, "sox", "-R", speech, fit, "pad", ftoa(lead), ftoa(length), "trim", "0", ftoa(length)); err != nil {
			return nil, err
		}
		parts = append(parts, fit)
		shown = append(shown, Slide{Text: ls.Slide, Seconds: length, FontSize: 64})
		s.Turns = append(s.Turns, Said{Speaker: "Lecturer", Text: ls.Said, Start: round3(t + lead), End: round3(t + lead + d)})
		script = append(script, ls.Said)
		t += length
	}
	track := filepath.Join(tmp, "track.wav")
	if err := run(ctx, "sox", append([]string{"-R"}, append(parts, track)...)...); err != nil {
		return nil, err
	}
	res, err := Video(ctx, path, VideoSpec{Width: 1280, Height: 720, FPS: fps, Slides: shown, Audio: track})
	if err != nil {
		return nil, fmt.Errorf("lecture: %w", err)
	}
	if res.Duration >= 60 {
		return nil, errcode.New(errcode.Invalid, "lecture: %.1fs, over a minute", res.Duration)
	}
	s.Duration = round3(res.Duration)
	s.Cuts = res.Cuts
	for i, sl := range shown {
		end := res.Duration
		if i+1 < len(res.Starts) {
			end = res.Starts[i+1]
		}
		s.Slides = append(s.Slides, Shown{Text: sl.Text, Start: round3(res.Starts[i]), End: round3(end)})
	}
	s.Script = strings.Join(script, " ")
	return s, nil
}

func poster(ctx context.Context, dir string) (*Sample, error) {
	spec := ImageSpec{Width: 1280, Height: 720, Text: posterText, FontSize: 64, Background: "0x0F172A", Color: "0xFACC15"}
	if err := Image(ctx, filepath.Join(dir, "poster.png"), spec); err != nil {
		return nil, fmt.Errorf("poster: %w", err)
	}
	return &Sample{Name: "poster", File: "poster.png", Kind: "image", Width: spec.Width, Height: spec.Height, Text: posterText, KeyTerms: posterTerms}, nil
}

func round3(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 3, 64), 64)
	return v
}
