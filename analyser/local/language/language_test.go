package language

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/analyser/analysertest"
)

func run(t *testing.T, results map[string]any, opts string) (*Result, error) {
	t.Helper()
	in := &analyser.Input{Results: map[string]json.RawMessage{}}
	for k, v := range results {
		b, _ := json.Marshal(v)
		in.Results[k] = b
	}
	if opts != "" {
		in.Options = json.RawMessage(opts)
	}
	out, err := Detector{}.Run(context.Background(), nil, in)
	if err != nil {
		return nil, err
	}
	return out.(*Result), nil
}

func TestDetect(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"the media pipeline turns every upload into a searchable transcript with chapters", "en"},
		{"le chat est assis sur la table et regarde les oiseaux dans le jardin", "fr"},
		{"der schnelle braune Fuchs springt über den faulen Hund im Garten", "de"},
		{"el equipo de investigación mide la temperatura del mar cada hora", "es"},
	} {
		res, err := run(t, map[string]any{"transcribe": map[string]any{"text": tc.text}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != tc.want || res.Source != "transcript" || res.Confidence <= 0.5 {
			t.Errorf("%q: %+v", tc.text, res)
		}
	}
}

func TestSourcesAndShortText(t *testing.T) {
	res, err := run(t, map[string]any{"ocr": map[string]any{"texts": []map[string]any{{"text": "Bienvenue à la conférence sur les océans"}}}}, "")
	if err != nil || res.Code != "fr" || res.Source != "ocr" {
		t.Fatalf("%+v %v", res, err)
	}
	res, err = run(t, map[string]any{"transcribe": map[string]any{"text": "hello"}}, "")
	if err != nil || res.Code != "und" || res.Confidence != 0 {
		t.Fatalf("short: %+v %v", res, err)
	}
}

func TestOptions(t *testing.T) {
	res, err := run(t, map[string]any{"transcribe": map[string]any{"text": "o gato está sentado na mesa e olha para os pássaros"}}, `{"languages":["pt","es"]}`)
	if err != nil || res.Code != "pt" || len(res.Candidates) != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	for opts, want := range map[string]string{
		`{"languages":["xx","en"]}`: `/languages/0: unknown ISO 639-1 code "xx"`,
		`{"languages":["en"]}`:      "analyser.language.lingua: /options/languages: 1 items is outside [2, 100]",
		`{"langs":["en"]}`:          "analyser.language.lingua: /options/langs: unknown option (known: languages)",
	} {
		if _, err := run(t, nil, opts); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", opts, err, want)
		}
	}
}

func BenchmarkDetect(b *testing.B) {
	d, err := detectorFor(DefaultLanguages)
	if err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("the media pipeline turns every upload into a searchable transcript ", 20)
	b.ReportAllocs()
	for b.Loop() {
		Detect(d, text)
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	analysertest.Run(t, Detector{}, analysertest.Config{Input: func(t *testing.T, dir string) *analyser.Input {
		raw, _ := json.Marshal(map[string]any{"text": "the quarterly results were presented to the board on Tuesday morning"})
		return &analyser.Input{MediaID: "m1", Results: map[string]json.RawMessage{"transcribe": raw}}
	}})
}
