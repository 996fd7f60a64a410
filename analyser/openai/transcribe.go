package openai

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/landfall/landfall/analyser"
	"github.com/landfall/landfall/errcode"
	"github.com/landfall/landfall/types"
)

// verboseJSON is the verbose_json transcription response.
type verboseJSON struct {
	Task     string  `json:"task"`
	Language string  `json:"language"`
	Duration float64 `json:"duration"`
	Text     string  `json:"text"`
	Segments []struct {
		ID           int     `json:"id"`
		Start        float64 `json:"start"`
		End          float64 `json:"end"`
		Text         string  `json:"text"`
		AvgLogprob   float64 `json:"avg_logprob"`
		NoSpeechProb float64 `json:"no_speech_prob"`
		Speaker      string  `json:"speaker"`
	} `json:"segments"`
	Words []struct {
		Word  string   `json:"word"`
		Start *float64 `json:"start"`
		End   *float64 `json:"end"`
	} `json:"words"`
}

// TranscribeOptions are the transcribe task's options for this provider.
type TranscribeOptions struct {
	Language   string   `json:"language,omitempty"`   // ISO 639-1 hint
	Vocabulary []string `json:"vocabulary,omitempty"` // sent as the prompt
	Prompt     string   `json:"prompt,omitempty"`
	// DomainText is text from the domain; its opening is used as the
	// prompt when no prompt is given (whisper reads about 224 tokens).
	DomainText string   `json:"domain_text,omitempty"`
	Keywords   []string `json:"keywords,omitempty"` // accepted for compatibility with the local recogniser; unused
}

// Transcriber is the transcribe analyser for OpenAI-compatible servers.
type Transcriber struct{ C *Client }

// Spec describes the analyser.
func (t Transcriber) Spec() analyser.Spec {
	return analyser.Spec{
		ID: "analyser.transcribe.openai", Task: analyser.TaskTranscribe, Provider: "openai",
		Summary:      "transcription by an OpenAI-compatible /v1/audio/transcriptions server (verbose_json, word timings)",
		Kinds:        []types.Kind{types.KindAudio, types.KindVideo},
		OutputSchema: types.TranscriptSchema,
		Options: []analyser.Option{
			{Name: "language", Type: analyser.OptionString, Min: analyser.Bound(2), Max: analyser.Bound(16),
				Description: "ISO 639-1 hint of the spoken language"},
			{Name: "prompt", Type: analyser.OptionString, Max: analyser.Bound(4096),
				Description: "prompt sent with the audio; absent: the opening of domain_text"},
			{Name: "vocabulary", Type: analyser.OptionStrings, Max: analyser.Bound(5000), ItemMaxLen: 200,
				Description: "words and phrases to recognise (sent in the prompt)"},
			{Name: "domain_text", Type: analyser.OptionString, Max: analyser.Bound(4 << 20),
				Description: "text in the media's domain; its opening is the prompt when none is given"},
			{Name: "keywords", Type: analyser.OptionStrings, Max: analyser.Bound(5000), ItemMaxLen: 200,
				Description: "phrases to spot; accepted for compatibility with the local recogniser and unused"},
		},
	}
}

// Run uploads the audio track (or the media file) as a stream and maps
// the verbose_json response to Landfall's transcript.
func (t Transcriber) Run(ctx context.Context, env *analyser.Env, in *analyser.Input) (any, error) {
	var opt TranscribeOptions
	if err := analyser.DecodeOptions(t.Spec(), in.Options, &opt); err != nil {
		return nil, err
	}
	path := audioPath(in)
	if path == "" {
		return nil, errcode.New(errcode.Invalid, "transcribe: no audio: neither results/media/audio_path nor path is set")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, errcode.Wrap(errcode.NotFound, err, "transcribe: audio file")
	}
	defer f.Close()
	prompt := opt.Prompt
	if prompt == "" && opt.DomainText != "" {
		prompt = truncateRunes(opt.DomainText, 600)
	}
	if len(opt.Vocabulary) > 0 {
		prompt = strings.TrimSpace(prompt + " " + strings.Join(opt.Vocabulary, ", "))
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		err := func() error {
			fields := [][2]string{{"model", t.C.cfg.TranscribeModel}, {"response_format", "verbose_json"},
				{"timestamp_granularities[]", "word"}, {"timestamp_granularities[]", "segment"}}
			if opt.Language != "" {
				fields = append(fields, [2]string{"language", opt.Language})
			}
			if prompt != "" {
				fields = append(fields, [2]string{"prompt", prompt})
			}
			for _, kv := range fields {
				if err := mw.WriteField(kv[0], kv[1]); err != nil {
					return err
				}
			}
			fw, err := mw.CreateFormFile("file", filepath.Base(path))
			if err != nil {
				return err
			}
			if _, err := io.Copy(fw, f); err != nil {
				return err
			}
			return mw.Close()
		}()
		pw.CloseWithError(err)
	}()
	req, err := http.NewRequest(http.MethodPost, t.C.cfg.BaseURL+"/audio/transcriptions", pr)
	if err != nil {
		pr.Close()
		return nil, errcode.Wrap(errcode.ProviderNotConfigured, err, "openai: base_url")
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var vj verboseJSON
	if err := t.C.do(ctx, req, &vj); err != nil {
		pr.CloseWithError(err)
		return nil, err
	}
	tr, err := toTranscript(&vj)
	if err != nil {
		return nil, err
	}
	tr.Engine = t.Spec().ID
	env.Record(analyser.Usage{Analyser: t.Spec().ID, AudioSeconds: tr.Duration})
	return tr, nil
}

func audioPath(in *analyser.Input) string {
	if raw, ok := in.Results[analyser.TaskMedia]; ok {
		var m struct {
			AudioPath string `json:"audio_path"`
		}
		if json.Unmarshal(raw, &m) == nil && m.AudioPath != "" {
			return m.AudioPath
		}
	}
	return in.Path
}

// languageCodes maps the language names verbose_json reports to ISO 639-1.
var languageCodes = map[string]string{"english": "en", "french": "fr", "german": "de", "spanish": "es",
	"italian": "it", "portuguese": "pt", "dutch": "nl", "japanese": "ja", "chinese": "zh", "russian": "ru",
	"korean": "ko", "arabic": "ar", "hindi": "hi", "polish": "pl", "swedish": "sv", "turkish": "tr"}

// toTranscript maps verbose_json to a transcript: words keep their times
// (words without times, which aligners leave for numbers and symbols,
// are spread over the gap between their neighbours), and each word takes
// the confidence and speaker of the segment it falls in.
func toTranscript(vj *verboseJSON) (*types.Transcript, error) {
	tr := &types.Transcript{Duration: vj.Duration, Text: strings.TrimSpace(vj.Text), Words: []types.Word{}, Segments: []types.Segment{}}
	lang := strings.ToLower(vj.Language)
	if c, ok := languageCodes[lang]; ok {
		tr.Language = c
	} else if len(lang) == 2 {
		tr.Language = lang
	}
	for i, w := range vj.Words {
		word := types.Word{Text: strings.TrimSpace(w.Word)}
		if w.Start != nil && w.End != nil {
			word.Start, word.End = *w.Start, *w.End
		} else {
			word.Start = -1
		}
		if word.End < word.Start && word.Start >= 0 {
			return nil, errorf(errcode.ProviderBadOutput, "/words/%d: end %.3f before start %.3f", i, word.End, word.Start)
		}
		tr.Words = append(tr.Words, word)
	}
	fillMissingTimes(tr.Words, vj.Duration)
	wi := 0
	for _, s := range vj.Segments {
		seg := types.Segment{ID: len(tr.Segments), Start: s.Start, End: s.End, Text: strings.TrimSpace(s.Text), Speaker: s.Speaker, FirstWord: wi}
		conf := math.Exp(s.AvgLogprob)
		if s.AvgLogprob == 0 {
			conf = 1 - s.NoSpeechProb
		}
		for wi < len(tr.Words) && tr.Words[wi].Start < s.End-1e-6 {
			tr.Words[wi].Confidence = math.Round(conf*1000) / 1000
			tr.Words[wi].Speaker = s.Speaker
			wi++
		}
		seg.WordCount = wi - seg.FirstWord
		tr.Segments = append(tr.Segments, seg)
	}
	for ; wi < len(tr.Words); wi++ {
		tr.Words[wi].Confidence = 1
	}
	if tr.Duration == 0 && len(tr.Words) > 0 {
		tr.Duration = tr.Words[len(tr.Words)-1].End
	}
	return tr, nil
}

func fillMissingTimes(ws []types.Word, duration float64) {
	for i := 0; i < len(ws); i++ {
		if ws[i].Start >= 0 {
			continue
		}
		j := i
		for j < len(ws) && ws[j].Start < 0 {
			j++
		}
		lo := 0.0
		if i > 0 {
			lo = ws[i-1].End
		}
		hi := duration
		if j < len(ws) {
			hi = ws[j].Start
		}
		if hi < lo {
			hi = lo
		}
		step := (hi - lo) / float64(j-i)
		for k := i; k < j; k++ {
			ws[k].Start = lo + step*float64(k-i)
			ws[k].End = ws[k].Start + step
		}
		i = j
	}
}

var _ analyser.Analyser = Transcriber{}
var _ = time.Second
var _ = fmt.Sprint

func truncateRunes(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n])
}

// Close releases the client's idle connections when the app stops.
func (t Transcriber) Close() error { return t.C.Close() }

var _ analyser.Closer = Transcriber{}
