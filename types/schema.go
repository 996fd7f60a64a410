package types

import _ "embed"

// InsightsSchema is the JSON Schema (draft 2020-12) of the insights
// document. Every summarise provider's output is validated against it.
//
//go:embed schema/insights.schema.json
var InsightsSchema []byte

// TranscriptSchema is the JSON Schema of a Transcript, the output of every
// transcribe provider.
//
//go:embed schema/transcript.schema.json
var TranscriptSchema []byte

// VisionSchema is the JSON Schema of the labels and moderate tasks'
// output.
//
//go:embed schema/vision.schema.json
var VisionSchema []byte
