// Package pipelines holds the default state machines and rule files that
// ship inside the landfall binary. Configuration can replace either file
// (config.Pipeline).
package pipelines

import _ "embed"

// MediaDefinition is the default media pipeline in the Amazon States
// Language. Task resources are Lambda function ARNs with the definition
// substitutions ${Region} and ${AccountId}, so the same file deploys to AWS
// Step Functions; Landfall's engine serves functions named landfall-<task>
// with its own analysers.
//
//go:embed media.asl.json
var MediaDefinition []byte

// MediaRules is the rules file that starts the media pipeline for every
// object stored under incoming/ larger than 1 KiB.
//
//go:embed media.rules.json
var MediaRules []byte

// MediaName is the name of the default state machine.
const MediaName = "media"

// LocalSubstitutions are the definition substitutions of the embedded mode.
var LocalSubstitutions = map[string]string{"Region": "local", "AccountId": "000000000000"}
