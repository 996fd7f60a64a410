package types

import _ "embed"

// InsightsSchema is the JSON Schema (draft 2020-12) of the insights
// document. Every summarise provider's output is validated against it.
//
//go:embed schema/insights.schema.json
var InsightsSchema []byte
