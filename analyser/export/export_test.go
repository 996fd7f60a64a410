package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var fixtures = []string{"dialogue", "edge", "segments-only"}

func loadTranscript(t testing.TB, name string) *types.Transcript {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".transcript.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr types.Transcript
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &tr
}

func loadInsights(t testing.TB) *types.Insights {
	t.Helper()
	b, err := os.ReadFile("testdata/dialogue.insights.json")
	if err != nil {
		t.Fatal(err)
	}
	var ins types.Insights
	if err := json.Unmarshal(b, &ins); err != nil {
		t.Fatal(err)
	}
	return &ins
}

// parsedCue is a cue read back from a caption file.
type parsedCue struct {
	ID         string
	Start, End float64
	Voice      string
	Lines      []string // payload with tags removed and entities decoded
}

var (
	vttTiming = regexp.MustCompile(`^(\S+) --> (\S+)$`)
	voiceTag  = regexp.MustCompile(`^<v ([^>]+)>`)
	anyTag    = regexp.MustCompile(`<[^>]*>`)
)

// parseVTT is a strict reader of the WebVTT Landfall writes: the header,
// then blocks of identifier, timing line and payload separated by blank
// lines; cues ordered by start, end after start.
func parseVTT(data string) ([]parsedCue, error) {
	if !strings.HasPrefix(data, "WEBVTT\n") {
		return nil, fmt.Errorf("missing WEBVTT header")
	}
	blocks := strings.Split(strings.TrimRight(strings.TrimPrefix(data, "WEBVTT\n"), "\n"), "\n\n")
	var cues []parsedCue
	for bi, b := range blocks {
		b = strings.TrimPrefix(b, "\n")
		if b == "" {
			if len(blocks) == 1 {
				return nil, nil
			}
			return nil, fmt.Errorf("block %d empty", bi)
		}
		lines := strings.Split(b, "\n")
		c := parsedCue{}
		if !strings.Contains(lines[0], "-->") {
			c.ID = lines[0]
			lines = lines[1:]
		}
		if len(lines) < 2 {
			return nil, fmt.Errorf("block %d: no timing line or payload", bi)
		}
		m := vttTiming.FindStringSubmatch(lines[0])
		if m == nil {
			return nil, fmt.Errorf("block %d: bad timing line %q", bi, lines[0])
		}
		var err error
		if c.Start, err = ParseVTTTime(m[1]); err != nil {
			return nil, err
		}
		if c.End, err = ParseVTTTime(m[2]); err != nil {
			return nil, err
		}
		if c.End <= c.Start {
			return nil, fmt.Errorf("block %d: end %v not after start %v", bi, c.End, c.Start)
		}
		if n := len(cues); n > 0 && c.Start < cues[n-1].Start {
			return nil, fmt.Errorf("block %d: starts before the previous cue", bi)
		}
		for k, l := range lines[1:] {
			if strings.Contains(l, "-->") {
				return nil, fmt.Errorf("block %d: payload holds -->", bi)
			}
			if k == 0 {
				if v := voiceTag.FindStringSubmatch(l); v != nil {
					c.Voice = html.UnescapeString(v[1])
				}
			}
			c.Lines = append(c.Lines, html.UnescapeString(anyTag.ReplaceAllString(l, "")))
		}
		cues = append(cues, c)
	}
	return cues, nil
}

var srtTiming = regexp.MustCompile(`^(\d\d:\d\d:\d\d,\d\d\d) --> (\d\d:\d\d:\d\d,\d\d\d)$`)

// parseSRT reads SubRip: numbered blocks from 1, timing line, payload.
func parseSRT(data string) ([]parsedCue, error) {
	if strings.TrimSpace(data) == "" {
		return nil, nil
	}
	blocks := strings.Split(strings.TrimRight(data, "\n"), "\n\n")
	var cues []parsedCue
	for bi, b := range blocks {
		lines := strings.Split(b, "\n")
		if len(lines) < 3 {
			return nil, fmt.Errorf("block %d: %d lines, want number, timing, text", bi, len(lines))
		}
		if n, err := strconv.Atoi(lines[0]); err != nil || n != bi+1 {
			return nil, fmt.Errorf("block %d: sequence %q, want %d", bi, lines[0], bi+1)
		}
		m := srtTiming.FindStringSubmatch(lines[1])
		if m == nil {
			return nil, fmt.Errorf("block %d: bad timing line %q", bi, lines[1])
		}
		c := parsedCue{ID: lines[0]}
		c.Start, _ = ParseSRTTime(m[1])
		c.End, _ = ParseSRTTime(m[2])
		if c.End <= c.Start {
			return nil, fmt.Errorf("block %d: end not after start", bi)
		}
		c.Lines = lines[2:]
		cues = append(cues, c)
	}
	return cues, nil
}

func render(t testing.TB, format string, tr *types.Transcript, ins *types.Insights, o Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, format, tr, ins, o); err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return b.String()
}

// words returns the display words a caption file must carry, in order.
func displayWords(tr *types.Transcript) []string {
	var out []string
	for _, tk := range tokens(tr) {
		out = append(out, tk.text+tk.punct)
	}
	return out
}

func TestCaptions(t *testing.T) {
	for _, name := range fixtures {
		tr := loadTranscript(t, name)
		for _, format := range []string{"vtt", "srt"} {
			t.Run(name+"."+format, func(t *testing.T) {
				data := render(t, format, tr, nil, Options{})
				var cues []parsedCue
				var err error
				if format == "vtt" {
					cues, err = parseVTT(data)
				} else {
					cues, err = parseSRT(data)
				}
				if err != nil {
					t.Fatalf("%v\n%s", err, data)
				}
				var got []string
				for i, c := range cues {
					if len(c.Lines) > 2 {
						t.Errorf("cue %d: %d lines", i, len(c.Lines))
					}
					for _, l := range c.Lines {
						if n := utf8.RuneCountInString(l); n > 42 {
							t.Errorf("cue %d: line %q has %d characters", i, l, n)
						}
					}
					if d := c.End - c.Start; d > 7.0001 {
						t.Errorf("cue %d lasts %.3f s", i, d)
					}
					if i > 0 && c.Start < cues[i-1].End-1e-9 {
						t.Errorf("cue %d overlaps the previous one", i)
					}
					text := strings.Join(c.Lines, " ")
					if format == "srt" {
						if k := strings.Index(text, ": "); k > 0 && strings.HasPrefix(text, "Speaker ") {
							c.Voice, text = text[:k], text[k+2:]
						}
					}
					if tr.Speakers != nil && c.Voice == "" {
						t.Errorf("cue %d has no speaker", i)
					}
					got = append(got, strings.Fields(text)...)
				}
				// Every word, in order; overlong words may be cut across lines.
				want := strings.Join(displayWords(tr), "")
				if format == "srt" {
					want = strings.ReplaceAll(want, "-->", "->")
				}
				if g := strings.Join(got, ""); g != want {
					t.Errorf("caption text\n got %q\nwant %q", g, want)
				}
				golden(t, name+"."+format, data)
			})
		}
	}
}

func TestCueSplitsAtSpeakerTurns(t *testing.T) {
	tr := loadTranscript(t, "dialogue")
	cues := Cues(tr, Options{}, false)
	for _, c := range cues {
		for _, w := range tr.Words {
			if w.Start >= c.Start && w.End <= c.End && w.Speaker != c.Speaker {
				t.Fatalf("cue %v..%v (%s) holds a word of %s", c.Start, c.End, c.Speaker, w.Speaker)
			}
		}
	}
	named := render(t, "vtt", tr, nil, Options{SpeakerNames: map[string]string{"spk_0": "Ann <host>"}})
	if !strings.Contains(named, "<v Ann host>") {
		t.Fatalf("speaker name not applied:\n%s", named[:300])
	}
	// A name the transcript gives a speaker (a reviewer's rename) shows
	// in every caption; other speakers show as the UI shows them.
	renamed := *tr
	renamed.Speakers = append([]types.Speaker(nil), tr.Speakers...)
	renamed.Speakers[1].Name = "Bea"
	vtt := render(t, "vtt", &renamed, nil, Options{})
	if !strings.Contains(vtt, "<v Bea>") || !strings.Contains(vtt, "<v Speaker 1>") || strings.Contains(vtt, "spk_") {
		t.Fatalf("transcript speaker names not applied:\n%s", vtt[:300])
	}
	if srt := render(t, "srt", &renamed, nil, Options{}); !strings.Contains(srt, "\nBea: ") || strings.Contains(srt, "spk_") {
		t.Fatalf("transcript speaker names not applied in SRT:\n%s", srt[:300])
	}
	bare := render(t, "srt", tr, nil, Options{NoSpeakers: true})
	if strings.Contains(bare, "spk_") || strings.Contains(bare, "Speaker ") {
		t.Fatal("NoSpeakers still shows labels")
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file; run go test -update and review the diff\n got:\n%s", name, got)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	for _, name := range fixtures {
		tr := loadTranscript(t, name)
		data := render(t, "json", tr, nil, Options{})
		var back types.Transcript
		if err := json.Unmarshal([]byte(data), &back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(&back, tr) {
			t.Errorf("%s: round trip differs", name)
		}
	}
}

func TestTranscribeShape(t *testing.T) {
	for _, name := range fixtures {
		tr := loadTranscript(t, name)
		data := render(t, "transcribe", tr, nil, Options{JobName: "job-1", AccountID: "123456789012"})
		golden(t, name+".transcribe.json", data)
		var job TranscribeJob
		dec := json.NewDecoder(strings.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&job); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if job.Status != "COMPLETED" || job.JobName != "job-1" || len(job.Results.Transcripts) != 1 {
			t.Fatalf("%s: top level %+v", name, job)
		}
		var words []string
		var last float64
		for i, it := range job.Results.Items {
			if it.ID != i {
				t.Fatalf("%s: item %d has id %d", name, i, it.ID)
			}
			switch it.Type {
			case "pronunciation":
				st, err1 := strconv.ParseFloat(it.StartTime, 64)
				et, err2 := strconv.ParseFloat(it.EndTime, 64)
				if err1 != nil || err2 != nil || et < st || st < last || !strings.Contains(it.StartTime, ".") {
					t.Fatalf("%s: item %d times %q %q", name, i, it.StartTime, it.EndTime)
				}
				last = st
				words = append(words, it.Alternatives[0].Content)
				if c, err := strconv.ParseFloat(it.Alternatives[0].Confidence, 64); err != nil || c < 0 || c > 1 {
					t.Fatalf("%s: item %d confidence %q", name, i, it.Alternatives[0].Confidence)
				}
			case "punctuation":
				if it.StartTime != "" || it.EndTime != "" {
					t.Fatalf("%s: punctuation item %d has times", name, i)
				}
				words[len(words)-1] += it.Alternatives[0].Content
			default:
				t.Fatalf("%s: item type %q", name, it.Type)
			}
		}
		if got, want := strings.Join(words, " "), job.Results.Transcripts[0].Transcript; got != want {
			t.Errorf("%s: items spell %q, transcript %q", name, got, want)
		}
		if tr.Speakers != nil {
			sl := job.Results.SpeakerLabels
			if sl == nil || sl.Speakers != len(tr.Speakers) {
				t.Fatalf("%s: speaker_labels %+v", name, sl)
			}
			n := 0
			for _, s := range sl.Segments {
				n += len(s.Items)
				for _, it := range s.Items {
					if it.SpeakerLabel != s.SpeakerLabel {
						t.Fatalf("%s: segment of %s holds %s", name, s.SpeakerLabel, it.SpeakerLabel)
					}
				}
			}
			if n != len(tr.Words) {
				t.Fatalf("%s: speaker segments hold %d of %d words", name, n, len(tr.Words))
			}
		}
		if len(job.Results.AudioSegments) != len(tr.Segments) {
			t.Fatalf("%s: %d audio segments for %d segments", name, len(job.Results.AudioSegments), len(tr.Segments))
		}
	}
}

func TestTranscribeSeconds(t *testing.T) {
	for in, want := range map[float64]string{0: "0.0", 4.87: "4.87", 12: "12.0", 1.23456: "1.235", -3: "0.0", math.NaN(): "0.0"} {
		if got := TranscribeSeconds(in); got != want {
			t.Errorf("TranscribeSeconds(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestVerboseJSON(t *testing.T) {
	for _, name := range fixtures {
		tr := loadTranscript(t, name)
		data := render(t, "verbose_json", tr, nil, Options{})
		golden(t, name+".verbose.json", data)
		var v VerboseJSON
		dec := json.NewDecoder(strings.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v.Task != "transcribe" || v.Language != LanguageName(tr.Language) || v.Duration != tr.Duration || v.Text != tr.Text {
			t.Fatalf("%s: header %+v", name, v)
		}
		if len(v.Segments) != len(tr.Segments) || len(v.Words) != len(tr.Words) {
			t.Fatalf("%s: %d segments, %d words", name, len(v.Segments), len(v.Words))
		}
		for i, s := range v.Segments {
			if s.ID != i || !strings.HasPrefix(s.Text, " ") || s.Tokens == nil || s.AvgLogprob > 0 {
				t.Fatalf("%s: segment %+v", name, s)
			}
		}
	}
	if LanguageName("en-US") != "english" || LanguageName("xx") != "xx" {
		t.Fatal("LanguageName")
	}
}

func TestPodcastChapters(t *testing.T) {
	tr := loadTranscript(t, "dialogue")
	ins := loadInsights(t)
	data := render(t, "podcast-chapters", tr, ins, Options{Title: "Weekly meeting", FileName: "meeting.wav"})
	golden(t, "dialogue.chapters.json", data)
	var doc PodcastChapters
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if doc.Version != "1.2.0" || len(doc.Chapters) != 4 || doc.Description != ins.Summary {
		t.Fatalf("doc %+v", doc)
	}
	for i, c := range doc.Chapters {
		if i > 0 && c.StartTime < doc.Chapters[i-1].StartTime {
			t.Fatal("chapters not sorted")
		}
		if c.EndTime == nil || *c.EndTime <= c.StartTime {
			t.Fatalf("chapter %d end %v", i, c.EndTime)
		}
	}
	if *doc.Chapters[3].EndTime != tr.Duration {
		t.Fatalf("last chapter ends %v, want %v", *doc.Chapters[3].EndTime, tr.Duration)
	}
	if err := Write(&bytes.Buffer{}, "podcast-chapters", tr, nil, Options{}); errcode.Of(err) != errcode.Invalid {
		t.Fatalf("chapters without insights: %v", err)
	}
	vtt := render(t, "vtt-chapters", tr, ins, Options{})
	cues, err := parseVTT(vtt)
	if err != nil || len(cues) != 4 || cues[3].Lines[0] != "Search and review" || cues[2].Lines[0] != "Speed & failures" {
		t.Fatalf("chapters track %v %+v\n%s", err, cues, vtt)
	}
}

func TestPodcastTranscript(t *testing.T) {
	for _, name := range fixtures {
		tr := loadTranscript(t, name)
		data := render(t, "podcast-transcript", tr, nil, Options{SpeakerNames: map[string]string{"spk_0": "Ann"}})
		var doc PodcastTranscript
		dec := json.NewDecoder(strings.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Version != "1.0.0" || len(doc.Segments) != len(tr.Segments) {
			t.Fatalf("%s: %+v", name, doc)
		}
		for i, s := range doc.Segments {
			want := types.DefaultSpeakerName(tr.Segments[i].Speaker)
			if tr.Segments[i].Speaker == "spk_0" {
				want = "Ann"
			}
			if s.Speaker != want || s.Body == "" || s.EndTime < s.StartTime {
				t.Fatalf("%s: segment %d %+v", name, i, s)
			}
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	err := Write(&bytes.Buffer{}, "docx", &types.Transcript{}, nil, Options{})
	if errcode.Of(err) != errcode.Invalid || !strings.Contains(err.Error(), "vtt") {
		t.Fatalf("error %v should list the known formats", err)
	}
	for _, f := range Formats() {
		if _, ok := Lookup(f.Name); !ok || f.Ext == "" || f.MediaType == "" {
			t.Fatalf("format %+v", f)
		}
	}
}

func TestClock(t *testing.T) {
	cases := []struct {
		sec      float64
		vtt, srt string
	}{
		{0, "00:00:00.000", "00:00:00,000"},
		{1.5, "00:00:01.500", "00:00:01,500"},
		{61.0004, "00:01:01.000", "00:01:01,000"},
		{3599.9996, "01:00:00.000", "01:00:00,000"},
		{360000, "100:00:00.000", "100:00:00,000"},
		{-2, "00:00:00.000", "00:00:00,000"},
	}
	for _, c := range cases {
		if got := FormatVTTTime(c.sec); got != c.vtt {
			t.Errorf("FormatVTTTime(%v) = %s, want %s", c.sec, got, c.vtt)
		}
		if got := FormatSRTTime(c.sec); got != c.srt {
			t.Errorf("FormatSRTTime(%v) = %s, want %s", c.sec, got, c.srt)
		}
	}
	bad := []string{"", "1.000", "00:60.000", "00:00:00,000", "0:00.000", "00:00.00", "00:00.0000", "aa:00.000", "00:-1.000", "00:00:61.000"}
	for _, s := range bad {
		if _, err := ParseVTTTime(s); err == nil {
			t.Errorf("ParseVTTTime(%q) accepted", s)
		}
	}
	if v, err := ParseVTTTime("01:02.003"); err != nil || v != 62.003 {
		t.Errorf("short form: %v %v", v, err)
	}
	if _, err := ParseSRTTime("01:02,003"); err == nil {
		t.Error("SRT needs hours")
	}
}

// FuzzClockRoundTrip: formatting any millisecond count and parsing it
// back is exact, in both caption clocks.
func FuzzClockRoundTrip(f *testing.F) {
	for _, v := range []int64{0, 1, 999, 1000, 59999, 3599999, 3600000, 86399999, 1 << 40} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, ms int64) {
		if ms < 0 || ms > 1<<42 {
			t.Skip()
		}
		sec := float64(ms) / 1000
		for _, c := range []struct {
			format func(float64) string
			parse  func(string) (float64, error)
		}{{FormatVTTTime, ParseVTTTime}, {FormatSRTTime, ParseSRTTime}} {
			s := c.format(sec)
			back, err := c.parse(s)
			if err != nil {
				t.Fatalf("%d ms → %q: %v", ms, s, err)
			}
			if int64(math.Round(back*1000)) != ms {
				t.Fatalf("%d ms → %q → %v", ms, s, back)
			}
		}
	})
}

// FuzzParseClock: whatever parses formats back to a string that parses to
// the same time.
func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"00:00:01.500", "01:02.003", "100:00:00,000", "99:59:59.999", "00:00.000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range []struct {
			format func(float64) string
			parse  func(string) (float64, error)
		}{{FormatVTTTime, ParseVTTTime}, {FormatSRTTime, ParseSRTTime}} {
			v, err := c.parse(s)
			if err != nil {
				continue
			}
			if v < 0 || math.IsNaN(v) {
				t.Fatalf("%q parsed to %v", s, v)
			}
			back, err := c.parse(c.format(v))
			if err != nil || math.Abs(back-v) > 1e-9*math.Max(1, v) {
				t.Fatalf("%q → %v → %q → %v %v", s, v, c.format(v), back, err)
			}
		}
	})
}

// FuzzCaptions: captions of any transcript parse, respect the cue limits
// and carry every word.
func FuzzCaptions(f *testing.F) {
	for _, name := range fixtures {
		b, err := os.ReadFile(filepath.Join("testdata", name+".transcript.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<16 {
			t.Skip()
		}
		var tr types.Transcript
		if json.Unmarshal(data, &tr) != nil || len(tr.Words) > 2000 || len(tr.Segments) > 2000 {
			t.Skip()
		}
		for _, w := range tr.Words {
			if !(w.Start >= 0 && w.End >= w.Start && w.End < 1e7) || strings.ContainsAny(w.Text, "\n\r") || strings.TrimSpace(w.Text) != w.Text || w.Text == "" || !utf8.ValidString(w.Text) {
				t.Skip()
			}
		}
		for _, s := range tr.Segments {
			if !(s.Start >= 0 && s.End >= s.Start && s.End < 1e7) {
				t.Skip()
			}
		}
		var b bytes.Buffer
		if err := WriteVTT(&b, &tr, Options{}); err != nil {
			t.Fatal(err)
		}
		cues, err := parseVTT(b.String())
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		for _, c := range cues {
			if len(c.Lines) > 2 {
				t.Fatalf("cue with %d lines", len(c.Lines))
			}
			for _, l := range c.Lines {
				if utf8.RuneCountInString(l) > 42 {
					t.Fatalf("line %q too long", l)
				}
			}
		}
		b.Reset()
		if err := WriteSRT(&b, &tr, Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := parseSRT(b.String()); err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
	})
}
