package stream

import (
	"context"

	"github.com/landfall/landfall/analyser/local/speech"
	"github.com/landfall/landfall/analyser/realtime"
	"github.com/landfall/landfall/errcode"
)

// EngineID names the local engine in live results.
const EngineID = speech.ID

// Engine is the local recogniser as a realtime.Engine: each stream
// prepares the model files (the stream's vocabulary and domain text adapt
// the dictionary and language model as in batch) and decodes in process.
//
// It does not tell speakers apart: with speaker labels asked for, every
// word is labelled spk_0 (Info.Speakers is "channel": one speaker per
// channel of a mono stream).
type Engine struct {
	// Recogniser prepares the model files; nil means the default
	// pocketsphinx analyser.
	Recogniser *speech.Analyser
	// Endpoint is the base endpoint setting (zero: DefaultEndpoint);
	// Params.Pause and Params.Stability adjust it.
	Endpoint Endpoint
}

var _ realtime.Engine = (*Engine)(nil)

// EndpointFor is the endpoint setting of a stream's pause and stability.
func EndpointFor(base Endpoint, pause float64, stability string) Endpoint {
	ep := base
	if ep == (Endpoint{}) {
		ep = DefaultEndpoint
	}
	if pause > 0 {
		ep.Pause = int(pause*100 + 0.5)
	}
	// A word is stable once 600 ms of partials agree on it and it ends 1,
	// 2 or 3 s behind the decoding front. Quicker promises froze the
	// incremental decoder's early guesses: with agreement over 300 ms and
	// 300 ms behind the front, the finals (which keep the stable words)
	// had 35.1% word errors on held-out speech (dialogue turns 4-11, the
	// LibriVox sentences and a synthesised lecture, 225 words) against
	// 21.3% in batch; 1 s behind, 24.9%; 2 s, 23.6%; with no stable words
	// (finals decoded again whole) 20.9%.
	after := func(frames int) int { return max(1, frames/max(1, ep.PartialEvery)) }
	switch stability {
	case "", "high":
		ep.Stabilize, ep.StableAfter, ep.StableLag = true, after(60), 100
	case "medium":
		ep.Stabilize, ep.StableAfter, ep.StableLag = true, after(60), 200
	case "low":
		ep.Stabilize, ep.StableAfter, ep.StableLag = true, after(60), 300
	}
	return ep
}

// Open prepares the model and loads the decoder.
func (e *Engine) Open(ctx context.Context, p realtime.Params, emit func(realtime.Result)) (realtime.Stream, error) {
	if p.WorkDir == "" {
		return nil, errcode.New(errcode.Invalid, "live: the local recogniser needs a scratch folder")
	}
	an := e.Recogniser
	if an == nil {
		an = &speech.Analyser{}
	}
	prep, err := an.Prepare(ctx, speech.Options{Vocabulary: p.Vocabulary, DomainText: p.DomainText}, p.WorkDir)
	if err != nil {
		return nil, err
	}
	// The batch recogniser's search arguments, for the incremental
	// decoder and the final results' decoding alike.
	r, err := New(Config{Files: prep, Args: an.Args, Endpoint: EndpointFor(e.Endpoint, p.Pause, p.Stability), IDPrefix: p.IDPrefix})
	if err != nil {
		return nil, err
	}
	ls := &localStream{r: r, emit: emit, info: realtime.Info{Engine: EngineID, Model: prep.LanguageModel}}
	if p.SpeakerLabels {
		ls.info.Speakers = "channel"
		ls.emit = func(res realtime.Result) {
			for i := range res.Words {
				res.Words[i].Speaker = "spk_0"
			}
			emit(res)
		}
	}
	return ls, nil
}

type localStream struct {
	r    *Recogniser
	emit func(realtime.Result)
	info realtime.Info
}

func (s *localStream) Info() realtime.Info { return s.info }

func (s *localStream) Write(ctx context.Context, pcm []byte) error { return s.r.Write(pcm, s.emit) }

func (s *localStream) Close(ctx context.Context) error { return s.r.Close(s.emit) }
