package aws

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/transcribestreaming"
	tstypes "github.com/aws/aws-sdk-go-v2/service/transcribestreaming/types"

	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// StreamingEngineID names the Transcribe Streaming engine in live results.
const StreamingEngineID = "aws-transcribe-streaming"

// Streaming is live captioning through Amazon Transcribe Streaming:
// StartStreamTranscription over HTTP/2 with the SDK's event stream, the
// audio sent as AudioEvents of 16 kHz PCM, TranscriptEvents back. Its
// results are Landfall's almost as they come: the same partial/final
// results with item times, confidence, Stable marks (partial-results
// stabilisation at the stream's stability) and, with speaker labels
// asked for, ShowSpeakerLabel's speakers ("0" becomes "spk_0").
// Punctuation items are joined to the word before them (a word already
// sent stable keeps the form it was sent in). Result ids are
// the session's own, in the order Transcribe opens its results.
//
// Custom vocabulary cannot travel with a stream: Transcribe takes the
// name of one created beforehand (VocabularyName); the session's own
// words are not sent. A vocabulary filter created beforehand
// (VocabularyFilterName) masks, removes or tags the words it lists.
type Streaming struct {
	Client *transcribestreaming.Client
	// VocabularyName is a custom vocabulary created in Transcribe, used
	// by every stream ("" for none).
	VocabularyName string
	// VocabularyFilterName is a vocabulary filter created in Transcribe,
	// used by every stream ("" for none), applied by
	// VocabularyFilterMethod: "mask" (the default), "remove" or "tag".
	VocabularyFilterName   string
	VocabularyFilterMethod string
}

var _ realtime.Engine = (*Streaming)(nil)

// NewStreaming builds the Transcribe Streaming client from cfg (region,
// profile, endpoint, or a ready SDK configuration). An http:// endpoint
// is spoken to in HTTP/2 without TLS (h2c with prior knowledge).
func NewStreaming(ctx context.Context, cfg Config, optFns ...func(*transcribestreaming.Options)) (*Streaming, error) {
	ac, err := sdkConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var ep *string
	if cfg.Endpoint != "" {
		ep = awssdk.String(cfg.Endpoint)
	}
	fns := append([]func(*transcribestreaming.Options){func(o *transcribestreaming.Options) {
		o.BaseEndpoint = ep
		if strings.HasPrefix(cfg.Endpoint, "http://") {
			// The event stream needs HTTP/2: without TLS, spoken with
			// prior knowledge (h2c), as local endpoints serve it.
			o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
				tr.Protocols = new(http.Protocols)
				tr.Protocols.SetUnencryptedHTTP2(true)
			})
		}
	}}, optFns...)
	return &Streaming{Client: transcribestreaming.NewFromConfig(ac, fns...)}, nil
}

type tsStream struct {
	es     *transcribestreaming.StartStreamTranscriptionEventStream
	cancel context.CancelFunc
	emit   func(realtime.Result)
	prefix string
	info   realtime.Info
	stab   realtime.Stabiliser

	ids     map[string]int // Transcribe's open result ids → the session's numbers
	n       int
	decoded float64

	mu       sync.Mutex
	err      error
	readDone chan struct{}
}

// Open starts a stream transcription.
func (e *Streaming) Open(ctx context.Context, p realtime.Params, emit func(realtime.Result)) (realtime.Stream, error) {
	if e.Client == nil {
		return nil, errcode.New(errcode.ProviderNotConfigured, "transcribe streaming: no client")
	}
	lang := p.Language
	if lang == "" || lang == "en" {
		lang = "en-US"
	}
	in := &transcribestreaming.StartStreamTranscriptionInput{
		LanguageCode:         tstypes.LanguageCode(lang),
		MediaEncoding:        tstypes.MediaEncodingPcm,
		MediaSampleRateHertz: awssdk.Int32(16000),
		ShowSpeakerLabel:     p.SpeakerLabels,
	}
	switch p.Stability {
	case "", "high":
		in.EnablePartialResultsStabilization, in.PartialResultsStability = true, tstypes.PartialResultsStabilityHigh
	case "medium":
		in.EnablePartialResultsStabilization, in.PartialResultsStability = true, tstypes.PartialResultsStabilityMedium
	case "low":
		in.EnablePartialResultsStabilization, in.PartialResultsStability = true, tstypes.PartialResultsStabilityLow
	}
	if e.VocabularyName != "" {
		in.VocabularyName = awssdk.String(e.VocabularyName)
	}
	if e.VocabularyFilterName != "" {
		in.VocabularyFilterName = awssdk.String(e.VocabularyFilterName)
		in.VocabularyFilterMethod = tstypes.VocabularyFilterMethodMask
		if e.VocabularyFilterMethod != "" {
			in.VocabularyFilterMethod = tstypes.VocabularyFilterMethod(e.VocabularyFilterMethod)
		}
	}
	// The stream outlives the request that opened it; Close ends it.
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	out, err := e.Client.StartStreamTranscription(sctx, in)
	if err != nil {
		cancel()
		return nil, classify(err, "transcribe streaming: StartStreamTranscription")
	}
	s := &tsStream{es: out.GetStream(), cancel: cancel, emit: emit, prefix: p.IDPrefix, ids: map[string]int{},
		readDone: make(chan struct{}), info: realtime.Info{Engine: StreamingEngineID, Model: lang}}
	if e.VocabularyName != "" {
		s.info.Model += "+" + e.VocabularyName
	}
	if p.SpeakerLabels {
		s.info.Speakers = "engine"
	}
	go s.read()
	return s, nil
}

func (s *tsStream) Info() realtime.Info { return s.info }

func (s *tsStream) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *tsStream) Write(ctx context.Context, pcm []byte) error {
	if err := s.failure(); err != nil {
		return err
	}
	chunk := append([]byte(nil), pcm...)
	if err := s.es.Send(ctx, &tstypes.AudioStreamMemberAudioEvent{Value: tstypes.AudioEvent{AudioChunk: chunk}}); err != nil {
		if e := s.failure(); e != nil {
			return e
		}
		return classify(err, "transcribe streaming: sending audio")
	}
	return nil
}

// Close ends the audio (the SDK sends the empty end frame), reads the
// results still coming and ends the stream.
func (s *tsStream) Close(ctx context.Context) error {
	defer s.cancel()
	werr := s.es.Writer.Close()
	select {
	case <-s.readDone:
	case <-time.After(time.Minute):
		s.mu.Lock()
		if s.err == nil {
			s.err = errcode.New(errcode.ProviderTransient, "transcribe streaming: no end of the results within a minute of the audio's end")
		}
		s.mu.Unlock()
	}
	_ = s.es.Close()
	<-s.readDone
	if err := s.failure(); err != nil {
		return err
	}
	if werr != nil {
		return classify(werr, "transcribe streaming: ending the audio")
	}
	return nil
}

// read takes the TranscriptEvents until the stream ends.
func (s *tsStream) read() {
	defer close(s.readDone)
	for ev := range s.es.Events() {
		te, ok := ev.(*tstypes.TranscriptResultStreamMemberTranscriptEvent)
		if !ok || te.Value.Transcript == nil {
			continue
		}
		for _, r := range te.Value.Transcript.Results {
			if res, ok := s.result(r); ok {
				s.emit(s.stab.Apply(res))
			}
		}
	}
	if err := s.es.Reader.Err(); err != nil {
		s.mu.Lock()
		if s.err == nil {
			s.err = classify(err, "transcribe streaming")
		}
		s.mu.Unlock()
	}
}

// result maps one of Transcribe's results to Landfall's.
func (s *tsStream) result(r tstypes.Result) (realtime.Result, bool) {
	if len(r.Alternatives) == 0 {
		return realtime.Result{}, false
	}
	rid := awssdk.ToString(r.ResultId)
	n, ok := s.ids[rid]
	if !ok {
		s.n++
		n = s.n
		s.ids[rid] = n
	}
	if !r.IsPartial {
		delete(s.ids, rid) // a result id ends with its final result
	}
	s.decoded = math.Max(s.decoded, r.EndTime)
	res := realtime.Result{ID: fmt.Sprintf("%s%d", s.prefix, n), Start: r.StartTime, End: r.EndTime, Partial: r.IsPartial,
		Channel: awssdk.ToString(r.ChannelId), Decoded: s.decoded}
	for _, it := range r.Alternatives[0].Items {
		text := strings.TrimSpace(awssdk.ToString(it.Content))
		if text == "" {
			continue
		}
		if it.Type == tstypes.ItemTypePunctuation {
			if k := len(res.Words); k > 0 {
				res.Words[k-1].Text += text
			}
			continue
		}
		w := realtime.Word{Text: text, Start: it.StartTime, End: it.EndTime, Confidence: 1, Stable: awssdk.ToBool(it.Stable)}
		if it.Confidence != nil {
			w.Confidence = math.Round(*it.Confidence*1000) / 1000
		}
		if sp := awssdk.ToString(it.Speaker); sp != "" {
			w.Speaker = "spk_" + sp
		}
		res.Words = append(res.Words, w)
	}
	return res, true
}
