// Package layers holds the test that keeps Landfall's imports pointing
// down the layer list of DESIGN.md ("Layout (imports point down this list
// only)"). The package has no code of its own. The list, top first, with
// the packages DESIGN.md's copy does not name yet placed where the test
// enforces them:
//
//	cmd/landfall/        main → cli.Run(); nothing else
//	internal/cli/        commands; talks to app or to a server through client/
//	deploy/aws/          landfall deploy aws: CloudFormation from the definitions, the Lambda handler, stack deploys
//	app/                 config → provision → start/stop; wires everything below
//	apiserver/           HTTP API, web UI, websockets; the only place errors become HTTP statuses
//	client/              Go client of the HTTP API
//	workflow/            durable executions on River; history; task tokens; activities
//	ingest/              uploads, watchers, S3 notification intake → bus
//	pipeline/            the media model and the tasks of the state machine: key layout, tenant scope, results
//	config/              the configuration file: parse, defaults, validation
//	analyser/            registry + providers: local/, openai/, aws/ ; analysertest/
//	internal/mediagen/   test media made offline with the analysers' tools
//	catalog/             media, failures, search; drivers sqlite/ and postgres/ ; catalogtest/
//	bus/                 events, rules → targets, outbox
//	blob/                Bucket; drivers fileblob/ s3blob/ memblob/ ; blobtest/
//	asl/                 States Language: parse, validate, evaluate (pure; no I/O)
//	rule/                EventBridge patterns: parse, compile, match (pure; no I/O)
//	telemetry/           logs, traces and metrics
//	errcode/ , types/ , identity/    small shared leaves: error codes; ids, events, statuses, wire types; principals and tenants
//	pipelines/           the default ASL definitions and rule files that ship with the binary
//	internal/jsonata/ , internal/redact/ , internal/crashpoint/ , internal/snsmsg/ , internal/testutil/    the JSONata engine; path redaction; crash tests' halt points; Amazon SNS messages read and their signatures checked; test helpers
//
// Packages on one line (a tier) may import each other; a package never
// imports one listed above its own. asl, rule and internal/jsonata are
// pure: their non-test files import nothing that reaches storage, the
// network or other processes.
package layers
